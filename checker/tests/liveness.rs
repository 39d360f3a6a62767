//! Liveness and possibility on tiny hand-made graphs: exact verdicts and lasso shapes.

use klp_checker::{Bfs, Fairness, LiveProperty, Liveness, Verdict};
use stateright::{Model, Property};

/// A model given by its edge table: (from, label, to, fairness). State 0 is initial.
struct Graph {
    edges: Vec<(u8, char, u8, Option<Fairness>)>,
    p: Vec<u8>,
    q: Vec<u8>,
}

impl Model for Graph {
    type State = u8;
    type Action = char;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<char>) {
        out.extend(self.edges.iter().filter(|e| e.0 == *s).map(|e| e.1));
    }
    fn next_state(&self, s: &u8, a: char) -> Option<u8> {
        self.edges.iter().find(|e| e.0 == *s && e.1 == a).map(|e| e.2)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        Vec::new()
    }
}

fn fairness(m: &Graph, s: &u8, a: &char) -> Option<Fairness> {
    m.edges.iter().find(|e| e.0 == *s && e.1 == *a).and_then(|e| e.3)
}
fn p(m: &Graph, s: &u8) -> bool {
    m.p.contains(s)
}
fn q(m: &Graph, s: &u8) -> bool {
    m.q.contains(s)
}
fn not_force(_: &Graph, a: &char) -> bool {
    *a != 'f'
}

const W1: Option<Fairness> = Some(Fairness::Weak(1));
const W2: Option<Fairness> = Some(Fairness::Weak(2));
const S2: Option<Fairness> = Some(Fairness::Strong(2));

/// Runs `P ~> Q` and the possibility `AG (P -> EF Q)` without 'f' steps; returns
/// (leads-to verdict, actions, cycle_start), (possibility verdict, actions).
#[allow(clippy::type_complexity)]
fn check(g: &Graph, threads: usize) -> ((Verdict, String, Option<usize>), (Verdict, String)) {
    let props = vec![
        LiveProperty { name: "leads_to", kind: Liveness::LeadsTo { p, q } },
        LiveProperty { name: "possible", kind: Liveness::Possibility { p, q, allowed: not_force } },
    ];
    let out = Bfs::new(g).threads(threads).liveness(props, fairness).run();
    assert!(out.complete());
    let l = out.live("leads_to").unwrap();
    let pos = out.live("possible").unwrap();
    let acts =
        |t: &Option<klp_checker::Discovery<Graph>>| t.as_ref().map(|t| t.actions.iter().collect()).unwrap_or_default();
    assert_eq!(pos.cycle_start, None);
    ((l.verdict, acts(&l.discovery), l.cycle_start), (pos.verdict, acts(&pos.discovery)))
}

/// 0 -a-> 1 -a-> 2 -a-> 0 (weakly fair class 1) and an exit x to the goal 3.
fn cycle(exits: &[u8], exit: Option<Fairness>) -> Graph {
    let mut edges = vec![(0, 'a', 1, W1), (1, 'a', 2, W1), (2, 'a', 0, W1)];
    edges.extend(exits.iter().map(|&s| (s, 'x', 3, exit)));
    Graph { edges, p: vec![0], q: vec![3] }
}

#[test]
fn exit_enabled_everywhere_and_weakly_fair_makes_the_cycle_unfair() {
    let ((v, _, _), (pv, _)) = check(&cycle(&[0, 1, 2], W2), 1);
    assert_eq!(v, Verdict::Holds);
    assert_eq!(pv, Verdict::Holds);
}

#[test]
fn exit_enabled_in_one_state_only_leaves_a_weakly_fair_cycle() {
    let ((v, acts, start), _) = check(&cycle(&[2], W2), 1);
    assert_eq!(v, Verdict::Violated);
    assert_eq!(acts, "aaa");
    assert_eq!(start, Some(0));
}

#[test]
fn strong_fairness_of_an_intermittent_exit_breaks_the_cycle() {
    let ((v, _, _), _) = check(&cycle(&[2], S2), 1);
    assert_eq!(v, Verdict::Holds);
}

#[test]
fn an_unfair_exit_never_has_to_be_taken() {
    let ((v, acts, start), (pv, _)) = check(&cycle(&[0, 1, 2], None), 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "aaa", Some(0)));
    assert_eq!(pv, Verdict::Holds);
}

/// 0 -s-> 1 -t-> 2 (P); cycle 2 -a-> 4 -b-> 2 with classes 1 and 2, a side loop
/// 4 -c-> 5 -d-> 4 whose step `c` has fairness `side`, no exit to the goal 3.
fn side_loop(side: Option<Fairness>) -> Graph {
    Graph {
        edges: vec![
            (0, 's', 1, None),
            (1, 't', 2, None),
            (2, 'a', 4, W1),
            (4, 'b', 2, W2),
            (4, 'c', 5, side),
            (5, 'd', 4, Some(Fairness::Weak(4))),
            (0, 'g', 3, None),
        ],
        p: vec![2],
        q: vec![3],
    }
}

/// An oracle independent of the checker: the lasso `acts` (cycle from `start`) of `g` is a
/// fair run: on the cycle, every strongly fair class enabled in one of its states is taken,
/// every weakly fair class enabled in all of them is taken; and the cycle closes.
fn assert_fair_lasso(g: &Graph, acts: &str, start: usize) {
    let mut s = 0u8;
    let mut states = Vec::new();
    for (i, a) in acts.chars().enumerate() {
        if i >= start {
            states.push(s);
        }
        s = g.next_state(&s, a).unwrap_or_else(|| panic!("{a} not enabled in {s}"));
    }
    assert_eq!(Some(&s), states.first(), "the cycle of {acts} does not close");
    let cyc: Vec<(u8, char)> = states.iter().copied().zip(acts.chars().skip(start)).collect();
    let class = |st: u8, a: char| fairness(g, &st, &a);
    let taken: Vec<Fairness> = cyc.iter().filter_map(|&(st, a)| class(st, a)).collect();
    let enabled = |st: u8| -> Vec<Fairness> { g.edges.iter().filter(|e| e.0 == st).filter_map(|e| e.3).collect() };
    for &st in &states {
        for f in enabled(st) {
            let needed = match f {
                Fairness::Strong(_) => true,
                Fairness::Weak(_) => states.iter().all(|&o| enabled(o).contains(&f)),
            };
            assert!(!needed || taken.contains(&f), "{f:?} enabled on the cycle of {acts} but never taken");
        }
    }
}

#[test]
fn the_lasso_prefix_is_shortest_and_the_cycle_takes_only_the_fair_classes_it_must() {
    // The weakly fair side loop is enabled in 4 only, never continuously: the cycle leaves it
    // out (a cycle through every fair class would be "abacdb").
    let g = side_loop(Some(Fairness::Weak(3)));
    let ((v, acts, start), (pv, pacts)) = check(&g, 2);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "stab", Some(2)));
    assert_fair_lasso(&g, &acts, 2);
    assert_eq!((pv, pacts.as_str()), (Verdict::Violated, "st"));
    // An unfair side loop is left out too.
    let g = side_loop(None);
    let ((_, acts, _), _) = check(&g, 2);
    assert_eq!(acts, "stab");
    // A strongly fair one must be taken: it is enabled infinitely often (in 4).
    let g = side_loop(Some(Fairness::Strong(3)));
    let ((v, acts, start), _) = check(&g, 2);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "stacdb", Some(2)));
    assert_fair_lasso(&g, &acts, 2);
}

#[test]
fn the_cycle_adds_no_unfair_detour_and_meets_a_weak_class_by_leaving_it() {
    // From 2 (P): the loop 2 -u-> 6 -v-> 2 (an unfair syscall and its strongly fair return)
    // is the first cycle a BFS finds, but fairness asks only for the weakly fair work step w:
    // 2 -w-> 7 -w-> 2. In 7 class 2 (weak, enabled in 2) is not enabled: it need not be taken
    // (2 -x-> 8 -y-> 2 would be as short; the lower class goes first).
    let g = Graph {
        edges: vec![
            (0, 't', 2, None),
            (2, 'u', 6, None),
            (6, 'v', 2, Some(Fairness::Strong(5))),
            (2, 'w', 7, W1),
            (7, 'w', 2, W1),
            (2, 'x', 8, W2),
            (8, 'y', 2, Some(Fairness::Strong(6))),
            (0, 'g', 3, None),
        ],
        p: vec![2],
        q: vec![3],
    };
    let ((v, acts, start), _) = check(&g, 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "tww", Some(1)));
    assert_fair_lasso(&g, &acts, 1);
}

#[test]
fn a_deadlock_stutters_forever() {
    let g = Graph { edges: vec![(0, 'a', 1, W1), (0, 'g', 2, None)], p: vec![0], q: vec![2] };
    let ((v, acts, start), (pv, _)) = check(&g, 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "a", Some(1)));
    assert_eq!(pv, Verdict::Holds);
}

#[test]
fn a_state_with_only_unfair_steps_is_quiescent() {
    // As above but d unfair: the run may stay in 5 forever, which is nearer than a cycle.
    let g = Graph {
        edges: vec![
            (0, 's', 1, None),
            (1, 't', 2, None),
            (2, 'a', 4, W1),
            (4, 'b', 2, W2),
            (4, 'c', 5, Some(Fairness::Weak(3))),
            (5, 'd', 4, None),
        ],
        p: vec![2],
        q: vec![3],
    };
    let ((v, acts, start), _) = check(&g, 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "stac", Some(4)));
}

#[test]
fn a_state_whose_only_step_is_unfair_is_quiescent() {
    // 1 can only leave through an unfair step: the run may stay there.
    let g = Graph { edges: vec![(0, 'a', 1, W1), (1, 'g', 2, None)], p: vec![0], q: vec![2] };
    let ((v, acts, start), _) = check(&g, 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "a", Some(1)));
}

#[test]
fn possibility_without_force() {
    // From 1 only the force step 'f' reaches the goal 3; from 0 the detour through 2 does.
    let g = Graph {
        edges: vec![(0, 'a', 1, W1), (1, 'f', 3, W1), (0, 'b', 2, W1), (2, 'c', 3, W1), (1, 'r', 1, None)],
        p: vec![0, 1, 2],
        q: vec![3],
    };
    let (_, (pv, pacts)) = check(&g, 1);
    assert_eq!((pv, pacts.as_str()), (Verdict::Violated, "a"));
}

fn p2(_: &Graph, s: &u8) -> bool {
    *s == 2
}
fn q1(_: &Graph, s: &u8) -> bool {
    *s == 1
}
fn any_step(_: &Graph, _: &char) -> bool {
    true
}

/// (verdict, actions) of each possibility property, checked together.
fn possibilities(g: &Graph, props: Vec<LiveProperty<Graph>>) -> Vec<(Verdict, String)> {
    let names: Vec<&str> = props.iter().map(|p| p.name).collect();
    let out = Bfs::new(g).threads(2).liveness(props, fairness).run();
    let acts = |t: &Option<klp_checker::Discovery<Graph>>| t.as_ref().map(|t| t.actions.iter().collect());
    names.iter().map(|n| out.live(n).unwrap()).map(|o| (o.verdict, acts(&o.discovery).unwrap_or_default())).collect()
}

#[test]
fn possibilities_that_allow_the_same_steps_share_a_pass_and_keep_their_verdicts() {
    // Only the force step 'f' reaches the goal 3, from 1; 0 and 2 reach 1. Without 'f',
    // "possible" (P = {0, 1, 2}, Q = 3) fails at the initial state, "back" (P = 2, Q = 1)
    // holds through 'g'; "any" (every step allowed) holds. The first two share one pass (same
    // allowed steps), the third has its own; each verdict is the one it gets alone.
    let g = Graph {
        edges: vec![(0, 'a', 1, W1), (1, 'f', 3, W1), (0, 'b', 2, W1), (2, 'g', 1, W1), (1, 'r', 1, None)],
        p: vec![0, 1, 2],
        q: vec![3],
    };
    let mk = |name, p, q, allowed| LiveProperty { name, kind: Liveness::Possibility { p, q, allowed } };
    let together = possibilities(
        &g,
        vec![mk("possible", p, q, not_force), mk("back", p2, q1, not_force), mk("any", p, q, any_step)],
    );
    let alone: Vec<(Verdict, String)> =
        [mk("possible", p, q, not_force), mk("back", p2, q1, not_force), mk("any", p, q, any_step)]
            .into_iter()
            .flat_map(|prop| possibilities(&g, vec![prop]))
            .collect();
    assert_eq!(together, alone);
    assert_eq!(
        together,
        vec![(Verdict::Violated, String::new()), (Verdict::Holds, String::new()), (Verdict::Holds, String::new())]
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let g = cycle(&[2], W2);
    assert_eq!(check(&g, 1), check(&g, 3));
}

/// 40 two-state cycles in a row, each entered from the one before (class 1, weak) and left to
/// the goal 250; cycle `j`'s exit is weakly fair (the cycle is unfair), strongly fair from one
/// state, or missing (a fair cycle) by `j mod 3`; P holds at its first state.
fn cycles_in_a_row() -> Graph {
    let mut edges = Vec::new();
    for j in 0u8..40 {
        let (a, b) = (2 * j, 2 * j + 1);
        edges.push((a, 'a', b, W1));
        edges.push((b, 'b', a, W1));
        if j < 39 {
            edges.push((b, 'n', b + 1, None));
        }
        match j % 3 {
            0 => edges.extend([(a, 'x', 250, W2), (b, 'x', 250, W2)]),
            1 => edges.push((b, 'x', 250, S2)),
            _ => {}
        }
    }
    Graph { edges, p: (0..40).map(|j| 2 * j).collect(), q: vec![250] }
}

#[test]
fn components_refined_on_the_pool_give_the_sequential_verdict_and_lasso() {
    // With two or more threads the components are refined beside the DFS and the pass is run
    // again with the fair ones known (checker/src/liveness/fairpool.rs): the result is the
    // one thread's, down to the lasso.
    let g = cycles_in_a_row();
    let one = check(&g, 1);
    assert_eq!(one.0 .0, Verdict::Violated);
    assert_fair_lasso(&g, &one.0 .1, one.0 .2.expect("a lasso"));
    for threads in [2, 3, 4] {
        assert_eq!(check(&g, threads), one, "{threads} threads");
    }
    // No fair cycle at all (every exit weakly fair): holds, on any thread count.
    let mut g = cycles_in_a_row();
    g.edges.retain(|e| e.1 != 'x');
    for j in 0u8..40 {
        g.edges.extend([(2 * j, 'x', 250, W2), (2 * j + 1, 'x', 250, W2)]);
    }
    for threads in [1, 2] {
        assert_eq!(check(&g, threads).0 .0, Verdict::Holds, "{threads} threads");
    }
}

#[test]
fn components_refined_beside_a_pool_that_is_behind_give_the_sequential_result() {
    // While the pool is behind, the DFS refines components itself and the rerun looks up both
    // its own fair sets and the pool's. The batch goes to the pool only when full (4,096
    // states) or at the end, so the queue only grows during the DFS: at cap `c` the first
    // `c / 2` two-state cycles the DFS completes (the last ones in the row: 39, 38, ...) are
    // the pool's and the rest are refined inline. Cap 0: all inline, no rerun; cap 4: the pool
    // finds cycle 38 fair, so the rerun needs the inline fair cycles (2, 5, ...) to give the
    // same lasso; cap 80: all on the pool. (One process per test under nextest; the cap
    // changes only who refines, never a result.)
    let g = cycles_in_a_row();
    let one = check(&g, 1);
    for cap in [0, 2, 4, 8, 80] {
        klp_checker::set_queue_cap_for_tests(Some(cap));
        for threads in [2, 3] {
            assert_eq!(check(&g, threads), one, "cap {cap}, {threads} threads");
        }
    }
    klp_checker::set_queue_cap_for_tests(None);
}

#[test]
fn a_stopped_search_is_unknown_never_holds() {
    let g = cycle(&[0, 1, 2], W2);
    let props = vec![LiveProperty { name: "leads_to", kind: Liveness::LeadsTo { p, q } }];
    let out = Bfs::new(&g).threads(1).max_states(Some(2)).liveness(props, fairness).run();
    assert!(!out.complete());
    assert_eq!(out.live("leads_to").unwrap().verdict, Verdict::Incomplete);
    assert!(out.live("leads_to").unwrap().discovery.is_none());
}

#[test]
fn symmetry_leaves_liveness_unchecked() {
    let g = cycle(&[2], W2);
    let props = vec![LiveProperty { name: "leads_to", kind: Liveness::LeadsTo { p, q } }];
    let out = Bfs::new(&g).threads(1).symmetry(|s| *s).liveness(props, fairness).run();
    assert_eq!(out.live("leads_to").unwrap().verdict, Verdict::Unchecked);
}

#[test]
fn strong_fairness_removes_states_and_keeps_the_fair_rest() {
    // 0 <-> 1 and 1 -> 2 -> 0; the strongly fair exit from 2 forbids staying in a cycle
    // through 2, but the cycle 0 <-> 1 never enables it.
    let g = Graph {
        edges: vec![(0, 'a', 1, W1), (1, 'b', 0, W1), (1, 'c', 2, W1), (2, 'd', 0, W1), (2, 'x', 3, S2)],
        p: vec![0],
        q: vec![3],
    };
    let ((v, acts, start), _) = check(&g, 1);
    assert_eq!((v, acts.as_str(), start), (Verdict::Violated, "ab", Some(0)));
}

/// States 10 and up are inside an atomic section (checker/src/liveness/atomic.rs).
fn in_section(_: &Graph, s: &u8) -> bool {
    *s >= 10
}

/// Steps 's' and 't' are section steps; 'e' and 'E' enter a section with key 1, 'k' with key 2.
fn section_step(_: &Graph, _: &u8, a: &char) -> Option<u16> {
    match a {
        's' | 't' => Some(0),
        'e' | 'E' => Some(1),
        'k' => Some(2),
        _ => None,
    }
}

/// The possibility `AG (P -> EF Q)` on `g` as a reduced run checks it (an identity
/// canonicaliser, the sections above): verdict and note.
fn exact(g: &Graph) -> (Verdict, String) {
    let props = vec![LiveProperty { name: "possible", kind: Liveness::Possibility { p, q, allowed: not_force } }];
    let out = Bfs::new(g)
        .threads(1)
        .symmetry(|s| *s)
        .liveness(props, fairness)
        .atomic_sections(in_section, section_step)
        .run();
    let pos = out.live("possible").unwrap();
    (pos.verdict, pos.note.clone())
}

#[test]
fn a_section_with_one_end_on_every_path_decides_possibility_exactly() {
    // 0 enters the section at 10; both orders (10-11-2, 10-12-2) end at the goal 2.
    let g = Graph {
        edges: vec![
            (0, 'e', 10, None),
            (10, 's', 11, None),
            (10, 't', 12, None),
            (11, 's', 2, None),
            (12, 's', 2, None),
        ],
        p: vec![0],
        q: vec![2],
    };
    assert_eq!(exact(&g), (Verdict::Holds, klp_checker::SECTIONS_EXACT.to_string()));
}

#[test]
fn a_section_with_two_ends_is_incomplete_never_holds() {
    // Claim A fails at 10: one order ends at the goal 2, the other at 3, from which nothing
    // reaches it. The quotient's EF Q holds (through 2), the exact check cannot show it.
    let g = Graph { edges: vec![(0, 'e', 10, None), (10, 's', 2, None), (10, 't', 3, None)], p: vec![0], q: vec![2] };
    let (v, note) = exact(&g);
    assert_eq!(v, Verdict::Incomplete, "{note}");
    assert!(note.contains("1 of 1 mid-pass states fail Claim A"), "{note}");
}

#[test]
fn a_section_step_to_a_dead_end_is_incomplete() {
    // 10 -s-> 11 and 11 has no section step: a pass that cannot end.
    let g = Graph { edges: vec![(0, 'e', 10, None), (10, 's', 11, None), (11, 'x', 2, None)], p: vec![0], q: vec![2] };
    assert_eq!(exact(&g).0, Verdict::Incomplete);
}

#[test]
fn entering_steps_of_one_key_must_share_their_end() {
    // 'e' and 'E' are one step taken on two renamings (same key): one ends at the goal, the
    // other at a dead end 3, so neither is used. With another key ('k') each is its own step.
    let edges = |second: char| vec![(0, 'e', 10, None), (10, 's', 2, None), (0, second, 11, None), (11, 's', 3, None)];
    let g = Graph { edges: edges('E'), p: vec![0], q: vec![2] };
    assert_eq!(exact(&g).0, Verdict::Incomplete);
    let g = Graph { edges: edges('k'), p: vec![0], q: vec![2] };
    assert_eq!(exact(&g).0, Verdict::Holds);
}

#[test]
fn the_goal_in_the_middle_of_a_section_does_not_count() {
    // Q holds at 10 only, in the middle of the section, whose end 3 does not reach it.
    let g = Graph { edges: vec![(0, 'e', 10, None), (10, 's', 3, None)], p: vec![0], q: vec![10] };
    assert_eq!(exact(&g).0, Verdict::Incomplete);
    // A P state inside a section with Q itself holds.
    let g = Graph { edges: vec![(0, 'e', 10, None), (10, 's', 3, None)], p: vec![10], q: vec![10] };
    assert_eq!(exact(&g), (Verdict::Holds, klp_checker::SECTIONS_EXACT.to_string()));
}
