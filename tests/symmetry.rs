//! Symmetry reduction over identical tasks (klp_model::symmetry) against the unreduced search,
//! on every shipped scenario with interchangeable tasks that is small enough to run both.
//!
//! The reduction is an under-approximation on this model (the transition work's pass visits
//! tasks in task-list order: klp_model::symmetry). What is checked and pinned here: the orbits
//! of the unreduced reachable set (canonical forms of every reachable state, by a plain
//! breadth-first search of our own), how many of them the reduced search stores (never more,
//! fewer only in the middle of a pass), that every orbit with no pass in progress is found, and
//! that everything the reduced search finds is found by the unreduced one and replays.

use klp_model::symmetry::Groups;
use klp_model::{KlpSystem, State};
use stateright::Model;
use std::collections::{HashSet, VecDeque};
use std::path::Path;

/// Scenarios too large for this test (their runs belong to `ci`).
const LARGE: &[&str] = &["default", "large", "xl"];

/// (scenario, variant preset or "upstream", unreduced states, orbits, reduced states): the pins.
const PINNED: &[(&str, &str, u64, u64, u64)] = &[
    ("selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered", "upstream", 5073, 2244, 2208),
    ("selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered", "no-stack-check", 20685, 8228, 7304),
    (
        "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered",
        "task-switch-unlocked",
        20767,
        10700,
        9252,
    ),
    ("symmetry-sleepers", "upstream", 5246, 3575, 3535),
    ("symmetry-module-workers", "upstream", 102797, 39151, 34713),
];

fn model(scenario: &str, variant: &str) -> KlpSystem {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sc = klp_model::scenario::read(&root.join(format!("model/scenarios/{scenario}.toml"))).unwrap();
    let mut v = sc.variant.clone();
    if variant != "upstream" {
        klp_model::preset::load(&root.join(format!("model/variants/{variant}.toml"))).unwrap().apply(&mut v);
    }
    KlpSystem::new(sc.build(v).unwrap(), klp_properties::catalogue)
}

/// Every reachable state of `m`, by a breadth-first search independent of klp-checker.
fn reachable(m: &KlpSystem) -> HashSet<State> {
    let mut seen: HashSet<State> = m.init_states().into_iter().collect();
    let mut queue: VecDeque<State> = seen.iter().cloned().collect();
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        m.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(n) = m.next_state(&s, a) {
                if m.within_boundary(&n) && seen.insert(n.clone()) {
                    queue.push_back(n);
                }
            }
        }
    }
    seen
}

/// The reduced search as the engine does it (first state of an orbit in breadth-first
/// order is its representative), returning the canonical forms it stored.
fn reduced_orbits(m: &KlpSystem, groups: &Groups) -> HashSet<State> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    for s in m.init_states() {
        if seen.insert(groups.canonical(&s)) {
            queue.push_back(s);
        }
    }
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        m.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(n) = m.next_state(&s, a) {
                if m.within_boundary(&n) && seen.insert(groups.canonical(&n)) {
                    queue.push_back(n);
                }
            }
        }
    }
    seen
}

/// One scenario x variant: (unreduced states, orbits, reduced states), after checking how the
/// reduced search relates to the unreduced one.
fn compare(scenario: &str, variant: &str) -> (u64, u64, u64) {
    let what = format!("{scenario}@{variant}");
    let m = model(scenario, variant);
    let groups = Groups::of(&m.spec);
    assert!(!groups.is_empty(), "{what}: no identical tasks");
    let full = klp_checker::Bfs::new(&m).threads(1).run();
    let g = groups.clone();
    let reduced = klp_checker::Bfs::new(&m).threads(2).symmetry(move |s| g.canonical(s)).run();
    assert!(full.complete() && reduced.complete(), "{what}");
    let all = reachable(&m);
    assert_eq!(all.len() as u64, full.stats.unique_states, "{what}: the engine's count");
    let orbits: HashSet<State> = all.iter().map(|s| groups.canonical(s)).collect();
    let stored = reduced_orbits(&m, &groups);
    assert_eq!(stored.len() as u64, reduced.stats.unique_states, "{what}: the engine stores what a plain BFS does");
    assert!(stored.is_subset(&orbits), "{what}: a stored orbit that is not reachable");
    let missed: Vec<&State> = orbits.difference(&stored).collect();
    assert!(missed.iter().all(|s| s.pass.is_some()), "{what}: an orbit with no pass in progress was missed");
    // Everything the reduced search finds is real: found unreduced too, and its trace replays.
    for (r, f) in reduced.properties.iter().zip(&full.properties) {
        assert_eq!(r.name, f.name);
        if let Some(d) = &r.discovery {
            assert!(f.discovery.is_some(), "{what}: {} found only under symmetry", r.name);
            let mut s = m.init_states()[d.init_index].clone();
            for (a, want) in d.actions.iter().zip(&d.states[1..]) {
                s = m.next_state(&s, *a).expect("a step of the trace is enabled");
                assert_eq!(&s, want, "{what}: {} replays", r.name);
            }
        }
    }
    let found = |o: &klp_checker::Outcome<KlpSystem>| -> Vec<&str> {
        o.properties.iter().filter(|p| p.discovery.is_some()).map(|p| p.name).collect()
    };
    assert_eq!(found(&reduced), found(&full), "{what}: the same violations and examples");
    (full.stats.unique_states, orbits.len() as u64, reduced.stats.unique_states)
}

#[test]
fn reduced_search_against_the_unreduced_one() {
    let mut got = Vec::new();
    for &(scenario, variant, ..) in PINNED {
        let (full, orbits, reduced) = compare(scenario, variant);
        assert!(reduced < full, "{scenario}@{variant}: {reduced} not fewer than {full}");
        got.push((scenario, variant, full, orbits, reduced));
    }
    let want: Vec<_> = PINNED.to_vec();
    assert_eq!(got, want, "pinned (unreduced, orbits, reduced) state counts");
}

/// Every shipped scenario with identical tasks is in the pinned list (or too large for it).
#[test]
fn every_shipped_scenario_with_identical_tasks_is_compared() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios");
    let mut with_groups = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let spec = klp_model::scenario::load(&path).unwrap();
        if !Groups::of(&spec).is_empty() && !LARGE.contains(&name.as_str()) {
            with_groups.push(name);
        }
    }
    with_groups.sort();
    for n in &with_groups {
        assert!(PINNED.iter().any(|p| p.0 == n), "{n} has identical tasks: add it to PINNED");
    }
    assert!(with_groups.len() >= 3, "{with_groups:?}");
}

/// `check --symmetry`: a counterexample with concrete task names that `replay` confirms; what is
/// not found is "incomplete", liveness "unchecked" (exit 1 for the violation).
#[test]
fn counterexample_under_symmetry_replays() {
    use assert_cmd::Command;
    let out = tempfile::tempdir().unwrap();
    let scenario = "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered";
    let o = Command::cargo_bin("klpcheck")
        .unwrap()
        .args(["check", scenario, "--variant", "no-stack-check", "--symmetry", "--threads", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("symmetry reduction on: 3 identical tasks in 1 group(s)"), "{t}");
    assert!(t.contains("INCOMPLETE (symmetry reduction (an under-approximation))"), "{t}");
    assert!(t.contains("no_mixed_universe                          VIOLATED"), "{t}");
    assert!(t.contains("no_freed_livepatch_code                    VIOLATED"), "{t}");
    assert!(t.contains("warn_handler_idle                          incomplete"), "{t}");
    assert!(t.contains("liveness is not checked under --symmetry"), "{t}");
    // No row's verdict column says "holds" (a meaning may use the word).
    assert!(!t.lines().any(|l| l.starts_with("  ") && l.split_whitespace().nth(1) == Some("holds")), "{t}");
    let trace = crate::common::trace_of(out.path(), "no_mixed_universe");
    let json = std::fs::read_to_string(&trace).unwrap();
    assert!(json.contains("test_klp-call_getpid-"), "concrete task names: {json}");
    let r = Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(&trace).output().unwrap();
    let rt = String::from_utf8_lossy(&r.stdout).into_owned();
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("violation of 'no_mixed_universe' confirmed"), "{rt}");
}
