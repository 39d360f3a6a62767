//! The second way [`super::concretise`] confirms a discovery: a breadth-first search of the
//! unreduced model, free to leave the reduced trace's orbits, for any state in the orbit of
//! the trace's last state.
//!
//! Why it is needed. When the reduced search expands its orbits' representatives
//! (`KlpSystem::with_canonical_successors`, the default), the first path it finds to an orbit
//! may be one only the reduced model has: a pass visiting the copies in an order the task list
//! cannot produce after that history. Every orbit it reaches the unreduced model reaches too
//! (tests/symmetry.rs measures it on every pinned scenario), but along other orbits, so the
//! orbit-by-orbit search cannot follow such a trace (selftest-syscall-01 under no-stack-check:
//! `no_freed_livepatch_code`). What a discovery claims is a property of its last orbit only:
//! the safety properties, `P`, `Q` and the allowed steps of the liveness properties read the
//! tasks as a set, so any concrete state of that orbit that `last_ok` accepts is as good.
//!
//! Why breadth-first from the initial states: the path found is a shortest path of the
//! unreduced model to that orbit, the trace an unreduced run would report (it replays, task
//! names concrete). Its cost is the unreduced model's up to the violation's depth, so it is
//! bounded ([`REACH_STATES`]); past the bound it gives up (`None`: the property is reported
//! incomplete, and `check`'s default reruns the scenario unreduced), never a wrong verdict.
//! States are kept packed (crate::pack, about 40 bytes each) and deduplicated by a 64-bit hash
//! of their identifying bytes: a collision can only drop a state (a path not found), and the
//! path returned is re-executed step by step, so it is always a real one.

use crate::{pack, Action, KlpSystem, State};
use stateright::Model;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// States the search may store: what the lasso lift's wider search allows (src/lasso.rs), about
/// 150 MB here.
pub const REACH_STATES: usize = 2_000_000;

/// A shortest path of `base` from an initial state to a state whose orbit key is `goal` and
/// that `last_ok` accepts, storing at most `limit` states: its actions and states.
pub fn reach(
    base: &KlpSystem,
    groups: &super::Groups,
    goal: &State,
    last_ok: impl Fn(&State) -> bool,
    limit: usize,
) -> Option<(Vec<Action>, Vec<State>)> {
    let found = |s: &State| groups.orbit_key(s) == *goal && last_ok(s);
    let mut st = Stored { base, limit, seen: HashSet::new(), nodes: Vec::new(), bytes: Vec::new() };
    for (i, s) in base.init_states().iter().enumerate() {
        if st.add(s, i as u32, None) && found(s) {
            return Some(st.path(st.nodes.len() - 1));
        }
    }
    let mut acts = Vec::new();
    let mut next = 0;
    while next < st.nodes.len() {
        let s = pack::decode(base, &mut &st.bytes[st.nodes[next].2..]);
        acts.clear();
        base.actions(&s, &mut acts);
        for &a in &acts {
            let Some(n) = base.next_state(&s, a) else { continue };
            if base.within_boundary(&n) && st.add(&n, next as u32, Some(a)) && found(&n) {
                return Some(st.path(st.nodes.len() - 1));
            }
        }
        next += 1;
    }
    None
}

/// The states stored so far.
struct Stored<'a> {
    base: &'a KlpSystem,
    limit: usize,
    /// Hashes of the identifying bytes of every stored state.
    seen: HashSet<u64>,
    /// Per stored state: its parent's index (for an initial state, its index in
    /// `init_states()`), the action from it (`None` for an initial state), and where its packed
    /// bytes start in `bytes`.
    nodes: Vec<(u32, Option<Action>, usize)>,
    bytes: Vec<u8>,
}

impl Stored<'_> {
    /// Stores `s` unless it is stored already or the limit is reached; whether it was.
    fn add(&mut self, s: &State, parent: u32, a: Option<Action>) -> bool {
        let start = self.bytes.len();
        let id = pack::encode(self.base, s, &mut self.bytes);
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&self.bytes[start..start + id]);
        if self.nodes.len() >= self.limit || !self.seen.insert(hash) {
            self.bytes.truncate(start);
            return false;
        }
        self.nodes.push((parent, a, start));
        true
    }

    /// The path to node `at`, re-executed from its initial state.
    fn path(&self, mut at: usize) -> (Vec<Action>, Vec<State>) {
        let mut actions = Vec::new();
        while let (parent, Some(a), _) = self.nodes[at] {
            actions.push(a);
            at = parent as usize;
        }
        actions.reverse();
        let mut s = self.base.init_states().swap_remove(self.nodes[at].0 as usize);
        let mut states = vec![s.clone()];
        for &a in &actions {
            s = self.base.next_state(&s, a).expect("a stored step replays");
            states.push(s.clone());
        }
        (actions, states)
    }
}
