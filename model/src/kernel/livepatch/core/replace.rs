//! Atomic replace's share of core.c: which funcs `klp_add_nops()` finds on the patches being
//! replaced, and the replaced patches' callbacks as the `callbacks_on_replace` design knob
//! reshapes them ([`CallbacksOnReplace`]). Upstream
//! (`new_only`) runs none of them: `klp_complete_transition()` unpatches the replaced patches
//! with `klp_unpatch_replaced_patches()` and `klp_free_replaced_patches_async()` frees them
//! without a callback (Documentation/livepatch/cumulative-patches.rst: "Only the (un)patching
//! callbacks from the _new_ cumulative livepatch are executed"), so every function here does
//! nothing for `new_only` or for a patch that is not a replace patch.
//!
//! The hooks run inside the steps that call them (`__klp_enable_patch()` and
//! `klp_complete_transition()`, both under `klp_mutex`), at the points the variant's ordering
//! names:
//! - `old_unpatch_then_new`: at enable, every replaced patch's pre_unpatch (oldest patch first,
//!   object order) before the new patch's first pre_patch; at completion, every replaced
//!   patch's post_unpatch before the new patch's first post_patch.
//! - `interleaved`: first the replaced objects whose object name (vmlinux or module) has no
//!   object in the new patch; then, for each object of the new patch in order, the replaced
//!   patches' callback for that object name immediately before the new patch's callback.
//!
//! A pre_unpatch runs for a replaced object that is patched (as `__klp_disable_patch()` does);
//! a post_unpatch for one that is loaded, and only if its pre_patch succeeded
//! (`post_unpatch_enabled`), as `klp_complete_transition()` does for a disabled patch.

use crate::ids::*;
use crate::kernel::livepatch::core::klp_free_patch_start;
use crate::kernel::livepatch::core_h::{klp_is_object_loaded, klp_post_unpatch_callback, klp_pre_unpatch_callback};
use crate::kernel::livepatch::patch::klp_unpatch_objects;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::Spec;
use crate::state::State;
use crate::task::PatchState;
use crate::variant::CallbacksOnReplace;
use crate::variant::{FreeReplaced, ReenableDisabled};

/// Does patch `q` have a func (static, or an existing nop) for `f`? (`klp_add_nops()` walks
/// every func of every object of every patch on `klp_patches`.)
pub(super) fn patches_func(spec: &Spec, st: &State, q: PatchId, f: FuncId) -> bool {
    spec.patches[q as usize].objs.iter().any(|&o| {
        spec.objs[o as usize]
            .funcs
            .iter()
            .any(|&k| st.funcs[k as usize].exists && spec.klp_funcs[k as usize].old_func == f)
    })
}

/// The objects of the patches `p` replaces (every other patch on `klp_patches`), oldest patch
/// first; `None` when the variant runs no replaced callbacks.
fn replaced_objs(spec: &Spec, st: &State, p: PatchId) -> Option<Vec<ObjId>> {
    if order(spec) == CallbacksOnReplace::NewOnly || !spec.patches[p as usize].replace {
        return None;
    }
    Some(
        st.klp_patches
            .iter()
            .filter(|&&q| q != p)
            .flat_map(|&q| spec.patches[q as usize].objs.iter().copied())
            .filter(|&o| st.objs[o as usize].exists)
            .collect(),
    )
}

/// The variant's ordering; the mutation `ReplacedCallbacksRun` makes upstream's `new_only` run
/// the replaced patches' callbacks as `old_unpatch_then_new` does (its pre_unpatch half
/// included).
fn order(spec: &Spec) -> CallbacksOnReplace {
    match spec.variant.callbacks_on_replace {
        CallbacksOnReplace::NewOnly if spec.mutated(Mutation::ReplacedCallbacksRun) => {
            CallbacksOnReplace::OldUnpatchThenNew
        }
        o => o,
    }
}

/// Whether the new patch `p` has an existing object for this object name.
fn new_patch_has(spec: &Spec, st: &State, p: PatchId, module: Option<ModId>) -> bool {
    spec.patches[p as usize].objs.iter().any(|&o| st.objs[o as usize].exists && spec.objs[o as usize].module == module)
}

/// The replaced objects the hook runs at its point: all of them (`old_unpatch_then_new`,
/// before the new patch's loop), those without a counterpart (`interleaved`, before the loop),
/// or those of one object name (`interleaved`, inside the loop).
fn select(spec: &Spec, st: &State, p: PatchId, at: Option<ObjId>) -> Vec<ObjId> {
    let Some(objs) = replaced_objs(spec, st, p) else { return Vec::new() };
    let order = order(spec);
    objs.into_iter()
        .filter(|&o| {
            let module = spec.objs[o as usize].module;
            match (order, at) {
                (CallbacksOnReplace::OldUnpatchThenNew, None) => true,
                (CallbacksOnReplace::Interleaved, None) => !new_patch_has(spec, st, p, module),
                (CallbacksOnReplace::Interleaved, Some(n)) => spec.objs[n as usize].module == module,
                _ => false,
            }
        })
        .collect()
}

/// `__klp_enable_patch()` of replace patch `p`: the replaced patches' pre_unpatch callbacks the
/// variant runs before the new patch's object `at`'s pre_patch (`None`: before the first one).
pub fn pre_unpatch_replaced(spec: &Spec, st: &mut State, p: PatchId, at: Option<ObjId>, log: &mut impl Log) {
    for o in select(spec, st, p, at) {
        if st.objs[o as usize].patched {
            klp_pre_unpatch_callback(spec, st, o, log);
        }
    }
}

/// `klp_complete_transition()` of replace patch `p` (patching only): the replaced patches'
/// post_unpatch callbacks the variant runs before the new patch's object `at`'s post_patch
/// (`None`: before the first one). The replaced patches are already unpatched
/// (`klp_unpatch_replaced_patches()`) and every task runs the new code.
pub fn post_unpatch_replaced(
    spec: &Spec,
    st: &mut State,
    p: PatchId,
    target: PatchState,
    at: Option<ObjId>,
    log: &mut impl Log,
) {
    if target != PatchState::Patched {
        return;
    }
    for o in select(spec, st, p, at) {
        if klp_is_object_loaded(spec, st, o) {
            klp_post_unpatch_callback(spec, st, o, log);
        }
    }
}

/// `klp_unpatch_replaced_patches()`: every patch before `p` on `klp_patches` is disabled and its
/// funcs leave their func_stacks (`klp_unpatch_objects()`); freeing waits for
/// `klp_free_replaced_patches_async()`.
pub fn klp_unpatch_replaced_patches(spec: &Spec, st: &mut State, p: PatchId) {
    for q in st.klp_patches {
        if q == p {
            break;
        }
        st.patches[q as usize].enabled = false;
        klp_unpatch_objects(spec, st, q, false);
        // v5.1..v5.4 klp_discard_replaced_patches(): freed here, before the post_patch
        // callbacks of klp_complete_transition() (upstream: klp_free_replaced_patches_async()
        // after it returned).
        if spec.variant.free_replaced == FreeReplaced::BeforePostPatch
            && spec.variant.reenable_disabled == ReenableDisabled::No
        {
            klp_free_patch_start(spec, st, q);
        }
    }
}

/// `klp_discard_nops()`: `klp_unpatch_objects_dynamic()` takes `p`'s nops off their
/// func_stacks, `klp_free_objects_dynamic()` frees them and its dynamic objects. Called right
/// after [`klp_unpatch_replaced_patches`] ("IMPORTANT"), each nop is then the last func on its
/// func_stack, so `klp_unpatch_func()` unregisters the ftrace handler and waits for handlers in
/// flight; the design variant `discard_nops = "before_unpatch_replaced"` calls it first.
pub fn klp_discard_nops(spec: &Spec, st: &mut State, p: PatchId) {
    klp_unpatch_objects(spec, st, p, true);
    for &o in &spec.patches[p as usize].objs {
        for &k in &spec.objs[o as usize].funcs {
            if spec.klp_funcs[k as usize].nop {
                st.funcs[k as usize] = Default::default();
            }
        }
        if spec.objs[o as usize].dynamic {
            st.objs[o as usize] = Default::default();
            st.cb_setup[o as usize] = Default::default();
        }
    }
}
