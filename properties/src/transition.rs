//! The transition's bookkeeping (docs/kernel-semantics.md S1-S3, S5, S6, S15): one transition
//! at a time, idle outside it, TIF_PATCH_PENDING exactly on the tasks not yet at the target.

use crate::{always, sometimes, Entry};
use klp_model::state::{Event, Site};
use klp_model::task::{Context, PatchState};
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "one_transition",
            one_transition,
            "transition_in_progress",
            "transition.c klp_init_transition()/klp_complete_transition(); core.c __klp_enable_patch() -EBUSY; S1",
            "At most one patch is in transition: klp_target_state is IDLE exactly when \
             klp_transition_patch is NULL, and the transition patch is on klp_patches."
        ),
        sometimes!("transition_in_progress", transition_in_progress, "A transition is in progress."),
        always!(
            "idle_outside_transition",
            idle_outside_transition,
            "patch_applied",
            "transition.c klp_complete_transition() WARN_ON_ONCE(TIF_PATCH_PENDING), klp_init_transition() WARN_ON_ONCE(patch_state != IDLE); S2",
            "Outside a transition every task's patch_state is IDLE, no TIF_PATCH_PENDING is set and \
             no func has its transition flag set."
        ),
        sometimes!("patch_applied", patch_applied, "No transition runs and some patch is enabled (fully applied)."),
        always!(
            "no_idle_task_in_transition",
            no_idle_task_in_transition,
            "tasks_at_both_states",
            "transition.c klp_init_transition(), klp_copy_process(); handler WARN_ON_ONCE(patch_state == IDLE); S3",
            "During a transition no task (including forked ones) has patch_state IDLE."
        ),
        sometimes!("tasks_at_both_states", tasks_at_both_states, "During a transition one task is switched to the target and another is not."),
        always!(
            "tif_coherent",
            tif_coherent,
            "tif_pending_in_transition",
            "transition.c klp_start_transition(), klp_try_switch_task(), klp_update_patch_state(); S5",
            "During a transition a task has TIF_PATCH_PENDING exactly when its patch_state is not \
             klp_target_state (start sets exactly those; every switch clears both together). Not \
             checked inside a klp_mutex step that a design variant splits (klp_reverse_transition() \
             between flipping klp_target_state and klp_start_transition(), __klp_disable_patch() \
             between klp_init_transition() and klp_start_transition()), nor for a task in the middle \
             of a self switch split at its klp_target_state reads (TIF cleared, the store to come)."
        ),
        sometimes!("tif_pending_in_transition", tif_pending_in_transition, "During a transition some task has TIF_PATCH_PENDING set."),
        always!(
            "complete_only_when_switched",
            complete_only_when_switched,
            "transition_completed",
            "transition.c klp_try_complete_transition() (complete only if every klp_try_switch_task() succeeded); S6",
            "klp_complete_transition() (and with it the post_patch/post_unpatch callbacks) runs only \
             when every task has reached klp_target_state."
        ),
        sometimes!("transition_completed", transition_completed, "klp_complete_transition() ran."),
        always!(
            "nops_only_in_transition",
            nops_only_in_transition,
            "nop_on_func_stack",
            "core.c klp_add_nops(); transition.c klp_complete_transition() klp_discard_nops(); S15",
            "A nop func exists only in a replace patch, and is on a func_stack only while that patch is the \
             transition patch (upstream frees it then; the registration API kept an unpatched nop of a \
             disabled replace patch)."
        ),
        sometimes!("nop_on_func_stack", nop_on_func_stack, "A nop func of an atomic-replace patch is on a func_stack."),
    ]
}

fn born(st: &State) -> impl Iterator<Item = &klp_model::task::Task> {
    st.tasks.iter().filter(|t| t.context != Context::Unborn)
}

pub fn one_transition(_: &KlpSystem, st: &State) -> bool {
    (st.klp_target_state == PatchState::Idle) == st.klp_transition_patch.is_none()
        && st.klp_transition_patch.is_none_or(|p| st.klp_patches.contains(&p))
}
fn transition_in_progress(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_some()
}
pub fn idle_outside_transition(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_some()
        || (born(st).all(|t| t.patch_state == PatchState::Idle && !t.tif_patch_pending)
            && st.funcs.iter().all(|f| !f.transition))
}
fn patch_applied(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_none() && st.klp_patches.iter().any(|&p| st.patches[p as usize].enabled)
}
pub fn no_idle_task_in_transition(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_none() || born(st).all(|t| t.patch_state != PatchState::Idle)
}
fn tasks_at_both_states(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_some()
        && born(st).any(|t| t.patch_state == st.klp_target_state)
        && born(st).any(|t| t.patch_state != st.klp_target_state)
}
pub fn tif_coherent(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_none()
        || st.split.is_some_and(klp_model::state::Split::holds_klp_mutex)
        || born(st)
            .filter(|t| t.self_switch.is_none())
            .all(|t| t.tif_patch_pending == (t.patch_state != st.klp_target_state))
}
fn tif_pending_in_transition(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_some() && born(st).any(|t| t.tif_patch_pending)
}
pub fn complete_only_when_switched(_: &KlpSystem, st: &State) -> bool {
    st.ghost.events & (1 << Event::CompleteEarly as u32) == 0
}
fn transition_completed(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::CompleteTransition)
}
pub fn nops_only_in_transition(m: &KlpSystem, st: &State) -> bool {
    m.spec.klp_funcs.iter().zip(&st.funcs).all(|(k, f)| {
        let replace = m.spec.patches[k.patch as usize].replace;
        !k.nop || !f.exists || (replace && (!f.patched || st.klp_transition_patch == Some(k.patch)))
    })
}
fn nop_on_func_stack(m: &KlpSystem, st: &State) -> bool {
    st.func_stacks.iter().flatten().any(|&k| m.spec.klp_funcs[k as usize].nop)
}
