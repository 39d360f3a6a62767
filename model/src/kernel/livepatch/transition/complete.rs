//! Completing a transition (transition.c `klp_complete_transition()`, `klp_cancel_transition()`).
//! Upstream `klp_complete_transition()` is one model step. Where a design variant drops one of
//! its `klp_synchronize_transition()` calls (`synchronize_transition`, or handlers split by
//! `barriers = "no_handler_rmb"`), it is split at those calls into [`Completing`] parts, one
//! model step each, so that handlers in flight can straddle them.

use super::{free_unused_patches, immediate, klp_synchronize_transition, transition_patch};
use crate::kernel::livepatch::core::klp_free_patch_start;
use crate::kernel::livepatch::core::replace::post_unpatch_replaced;
use crate::kernel::livepatch::core_h::{klp_is_object_loaded, klp_post_patch_callback, klp_post_unpatch_callback};
use crate::kernel::livepatch::patch::klp_unpatch_objects;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{Completing, Event, LogOnly, Site, State, Warn};
use crate::task::{Context, PatchState};
use crate::variant::{FreeReplaced, ReenableDisabled, SynchronizeTransition};

/// Whether every live task is at `target` (what a complete pass established).
fn all_tasks_at(st: &State, target: PatchState) -> bool {
    st.tasks.iter().all(|t| t.context == Context::Unborn || t.patch_state == target)
}

/// `klp_complete_transition()`.
/// Atomic because: `klp_mutex`; handlers in flight are waited for by
/// `klp_synchronize_transition()` after unpatching and after clearing `transition`,
/// so no task can see an intermediate func_stack / transition / patch_state combination whose
/// dispatch differs from the states before and after.
pub(super) fn klp_complete_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    complete_begin(spec, st, log);
    complete_clear_transition(spec, st);
    complete_finish(spec, st, log);
}

/// `klp_complete_transition()` up to its first `klp_synchronize_transition()`: the replace
/// bookkeeping (`klp_unpatch_replaced_patches()`, `klp_discard_nops()`) and, unpatching,
/// `klp_unpatch_objects()`.
fn complete_begin(spec: &Spec, st: &mut State, log: &mut impl Log) {
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
    if spec.patches[p as usize].replace && target == PatchState::Patched && !spec.mutated(Mutation::KeepNops) {
        // klp_unpatch_replaced_patches(): the patches before this one on klp_patches.
        for q in st.klp_patches.clone() {
            if q == p {
                break;
            }
            st.patches[q as usize].enabled = false;
            klp_unpatch_objects(spec, st, q, false);
            // v5.1..v5.4 klp_discard_replaced_patches(): freed here, before the post_patch
            // callbacks below (upstream: klp_free_replaced_patches_async() after this function).
            if spec.variant.free_replaced == FreeReplaced::BeforePostPatch
                && spec.variant.reenable_disabled == ReenableDisabled::No
            {
                klp_free_patch_start(spec, st, q);
            }
        }
        // klp_discard_nops(): unpatch and free the dynamic funcs and objects.
        klp_unpatch_objects(spec, st, p, true);
        for &o in &spec.patches[p as usize].objs {
            for &k in &spec.objs[o as usize].funcs {
                if spec.klp_funcs[k as usize].nop {
                    st.funcs[k as usize] = Default::default();
                }
            }
            if spec.objs[o as usize].dynamic {
                st.objs[o as usize] = Default::default();
                st.cb_setup[o as usize] = Default::default();
            }
        }
    }
    if target == PatchState::Unpatched {
        klp_unpatch_objects(spec, st, p, false);
    }
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
        Completing::ClearTransition => unpatching && drop != SynchronizeTransition::DropInCompleteUnpatching,
        Completing::Finish => !unpatching && drop != SynchronizeTransition::DropInCompletePatching,
    }
}

/// One part of a split `klp_complete_transition()` (the transition work holds `klp_mutex`
/// throughout); the last part also frees what `klp_try_complete_transition()` frees.
/// Atomic because: `klp_mutex`; each part ends where the kernel calls
/// `klp_synchronize_transition()` (or would have, for the dropped call).
pub fn klp_complete_transition_part(spec: &Spec, st: &mut State, log: &mut impl Log) {
    match st.completing {
        Some(Completing::Begin) => {
            complete_begin(spec, st, log);
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
