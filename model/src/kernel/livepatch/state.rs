//! kernel/livepatch/state.c: the system states a patch declares (`struct klp_state`),
//! `klp_get_state()` / `klp_get_prev_state()`, which callbacks use to find them, and
//! `klp_is_patch_compatible()`, which refuses a patch that would drop or downgrade a state an
//! installed patch set up. A `klp_state` is named here by the patch that declares it (its data
//! is in [`State::klp_state_data`](crate::State)).

use crate::ids::*;
use crate::mutation::Mutation;
use crate::spec::{PatchSpec, Spec};
use crate::state::State;

/// `klp_is_state_compatible()`: the new patch handles an already modified state `(id,
/// version)` with the same or a higher version; "Non-cumulative patches can touch already
/// modified states", so a non-replace patch may leave it alone.
pub fn klp_is_state_compatible(new: &PatchSpec, (id, version): (u32, u32)) -> bool {
    match new.states.iter().find(|s| s.0 == id) {
        None => !new.replace,
        Some(&(_, v)) => v >= version,
    }
}

/// `klp_is_patch_compatible()`: the new patch `p` is compatible with every patch on
/// `klp_patches`.
pub fn klp_is_patch_compatible(spec: &Spec, st: &State, p: PatchId) -> bool {
    if spec.mutated(Mutation::SkipCompatCheck) {
        return true;
    }
    let new = &spec.patches[p as usize];
    st.klp_patches.iter().all(|&old| spec.patches[old as usize].states.iter().all(|&s| klp_is_state_compatible(new, s)))
}

/// `klp_get_state()`: whether `patch` declares the state `id` (the `struct klp_state` is then
/// the patch's own, named by the patch).
pub fn klp_get_state(spec: &Spec, patch: PatchId, id: u32) -> Option<PatchId> {
    spec.patches[patch as usize].states.iter().any(|s| s.0 == id).then_some(patch)
}

/// `klp_get_prev_state()`: the last patch before `klp_transition_patch` on `klp_patches` that
/// declares the state `id` ("It is expected that the latest livepatch has the most up-to-date
/// information"). Callbacks call it during a transition only; without one the kernel warns
/// (`WARN_ON_ONCE(!klp_transition_patch)`) and returns NULL, which the model cannot reach:
/// `klp_state` callbacks are vmlinux callbacks (scenario/patches.rs), which run only from
/// `__klp_enable_patch()`, `__klp_disable_patch()` and `klp_complete_transition()`.
pub fn klp_get_prev_state(spec: &Spec, st: &State, id: u32) -> Option<PatchId> {
    let tp = st.klp_transition_patch?;
    if spec.mutated(Mutation::GetPrevStateFindsNothing) {
        return None;
    }
    let mut last = None;
    for &q in &st.klp_patches {
        if q == tp {
            break;
        }
        // Mutation: skip the patches klp_unpatch_replaced_patches() disabled.
        if spec.mutated(Mutation::GetPrevStateSkipsDisabled) && !st.patches[q as usize].enabled {
            continue;
        }
        last = klp_get_state(spec, q, id).or(last);
    }
    last
}
