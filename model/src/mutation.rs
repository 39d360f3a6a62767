//! Deliberate kernel bugs, for testing the properties (not a design variant and not settable
//! from a scenario file). Each [`Mutation`] removes or reorders one guard of the kernel code the
//! model follows, at the exact site that guard lives; properties/tests/mutations.rs checks that
//! every `always` property is violated by at least one of them, so a property that could never
//! fail (or a model that no longer reaches the guarded code) is caught.
//!
//! A [`Spec`](crate::Spec) carries a [`Mutations`] bitset, empty for every scenario that is
//! loaded from a file; the model tests one bit where a mutation applies, so the unmutated hot
//! path pays one branch on a word it already has in cache.

/// One deliberate bug. Each doc comment names the kernel function (and guard) it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mutation {
    /// transition.c `klp_check_stack()`: no stack check, every task passes (as if
    /// `klp_check_stack_func()` never found a forbidden frame).
    SkipStackCheck,
    /// transition.c `klp_try_complete_transition()`: complete the transition even if some
    /// `klp_try_switch_task()` of the pass failed (`complete = false` ignored).
    CompleteDespiteFailedSwitch,
    /// transition.c `klp_try_switch_task()`: switch `patch_state` but leave TIF_PATCH_PENDING set
    /// (`clear_tsk_thread_flag(task, TIF_PATCH_PENDING)` missing).
    TrySwitchKeepsTif,
    /// transition.c `klp_start_transition()`: set TIF_PATCH_PENDING on every task, also on those
    /// already at `klp_target_state` (the `if (task->patch_state != klp_target_state)` test
    /// missing; observable after `klp_reverse_transition()`).
    StartSetsTifOnAll,
    /// transition.c `klp_init_transition()`: do not set `task->patch_state = initial_state`, so
    /// tasks stay IDLE during the transition.
    InitSkipsTaskPatchState,
    /// transition.c `klp_init_transition()`: do not set `klp_target_state = state`.
    InitSkipsTargetState,
    /// transition.c `klp_complete_transition()`: leave every task's `patch_state` at the target
    /// (`task->patch_state = KLP_TRANSITION_IDLE` missing).
    CompleteKeepsTaskPatchState,
    /// transition.c `klp_complete_transition()`: leave `klp_target_state` at the target
    /// (`klp_target_state = KLP_TRANSITION_IDLE` missing).
    CompleteKeepsTargetState,
    /// transition.c `klp_complete_transition()`: `klp_discard_nops()` not called, the nop funcs
    /// and dynamic objects of an atomic-replace patch survive the transition.
    KeepNops,
    /// transition.c `klp_cancel_transition()`: set `klp_target_state = KLP_TRANSITION_UNPATCHED`
    /// before the `WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_PATCHED)` check.
    CancelSetsTargetFirst,
    /// core.c `__klp_enable_patch()`: `klp_patch_object()` before `klp_pre_patch_callback()`
    /// (the functions become visible before the pre-patch callback set things up).
    PatchObjectBeforePrePatch,
    /// core.c `__klp_enable_patch()`: do not skip objects that are not loaded
    /// (`if (!klp_is_object_loaded(obj)) continue;` missing), so their callbacks run.
    CallbacksForUnloadedObjects,
    /// core.h `klp_post_unpatch_callback()`: run the callback even if `post_unpatch_enabled` is
    /// false (the pre-patch callback failed or never ran).
    IgnorePostUnpatchEnabled,
    /// core.c `klp_reverse_transition()`: run the pre_unpatch callbacks when a patching
    /// transition is reversed ("If a patch transition is reversed, no pre-unpatch handlers will
    /// be run").
    PreUnpatchOnReversal,
    /// core.c `klp_cleanup_module_patches_limited()`: call `klp_pre_unpatch_callback()` also for
    /// the transition patch (the `if (patch != klp_transition_patch)` test missing).
    PreUnpatchForTransitionPatchOnGoing,
    /// core.c `klp_find_object_module()`: bind `obj->mod` without checking `mod->klp_alive`.
    BindWithoutKlpAlive,
    /// core.c `klp_module_coming()`: do not apply the patches on `klp_patches` to the coming
    /// module (the loop over `klp_patches` missing).
    ComingSkipsPatches,
    /// kernel/module/main.c `delete_module()`: call `klp_module_going()` before the module is
    /// marked `MODULE_STATE_GOING` and its exit ran.
    GoingBeforeExit,
    /// patch.c `klp_patch_func()`: `list_add_tail_rcu()` instead of `list_add_rcu()`, the new
    /// func goes to the bottom of the func_stack.
    PushFuncAtBottom,
    /// patch.c `klp_unpatch_func()`: leave the func on its func_stack (`list_del_rcu()` missing).
    KeepFuncOnUnpatch,
    /// state.c `klp_is_patch_compatible()`: every patch is compatible.
    SkipCompatCheck,
    /// core.c `klp_free_patch_finish()`: `module_put()` even if the patch was forced (the
    /// `if (!patch->forced)` test missing), so rmmod of a forced livepatch module succeeds.
    /// Applied where the model reads the reference count (`KlpSystem`'s rmmod check).
    PutForcedModule,
    /// kernel/module/main.c `delete_module()` → `try_stop_module()`: unload a livepatch module
    /// whatever its reference count (the `module_refcount() != 0` -EWOULDBLOCK missing).
    RmmodIgnoresRefcount,
    /// core.c `enabled_store()`: the `if (patch->enabled == enabled) return -EINVAL` check
    /// missing.
    EnabledStoreSkipsSameValueCheck,
    /// core.c `klp_try_complete_transition()`: do not free a disabled patch after the unpatching
    /// transition (`klp_free_patch_async()` missing), so it stays on `klp_patches`, disabled.
    KeepDisabledPatch,
    /// core.c `klp_cleanup_module_patches_limited()`: `klp_post_unpatch_callback()` missing when
    /// a going module's objects are reverted, so what their pre_patch set up is never undone.
    GoingSkipsPostUnpatch,
    /// core.c `klp_module_coming()`: skip `klp_transition_patch` (as if only patches that
    /// finished their transition applied to a coming module), so the module stays unpatched
    /// once that transition completes.
    ComingSkipsTransitionPatch,
    /// transition.c `klp_try_complete_transition()`: after a failed pass the delayed work is not
    /// re-armed (`schedule_delayed_work(&klp_transition_work, ...)` missing), so only the pass
    /// run inline by `__klp_enable_patch()` / `__klp_disable_patch()` ever happens (and no
    /// signals are sent). Applied where `KlpSystem` offers the work.
    TransitionWorkNotRearmed,
    /// transition.c `klp_try_complete_transition()`: `klp_send_signals()` is never called (the
    /// `klp_signals_cnt % SIGNALS_TIMEOUT` branch missing), so a task sleeping interruptibly in
    /// code the transition waits on is never woken. Applied where `KlpSystem` offers it.
    SignalsNeverSent,
    /// core.c `klp_module_coming()`: wait until no transition is in progress before patching the
    /// coming module (the design rejected in favour of patching coming modules at once,
    /// docs/kernel-semantics.md L6). Applied where `KlpSystem` offers the loader step.
    ComingWaitsForTransition,
    /// core.c `enabled_store()`: the `patch == klp_transition_patch` branch missing, so a write
    /// during the patch's transition takes the `__klp_disable_patch()` path, which refuses with
    /// -EBUSY while a transition runs: a stuck transition can no longer be reversed.
    ReversalTakesDisablePath,
    /// core.c `klp_module_coming()`: the `patch != klp_transition_patch` guard before
    /// `klp_post_patch_callback()` missing, so a module loaded during a patching transition gets
    /// its post_patch callback before every task switched (and again at completion).
    PostPatchForTransitionPatchOnComing,
    /// shadow.c `klp_shadow_free_all()`: returns without walking `klp_shadow_hash` (its
    /// `hash_for_each()` loop missing), so no variable of the id is freed.
    ShadowFreeAllSkipped,
    /// core.c `__klp_enable_patch()` and transition.c `klp_complete_transition()` of a replace
    /// patch: run the replaced patches' unpatch callbacks (pre_unpatch before the new patch's
    /// pre_patch, post_unpatch before its post_patch), as if `klp_unpatch_replaced_patches()`
    /// were a disable (cumulative-patches.rst: "Only the (un)patching callbacks from the _new_
    /// cumulative livepatch are executed"; the `callbacks_on_replace = old_unpatch_then_new`
    /// ordering, applied in core/replace.rs), so an old patch frees the shadow variables or the
    /// state data the new one takes over.
    ReplacedCallbacksRun,
    /// state.c `klp_get_prev_state()`: the walk over `klp_patches` missing, it returns NULL, so
    /// a cumulative patch's callbacks never find the state of the patch they replace.
    GetPrevStateFindsNothing,
    /// state.c `klp_get_prev_state()`: skip disabled patches (`if (!patch->enabled) continue;`
    /// added), so the post_patch callbacks of a replace patch, which run after
    /// `klp_unpatch_replaced_patches()` disabled the replaced patches, no longer find their
    /// states.
    GetPrevStateSkipsDisabled,
}

impl Mutation {
    /// Every mutation, in declaration order.
    pub const ALL: [Mutation; 36] = [
        Mutation::SkipStackCheck,
        Mutation::CompleteDespiteFailedSwitch,
        Mutation::TrySwitchKeepsTif,
        Mutation::StartSetsTifOnAll,
        Mutation::InitSkipsTaskPatchState,
        Mutation::InitSkipsTargetState,
        Mutation::CompleteKeepsTaskPatchState,
        Mutation::CompleteKeepsTargetState,
        Mutation::KeepNops,
        Mutation::CancelSetsTargetFirst,
        Mutation::PatchObjectBeforePrePatch,
        Mutation::CallbacksForUnloadedObjects,
        Mutation::IgnorePostUnpatchEnabled,
        Mutation::PreUnpatchOnReversal,
        Mutation::PreUnpatchForTransitionPatchOnGoing,
        Mutation::BindWithoutKlpAlive,
        Mutation::ComingSkipsPatches,
        Mutation::GoingBeforeExit,
        Mutation::PushFuncAtBottom,
        Mutation::KeepFuncOnUnpatch,
        Mutation::SkipCompatCheck,
        Mutation::PutForcedModule,
        Mutation::RmmodIgnoresRefcount,
        Mutation::EnabledStoreSkipsSameValueCheck,
        Mutation::KeepDisabledPatch,
        Mutation::GoingSkipsPostUnpatch,
        Mutation::ComingSkipsTransitionPatch,
        Mutation::TransitionWorkNotRearmed,
        Mutation::SignalsNeverSent,
        Mutation::ComingWaitsForTransition,
        Mutation::ReversalTakesDisablePath,
        Mutation::PostPatchForTransitionPatchOnComing,
        Mutation::ShadowFreeAllSkipped,
        Mutation::ReplacedCallbacksRun,
        Mutation::GetPrevStateFindsNothing,
        Mutation::GetPrevStateSkipsDisabled,
    ];

    /// The mutations checked against liveness properties by tests/liveness.rs (klpcheck's
    /// engine) instead of properties/tests/mutations.rs (stateright's BFS, safety only).
    /// tests/liveness.rs also uses `KeepDisabledPatch` for `patch_removable_without_force`.
    pub const LIVENESS: [Mutation; 4] = [
        Mutation::TransitionWorkNotRearmed,
        Mutation::SignalsNeverSent,
        Mutation::ComingWaitsForTransition,
        Mutation::ReversalTakesDisablePath,
    ];
}

/// A set of [`Mutation`]s; empty by default (the model as written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mutations(u64);

impl Mutations {
    pub const NONE: Mutations = Mutations(0);

    pub fn of(ms: &[Mutation]) -> Mutations {
        Mutations(ms.iter().fold(0, |a, &m| a | 1 << m as u8))
    }
    #[inline(always)]
    pub fn has(self, m: Mutation) -> bool {
        self.0 & (1 << m as u8) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
