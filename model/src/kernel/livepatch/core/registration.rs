//! The rules of the registration API (v3.19..v5.0) that design knobs bring back into core.c
//! (`stacking`, `reenable_disabled`, `force`): which disable/enable the pre-v5.1 stack order
//! refuses, which patches stay registered after being disabled or replaced, and who holds the
//! livepatch module's reference. Upstream (every knob at its default) these reduce to the
//! v5.1+ rules.

use super::klp_free_patch_start;
use crate::ids::*;
use crate::spec::Spec;
use crate::state::{PatchLife, State};
use crate::variant::{Force, ReenableDisabled, Stacking};

/// Knob `stacking = "lifo"` (before v5.1), `__klp_disable_patch()`: "enforce stacking: only the
/// last enabled patch can be disabled" (-EBUSY if the next patch on `klp_patches` is enabled).
pub fn klp_stacking_refuses_disable(spec: &Spec, st: &State, p: PatchId) -> bool {
    if spec.variant.stacking != Stacking::Lifo {
        return false;
    }
    let i = st.klp_patches.iter().position(|&q| q == p);
    i.and_then(|i| st.klp_patches.get(i + 1)).is_some_and(|&q| st.patches[q as usize].enabled)
}

/// Knob `stacking = "lifo"` (before v5.1), `__klp_enable_patch()`: "only the first disabled
/// patch can be enabled" (-EBUSY if the previous patch on `klp_patches` is disabled), except
/// for a replace patch, which overrides even disabled patches registered earlier.
pub fn klp_stacking_refuses_enable(spec: &Spec, st: &State, p: PatchId) -> bool {
    if spec.variant.stacking != Stacking::Lifo || spec.patches[p as usize].replace {
        return false;
    }
    let i = st.klp_patches.iter().position(|&q| q == p).unwrap_or(0);
    i > 0 && !st.patches[st.klp_patches[i - 1] as usize].enabled
}

/// A patch that is registered but disabled, which only knob `reenable_disabled = "yes"` keeps:
/// on `klp_patches`, neither enabled nor the transition patch.
pub fn klp_registered_disabled(spec: &Spec, st: &State, p: PatchId) -> bool {
    let r = st.patches[p as usize];
    spec.variant.reenable_disabled == ReenableDisabled::Yes
        && r.life == PatchLife::Listed
        && !r.enabled
        && st.klp_transition_patch != Some(p)
}

/// Whether the livepatch module's reference from `klp_enable_patch()` (`try_module_get()`) is
/// still held: while the patch is listed (upstream: enabled or in transition), until
/// `klp_free_patch_finish()` dropped it, and for ever once forced (knob `force =
/// "keep_module"`). With `reenable_disabled = "yes"` a registered, disabled patch holds none
/// (the registration API put the module when the unpatching transition completed).
pub fn klp_holds_module_ref(spec: &Spec, st: &State, p: PatchId) -> bool {
    let r = st.patches[p as usize];
    let forced_kept = r.forced && spec.variant.force == Force::KeepModule;
    match r.life {
        PatchLife::Unloaded => false,
        PatchLife::Listed => !klp_registered_disabled(spec, st, p) || forced_kept,
        PatchLife::Freeing => true,
        PatchLife::Freed => forced_kept,
    }
}

/// `rmmod <patch>` once its reference is gone. With `reenable_disabled = "yes"` the module's
/// exit calls `klp_unregister_patch()`, which frees a registered, disabled patch.
pub fn klp_unload_livepatch_module(spec: &Spec, st: &mut State, p: PatchId) {
    if klp_registered_disabled(spec, st, p) {
        klp_free_patch_start(spec, st, p);
    }
    st.patches[p as usize].life = PatchLife::Unloaded;
}
