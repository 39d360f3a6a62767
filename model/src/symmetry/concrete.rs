//! From a trace of the reduced model back to one of the real (unreduced) model.
//!
//! A trace of the reduced model (`KlpSystem::with_free_pass_order`) may take the steps of a
//! pass of `klp_try_complete_transition()` on renamed states ([`crate::Action::Renamed`]):
//! passes that visit the identical tasks in another order than the task list. Such a trace is
//! real only if the unreduced model, which always visits the copies in slot order, can follow
//! it up to a renaming. [`concretise`] looks for such a path: a breadth-first search along the
//! trace, where step `i` may be any step of the unreduced model that lands in the orbit of the
//! trace's state `i + 1` (the orbit under every renaming of the copies, [`Groups::orbit_key`]).
//! An orbit has at most `Groups::order()` states, so the search keeps at most that many states
//! per step.
//!
//! What it returns is a trace of the unreduced model, with its concrete task names, as long as
//! the reduced one; `None` when there is none along these orbits (the reduced trace used a
//! visiting order that the fixed task list cannot produce after that history).

use super::Groups;
use crate::{Action, KlpSystem, State};
use stateright::Model;

/// A path of `base` (the unreduced model) whose `i`-th state is in the orbit of `states[i]`,
/// ending in a state `last_ok` accepts: its actions and states.
pub fn concretise(
    base: &KlpSystem,
    groups: &Groups,
    states: &[State],
    last_ok: impl Fn(&State) -> bool,
) -> Option<(Vec<Action>, Vec<State>)> {
    debug_assert!(base.free_pass_order().is_none(), "concretise on the unreduced model");
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
