//! The per-task transition (kernel/livepatch/transition.c). Every function here runs with
//! `klp_mutex` held except [`klp_update_patch_state`] and [`klp_sched_try_switch`], which are
//! lock-free and run on the task itself.

use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::patch::*;
use crate::spec::Spec;
use crate::state::{Completing, Event, Site, State, Warn};
use crate::task::{Context, PatchState, TaskKind};
use crate::variant::{Barriers, Immediate, ReverseOrder, StackCheck, SynchronizeTransition};

fn tp(st: &State) -> PatchId {
    st.klp_transition_patch.expect("transition patch")
}

/// v4.12..v4.15 `if (patch->immediate)`: the transition patch skips the per-task transition
/// (only under `immediate = "honoured"`; upstream has no such flag).
pub fn immediate(spec: &Spec, st: &State) -> bool {
    spec.variant.immediate == Immediate::Honoured
        && st.klp_transition_patch.is_some_and(|p| spec.patches[p as usize].immediate)
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
/// (W1'/W3/W4); whether task A's flag is set before or after task B's is visible only to A
/// and B separately, so setting them one by one adds no observable state.
pub fn klp_start_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::StartTransition);
    if st.klp_target_state == PatchState::Idle {
        st.warn(Warn::TargetIdle);
    }
    let p = tp(st);
    log.line(|| {
        format!("livepatch: '{}': starting {} transition", spec.patches[p as usize].name, st.klp_target_state.word())
    });
    if immediate(spec, st) {
        return; // v4.12..v4.15: no TIF_PATCH_PENDING for an immediate patch.
    }
    let target = st.klp_target_state;
    let all = spec.mutated(Mutation::StartSetsTifOnAll);
    for t in st.tasks.iter_mut().filter(|t| t.context != Context::Unborn && (all || t.patch_state != target)) {
        t.tif_patch_pending = true;
    }
}

/// For every func of the transition patch in a patched object: its function, the version
/// `klp_check_stack_func()` forbids (the one being replaced), and the version the target
/// state runs.
fn stack_versions(spec: &Spec, st: &State, out: &mut Vec<(FuncId, Version, Version)>) {
    out.clear();
    // Only a mutated model checks a stack outside a transition (a TIF_PATCH_PENDING left set);
    // the kernel would dereference a NULL klp_transition_patch. Nothing is forbidden then.
    let Some(p) = st.klp_transition_patch else { return };
    for &o in &spec.patches[p as usize].objs {
        if !st.objs[o as usize].patched {
            continue; // Objects not loaded are skipped.
        }
        for &k in &spec.objs[o as usize].funcs {
            if !st.funcs[k as usize].exists {
                continue;
            }
            let ks = &spec.klp_funcs[k as usize];
            let own = if ks.nop { Version::ORIGINAL } else { Version::of_patch(p) };
            // The previous version: the next func below this one on the func_stack, or
            // the original when the func_stack is singular.
            let stack = &st.func_stacks[ks.old_func as usize];
            let prev = match stack.iter().position(|&x| x == k) {
                Some(i) if i > 0 => {
                    let prev = &spec.klp_funcs[stack[i - 1] as usize];
                    if prev.nop {
                        Version::ORIGINAL
                    } else {
                        Version::of_patch(prev.patch)
                    }
                }
                _ => Version::ORIGINAL,
            };
            if st.klp_target_state == PatchState::Unpatched {
                out.push((ks.old_func, own, prev));
            } else {
                out.push((ks.old_func, prev, own));
            }
        }
    }
}

/// `klp_check_stack()`: no frame of a forbidden function version on the task's stack. Logs
/// the `pr_debug()` line `klp_try_switch_task()` prints for -EADDRINUSE. What is forbidden is
/// the `stack_check` knob: the version being replaced (upstream), nothing, or every version
/// but the one the target state runs.
pub fn klp_check_stack(spec: &Spec, st: &State, pid: Pid, log: &mut impl Log) -> bool {
    if spec.mutated(Mutation::SkipStackCheck) || spec.variant.stack_check == StackCheck::None {
        return true;
    }
    let mut checked = Vec::new();
    stack_versions(spec, st, &mut checked);
    for fr in &st.tasks[pid as usize].stack {
        let bad = checked.iter().any(|&(f, replaced, target)| {
            f == fr.func
                && match spec.variant.stack_check {
                    StackCheck::All => fr.version != target,
                    _ => fr.version == replaced,
                }
        });
        if bad {
            log.line(|| {
                format!(
                    "livepatch: klp_try_switch_task: {} is sleeping on function {}",
                    spec.task_comm_pid(pid),
                    spec.funcs[fr.func as usize].name
                )
            });
            return false;
        }
    }
    true
}

/// Whether `klp_check_and_switch_task()` sees the task running on another CPU (`task_curr()`).
/// A user task in user mode is taken as preempted (its kernel stack holds no patched frame, so
/// the check would pass anyway); idle tasks are always current on their idle CPU and switch in
/// the idle loop instead (`wake_up_if_idle()`).
fn task_running(spec: &Spec, st: &State, pid: Pid) -> bool {
    let t = &st.tasks[pid as usize];
    matches!(t.context, Context::Running | Context::Forking) || spec.tasks[pid as usize].kind == TaskKind::Idle
}

/// `klp_try_switch_task()` from the transition work (the task is not `current`).
/// Atomic because: `task_call_func()` holds the task's `pi_lock` and runqueue lock, so the task
/// cannot run while its stack is checked and its state switched.
pub fn klp_try_switch_task(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) -> bool {
    let target = st.klp_target_state;
    if st.tasks[pid as usize].patch_state == target {
        return true;
    }
    if task_running(spec, st, pid) {
        log.line(|| format!("livepatch: klp_try_switch_task: {} is running", spec.task_comm_pid(pid)));
        return false;
    }
    if !klp_check_stack(spec, st, pid, log) {
        return false;
    }
    let t = &mut st.tasks[pid as usize];
    if !spec.mutated(Mutation::TrySwitchKeepsTif) {
        t.tif_patch_pending = false;
    }
    t.patch_state = target;
    true
}

/// `klp_send_signals()` (every 15th failed pass of `klp_try_complete_transition()`): kthreads
/// get `wake_up_state(task, TASK_INTERRUPTIBLE)`, other tasks `set_notify_signal()`, which also
/// ends an interruptible sleep. Only tasks with TIF_PATCH_PENDING are signalled.
/// Atomic because: the work holds `klp_mutex` and each wake-up takes the task's `pi_lock`; a
/// woken task only becomes runnable, so the order of the wake-ups is invisible.
/// Deviation: the pass counter (`klp_signals_cnt`) is abstracted away; signals may follow any
/// failed pass.
pub fn klp_send_signals(spec: &Spec, st: &mut State, log: &mut impl Log) {
    log.line(|| "livepatch: signaling remaining tasks".to_string());
    let targets: Vec<Pid> = crate::workload::signal_targets(spec, st).collect();
    for pid in targets {
        st.tasks[pid as usize].context = Context::Running;
    }
}

/// `klp_update_patch_state()`: if TIF_PATCH_PENDING was set, clear it and take the target.
/// No stack check: callers run it where the task has no patched frames (return to user mode,
/// the idle loop). Atomic because: `test_and_clear_tsk_thread_flag()` is a full barrier and
/// runs with preemption disabled, which `klp_synchronize_transition()` waits for.
pub fn klp_update_patch_state(st: &mut State, pid: Pid) {
    let target = st.klp_target_state;
    let t = &mut st.tasks[pid as usize];
    if t.tif_patch_pending {
        t.tif_patch_pending = false;
        t.patch_state = target;
    }
}

/// `__klp_sched_try_switch()` (v6.4+; newest kernels call it from `__schedule()`): a
/// stack-checked switch of `current` if TIF_PATCH_PENDING is set.
/// Atomic because: preemption is disabled and the `smp_rmb()` after reading TIF pairs with
/// the `smp_wmb()` before TIF writes; `klp_reverse_transition()` waits for it.
/// It calls `klp_try_switch_task(current)`, so a failed stack check prints the same
/// `pr_debug()` "is sleeping on function" line as the transition work's try.
pub fn klp_sched_try_switch(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) {
    if st.tasks[pid as usize].tif_patch_pending && klp_check_stack(spec, st, pid, log) {
        let target = st.klp_target_state;
        let t = &mut st.tasks[pid as usize];
        t.tif_patch_pending = false;
        t.patch_state = target;
    }
}

/// `klp_complete_transition()`, then what `klp_try_complete_transition()` does after it
/// (free the disabled patch, or the patches a replace patch replaced).
/// Atomic because: `klp_mutex`; handlers in flight are waited for by
/// `klp_synchronize_transition()` after unpatching (S1) and after clearing `transition` (S2),
/// so no task can see an intermediate func_stack / transition / patch_state combination whose
/// dispatch differs from the states before and after.
pub fn klp_complete_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    complete_begin(spec, st, log);
    complete_clear_transition(spec, st);
    complete_finish(spec, st, log);
}

/// `klp_complete_transition()` up to its first `klp_synchronize_transition()`: the replace
/// bookkeeping (`klp_unpatch_replaced_patches()`, `klp_discard_nops()`) and, unpatching,
/// `klp_unpatch_objects()`.
pub fn complete_begin(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let p = tp(st);
    let target = st.klp_target_state;
    let pname = &spec.patches[p as usize].name;
    st.reach(Site::CompleteTransition);
    crate::ordering::synchronize(st);
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
                st.cb_setup[o as usize] = (false, false);
            }
        }
    }
    if target == PatchState::Unpatched {
        klp_unpatch_objects(spec, st, p, false);
    }
}

/// `klp_complete_transition()` between its synchronize calls: every `func->transition = false`
/// (v4.12..v4.15: skipped for an immediate patch, `goto done`).
pub fn complete_clear_transition(spec: &Spec, st: &mut State) {
    if immediate(spec, st) {
        return;
    }
    for &o in &spec.patches[tp(st) as usize].objs {
        for &k in &spec.objs[o as usize].funcs {
            st.funcs[k as usize].transition = false;
        }
    }
}

/// The rest of `klp_complete_transition()`: every task's `patch_state = IDLE` (with the
/// `WARN_ON_ONCE(TIF_PATCH_PENDING)`), the post callbacks, and the globals back to idle.
pub fn complete_finish(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let p = tp(st);
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
    crate::replace::post_unpatch_replaced(spec, st, p, target, None, log);
    for &o in &spec.patches[p as usize].objs {
        if !st.objs[o as usize].exists || !klp_is_object_loaded(spec, st, o) {
            continue;
        }
        if target == PatchState::Patched {
            crate::replace::post_unpatch_replaced(spec, st, p, target, Some(o), log);
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
pub fn complete_part(spec: &Spec, st: &mut State, log: &mut impl Log) {
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
            let p = tp(st);
            complete_finish(spec, st, log);
            st.completing = None;
            free_after_complete(spec, st, p);
        }
        None => {}
    }
}

/// The tail of `klp_try_complete_transition()` after `klp_complete_transition()`.
pub fn free_after_complete(spec: &Spec, st: &mut State, p: PatchId) {
    if !st.patches[p as usize].enabled {
        if !spec.mutated(Mutation::KeepDisabledPatch) {
            crate::lifecycle::klp_free_patch_async(spec, st, p);
        }
    } else if spec.patches[p as usize].replace {
        crate::lifecycle::klp_free_replaced_patches_async(spec, st, p);
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
    let p = tp(st);
    log.line(|| {
        format!("livepatch: '{}': canceling patching transition, going to unpatch", spec.patches[p as usize].name)
    });
    st.klp_target_state = PatchState::Unpatched;
    klp_complete_transition(spec, st, log);
}

/// `klp_reverse_transition()` (v6.4+ order): clear every TIF_PATCH_PENDING,
/// `klp_synchronize_transition()`, flip `patch->enabled` and `klp_target_state`, `smp_wmb()`,
/// `klp_start_transition()`. Callbacks do not run.
/// Atomic because: `klp_mutex`, and the synchronize waits for every in-flight
/// `klp_update_patch_state()` / `__klp_sched_try_switch()` before the target flips, while the
/// `smp_wmb()` orders the new target before the new TIF flags (W4).
pub fn klp_reverse_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let p = tp(st);
    st.reach(Site::ReverseTransition);
    let from =
        if st.klp_target_state == PatchState::Patched { "patching to unpatching" } else { "unpatching to patching" };
    log.line(|| format!("livepatch: '{}': reversing transition from {from}", spec.patches[p as usize].name));
    if spec.variant.reverse_order == ReverseOrder::FlipFirst {
        // v4.12..v6.3: the flip comes first, the rest is a step of its own (ordering.rs).
        crate::ordering::reverse_flip(st, p);
        return;
    }
    crate::ordering::synchronize(st);
    // Tasks not yet on the task list (a child between dup_task_struct() and
    // klp_copy_process()) are not visited.
    for t in st.tasks.iter_mut().filter(|t| t.context != Context::Unborn) {
        t.tif_patch_pending = false;
    }
    if spec.mutated(Mutation::PreUnpatchOnReversal) && st.klp_target_state == PatchState::Patched {
        for &o in &spec.patches[p as usize].objs {
            if st.objs[o as usize].patched {
                klp_pre_unpatch_callback(spec, st, o, log);
            }
        }
    }
    let e = &mut st.patches[p as usize].enabled;
    *e = !*e;
    let old = st.klp_target_state;
    st.klp_target_state = old.opposite();
    klp_start_transition(spec, st, log);
    if spec.variant.barriers == Barriers::NoReverseWmb {
        // No smp_wmb() between the flip and the TIF writes: the tasks may see their new
        // TIF_PATCH_PENDING and still read the old target.
        st.split = Some(crate::ordering::Split::TargetUnseen(old));
    }
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
            klp_update_patch_state(st, i as Pid);
        }
    }
    let p = tp(st);
    if st.klp_target_state == PatchState::Unpatched {
        st.patches[p as usize].forced = true;
    } else if spec.patches[p as usize].replace {
        for q in st.klp_patches.clone() {
            if q != p {
                st.patches[q as usize].forced = true;
            }
        }
    }
}
