//! Symmetry reduction over identical tasks (klp_model::symmetry) against the unreduced model,
//! on every shipped scenario with interchangeable tasks that is small enough to run both.
//!
//! The reduced model lets a pass of the transition work visit the copies in any order, picking
//! its next copy as it goes (`KlpSystem::with_free_pass_order`), which makes renaming them a
//! symmetry; it may reach orbits the unreduced model (task-list order) cannot. What is checked
//! and pinned here:
//! * completeness: every orbit of the unreduced reachable set (by a plain breadth-first search
//!   of our own) is an orbit the reduced search stored, so "holds" and "unreachable" are sound;
//! * the over-approximation, measured: no orbit is reached by the reduced model only. The
//!   reduced model that chose the whole visiting order when a pass began (before session 12)
//!   reached exactly the unreduced orbits too (the same orbit counts were pinned for it), so
//!   both reduced models reach the same orbits;
//! * the verdicts of `klpcheck check` with and without the reduction, property by property,
//!   equal; every trace of a reduced run replays with `klpcheck replay`.

use klp_model::symmetry::Groups;
use klp_model::{KlpSystem, State};
use stateright::Model;
use std::collections::{HashSet, VecDeque};
use std::path::Path;

/// Scenarios too large for this test (their runs belong to `ci`).
const LARGE: &[&str] = &["default", "large", "xl"];

/// (scenario, variant preset or "upstream", unreduced states, their orbits, reduced states,
/// orbits of the reduced model): the pins.
type Pin = (&'static str, &'static str, u64, u64, u64, u64);

const SYSCALL: &str = "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered";

const PINNED: &[Pin] = &[
    (SYSCALL, "upstream", 5073, 1708, 2244, 1708),
    (SYSCALL, "no-stack-check", 20685, 6486, 8228, 6486),
    (SYSCALL, "task-switch-unlocked", 20767, 6818, 10700, 6818),
    ("symmetry-sleepers", "upstream", 5246, 3095, 3575, 3095),
    ("symmetry-module-workers", "upstream", 102797, 32827, 39151, 32827),
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

/// The states a breadth-first search independent of klp-checker stores, deduplicated by `key`.
fn bfs(m: &KlpSystem, key: impl Fn(&State) -> State) -> Vec<State> {
    let mut seen: HashSet<State> = HashSet::new();
    let mut stored = Vec::new();
    let mut queue = VecDeque::new();
    for s in m.init_states() {
        if seen.insert(key(&s)) {
            queue.push_back(s);
        }
    }
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        m.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(n) = m.next_state(&s, a) {
                if m.within_boundary(&n) && seen.insert(key(&n)) {
                    queue.push_back(n);
                }
            }
        }
        stored.push(s);
    }
    stored
}

/// One scenario x variant: its pin, after checking that the reduced search finds every orbit
/// the unreduced model reaches.
fn compare(scenario: &str, variant: &str) -> Pin {
    let what = format!("{scenario}@{variant}");
    let m = model(scenario, variant);
    let groups = Groups::of(&m.spec);
    assert!(!groups.is_empty(), "{what}: no identical tasks");
    let reduced_model = m.clone().with_free_pass_order(groups.clone());
    let full = klp_checker::Bfs::new(&m).threads(1).run();
    let g = groups.clone();
    let reduced = klp_checker::Bfs::new(&reduced_model).threads(2).symmetry(move |s| g.canonical(s)).run();
    assert!(full.complete() && reduced.complete(), "{what}");
    let all = bfs(&m, State::clone);
    assert_eq!(all.len() as u64, full.stats.unique_states, "{what}: the engine's count");
    let orbits: HashSet<State> = all.iter().map(|s| groups.orbit_key(s)).collect();
    let stored = bfs(&reduced_model, |s| groups.canonical(s));
    assert_eq!(stored.len() as u64, reduced.stats.unique_states, "{what}: the engine stores what a plain BFS does");
    let reduced_orbits: HashSet<State> = stored.iter().map(|s| groups.orbit_key(s)).collect();
    let missed = orbits.difference(&reduced_orbits).count();
    assert_eq!(missed, 0, "{what}: orbits of the unreduced model the reduced search did not find");
    let extra = reduced_orbits.difference(&orbits).count();
    assert_eq!(extra, 0, "{what}: orbits only the reduced model reaches");
    // The reduced model whose steps land on their representatives (what `check` explores unless
    // KLPCHECK_CANONICAL_SUCCESSORS=0): the same orbits, stored and generated as often, every state
    // its own representative.
    let landing = reduced_model.clone().with_canonical_successors();
    let g = groups.clone();
    let landed =
        klp_checker::Bfs::new(&landing).threads(2).symmetry(move |s| g.canonical(s)).canonical_successors().run();
    assert!(landed.complete(), "{what}");
    assert_eq!(
        (landed.stats.unique_states, landed.stats.generated_states),
        (reduced.stats.unique_states, reduced.stats.generated_states),
        "{what}: landing on representatives"
    );
    let canon = bfs(&landing, State::clone);
    assert!(canon.iter().all(|s| groups.canonical(s) == *s), "{what}: a state not its representative");
    let canon_orbits: HashSet<State> = canon.iter().map(|s| groups.orbit_key(s)).collect();
    assert_eq!(canon_orbits, reduced_orbits, "{what}: the orbits landing on representatives reaches");
    (
        leak(scenario),
        leak(variant),
        full.stats.unique_states,
        orbits.len() as u64,
        reduced.stats.unique_states,
        reduced_orbits.len() as u64,
    )
}

fn leak(s: &str) -> &'static str {
    PINNED.iter().flat_map(|p| [p.0, p.1]).find(|&n| n == s).unwrap()
}

#[test]
fn reduced_search_finds_every_orbit_of_the_unreduced_one() {
    let mut got = Vec::new();
    for &(scenario, variant, ..) in PINNED {
        let pin = compare(scenario, variant);
        assert!(pin.4 < pin.2, "{scenario}@{variant}: {} not fewer than {}", pin.4, pin.2);
        got.push(pin);
    }
    assert_eq!(got, PINNED.to_vec(), "pinned (unreduced, orbits, reduced, reduced orbits)");
}

/// What one `klpcheck check --json` run said.
struct Checked {
    /// (property, verdict), in report order.
    verdicts: Vec<(String, String)>,
    /// Whether the run was reduced.
    reduced: bool,
    /// The group sizes it reported.
    groups: Vec<usize>,
    /// Its trace files (copied out of the run's temporary directory).
    traces: Vec<std::path::PathBuf>,
}

/// `klpcheck check --json` verdicts, property by property, and the trace files.
fn verdicts(args: &[&str]) -> Checked {
    let (code, text, stdout, dir) = crate::common::run_out(args);
    assert!(matches!(code, Some(0 | 1 | 3)), "{args:?}: {text}");
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    let run = &v["runs"][0];
    let props = run["properties"].as_array().unwrap();
    let got =
        props.iter().map(|p| (p["name"].as_str().unwrap().into(), p["verdict"].as_str().unwrap().into())).collect();
    let groups = run["symmetry_groups"].as_array().unwrap().iter().map(|g| g.as_u64().unwrap() as usize).collect();
    // Copy the traces out of the temporary directory before it goes.
    let keep = tempfile::tempdir().unwrap().keep();
    let mut traces = Vec::new();
    for p in props.iter().filter_map(|p| p["trace"]["json"].as_str()) {
        let to = keep.join(Path::new(p).file_name().unwrap());
        std::fs::copy(p, &to).unwrap();
        traces.push(to);
    }
    drop(dir);
    Checked { verdicts: got, reduced: run["symmetry"].as_bool().unwrap(), groups, traces }
}

/// The acceptance test of the reduction: on every pinned scenario x variant, `check` (reduced
/// by default) and `check --no-symmetry` give every safety property the
/// same verdict, and every violation trace of the reduced run replays as a violation.
#[test]
fn verdicts_equal_the_unreduced_run() {
    let mut replayed = 0;
    for &(scenario, variant, ..) in PINNED {
        let base = ["check", scenario, "--variant", variant, "--no-liveness", "--threads", "1", "--json"];
        let reduced = verdicts(&base);
        let full = verdicts(&[&base[..], &["--no-symmetry"]].concat());
        assert!(reduced.reduced && !full.reduced, "{scenario}@{variant}: reduced by default, not with --no-symmetry");
        assert!(!reduced.groups.is_empty(), "{scenario}@{variant}");
        assert_eq!(reduced.verdicts, full.verdicts, "{scenario}@{variant}: verdicts");
        for t in &reduced.traces {
            let r = assert_cmd::Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(t).output().unwrap();
            let rt = String::from_utf8_lossy(&r.stdout).into_owned();
            assert!(rt.contains("confirmed"), "{}: {rt}", t.display());
            replayed += 1;
        }
    }
    assert_eq!(replayed, 4, "the violations of no-stack-check and task-switch-unlocked");
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

/// Liveness under symmetry (README "Symmetry reduction"): by default a scenario with identical
/// tasks is reduced with every property selected, and its possibility properties are decided
/// exactly (each pass run in one go). Where the reduction leaves a property undecided (here
/// forced by `KLPCHECK_NO_ATOMIC_PASSES`, which leaves the atomic-pass check out), `--symmetry`
/// reports it `incomplete` (exit 3) and the default checks the scenario again unreduced and
/// says so.
#[test]
fn liveness_is_never_silently_reduced() {
    let (code, t, ..) = crate::common::run_out(&["check", "symmetry-sleepers", "--threads", "1"]);
    assert!(t.contains("symmetry reduction on: groups of 2 identical tasks"), "{t}");
    assert!(t.contains("search complete: 3575 distinct states"), "{t}");
    assert!(!t.contains("incomplete") && !t.contains("unchecked"), "{t}");
    assert_eq!(code, Some(0), "{t}");
    let run = |args: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let o = assert_cmd::Command::cargo_bin("klpcheck")
            .unwrap()
            .env("KLPCHECK_NO_ATOMIC_PASSES", "1")
            .args(args)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (code, t) = run(&["check", "symmetry-sleepers", "--threads", "1", "--symmetry"]);
    assert_eq!(code, Some(3), "{t}");
    assert!(t.contains("patch_removable_without_force              incomplete"), "{t}");
    let (code, t) = run(&["check", "symmetry-sleepers", "--threads", "1"]);
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("symmetry reduction off: the reduced run (3575 states) left patch_removable_without_force, transition_reversible_without_force undecided, so it was checked again unreduced"), "{t}");
    assert!(t.contains("search complete: 5246 distinct states"), "{t}");
}

/// The liveness verdicts of every pinned scenario x variant, reduced (`--symmetry`) against
/// unreduced: leads-to and deadlock equal (a quotient candidate is decided on the unreduced
/// model in its region, src/lasso/region.rs, or lifted to a concrete lasso); possibility equal
/// too (a violation is confirmed along its orbits; "holds" is decided with every pass run in
/// one go, checker/src/liveness/atomic.rs, or left `incomplete`, which the assertion allows but
/// the pins below rule out). The reduced verdicts are pinned, and every reduced liveness
/// counterexample replays as a violation.
#[test]
fn liveness_verdicts_under_symmetry_are_the_unreduced_ones_or_incomplete() {
    let live: Vec<&str> = klp_properties::liveness::catalogue().iter().map(|p| p.name).collect();
    let mut pins = Vec::new();
    let mut replayed = 0;
    for &(scenario, variant, ..) in PINNED {
        let base = ["check", scenario, "--variant", variant, "--threads", "1", "--json"];
        let reduced = verdicts(&[&base[..], &["--symmetry"]].concat());
        let full = verdicts(&[&base[..], &["--no-symmetry"]].concat());
        assert!(reduced.reduced && !full.reduced, "{scenario}@{variant}");
        let pick = |c: &Checked| -> Vec<(String, String)> {
            c.verdicts.iter().filter(|(n, _)| live.contains(&n.as_str())).cloned().collect()
        };
        let (r, f) = (pick(&reduced), pick(&full));
        assert_eq!(r.len(), live.len(), "{scenario}@{variant}: every liveness property reported");
        let possibility: Vec<&str> = klp_properties::liveness::catalogue()
            .iter()
            .filter(|p| matches!(p.kind, klp_checker::Liveness::Possibility { .. }))
            .map(|p| p.name)
            .collect();
        for ((name, rv), (fname, fv)) in r.iter().zip(&f) {
            assert_eq!(name, fname);
            let undecided = rv == "incomplete" && possibility.contains(&name.as_str());
            assert!(rv == fv || undecided, "{scenario}@{variant} {name}: reduced {rv}, unreduced {fv}");
        }
        // Safety verdicts are unchanged by checking liveness too.
        let safety = |c: &Checked| -> Vec<(String, String)> {
            c.verdicts.iter().filter(|(n, _)| !live.contains(&n.as_str())).cloned().collect()
        };
        assert_eq!(safety(&reduced), safety(&full), "{scenario}@{variant}: safety verdicts");
        for t in reduced.traces.iter().filter(|t| live.iter().any(|n| t.to_string_lossy().contains(n))) {
            let r = assert_cmd::Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(t).output().unwrap();
            let rt = String::from_utf8_lossy(&r.stdout).into_owned();
            assert!(rt.contains("confirmed"), "{}: {rt}", t.display());
            replayed += 1;
        }
        let short = |v: &str| match v {
            "holds" => 'h',
            "violated" => 'V',
            "incomplete" => 'i',
            _ => '?',
        };
        pins.push(format!("{scenario}@{variant}: {}", r.iter().map(|(_, v)| short(v)).collect::<String>()));
    }
    // Per pinned run, in catalogue order (transition_completes, module_load_completes,
    // patch_removable_without_force, transition_reversible_without_force, script_completes,
    // no_deadlock): h holds, V violated (confirmed, concrete lasso), i incomplete.
    let want = [
        format!("{SYSCALL}@upstream: hhhhhh"),
        format!("{SYSCALL}@no-stack-check: hhhhhh"),
        format!("{SYSCALL}@task-switch-unlocked: hhhhhh"),
        "symmetry-sleepers@upstream: hhhhhh".to_string(),
        "symmetry-module-workers@upstream: Vhhhhh".to_string(),
    ];
    assert_eq!(pins, want);
    assert_eq!(replayed, 1, "the transition_completes lasso of symmetry-module-workers");
}

/// A counterexample of a reduced run has concrete task names, and `replay` confirms it on the
/// unreduced model.
#[test]
fn counterexample_under_symmetry_replays() {
    use assert_cmd::Command;
    let out = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("klpcheck")
        .unwrap()
        .args(["check", SYSCALL, "--variant", "no-stack-check", "--no-liveness", "--threads", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("symmetry reduction on: groups of 3 identical tasks"), "{t}");
    assert!(t.contains("search complete"), "{t}");
    assert!(t.contains("no_mixed_universe                          VIOLATED"), "{t}");
    assert!(t.contains("no_freed_livepatch_code                    VIOLATED"), "{t}");
    let trace = crate::common::trace_of(out.path(), "no_mixed_universe");
    let json = std::fs::read_to_string(&trace).unwrap();
    assert!(json.contains("test_klp-call_getpid-"), "concrete task names: {json}");
    assert!(!json.contains("renamed"), "no step of the reduced model: {json}");
    let r = Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(&trace).output().unwrap();
    let rt = String::from_utf8_lossy(&r.stdout).into_owned();
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("violation of 'no_mixed_universe' confirmed"), "{rt}");
}

/// Expanding representatives (the default), a discovery's shortest reduced trace may pass
/// through orbits the unreduced model cannot follow in order (a pass visiting the copies in an
/// order the task list cannot produce there): on selftest-syscall-01 under no-stack-check,
/// `no_freed_livepatch_code`. `concretise` then confirms it by another unreduced path to the
/// same last orbit (klp_model::symmetry::concretise, its second way). Checked: every violation
/// of the reduced run is confirmed by a real path of the unreduced model that ends in the
/// violating orbit and violates there, and at least one needed the second way.
#[test]
fn concretise_confirms_a_trace_whose_orbits_the_unreduced_model_cannot_follow() {
    let m = model(SYSCALL, "no-stack-check");
    let groups = Groups::of(&m.spec);
    let landing = m.clone().with_free_pass_order(groups.clone()).with_canonical_successors();
    let g = groups.clone();
    let out = klp_checker::Bfs::new(&landing).threads(1).symmetry(move |s| g.canonical(s)).canonical_successors().run();
    let props = m.properties();
    let mut left_the_orbits = Vec::new();
    let mut confirmed = 0;
    for (p, o) in props.iter().zip(&out.properties) {
        let Some(d) = o.discovery.as_ref().filter(|_| o.verdict == klp_checker::Verdict::Violated) else { continue };
        let bad = |s: &State| !(p.condition)(&m, s);
        let (actions, states) = klp_model::symmetry::concretise(&m, &groups, &d.states, bad)
            .unwrap_or_else(|| panic!("{}: not confirmed on the unreduced model", p.name));
        // A real path of the unreduced model, ending in the violating orbit, violating there.
        let mut s = m.init_states().into_iter().find(|i| *i == states[0]).expect("an initial state");
        for (a, want) in actions.iter().zip(&states[1..]) {
            s = m.next_state(&s, *a).expect("a step of the unreduced model");
            assert_eq!(s, *want, "{}", p.name);
        }
        assert!(bad(&s), "{}: the concrete trace ends in a violation", p.name);
        assert_eq!(groups.orbit_key(&s), groups.orbit_key(d.states.last().unwrap()), "{}", p.name);
        let orbits = |v: &[State]| v.iter().map(|s| groups.orbit_key(s)).collect::<Vec<_>>();
        if orbits(&states) != orbits(&d.states) {
            left_the_orbits.push(p.name);
        }
        confirmed += 1;
    }
    assert_eq!(confirmed, 2, "no_mixed_universe and no_freed_livepatch_code");
    assert_eq!(left_the_orbits, ["no_freed_livepatch_code"], "the trace the orbit-by-orbit search cannot follow");
}
