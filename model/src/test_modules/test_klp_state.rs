//! test_klp_state.c, test_klp_state2.c and test_klp_state3.c (the last includes the second):
//! callbacks that keep the `console_loglevel` they change in the data of the patch's
//! `klp_state` `CONSOLE_LOGLEVEL_STATE` ([`StateCallbacks`]; scenario key
//! `callbacks.klp_state`). Each function is the module's helper of that name, called by its
//! callback after `callback_info()`'s line; each prints the module's lines (`pr_fmt` =
//! `KBUILD_MODNAME ": "`). The `console_loglevel` value itself is not modelled; its data's
//! life is ([`crate::state_data`]).
//!
//! test_klp_state.c (version 1) uses only `klp_get_state()` of its own patch. test_klp_state2.c
//! (version 2, "supports migration") first asks `klp_get_prev_state()`: with a state from an
//! installed patch, pre_patch does not allocate ("already allocated"), post_patch takes the
//! data over, and the unpatch callbacks of a reversed transition leave it to the old patch.
//!
//! Atomic because: each helper runs inside a livepatch callback, and the kernel calls every
//! callback with `klp_mutex` held (`klp_enable_patch()`, `__klp_disable_patch()`,
//! `klp_complete_transition()` from the transition work, `klp_module_coming()` /
//! `klp_module_going()`); the model runs each inside one such step. The data and
//! `klp_patches`, which `klp_get_prev_state()` walks, change under that mutex alone, and no
//! lock-free reader (ftrace handler, task) touches them.

use crate::ids::*;
use crate::kernel::livepatch::state::{klp_get_prev_state, klp_get_state};
use crate::log::Log;
use crate::spec::{Spec, StateCallbacks, CONSOLE_LOGLEVEL_STATE};
use crate::state::{Site, State};

fn line(spec: &Spec, p: PatchId, text: &str) -> String {
    format!("{}: {text}", spec.patches[p as usize].name)
}

/// The state a migrating module's callback finds among the installed patches.
fn prev(spec: &Spec, st: &State, how: StateCallbacks) -> Option<PatchId> {
    match how {
        StateCallbacks::ConsoleLoglevel => None,
        StateCallbacks::ConsoleLoglevelMigrate => klp_get_prev_state(spec, st, CONSOLE_LOGLEVEL_STATE),
    }
}

/// `allocate_loglevel_state()` (pre_patch): its return value is the callback's. A patch that
/// does not declare the state gets -EINVAL (`klp_get_state()` NULL); `kzalloc()` does not fail
/// in the model (-ENOMEM is not modelled).
pub fn allocate_loglevel_state(
    spec: &Spec,
    st: &mut State,
    p: PatchId,
    how: StateCallbacks,
    log: &mut impl Log,
) -> i32 {
    if prev(spec, st, how).is_some() {
        log.line(|| line(spec, p, "allocate_loglevel_state: space to store console_loglevel already allocated"));
        return 0;
    }
    if klp_get_state(spec, p, CONSOLE_LOGLEVEL_STATE).is_none() {
        return crate::errno::EINVAL;
    }
    st.klp_state_data_kzalloc(p);
    log.line(|| line(spec, p, "allocate_loglevel_state: allocating space to store console_loglevel"));
    0
}

/// `fix_console_loglevel()` (post_patch): take the previous patch's data over, or save
/// `console_loglevel` in the data (a write through the pointer) and raise it.
pub fn fix_console_loglevel(spec: &Spec, st: &mut State, p: PatchId, how: StateCallbacks, log: &mut impl Log) {
    if klp_get_state(spec, p, CONSOLE_LOGLEVEL_STATE).is_none() {
        return;
    }
    if let Some(q) = prev(spec, st, how) {
        log.line(|| line(spec, p, "fix_console_loglevel: taking over the console_loglevel change"));
        let data = st.klp_state_data_ptr(q);
        if data.is_some() {
            st.reach(Site::KlpStateTakenOver);
        }
        st.set_klp_state_data_ptr(p, data);
        return;
    }
    log.line(|| line(spec, p, "fix_console_loglevel: fixing console_loglevel"));
    st.klp_state_data_deref(p);
}

/// `restore_console_loglevel()` (pre_unpatch): leave the change to the old patch, or restore
/// `console_loglevel` from the data (a read through the pointer).
pub fn restore_console_loglevel(spec: &Spec, st: &mut State, p: PatchId, how: StateCallbacks, log: &mut impl Log) {
    if prev(spec, st, how).is_some() {
        log.line(|| {
            line(spec, p, "restore_console_loglevel: passing the console_loglevel change back to the old livepatch")
        });
        return;
    }
    if klp_get_state(spec, p, CONSOLE_LOGLEVEL_STATE).is_none() {
        return;
    }
    log.line(|| line(spec, p, "restore_console_loglevel: restoring console_loglevel"));
    st.klp_state_data_deref(p);
}

/// `free_loglevel_state()` (post_unpatch): keep the data for the old patch, or `kfree()` it.
pub fn free_loglevel_state(spec: &Spec, st: &mut State, p: PatchId, how: StateCallbacks, log: &mut impl Log) {
    if prev(spec, st, how).is_some() {
        log.line(|| line(spec, p, "free_loglevel_state: keeping space to store console_loglevel"));
        return;
    }
    if klp_get_state(spec, p, CONSOLE_LOGLEVEL_STATE).is_none() {
        return;
    }
    log.line(|| line(spec, p, "free_loglevel_state: freeing space for the stored console_loglevel"));
    st.klp_state_data_kfree(p);
}
