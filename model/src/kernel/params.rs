//! kernel/params.c: module parameters as sysfs files (`/sys/module/<mod>/parameters/<name>`).
//! Only the one write the selftests make is modelled: test_klp_callbacks_demo's `pre_patch_ret`
//! (functions.sh `set_pre_patch_ret`). Parameters given on the insmod line are stored by the
//! loader (kernel/module/main.rs `load_livepatch_module()`).

use crate::errno::*;
use crate::ids::*;
use crate::state::{PatchLife, State};

/// `param_attr_store()` of a livepatch module's `pre_patch_ret` (under `kernel_param_lock()`;
/// the callbacks read the int without it, one word: one step). Returns 0, or -ENOENT when the
/// module is not loaded (no `/sys/module/<patch>/`).
pub fn param_attr_store_pre_patch_ret(st: &mut State, p: PatchId, value: i32) -> i32 {
    if st.patches[p as usize].life == PatchLife::Unloaded {
        return ENOENT;
    }
    st.patches[p as usize].pre_patch_ret = Some(value as i16);
    0
}
