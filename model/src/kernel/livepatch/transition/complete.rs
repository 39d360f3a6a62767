//! Completing a transition (transition.c `klp_complete_transition()`, `klp_cancel_transition()`).
//! Upstream `klp_complete_transition()` is one model step. Where a design variant drops one of
//! its `klp_synchronize_transition()` calls (`synchronize_transition`, or handlers split by
//! `barriers = "no_handler_rmb"`), it is split at those calls into [`Completing`] parts, one
//! model step each, so that handlers in flight can straddle them.

use super::{free_unused_patches, immediate, klp_synchronize_transition, transition_patch};
use crate::kernel::livepatch::core::replace::{klp_discard_nops, klp_unpatch_replaced_patches, post_unpatch_replaced};
use crate::kernel::livepatch::core_h::{klp_is_object_loaded, klp_post_patch_callback, klp_post_unpatch_callback};
use crate::kernel::livepatch::patch::klp_unpatch_objects;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{Completing, Event, LogOnly, Site, State, Warn};
use crate::task::{Context, PatchState};
use crate::variant::{DiscardNops, SynchronizeTransition};

/// Whether every live task is at `target` (what a complete pass established).
fn all_tasks_at(st: &State, target: PatchState) -> bool {
    st.tasks.iter().all(|t| t.context == Context::Unborn || t.patch_state == target)
}

/// `klp_complete_transition()`.
/// Atomic because: `klp_mutex`; handlers in flight are waited for by
/// `klp_synchronize_transition()` after unpatching and after clearing `transition`,
/// so no task can see an intermediate func_stack / transition / patch_state combination whose
/// dispatch differs from the states before and after. For an atomic-replace patch, handlers do
/// run between `klp_unpatch_replaced_patches()` and `klp_discard_nops()` (no synchronize between
/// them), but they cannot tell: every task is at the target (PATCHED), and the replaced patches'
/// funcs leave from below the new patch's func or nop at the top of each func_stack, which the
/// handler picks both before and after.
pub(super) fn klp_complete_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    if complete_begin(spec, st, log) {
        complete_unpatch_replaced(spec, st);
    }
    complete_clear_transition(spec, st);
    complete_finish(spec, st, log);
}

/// Whether the transition completing is an atomic-replace patch's patching transition (the
/// replace bookkeeping runs).
fn replacing(spec: &Spec, st: &State) -> bool {
    spec.patches[transition_patch(st) as usize].replace
        && st.klp_target_state == PatchState::Patched
        && !spec.mutated(Mutation::KeepNops)
}

/// Whether this completion is split between `klp_discard_nops()` and
/// `klp_unpatch_replaced_patches()`: only where `discard_nops = "before_unpatch_replaced"` puts
/// the nops first, so that a handler can see the func_stacks without the nops and with the
/// replaced patches' funcs.
pub(super) fn discard_split(spec: &Spec, st: &State) -> bool {
    spec.variant.discard_nops == DiscardNops::BeforeUnpatchReplaced && replacing(spec, st)
}

/// `klp_complete_transition()` up to its first `klp_synchronize_transition()`: the replace
/// bookkeeping (`klp_unpatch_replaced_patches()`, `klp_discard_nops()`) and, unpatching,
/// `klp_unpatch_objects()`. Returns true when, under `discard_nops =
/// "before_unpatch_replaced"`, it stopped after `klp_discard_nops()`:
/// [`complete_unpatch_replaced`] is still to run.
fn complete_begin(spec: &Spec, st: &mut State, log: &mut impl Log) -> bool {
    let p = transition_patch(st);
    let target = st.klp_target_state;
    let pname = &spec.patches[p as usize].name;
    st.reach(Site::CompleteTransition);
    klp_synchronize_transition(st);
    // An immediate patch (v4.12..v4.15) completes with no task switched, by design: its
    // per-task transition is skipped ("goto done"), so this is no early completion.
    if !immediate(spec, st) && !all_tasks_at(st, target) {
        st.event(Event::CompleteEarly);
    }
    log.line(|| format!("livepatch: '{pname}': completing {} transition", target.word()));
    if replacing(spec, st) {
        if spec.variant.discard_nops == DiscardNops::BeforeUnpatchReplaced {
            klp_discard_nops(spec, st, p);
            return true;
        }
        klp_unpatch_replaced_patches(spec, st, p);
        klp_discard_nops(spec, st, p);
    }
    if target == PatchState::Unpatched {
        klp_unpatch_objects(spec, st, p, false);
    }
    false
}

/// `klp_unpatch_replaced_patches()` after `klp_discard_nops()` (`discard_nops =
/// "before_unpatch_replaced"`; a patching transition, so no `klp_unpatch_objects()` follows).
fn complete_unpatch_replaced(spec: &Spec, st: &mut State) {
    klp_unpatch_replaced_patches(spec, st, transition_patch(st));
}

/// `klp_complete_transition()` between its synchronize calls: every `func->transition = false`
/// (v4.12..v4.15: skipped for an immediate patch, `goto done`).
fn complete_clear_transition(spec: &Spec, st: &mut State) {
    if immediate(spec, st) {
        return;
    }
    for &o in &spec.patches[transition_patch(st) as usize].objs {
        for &k in &spec.objs[o as usize].funcs {
            st.funcs[k as usize].transition = false;
        }
    }
}

/// The rest of `klp_complete_transition()`: every task's `patch_state = IDLE` (with the
/// `WARN_ON_ONCE(TIF_PATCH_PENDING)`), the post callbacks, and the globals back to idle.
fn complete_finish(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let p = transition_patch(st);
    let target = st.klp_target_state;
    let pname = &spec.patches[p as usize].name;
    let tasks = if immediate(spec, st) { 0 } else { st.tasks.len() };
    for i in 0..tasks {
        if st.tasks[i].context == Context::Unborn {
            continue;
        }
        if st.tasks[i].tif_patch_pending {
            st.warn(Warn::CompletePending);
        }
        if !spec.mutated(Mutation::CompleteKeepsTaskPatchState) {
            st.tasks[i].patch_state = PatchState::Idle;
        }
    }
    post_unpatch_replaced(spec, st, p, target, None, log);
    for &o in &spec.patches[p as usize].objs {
        if !st.objs[o as usize].exists || !klp_is_object_loaded(spec, st, o) {
            continue;
        }
        if target == PatchState::Patched {
            post_unpatch_replaced(spec, st, p, target, Some(o), log);
            klp_post_patch_callback(spec, st, o, log);
        } else {
            klp_post_unpatch_callback(spec, st, o, log);
        }
    }
    log.line(|| format!("livepatch: '{pname}': {} complete", target.word()));
    if !spec.mutated(Mutation::CompleteKeepsTargetState) {
        st.klp_target_state = PatchState::Idle;
    }
    st.klp_transition_patch = None;
    st.klp_signals_sent = LogOnly(false); // Not read again before klp_start_transition() resets it.
}

/// Whether the next part of a split `klp_complete_transition()` must wait for handlers in
/// flight: it follows a `klp_synchronize_transition()` the variant keeps (or, for the first
/// part, one that `unregister_ftrace_function()` makes when a func_stack empties; it is taken
/// as always waiting except where the dropped call is the point being explored).
pub fn complete_waits_for_handlers(spec: &Spec, st: &State, part: Completing) -> bool {
    let unpatching = st.klp_target_state == PatchState::Unpatched;
    let drop = spec.variant.synchronize_transition;
    match part {
        Completing::Begin => !(drop == SynchronizeTransition::DropInCompleteUnpatching && unpatching),
        // Follows klp_discard_nops() with no synchronize in between (the nops it took off were
        // not the last func on their func_stacks, so no unregister_ftrace_function() either).
        Completing::UnpatchReplaced => false,
        Completing::ClearTransition => unpatching && drop != SynchronizeTransition::DropInCompleteUnpatching,
        Completing::Finish => !unpatching && drop != SynchronizeTransition::DropInCompletePatching,
    }
}

/// One part of a split `klp_complete_transition()` (the transition work holds `klp_mutex`
/// throughout); the last part also frees what `klp_try_complete_transition()` frees.
/// Atomic because: `klp_mutex`; each part ends where the kernel calls
/// `klp_synchronize_transition()` (or would have, for the dropped call), or, under
/// `discard_nops = "before_unpatch_replaced"`, between `klp_discard_nops()` and
/// `klp_unpatch_replaced_patches()`, where no lock keeps the lock-free handlers out; within a
/// part, each func leaves its func_stack with one `list_del_rcu()` and the handlers of other
/// functions cannot tell the order.
pub fn klp_complete_transition_part(spec: &Spec, st: &mut State, log: &mut impl Log) {
    match st.completing {
        Some(Completing::Begin) => {
            let replaced_left = complete_begin(spec, st, log);
            st.completing = Some(if replaced_left { Completing::UnpatchReplaced } else { Completing::ClearTransition });
        }
        Some(Completing::UnpatchReplaced) => {
            complete_unpatch_replaced(spec, st);
            st.completing = Some(Completing::ClearTransition);
        }
        Some(Completing::ClearTransition) => {
            complete_clear_transition(spec, st);
            st.completing = Some(Completing::Finish);
        }
        Some(Completing::Finish) => {
            let p = transition_patch(st);
            complete_finish(spec, st, log);
            st.completing = None;
            free_unused_patches(spec, st, p);
        }
        None => {}
    }
}

/// `klp_cancel_transition()`: the error path of `__klp_enable_patch()` before
/// `klp_start_transition()`.
pub fn klp_cancel_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::CancelTransition);
    if spec.mutated(Mutation::CancelSetsTargetFirst) {
        st.klp_target_state = PatchState::Unpatched;
    }
    if st.klp_target_state != PatchState::Patched {
        st.warn(Warn::CancelNotPatching);
    }
    let p = transition_patch(st);
    log.line(|| {
        format!("livepatch: '{}': canceling patching transition, going to unpatch", spec.patches[p as usize].name)
    });
    st.klp_target_state = PatchState::Unpatched;
    klp_complete_transition(spec, st, log);
}
