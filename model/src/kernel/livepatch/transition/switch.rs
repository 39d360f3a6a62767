//! Switching one task (transition.c): the stack check, `klp_try_switch_task()` from the
//! transition work or from the task itself (`__klp_sched_try_switch()`),
//! `klp_update_patch_state()`, and `klp_copy_process()` at fork.
//!
//! Under `reverse_order = "flip_first"` a self switch reads `klp_target_state` in steps of its
//! own ([`SelfSwitch`]), so that a reversal that flips the target first can run in between:
//! [`klp_self_switch_continue`] takes the next read.

use super::target_seen_by_task;
use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{Pass, PassHalf, Site, State};
use crate::task::{Context, PatchState, SelfSwitch, TaskKind};
use crate::variant::{ForkInherits, ReliableStack, ReverseOrder, StackCheck, TaskSwitchLock};

/// Who switches the task, which decides what it sees of `klp_target_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A `klp_mutex` holder: a pass of `klp_try_complete_transition()` or
    /// `klp_force_transition()`. It sees every store of earlier holders, and the task is not
    /// `current`.
    KlpMutexHolder,
    /// The task itself on its own CPU (lock-free): it reads the target as that CPU sees it, and
    /// continues in `resume` afterwards (`klp_update_patch_state()` only).
    Current { resume: Context },
}

impl Caller {
    fn target(self, st: &State) -> PatchState {
        match self {
            Caller::Current { .. } => target_seen_by_task(st),
            Caller::KlpMutexHolder => st.klp_target_state,
        }
    }
    /// Under `reverse_order = "flip_first"` a self switch reads `klp_target_state` in steps of
    /// its own: where it continues then, or `None`.
    fn split(self, spec: &Spec) -> Option<Context> {
        match self {
            Caller::Current { resume } if spec.variant.reverse_order == ReverseOrder::FlipFirst => Some(resume),
            _ => None,
        }
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

/// `task_curr(task)` as `klp_check_and_switch_task()` tests it for a task that is not
/// `current`: on a CPU. A task preempted in kernel code ([`Context::Preempted`]) is runnable
/// but not current, so its stack is checked. A user task in user mode is taken as preempted
/// (its kernel stack holds no patched frame, so the check would pass anyway); idle tasks are
/// always current on their idle CPU and switch in the idle loop instead (`wake_up_if_idle()`).
pub fn task_curr(spec: &Spec, st: &State, pid: Pid) -> bool {
    let t = &st.tasks[pid as usize];
    matches!(t.context, Context::Running | Context::Forking) || spec.tasks[pid as usize].kind == TaskKind::Idle
}

/// `klp_check_and_switch_task()` after a passed stack check: clear TIF_PATCH_PENDING and store
/// the target.
fn switch_task(spec: &Spec, st: &mut State, pid: Pid, target: PatchState) {
    let t = &mut st.tasks[pid as usize];
    if !spec.mutated(Mutation::TrySwitchKeepsTif) {
        t.tif_patch_pending = false;
    }
    t.patch_state = target;
}

/// `klp_try_switch_task()`: `Some(true)` if the task is at the target afterwards,
/// `Some(false)` if it could not be switched, `None` while a self switch split at its target
/// reads is in flight ([`klp_self_switch_continue`] goes on).
/// Atomic because: from the transition work, `task_call_func()` holds the task's `pi_lock`
/// and runqueue lock, so the task cannot run while its stack is checked and its state
/// switched; on the task itself (`__klp_sched_try_switch()`), preemption is disabled and the
/// `smp_rmb()` after reading TIF pairs with the `smp_wmb()` before the TIF writes, and
/// `klp_reverse_transition()` waits for it in `klp_synchronize_transition()` before it touches
/// `klp_target_state` (v6.4+ order).
pub fn klp_try_switch_task(spec: &Spec, st: &mut State, pid: Pid, caller: Caller, log: &mut impl Log) -> Option<bool> {
    let target = caller.target(st);
    if st.tasks[pid as usize].patch_state == target {
        return Some(true);
    }
    // "For arches which don't have reliable stack traces, we have to rely on other methods
    // (e.g., switching tasks at kernel exit)": no message, the task is simply not switched.
    if spec.variant.reliable_stack == ReliableStack::No {
        return Some(false);
    }
    if let Some(resume) = caller.split(spec) {
        // flip_first: klp_check_stack() and the store each read klp_target_state again.
        st.tasks[pid as usize].self_switch =
            Some(if resume == Context::Running { SelfSwitch::CondReschedCheck } else { SelfSwitch::SchedCheck });
        return None;
    }
    if !check_and_sample(spec, st, pid, caller, log) {
        return Some(false);
    }
    switch_task(spec, st, pid, target);
    Some(true)
}

/// The test part of `klp_check_and_switch_task()`: not running on another CPU, and
/// `klp_check_stack()` passes.
fn check_and_sample(spec: &Spec, st: &State, pid: Pid, caller: Caller, log: &mut impl Log) -> bool {
    if caller == Caller::KlpMutexHolder && task_curr(spec, st, pid) {
        log.line(|| format!("livepatch: klp_try_switch_task: {} is running", spec.task_comm_pid(pid)));
        return false;
    }
    klp_check_stack(spec, st, pid, log)
}

/// The transition work's `klp_try_switch_task()` of the pass's next task: `Some(true)` if the
/// task is at the target afterwards, `Some(false)` if not, `None` if its stack was only sampled
/// (`task_switch_lock = "none"`: [`Pass::half`] set, the store is the pass's next step).
/// Atomic because: upstream, `task_call_func()` (see [`klp_try_switch_task`]); under
/// `task_switch_lock = "none"` nothing holds the task between the sample and the store, which
/// are therefore two steps (`klp_mutex` still keeps every other livepatch writer out).
pub fn klp_try_switch_task_of_pass(spec: &Spec, st: &mut State, pass: &mut Pass, log: &mut impl Log) -> Option<bool> {
    let pid = pass.next;
    if pass.half == Some(PassHalf::StackSampled) {
        // The store after the unlocked sample: clear_tsk_thread_flag(), then
        // task->patch_state = klp_target_state, whatever the task did since.
        pass.half = None;
        let target = st.klp_target_state;
        switch_task(spec, st, pid, target);
        return Some(true);
    }
    if spec.variant.task_switch_lock == TaskSwitchLock::None
        && st.tasks[pid as usize].patch_state != st.klp_target_state
        && spec.variant.reliable_stack == ReliableStack::Yes
    {
        if !check_and_sample(spec, st, pid, Caller::KlpMutexHolder, log) {
            return Some(false);
        }
        pass.half = Some(PassHalf::StackSampled);
        return None;
    }
    klp_try_switch_task(spec, st, pid, Caller::KlpMutexHolder, log)
}

/// `__klp_sched_try_switch()` (v6.4+; from `__schedule()` for a TASK_FREEZABLE sleep on the
/// newest kernels, from `cond_resched()` in v6.4..v6.15: see the `sched_try_switch` knob and
/// kernel/sched/core.rs): if TIF_PATCH_PENDING is set, `klp_try_switch_task(current)`.
/// Returns false while a split self switch is in flight (the task then stays on its CPU).
pub fn __klp_sched_try_switch(spec: &Spec, st: &mut State, pid: Pid, resume: Context, log: &mut impl Log) -> bool {
    if !st.tasks[pid as usize].tif_patch_pending {
        return true;
    }
    klp_try_switch_task(spec, st, pid, Caller::Current { resume }, log).is_some()
}

/// `klp_update_patch_state()`: if TIF_PATCH_PENDING was set, clear it and take the target. No
/// stack check: callers run it where the task has no patched frames (return to user mode, the
/// idle loop) or force it (`klp_force_transition()`). Returns false while a split self switch
/// is in flight (`reverse_order = "flip_first"`: the target is read in a step of its own).
/// Atomic because: on the task itself it runs inside `preempt_disable_notrace()`, and every
/// `klp_mutex` step that then writes `klp_target_state` or TIF (`klp_reverse_transition()`,
/// `klp_complete_transition()`) first waits for such sections in
/// `klp_synchronize_transition()`; `test_and_clear_tsk_thread_flag()` is a full barrier, so the
/// target is read after the flag.
pub fn klp_update_patch_state(spec: &Spec, st: &mut State, pid: Pid, caller: Caller) -> bool {
    let target = caller.target(st);
    let split = caller.split(spec);
    let t = &mut st.tasks[pid as usize];
    if !t.tif_patch_pending {
        return true;
    }
    t.tif_patch_pending = false;
    if let Some(resume) = split {
        t.self_switch = Some(SelfSwitch::Update { resume });
        t.context = Context::Running;
        return false;
    }
    t.patch_state = target;
    true
}

/// The next read of a self switch in flight (`reverse_order = "flip_first"`).
/// Atomic because: each step is one read of `klp_target_state` with what the kernel does with
/// it; preemption stays disabled throughout, so only other CPUs act in between.
pub fn klp_self_switch_continue(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) -> Option<()> {
    let ss = st.tasks[pid as usize].self_switch.take()?;
    match ss {
        SelfSwitch::Update { resume } => {
            let target = target_seen_by_task(st);
            let t = &mut st.tasks[pid as usize];
            t.patch_state = target;
            t.context = resume;
        }
        SelfSwitch::SchedCheck => {
            if klp_check_stack(spec, st, pid, log) {
                st.tasks[pid as usize].self_switch = Some(SelfSwitch::SchedStore);
            } else {
                st.tasks[pid as usize].context = Context::Sleeping;
            }
        }
        SelfSwitch::SchedStore => {
            let target = target_seen_by_task(st);
            switch_task(spec, st, pid, target);
            st.tasks[pid as usize].context = Context::Sleeping;
        }
        // From a cond_resched() point: the task stays on its CPU either way.
        SelfSwitch::CondReschedCheck => {
            if klp_check_stack(spec, st, pid, log) {
                st.tasks[pid as usize].self_switch = Some(SelfSwitch::CondReschedStore);
            }
        }
        SelfSwitch::CondReschedStore => {
            let target = target_seen_by_task(st);
            switch_task(spec, st, pid, target);
        }
    }
    Some(())
}

/// `klp_copy_process()` from `copy_process()` (kernel/fork.c), under `tasklist_lock`: the
/// child inherits the parent's `patch_state` and (v6.0+, 747f7a290117) TIF_PATCH_PENDING. Under
/// `fork_inherits = "tif_before_state"` (v4.12..v5.19) TIF_PATCH_PENDING was already copied
/// with the thread flags ("TIF_PATCH_PENDING gets copied in setup_thread_stack()"), so only
/// `patch_state` is copied here.
/// Atomic because: `write_lock_irq(&tasklist_lock)` excludes the transition code's task-list
/// walks, and the parent, being `current` on a CPU, is not switched meanwhile.
pub fn klp_copy_process(spec: &Spec, st: &mut State, parent: Pid, child: Pid) {
    let (tif, patch_state) = {
        let p = &st.tasks[parent as usize];
        (p.tif_patch_pending, p.patch_state)
    };
    let c = &mut st.tasks[child as usize];
    if spec.variant.fork_inherits == ForkInherits::Together {
        c.tif_patch_pending = tif;
    }
    c.patch_state = patch_state;
    st.reach(Site::CopyProcess);
}
