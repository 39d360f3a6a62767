//! Adding and removing funcs on `func_stack`s (kernel/livepatch/patch.c) and the callback
//! wrappers of kernel/livepatch/core.h.

use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::{Event, Site, State};
use crate::task::PatchState;

/// `klp_is_object_loaded()` (core.h): `!obj->name || obj->mod`.
pub fn klp_is_object_loaded(spec: &Spec, st: &State, obj: ObjId) -> bool {
    spec.objs[obj as usize].module.is_none() || st.objs[obj as usize].mod_bound
}

/// `klp_patch_object()`: push every func of `obj` on its function's func_stack
/// (`list_add_rcu()` at the head) and mark it patched.
pub fn klp_patch_object(spec: &Spec, st: &mut State, obj: ObjId) {
    if !st.cb_setup[obj as usize].0 {
        st.event(Event::PatchedBeforePrePatch);
    }
    for &k in &spec.objs[obj as usize].funcs {
        let f = &mut st.funcs[k as usize];
        if f.exists && !f.patched {
            f.patched = true;
            let stack = &mut st.func_stacks[spec.klp_funcs[k as usize].old_func as usize];
            if spec.mutated(Mutation::PushFuncAtBottom) {
                stack.insert(0, k);
            } else {
                stack.push(k);
            }
        }
    }
    st.objs[obj as usize].patched = true;
}

/// `__klp_unpatch_object()`: remove the object's funcs (or only its nops) from their
/// func_stacks. When the last func of a function goes, `klp_unpatch_func()` unregisters the
/// ftrace handler (`unregister_ftrace_function()` waits for running handlers).
pub fn klp_unpatch_object(spec: &Spec, st: &mut State, obj: ObjId, nops_only: bool) {
    for &k in &spec.objs[obj as usize].funcs {
        let ks = &spec.klp_funcs[k as usize];
        if nops_only && !ks.nop {
            continue;
        }
        if st.funcs[k as usize].patched {
            st.funcs[k as usize].patched = false;
            if !spec.mutated(Mutation::KeepFuncOnUnpatch) {
                st.func_stacks[ks.old_func as usize].retain(|&x| x != k);
            }
        }
    }
    if spec.objs[obj as usize].dynamic || !nops_only {
        st.objs[obj as usize].patched = false;
    }
}

/// `klp_unpatch_objects()`: every patched object of the patch.
pub fn klp_unpatch_objects(spec: &Spec, st: &mut State, p: PatchId, nops_only: bool) {
    for &o in &spec.patches[p as usize].objs {
        if st.objs[o as usize].patched {
            klp_unpatch_object(spec, st, o, nops_only);
        }
    }
}

fn callback_line(spec: &Spec, st: &State, obj: ObjId, which: &str) -> String {
    let o = &spec.objs[obj as usize];
    let patch = &spec.patches[o.patch as usize].name;
    match o.module {
        None => format!("{patch}: {which}: vmlinux"),
        Some(m) => format!(
            "{patch}: {which}: {} -> {}",
            spec.modules[m as usize].name,
            crate::dmesg::module_state_str(st.mods[m as usize].state)
        ),
    }
}

/// The callback's object must really be loaded: vmlinux, or a module that is bound to the
/// object and still in memory (not freed: a stale `obj->mod` makes `klp_is_object_loaded()`
/// true for a module whose load was refused, knob `nullify_obj_mod_on_coming_error = "no"`).
fn check_loaded(spec: &Spec, st: &mut State, obj: ObjId) {
    let in_memory =
        spec.objs[obj as usize].module.is_none_or(|m| st.mods[m as usize].state != crate::state::ModState::Unloaded);
    if !klp_is_object_loaded(spec, st, obj) || !in_memory {
        st.event(Event::CallbackUnloaded);
    }
}

/// `klp_pre_patch_callback()`: runs the callback if any; `post_unpatch_enabled = !ret`.
pub fn klp_pre_patch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) -> i32 {
    let ret = match spec.objs[obj as usize].callbacks.pre_patch {
        Some(ret) => {
            st.reach(Site::PrePatchCallback);
            check_loaded(spec, st, obj);
            log.line(|| callback_line(spec, st, obj, "pre_patch_callback"));
            ret
        }
        None => 0,
    };
    st.objs[obj as usize].post_unpatch_enabled = ret == 0;
    st.cb_setup[obj as usize].0 = ret == 0;
    ret
}

/// `klp_post_patch_callback()`.
pub fn klp_post_patch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    if spec.objs[obj as usize].callbacks.post_patch {
        st.reach(Site::PostPatchCallback);
        check_loaded(spec, st, obj);
        log.line(|| callback_line(spec, st, obj, "post_patch_callback"));
    }
    st.cb_setup[obj as usize].1 = true;
}

/// `klp_pre_unpatch_callback()`.
pub fn klp_pre_unpatch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    if !st.cb_setup[obj as usize].1 {
        st.event(Event::PreUnpatchUnpaired);
    }
    if spec.objs[obj as usize].callbacks.pre_unpatch {
        st.reach(Site::PreUnpatchCallback);
        check_loaded(spec, st, obj);
        log.line(|| callback_line(spec, st, obj, "pre_unpatch_callback"));
    }
    st.cb_setup[obj as usize].1 = false;
}

/// `klp_post_unpatch_callback()`: only if `post_unpatch_enabled`, which it then clears.
pub fn klp_post_unpatch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    if st.objs[obj as usize].post_unpatch_enabled || spec.mutated(Mutation::IgnorePostUnpatchEnabled) {
        if !st.cb_setup[obj as usize].0 {
            st.event(Event::PostUnpatchUnpaired);
        }
        if spec.objs[obj as usize].callbacks.post_unpatch {
            st.reach(Site::PostUnpatchCallback);
            check_loaded(spec, st, obj);
            log.line(|| callback_line(spec, st, obj, "post_unpatch_callback"));
        }
        st.cb_setup[obj as usize].0 = false;
    }
    st.objs[obj as usize].post_unpatch_enabled = false;
}

/// Whether every live task is at `target` (what a complete pass established).
pub fn all_tasks_at(st: &State, target: PatchState) -> bool {
    st.tasks.iter().all(|t| t.context == crate::task::Context::Unborn || t.patch_state == target)
}
