//! kernel/livepatch/state.c: the system states a patch declares (`struct klp_state`) and
//! `klp_is_patch_compatible()`, which refuses a patch that would drop or downgrade a state an
//! installed patch set up.

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
