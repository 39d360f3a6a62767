//! Design variants: knobs that gate or reshape the model's steps. Every knob defaults to what
//! upstream Linux does; a non-default value is a proposal from the livepatch discussions or a
//! historical kernel behaviour (../shared/docs/design-variants.md). Properties never read knobs.
//!
//! A knob is a field of [`Variant`] (a serde enum, values in snake_case) plus one row of
//! [`KNOBS`], its documentation; a test keeps the two in step. Adding a knob value is a Rust
//! change; adding a preset (a named set of knob values, `model/variants/NAME.toml`) is not.

use crate::hint::did_you_mean;
use serde::{Deserialize, Serialize};

/// A design variant. `Variant::default()` is upstream Linux.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Variant {
    /// What `klp_check_stack()` forbids on a task's stack before switching it.
    pub stack_check: StackCheck,
    /// Whether a patch's `immediate` flag (scenario `immediate = true`) is honoured.
    pub immediate: Immediate,
    /// How `klp_copy_process()` gives a child its `patch_state` and TIF_PATCH_PENDING.
    pub fork_inherits: ForkInherits,
    /// Which `klp_synchronize_transition()` calls are made.
    pub synchronize_transition: SynchronizeTransition,
    /// Whether `klp_find_object_module()` binds `obj->mod` only to a module between its
    /// `klp_module_coming()` and `klp_module_going()` (`mod->klp_alive`).
    pub klp_alive: KlpAlive,
    /// What `klp_free_patch_finish()` does with the livepatch module's reference after a forced
    /// transition.
    pub force: Force,
    /// Whether `klp_module_coming()`'s error path clears `obj->mod` of the object it failed on.
    pub nullify_obj_mod_on_coming_error: NullifyObjMod,
    /// Which enabled patches `__klp_disable_patch()` (and a re-enable) accepts.
    pub stacking: Stacking,
    /// Whether a disabled patch stays registered and `echo 1 > enabled` re-enables it.
    pub reenable_disabled: ReenableDisabled,
    /// Whether `echo 0 > enabled` may start an unpatching transition.
    pub disable: Permission,
    /// Whether writing the opposite value to `enabled` during a transition reverses it.
    pub reverse_transition: Permission,
    /// What the scenario's `disable` command does.
    pub disable_via: DisableVia,
    /// Which callbacks run when an atomic-replace patch replaces older patches.
    pub callbacks_on_replace: CallbacksOnReplace,
    /// How a target module loaded after its livepatch gets patched.
    pub late_module_patching: LateModulePatching,
    /// What a target module load does while a transition is in progress.
    pub module_load_during_transition: ModuleLoadDuringTransition,
    /// The order of the steps of `klp_reverse_transition()`.
    pub reverse_order: ReverseOrder,
    /// Which `smp_wmb()`/`smp_rmb()` pair of kernel/livepatch is present.
    pub barriers: Barriers,
}

/// `klp_check_stack_func()`: which function versions may not be on a task's stack when the
/// transition worker (or `__klp_sched_try_switch()`) switches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackCheck {
    /// Upstream: when patching, the previous version of each function of the transition
    /// patch (the next entry on its func_stack, or the original); when unpatching, the patch's
    /// own function (transition.c, `klp_check_stack_func()`).
    #[default]
    Previous,
    /// No stack check at all: what the removed `immediate` flag did (v4.12..v4.15,
    /// d0807da78e11 removed it). Breaks per-task consistency.
    None,
    /// Every version of each function of the transition patch other than the one the target
    /// state runs (the whole func_stack and the original): the alternative to removing
    /// `immediate` that d0807da78e11 did not take. Closes the 1i/2i/3 hole.
    All,
}

/// The per-patch `immediate` flag of v4.12..v4.15 (`struct klp_patch.immediate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Immediate {
    /// Upstream since v4.16 (d0807da78e11 "livepatch: Remove immediate feature"): the flag does
    /// not exist; a scenario's `immediate = true` patch is an ordinary patch.
    #[default]
    Removed,
    /// v4.12..v4.15: an immediate patch skips the per-task transition
    /// (`klp_init_transition()`, `klp_start_transition()` return early,
    /// `klp_try_complete_transition()` completes at once): every task runs its code at once.
    Honoured,
}

/// `klp_copy_process()` at fork.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForkInherits {
    /// Upstream since v6.0 (747f7a290117 "livepatch: fix race between fork and KLP
    /// transition"): the child's TIF_PATCH_PENDING and `patch_state` are both copied from the
    /// parent in `klp_copy_process()`, under `tasklist_lock`.
    #[default]
    Together,
    /// v4.12..v5.19: TIF_PATCH_PENDING is copied with the thread flags early in
    /// `copy_process()` (`dup_task_struct()` → `setup_thread_stack()`), without
    /// `tasklist_lock`; `klp_copy_process()` later copies only `patch_state`.
    TifBeforeState,
}

/// `klp_synchronize_transition()` (transition.c): waits for every `klp_ftrace_handler()` in
/// flight (they run with preemption disabled). With one dropped, the handler's reads are model
/// steps of their own, so a handler can straddle the writes that call separated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynchronizeTransition {
    /// Upstream: every documented call.
    #[default]
    All,
    /// `klp_complete_transition()`, unpatching: no synchronize between `klp_unpatch_objects()`
    /// and clearing `func->transition` ("Otherwise, after func->transition gets cleared, the
    /// handler may choose a removed function").
    DropInCompleteUnpatching,
    /// `klp_complete_transition()`, patching: no synchronize between clearing
    /// `func->transition` and setting every `patch_state` to IDLE ("Prevent
    /// klp_ftrace_handler() from seeing KLP_TRANSITION_IDLE state").
    DropInCompletePatching,
}

/// `klp_find_object_module()`: does `mod->klp_alive` gate the binding of `obj->mod`?
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlpAlive {
    /// Upstream since v4.0 ("livepatch: Fix subtle race with coming and going modules"): bind
    /// only if `mod->klp_alive`, which `klp_module_coming()` sets and `klp_module_going()`
    /// clears under `klp_mutex`.
    #[default]
    Checked,
    /// v3.19: bind to whatever `find_module()` finds, also a COMING module whose
    /// `klp_module_coming()` has not run yet and a GOING module whose `klp_module_going()` ran.
    Ignored,
}

/// The livepatch module's reference after `klp_force_transition()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Force {
    /// Upstream: the patches involved are marked `forced` and `klp_free_patch_finish()` never
    /// calls `module_put()` for them, so their modules can never be removed.
    #[default]
    KeepModule,
    /// `module_put()` as after a normal transition: the kpatch core module before
    /// dynup/kpatch#305 (2014) let a forced patch module be unloaded.
    PutModule,
}

/// `klp_module_coming()`'s error path: `obj->mod = NULL` for the object that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullifyObjMod {
    /// Upstream since v5.4 (4ff96fb52c69 "livepatch: Nullify obj->mod in klp_module_coming()'s
    /// error path").
    #[default]
    Yes,
    /// Before v5.4: `obj->mod` keeps pointing at the module whose load was refused (and freed).
    No,
}

/// Which enabled patch may be disabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Upstream since v5.1 (d67a53720966 "livepatch: Remove ordering (stacking) of the
    /// livepatches"): any enabled patch, in any order.
    #[default]
    Any,
    /// v3.19..v5.0: only the top of the stack (`__klp_disable_patch()`: -EBUSY if the next patch on
    /// `klp_patches` is enabled) and, for a re-enable, only the first disabled patch
    /// (`__klp_enable_patch()`: -EBUSY if the previous one is disabled, unless `replace`).
    Lifo,
}

/// What happens to a disabled patch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReenableDisabled {
    /// Upstream since v5.1 (958ef1e39d24 "livepatch: Simplify API by removing registration
    /// step"): a disabled or replaced patch is freed; `echo 1 > enabled` on a disabled patch is
    /// -EINVAL; it comes back only by reloading its module.
    #[default]
    No,
    /// The registration API (v3.19..v5.0): a patch disabled by `echo 0` or by an atomic replace
    /// stays registered on `klp_patches` until its module is removed (`klp_unregister_patch()`
    /// from the module's exit), and `echo 1 > enabled` re-enables it (`__klp_enable_patch()`).
    Yes,
}

/// A kernel operation that is allowed (upstream) or banned by a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    #[default]
    Allowed,
    Banned,
}

/// What the `disable` admin command does (the seed thread: "a patch can be replaced with a
/// 'revert' patch, or an empty 'nop' patch"). The replace patches are derived from the scenario
/// by [`crate::Spec::set_variant`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisableVia {
    /// Upstream: `echo 0 > /sys/kernel/livepatch/<patch>/enabled`.
    #[default]
    Sysfs,
    /// `insmod` of a generic empty cumulative patch: `replace = true`, no funcs of its own (so
    /// every func of every listed patch becomes a nop), no callbacks; it declares every
    /// `klp_state` of the scenario at its highest version so `klp_is_patch_compatible()` admits it.
    EmptyReplace,
    /// `insmod` of a custom revert patch: as `empty_replace` (all nops, every `klp_state`), plus
    /// one object per object name of the scenario's patches carrying the union of their
    /// callbacks, written to take over (and later undo) what the replaced patches set up.
    RevertReplace,
}

/// Callbacks around an atomic replace (`patch->replace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbacksOnReplace {
    /// Upstream: only the new patch's callbacks run; the replaced patches are unpatched and
    /// freed without their unpatch callbacks (transition.c `klp_complete_transition()` →
    /// `klp_unpatch_replaced_patches()`; Documentation/livepatch/cumulative-patches.rst).
    #[default]
    NewOnly,
    /// Phase by phase, the replaced patches first: in `__klp_enable_patch()` every replaced
    /// patch's pre_unpatch (oldest patch first, object order) and then the new pre_patch
    /// callbacks; in `klp_complete_transition()` every replaced patch's post_unpatch and then
    /// the new post_patch callbacks.
    OldUnpatchThenNew,
    /// Object by object: first the unpatch callback of each replaced object whose object name
    /// the new patch lacks, then, for each object of the new patch in order, the replaced
    /// patches' unpatch callback of that object name immediately followed by the new patch's
    /// callback (pre_unpatch/pre_patch at enable, post_unpatch/post_patch at completion).
    Interleaved,
}

/// How a target module that loads while a patch for it is enabled gets patched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateModulePatching {
    /// Upstream: `klp_module_coming()` applies every patch on `klp_patches` (core.c).
    #[default]
    OnComing,
    /// Josh Poimboeuf: "require modules to be loaded before we 'patch' them".
    /// `klp_enable_patch()` fails with -ENODEV when a target module of the patch is not loaded
    /// (not found, or not yet `klp_alive`), and the module loader no longer patches: a module
    /// loaded later (a reload) runs unpatched. `klp_module_going()` still reverts bound objects.
    RequireLoaded,
    /// One livepatch per module, loaded by user space after the module: the module loader does
    /// not patch, `klp_enable_patch()` does not check; the livepatch's insmod is the scenario's
    /// separate admin command.
    PerModule,
}

/// What `load_module()` of a target module does while `klp_transition_patch` is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleLoadDuringTransition {
    /// Upstream: the load proceeds; `klp_module_coming()` patches the module for the
    /// transition patch too, and the per-task `func->transition` logic covers its functions.
    #[default]
    Allowed,
    /// `klp_module_coming()` fails with -EBUSY; the loader frees the module.
    Refused,
    /// `klp_module_coming()` sleeps (module state `klp_wait`, still MODULE_STATE_COMING) until
    /// `klp_transition_patch` is NULL, then patches as upstream.
    Blocked,
}

/// `klp_reverse_transition()` (transition.c): when `klp_target_state` flips relative to
/// clearing TIF_PATCH_PENDING and `klp_synchronize_transition()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReverseOrder {
    /// Upstream since v6.4 (e3ff7c609f39 "livepatch,sched: Add livepatch task switching to
    /// cond_resched()"): clear every TIF_PATCH_PENDING, synchronize, flip `patch->enabled` and
    /// `klp_target_state`, `smp_wmb()`, `klp_start_transition()`. One model step.
    #[default]
    ClearFirst,
    /// v4.12..v6.3: flip `patch->enabled` and `klp_target_state` first, then clear every
    /// TIF_PATCH_PENDING, synchronize, start; here combined with the v6.4+ stack-checked self
    /// switch (`__klp_sched_try_switch()`), the combination P. Mladek's review of e3ff7c609f39
    /// ruled out. Two model steps (the flip, the rest), and the self switches' reads of
    /// `klp_target_state` become steps of their own.
    FlipFirst,
}

/// Memory barriers of kernel/livepatch. Upstream has every pair; each other value removes one
/// barrier, and only then does the model split the accesses it ordered into separate steps that
/// another CPU may observe out of program order (everything else stays sequentially consistent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Barriers {
    /// Upstream: every `smp_wmb()`/`smp_rmb()` of transition.c, core.c and patch.c.
    #[default]
    All,
    /// No `smp_wmb()` in `klp_init_transition()` between the `task->patch_state` writes and the
    /// `func->transition = true` writes (pairs with the second `smp_rmb()` of
    /// `klp_ftrace_handler()`).
    NoInitWmb,
    /// No second `smp_rmb()` in `klp_ftrace_handler()`: `current->patch_state` may be read
    /// before `func->transition` (pairs with the `smp_wmb()` of `klp_init_transition()`).
    NoHandlerRmb,
    /// No `smp_wmb()` in `__klp_disable_patch()` between the `func->transition` writes of
    /// `klp_init_transition()` and the TIF_PATCH_PENDING writes of `klp_start_transition()`
    /// (pairs with `klp_update_patch_state()`'s `test_and_clear_tsk_thread_flag()`).
    NoDisableWmb,
    /// No `smp_wmb()` in `klp_reverse_transition()` between the `klp_target_state` flip and the
    /// TIF_PATCH_PENDING writes of `klp_start_transition()`: e3ff7c609f39 as posted in v2, before
    /// P. Mladek's review added it (pairs with `klp_update_patch_state()`).
    NoReverseWmb,
}

/// Documentation of one knob, for `klpcheck list knobs` and error hints.
#[derive(Debug)]
pub struct KnobDoc {
    pub name: &'static str,
    /// What the knob changes, in one sentence.
    pub doc: &'static str,
    /// Its values; the first is upstream Linux (the default).
    pub values: &'static [ValueDoc],
}

/// One value of a knob: its TOML spelling and where the behaviour comes from.
#[derive(Debug)]
pub struct ValueDoc {
    pub name: &'static str,
    pub doc: &'static str,
}

/// Every knob of [`Variant`], in field order.
pub const KNOBS: &[KnobDoc] = &[
    KnobDoc {
        name: "stack_check",
        doc: "what klp_check_stack() forbids on a task's stack before the task is switched",
        values: &[
            ValueDoc {
                name: "previous",
                doc: "upstream: the version being replaced (next func_stack entry or the original) when \
                  patching, the patch's own function when unpatching (transition.c, klp_check_stack_func())",
            },
            ValueDoc {
                name: "none",
                doc: "no stack check: the removed `immediate` flag (v4.12..v4.15, removed by d0807da78e11)",
            },
            ValueDoc {
                name: "all",
                doc: "every version of each function of the transition patch except the one the target state \
                  runs (whole func_stack and the original): the alternative to d0807da78e11 (removing \
                  `immediate`) that would have closed its 1i/2i/3 hole",
            },
        ],
    },
    KnobDoc {
        name: "immediate",
        doc: "whether a scenario patch's `immediate = true` (struct klp_patch.immediate) is honoured",
        values: &[
            ValueDoc {
                name: "removed",
                doc: "upstream since v4.16: d0807da78e11 \"livepatch: Remove immediate feature\"; such a \
                  patch is an ordinary patch",
            },
            ValueDoc {
                name: "honoured",
                doc: "v4.12..v4.15: an immediate patch skips the per-task transition (klp_init_transition(), \
                  klp_start_transition() return early, klp_try_complete_transition() completes at once)",
            },
        ],
    },
    KnobDoc {
        name: "fork_inherits",
        doc: "how klp_copy_process() gives a forked child its patch_state and TIF_PATCH_PENDING",
        values: &[
            ValueDoc {
                name: "together",
                doc: "upstream since v6.0 (747f7a290117 \"livepatch: fix race between fork and KLP \
                  transition\"): both copied in klp_copy_process() under tasklist_lock",
            },
            ValueDoc {
                name: "tif_before_state",
                doc: "v4.12..v5.19: TIF copied early by dup_task_struct()/setup_thread_stack() without \
                  tasklist_lock, patch_state later in klp_copy_process()",
            },
        ],
    },
    KnobDoc {
        name: "synchronize_transition",
        doc: "which klp_synchronize_transition() calls (waits for ftrace handlers in flight) are made",
        values: &[
            ValueDoc {
                name: "all",
                doc: "upstream: every documented call (since 842c08846420 replaced synchronize_rcu())",
            },
            ValueDoc {
                name: "drop_in_complete_unpatching",
                doc: "klp_complete_transition(): none after klp_unpatch_objects() (unpatching): a handler \
                  may pick a removed function once func->transition is cleared",
            },
            ValueDoc {
                name: "drop_in_complete_patching",
                doc: "klp_complete_transition(): none after clearing func->transition (patching): a handler \
                  may read patch_state IDLE (the WARN_ON_ONCE in klp_ftrace_handler())",
            },
        ],
    },
    KnobDoc {
        name: "klp_alive",
        doc: "whether klp_find_object_module() binds obj->mod only to a module between klp_module_coming() and \
              klp_module_going() (mod->klp_alive)",
        values: &[
            ValueDoc {
                name: "checked",
                doc: "upstream since v4.0: bind only if mod->klp_alive (\"livepatch: Fix subtle race \
                      with coming and going modules\")",
            },
            ValueDoc {
                name: "ignored",
                doc: "v3.19: bind to any module find_module() sees, also one whose coming hook has not run yet \
                      (the patch is applied twice, in the wrong func_stack order) or whose going hook already ran \
                      (obj->mod dangles)",
            },
        ],
    },
    KnobDoc {
        name: "force",
        doc: "the livepatch module's reference after klp_force_transition()",
        values: &[
            ValueDoc {
                name: "keep_module",
                doc: "upstream since v4.15 (\"livepatch: force transition to finish\"): forced patches \
                      never call module_put(), their modules stay loaded (livepatch.rst: \"Removal (rmmod) of patch \
                      modules is permanently disabled when the force feature is used\")",
            },
            ValueDoc {
                name: "put_module",
                doc: "module_put() as after a normal transition: the kpatch core module before dynup/kpatch#305 \
                      (\"prevent rmmod of forced modules\", 2014) let a forced patch module be unloaded while a \
                      task still slept in its code",
            },
        ],
    },
    KnobDoc {
        name: "nullify_obj_mod_on_coming_error",
        doc: "whether klp_module_coming()'s error path clears obj->mod of the object that refused the module",
        values: &[
            ValueDoc {
                name: "yes",
                doc: "upstream since v5.4 (4ff96fb52c69 \"livepatch: Nullify obj->mod in klp_module_coming()'s \
                      error path\")",
            },
            ValueDoc {
                name: "no",
                doc: "before v5.4 (4ff96fb52c69): obj->mod keeps pointing at the refused, freed module, so \
                      klp_is_object_loaded() is true for it",
            },
        ],
    },
    KnobDoc {
        name: "stacking",
        doc: "which enabled patches may be disabled (and which disabled ones re-enabled)",
        values: &[
            ValueDoc {
                name: "any",
                doc: "upstream since v5.1 (d67a53720966 \"livepatch: Remove ordering (stacking) of the \
                      livepatches\"): any enabled patch, in any order",
            },
            ValueDoc {
                name: "lifo",
                doc: "v3.19..v5.0: __klp_disable_patch() refuses (-EBUSY) unless the next patch on klp_patches is \
                      disabled; __klp_enable_patch() refuses unless the previous one is enabled or the patch is a \
                      replace patch",
            },
        ],
    },
    KnobDoc {
        name: "reenable_disabled",
        doc: "whether a disabled patch stays registered and `echo 1 > enabled` re-enables it",
        values: &[
            ValueDoc {
                name: "no",
                doc: "upstream since v5.1 (958ef1e39d24 \"livepatch: Simplify API by removing registration step\"): \
                      a disabled or replaced patch is freed; echo 1 on a disabled patch is -EINVAL",
            },
            ValueDoc {
                name: "yes",
                doc: "the registration API (v3.19..v5.0): a patch disabled by echo 0 or by an atomic replace stays \
                      on klp_patches until its module is removed, and echo 1 > enabled re-enables it",
            },
        ],
    },
    KnobDoc {
        name: "disable",
        doc: "whether `echo 0 > enabled` may start an unpatching transition",
        values: &[
            ValueDoc { name: "allowed", doc: "upstream: core.c enabled_store() -> __klp_disable_patch()" },
            ValueDoc {
                name: "banned",
                doc: "seed thread (J. Poimboeuf, LKML 2018-10-18): \"don't allow disabling patches at all\"; \
                      `echo 0 > enabled` on a patch not in transition fails with -EPERM, only a replace patch undoes a patch",
            },
        ],
    },
    KnobDoc {
        name: "reverse_transition",
        doc: "whether writing the opposite value to `enabled` during a transition reverses it",
        values: &[
            ValueDoc { name: "allowed", doc: "upstream: core.c enabled_store() -> klp_reverse_transition() (v4.12+)" },
            ValueDoc {
                name: "banned",
                doc: "seed thread (P. Mladek's counter-argument: \"the revert operation allows to remove a livepatch \
                      stuck in the transition without forcing\"); the write fails with -EBUSY",
            },
        ],
    },
    KnobDoc {
        name: "disable_via",
        doc: "what the scenario's `disable` command does",
        values: &[
            ValueDoc { name: "sysfs", doc: "upstream: `echo 0 > /sys/kernel/livepatch/<patch>/enabled`" },
            ValueDoc {
                name: "empty_replace",
                doc: "seed thread (\"an empty 'nop' patch\"): insmod of a derived cumulative patch with no funcs \
                      (all nops), no callbacks, every klp_state of the scenario at its highest version",
            },
            ValueDoc {
                name: "revert_replace",
                doc: "seed thread (\"replaced with a 'revert' patch\"; P. Mladek: \"the empty patch might need to be \
                      custom\"): as empty_replace plus one object per object name with the union of the scenario's \
                      callbacks, which take over and later undo the replaced patches' state",
            },
        ],
    },
    KnobDoc {
        name: "callbacks_on_replace",
        doc: "which callbacks run when an atomic-replace patch replaces older patches",
        values: &[
            ValueDoc {
                name: "new_only",
                doc: "upstream (v5.1+, atomic replace): only the new patch's callbacks; klp_unpatch_replaced_patches() \
                      runs none of the replaced patches' (cumulative-patches.rst)",
            },
            ValueDoc {
                name: "old_unpatch_then_new",
                doc: "design-variants.md: replaced patches' pre_unpatch, then new pre_patch (at enable); replaced \
                      patches' post_unpatch, then new post_patch (at completion)",
            },
            ValueDoc {
                name: "interleaved",
                doc: "design-variants.md: replaced objects the new patch lacks first, then per object of the new \
                      patch the replaced patches' unpatch callback of that object name followed by the new one",
            },
        ],
    },
    KnobDoc {
        name: "late_module_patching",
        doc: "how a target module loaded after its livepatch gets patched",
        values: &[
            ValueDoc { name: "on_coming", doc: "upstream: klp_module_coming() applies every patch on klp_patches" },
            ValueDoc {
                name: "require_loaded",
                doc: "seed thread (J. Poimboeuf: \"require modules to be loaded before we 'patch' them\"): \
                      klp_enable_patch() fails -ENODEV for an unloaded target; the loader never patches (a reload runs unpatched)",
            },
            ValueDoc {
                name: "per_module",
                doc: "seed thread (P. Mladek: \"a livepatch-per-module\"): the loader never patches; user space \
                      loads each module's livepatch after the module (a separate admin command)",
            },
        ],
    },
    KnobDoc {
        name: "module_load_during_transition",
        doc: "what a target module load does while a transition is in progress",
        values: &[
            ValueDoc {
                name: "allowed",
                doc: "upstream: klp_module_coming() patches it for the transition patch too (per-task via func->transition)",
            },
            ValueDoc {
                name: "refused",
                doc: "seed thread (\"refuse loading modules when livepatch transition is in progress\"): \
                      klp_module_coming() fails -EBUSY, the load fails",
            },
            ValueDoc {
                name: "blocked",
                doc: "seed thread (\"the transition gets blocked infinitely\"): the load sleeps in klp_module_coming() \
                      (module state klp_wait) until the transition ends",
            },
        ],
    },
    KnobDoc {
        name: "reverse_order",
        doc: "the order of klp_reverse_transition(): klp_target_state flip vs clearing TIF_PATCH_PENDING and \
              klp_synchronize_transition()",
        values: &[
            ValueDoc {
                name: "clear_first",
                doc: "upstream since v6.4 (e3ff7c609f39 \"livepatch,sched: Add livepatch task switching to \
                      cond_resched()\"): clear every TIF, synchronize, flip enabled and klp_target_state, smp_wmb(), \
                      start",
            },
            ValueDoc {
                name: "flip_first",
                doc: "v4.12..v6.3: flip enabled and klp_target_state, clear every TIF, synchronize, start; with the \
                      v6.4+ stack-checked self switch reading klp_target_state in separate steps (the combination \
                      P. Mladek's v2 review of e3ff7c609f39 ruled out; the checker finds no bug in it)",
            },
        ],
    },
    KnobDoc {
        name: "barriers",
        doc: "which smp_wmb()/smp_rmb() pair of kernel/livepatch is present (a removed one lets other CPUs \
              observe the accesses it ordered in either order)",
        values: &[
            ValueDoc { name: "all", doc: "upstream: every pair of transition.c, core.c and patch.c" },
            ValueDoc {
                name: "no_init_wmb",
                doc: "no smp_wmb() in klp_init_transition() between the patch_state writes and the func->transition \
                      writes: a handler sees transition set and patch_state KLP_TRANSITION_IDLE (its WARN_ON_ONCE)",
            },
            ValueDoc {
                name: "no_handler_rmb",
                doc: "no second smp_rmb() in klp_ftrace_handler(): patch_state read before func->transition, so \
                      the handler may read IDLE and a transition flag set just after (its WARN_ON_ONCE)",
            },
            ValueDoc {
                name: "no_disable_wmb",
                doc: "no smp_wmb() in __klp_disable_patch() between the func->transition writes and the \
                      TIF_PATCH_PENDING writes: a task switched by klp_update_patch_state() still sees \
                      transition clear and runs the patched function next to original ones (mixed versions)",
            },
            ValueDoc {
                name: "no_reverse_wmb",
                doc: "no smp_wmb() in klp_reverse_transition() between the klp_target_state flip and the new TIF \
                      writes: e3ff7c609f39 v2 before P. Mladek's review; klp_update_patch_state() reads TIF set \
                      and the old target, and drops the flag without switching",
            },
        ],
    },
];

/// A knob assignment that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KnobError {
    pub message: String,
    /// "did you mean ...?" or the list of valid values.
    pub hint: Option<String>,
}

impl Variant {
    /// Upstream Linux.
    pub fn upstream() -> Self {
        Self::default()
    }

    /// Sets one knob by name, as `--set knob=value` and preset files do.
    pub fn set(&mut self, knob: &str, value: &str) -> Result<(), KnobError> {
        let Some(doc) = KNOBS.iter().find(|k| k.name == knob) else {
            return Err(KnobError {
                message: format!("unknown knob '{knob}'"),
                hint: Some(
                    did_you_mean(knob, KNOBS.iter().map(|k| k.name))
                        .unwrap_or_else(|| "`klpcheck list knobs` lists them".into()),
                ),
            });
        };
        if !doc.values.iter().any(|v| v.name == value) {
            let names: Vec<_> = doc.values.iter().map(|v| v.name).collect();
            return Err(KnobError {
                message: format!("knob '{knob}' has no value '{value}'"),
                hint: Some(
                    did_you_mean(value, names.iter()).unwrap_or_else(|| format!("one of: {}", names.join(", "))),
                ),
            });
        }
        // serde knows how to store a value in its field; KNOBS and the enums are kept in step
        // by a test, so these conversions cannot fail for a documented value.
        let mut table = toml::Table::try_from(&*self).map_err(internal)?;
        table.insert(knob.to_string(), toml::Value::String(value.to_string()));
        *self = table.try_into().map_err(internal)?;
        Ok(())
    }

    /// Knob values that differ from upstream, as `knob=value` pairs in field order.
    pub fn changes(&self) -> Vec<(String, String)> {
        let this = toml::Table::try_from(self).unwrap_or_default();
        let base = toml::Table::try_from(Self::default()).unwrap_or_default();
        KNOBS
            .iter()
            .filter_map(|k| {
                let v = this.get(k.name)?;
                (base.get(k.name) != Some(v)).then(|| (k.name.to_string(), v.as_str().unwrap_or_default().to_string()))
            })
            .collect()
    }

    /// "upstream", or the changed knobs: "stack_check=none, disable=banned".
    pub fn describe(&self) -> String {
        let c = self.changes();
        if c.is_empty() {
            return "upstream".into();
        }
        c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    }
}

fn internal(e: impl std::fmt::Display) -> KnobError {
    KnobError { message: format!("internal error: knob table and Variant disagree: {e}"), hint: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KNOBS documents exactly the fields of Variant, in order, every value is accepted by
    /// serde, and the first value is the default.
    #[test]
    fn knob_table_matches_variant() {
        let fields: Vec<String> = toml::Table::try_from(Variant::default()).unwrap().keys().cloned().collect();
        let mut names: Vec<String> = KNOBS.iter().map(|k| k.name.to_string()).collect();
        names.sort();
        let mut sorted = fields.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        let base = toml::Table::try_from(Variant::default()).unwrap();
        for k in KNOBS {
            assert_eq!(base[k.name].as_str(), Some(k.values[0].name), "{}: first value must be upstream", k.name);
            for v in k.values {
                let mut var = Variant::default();
                var.set(k.name, v.name).unwrap();
                let changed = var.changes();
                if v.name == k.values[0].name {
                    assert!(changed.is_empty());
                } else {
                    assert_eq!(changed, vec![(k.name.to_string(), v.name.to_string())]);
                }
            }
        }
    }

    #[test]
    fn set_rejects_unknown_knobs_and_values_with_hints() {
        let mut v = Variant::default();
        let e = v.set("stack_chek", "none").unwrap_err();
        assert_eq!(e.message, "unknown knob 'stack_chek'");
        assert_eq!(e.hint.as_deref(), Some("did you mean 'stack_check'?"));
        let e = v.set("stack_check", "nonee").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean 'none'?"));
        let e = v.set("stack_check", "xyzzy").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("one of: previous, none, all"));
        assert_eq!(v, Variant::default());
        v.set("stack_check", "none").unwrap();
        assert_eq!(v.describe(), "stack_check=none");
    }
}
