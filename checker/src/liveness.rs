//! Liveness and possibility on the explored graph ([`Graph`]), after an exhausted BFS.
//!
//! * Leads-to `P ~> Q` under fairness: violated iff some reachable `P ∧ ¬Q` state can reach,
//!   through `¬Q` states only, either a quiescent state (no fair step enabled: the run may
//!   stay there forever; a deadlock is the special case of no step at all) or a fair cycle.
//!   Fair cycles are found per strongly connected component of the `¬Q` subgraph (Streett
//!   emptiness): a component holds one iff, after repeatedly removing the states where a
//!   strongly fair class is enabled but none of its edges lies inside, some remaining
//!   non-trivial component has, for every weakly fair class, a state where the class is not
//!   enabled or one of its edges inside. `eventually Q` is `init ~> Q`.
//! * Possibility `AG (P -> EF Q)` over allowed edges: every `P` state can reach a `Q` state
//!   taking allowed edges only. Computed over the components of the allowed-edge subgraph in
//!   reverse topological order.
//!
//! * Deadlock: the first state in BFS order with no out-edge that is not a normal end (the
//!   `P` bit holds the model's `end` predicate); its shortest path is the counterexample.
//!
//! Each pass walks states and edges in index order, and the graph is identical for any thread
//! count, so verdicts and counterexamples are too. The passes run in parallel (one per pool
//! thread); inside a leads-to pass the Streett refinement of components runs on the pool
//! beside the DFS (`liveness/fairpool.rs`, with the sequential pass's result).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use fixedbitset::FixedBitSet;

use stateright::Model;

use crate::graph::{Decoder, Edge, Graph, STRONG_BIT};
use crate::scc::{Event, Scc, Subset, Whole};

pub(crate) mod atomic;
mod fairpool;
#[doc(hidden)]
pub use fairpool::set_queue_cap_for_tests;
pub(crate) mod quotient;

/// A state predicate.
pub type StatePred<M> = fn(&M, &<M as Model>::State) -> bool;
/// An action predicate (edge filter of a possibility property).
pub type ActionPred<M> = fn(&M, &<M as Model>::Action) -> bool;
/// The fairness of taking `action` in `state` (`None`: the step is not fair, for example an
/// administrator who may stop acting).
pub type FairnessFn<M> = fn(&M, &<M as Model>::State, &<M as Model>::Action) -> Option<crate::graph::Fairness>;

/// Under symmetry reduction: rewrites the fairness classes of one state's edges (in action
/// order, the steps within the boundary) into classes that name no interchangeable component
/// and that the image of every fair run of the unreduced model satisfies on the quotient
/// graph (for example, per group of copies: a strong class for "some copy takes its step", a
/// weak one only where every copy has its step enabled). Leads-to is checked with these.
pub type QuotientFairnessFn<M> = fn(&M, &<M as Model>::State, &mut [Option<crate::graph::Fairness>]);

/// What a liveness property says.
pub enum Liveness<M: Model> {
    /// `p ~> q`: from every reachable `p` state, every fair run eventually reaches `q`.
    LeadsTo { p: StatePred<M>, q: StatePred<M> },
    /// `AG (p -> EF q)` using only actions with `allowed`: from every reachable `p` state
    /// some path of allowed steps reaches `q`. Fairness plays no role.
    Possibility { p: StatePred<M>, q: StatePred<M>, allowed: ActionPred<M> },
    /// No deadlock: every reachable state with no successor at all satisfies `end` (it is a
    /// normal end). TLC's deadlock check, with the model saying which end states are normal.
    /// Read off the stored graph (a state's out-degree), so the search pays one `end`
    /// evaluation per state and no second `actions()`.
    Deadlock { end: StatePred<M> },
}

/// Runs a task a pass hands to the pool, charging its CPU time to the phase (`bfs/profile.rs`).
pub(crate) type Charge<'a> = &'a (dyn Fn(&mut dyn FnMut()) + Sync);

/// A named liveness property.
pub struct LiveProperty<M: Model> {
    pub name: &'static str,
    pub kind: Liveness<M>,
}

/// A counterexample found on the graph, as state indices and global edge indices.
pub(crate) struct Finding {
    /// The BFS index of the violating `P` state (the prefix ends there).
    pub(crate) state: u32,
    /// Edges taken after it (the `¬Q` path, then the cycle), as successor ordinals of their
    /// source (what replay needs).
    pub(crate) edges: Vec<usize>,
    /// The state each of `edges` leads to (under symmetry reduction a state stands for its
    /// orbit, so the path is rebuilt from these, `bfs/live.rs`).
    pub(crate) targets: Vec<u32>,
    /// Index into `edges` where the repeating cycle starts; `edges.len()` when the last
    /// state stutters forever (no fair step enabled); `None` for a possibility violation.
    pub(crate) cycle_start: Option<usize>,
    pub(crate) note: String,
}

/// The successor ordinals of a path's edges.
fn ordinals(path: &[Edge]) -> Vec<usize> {
    path.iter().map(|e| e.ord as usize).collect()
}

/// The states a path's edges lead to.
fn targets(path: &[Edge]) -> Vec<u32> {
    path.iter().map(|e| e.to).collect()
}

fn is_strong(c: u16) -> bool {
    c & STRONG_BIT != 0
}

/// Per state: whether it is quiescent (no fair step enabled) and whether it has an edge to
/// itself, as sets (the graph records both with the state: [`Graph::quiescent`]).
fn state_flags(g: &Graph) -> (FixedBitSet, FixedBitSet) {
    let mut quiescent = FixedBitSet::with_capacity(g.len());
    let mut self_loop = FixedBitSet::with_capacity(g.len());
    for v in 0..g.len() as u32 {
        quiescent.set(v as usize, g.quiescent(v));
        self_loop.set(v as usize, g.self_loop(v));
    }
    (quiescent, self_loop)
}

fn enabled(g: &Graph, v: u32) -> HashSet<u16> {
    g.edges(v).map(|e| e.class).filter(|&c| c != 0).collect()
}

/// Working bytes per state of one pass: the component array (`scc.rs`, a `u32`) and four marks
/// of one bit (in a set, fair member, failing component, reaches a failing component; the
/// graph keeps quiescent and self-loop per state). The DFS stacks, which grow with the depth
/// of the search, are measured ([`PassMemory`]).
pub(crate) fn check_bytes(n: usize) -> usize {
    n * 4 + 4 * n.div_ceil(8)
}

/// What the passes report about their memory: the largest working set of one pass (arrays and
/// DFS stacks) and the highest RSS sampled while one held it.
#[derive(Default)]
pub(crate) struct PassMemory {
    pub(crate) bytes: AtomicUsize,
    pub(crate) rss: AtomicU64,
}

impl PassMemory {
    fn sample(&self, bytes: usize) {
        self.bytes.fetch_max(bytes, Relaxed);
        self.rss.fetch_max(crate::sys::rss_bytes(), Relaxed);
    }
}

/// The ordinal of the component with id `id` (ids count down from `n`: `scc.rs`).
fn ordinal(n: usize, id: u32) -> usize {
    n - id as usize
}

/// What a leads-to pass's DFS leaves ([`Marks::dfs`]).
struct Marks {
    scc: Scc,
    /// Per state its component's id (`scc.rs`).
    rindex: Vec<u32>,
    /// Per component ordinal: it holds or reaches a quiescent state or a fair cycle.
    fail: FixedBitSet,
    /// Per state: one of its ¬Q successors is in a failing component emitted before its own.
    reaches: FixedBitSet,
    fair_member: FixedBitSet,
    /// The fair subsets found, in the order their components were emitted.
    fair_sets: Vec<Vec<u32>>,
}

impl Marks {
    fn new(n: usize) -> Self {
        Marks {
            scc: Scc::default(),
            rindex: vec![0u32; n],
            fail: FixedBitSet::with_capacity(n),
            reaches: FixedBitSet::with_capacity(n),
            fair_member: FixedBitSet::with_capacity(n),
            fair_sets: Vec::new(),
        }
    }

    /// The components of the `¬Q` subgraph reached from the `P ∧ ¬Q` states of property `i`,
    /// marked failing where they hold a quiescent state, reach a failing component, or have a
    /// fair subset: `fair` gives it for a non-trivial component without a quiescent state
    /// (its states, its id).
    fn dfs(&mut self, g: &Graph, i: usize, mut fair: impl FnMut(&[u32], u32) -> Option<Vec<u32>>) {
        let n = g.len();
        let notq = |v: u32| !g.q(i, v);
        let roots = (0..n as u32).filter(|&v| g.p(i, v) && notq(v));
        let Marks { scc, rindex, fail, reaches, fair_member, fair_sets } = self;
        let mut d = Decoder::for_dfs();
        scc.run(
            rindex,
            &Whole,
            roots,
            notq,
            |v, out| out.extend_from_slice(g.decode(v, &mut d).0),
            |ev| match ev {
                Event::Cross(v, id) => {
                    if fail[ordinal(n, id)] {
                        reaches.insert(v as usize);
                    }
                }
                Event::Component(c, id) => {
                    let mut bad = c.iter().any(|&v| g.quiescent(v) || reaches[v as usize]);
                    let trivial = c.len() == 1 && !g.self_loop(c[0]);
                    if !trivial && !c.iter().any(|&v| g.quiescent(v)) {
                        if let Some(s) = fair(c, id) {
                            for &v in &s {
                                fair_member.insert(v as usize);
                            }
                            fair_sets.push(s);
                            bad = true;
                        }
                    }
                    if bad {
                        fail.insert(ordinal(n, id));
                    }
                }
            },
        );
    }
}

/// Checks leads-to property `i` of the graph. Only `¬Q` states reachable through `¬Q` states
/// from a `P ∧ ¬Q` state can fail it, so the DFS starts from those alone (the components it
/// finds are the `¬Q` graph's, so the verdict and the counterexample are those of a run from
/// every `¬Q` state); with none, it holds without a pass. With more than one pool thread the
/// components are refined on the pool beside the DFS (`fairpool.rs`), with the same result.
pub(crate) fn leads_to(g: &Graph, i: usize, mem: &PassMemory, charge: Charge<'_>) -> Option<Finding> {
    let n = g.len();
    let notq = |v: u32| !g.q(i, v);
    (0..n as u32).find(|&v| g.p(i, v) && notq(v))?;
    let mut m = Marks::new(n);
    let mut in_set = FixedBitSet::with_capacity(n);
    let classes = Classes::of(g);
    let mut extra = 0;
    if rayon::current_num_threads() > 1 {
        let pool = fairpool::FairPool::new(g, &classes, charge);
        // While the pool is behind (its threads busy with other passes), the DFS refines
        // components itself, as the sequential pass does, so the queue stays small.
        let cap = fairpool::queue_cap(n);
        let mut inline: HashMap<u32, Vec<u32>> = HashMap::new();
        rayon::scope(|s| {
            let mut batch = fairpool::Batch::default();
            m.dfs(g, i, |c, id| {
                if pool.queued() < cap {
                    batch.push(&pool, s, id, c);
                    return None;
                }
                let fair = fair_subset(g, &classes, c, &mut in_set);
                if let Some(set) = &fair {
                    inline.insert(id, set.clone());
                }
                fair
            });
            batch.flush(&pool, s);
        });
        extra = pool.bytes();
        let mut found = pool.into_found();
        if !found.is_empty() {
            found.extend(inline);
            m = Marks::new(n);
            m.dfs(g, i, |_, id| found.remove(&id));
        }
    } else {
        m.dfs(g, i, |c, _| fair_subset(g, &classes, c, &mut in_set));
    }
    mem.sample(check_bytes(n) + m.scc.peak_bytes + extra);
    let Marks { scc, rindex, fail, reaches, fair_member, fair_sets } = m;
    drop((scc, reaches));
    let failing = |v: u32| notq(v) && fail[ordinal(n, rindex[v as usize])];
    let start = (0..n as u32).find(|&v| g.p(i, v) && failing(v))?;

    // Shortest path inside ¬Q from the P state to a quiescent state or a fair-cycle state.
    let target = |w: u32| g.quiescent(w) || fair_member[w as usize];
    let mut edges =
        shortest_path(g, start, failing, target).expect("a failing state reaches a quiescent state or a fair cycle");
    let end = edges.last().map_or(start, |e| e.to);
    let cycle_start = edges.len();
    if g.quiescent(end) {
        let note = "the last state has no fair step enabled: the run may stay there forever".to_string();
        return Some(Finding {
            state: start,
            edges: ordinals(&edges),
            targets: targets(&edges),
            cycle_start: Some(cycle_start),
            note,
        });
    }
    let set = fair_sets.iter().find(|s| s.contains(&end)).expect("fair member of a recorded set");
    edges.extend(fair_cycle(g, set, end, &mut in_set));
    let note =
        "the steps from cycle_start on repeat forever; every fair class enabled throughout them is taken".to_string();
    Some(Finding {
        state: start,
        edges: ordinals(&edges),
        targets: targets(&edges),
        cycle_start: Some(cycle_start),
        note,
    })
}

/// A subset of the strongly connected component `c` that is itself strongly connected and
/// holds a fair cycle (one through all its states and edges), if any. The components of a
/// refined set are found with a `rindex` as long as the set (`scc::Subset`), not the graph.
fn fair_subset(g: &Graph, k: &Classes, c: &[u32], in_set: &mut FixedBitSet) -> Option<Vec<u32>> {
    let mut scc = Scc::default();
    let mut d = Decoder::default();
    let mut work = vec![c.to_vec()];
    let mark = |set: &mut FixedBitSet, s: &[u32], on: bool| s.iter().for_each(|&v| set.set(v as usize, on));
    while let Some(mut s) = work.pop() {
        s.sort_unstable();
        mark(in_set, &s, true);
        let found = analyse(g, k, &s, in_set, &mut d);
        mark(in_set, &s, false);
        match found {
            Verdict::Fair => return Some(s),
            Verdict::Dead => {}
            Verdict::Remove(rest) => {
                mark(in_set, &rest, true);
                let mut rindex = vec![0u32; rest.len()];
                let inside: &FixedBitSet = in_set;
                scc.run(
                    &mut rindex,
                    &Subset(&rest),
                    rest.iter().copied(),
                    |v| inside[v as usize],
                    |v, out| out.extend_from_slice(g.decode(v, &mut d).0),
                    |ev| {
                        if let Event::Component(sub, _) = ev {
                            work.push(sub.to_vec());
                        }
                    },
                );
                mark(in_set, &rest, false);
            }
        }
    }
    None
}

enum Verdict {
    Fair,
    Dead,
    /// The states of the set to keep (the others enable a strongly fair class none of whose
    /// edges stays inside), in order.
    Remove(Vec<u32>),
}

/// The fairness classes of the graph's palette codes, numbered densely, so that a pass over a
/// set counts them in arrays instead of hash sets.
struct Classes {
    /// Per palette code: its class's number, or `NONE` for an unfair edge.
    of: Vec<usize>,
    strong: Vec<bool>,
}

const NONE: usize = usize::MAX;

impl Classes {
    fn of(g: &Graph) -> Self {
        let mut ids: HashMap<u16, usize> = HashMap::new();
        let mut strong = Vec::new();
        let of = (0..g.codes() as u32)
            .map(|code| match g.class(code).0 {
                0 => NONE,
                c => *ids.entry(c).or_insert_with(|| {
                    strong.push(is_strong(c));
                    strong.len() - 1
                }),
            })
            .collect();
        Classes { of, strong }
    }
}

/// One step of the Streett refinement on a strongly connected set `s` (sorted, marked in
/// `in_set`), reading each state's edges once (twice for states when a strongly fair class
/// lacks an inside edge).
fn analyse(g: &Graph, k: &Classes, s: &[u32], in_set: &FixedBitSet, d: &mut Decoder) -> Verdict {
    if s.len() == 1 && !g.decode(s[0], d).0.contains(&s[0]) {
        return Verdict::Dead;
    }
    let m = k.strong.len();
    // Per class: states of `s` enabling it, whether an edge of it stays inside, and the last
    // state that counted it (a state with several edges of a class counts once).
    let (mut count, mut internal, mut last) = (vec![0usize; m], vec![false; m], vec![usize::MAX; m]);
    for (x, &v) in s.iter().enumerate() {
        let (to, codes) = g.decode(v, d);
        for (&t, &code) in to.iter().zip(codes) {
            let c = k.of[code as usize];
            if c == NONE {
                continue;
            }
            if last[c] != x {
                last[c] = x;
                count[c] += 1;
            }
            internal[c] |= in_set[t as usize];
        }
    }
    if (0..m).any(|c| !k.strong[c] && count[c] == s.len() && !internal[c]) {
        return Verdict::Dead;
    }
    let missing: Vec<bool> = (0..m).map(|c| k.strong[c] && count[c] > 0 && !internal[c]).collect();
    if !missing.contains(&true) {
        return Verdict::Fair;
    }
    let missing_code = |code: &u32| k.of[*code as usize] != NONE && missing[k.of[*code as usize]];
    Verdict::Remove(s.iter().copied().filter(|&v| !g.decode(v, d).1.iter().any(missing_code)).collect())
}

/// A short fair cycle from `entry` back to `entry` inside the fair set `s`, built from the
/// fairness constraints alone: starting from the empty walk at `entry`, while some constraint
/// is not met, the shortest detour (from a state of the walk, back to the same state) that
/// meets one is spliced in there. A step that no constraint asks for is never added, so the
/// cycle holds no unrelated syscalls, calls or admin commands.
///
/// The constraints a closed walk must meet to be a fair run (and no more): a strongly fair
/// class enabled in one of its states has an edge on it; a weakly fair class enabled in all
/// of its states has an edge on it. A class never enabled on the walk (a function the task
/// never enters on it) asks for nothing. Why a detour always exists: `s` passed [`analyse`]:
/// every strongly fair class enabled in `s` has an edge inside, and every weakly fair class
/// enabled in every state of `s` has one too (else some state of `s` does not enable it).
/// Why it ends: a detour only adds states and edges, so a constraint met stays met, and each
/// round meets one more class. Why the result is not empty: `entry` is not quiescent (the
/// lasso's path stops at the first quiescent state), so some fair class is enabled there.
fn fair_cycle(g: &Graph, s: &[u32], entry: u32, in_set: &mut FixedBitSet) -> Vec<Edge> {
    for &v in s {
        in_set.insert(v as usize);
    }
    let mut cycle: Vec<Edge> = Vec::new();
    loop {
        let states: Vec<u32> = if cycle.is_empty() { vec![entry] } else { cycle.iter().map(|e| e.from).collect() };
        let pending = unmet(g, &states, &cycle);
        if pending.is_empty() {
            break;
        }
        let (origin, detour) = pending
            .iter()
            .map(|&c| detour(g, &states, c, in_set))
            .min_by_key(|(_, p)| p.len())
            .expect("pending is not empty");
        let at = states.iter().position(|&v| v == origin).expect("a detour starts on the walk");
        cycle.splice(at..at, detour);
    }
    if cycle.is_empty() {
        cycle = shortest_cycle(g, entry, in_set);
    }
    for &v in s {
        in_set.set(v as usize, false);
    }
    cycle
}

/// The shortest walk (found by one BFS from all of `states` at once, then one back) from a
/// state of the walk to where class `c` is met and back to the same state: through an edge of
/// `c` inside the marked set or, for a weak class, a state where `c` is not enabled. Returns
/// the state it leaves from and its edges.
fn detour(g: &Graph, states: &[u32], c: u16, in_set: &FixedBitSet) -> (u32, Vec<Edge>) {
    let weak_off = |v: u32| !is_strong(c) && !g.edges(v).any(|e| e.class == c);
    let edge_of_c = |v: u32| g.edges(v).find(|e| e.class == c && in_set[e.to as usize]);
    let goal = |v: u32| weak_off(v) || edge_of_c(v).is_some();
    // Multi-source BFS: parent edge per reached state; sources have none.
    let mut parent: HashMap<u32, Option<Edge>> = HashMap::new();
    let mut queue = VecDeque::new();
    for &v in states {
        if parent.insert(v, None).is_none() {
            queue.push_back(v);
        }
    }
    let mut end = None;
    while let Some(v) = queue.pop_front() {
        if goal(v) {
            end = Some(v);
            break;
        }
        for e in g.edges(v) {
            let w = e.to;
            if in_set[w as usize] && !parent.contains_key(&w) {
                parent.insert(w, Some(e));
                queue.push_back(w);
            }
        }
    }
    let end = end.expect("a detour meets the constraint (see fair_cycle)");
    let mut path = Vec::new();
    let mut x = end;
    while let Some(e) = parent[&x] {
        path.push(e);
        x = e.from;
    }
    path.reverse();
    let origin = x;
    let mut at = end;
    if !weak_off(end) {
        let e = edge_of_c(end).expect("goal state");
        path.push(e);
        at = e.to;
    }
    path.extend(bfs_inside(g, at, in_set, |w| w == origin));
    (origin, path)
}

/// A shortest cycle through `entry` inside the marked set (BFS from `entry` until an edge
/// leads back to it).
fn shortest_cycle(g: &Graph, entry: u32, in_set: &FixedBitSet) -> Vec<Edge> {
    let mut parent: HashMap<u32, Edge> = HashMap::new();
    let mut queue = VecDeque::from([entry]);
    while let Some(v) = queue.pop_front() {
        for k in g.edges(v) {
            let w = k.to;
            if w == entry {
                let mut path = vec![k];
                let mut x = v;
                while x != entry {
                    let e = parent[&x];
                    path.push(e);
                    x = e.from;
                }
                path.reverse();
                return path;
            }
            if in_set[w as usize] && !parent.contains_key(&w) {
                parent.insert(w, k);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a state of a non-trivial strongly connected set lies on a cycle inside it")
}

/// The fairness classes (in class order) that the closed walk through `states` taking the
/// edges `taken` does not satisfy: strongly fair and enabled in one of its states, or weakly
/// fair and enabled in all of them, with no edge on the walk.
fn unmet(g: &Graph, states: &[u32], taken: &[Edge]) -> Vec<u16> {
    let taken: HashSet<u16> = taken.iter().map(|e| e.class).collect();
    let mut some: std::collections::BTreeSet<u16> = Default::default();
    let mut all: Option<HashSet<u16>> = None;
    for &v in states {
        let en = enabled(g, v);
        some.extend(en.iter().copied());
        all = Some(match all {
            None => en,
            Some(a) => a.intersection(&en).copied().collect(),
        });
    }
    let all = all.unwrap_or_default();
    some.into_iter().filter(|&c| !taken.contains(&c) && (is_strong(c) || all.contains(&c))).collect()
}

/// Shortest path (edges) inside the marked set from `from` to the first state with `goal`
/// (empty if `from` has it).
fn bfs_inside(g: &Graph, from: u32, in_set: &FixedBitSet, goal: impl Fn(u32) -> bool) -> Vec<Edge> {
    shortest_path(g, from, |w| in_set[w as usize], goal).expect("goal not reachable inside a strongly connected set")
}

/// Shortest path (edges) from `from` through states with `pass` to the first state with `goal`
/// in BFS order (empty if `from` has it); `None` if no such state is reachable.
fn shortest_path(g: &Graph, from: u32, pass: impl Fn(u32) -> bool, goal: impl Fn(u32) -> bool) -> Option<Vec<Edge>> {
    if goal(from) {
        return Some(Vec::new());
    }
    let mut parent: HashMap<u32, Edge> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for k in g.edges(v) {
            let w = k.to;
            if !pass(w) || w == from || parent.contains_key(&w) {
                continue;
            }
            parent.insert(w, k);
            if goal(w) {
                let mut path = vec![k];
                let mut x = v;
                while x != from {
                    let e = parent[&x];
                    path.push(e);
                    x = e.from;
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(w);
        }
    }
    None
}

/// The note of a possibility violation (also given by the distributed check, `dist/live.rs`).
pub(crate) const POSSIBILITY_NOTE: &str = "from the last state no path of allowed steps reaches the goal";

/// The note of a deadlock (also given by the distributed check, `dist/live.rs`).
pub(crate) const DEADLOCK_NOTE: &str = "no step is enabled in the last state, and it is not a normal end";

/// Checks possibility properties `props`, which allow the same edges (those with `bit` set in
/// their allowed bits: their bits agree on every palette code, [`same_edges`]), in one pass. Only states reachable from a `P` state through allowed edges matter, so the DFS
/// starts from the states where some property's `P` holds; with none, they hold without a
/// pass. Why one pass for several: the components of the allowed subgraph are the same for
/// each of them (the subgraph is), and a component's "reaches `Q`" is one bit per property;
/// each property's finding is the one its own pass gives (the first `P` state, in index order,
/// whose component reaches no `Q` state).
pub(crate) fn possibility(g: &Graph, props: &[usize], bit: u8, mem: &PassMemory) -> Vec<Option<Finding>> {
    let n = g.len();
    let roots = || (0..n as u32).filter(|&v| props.iter().any(|&i| g.p(i, v)));
    if roots().next().is_none() {
        return props.iter().map(|_| None).collect();
    }
    let mut scc = Scc::default();
    let mut rindex = vec![0u32; n];
    // Per property, per component ordinal: some allowed path from it reaches a Q state.
    let mut reach = vec![FixedBitSet::with_capacity(n); props.len()];
    // Per property, per state: an allowed successor is in such a component, emitted before
    // its own.
    let mut reaches = vec![FixedBitSet::with_capacity(n); props.len()];
    let allowed: Vec<bool> = (0..g.codes() as u32).map(|c| g.class(c).1 & bit != 0).collect();
    let mut d = Decoder::for_dfs();
    scc.run(
        &mut rindex,
        &Whole,
        roots(),
        |_| true,
        |v, out| {
            let (to, codes) = g.decode(v, &mut d);
            out.extend(to.iter().zip(codes).filter(|&(_, &c)| allowed[c as usize]).map(|(&t, _)| t));
        },
        |ev| match ev {
            Event::Cross(v, id) => {
                for (k, r) in reach.iter().enumerate() {
                    if r[ordinal(n, id)] {
                        reaches[k].insert(v as usize);
                    }
                }
            }
            Event::Component(c, id) => {
                for (k, &i) in props.iter().enumerate() {
                    if c.iter().any(|&v| g.q(i, v) || reaches[k][v as usize]) {
                        reach[k].insert(ordinal(n, id));
                    }
                }
            }
        },
    );
    mem.sample(n * 4 + 2 * props.len() * n.div_ceil(8) + scc.peak_bytes);
    props
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let state = (0..n as u32).find(|&v| g.p(i, v) && !reach[k][ordinal(n, rindex[v as usize])])?;
            let note = POSSIBILITY_NOTE.to_string();
            Some(Finding { state, edges: Vec::new(), targets: Vec::new(), cycle_start: None, note })
        })
        .collect()
}

/// Whether the possibility properties whose allowed bits are `a` and `b` allow the same edges
/// of the graph (then one pass checks both: [`possibility`]).
pub(crate) fn same_edges(g: &Graph, a: u8, b: u8) -> bool {
    (0..g.codes() as u32).all(|c| (g.class(c).1 & a != 0) == (g.class(c).1 & b != 0))
}

/// The first state (BFS order, so its path is a shortest one) with no out-edge whose `P` bit
/// (the property's `end` predicate) is clear: read off the flags the graph keeps per state
/// ([`Graph::dead_end`]), no decoding.
pub(crate) fn deadlock(g: &Graph, i: usize) -> Option<Finding> {
    let first = (0..g.len() as u32).find(|&v| g.dead_end(v) && !g.p(i, v));
    first.map(|v| Finding {
        state: v,
        edges: Vec::new(),
        targets: Vec::new(),
        cycle_start: None,
        note: DEADLOCK_NOTE.to_string(),
    })
}
