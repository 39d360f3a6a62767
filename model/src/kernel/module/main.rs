//! kernel/module/main.c: the module loader and `delete_module()`, as far as livepatch sees
//! them. A target module's load is split where the loader drops locks and other CPUs can
//! act: `complete_formation()` (the module is COMING and visible to `find_module()`), then
//! `prepare_coming_module()` → `klp_module_coming()`, then `do_init_module()` (LIVE); its
//! removal: `delete_module()` (GOING, `mod->exit()`), then `klp_module_going()`, then
//! `free_module()`. A livepatch module is loaded and removed in one step each: its init is
//! `klp_enable_patch()` (one `klp_mutex` step), and its removal needs its reference count at 0.

use crate::errno::*;
use crate::ids::*;
use crate::kernel::livepatch::core::klp_enable_patch;
use crate::kernel::livepatch::core::module::{klp_module_coming, klp_module_coming_waits, klp_module_going};
use crate::kernel::livepatch::core::registration::{klp_holds_module_ref, klp_unload_livepatch_module};
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::{AdminOp, Spec};
use crate::state::{ModRt, ModState, PatchLife, State};

/// `insmod <patch>.ko`: `load_module()` of a livepatch module, whose init calls
/// `klp_enable_patch()`. Returns 0 or the errno insmod reports.
/// Atomic because: `klp_enable_patch()` holds `klp_mutex` (its doc); the rest of the module's
/// load and init runs none of the scenario's code.
pub fn load_livepatch_module(spec: &Spec, st: &mut State, p: PatchId, log: &mut impl Log) -> i32 {
    if st.patches[p as usize].life != PatchLife::Unloaded {
        return EEXIST;
    }
    klp_enable_patch(spec, st, p, log)
}

/// `try_stop_module()` refuses to unload the livepatch module: `klp_enable_patch()`'s
/// `try_module_get()` is still held (see [`klp_holds_module_ref`]).
pub fn livepatch_module_in_use(spec: &Spec, st: &State, p: PatchId) -> bool {
    let r = &st.patches[p as usize];
    if spec.mutated(Mutation::RmmodIgnoresRefcount) {
        return false;
    }
    if spec.mutated(Mutation::PutForcedModule) {
        return matches!(r.life, PatchLife::Listed | PatchLife::Freeing);
    }
    klp_holds_module_ref(spec, st, p)
}

/// `rmmod <patch>`: `delete_module()` of a livepatch module. Returns 0 or -errno.
/// Atomic because: `delete_module()` checks the reference count (`try_stop_module()`) under
/// `module_mutex`; the livepatch module's exit runs none of the scenario's code.
pub fn delete_livepatch_module(spec: &Spec, st: &mut State, p: PatchId) -> i32 {
    if st.patches[p as usize].life == PatchLife::Unloaded {
        return ENOENT;
    }
    if livepatch_module_in_use(spec, st, p) {
        return EBUSY;
    }
    klp_unload_livepatch_module(spec, st, p);
    0
}

/// `modprobe <mod>`: `load_module()` up to `complete_formation()`: MODULE_STATE_COMING, visible
/// to `find_module()`. Returns 0 or -EEXIST.
/// Atomic because: `complete_formation()` sets the state under `module_mutex`, which
/// `find_module()`'s callers hold too.
pub fn load_module(st: &mut State, m: ModId) -> i32 {
    if st.mods[m as usize].state != ModState::Unloaded {
        return EEXIST;
    }
    st.mods[m as usize].state = ModState::Formed;
    0
}

/// `prepare_coming_module()` → `klp_module_coming()`; on an error `load_module()`'s error path
/// frees the module and modprobe fails. Under `module_load_during_transition = "blocked"` the
/// load sleeps in `klp_module_coming()` first ([`ModState::KlpWait`]).
/// Atomic because: `klp_module_coming()` holds `klp_mutex` throughout (its doc), and the error
/// path frees a module none of whose code has run.
pub fn prepare_coming_module(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    if klp_module_coming_waits(spec, st) {
        st.mods[m as usize].state = ModState::KlpWait;
        return;
    }
    let ret = klp_module_coming(spec, st, m, log);
    if ret == 0 {
        st.mods[m as usize].state = ModState::Coming;
    } else {
        st.mods[m as usize] = ModRt { state: ModState::Unloaded, klp_alive: false };
        log.line(|| crate::dmesg::command_error(spec, AdminOp::InsmodModule(m), ret));
    }
}

/// `do_init_module()`: `mod->init` ran; MODULE_STATE_LIVE.
/// Atomic because: the state is set under `module_mutex`. Deviation: `mod->init` runs no
/// scenario code in the model (it is part of this one step).
pub fn do_init_module(st: &mut State, m: ModId) {
    st.mods[m as usize].state = ModState::Live;
}

/// A task executes the module's code (holds it: the busy-module case).
pub fn module_busy(spec: &Spec, st: &State, m: ModId) -> bool {
    let in_module = |f: FuncId| spec.funcs[f as usize].module == Some(m);
    // A call still inside klp_ftrace_handler() (split handlers) is already in the module.
    st.tasks.iter().any(|t| t.stack.iter().any(|fr| in_module(fr.func)) || t.handler.is_some_and(|h| in_module(h.func)))
}

/// `rmmod <mod>`: `delete_module()`: MODULE_STATE_GOING, then `mod->exit()` runs; its
/// `klp_module_going()` is the next step ([`delete_module_going`]). Returns 0 or -errno.
/// Atomic because: `delete_module()` checks and sets the state under `module_mutex`.
/// Deviation: `mod->exit()` runs no scenario code in the model (it is part of this step).
pub fn delete_module(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) -> i32 {
    if st.mods[m as usize].state != ModState::Live {
        return ENOENT;
    }
    if module_busy(spec, st, m) {
        return EBUSY;
    }
    if spec.mutated(Mutation::GoingBeforeExit) {
        klp_module_going(spec, st, m, log);
        st.mods[m as usize].state = ModState::Gone;
        return 0;
    }
    st.mods[m as usize].state = ModState::Going;
    0
}

/// `delete_module()` after `mod->exit()`: `klp_module_going()`.
/// Atomic because: `klp_module_going()` holds `klp_mutex` (its doc).
pub fn delete_module_going(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    klp_module_going(spec, st, m, log);
    st.mods[m as usize].state = ModState::Gone;
}

/// `free_module()`.
/// Atomic because: `module_mutex`; no task can call into the module any more (it is GOING and
/// livepatch has reverted its objects).
pub fn free_module(st: &mut State, m: ModId) {
    st.mods[m as usize].state = ModState::Unloaded;
}
