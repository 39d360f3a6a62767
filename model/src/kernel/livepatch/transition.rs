//! kernel/livepatch/transition.c: the per-task transition. Every function here runs with
//! `klp_mutex` held, except the per-task switches a task makes on itself
//! ([`klp_update_patch_state`], [`__klp_sched_try_switch`]) and [`klp_copy_process`], which
//! are lock-free or take other locks (their docs say which).
//!
//! The file is split as transition.c reads: starting and driving a transition here, switching
//! one task in `switch.rs`, the idle walk of a pass in `idle.rs`, completing (and cancelling)
//! in `complete.rs`.

mod complete;
mod idle;
mod switch;

pub use complete::{complete_waits_for_handlers, klp_cancel_transition, klp_complete_transition_part};
pub use idle::{holds_cpus_read_lock, klp_idle_cpu_offline, klp_switch_offline_idle, pass_action};
pub use switch::{
    __klp_sched_try_switch, klp_check_stack, klp_copy_process, klp_self_switch_continue, klp_try_switch_task,
    klp_try_switch_task_of_pass, klp_update_patch_state, task_curr, Caller,
};

use super::core::{klp_free_patch_async, klp_free_replaced_patches_async};
use super::patch::handler_split;
use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::program::sleep_kind;
use crate::spec::{Sleeps, Spec};
use crate::state::{Completing, LogOnly, Pass, Site, Split, State, Warn};
use crate::task::{Context, PatchState};
use crate::variant::{Barriers, Immediate, ReverseOrder, SynchronizeTransition};

/// `klp_transition_patch`, which every function here but `klp_init_transition()` requires.
fn transition_patch(st: &State) -> PatchId {
    st.klp_transition_patch.expect("klp_transition_patch is set during a transition")
}

/// v4.12..v4.15 `if (patch->immediate)`: the transition patch skips the per-task transition
/// (only under `immediate = "honoured"`; upstream has no such flag).
pub fn immediate(spec: &Spec, st: &State) -> bool {
    spec.variant.immediate == Immediate::Honoured
        && st.klp_transition_patch.is_some_and(|p| spec.patches[p as usize].immediate)
}

/// `klp_target_state` as a task reads it lock-free on its own CPU (`klp_update_patch_state()`,
/// `__klp_sched_try_switch()`): under `barriers = "no_reverse_wmb"` the flipped target lags
/// behind the new TIF_PATCH_PENDING flags.
pub fn target_seen_by_task(st: &State) -> PatchState {
    match st.split {
        Some(Split::TargetUnseen(old)) => old,
        _ => st.klp_target_state,
    }
}

/// `klp_synchronize_transition()`: `schedule_on_each_cpu()`. It waits for every handler and
/// self switch in flight (they run with preemption disabled; the model's atomic steps need no
/// waiting, and split ones are waited for by the guards of the steps that follow a call), and
/// every CPU passes a full barrier: stores a removed write barrier left lagging are visible.
pub fn klp_synchronize_transition(st: &mut State) {
    let _ = st.stores_visible();
}

/// Whether a `klp_mutex` step that may call `klp_synchronize_transition()` (reverse, cancel,
/// `unregister_ftrace_function()`) can run: with a synchronize dropped or the handler's reads
/// split, handlers are steps of their own, and such a step is taken as waiting for every handler
/// in flight (conservative: it hides interleavings, never adds one). Always true upstream,
/// where handlers are single steps.
pub fn handlers_synchronized(spec: &Spec, st: &State) -> bool {
    (spec.variant.synchronize_transition == SynchronizeTransition::All && !handler_split(spec))
        || !st.handler_in_flight()
}

/// `klp_init_transition()`: set `klp_transition_patch` and `klp_target_state`, every task's
/// `patch_state` to the initial state, then every func's `transition` flag.
/// Atomic because: `klp_mutex`; the `smp_wmb()` between the patch_state writes and the
/// func->transition writes pairs with the handler's second `smp_rmb()`, so no handler sees
/// `transition` set with a task still IDLE, and no TIF_PATCH_PENDING is set yet.
pub fn klp_init_transition(spec: &Spec, st: &mut State, p: PatchId, state: PatchState, log: &mut impl Log) {
    st.reach(Site::InitTransition);
    if st.klp_target_state != PatchState::Idle {
        st.warn(Warn::InitTargetNotIdle);
    }
    st.klp_transition_patch = Some(p);
    if !spec.mutated(Mutation::InitSkipsTargetState) {
        st.klp_target_state = state;
    }
    log.line(|| format!("livepatch: '{}': initializing {} transition", spec.patches[p as usize].name, state.word()));
    if immediate(spec, st) {
        return; // v4.12..v4.15: "skip the per-task transitions".
    }
    let initial = state.opposite();
    for i in 0..st.tasks.len() {
        if st.tasks[i].context == Context::Unborn {
            continue;
        }
        if st.tasks[i].patch_state != PatchState::Idle {
            st.warn(Warn::InitTaskNotIdle);
        }
        if !spec.mutated(Mutation::InitSkipsTaskPatchState) {
            st.tasks[i].patch_state = initial;
        }
    }
    for &o in &spec.patches[p as usize].objs {
        for &k in &spec.objs[o as usize].funcs {
            if st.funcs[k as usize].exists {
                st.funcs[k as usize].transition = true;
            }
        }
    }
}

/// `klp_start_transition()`: set TIF_PATCH_PENDING on every task not yet at the target.
/// Atomic because: only the task itself reads its own flag lock-free (kernel exit, idle loop,
/// `__schedule()`), and the target it then reads was ordered before the flag by `smp_wmb()`
/// (docs/kernel-semantics.md W1'/W3/W4); whether task A's flag is set before or after task B's
/// is visible only to A and B separately, so setting them one by one adds no observable state.
pub fn klp_start_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::StartTransition);
    if st.klp_target_state == PatchState::Idle {
        st.warn(Warn::TargetIdle);
    }
    let p = transition_patch(st);
    log.line(|| {
        format!("livepatch: '{}': starting {} transition", spec.patches[p as usize].name, st.klp_target_state.word())
    });
    st.klp_signals_sent = LogOnly(false); // klp_signals_cnt = 0 (the kernel does it last; klp_mutex)
    if immediate(spec, st) {
        return; // v4.12..v4.15: no TIF_PATCH_PENDING for an immediate patch.
    }
    let target = st.klp_target_state;
    let all = spec.mutated(Mutation::StartSetsTifOnAll);
    for t in st.tasks.iter_mut().filter(|t| t.context != Context::Unborn && (all || t.patch_state != target)) {
        t.tif_patch_pending = true;
    }
}

/// `klp_try_complete_transition()` as called at the end of enable/disable and from
/// `klp_transition_work_fn()`: begins a pass over the tasks (holding `klp_mutex`), which then
/// runs one `klp_try_switch_task()` per model step ([`klp_try_switch_task_in_pass`]): tasks run
/// while it walks the task list.
pub fn klp_try_complete_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::TryCompleteTransition);
    if st.klp_target_state == PatchState::Idle {
        st.warn(Warn::TargetIdle);
    }
    if immediate(spec, st) {
        // v4.12..v4.15: "skip the per-task transitions" (`goto success`).
        let p = transition_patch(st);
        complete::klp_complete_transition(spec, st, log);
        free_unused_patches(spec, st, p);
        return;
    }
    st.pass = Some(Pass { next: 0, complete: true, half: None });
    advance_pass(spec, st, log);
}

/// The tail of `klp_try_complete_transition()` after `klp_complete_transition()` ("It would
/// make more sense to free the unused patches in klp_complete_transition() but it is called
/// also from klp_cancel_transition()"): the disabled patch, or the patches a replace patch
/// replaced.
fn free_unused_patches(spec: &Spec, st: &mut State, p: PatchId) {
    if !st.patches[p as usize].enabled {
        if !spec.mutated(Mutation::KeepDisabledPatch) {
            klp_free_patch_async(spec, st, p);
        }
    } else if spec.patches[p as usize].replace {
        klp_free_replaced_patches_async(spec, st, p);
    }
}

/// Moves the pass past tasks it would not change (already at the target, or not yet forked:
/// `klp_try_switch_task()` returns true at once for the first, and the task list does not
/// hold the second) and, at the end of the task list, finishes it: complete the transition, or
/// drop `klp_mutex` and re-arm the delayed work.
fn advance_pass(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let Some(mut pass) = st.pass else { return };
    let target = st.klp_target_state;
    while (pass.next as usize) < st.tasks.len() {
        let t = &st.tasks[pass.next as usize];
        if t.context == Context::Unborn || t.patch_state == target {
            pass.next += 1;
        } else {
            break;
        }
    }
    if (pass.next as usize) < st.tasks.len() {
        st.pass = Some(pass);
        return;
    }
    st.pass = None;
    if pass.complete || spec.mutated(Mutation::CompleteDespiteFailedSwitch) {
        if spec.variant.synchronize_transition != SynchronizeTransition::All
            || handler_split(spec)
            || complete::discard_split(spec, st)
        {
            // Split at its synchronize calls (and between klp_discard_nops() and
            // klp_unpatch_replaced_patches() where a variant reorders them): one model step
            // per part (complete.rs).
            st.completing = Some(Completing::Begin);
            return;
        }
        let p = transition_patch(st);
        complete::klp_complete_transition(spec, st, log);
        free_unused_patches(spec, st, p);
    }
}

/// One `klp_try_switch_task()` of the running pass of `klp_try_complete_transition()`. For an
/// online CPU's idle task a failure is followed by `wake_up_if_idle(cpu)` (v5.16+), which
/// changes no modelled state (idle.rs).
pub fn klp_try_switch_task_in_pass(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let Some(mut pass) = st.pass else { return };
    match klp_try_switch_task_of_pass(spec, st, &mut pass, log) {
        // Sampled only (task_switch_lock = "none"): the store is the pass's next step.
        None => {
            st.pass = Some(pass);
            return;
        }
        Some(false) => pass.complete = false,
        Some(true) => {}
    }
    pass.next += 1;
    st.pass = Some(pass);
    advance_pass(spec, st, log);
}

/// The tasks `klp_send_signals()` wakes: TIF_PATCH_PENDING set and sleeping interruptibly
/// (uninterruptible and never-ending sleeps are not affected).
pub fn signal_targets<'a>(spec: &'a Spec, st: &'a State) -> impl Iterator<Item = Pid> + 'a {
    (0..st.tasks.len())
        .filter(move |&i| {
            let t = &st.tasks[i];
            t.tif_patch_pending
                && t.context == Context::Sleeping
                && sleep_kind(spec, st, i as Pid) == Sleeps::Interruptible
        })
        .map(|i| i as Pid)
}

/// `klp_send_signals()` (every 15th failed pass of `klp_try_complete_transition()`): kthreads
/// get `wake_up_state(task, TASK_INTERRUPTIBLE)`, other tasks `set_notify_signal()`, which also
/// ends an interruptible sleep. Only tasks with TIF_PATCH_PENDING are signalled.
/// Atomic because: the work holds `klp_mutex` and each wake-up takes the task's `pi_lock`; a
/// woken task only becomes runnable, so the order of the wake-ups is invisible.
/// The notice is printed only by the first send of a transition (`klp_signals_cnt ==
/// SIGNALS_TIMEOUT`; the counter restarts at 0 in `klp_start_transition()`, so again after a
/// reversal): [`State::klp_signals_sent`] is that counter reduced to one bit.
/// Abstraction: the counter's value is not kept, so signals may follow any failed pass, not
/// only every 15th; this hides how many passes come before the first send, and lets sends
/// come closer together than the kernel's (over-approximates the wake-ups).
pub fn klp_send_signals(spec: &Spec, st: &mut State, log: &mut impl Log) {
    if !st.klp_signals_sent.0 {
        log.line(|| "livepatch: signaling remaining tasks".to_string());
    }
    st.klp_signals_sent = LogOnly(true);
    let targets: Vec<Pid> = signal_targets(spec, st).collect();
    for pid in targets {
        st.tasks[pid as usize].context = Context::Running;
    }
}

/// Flips `patch->enabled` and `klp_target_state`; returns the old target.
fn flip_enabled_and_target(st: &mut State, p: PatchId) -> PatchState {
    let e = &mut st.patches[p as usize].enabled;
    *e = !*e;
    let old = st.klp_target_state;
    st.klp_target_state = old.opposite();
    old
}

/// `klp_reverse_transition()` (v6.4+ order): clear every TIF_PATCH_PENDING,
/// `klp_synchronize_transition()`, flip `patch->enabled` and `klp_target_state`, `smp_wmb()`,
/// `klp_start_transition()`. Callbacks do not run.
/// Atomic because: `klp_mutex`, and the synchronize waits for every in-flight
/// `klp_update_patch_state()` / `__klp_sched_try_switch()` before the target flips, while the
/// `smp_wmb()` orders the new target before the new TIF flags (docs/kernel-semantics.md W4).
pub fn klp_reverse_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let p = transition_patch(st);
    st.reach(Site::ReverseTransition);
    let from =
        if st.klp_target_state == PatchState::Patched { "patching to unpatching" } else { "unpatching to patching" };
    log.line(|| format!("livepatch: '{}': reversing transition from {from}", spec.patches[p as usize].name));
    if spec.variant.reverse_order == ReverseOrder::FlipFirst {
        // v4.12..v6.3: the flip comes first, the rest is a step of its own
        // (klp_reverse_transition_continue). Atomic because: klp_mutex; the only lock-free
        // readers of klp_target_state are the self switches, which read it in steps of their
        // own under this knob.
        flip_enabled_and_target(st, p);
        st.split = Some(Split::ReverseFlipped);
        return;
    }
    klp_synchronize_transition(st);
    clear_tif_patch_pending(st);
    if spec.mutated(Mutation::PreUnpatchOnReversal) && st.klp_target_state == PatchState::Patched {
        for &o in &spec.patches[p as usize].objs {
            if st.objs[o as usize].patched {
                super::core_h::klp_pre_unpatch_callback(spec, st, o, log);
            }
        }
    }
    let old = flip_enabled_and_target(st, p);
    // smp_wmb(): the new target before the new TIF flags (paired with the smp_rmb() of
    // __klp_sched_try_switch() and the full barrier in klp_update_patch_state()).
    klp_start_transition(spec, st, log);
    if spec.variant.barriers == Barriers::NoReverseWmb {
        // No smp_wmb(): the tasks may see their new TIF_PATCH_PENDING and still read the old
        // target.
        st.split = Some(Split::TargetUnseen(old));
    }
}

/// Every task on the task list: TIF_PATCH_PENDING cleared. (A child between
/// `dup_task_struct()` and `klp_copy_process()` is not on the list yet.)
fn clear_tif_patch_pending(st: &mut State) {
    for t in st.tasks.iter_mut().filter(|t| t.context != Context::Unborn) {
        t.tif_patch_pending = false;
    }
}

/// The rest of the v4.12..v6.3 `klp_reverse_transition()` (`reverse_order = "flip_first"`):
/// clear every TIF_PATCH_PENDING, `klp_synchronize_transition()` ("Let any remaining calls to
/// klp_update_patch_state() complete"), `klp_start_transition()`.
/// Atomic because: `klp_mutex`; the step waits for every self switch in flight (the
/// synchronize does), and one that finishes between the clearing and the synchronize in the
/// kernel only clears a clear flag and stores into its own `patch_state`, which no one but the
/// task reads before `klp_start_transition()`: the same as finishing before this step.
pub fn klp_reverse_transition_continue(spec: &Spec, st: &mut State, log: &mut impl Log) -> Option<()> {
    if st.split != Some(Split::ReverseFlipped) || st.tasks.iter().any(|t| t.self_switch.is_some()) {
        return None;
    }
    st.split = None;
    clear_tif_patch_pending(st);
    klp_start_transition(spec, st, log);
    Some(())
}

/// `klp_force_transition()`: `klp_update_patch_state()` on every task, no stack check, then
/// mark patches `forced` (their modules are never put).
/// Atomic because: `klp_mutex`; the per-task updates are the lock-free
/// `klp_update_patch_state()`, each atomic on its own, and no one else writes patch_state.
pub fn klp_force_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::ForceTransition);
    log.line(|| "livepatch: forcing remaining tasks to the patched state".to_string());
    for i in 0..st.tasks.len() {
        if st.tasks[i].context != Context::Unborn {
            klp_update_patch_state(spec, st, i as Pid, Caller::KlpMutexHolder);
        }
    }
    let p = transition_patch(st);
    if st.klp_target_state == PatchState::Unpatched {
        st.patches[p as usize].forced = true;
    } else if spec.patches[p as usize].replace {
        for q in st.klp_patches {
            if q != p {
                st.patches[q as usize].forced = true;
            }
        }
    }
}
