//! The data of a `klp_state` (include/linux/livepatch.h `struct klp_state.data`;
//! Documentation/livepatch/system-state.rst; kernel/livepatch/state.c `klp_get_state()`,
//! `klp_get_prev_state()`): allocated by one patch's callbacks, handed from a replaced patch to
//! the cumulative patch that takes the state over, freed by the last patch that uses it.
//! The model's bookkeeping is model/src/state_data.rs; the callbacks are the test_klp_state
//! modules' (model/src/test_modules/test_klp_state.rs).

use crate::{always, sometimes, Entry};
use klp_model::state::{Event, Site};
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "klp_state_data_not_leaked",
            klp_state_data_not_leaked,
            "klp_state_data_freed",
            "system-state.rst 4: *post_patch()* \"Copy *state->data* from the previous livepatch when they are compatible ... Free *state->data* from replaces livepatches when they are not longer needed\"; *post_unpatch()* \"Remove any not longer needed setting or data\"; \"livepatch: Keep replaced patches until post_patch callback is called\" (v5.5): \"the replaced livepatches have to stay around until post_patch() callback is called\"",
            "No klp_state data leaks past the last patch that uses it: whenever a patch leaves \
             klp_patches (klp_free_patch_start()), every data allocation its klp_state pointed to has \
             been freed by a post_unpatch callback or is pointed to by the klp_state of a patch still \
             on klp_patches (which took it over)."
        ),
        sometimes!(
            "klp_state_data_freed",
            klp_state_data_freed,
            "A post_unpatch callback freed the data of a klp_state (free_loglevel_state())."
        ),
        always!(
            "klp_state_data_not_used_after_free",
            klp_state_data_not_used_after_free,
            "klp_state_data_used",
            "system-state.rst 3: \"Take over or update the system state modification when is has already been done by a livepatch that is being replaced\"; 4: *post_unpatch()* \"Distinguish transition reverse and livepatch disabling by checking *klp_get_prev_state()*\"; test_klp_state2.c restore_console_loglevel() / free_loglevel_state() leave the data to the old patch when one is installed",
            "No callback reads, writes or frees the data of a klp_state after it was freed."
        ),
        sometimes!(
            "klp_state_data_used",
            klp_state_data_used,
            "A callback read or wrote the live data of a klp_state (fix_console_loglevel(), restore_console_loglevel())."
        ),
        always!(
            "klp_state_taken_over",
            klp_state_taken_over,
            "klp_state_data_handed_over",
            "state.c klp_get_prev_state(): \"Checks whether already installed livepatches modify the given system state ... The function can be called only during transition when a new livepatch is being enabled or when such a transition is reverted\"; system-state.rst 4: *pre_patch()* \"The allocation is not needed when the data are already provided by previously installed livepatches\"; transition.c klp_try_complete_transition() frees the replaced patches after klp_complete_transition() (\"livepatch: Keep replaced patches until post_patch callback is called\", v5.5: \"Cumulative livepatches might need to take over the changes made by the replaced ones\")",
            "A cumulative patch that takes over a state finds it: a callback never dereferences a NULL \
             klp_state data pointer, so a patch whose pre_patch found the state of an installed patch \
             (klp_get_prev_state(), \"already allocated\") finds it again in its post_patch and takes \
             the data over."
        ),
        sometimes!(
            "klp_state_data_handed_over",
            klp_state_data_handed_over,
            "A post_patch callback took over the data of the klp_state klp_get_prev_state() found."
        ),
    ]
}

fn no_event(st: &State, e: Event) -> bool {
    st.ghost.events & (1 << e as u32) == 0
}

pub fn klp_state_data_not_leaked(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::KlpStateDataLeaked)
}
fn klp_state_data_freed(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::KlpStateDataFreed)
}
pub fn klp_state_data_not_used_after_free(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::KlpStateDataUseAfterFree)
}
fn klp_state_data_used(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::KlpStateDataUsed)
}
pub fn klp_state_taken_over(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::KlpStateDataMissing)
}
fn klp_state_data_handed_over(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::KlpStateTakenOver)
}
