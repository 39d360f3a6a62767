//! Cross-checks of the engine against stateright's own BFS and against a naive reference
//! BFS written here (full states in a HashMap): state counts, shortest traces, thread-count
//! independence, limits and symmetry.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use klp_checker::{Bfs, FinishWhen, StopReason, Verdict};
use klp_toy::{self as toy, Toy, ToyAction::*};
use stateright::{Checker, Model, Property};

/// Two counters with a boundary, a `None` successor and a symmetric swap action.
struct Counter {
    max: u8,
    props: bool,
}

impl Model for Counter {
    type State = (u8, u8);
    type Action = &'static str;

    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0), (1, 0), (0, 0)]
    }

    fn actions(&self, _: &(u8, u8), out: &mut Vec<&'static str>) {
        out.extend(["inc_x", "inc_y", "swap", "reset_if_odd"]);
    }

    fn next_state(&self, &(x, y): &(u8, u8), a: &'static str) -> Option<(u8, u8)> {
        match a {
            "inc_x" => Some((x + 1, y)),
            "inc_y" => Some((x, y + 1)),
            "swap" => Some((y, x)),
            _ => ((x + y) % 2 == 1).then_some((0, 0)),
        }
    }

    fn within_boundary(&self, &(x, y): &(u8, u8)) -> bool {
        x <= self.max && y <= self.max
    }

    fn properties(&self) -> Vec<Property<Self>> {
        if !self.props {
            // stateright stops at once when a model has no property ("all discovered").
            return vec![Property::always("true", |_, _| true)];
        }
        vec![
            Property::always("sum_below_5", |_, s: &(u8, u8)| s.0 + s.1 < 5),
            Property::sometimes("y_is_3", |_, s: &(u8, u8)| s.1 == 3),
            Property::eventually("x_reaches_max", |m: &Counter, s: &(u8, u8)| s.0 == m.max),
        ]
    }
}

/// Naive BFS: depth of every reachable state (within the boundary).
fn reference_depths<M: Model>(m: &M) -> HashMap<M::State, usize>
where
    M::State: Hash + Eq + Clone,
{
    let mut seen = HashMap::new();
    let mut queue = VecDeque::new();
    for s in m.init_states().into_iter().filter(|s| m.within_boundary(s)) {
        if !seen.contains_key(&s) {
            seen.insert(s.clone(), 0);
            queue.push_back(s);
        }
    }
    while let Some(s) = queue.pop_front() {
        let d = seen[&s];
        for n in m.next_states(&s) {
            if m.within_boundary(&n) && !seen.contains_key(&n) {
                seen.insert(n.clone(), d + 1);
                queue.push_back(n);
            }
        }
    }
    seen
}

/// Shortest distance to a state that decides `p`, per the reference BFS.
fn reference_shortest<M: Model>(m: &M, p: &Property<M>) -> Option<usize>
where
    M::State: Hash + Eq + Clone,
{
    let decides = |s: &M::State| match p.expectation {
        stateright::Expectation::Always => !(p.condition)(m, s),
        _ => (p.condition)(m, s),
    };
    reference_depths(m).into_iter().filter(|(s, _)| decides(s)).map(|(_, d)| d).min()
}

fn stateright_unique<M>(m: M) -> usize
where
    M: Model + Send + Sync + 'static,
    M::State: Hash + Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static,
    M::Action: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static,
{
    m.checker().spawn_bfs().join().unique_state_count()
}

#[test]
fn toy_counts_match_tla_and_stateright() {
    // (N, distinct, generated incl. init = TLC's "states generated", steps = TLC depth - 1)
    for (n, unique, generated, depth) in [(3, 4_230, 26_396, 10), (4, 57_122, 462_663, 13)] {
        let out = Bfs::new(&Toy::new(n)).threads(2).run();
        assert!(out.complete());
        assert_eq!(out.stats.unique_states, unique, "N={n}");
        assert_eq!(out.stats.generated_states, generated, "N={n}");
        assert_eq!(out.stats.max_depth, depth, "N={n}");
        assert_eq!(stateright_unique(Toy::new(n)) as u64, unique);
        for p in ["p1_no_old_after_new", "p2_no_mixed_versions"] {
            assert_eq!(out.property(p).unwrap().verdict, Verdict::Holds);
        }
    }
}

#[test]
fn counter_counts_match_stateright_and_reference() {
    for max in [0, 3, 7] {
        let m = Counter { max, props: false };
        let out = Bfs::new(&m).threads(2).run();
        assert!(out.complete());
        let reference = reference_depths(&m);
        assert_eq!(out.stats.unique_states as usize, reference.len());
        assert_eq!(out.stats.max_depth, *reference.values().max().unwrap());
        assert_eq!(stateright_unique(Counter { max, props: false }), reference.len());
    }
}

#[test]
fn counter_traces_are_shortest_first_in_order_and_eventually_unchecked() {
    let m = Counter { max: 7, props: true };
    let out = Bfs::new(&m).threads(2).run();
    assert!(out.complete());
    let sum = out.property("sum_below_5").unwrap();
    assert_eq!(sum.verdict, Verdict::Violated);
    let t = sum.discovery.as_ref().unwrap();
    // Init (1, 0) is one step closer than (0, 0); inc_x is action 0.
    assert_eq!((t.init_index, t.actions.clone()), (1, vec!["inc_x"; 4]));
    assert_eq!(t.states.last(), Some(&(5, 0)));
    assert_eq!(Some(4), reference_shortest(&m, &m.properties()[0]));
    let y3 = out.property("y_is_3").unwrap();
    assert_eq!(y3.verdict, Verdict::Reachable);
    assert_eq!(y3.discovery.as_ref().unwrap().actions, vec!["inc_y"; 3]);
    assert_eq!(y3.discovery.as_ref().unwrap().init_index, 0);
    assert!(y3.discovery.as_ref().unwrap().to_path(&m).is_some());
    // Liveness is not checked by this engine and must never read as "holds".
    assert_eq!(out.property("x_reaches_max").unwrap().verdict, Verdict::Unchecked);
}

#[test]
fn buggy_toy_counterexample_is_shortest_and_identical_for_1_2_4_threads() {
    let m = Toy::buggy(3);
    let runs: Vec<_> = [1, 2, 4].map(|t| Bfs::new(&m).threads(t).run()).into();
    // Call(0, 0) comes before Call(0, 1) in `actions()`, so the old-F0/new-F0 stack wins.
    let expected = vec![Start, Call(0, 0), TryComplete, Call(0, 0)];
    for (i, p) in m.properties().iter().enumerate() {
        let want = reference_shortest(&m, p).unwrap();
        for out in &runs {
            assert_eq!(out.stats.unique_states, 11_718);
            let po = &out.properties[i];
            let t = po.discovery.as_ref().unwrap();
            assert_eq!(t.actions.len(), want, "{} not shortest", po.name);
            let first = runs[0].properties[i].discovery.as_ref().unwrap();
            assert_eq!(format!("{:?}", t.states), format!("{:?}", first.states));
            assert_eq!(t.actions, first.actions);
            let path = t.to_path(&m).expect("trace replays in stateright");
            assert_eq!(path.last_state(), t.states.last().unwrap());
        }
    }
    let p1 = runs[0].property("p1_no_old_after_new").unwrap();
    assert_eq!(p1.verdict, Verdict::Violated);
    assert_eq!(p1.discovery.as_ref().unwrap().actions, expected);
    assert_eq!(format!("{:?}", p1.discovery.as_ref().unwrap().states.last().unwrap()), "DONE P[F0,F0']n P[] P[]");
    let done = runs[0].property("transition_completes").unwrap();
    assert_eq!(done.discovery.as_ref().unwrap().actions, vec![Start, TryComplete]);
}

#[test]
fn limits_stop_with_incomplete_verdicts() {
    let m = Toy::new(4);
    let capped = Bfs::new(&m).max_states(Some(10_000)).run();
    assert_eq!(capped.stop, StopReason::MaxStates);
    assert!(!capped.complete());
    assert!(capped.stats.unique_states >= 10_000 && capped.stats.unique_states < 57_122);
    let p1 = capped.property("p1_no_old_after_new").unwrap();
    assert_eq!(p1.verdict, Verdict::Incomplete, "an incomplete search must not say Holds");
    // A discovery made before the stop keeps its trace.
    assert_eq!(capped.property("transition_completes").unwrap().verdict, Verdict::Reachable);
    // The stopping point does not depend on the thread count.
    let capped2 = Bfs::new(&m).threads(2).max_states(Some(10_000)).run();
    assert_eq!(capped.stats.unique_states, capped2.stats.unique_states);

    assert_eq!(Bfs::new(&m).max_depth(Some(3)).run().stop, StopReason::MaxDepth);
    let deep = Bfs::new(&m).max_depth(Some(13)).run();
    assert_eq!((deep.stop, deep.stats.unique_states), (StopReason::Exhausted, 57_122));
    assert_eq!(Bfs::new(&m).max_depth(Some(12)).run().stop, StopReason::MaxDepth);
    let timeout = Bfs::new(&m).threads(1).timeout(Some(Duration::ZERO)).run();
    assert_eq!(timeout.stop, StopReason::Timeout);
    assert_eq!(Bfs::new(&m).max_memory(Some(1)).run().stop, StopReason::MaxMemory);
    let flag = Arc::new(AtomicBool::new(true));
    assert_eq!(Bfs::new(&m).stop_flag(flag).run().stop, StopReason::Stopped);
}

#[test]
fn finish_when_any_violation_keeps_the_shortest_counterexample() {
    let out = Bfs::new(&Toy::buggy(4)).finish_when(FinishWhen::AnyViolation).run();
    assert_eq!(out.stop, StopReason::Finished);
    let p2 = out.property("p2_no_mixed_versions").unwrap();
    assert_eq!(p2.verdict, Verdict::Violated);
    assert_eq!(p2.discovery.as_ref().unwrap().actions.len(), 4);
}

#[test]
fn symmetry_counts_equal_orbits_of_the_full_space() {
    for n in [3, 4] {
        let m = Toy::new(n);
        let orbits: HashSet<_> = reference_depths(&m).keys().map(toy::canonical).collect();
        let sym = Bfs::new(&m).symmetry(toy::canonical).run();
        let sym2 = Bfs::new(&m).symmetry(toy::canonical_by_counts).run();
        assert_eq!(sym.stats.unique_states as usize, orbits.len(), "N={n}");
        assert_eq!(sym.stats.unique_states, sym2.stats.unique_states, "N={n}");
    }
    // Pinned so that a change in either canonicaliser shows.
    let s5 = Bfs::new(&Toy::new(5)).symmetry(toy::canonical_by_counts).run();
    let s5b = Bfs::new(&Toy::new(5)).symmetry(toy::canonical).threads(2).run();
    assert_eq!(s5.stats.unique_states, 12_882);
    assert_eq!(s5b.stats.unique_states, 12_882);
}

#[test]
fn symmetry_keeps_verdicts_and_real_state_traces() {
    let m = Toy::buggy(4);
    let full = Bfs::new(&m).run();
    let sym = Bfs::new(&m).symmetry(toy::canonical).threads(2).run();
    assert!(sym.stats.unique_states < full.stats.unique_states);
    for (a, b) in full.properties.iter().zip(&sym.properties) {
        assert_eq!(a.verdict, b.verdict);
        let (ta, tb) = (a.discovery.as_ref().unwrap(), b.discovery.as_ref().unwrap());
        assert_eq!(ta.actions.len(), tb.actions.len());
        assert!(tb.to_path(&m).is_some(), "symmetric trace must replay from init");
    }
}

#[test]
fn progress_callback_reports() {
    let mut calls = Vec::new();
    let out = Bfs::new(&Toy::new(4)).progress_interval(Duration::ZERO).progress(|p| calls.push(p.unique_states)).run();
    assert!(!calls.is_empty());
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
    assert!(*calls.last().unwrap() <= out.stats.unique_states);
    assert!(out.stats.collision_probability() < 1e-9);
}
