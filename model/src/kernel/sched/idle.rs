//! kernel/sched/idle.c: the idle loop (`cpu_startup_entry()` -> `do_idle()` forever).

use crate::ids::*;
use crate::kernel::livepatch::transition::{klp_update_patch_state, Caller};
use crate::spec::Spec;
use crate::state::State;

/// The tail of `do_idle()`: its inner loop (cpuidle, `while (!need_resched())`) has ended,
/// `schedule_idle()` returned, and `klp_patch_pending(current)` leads to
/// `klp_update_patch_state(current)`; the idle task stays where it is. The inner loop ends
/// only when need_resched is set on the CPU: by `wake_up_if_idle()` from the transition work
/// (v5.16+) or by something scheduled there that the scenario does not model, which is why
/// this step is always enabled but fair only under `wake_up_if_idle = yes` (fairness.rs).
/// An offline CPU's idle task never gets here (parked in `arch_cpu_idle_dead()`).
/// Atomic because: `klp_update_patch_state()` is (its doc); nothing else changes.
pub fn do_idle(spec: &Spec, st: &mut State, pid: Pid) {
    let resume = st.tasks[pid as usize].context;
    if klp_update_patch_state(spec, st, pid, Caller::Current { resume }) {
        st.tasks[pid as usize].context = resume;
    }
}
