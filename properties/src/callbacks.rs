//! Callback order and pairing (Documentation/livepatch/callbacks.rst; core.h wrappers;
//! docs/kernel-semantics.md S7, S8).

use crate::{always, sometimes, Entry};
use klp_model::state::{Event, Site};
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "pre_patch_before_visible",
            pre_patch_before_visible,
            "object_patched",
            "callbacks.rst (pre-patch: \"before any object is patched\"); core.c __klp_enable_patch(), klp_module_coming(); S7",
            "An object's functions reach a func_stack (klp_patch_object) only after its pre_patch \
             callback returned 0."
        ),
        sometimes!("object_patched", object_patched, "Some object is patched."),
        always!(
            "post_unpatch_paired",
            post_unpatch_paired,
            "post_unpatch_ran",
            "callbacks.rst: \"pre-patch callbacks have a post-unpatch counterpart ... An unpatch callback will only be executed if its corresponding patch callback was executed\"; core.h klp_post_unpatch_callback() post_unpatch_enabled; S8",
            "A post_unpatch callback runs only after a successful pre_patch of the same object, and \
             at most once for it."
        ),
        sometimes!("post_unpatch_ran", post_unpatch_ran, "A post_unpatch callback ran."),
        always!(
            "pre_unpatch_paired",
            pre_unpatch_paired,
            "pre_unpatch_ran",
            "callbacks.rst: \"post-patch callbacks have a pre-unpatch counterpart\"; \"If a patch transition is reversed, no pre-unpatch handlers will be run\"; S8",
            "A pre_unpatch callback runs only after the post_patch point of the same object, and at \
             most once for it."
        ),
        sometimes!("pre_unpatch_ran", pre_unpatch_ran, "A pre_unpatch callback ran."),
        always!(
            "post_patch_paired",
            post_patch_paired,
            "post_patch_ran",
            "callbacks.rst: \"Post-patch - after a klp_object has been patched and is active across all tasks\", \"post-patch callbacks have a pre-unpatch counterpart\"; core.c klp_module_coming() (`if (patch != klp_transition_patch) klp_post_patch_callback(obj)`), transition.c klp_complete_transition()",
            "A post_patch callback runs only after a successful pre_patch of the same object, at most \
             once for it (not again before a pre_unpatch), and only once every task switched to its \
             patch: never while that patch's transition still has a task to switch."
        ),
        sometimes!("post_patch_ran", post_patch_ran, "A post_patch callback ran."),
        always!(
            "callbacks_only_loaded",
            callbacks_only_loaded,
            "pre_patch_ran",
            "callbacks.rst: \"A callback is only executed if its host klp_object is loaded\"; S8",
            "Callbacks run only for loaded objects (vmlinux, or a module bound to the object)."
        ),
        sometimes!("pre_patch_ran", pre_patch_ran, "A pre_patch callback ran."),
        always!(
            "callback_side_effects_undone",
            callback_side_effects_undone,
            "callback_state_released",
            "callbacks.rst: \"pre-patch callbacks have a post-unpatch counterpart ... post-patch callbacks have a pre-unpatch counterpart\"; cumulative-patches.rst: \"the cumulative patch is responsible for doing any actions that are necessary to properly replace any older patch\"; system-state.rst (klp_state, klp_get_prev_state()); test-state.sh",
            "By the time a patch is freed, every system state its pre_patch or post_patch callbacks set \
             up (a patch's callbacks set up state when it declares klp_states) was undone by the \
             matching post_unpatch or pre_unpatch callback, or taken over by the patch that replaced \
             it: that patch declares the same klp_state id and its own callback of the same kind \
             ran for the same object."
        ),
        sometimes!(
            "callback_state_released",
            callback_state_released,
            "State set up by a callback of a patch with klp_states was undone by its unpatch callback \
             or taken over by a replacing patch."
        ),
    ]
}

fn no_event(st: &State, e: Event) -> bool {
    st.ghost.events & (1 << e as u32) == 0
}

pub fn pre_patch_before_visible(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::PatchedBeforePrePatch)
}
fn object_patched(_: &KlpSystem, st: &State) -> bool {
    st.objs.iter().any(|o| o.patched)
}
pub fn post_unpatch_paired(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::PostUnpatchUnpaired)
}
fn post_unpatch_ran(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::PostUnpatchCallback)
}
pub fn post_patch_paired(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::PostPatchUnpaired)
}
fn post_patch_ran(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::PostPatchCallback)
}
pub fn pre_unpatch_paired(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::PreUnpatchUnpaired)
}
fn pre_unpatch_ran(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::PreUnpatchCallback)
}
pub fn callbacks_only_loaded(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::CallbackUnloaded)
}
fn pre_patch_ran(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::PrePatchCallback)
}
pub fn callback_side_effects_undone(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::CallbackStateLeaked)
}
fn callback_state_released(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::CallbackStateReleased)
}
