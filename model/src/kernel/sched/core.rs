//! kernel/sched/core.c: a task blocks (`__schedule()`), is preempted and resumes, passes a
//! `cond_resched()` point, and is woken. Where `__klp_sched_try_switch()` is called is the
//! `sched_try_switch` knob: from `__schedule()` for a `TASK_FREEZABLE` sleep on the newest
//! kernels (676e8cf70cb0), from `cond_resched()` in v6.4..v6.15 (e3ff7c609f39), nowhere before.
//! Where a task may be preempted is the `preempt` knob.

use crate::ids::*;
use crate::kernel::livepatch::transition::__klp_sched_try_switch;
use crate::log::Log;
use crate::spec::{Sleeps, Spec};
use crate::state::State;
use crate::task::{Context, TaskKind};
use crate::variant::{Preempt, SchedTrySwitch};

/// The function the task runs in, if it has a modelled frame.
fn innermost<'a>(spec: &'a Spec, st: &State, pid: Pid) -> Option<&'a crate::spec::FuncSpec> {
    let fr = st.tasks[pid as usize].stack.last()?;
    Some(&spec.funcs[fr.func as usize])
}

/// `klp_sched_try_switch(prev)` in `__schedule()` (include/linux/livepatch_sched.h): only if
/// `prev->__state & TASK_FREEZABLE`, i.e. the function's sleep is marked `freezable`. A kthread
/// waiting for work in its main loop is not: a kworker's `worker_thread()` sleeps in
/// `TASK_IDLE`. User tasks' syscalls sleep freezably only where the function says so (a pipe
/// read's `wait_event_interruptible_exclusive()` does not).
fn sleep_is_freezable(spec: &Spec, st: &State, pid: Pid) -> bool {
    match innermost(spec, st, pid) {
        Some(f) => f.freezable,
        None => spec.tasks[pid as usize].main_loop.freezable,
    }
}

/// Whether the task runs where a `cond_resched()` point is: its innermost function's, or a
/// kthread's main loop's.
fn at_cond_resched(spec: &Spec, st: &State, pid: Pid) -> bool {
    match innermost(spec, st, pid) {
        Some(f) => f.cond_resched,
        None => spec.tasks[pid as usize].kind == TaskKind::Kthread && spec.tasks[pid as usize].main_loop.cond_resched,
    }
}

/// `schedule()`: under `sched_try_switch = "freezable"` a freezable sleep first calls
/// `__klp_sched_try_switch()`; then the task leaves the CPU (unless a split self switch is
/// still in flight: it then stays on the CPU until done). Under `cond_resched` and `none`
/// blocking switches nothing.
/// Atomic because: `__klp_sched_try_switch()` runs with preemption disabled (its doc), and the
/// task leaves the CPU under its runqueue lock, which `task_call_func()` takes too: the
/// transition work sees the task either on the CPU or off it.
pub fn schedule(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) {
    let switch = spec.variant.sched_try_switch == SchedTrySwitch::Freezable && sleep_is_freezable(spec, st, pid);
    if !switch || __klp_sched_try_switch(spec, st, pid, Context::Sleeping, log) {
        st.tasks[pid as usize].context = Context::Sleeping;
    }
}

/// Whether `cond_resched()` switches `pid` now: `sched_try_switch = "cond_resched"`, the task
/// runs a function with a `cond_resched()` point, and TIF_PATCH_PENDING is set (otherwise
/// `__klp_sched_try_switch()` returns at once and the step would change nothing).
pub fn cond_resched_switches(spec: &Spec, st: &State, pid: Pid) -> bool {
    spec.variant.sched_try_switch == SchedTrySwitch::CondResched
        && spec.tasks[pid as usize].kind != TaskKind::Idle
        && st.tasks[pid as usize].tif_patch_pending
        && at_cond_resched(spec, st, pid)
}

/// `cond_resched()` (v6.4..v6.15: `_cond_resched()` / `dynamic_cond_resched()` →
/// `klp_sched_try_switch()` → `__klp_sched_try_switch()`): the task tries to switch itself
/// and stays on its CPU.
/// Atomic because: `__klp_sched_try_switch()` runs with preemption disabled (its doc).
pub fn cond_resched(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) {
    __klp_sched_try_switch(spec, st, pid, Context::Running, log);
}

/// Whether the `preempt` knob lets `pid` be preempted where it is: `full` anywhere in a
/// modelled function, `voluntary` in a function with a `cond_resched()` point or one that may
/// sleep (its `might_sleep()` → `might_resched()`), `none` only at a `cond_resched()` point.
/// A kthread in its main loop (no modelled frame) is preempted there only if the loop never
/// sleeps: one that may block there is seen the same way by the transition work (empty stack,
/// off the CPU) when it sleeps. Idle tasks are left to the idle loop.
pub fn preemptible(spec: &Spec, st: &State, pid: Pid) -> bool {
    let ts = &spec.tasks[pid as usize];
    let (cond_resched, sleeps) = match st.tasks[pid as usize].stack.last() {
        // might_sleep() points: where the version the frame runs may block.
        Some(fr) => {
            let f = &spec.funcs[fr.func as usize];
            (f.cond_resched, f.sleeps_of(fr.version))
        }
        None if ts.kind == TaskKind::Kthread && ts.main_loop.sleeps == Sleeps::Never => {
            (ts.main_loop.cond_resched, Sleeps::Never)
        }
        None => return false,
    };
    if ts.kind == TaskKind::Idle {
        return false;
    }
    match spec.variant.preempt {
        Preempt::Full => true,
        Preempt::Voluntary => cond_resched || sleeps != Sleeps::Never,
        Preempt::None => cond_resched,
    }
}

/// The task is preempted (`preempt_schedule_irq()` on the way back from an interrupt under
/// full preemption, `__cond_resched()` otherwise): `__schedule(SM_PREEMPT)` leaves `__state`
/// TASK_RUNNING, so `klp_sched_try_switch(prev)` switches nothing (and v6.4..v6.15 switched only
/// in `cond_resched()` itself, [`cond_resched`]).
/// Atomic because: the task leaves the CPU under its runqueue lock, which `task_call_func()`
/// takes too.
pub fn preempt(st: &mut State, pid: Pid) {
    st.tasks[pid as usize].context = Context::Preempted;
}

/// A preempted task is picked again and continues where it was.
/// Atomic because: its runqueue lock, which `task_call_func()` takes too.
pub fn resume(st: &mut State, pid: Pid) {
    st.tasks[pid as usize].context = Context::Running;
}

/// `try_to_wake_up()`: the sleeping task runs again.
/// Atomic because: the task's `pi_lock` and runqueue lock, which `task_call_func()` takes too.
pub fn try_to_wake_up(st: &mut State, pid: Pid) {
    st.tasks[pid as usize].context = Context::Running;
}
