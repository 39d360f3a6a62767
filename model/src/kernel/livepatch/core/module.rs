//! core.c's module hooks, called by the module loader (kernel/module/main.c):
//! `klp_module_coming()` from `prepare_coming_module()` before the module's init runs, and
//! `klp_module_going()` from `delete_module()` after its exit returned (and from the loader's
//! error paths: a failed COMING notifier chain, a failed init), plus `klp_find_object_module()`, which binds an object to an already loaded module.

use super::registration::klp_registered_disabled;
use crate::errno::*;
use crate::ids::*;
use crate::kernel::livepatch::core_h::{
    klp_post_patch_callback, klp_post_unpatch_callback, klp_pre_patch_callback, klp_pre_unpatch_callback,
};
use crate::kernel::livepatch::patch::{klp_patch_object, klp_unpatch_object};
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{ModState, Site, Split, State, Warn};
use crate::variant::{
    KlpAlive, LateModulePatching, ModuleLoadDuringTransition, NullifyObjMod, TransitionPatchModuleCallbacks,
};

/// `klp_find_object_module()` from `klp_init_object()`: bind `obj->mod` only if the module is
/// found by `find_module()` (formed and not yet freed) and `mod->klp_alive`. Knob `klp_alive =
/// "ignored"` (v3.19) binds whatever `find_module()` finds.
pub(super) fn klp_find_object_module(spec: &Spec, st: &State, obj: ObjId) -> bool {
    match spec.objs[obj as usize].module {
        None => false,
        Some(m) => {
            let r = st.mods[m as usize];
            r.state != ModState::Unloaded
                && (r.klp_alive
                    || spec.variant.klp_alive == KlpAlive::Ignored
                    || spec.mutated(Mutation::BindWithoutKlpAlive))
        }
    }
}

/// The object of patch `p` for module `m`, if the patch has one (the loop over
/// `klp_for_each_object()` that skips objects of other modules).
fn object_for_module(spec: &Spec, st: &State, p: PatchId, m: ModId) -> Option<ObjId> {
    spec.patches[p as usize]
        .objs
        .iter()
        .copied()
        .find(|&o| st.objs[o as usize].exists && spec.objs[o as usize].module == Some(m))
}

/// `klp_module_coming()` from `prepare_coming_module()`: patch the coming module for every
/// patch on `klp_patches`, oldest first. Returns 0, or the errno that refuses the module.
/// Atomic because: `klp_mutex`; the module's code has not run yet (its init comes later), so
/// no task can observe its functions half patched. (Under `module_hooks_order =
/// "inside_init_exit"` it runs after the init: then that does not hold.)
pub fn klp_module_coming(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) -> i32 {
    st.reach(Site::ModuleComing);
    // WARN_ON(mod->state != MODULE_STATE_COMING).
    if !st.mods[m as usize].state.is_coming() {
        st.warn(Warn::ModuleState);
    }
    if spec.variant.module_load_during_transition == ModuleLoadDuringTransition::Refused
        && st.klp_transition_patch.is_some()
    {
        // Design variant: no module loads while a transition runs.
        let mn = &spec.modules[m as usize].name;
        log.line(|| format!("livepatch: refusing to load module '{mn}' during a livepatch transition"));
        return EBUSY;
    }
    st.mods[m as usize].klp_alive = true;
    if spec.mutated(Mutation::ComingSkipsPatches) || !loader_patches_modules(spec) {
        return 0;
    }
    for p in st.klp_patches {
        if spec.mutated(Mutation::ComingSkipsTransitionPatch) && st.klp_transition_patch == Some(p) {
            continue;
        }
        let Some(o) = object_for_module(spec, st, p, m) else { continue };
        st.objs[o as usize].mod_bound = true;
        // The registration API: "Only patch the module if the patch is enabled or is in
        // transition."
        if klp_registered_disabled(spec, st, p) {
            continue;
        }
        let (pn, mn) = (&spec.patches[p as usize].name, &spec.modules[m as usize].name);
        log.line(|| format!("livepatch: applying patch '{pn}' to loading module '{mn}'"));
        let ret = klp_pre_patch_callback(spec, st, o, log);
        if ret != 0 {
            log.line(|| format!("livepatch: pre-patch callback failed for object '{mn}'"));
            return refuse_module(spec, st, m, p, o, ret, log);
        }
        if st.klp_transition_patch == Some(p) && st.split == Some(Split::TransitionUnseen) {
            // barriers = no_disable_wmb: klp_patch_object() publishes the transition patch's
            // funcs with list_add_rcu() (a release store) after taking klp_mutex, which the
            // disabling CPU released after its func->transition writes, so a handler reaching
            // them sees their flag. Conservative: the lag ends for every func of the patch here
            // (it hides executions where the older funcs still lag, never adds one).
            st.split = None;
        }
        let ret = klp_patch_object(spec, st, o, log);
        if ret != 0 {
            log.line(|| format!("livepatch: failed to apply patch '{pn}' to module '{mn}' ({ret})"));
            klp_post_unpatch_callback(spec, st, o, log);
            return refuse_module(spec, st, m, p, o, ret, log);
        }
        // Knob transition_patch_module_callbacks = "run": the guard dropped.
        if st.klp_transition_patch != Some(p)
            || transition_patch_callbacks_run(spec)
            || spec.mutated(Mutation::PostPatchForTransitionPatchOnComing)
        {
            klp_post_patch_callback(spec, st, o, log);
        }
    }
    0
}

/// `klp_module_coming()`'s `err:` path (patch `p`'s object `o` failed): refuse the module and
/// revert the objects the patches before `p` applied to it. Returns `ret`.
fn refuse_module(spec: &Spec, st: &mut State, m: ModId, p: PatchId, o: ObjId, ret: i32, log: &mut impl Log) -> i32 {
    let (pn, mn) = (&spec.patches[p as usize].name, &spec.modules[m as usize].name);
    log.line(|| format!("livepatch: patch '{pn}' failed for module '{mn}', refusing to load module '{mn}'"));
    st.mods[m as usize].klp_alive = false;
    // Knob `nullify_obj_mod_on_coming_error = "no"` (before v5.4): obj->mod is left
    // pointing at the module whose load is refused.
    if spec.variant.nullify_obj_mod_on_coming_error == NullifyObjMod::Yes {
        st.objs[o as usize].mod_bound = false;
    }
    klp_cleanup_module_patches_limited(spec, st, m, Some(p), log);
    ret
}

/// `module_load_during_transition = blocked`: `klp_module_coming()` finds a transition in
/// progress and sleeps (the module goes to [`ModState::KlpWait`]) until `klp_transition_patch`
/// is NULL. Atomic because: it reads `klp_transition_patch` under `klp_mutex` and drops it to
/// sleep; a waiting module runs no code.
pub fn klp_module_coming_waits(spec: &Spec, st: &State) -> bool {
    spec.variant.module_load_during_transition == ModuleLoadDuringTransition::Blocked
        && st.klp_transition_patch.is_some()
}

/// `klp_cleanup_module_patches_limited()`: revert the module's objects of every patch before
/// `limit`, at once for all tasks (the module's code no longer runs).
fn klp_cleanup_module_patches_limited(
    spec: &Spec,
    st: &mut State,
    m: ModId,
    limit: Option<PatchId>,
    log: &mut impl Log,
) {
    for p in st.klp_patches {
        if Some(p) == limit {
            break;
        }
        let Some(o) = object_for_module(spec, st, p, m) else { continue };
        // The registration API: a registered, disabled patch is only unbound.
        if klp_registered_disabled(spec, st, p) {
            st.objs[o as usize].mod_bound = false;
            continue;
        }
        if !loader_patches_modules(spec) && !st.objs[o as usize].mod_bound {
            // Design variants where the loader does not patch: an object the module never
            // bound (it loaded after the patch) was never patched; nothing to revert.
            continue;
        }
        if st.klp_transition_patch != Some(p)
            || spec.mutated(Mutation::PreUnpatchForTransitionPatchOnGoing)
            || transition_patch_callbacks_run(spec)
        {
            klp_pre_unpatch_callback(spec, st, o, log);
        }
        let (pn, mn) = (&spec.patches[p as usize].name, &spec.modules[m as usize].name);
        log.line(|| format!("livepatch: reverting patch '{pn}' on unloading module '{mn}'"));
        klp_unpatch_object(spec, st, o, false);
        if !spec.mutated(Mutation::GoingSkipsPostUnpatch) {
            klp_post_unpatch_callback(spec, st, o, log);
        }
        // klp_free_object_loaded(): obj->mod = NULL.
        st.objs[o as usize].mod_bound = false;
    }
}

/// `klp_module_going()` from `delete_module()` after `mod->exit()`, from `do_init_module()`'s
/// error path (the module GOING), or from `prepare_coming_module()` when its notifier chain
/// failed (the module still COMING): revert the module's objects of every patch.
/// Atomic because: `klp_mutex`; the module's init or exit has returned (or never ran), nobody
/// calls into it any more.
pub fn klp_module_going(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    st.reach(Site::ModuleGoing);
    // WARN_ON(mod->state != MODULE_STATE_GOING && mod->state != MODULE_STATE_COMING).
    let s = st.mods[m as usize].state;
    if !s.is_going() && !s.is_coming() {
        st.warn(Warn::ModuleState);
    }
    st.mods[m as usize].klp_alive = false;
    klp_cleanup_module_patches_limited(spec, st, m, None, log);
}

/// Knob `transition_patch_module_callbacks = "run"`: the `patch != klp_transition_patch`
/// guards of `klp_module_coming()` (post_patch) and `klp_cleanup_module_patches_limited()`
/// (pre_unpatch) dropped.
fn transition_patch_callbacks_run(spec: &Spec) -> bool {
    spec.variant.transition_patch_module_callbacks == TransitionPatchModuleCallbacks::Run
}

/// Whether the module loader patches a coming module (`klp_module_coming()` applying the
/// patches on `klp_patches`), per the `late_module_patching` knob: only upstream does.
pub fn loader_patches_modules(spec: &Spec) -> bool {
    spec.variant.late_module_patching == LateModulePatching::OnComing
}
