//! Enabling, disabling and freeing patches, sysfs writes, and the module loader hooks
//! (kernel/livepatch/core.c, kernel/module/main.c). Each public function is one model step
//! taken with `klp_mutex` held unless its doc says otherwise.

use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::patch::*;
pub use crate::registration::*;
use crate::spec::Spec;
use crate::state::{ModState, Pass, PatchLife, Site, State, Warn};
use crate::task::PatchState;
use crate::transition::*;
use crate::variant::{
    Barriers, KlpAlive, LateModulePatching, ModuleLoadDuringTransition, NullifyObjMod, Permission, ReenableDisabled,
};

/// errno names as insmod/modprobe/the shell print them.
pub fn strerror(errno: i32) -> &'static str {
    match -errno {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        12 => "Cannot allocate memory",
        16 => "Device or resource busy",
        17 => "File exists",
        19 => "No such device",
        22 => "Invalid argument",
        _ => "Unknown error",
    }
}

/// `klp_is_patch_compatible()` (state.c): every state of every patch on `klp_patches` is
/// handled by the new patch with the same or a higher version; a non-replace patch may leave a
/// state alone.
pub fn klp_is_patch_compatible(spec: &Spec, st: &State, p: PatchId) -> bool {
    if spec.mutated(Mutation::SkipCompatCheck) {
        return true;
    }
    let new = &spec.patches[p as usize];
    st.klp_patches.iter().all(|&old| {
        spec.patches[old as usize].states.iter().all(|&(id, ver)| match new.states.iter().find(|s| s.0 == id) {
            None => !new.replace,
            Some(&(_, v)) => v >= ver,
        })
    })
}

/// `klp_find_object_module()` from `klp_init_object()`: bind `obj->mod` only if the module is
/// found by `find_module()` (formed and not yet freed) and `mod->klp_alive`. Knob `klp_alive =
/// "ignored"` (v3.19) binds whatever `find_module()` finds.
fn klp_find_object_module(spec: &Spec, st: &State, obj: ObjId) -> bool {
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

/// `insmod <patch>.ko` → the module's init → `klp_enable_patch()`, up to and including the
/// start of the first `klp_try_complete_transition()` pass (which then runs step by step,
/// still holding `klp_mutex`). Returns 0 or the errno insmod reports.
/// Atomic because: `klp_mutex` is held from the compatibility check to the end of the first
/// pass; until `klp_start_transition()` sets TIF_PATCH_PENDING the only lock-free readers are
/// handlers, which see the new funcs with `transition` set and every task UNPATCHED (barriers
/// W1, W2), i.e. the code they ran before.
pub fn klp_enable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    let pi = p as usize;
    if !klp_is_patch_compatible(spec, st, p) {
        log.line(|| {
            format!(
                "livepatch: Livepatch patch ({}) is not compatible with the already installed livepatches.",
                spec.patches[pi].name
            )
        });
        return -22;
    }
    if spec.variant.late_module_patching == LateModulePatching::RequireLoaded {
        // Design variant: klp_init_object() fails when find_module() finds no live module.
        let unloaded = spec.patches[pi].objs.iter().copied().find(|&o| {
            let os = &spec.objs[o as usize];
            !os.dynamic && os.module.is_some() && !klp_find_object_module(spec, st, o)
        });
        if let Some(o) = unloaded {
            log.line(|| {
                format!(
                    "livepatch: patch '{}': target module '{}' is not loaded",
                    spec.patches[pi].name,
                    spec.obj_name(spec.objs[o as usize].module)
                )
            });
            return -19;
        }
    }
    // try_module_get(patch->mod) succeeds: the module is COMING.
    st.patches[pi] = crate::state::PatchRt { life: PatchLife::Listed, enabled: false, forced: false };
    // klp_init_patch(): klp_add_nops() for a replace patch, then klp_init_object().
    for &o in &spec.patches[pi].objs {
        let os = &spec.objs[o as usize];
        let mut any = !os.dynamic;
        for &k in &os.funcs {
            let ks = &spec.klp_funcs[k as usize];
            let exists = !ks.nop || st.klp_patches.iter().any(|&q| patches_func(spec, st, q, ks.old_func));
            st.funcs[k as usize] = crate::state::FuncRt { exists, patched: false, transition: false };
            any |= exists;
        }
        st.objs[o as usize] = crate::state::ObjRt {
            exists: any,
            mod_bound: any && klp_find_object_module(spec, st, o),
            patched: false,
            post_unpatch_enabled: false,
        };
        st.cb_setup[o as usize] = (false, false);
    }
    st.klp_patches.push(p);
    let ret = if klp_stacking_refuses_enable(spec, st, p) { -16 } else { __klp_enable_patch(spec, st, p, log) };
    if ret != 0 {
        // klp_free_patch_start() + klp_free_patch_finish() (module_put), and the module's
        // init fails, so the livepatch module goes away.
        klp_free_patch_start(spec, st, p);
        st.patches[pi].life = PatchLife::Unloaded;
    }
    ret
}

/// Does patch `q` have a func (static, or an existing nop) for `f`? (`klp_add_nops()` walks
/// every func of every object of every patch on `klp_patches`.)
fn patches_func(spec: &Spec, st: &State, q: PatchId, f: FuncId) -> bool {
    spec.patches[q as usize].objs.iter().any(|&o| {
        spec.objs[o as usize]
            .funcs
            .iter()
            .any(|&k| st.funcs[k as usize].exists && spec.klp_funcs[k as usize].old_func == f)
    })
}

/// `__klp_enable_patch()`.
fn __klp_enable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    if st.klp_transition_patch.is_some() {
        return -16;
    }
    let name = &spec.patches[p as usize].name;
    log.line(|| format!("livepatch: enabling patch '{name}'"));
    klp_init_transition(spec, st, p, PatchState::Patched, log);
    crate::replace::pre_unpatch_replaced(spec, st, p, None, log);
    for &o in &spec.patches[p as usize].objs {
        if !st.objs[o as usize].exists
            || (!klp_is_object_loaded(spec, st, o) && !spec.mutated(Mutation::CallbacksForUnloadedObjects))
        {
            continue;
        }
        crate::replace::pre_unpatch_replaced(spec, st, p, Some(o), log);
        if spec.mutated(Mutation::PatchObjectBeforePrePatch) {
            klp_patch_object(spec, st, o);
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
        klp_patch_object(spec, st, o);
    }
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = true;
    klp_try_complete_transition(spec, st, log);
    0
}

/// `__klp_disable_patch()`: `echo 0 > enabled` on an enabled patch that is not in transition.
/// Atomic because: `klp_mutex`; `klp_init_transition()` is invisible to handlers (W1), the
/// pre_unpatch callbacks run while every task still runs the new code, and the `smp_wmb()`
/// before `klp_start_transition()` orders `func->transition` before TIF (W3).
pub fn __klp_disable_patch(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    st.reach(Site::DisablePatch);
    if !st.patches[p as usize].enabled {
        st.warn(Warn::DisableNotEnabled);
        return -22;
    }
    if st.klp_transition_patch.is_some() || klp_stacking_refuses_disable(spec, st, p) {
        return -16;
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
            st.split = Some(crate::ordering::Split::DisableInitialised);
            return 0;
        }
        // No smp_wmb() here: TIF may be seen before func->transition.
        Barriers::NoDisableWmb => st.split = Some(crate::ordering::Split::TransitionUnseen),
        _ => {}
    }
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = false;
    klp_try_complete_transition(spec, st, log);
    0
}

/// `enabled_store()`: `echo <val> > /sys/kernel/livepatch/<p>/enabled`. Returns 0 or -errno.
pub fn enabled_store(spec: &Spec, st: &mut State, p: PatchId, val: bool, log: &mut impl Log) -> i32 {
    if st.patches[p as usize].life != PatchLife::Listed {
        return -2; // The sysfs directory is gone.
    }
    if st.patches[p as usize].enabled == val && !spec.mutated(Mutation::EnabledStoreSkipsSameValueCheck) {
        return -22;
    }
    if !enabled_store_permitted(spec, st, p) {
        // Design variants: reverse_transition = banned (-EBUSY), disable = banned (-EPERM).
        return if st.klp_transition_patch == Some(p) { -16 } else { -1 };
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
            return -16;
        }
        __klp_enable_patch(spec, st, p, log)
    } else {
        -22 // "Do not allow to re-enable a disabled patch."
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
    if st.patches[p as usize].life != PatchLife::Listed {
        return -2;
    }
    if st.klp_transition_patch != Some(p) {
        return -22;
    }
    klp_force_transition(spec, st, log);
    0
}

/// `klp_try_complete_transition()` as called at the end of enable/disable and from
/// `klp_transition_work_fn()`: begins a pass over the tasks (holding `klp_mutex`).
pub fn klp_try_complete_transition(spec: &Spec, st: &mut State, log: &mut impl Log) {
    st.reach(Site::TryCompleteTransition);
    if st.klp_target_state == PatchState::Idle {
        st.warn(Warn::TargetIdle);
    }
    if crate::transition::immediate(spec, st) {
        // v4.12..v4.15: "skip the per-task transitions" (`goto success`).
        let p = st.klp_transition_patch.expect("transition patch");
        klp_complete_transition(spec, st, log);
        free_after_complete(spec, st, p);
        return;
    }
    st.pass = Some(Pass { next: 0, complete: true });
    advance_pass(spec, st, log);
}

/// Moves the pass past tasks it would not change (already at the target, or not yet forked:
/// `klp_try_switch_task()` returns true at once for the first, and the task list does not
/// hold the second) and, at the end of the task list, finishes it: complete the transition, or
/// drop `klp_mutex` and re-arm the delayed work.
pub fn advance_pass(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let Some(mut pass) = st.pass else { return };
    let target = st.klp_target_state;
    while (pass.next as usize) < st.tasks.len() {
        let t = &st.tasks[pass.next as usize];
        if t.context == crate::task::Context::Unborn || t.patch_state == target {
            pass.next += 1;
        } else {
            break;
        }
    }
    if (pass.next as usize) < st.tasks.len() {
        st.pass = Some(pass);
        return;
    }
    st.pass = None;
    if pass.complete || spec.mutated(Mutation::CompleteDespiteFailedSwitch) {
        if spec.variant.synchronize_transition != crate::variant::SynchronizeTransition::All
            || crate::ordering::handler_split(spec)
        {
            // Split at its synchronize calls: one model step per part (transition.rs).
            st.completing = Some(crate::state::Completing::Begin);
            return;
        }
        let p = st.klp_transition_patch.expect("transition patch");
        klp_complete_transition(spec, st, log);
        free_after_complete(spec, st, p);
    }
}

/// One `klp_try_switch_task()` of the running pass.
pub fn pass_try_switch(spec: &Spec, st: &mut State, log: &mut impl Log) {
    let Some(mut pass) = st.pass else { return };
    if !klp_try_switch_task(spec, st, pass.next, log) {
        pass.complete = false;
    }
    pass.next += 1;
    st.pass = Some(pass);
    advance_pass(spec, st, log);
}

/// `klp_free_patch_start()`: take the patch off `klp_patches` and free its objects (the
/// kobjects go; `klp_free_patch_finish()` runs later from a work item).
pub fn klp_free_patch_start(spec: &Spec, st: &mut State, p: PatchId) {
    account_callback_state_on_free(spec, st, p);
    st.klp_patches.retain(|q| *q != p);
    st.patches[p as usize].life = PatchLife::Freeing;
    for &o in &spec.patches[p as usize].objs {
        st.objs[o as usize] = Default::default();
        st.cb_setup[o as usize] = (false, false);
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

/// `klp_module_coming()` from `prepare_coming_module()`: patch the coming module for every
/// patch on `klp_patches`, oldest first. Returns 0, or the errno that refuses the module.
/// Atomic because: `klp_mutex`; the module's code has not run yet (its init comes later), so
/// no task can observe its functions half patched.
pub fn klp_module_coming(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) -> i32 {
    st.reach(Site::ModuleComing);
    if !matches!(st.mods[m as usize].state, ModState::Formed | ModState::KlpWait) {
        st.warn(Warn::ModuleState);
    }
    if spec.variant.module_load_during_transition == ModuleLoadDuringTransition::Refused
        && st.klp_transition_patch.is_some()
    {
        // Design variant: no module loads while a transition runs.
        let mn = &spec.modules[m as usize].name;
        log.line(|| format!("livepatch: refusing to load module '{mn}' during a livepatch transition"));
        return -16;
    }
    st.mods[m as usize].klp_alive = true;
    if spec.mutated(Mutation::ComingSkipsPatches) || !loader_patches_modules(spec) {
        return 0;
    }
    for p in st.klp_patches.clone() {
        if spec.mutated(Mutation::ComingSkipsTransitionPatch) && st.klp_transition_patch == Some(p) {
            continue;
        }
        let Some(o) = spec.patches[p as usize]
            .objs
            .iter()
            .copied()
            .find(|&o| st.objs[o as usize].exists && spec.objs[o as usize].module == Some(m))
        else {
            continue;
        };
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
            log.line(|| format!("livepatch: patch '{pn}' failed for module '{mn}', refusing to load module '{mn}'"));
            st.mods[m as usize].klp_alive = false;
            // Knob `nullify_obj_mod_on_coming_error = "no"` (before v5.4): obj->mod is left
            // pointing at the module whose load is refused.
            if spec.variant.nullify_obj_mod_on_coming_error == NullifyObjMod::Yes {
                st.objs[o as usize].mod_bound = false;
            }
            klp_cleanup_module_patches_limited(spec, st, m, Some(p), log);
            return ret;
        }
        if st.klp_transition_patch == Some(p) {
            crate::ordering::publish_transition_funcs(st);
        }
        klp_patch_object(spec, st, o);
        if st.klp_transition_patch != Some(p) {
            klp_post_patch_callback(spec, st, o, log);
        }
    }
    0
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
    for p in st.klp_patches.clone() {
        if Some(p) == limit {
            break;
        }
        let Some(o) = spec.patches[p as usize]
            .objs
            .iter()
            .copied()
            .find(|&o| st.objs[o as usize].exists && spec.objs[o as usize].module == Some(m))
        else {
            continue;
        };
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
        if st.klp_transition_patch != Some(p) || spec.mutated(Mutation::PreUnpatchForTransitionPatchOnGoing) {
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

/// `klp_module_going()` from `delete_module()` after `mod->exit()` (or from the loader's
/// error path): revert the module's objects of every patch.
/// Atomic because: `klp_mutex`; the module's exit has run, nobody calls into it any more.
pub fn klp_module_going(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    st.reach(Site::ModuleGoing);
    if st.mods[m as usize].state != ModState::Going {
        st.warn(Warn::ModuleState);
    }
    st.mods[m as usize].klp_alive = false;
    klp_cleanup_module_patches_limited(spec, st, m, None, log);
}
