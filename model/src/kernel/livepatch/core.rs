//! kernel/livepatch/core.c: enabling and disabling patches, their sysfs files, freeing them,
//! and (in [`module`]) the module loader hooks. Each public function is one model step taken
//! with `klp_mutex` held unless its doc says otherwise. Atomic replace's share of core.c is in
//! [`replace`]; the rules of the registration API before v5.1, which design knobs bring back,
//! in [`registration`].

pub mod module;
pub mod registration;
pub mod replace;
pub mod sysfs;

use super::core_h::{
    account_callback_state_on_free, klp_is_object_loaded, klp_pre_patch_callback, klp_pre_unpatch_callback,
};
use super::patch::klp_patch_object;
use super::state::klp_is_patch_compatible;
use super::transition::{
    klp_cancel_transition, klp_force_transition, klp_init_transition, klp_reverse_transition, klp_start_transition,
    klp_try_complete_transition,
};
use crate::errno::*;
use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{FuncRt, ObjRt, PatchLife, PatchRt, Site, Split, State, Warn};
use crate::task::PatchState;
use crate::variant::{Barriers, LateModulePatching, Permission, ReenableDisabled};
use registration::{klp_stacking_refuses_disable, klp_stacking_refuses_enable};
use replace::pre_unpatch_replaced;

/// `insmod <patch>.ko` → the module's init → `klp_enable_patch()`, up to and including the
/// start of the first `klp_try_complete_transition()` pass (which then runs step by step,
/// still holding `klp_mutex`). Returns 0 or the errno insmod reports.
/// Atomic because: `klp_mutex` is held from the compatibility check to the end of the first
/// pass; until `klp_start_transition()` sets TIF_PATCH_PENDING the only lock-free readers are
/// handlers, which see the new funcs with `transition` set and every task UNPATCHED (barriers
/// W1, W2 in docs/kernel-semantics.md), i.e. the code they ran before.
pub fn klp_enable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    let pi = p as usize;
    // Before klp_mutex: only a warning since v5.2 (it used to refuse with -EOPNOTSUPP).
    if spec.variant.reliable_stack == crate::variant::ReliableStack::No {
        log.line(|| "livepatch: This architecture doesn't have support for the livepatch consistency model.".into());
        log.line(|| "livepatch: The livepatch transition may never complete.".into());
    }
    if !klp_is_patch_compatible(spec, st, p) {
        log.line(|| {
            format!(
                "livepatch: Livepatch patch ({}) is not compatible with the already installed livepatches.",
                spec.patches[pi].name
            )
        });
        return EINVAL;
    }
    if spec.variant.late_module_patching == LateModulePatching::RequireLoaded {
        // Design variant: klp_init_object() fails when find_module() finds no live module.
        let unloaded = spec.patches[pi].objs.iter().copied().find(|&o| {
            let os = &spec.objs[o as usize];
            !os.dynamic && os.module.is_some() && !module::klp_find_object_module(spec, st, o)
        });
        if let Some(o) = unloaded {
            log.line(|| {
                format!(
                    "livepatch: patch '{}': target module '{}' is not loaded",
                    spec.patches[pi].name,
                    spec.obj_name(spec.objs[o as usize].module)
                )
            });
            return ENODEV;
        }
    }
    // try_module_get(patch->mod) succeeds: the module is COMING.
    st.patches[pi] = PatchRt { life: PatchLife::Listed, enabled: false, forced: false, ..st.patches[pi] };
    // klp_init_patch(): klp_add_nops() for a replace patch, then klp_init_object().
    for &o in &spec.patches[pi].objs {
        let os = &spec.objs[o as usize];
        let mut any = !os.dynamic;
        for &k in &os.funcs {
            let ks = &spec.klp_funcs[k as usize];
            let exists = !ks.nop || st.klp_patches.iter().any(|&q| replace::patches_func(spec, st, q, ks.old_func));
            st.funcs[k as usize] = FuncRt { exists, patched: false, transition: false };
            any |= exists;
        }
        st.objs[o as usize] = ObjRt {
            exists: any,
            mod_bound: any && module::klp_find_object_module(spec, st, o),
            patched: false,
            post_unpatch_enabled: false,
        };
        st.cb_setup[o as usize] = Default::default();
    }
    st.klp_patches.push(p);
    let ret = if klp_stacking_refuses_enable(spec, st, p) { EBUSY } else { __klp_enable_patch(spec, st, p, log) };
    if ret != 0 {
        // klp_free_patch_start() + klp_free_patch_finish() (module_put), and the module's
        // init fails, so the livepatch module goes away.
        klp_free_patch_start(spec, st, p);
        st.patches[pi].life = PatchLife::Unloaded;
    }
    ret
}

/// `__klp_enable_patch()`: pre_patch callback and `klp_patch_object()` per loaded object, then
/// the transition starts; either failing cancels it (`klp_cancel_transition()`).
fn __klp_enable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    if st.klp_transition_patch.is_some() {
        return EBUSY;
    }
    let name = &spec.patches[p as usize].name;
    log.line(|| format!("livepatch: enabling patch '{name}'"));
    klp_init_transition(spec, st, p, PatchState::Patched, log);
    pre_unpatch_replaced(spec, st, p, None, log);
    for &o in &spec.patches[p as usize].objs {
        if !st.objs[o as usize].exists
            || (!klp_is_object_loaded(spec, st, o) && !spec.mutated(Mutation::CallbacksForUnloadedObjects))
        {
            continue;
        }
        pre_unpatch_replaced(spec, st, p, Some(o), log);
        if spec.mutated(Mutation::PatchObjectBeforePrePatch) {
            let _ = klp_patch_object(spec, st, o, log);
        }
        let ret = klp_pre_patch_callback(spec, st, o, log);
        if ret != 0 {
            log.line(|| {
                format!(
                    "livepatch: pre-patch callback failed for object '{}'",
                    spec.obj_name(spec.objs[o as usize].module)
                )
            });
            log.line(|| format!("livepatch: failed to enable patch '{name}'"));
            klp_cancel_transition(spec, st, log);
            return ret;
        }
        let ret = klp_patch_object(spec, st, o, log);
        if ret != 0 {
            // klp_patch_object() unpatched the object; the objects before it stay patched
            // until klp_cancel_transition() -> klp_complete_transition() unpatches them and
            // runs the post_unpatch callbacks of every object whose pre_patch ran, this one's
            // included.
            log.line(|| format!("livepatch: failed to patch object '{}'", spec.obj_name(spec.objs[o as usize].module)));
            log.line(|| format!("livepatch: failed to enable patch '{name}'"));
            klp_cancel_transition(spec, st, log);
            return ret;
        }
    }
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = true;
    klp_try_complete_transition(spec, st, log);
    0
}

/// `__klp_disable_patch()`: `echo 0 > enabled` on an enabled patch that is not in transition.
/// Atomic because: `klp_mutex`; `klp_init_transition()` is invisible to handlers (docs/kernel-semantics.md
/// W1), the pre_unpatch callbacks run while every task still runs the new code, and the `smp_wmb()`
/// before `klp_start_transition()` orders `func->transition` before TIF (W3).
pub fn __klp_disable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    st.reach(Site::DisablePatch);
    if !st.patches[p as usize].enabled {
        st.warn(Warn::DisableNotEnabled);
        return EINVAL;
    }
    if st.klp_transition_patch.is_some() || klp_stacking_refuses_disable(spec, st, p) {
        return EBUSY;
    }
    klp_init_transition(spec, st, p, PatchState::Unpatched, log);
    for &o in &spec.patches[p as usize].objs {
        if st.objs[o as usize].patched {
            klp_pre_unpatch_callback(spec, st, o, log);
        }
    }
    match spec.variant.barriers {
        // No smp_wmb() in klp_init_transition(): stop before this function's own smp_wmb().
        Barriers::NoInitWmb => {
            st.split = Some(Split::DisableInitialised);
            return 0;
        }
        // No smp_wmb() here: TIF may be seen before func->transition.
        Barriers::NoDisableWmb => st.split = Some(Split::TransitionUnseen),
        _ => {}
    }
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = false;
    klp_try_complete_transition(spec, st, log);
    0
}

/// The rest of `__klp_disable_patch()` under `barriers = "no_init_wmb"`: its own `smp_wmb()`
/// (which makes the `patch_state` writes visible), `klp_start_transition()`, `enabled = false`,
/// `klp_try_complete_transition()`.
/// Atomic because: `klp_mutex`, as the upstream step.
pub fn __klp_disable_patch_continue(spec: &Spec, st: &mut State, log: &mut impl Log) -> Option<()> {
    if st.split != Some(Split::DisableInitialised) {
        return None;
    }
    st.split = None;
    let p = st.klp_transition_patch?;
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = false;
    klp_try_complete_transition(spec, st, log);
    Some(())
}

/// `enabled_store()`: `echo <val> > /sys/kernel/livepatch/<p>/enabled`. Returns 0 or -errno.
pub fn enabled_store(spec: &Spec, st: &mut State, p: PatchId, val: bool, log: &mut impl Log) -> i32 {
    match sysfs_dir(st, p) {
        SysfsDir::Gone => return ENOENT,
        // Neither enabled nor klp_transition_patch: "already in requested state" for 0,
        // "Do not allow to re-enable a disabled patch" for 1.
        SysfsDir::Freeing => return EINVAL,
        SysfsDir::Listed => {}
    }
    if st.patches[p as usize].enabled == val && !spec.mutated(Mutation::EnabledStoreSkipsSameValueCheck) {
        return EINVAL;
    }
    if !enabled_store_permitted(spec, st, p) {
        // Design variants: reverse_transition = banned (-EBUSY), disable = banned (-EPERM).
        return if st.klp_transition_patch == Some(p) { EBUSY } else { EPERM };
    }
    if st.klp_transition_patch == Some(p) && !spec.mutated(Mutation::ReversalTakesDisablePath) {
        klp_reverse_transition(spec, st, log);
        0
    } else if !val {
        __klp_disable_patch(spec, st, p, log)
    } else if spec.variant.reenable_disabled == ReenableDisabled::Yes {
        // The registration API's `__klp_enable_patch()`: -EBUSY during a transition or when
        // the stacking rule refuses, then try_module_get() and a patching transition.
        if st.klp_transition_patch.is_some() || klp_stacking_refuses_enable(spec, st, p) {
            return EBUSY;
        }
        __klp_enable_patch(spec, st, p, log)
    } else {
        EINVAL // "Do not allow to re-enable a disabled patch."
    }
}

/// Whether the variant lets a write to `enabled` of `p` act: a reversal of `p`'s transition
/// (knob `reverse_transition`), or otherwise a disable (knob `disable`).
pub fn enabled_store_permitted(spec: &Spec, st: &State, p: PatchId) -> bool {
    let knob = if st.klp_transition_patch == Some(p) { spec.variant.reverse_transition } else { spec.variant.disable };
    knob == Permission::Allowed
}

/// `force_store()`: `echo 1 > /sys/kernel/livepatch/<p>/force`.
pub fn force_store(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    match sysfs_dir(st, p) {
        SysfsDir::Gone => return ENOENT,
        SysfsDir::Freeing => return EINVAL, // patch != klp_transition_patch
        SysfsDir::Listed => {}
    }
    if st.klp_transition_patch != Some(p) {
        return EINVAL;
    }
    klp_force_transition(spec, st, log);
    0
}

/// Whether `/sys/kernel/livepatch/<p>/` exists, and for which patch.
enum SysfsDir {
    /// Never created, or removed: a write gets -ENOENT.
    Gone,
    /// On `klp_patches` (or registered, disabled): the stores act.
    Listed,
    /// `klp_free_patch_start()` ran, `klp_free_patch_finish()` has not: the kobject is put
    /// only there (`kobject_put(&patch->kobj)`), so the files are still there and the stores
    /// run, on a patch that is neither enabled nor `klp_transition_patch`.
    Freeing,
}

fn sysfs_dir(st: &State, p: PatchId) -> SysfsDir {
    match st.patches[p as usize].life {
        PatchLife::Listed => SysfsDir::Listed,
        PatchLife::Freeing => SysfsDir::Freeing,
        _ => SysfsDir::Gone,
    }
}

/// `klp_free_patch_start()`: take the patch off `klp_patches` and free its objects (the
/// kobjects go; `klp_free_patch_finish()` runs later from a work item).
pub fn klp_free_patch_start(spec: &Spec, st: &mut State, p: PatchId) {
    account_callback_state_on_free(spec, st, p);
    st.klp_patches.retain(|q| *q != p);
    st.klp_state_data_forget(p);
    st.patches[p as usize].life = PatchLife::Freeing;
    for &o in &spec.patches[p as usize].objs {
        st.objs[o as usize] = Default::default();
        st.cb_setup[o as usize] = Default::default();
        for &k in &spec.objs[o as usize].funcs {
            st.funcs[k as usize] = Default::default();
        }
    }
}

/// `klp_free_patch_work_fn()` → `klp_free_patch_finish()`: `module_put()` unless forced.
/// Runs from a work item without `klp_mutex`; only the module refcount changes.
pub fn klp_free_patch_finish(st: &mut State, p: PatchId) {
    st.patches[p as usize].life = PatchLife::Freed;
}

/// `klp_free_patch_async()` after a transition left `p` disabled. With `reenable_disabled =
/// "yes"` the patch stays registered (disabled) on `klp_patches`.
pub fn klp_free_patch_async(spec: &Spec, st: &mut State, p: PatchId) {
    if spec.variant.reenable_disabled == ReenableDisabled::No {
        klp_free_patch_start(spec, st, p);
    }
}

/// `klp_free_replaced_patches_async()`: free every patch before `p` on `klp_patches`. With
/// `reenable_disabled = "yes"` the replaced patches stay registered (disabled).
pub fn klp_free_replaced_patches_async(spec: &Spec, st: &mut State, p: PatchId) {
    if spec.variant.reenable_disabled == ReenableDisabled::Yes {
        return;
    }
    for q in st.klp_patches {
        if q == p {
            break;
        }
        super::shadow::note_takeover(spec, st, p, q);
        klp_free_patch_start(spec, st, q);
    }
}
