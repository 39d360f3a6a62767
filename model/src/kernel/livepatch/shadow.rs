//! kernel/livepatch/shadow.c: shadow variables. `klp_shadow_hash` holds one `struct klp_shadow`
//! per `<obj, id>` pair; a livepatch's new functions attach, look up and free them, and its
//! callbacks or module exit free every variable of an id (`klp_shadow_free_all()`). The model
//! keeps the hash as one bit per pair the scenario names ([`State::klp_shadow_hash`]); the data
//! and the constructor / destructor calls are not modelled.
//!
//! Atomic because: every update below holds `klp_shadow_lock` (`spin_lock_irqsave()`: "provides
//! exclusive access to the klp_shadow_hash and the shadow variables it references"), so no
//! other update interleaves with it; `klp_shadow_get()` runs under `rcu_read_lock()` on a hash
//! whose nodes `hash_add_rcu()` publishes and `hash_del_rcu()` unlinks in one store each, so a
//! lookup sees a variable attached or not, never half. `__klp_shadow_get_or_alloc()`'s first,
//! lock-free look and its `kzalloc()` outside the lock are folded into its locked re-check
//! ("Look for <obj, id> again under the lock"), which alone decides.

use crate::ids::*;
use crate::mutation::Mutation;
use crate::spec::{ShadowFn, Spec};
use crate::state::{Event, Site, State};

/// `klp_shadow_get()`: whether `<obj, id>` (pair `var`) has a shadow variable.
pub fn klp_shadow_get(st: &mut State, var: u8) -> bool {
    let found = st.klp_shadow_hash & (1 << var) != 0;
    if found {
        st.reach(Site::ShadowInUse);
    }
    found
}

/// `klp_shadow_get_or_alloc()` (`__klp_shadow_get_or_alloc(..., warn_on_exist = false)`): the
/// existing variable, or a new one attached with `hash_add_rcu()`. The allocation does not fail
/// in the model (GFP failures are not modelled).
pub fn klp_shadow_get_or_alloc(st: &mut State, var: u8) {
    st.klp_shadow_hash |= 1 << var;
    st.reach(Site::ShadowInUse);
}

/// `klp_shadow_free()`: detach and free `<obj, id>` if it exists (`klp_shadow_free_struct()`).
pub fn klp_shadow_free(st: &mut State, var: u8) {
    st.klp_shadow_hash &= !(1 << var);
}

/// `klp_shadow_free_all(id)`, called by code of livepatch `caller` (a callback of one of its
/// objects, or its module's exit): detach and free every `<*, id>` variable (`hash_for_each()`
/// with `klp_shadow_match(shadow, shadow->obj, id)`).
///
/// Ghost checks for the shadow properties, per variable freed: a task inside a function
/// version that uses the pair still holds it ([`Event::ShadowUseAfterFree`]: shadow.c's
/// "callers should stop referencing them accordingly"), and another livepatch on `klp_patches`
/// uses its id ([`Event::ShadowFreedUnderSuccessor`]: that patch took the variables over and
/// loses them).
pub fn klp_shadow_free_all(spec: &Spec, st: &mut State, caller: PatchId, id: u64) {
    if spec.mutated(Mutation::ShadowFreeAllSkipped) {
        return;
    }
    for (i, v) in spec.shadow.vars.iter().enumerate() {
        let bit = 1u32 << i;
        if st.klp_shadow_hash & bit == 0 || v.id != id {
            continue;
        }
        let uses = |c: &crate::spec::ShadowCall| c.var as usize == i && c.call != ShadowFn::Free;
        let held = st
            .tasks
            .iter()
            .any(|t| t.stack.iter().any(|fr| spec.funcs[fr.func as usize].shadow_of(fr.version).iter().any(uses)));
        if held {
            st.event(Event::ShadowUseAfterFree);
        }
        if st.klp_patches.iter().any(|&q| q != caller && spec.shadow.declares(q, v.id)) {
            st.event(Event::ShadowFreedUnderSuccessor);
        }
        st.klp_shadow_hash &= !bit;
        st.reach(Site::ShadowFreedAll);
    }
}

/// Ghost only, when replace patch `p` frees the patch `q` it replaced
/// (`klp_free_replaced_patches_async()`): a shadow variable of an id both use exists, so `p`
/// took it over (the partner of `shadow_taken_over` is reached).
pub fn note_takeover(spec: &Spec, st: &mut State, p: PatchId, q: PatchId) {
    let taken = spec.shadow.vars.iter().enumerate().any(|(i, v)| {
        st.klp_shadow_hash & (1 << i) != 0 && spec.shadow.declares(p, v.id) && spec.shadow.declares(q, v.id)
    });
    if taken {
        st.reach(Site::ShadowTakenOver);
    }
}

/// The `klp_shadow_free_all()` calls callback `kind` of object `obj` makes, in order.
pub fn callback_free_all(spec: &Spec, st: &mut State, obj: ObjId, kind: crate::spec::CallbackKind) {
    let patch = spec.objs[obj as usize].patch;
    for &(o, k, id) in &spec.shadow.callback_free_all {
        if o == obj && k == kind {
            klp_shadow_free_all(spec, st, patch, id);
        }
    }
}

/// The `klp_shadow_free_all()` calls of livepatch `p`'s `module_exit()` (livepatch-shadow-fix1.c
/// `livepatch_shadow_fix1_exit()`), run by `delete_module()`.
pub fn module_exit_free_all(spec: &Spec, st: &mut State, p: PatchId) {
    for &(q, id) in &spec.shadow.exit_free_all {
        if q == p {
            klp_shadow_free_all(spec, st, p, id);
        }
    }
}
