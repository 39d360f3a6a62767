//! The reduced model's steps of the transition work ([`crate::KlpSystem::with_free_pass_order`]):
//! the pass of `klp_try_complete_transition()` picks its next copy when it tries one.
//!
//! In a group, the unreduced model's pass tries the copy in slot `pass.next`, and
//! `advance_pass()` then moves past the copies already at the target that follow it in slot
//! order. In the reduced model the order of the unvisited copies is not fixed in advance: a
//! step that moves the cursor into or inside a group is also taken on the renamings of the
//! unvisited copies that make another choice, and only those (one renaming per distinct
//! result, the copies compared by value):
//! * which copy the try tries: each distinct unvisited copy, swapped into slot `pass.next`
//!   (one at the target too: its try returns at once, as the unreduced model's does for a copy
//!   that reached the target after the cursor stopped at it);
//! * which of the unvisited copies at the target the advance after it skips, when it stops in
//!   a group: any sub-multiset of them (put first, followed by a copy it stops at).
//!
//! Every renaming taken is one of the unvisited copies only, so a path of this model visits
//! the copies in one order, chosen copy by copy: the same paths as choosing that order when
//! the pass begins (the order of a copy matters only when the pass reaches it).

use super::Groups;
use crate::kernel::livepatch::transition::{pass_action, skipped_by_pass};
use crate::log::NoLog;
use crate::{Action, KlpSystem, State};

/// Appends the reduced model's renamed steps of `st` to `out`: `globals` are the unreduced
/// model's steps of the kernel's own work in `st` (admin commands, loader, transition work,
/// which come first among its steps, so that index `i` of `globals` is step `i`).
pub(crate) fn renamed_steps(sys: &KlpSystem, groups: &Groups, st: &State, globals: &[Action], out: &mut Vec<Action>) {
    let n = st.tasks.len();
    for (index, &a) in globals.iter().enumerate() {
        // Only the pass's own step moves its cursor (it holds klp_mutex); outside a pass, any
        // step of the kernel's work may begin one.
        let tries: Vec<usize> = match st.pass {
            Some(q) if a != pass_action(&sys.spec, st, q) => continue,
            Some(q) => match groups.group_of(q.next as usize) {
                Some(g) if q.half.is_none() && a == Action::KlpTrySwitchTask(q.next) => {
                    distinct(st, q.next as usize..g.end)
                }
                _ => vec![q.next as usize],
            },
            None => vec![0],
        };
        let cursor = st.pass.map(|q| q.next as usize);
        for j in tries {
            let mut slot: Vec<usize> = (0..n).collect();
            if let Some(c) = cursor {
                slot.swap(c, j);
            }
            let swapped = cursor.is_some_and(|c| c != j);
            let renamed;
            let r = if swapped {
                renamed = groups.rename_slots(st, &slot);
                &renamed
            } else {
                st
            };
            let Some(after) = sys.step(r, a, &mut NoLog) else { continue };
            let choices = skip_choices(groups, st, &after);
            if swapped {
                out.push(Action::Renamed { renaming: groups.number(&slot) as u64, index: index as u16 });
            }
            let Some((lo, choices)) = choices else { continue };
            for (arr, this_one) in choices {
                if this_one {
                    continue; // the step above
                }
                let mut each = slot.clone();
                for (i, &s) in arr.iter().enumerate() {
                    each[lo + i] = slot[s];
                }
                out.push(Action::Renamed { renaming: groups.number(&each) as u64, index: index as u16 });
            }
        }
    }
}

/// The first slot of each distinct task in `slots`.
fn distinct(st: &State, slots: std::ops::Range<usize>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for s in slots {
        if !out.iter().any(|&o| st.tasks[o] == st.tasks[s]) {
            out.push(s);
        }
    }
    out
}

/// An arrangement of a group's slots from the first one the advance examined, and whether it
/// is the one the step took ([`skip_choices`]).
type Arrangement = (Vec<usize>, bool);

/// Where the step from `before` to `after` left the pass cursor, if in a group after
/// `advance_pass()` moved it there: the first slot it examined in that group (`lo`), and for
/// each sub-multiset of that group's copies it could have skipped (those from `lo` on at the
/// target), an arrangement of slots `lo..group end` that makes it skip exactly those (them
/// first, then the copies not at the target, then the others), with whether it is the one
/// `after` skipped. `None` when there is no such choice.
fn skip_choices(groups: &Groups, before: &State, after: &State) -> Option<(usize, Vec<Arrangement>)> {
    let p = after.pass?;
    if p.half.is_some() {
        return None;
    }
    let begin = match before.pass {
        None => 0,
        Some(q) if p.next > q.next => q.next as usize + 1,
        Some(_) => return None,
    };
    let at = p.next as usize;
    let g = groups.group_of(at)?;
    let lo = begin.max(g.start);
    // Kinds of skippable copies: a task value and its slots.
    let mut kinds: Vec<Vec<usize>> = Vec::new();
    let mut stops = Vec::new();
    for s in lo..g.end {
        if !skipped_by_pass(after, s) {
            stops.push(s);
        } else if let Some(k) = kinds.iter_mut().find(|k| after.tasks[k[0]] == after.tasks[s]) {
            k.push(s);
        } else {
            kinds.push(vec![s]);
        }
    }
    if kinds.is_empty() {
        return None;
    }
    let this: Vec<usize> = kinds.iter().map(|k| k.iter().filter(|&&s| s < at).count()).collect();
    let mut count = vec![0usize; kinds.len()];
    let mut out = Vec::new();
    loop {
        let mut arr: Vec<usize> = Vec::with_capacity(g.end - lo);
        for (k, &c) in kinds.iter().zip(&count) {
            arr.extend_from_slice(&k[..c]);
        }
        arr.extend_from_slice(&stops);
        for (k, &c) in kinds.iter().zip(&count) {
            arr.extend_from_slice(&k[c..]);
        }
        out.push((arr, count == this));
        // The next count vector (mixed radix, kind i up to its number of slots).
        let mut i = 0;
        while i < kinds.len() && count[i] == kinds[i].len() {
            count[i] = 0;
            i += 1;
        }
        if i == kinds.len() {
            break;
        }
        count[i] += 1;
    }
    Some((lo, out))
}

#[cfg(test)]
mod tests {
    use super::super::tests::system;
    use crate::state::Pass;
    use crate::symmetry::Groups;
    use crate::task::{Context, PatchState};
    use crate::{Action, KlpSystem, State};

    /// `sys`'s initial state in the patching transition of patch 0, every task still
    /// unpatched and pending.
    fn patching(sys: &KlpSystem) -> State {
        let mut st = sys.init_state();
        st.klp_transition_patch = Some(0);
        st.klp_target_state = PatchState::Patched;
        for t in &mut st.tasks {
            t.patch_state = PatchState::Unpatched;
            t.tif_patch_pending = true;
        }
        st
    }

    /// The pass's try in a group: one step per distinct unvisited copy (the one in slot
    /// `next` plain, the others renamed), each the try of that copy.
    #[test]
    fn the_try_is_offered_on_every_distinct_unvisited_copy() {
        use stateright::Model;
        let sys = system();
        let g = Groups::of(&sys.spec);
        let reduced = sys.clone().with_free_pass_order(g.clone());
        let mut st = patching(&sys);
        // a-0 visited; a-1 runs (its try fails), a-2 is in user mode.
        st.pass = Some(Pass { next: 1, complete: true, half: None });
        st.tasks[1].context = Context::Running;
        let mut acts = Vec::new();
        reduced.actions(&st, &mut acts);
        let mut tried = Vec::new();
        for &a in &acts {
            let (r, inner) = match a {
                Action::KlpTrySwitchTask(_) => (st.clone(), a),
                Action::Renamed { .. } => reduced.resolve_renamed(&st, a).unwrap(),
                _ => continue,
            };
            assert_eq!(inner, Action::KlpTrySwitchTask(1), "{a:?}");
            let n = reduced.next_state(&st, a).unwrap();
            assert_eq!(n.pass.unwrap().next, 2, "{a:?}");
            // The copy tried, and whether the try switched it (the running one cannot be).
            tried.push((r.tasks[1].context, n.tasks[1].patch_state));
        }
        assert_eq!(tried, [(Context::Running, PatchState::Unpatched), (Context::User, PatchState::Patched)]);
    }

    /// After the try, the advance may skip any sub-multiset of the unvisited copies at the
    /// target (the unreduced model skips those that follow the tried copy in slot order).
    #[test]
    fn the_advance_is_offered_every_choice_of_copies_to_skip() {
        use stateright::Model;
        let sys = system();
        let reduced = sys.clone().with_free_pass_order(Groups::of(&sys.spec));
        let mut st = patching(&sys);
        for t in &mut st.tasks {
            t.context = Context::User;
        }
        // a-1 is at the target already.
        st.tasks[1].patch_state = PatchState::Patched;
        st.tasks[1].tif_patch_pending = false;
        st.pass = Some(Pass { next: 0, complete: true, half: None });
        let mut acts = Vec::new();
        reduced.actions(&st, &mut acts);
        let mut got: Vec<(bool, u8)> = acts
            .iter()
            .filter(|a| matches!(a, Action::KlpTrySwitchTask(_) | Action::Renamed { .. }))
            .map(|&a| {
                let tried_at_target = reduced.resolve_renamed(&st, a).is_some_and(|(r, _)| r.tasks[0] == st.tasks[1]);
                (tried_at_target, reduced.next_state(&st, a).unwrap().pass.unwrap().next)
            })
            .collect();
        got.sort();
        // Try a-0 (a-2 alike): then skip a-1 or not; try a-1: nothing to skip (a-0, a-2 pending).
        assert_eq!(got, [(false, 1), (false, 2), (true, 1)]);
    }
}
