//! kernel/trace/ftrace.c, the part livepatch meets: the `kernel.ftrace_enabled` sysctl
//! (`ftrace_enable_sysctl()`) and its interplay with the `FTRACE_OPS_FL_PERMANENT` ops every
//! `klp_ops` registers (since v5.5): while such an ops is registered the sysctl refuses 0, and
//! while the sysctl is 0 `register_ftrace_function()` refuses such an ops (-EBUSY), so
//! `klp_patch_func()` fails (test-ftrace.sh).

use crate::errno::*;
use crate::state::State;

/// `is_permanent_ops_registered()`: some function has a `klp_ops` (a non-empty func_stack:
/// `klp_patch_func()` registers the ops with the first func, `klp_unpatch_func()` unregisters
/// it with the last).
pub fn is_permanent_ops_registered(st: &State) -> bool {
    st.func_stacks.iter().any(|s| !s.is_empty())
}

/// `ftrace_enable_sysctl()` writing `value`: 0 or -EBUSY (turning ftrace off while a livepatch
/// is applied). Writing the current value changes nothing.
/// Atomic because: `ftrace_lock`, which `register_ftrace_function()` takes too.
pub fn ftrace_enable_sysctl(st: &mut State, value: bool) -> i32 {
    if value == st.ftrace_enabled {
        return 0;
    }
    if !value && is_permanent_ops_registered(st) {
        return EBUSY;
    }
    st.ftrace_enabled = value;
    0
}
