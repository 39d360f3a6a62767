//! kernel/sched/idle.c: the idle loop.

use crate::ids::*;
use crate::kernel::livepatch::transition::{klp_update_patch_state, Caller};
use crate::spec::Spec;
use crate::state::State;

/// `do_idle()`: `klp_update_patch_state(current)` on every iteration; the idle task stays
/// where it is.
/// Atomic because: `klp_update_patch_state()` is (its doc); nothing else changes.
pub fn do_idle(spec: &Spec, st: &mut State, pid: Pid) {
    let resume = st.tasks[pid as usize].context;
    if klp_update_patch_state(spec, st, pid, Caller::Current { resume }) {
        st.tasks[pid as usize].context = resume;
    }
}
