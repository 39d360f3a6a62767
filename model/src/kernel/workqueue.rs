//! kernel/workqueue.c, as far as a target module's work item goes: `schedule_work()` in the
//! module's init queues it ([`crate::state::ModRt::work_pending`]), a kworker runs its function
//! once (`process_one_work()`), and `flush_work()` in the module's exit waits until it returned
//! ([`crate::kernel::module::main::exit_may_return`]).

use crate::ids::*;
use crate::spec::Spec;
use crate::state::State;

/// A module's work item is queued for kthread `pid` (one whose `entry` has its function), and
/// `pid` waits for work (no frames).
pub fn work_queued_for(spec: &Spec, st: &State, pid: Pid) -> bool {
    st.tasks[pid as usize].stack.is_empty() && spec.tasks[pid as usize].entry.iter().any(|&f| work_queued(spec, st, f))
}

/// `f` is a module's work function and its work item is queued.
pub fn work_queued(spec: &Spec, st: &State, f: FuncId) -> bool {
    spec.funcs[f as usize]
        .module
        .is_some_and(|m| spec.modules[m as usize].work == Some(f) && st.mods[m as usize].work_pending)
}

/// `process_one_work()`: the kworker that called `f` took the work item whose function `f`
/// is, so it is no longer pending: it runs once per queueing.
/// Atomic because: the pool's lock (`pool->lock`) guards taking the item off the worklist.
pub fn process_one_work(spec: &Spec, st: &mut State, f: FuncId) {
    if let Some(m) = spec.funcs[f as usize].module {
        if spec.modules[m as usize].work == Some(f) {
            st.mods[m as usize].work_pending = false;
        }
    }
}
