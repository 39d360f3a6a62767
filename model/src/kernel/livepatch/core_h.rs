//! kernel/livepatch/core.h: `klp_is_object_loaded()` and the callback wrappers
//! (`klp_pre_patch_callback()` ... `klp_post_unpatch_callback()`), each printing the line the
//! selftests' demo callbacks print, plus the ghost bookkeeping the callback properties read
//! (what each object's callbacks set up and have not undone: [`CallbackSetup`]).

use crate::ids::*;
use crate::kernel::livepatch::shadow::callback_free_all;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::{CallbackKind, Spec};
use crate::state::{CallbackSetup, Event, ModState, Site, State};
use crate::test_modules::test_klp_state;

/// The patch an object belongs to.
fn patch_of(spec: &Spec, obj: ObjId) -> PatchId {
    spec.objs[obj as usize].patch
}

/// `klp_is_object_loaded()`: `!obj->name || obj->mod`.
pub fn klp_is_object_loaded(spec: &Spec, st: &State, obj: ObjId) -> bool {
    spec.objs[obj as usize].module.is_none() || st.objs[obj as usize].mod_bound
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
    let in_memory = spec.objs[obj as usize].module.is_none_or(|m| st.mods[m as usize].state != ModState::Unloaded);
    if !klp_is_object_loaded(spec, st, obj) || !in_memory {
        st.event(Event::CallbackUnloaded);
    }
}

/// `klp_pre_patch_callback()`: runs the callback if any; `post_unpatch_enabled = !ret`. The
/// callback returns the patch module's `pre_patch_ret` parameter once the insmod line or a
/// sysfs write set it (test_klp_callbacks_demo.c: every object's `pre_patch_callback()`
/// returns it), the scenario's declared value otherwise.
pub fn klp_pre_patch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) -> i32 {
    let param = st.patches[spec.objs[obj as usize].patch as usize].pre_patch_ret;
    let ret = match spec.objs[obj as usize].callbacks.pre_patch {
        Some(declared) => {
            st.reach(Site::PrePatchCallback);
            check_loaded(spec, st, obj);
            log.line(|| callback_line(spec, st, obj, "pre_patch_callback"));
            callback_free_all(spec, st, obj, CallbackKind::PrePatch);
            match spec.objs[obj as usize].callbacks.klp_state {
                Some(how) => test_klp_state::allocate_loglevel_state(spec, st, patch_of(spec, obj), how, log),
                None => param.map_or(declared, i32::from),
            }
        }
        None => 0,
    };
    st.objs[obj as usize].post_unpatch_enabled = ret == 0;
    st.cb_setup[obj as usize].pre_patch = ret == 0;
    ret
}

/// `klp_post_patch_callback()`.
pub fn klp_post_patch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    // post_patch_paired: once per pre_patch, and only once every task of its patch's transition
    // switched (callbacks.rst: "after a klp_object has been patched and is active across all
    // tasks").
    let p = spec.objs[obj as usize].patch;
    let target = st.klp_target_state;
    let unswitched = st.klp_transition_patch == Some(p)
        && st.tasks.iter().any(|t| t.patch_state != target && t.patch_state != crate::task::PatchState::Idle);
    let setup = st.cb_setup[obj as usize];
    if setup.post_patch || !setup.pre_patch || unswitched {
        st.event(Event::PostPatchUnpaired);
    }
    if spec.objs[obj as usize].callbacks.post_patch {
        st.reach(Site::PostPatchCallback);
        check_loaded(spec, st, obj);
        log.line(|| callback_line(spec, st, obj, "post_patch_callback"));
        callback_free_all(spec, st, obj, CallbackKind::PostPatch);
        if let Some(how) = spec.objs[obj as usize].callbacks.klp_state {
            test_klp_state::fix_console_loglevel(spec, st, p, how, log);
        }
    }
    st.cb_setup[obj as usize].post_patch = true;
}

/// An unpatch callback undid what its patch callback set up, for a patch with `klp_state`s:
/// the partner of `callback_side_effects_undone` is reached.
fn state_released(spec: &Spec, st: &mut State, obj: ObjId, undone: bool) {
    if undone && tracks_state(spec, obj) {
        st.reach(Site::CallbackStateReleased);
    }
}

/// `klp_pre_unpatch_callback()`.
pub fn klp_pre_unpatch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    if !st.cb_setup[obj as usize].post_patch {
        st.event(Event::PreUnpatchUnpaired);
    }
    if spec.objs[obj as usize].callbacks.pre_unpatch {
        st.reach(Site::PreUnpatchCallback);
        check_loaded(spec, st, obj);
        log.line(|| callback_line(spec, st, obj, "pre_unpatch_callback"));
        callback_free_all(spec, st, obj, CallbackKind::PreUnpatch);
        if let Some(how) = spec.objs[obj as usize].callbacks.klp_state {
            test_klp_state::restore_console_loglevel(spec, st, patch_of(spec, obj), how, log);
        }
    }
    let undoes = spec.objs[obj as usize].callbacks.post_patch;
    state_released(spec, st, obj, st.cb_setup[obj as usize].post_patch && undoes);
    st.cb_setup[obj as usize].post_patch = false;
}

/// `klp_post_unpatch_callback()`: only if `post_unpatch_enabled`, which it then clears.
pub fn klp_post_unpatch_callback(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) {
    if st.objs[obj as usize].post_unpatch_enabled || spec.mutated(Mutation::IgnorePostUnpatchEnabled) {
        if !st.cb_setup[obj as usize].pre_patch {
            st.event(Event::PostUnpatchUnpaired);
        }
        if spec.objs[obj as usize].callbacks.post_unpatch {
            st.reach(Site::PostUnpatchCallback);
            check_loaded(spec, st, obj);
            log.line(|| callback_line(spec, st, obj, "post_unpatch_callback"));
            callback_free_all(spec, st, obj, CallbackKind::PostUnpatch);
            if let Some(how) = spec.objs[obj as usize].callbacks.klp_state {
                test_klp_state::free_loglevel_state(spec, st, patch_of(spec, obj), how, log);
            }
        }
        let undoes = spec.objs[obj as usize].callbacks.pre_patch.is_some();
        state_released(spec, st, obj, st.cb_setup[obj as usize].pre_patch && undoes);
        st.cb_setup[obj as usize].pre_patch = false;
    }
    st.objs[obj as usize].post_unpatch_enabled = false;
}

/// Whether the callbacks of `obj`'s patch set up system state the model tracks: the patch
/// declares `klp_state`s (Documentation/livepatch/system-state.rst: a `struct klp_state` stands
/// for a system state modification done by the callbacks).
fn tracks_state(spec: &Spec, obj: ObjId) -> bool {
    !spec.patches[spec.objs[obj as usize].patch as usize].states.is_empty()
}

/// Ghost accounting for the property `callback_side_effects_undone` when patch `q` is freed
/// (`klp_free_patch_start()`): state that a pre_patch (post_patch) callback of one of its
/// objects set up and that no post_unpatch (pre_unpatch) undid must have been taken over
/// explicitly: the patch replacing `q` (an enabled replace patch still on `klp_patches`)
/// declares one of `q`'s `klp_state` ids (test-state.sh: `klp_get_prev_state()`) and has an
/// object of the same object name whose matching callback ran (the callback that takes the
/// state over). Otherwise the state leaks ([`Event::CallbackStateLeaked`]).
pub fn account_callback_state_on_free(spec: &Spec, st: &mut State, q: PatchId) {
    let qs = &spec.patches[q as usize];
    if qs.states.is_empty() {
        return;
    }
    let successor = st
        .klp_patches
        .iter()
        .copied()
        .rev()
        .find(|&s| s != q && spec.patches[s as usize].replace && st.patches[s as usize].enabled);
    for &o in &qs.objs {
        let cb = spec.objs[o as usize].callbacks;
        let CallbackSetup { pre_patch: pre, post_patch: post } = st.cb_setup[o as usize];
        let live_pre = pre && cb.pre_patch.is_some();
        let live_post = post && cb.post_patch;
        if !live_pre && !live_post {
            continue;
        }
        let taken_over = |pre_patch: bool| {
            successor.is_some_and(|s| {
                let ss = &spec.patches[s as usize];
                ss.states.iter().any(|x| qs.states.iter().any(|y| y.0 == x.0))
                    && ss.objs.iter().any(|&so| {
                        let sos = &spec.objs[so as usize];
                        let ran = if pre_patch {
                            sos.callbacks.pre_patch.is_some() && st.cb_setup[so as usize].pre_patch
                        } else {
                            sos.callbacks.post_patch && st.cb_setup[so as usize].post_patch
                        };
                        !sos.dynamic && sos.module == spec.objs[o as usize].module && ran
                    })
            })
        };
        if (live_pre && !taken_over(true)) || (live_post && !taken_over(false)) {
            st.event(Event::CallbackStateLeaked);
        } else {
            st.reach(Site::CallbackStateReleased);
        }
    }
}
