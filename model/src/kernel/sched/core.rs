//! kernel/sched/core.c: a task blocks (`__schedule()`, which calls `__klp_sched_try_switch()`
//! on the newest kernels; from v6.4 until 676e8cf70cb0 it was called from `cond_resched()`
//! instead) and is woken.

use crate::ids::*;
use crate::kernel::livepatch::transition::__klp_sched_try_switch;
use crate::log::Log;
use crate::spec::Spec;
use crate::state::State;
use crate::task::Context;

/// `schedule()`: `__klp_sched_try_switch()`, then the task leaves the CPU
/// (unless a split self switch is still in flight: it then stays on the CPU until done).
/// Atomic because: `__klp_sched_try_switch()` runs with preemption disabled (its doc), and the
/// task leaves the CPU under its runqueue lock, which `task_call_func()` takes too: the
/// transition work sees the task either on the CPU or off it.
pub fn schedule(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) {
    if __klp_sched_try_switch(spec, st, pid, Context::Sleeping, log) {
        st.tasks[pid as usize].context = Context::Sleeping;
    }
}

/// `try_to_wake_up()`: the sleeping task runs again.
/// Atomic because: the task's `pi_lock` and runqueue lock, which `task_call_func()` takes too.
pub fn try_to_wake_up(st: &mut State, pid: Pid) {
    st.tasks[pid as usize].context = Context::Running;
}
