//! kernel/entry/common.c: the way back to user mode.

use crate::ids::*;
use crate::kernel::livepatch::transition::{klp_update_patch_state, Caller};
use crate::spec::Spec;
use crate::state::State;
use crate::task::Context;

/// `exit_to_user_mode()` with `_TIF_PATCH_PENDING` in the work mask
/// (`exit_to_user_mode_loop()` → `klp_update_patch_state(current)`): the task has no kernel
/// frames left, so no stack check is needed.
/// Atomic because: `klp_update_patch_state()` is (its doc), and entering user mode changes
/// only the task's own context, which the transition work reads under `task_call_func()`.
pub fn exit_to_user_mode(spec: &Spec, st: &mut State, pid: Pid) {
    if klp_update_patch_state(spec, st, pid, Caller::Current { resume: Context::User }) {
        st.tasks[pid as usize].context = Context::User;
    }
}
