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
//!
//! Cost: this runs in `actions()` of every state of a reduced search, so it steps only the
//! one step that can move the cursor (the pass's own, or outside a pass one that calls
//! `klp_try_complete_transition()`, [`may_begin_pass`]) and allocates nothing: renamings and
//! arrangements live in arrays of `CAP_TASKS` slots on the stack.

use super::Groups;
use crate::ids::CAP_TASKS;
use crate::kernel::livepatch::transition::{pass_action, skipped_by_pass};
use crate::log::NoLog;
use crate::spec::{AdminOp, Spec};
use crate::{Action, KlpSystem, State};

/// Appends the reduced model's renamed steps of `st` to `out`: `out[globals]` are the
/// unreduced model's steps of the kernel's own work in `st` (admin commands, loader, transition
/// work, which come first among its steps, so that index `i` of that range is step `i`).
pub(crate) fn renamed_steps(
    sys: &KlpSystem,
    groups: &Groups,
    st: &State,
    globals: std::ops::Range<usize>,
    out: &mut Vec<Action>,
) {
    let n = st.tasks.len();
    let cursor = st.pass.map(|q| q.next as usize);
    // Only the pass's own step moves its cursor (it holds klp_mutex); outside a pass, only a
    // step that calls klp_try_complete_transition() begins one.
    let pass_step = st.pass.map(|q| pass_action(&sys.spec, st, q));
    for index in 0..globals.len() {
        let a = out[globals.start + index];
        match pass_step {
            Some(p) if a != p => continue,
            None if !may_begin_pass(&sys.spec, a) => continue,
            _ => {}
        }
        // The slots whose copy the step is taken on: in a group, each distinct unvisited copy
        // (the first slot of each); otherwise the step as it is.
        let tries = match st.pass {
            Some(q) => match groups.group_of(q.next as usize) {
                Some(g) if q.half.is_none() && a == Action::KlpTrySwitchTask(q.next) => q.next as usize..g.end,
                _ => q.next as usize..q.next as usize + 1,
            },
            None => 0..1,
        };
        for j in tries.clone() {
            if (tries.start..j).any(|o| st.tasks[o] == st.tasks[j]) {
                continue; // an earlier slot holds the same copy
            }
            let mut slot = [0; CAP_TASKS];
            for (i, s) in slot.iter_mut().enumerate() {
                *s = i;
            }
            let slot = &mut slot[..n];
            if let Some(c) = cursor {
                slot.swap(c, j);
            }
            let swapped = cursor.is_some_and(|c| c != j);
            let renamed;
            let r = if swapped {
                renamed = groups.rename_slots(st, slot);
                &renamed
            } else {
                st
            };
            let Some(after) = sys.step(r, a, &mut NoLog) else { continue };
            if swapped {
                out.push(Action::Renamed { renaming: groups.number(slot) as u64, index: index as u16 });
            }
            skip_choices(groups, st, &after, |lo, arr, this_one| {
                if this_one {
                    return; // the step above
                }
                let mut each = [0; CAP_TASKS];
                each[..n].copy_from_slice(slot);
                for (i, &s) in arr.iter().enumerate() {
                    each[lo + i] = slot[s];
                }
                out.push(Action::Renamed { renaming: groups.number(&each[..n]) as u64, index: index as u16 });
            });
        }
    }
}

/// Whether step `a` of the kernel's own work may begin a pass when none runs: whether it can
/// call `klp_try_complete_transition()`. It is called by `klp_transition_work_fn()`, at the
/// end of `__klp_enable_patch()` (`insmod` of a livepatch, `echo 1 > enabled`) and of
/// `__klp_disable_patch()` (`echo 0 > enabled`, or the rest of a split one); no other step
/// calls it (kernel/livepatch/core.c, transition.c; the test below checks it on the shipped
/// scenarios). Every action is named, so that a new one does not compile until it says.
fn may_begin_pass(spec: &Spec, a: Action) -> bool {
    match a {
        Action::Admin(i) => match spec.admin.ops.get(i as usize).map(|o| o.op) {
            Some(AdminOp::InsmodPatch(_) | AdminOp::Enable(_) | AdminOp::Disable(_)) => true,
            // klp_force_transition() and the unload of a livepatch call no pass either, but
            // they are rare and stepping them costs only time: kept on the safe side.
            Some(AdminOp::Force(_) | AdminOp::RmmodPatch(_)) | None => true,
            Some(
                AdminOp::InsmodModule(_)
                | AdminOp::RmmodModule(_)
                | AdminOp::CpuUp(_)
                | AdminOp::CpuDown(_)
                | AdminOp::CheckSysfsValue(..)
                | AdminOp::CheckSysfsRights(..)
                | AdminOp::SetFtraceEnabled { .. }
                | AdminOp::SetPrePatchRet(..)
                | AdminOp::ReadProc(..),
            ) => false,
        },
        Action::KlpTransitionWork | Action::KlpDisablePatchContinue | Action::Renamed { .. } => true,
        Action::KlpModuleComing(_)
        | Action::ModuleInit(_)
        | Action::ModuleExit(_)
        | Action::KlpModuleGoing(_)
        | Action::ModuleFree(_)
        | Action::KlpFreePatchWork(_)
        | Action::KlpSendSignals
        | Action::KlpCompleteTransitionPart
        | Action::KlpReverseTransitionContinue
        | Action::StoresVisible => false,
        // A task's step (never among the kernel's own work) and the pass's own steps, which
        // run only inside a pass.
        Action::KlpTrySwitchTask(_)
        | Action::KlpIdleCpuOffline(_)
        | Action::KlpSwitchOfflineIdle(_)
        | Action::KlpSwitchTaskStore(_)
        | Action::Syscall(..)
        | Action::Call(..)
        | Action::Return(_)
        | Action::Schedule(_)
        | Action::Wake(_)
        | Action::ExitToUserMode(_)
        | Action::DoIdle(_)
        | Action::Fork(_)
        | Action::RetFromFork(_)
        | Action::KlpCopyProcess(_)
        | Action::KlpFtraceHandlerFinish(_)
        | Action::KlpSelfSwitchContinue(_)
        | Action::Preempt(_)
        | Action::Resume(_)
        | Action::CondResched(_)
        | Action::KlpNopLoop(_) => true,
    }
}

/// Where the step from `before` to `after` left the pass cursor, if in a group after
/// `advance_pass()` moved it there: calls `each(lo, arrangement, this_one)` for each
/// sub-multiset of that group's copies the advance could have skipped (those from `lo`, the
/// first slot it examined in that group, on at the target): an arrangement of slots
/// `lo..group end` that makes it skip exactly those (them first, then the copies not at the
/// target, then the others), and whether it is the one `after` skipped. Nothing when there is
/// no such choice.
fn skip_choices(groups: &Groups, before: &State, after: &State, mut each: impl FnMut(usize, &[usize], bool)) {
    let Some(p) = after.pass else { return };
    if p.half.is_some() {
        return;
    }
    let begin = match before.pass {
        None => 0,
        Some(q) if p.next > q.next => q.next as usize + 1,
        Some(_) => return,
    };
    let at = p.next as usize;
    let Some(g) = groups.group_of(at) else { return };
    let lo = begin.max(g.start);
    // Kinds of skippable copies (a task value), numbered in order of first slot: `kind[s]`
    // for each skippable slot; the slots the advance stops at, in order.
    let mut kind = [usize::MAX; CAP_TASKS];
    let mut first = [0usize; CAP_TASKS];
    let mut kinds = 0;
    let mut stops = [0usize; CAP_TASKS];
    let mut nstops = 0;
    for (s, ks) in kind.iter_mut().enumerate().take(g.end).skip(lo) {
        if !skipped_by_pass(after, s) {
            stops[nstops] = s;
            nstops += 1;
        } else if let Some(k) = (0..kinds).find(|&k| after.tasks[first[k]] == after.tasks[s]) {
            *ks = k;
        } else {
            first[kinds] = s;
            *ks = kinds;
            kinds += 1;
        }
    }
    if kinds == 0 {
        return;
    }
    // Per kind: its slots (in order), how many there are, and how many `after` skipped (those
    // before the cursor).
    let mut slots = [[0usize; CAP_TASKS]; CAP_TASKS];
    let mut size = [0usize; CAP_TASKS];
    let mut this = [0usize; CAP_TASKS];
    for (s, &k) in kind.iter().enumerate().take(g.end).skip(lo) {
        if k != usize::MAX {
            slots[k][size[k]] = s;
            size[k] += 1;
            this[k] += usize::from(s < at);
        }
    }
    let mut count = [0usize; CAP_TASKS];
    let mut arr = [0usize; CAP_TASKS];
    loop {
        let mut len = 0;
        for (k, &c) in slots.iter().zip(&count).take(kinds) {
            arr[len..len + c].copy_from_slice(&k[..c]);
            len += c;
        }
        arr[len..len + nstops].copy_from_slice(&stops[..nstops]);
        len += nstops;
        for ((k, &c), &z) in slots.iter().zip(&count).zip(&size).take(kinds) {
            arr[len..len + z - c].copy_from_slice(&k[c..z]);
            len += z - c;
        }
        each(lo, &arr[..len], count[..kinds] == this[..kinds]);
        // The next count vector (mixed radix, kind k up to its number of slots).
        let mut k = 0;
        while k < kinds && count[k] == size[k] {
            count[k] = 0;
            k += 1;
        }
        if k == kinds {
            break;
        }
        count[k] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::system;
    use super::pass_action;
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

    /// Every shipped scenario and bench file (its own variant), and the default scenario under
    /// every variant preset (the presets reorder the steps around a pass).
    fn shipped_specs() -> Vec<crate::spec::Spec> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut specs = Vec::new();
        for dir in ["scenarios", "bench"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = e.unwrap().path();
                if path.extension().is_some_and(|x| x == "toml") {
                    specs.push(crate::scenario::load(&path).unwrap());
                }
            }
        }
        for e in std::fs::read_dir(root.join("variants")).unwrap() {
            let sc = crate::scenario::read(&root.join("scenarios/default.toml")).unwrap();
            let mut v = sc.variant.clone();
            crate::preset::load(&e.unwrap().path()).unwrap().apply(&mut v);
            specs.push(sc.build(v).unwrap());
        }
        specs
    }

    /// Calls `f` on the first `limit` states of `sys`'s unreduced state space, breadth first.
    fn first_states(sys: &KlpSystem, limit: usize, mut f: impl FnMut(&State)) {
        use stateright::Model;
        let mut seen = std::collections::HashSet::new();
        let mut queue = std::collections::VecDeque::from([sys.init_state()]);
        let mut acts = Vec::new();
        while let Some(st) = queue.pop_front() {
            if seen.len() >= limit {
                break;
            }
            if !seen.insert(st.clone()) {
                continue;
            }
            f(&st);
            acts.clear();
            sys.actions(&st, &mut acts);
            queue.extend(acts.iter().filter_map(|&a| sys.next_state(&st, a)));
        }
    }

    /// [`super::may_begin_pass`] is safe: outside a pass, no step of the kernel's own work it
    /// leaves out begins one, in the first states of every shipped scenario (its own variant)
    /// and of the default scenario under every variant preset (the presets reorder the steps
    /// that call `klp_try_complete_transition()`).
    #[test]
    fn only_the_steps_that_may_begin_a_pass_begin_one() {
        let (mut checked, mut began) = (0, 0);
        for spec in shipped_specs() {
            let name = spec.name.clone();
            let sys = KlpSystem::new(spec, Vec::new);
            let mut globals = Vec::new();
            first_states(&sys, 3000, |st| {
                globals.clear();
                sys.global_actions(st, &mut globals);
                for &a in globals.iter().filter(|_| st.pass.is_none()) {
                    let after = sys.step(st, a, &mut crate::log::NoLog);
                    if after.as_ref().is_some_and(|n| n.pass.is_some()) {
                        began += 1;
                        assert!(super::may_begin_pass(&sys.spec, a), "{name}: {a:?} began a pass");
                    }
                    checked += 1;
                }
            });
        }
        assert!(began > 1000 && checked > began, "{began} passes begun in {checked} steps");
    }

    /// The exact possibility check under symmetry (checker/src/liveness/atomic.rs) relies on
    /// this: in every state in a pass, the unreduced model offers the pass's own step
    /// (`pass_action()`) and it is enabled, so a pass never stops half way (`klp_mutex` is
    /// held from the pass's first try to its last; nothing but the pass itself can move it).
    /// Checked on the first states of every shipped scenario and variant preset.
    #[test]
    fn in_every_state_in_a_pass_its_own_step_is_enabled() {
        use stateright::Model;
        let mut in_pass = 0;
        for spec in shipped_specs() {
            let name = spec.name.clone();
            let sys = KlpSystem::new(spec, Vec::new);
            let mut acts = Vec::new();
            first_states(&sys, 3000, |st| {
                let Some(q) = st.pass else { return };
                in_pass += 1;
                let own = pass_action(&sys.spec, st, q);
                acts.clear();
                sys.actions(st, &mut acts);
                assert!(acts.contains(&own), "{name}: {own:?} not offered in {st:?}");
                assert!(sys.next_state(st, own).is_some(), "{name}: {own:?} not enabled in {st:?}");
            });
        }
        assert!(in_pass > 1000, "{in_pass} states in a pass");
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
