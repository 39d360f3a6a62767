//! From a trace of the reduced model back to one of the real (unreduced) model.
//!
//! A trace of the reduced model (`KlpSystem::with_free_pass_order`) may take the steps of a
//! pass of `klp_try_complete_transition()` on renamed states ([`crate::Action::Renamed`]):
//! passes that visit the identical tasks in another order than the task list, and, when the
//! search expands representatives (`KlpSystem::with_canonical_successors`), consecutive states
//! are one step apart only up to a renaming. Such a trace is real only if the unreduced model,
//! which always visits the copies in slot order, reaches the orbit it ends in. [`concretise`]
//! looks for such a path in two ways:
//! 1. *Along the trace's orbits*: a breadth-first search along the trace, where step `i` may be
//!    any step of the unreduced model that lands in the orbit of the trace's state `i + 1` (the
//!    orbit under every renaming of the copies, [`Groups::orbit_key`]). An orbit has at most
//!    `Groups::order()` states, so the search keeps at most that many states per step, and the
//!    path, as long as the reduced one, is a shortest one. It fails when the trace used a
//!    visiting order that the fixed task list cannot produce after that history.
//! 2. *Anywhere* (super::reach): a bounded breadth-first search of the unreduced model, free to
//!    leave those orbits, for a state of the last orbit that the caller accepts. The
//!    discovery is a property of that orbit (properties read the tasks as a set), so that path
//!    confirms it just as well; it is the unreduced model's shortest one.
//!
//! What it returns is a trace of the unreduced model, with its concrete task names, that ends
//! in the orbit of the last state; `None` when neither finds one (the orbit is reached only in
//! the reduced model, or beyond the second search's bound): the caller then reports the
//! property incomplete, never violated.

use super::Groups;
use crate::{Action, KlpSystem, State};
use stateright::Model;

/// A path of `base` (the unreduced model) from an initial state to a state in the orbit of the
/// last of `states` that `last_ok` accepts: its actions and states. Its `i`-th state is in the
/// orbit of `states[i]` when one such path exists (then it is as long as `states`), else it is
/// a shortest path of `base` to that orbit, if one is found within
/// [`super::reach::REACH_STATES`] states.
pub fn concretise(
    base: &KlpSystem,
    groups: &Groups,
    states: &[State],
    last_ok: impl Fn(&State) -> bool,
) -> Option<(Vec<Action>, Vec<State>)> {
    debug_assert!(base.free_pass_order().is_none(), "concretise on the unreduced model");
    along_orbits(base, groups, states, &last_ok).or_else(|| {
        let goal = groups.orbit_key(states.last()?);
        super::reach::reach(base, groups, &goal, &last_ok, super::reach::REACH_STATES)
    })
}

/// The first way: a path whose `i`-th state is in the orbit of `states[i]`.
pub(super) fn along_orbits(
    base: &KlpSystem,
    groups: &Groups,
    states: &[State],
    last_ok: &impl Fn(&State) -> bool,
) -> Option<(Vec<Action>, Vec<State>)> {
    let first = states.first()?;
    let key = groups.orbit_key(first);
    // Per step: (state, index of its predecessor in the previous layer, action).
    let mut layers: Vec<Vec<(State, usize, Option<Action>)>> =
        vec![base.init_states().into_iter().filter(|s| groups.orbit_key(s) == key).map(|s| (s, 0, None)).collect()];
    let mut acts = Vec::new();
    for want in &states[1..] {
        let key = groups.orbit_key(want);
        let mut next: Vec<(State, usize, Option<Action>)> = Vec::new();
        for (j, (s, ..)) in layers.last()?.iter().enumerate() {
            acts.clear();
            base.actions(s, &mut acts);
            for &a in &acts {
                let Some(n) = base.next_state(s, a) else { continue };
                if base.within_boundary(&n) && groups.orbit_key(&n) == key && !next.iter().any(|(m, ..)| *m == n) {
                    next.push((n, j, Some(a)));
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        layers.push(next);
    }
    let mut at = layers.last()?.iter().position(|(s, ..)| last_ok(s))?;
    let mut actions = Vec::new();
    let mut path = Vec::new();
    for layer in layers.iter().rev() {
        let (s, parent, a) = &layer[at];
        path.push(s.clone());
        actions.extend(*a);
        at = *parent;
    }
    actions.reverse();
    path.reverse();
    Some((actions, path))
}
