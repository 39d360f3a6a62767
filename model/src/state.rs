//! The mutable state: the internal halves of `klp_patch` / `klp_object` / `klp_func`, the
//! globals of kernel/livepatch/{core,transition,patch}.c, target modules, tasks, and history
//! bits used only by properties. Vectors only, no hash maps: stateright rebuilds paths by
//! replaying action indices, so iteration order must be deterministic.

use crate::ids::*;
use crate::task::{PatchState, Task};
use serde::{Deserialize, Serialize};

pub use crate::ids::Inline;

/// A livepatch module and its `struct klp_patch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchLife {
    /// The livepatch module is not loaded.
    #[default]
    Unloaded,
    /// On `klp_patches`: enabled, or in transition (`patch->enabled` says which way).
    Listed,
    /// `klp_free_patch_start()` took it off `klp_patches`; `klp_free_patch_work_fn()` has not yet
    /// run `klp_free_patch_finish()` (the module reference is still held).
    Freeing,
    /// Freed. The module stays loaded until rmmod; its reference was dropped unless forced.
    Freed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatchRt {
    pub life: PatchLife,
    /// `patch->enabled`.
    pub enabled: bool,
    /// `patch->forced`: `klp_free_patch_finish()` then never calls `module_put()`.
    pub forced: bool,
    /// The livepatch module's `pre_patch_ret` parameter (test_klp_callbacks_demo.c), set on the
    /// insmod line or written through sysfs; `None`: not set since the module was loaded, its
    /// pre_patch callbacks return what the scenario declares (the module's default). An errno
    /// (-4095..=0) fits 16 bits; the field is in every state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_patch_ret: Option<i16>,
}

impl PatchRt {
    /// `try_module_get(patch->mod)` in `klp_enable_patch()` still held.
    pub fn holds_module_ref(&self) -> bool {
        matches!(self.life, PatchLife::Listed | PatchLife::Freeing) || (self.life == PatchLife::Freed && self.forced)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ObjRt {
    /// Dynamic object allocated by `klp_add_nops()` (static objects: always true while listed).
    pub exists: bool,
    /// `obj->mod != NULL`, i.e. bound to a loaded module by `klp_find_object_module()` or
    /// `klp_module_coming()`. Always false for vmlinux (`klp_is_object_loaded()` handles it).
    pub mod_bound: bool,
    /// `obj->patched`.
    pub patched: bool,
    /// `obj->callbacks.post_unpatch_enabled`.
    pub post_unpatch_enabled: bool,
}

/// The internal half of `struct klp_func`. livepatch.h documents the pair:
/// ```text
/// patching:   (patched=0,transition=0) unpatched
///          -> (0,1) temporary starting state
///          -> (1,1) patched, may be visible to some tasks
///          -> (1,0) patched, visible to all tasks
/// unpatching: (1,0) -> (1,1) -> (0,1) temporary ending state -> (0,0)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncRt {
    /// A nop allocated by `klp_add_nops()` (static funcs: always true while listed).
    pub exists: bool,
    pub patched: bool,
    pub transition: bool,
}

/// `enum module_state` plus what the livepatch hooks add, in the order `load_module()` and
/// `delete_module()` walk through them (kernel/module/main.c). The module's own code (the
/// scenario's functions of that module) can run in [`Coming`](ModState::Coming) (`mod->init`
/// runs), [`Live`](ModState::Live) and [`Exiting`](ModState::Exiting): main.c, "Module
/// functions can be called even in the GOING state until mod->exit() finishes".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModState {
    /// Not loaded (or freed).
    #[default]
    Unloaded,
    /// `MODULE_STATE_COMING` after `complete_formation()`, before `klp_module_coming()`.
    Formed,
    /// `MODULE_STATE_COMING` after `prepare_coming_module()` succeeded: `mod->init` runs
    /// (`do_init_module()`), and with it the module's code.
    Coming,
    /// `MODULE_STATE_LIVE`.
    Live,
    /// `MODULE_STATE_GOING`: `mod->exit()` returned, or `mod->init` failed
    /// (`do_init_module()`'s error path); `klp_module_going()` has not yet run. No module code
    /// runs any more.
    Going,
    /// `MODULE_STATE_GOING` after `klp_module_going()`, not yet freed.
    Gone,
    /// `MODULE_STATE_COMING`, sleeping in `klp_module_coming()` until `klp_transition_patch` is
    /// NULL (design variant `module_load_during_transition = blocked`; between `Formed` and
    /// `Coming`). The load has not completed: a visible pre-LIVE state.
    KlpWait,
    /// `MODULE_STATE_GOING` set by `delete_module()` (`try_stop_module()`); `mod->exit()` runs,
    /// and the module's code with it.
    Exiting,
    /// `MODULE_STATE_COMING`: `klp_module_coming()` succeeded, then the `MODULE_STATE_COMING`
    /// notifier chain failed (`prepare_coming_module()`, the scenario's `coming_notifier_ret`):
    /// `klp_module_going()` comes next, with the module still COMING. No module code ran.
    NotifierFailed,
}

impl ModState {
    /// The module's code can run: `mod->init` is running, the module is LIVE, or `mod->exit()`
    /// has not returned yet.
    pub fn code_runs(self) -> bool {
        matches!(self, ModState::Coming | ModState::Live | ModState::Exiting)
    }
    /// `MODULE_STATE_COMING` (the module has not finished loading).
    pub fn is_coming(self) -> bool {
        matches!(self, ModState::Formed | ModState::KlpWait | ModState::Coming | ModState::NotifierFailed)
    }
    /// `MODULE_STATE_GOING`.
    pub fn is_going(self) -> bool {
        matches!(self, ModState::Exiting | ModState::Going | ModState::Gone)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModRt {
    pub state: ModState,
    /// `mod->klp_alive`.
    pub klp_alive: bool,
    /// The module's work item is queued and its function has not started yet (`schedule_work()`
    /// in `mod->init`; a kworker takes it once). Only for a module with a `work`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub work_pending: bool,
}

/// The transition work: `klp_try_complete_transition()` runs holding `klp_mutex`, visiting
/// every thread then every idle task, one `klp_try_switch_task()` at a time, while the tasks
/// themselves keep running. `next` is the next task to try; `complete` is false once a try failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pass {
    pub next: Pid,
    pub complete: bool,
    /// The try of the task at `next` is half done: its store is the pass's next step (only
    /// when a knob removes the lock that makes the try one step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half: Option<PassHalf>,
}

/// What the first half of a split try of the pass read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassHalf {
    /// The idle walk read `cpu_online()` false for the idle task (`idle_walk_lock = "none"`).
    CpuOfflineRead,
    /// The thread's stack was sampled and passed (`task_switch_lock = "none"`).
    StackSampled,
}

/// History kept for properties only; never shown in dmesg. Bits are set when a step does
/// something a property forbids (so correct models never set them and the state space does
/// not grow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Ghost {
    /// Bit `Warn as u32` set when that `WARN_ON_ONCE` would fire.
    pub warns: u32,
    /// Bit `Event as u32` set when an event-shaped property is broken.
    pub events: u32,
    /// Bit `Site as u32` set once that code ran: the `sometimes` partners of WARN and event
    /// properties use it to show that the checked code is reachable (no vacuous pass). Most
    /// sites are reached together in one step, so these bits add few states.
    pub reached: u32,
}

/// Kernel code whose reachability the vacuity checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Site {
    /// `klp_ftrace_handler()` read `current->patch_state` (top func in transition).
    HandlerTransition = 0,
    InitTransition,
    StartTransition,
    TryCompleteTransition,
    CompleteTransition,
    CancelTransition,
    ModuleComing,
    ModuleGoing,
    DisablePatch,
    ReverseTransition,
    ForceTransition,
    PrePatchCallback,
    PostPatchCallback,
    PreUnpatchCallback,
    PostUnpatchCallback,
    CopyProcess,
    /// State set up by a callback of a patch with `klp_state`s was undone by its unpatch
    /// callback or taken over by a replacing patch (the partner of `callback_side_effects_undone`).
    CallbackStateReleased,
    /// `klp_shadow_free_all()` freed a shadow variable.
    ShadowFreedAll,
    /// A new function found or attached a shadow variable (`klp_shadow_get()` /
    /// `klp_shadow_get_or_alloc()` returned it).
    ShadowInUse,
    /// A replace patch took over shadow variables: its transition completed and freed the
    /// replaced patches while a variable of an id both it and a replaced patch use existed.
    ShadowTakenOver,
    /// A post_unpatch callback freed the live data of a `klp_state` (state_data.rs).
    KlpStateDataFreed,
    /// A callback read or wrote the live data of a `klp_state`.
    KlpStateDataUsed,
    /// A post_patch callback took over the data of the `klp_state` `klp_get_prev_state()` found.
    KlpStateTakenOver,
}

/// Every `WARN_ON_ONCE()`/`WARN_ON()` of kernel/livepatch that the model can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Warn {
    /// `klp_ftrace_handler()`: `WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)`.
    HandlerIdle = 0,
    /// `klp_init_transition()`: `WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_IDLE)`.
    InitTargetNotIdle,
    /// `klp_init_transition()`: `WARN_ON_ONCE(task->patch_state != KLP_TRANSITION_IDLE)`.
    InitTaskNotIdle,
    /// `klp_start_transition()` / `klp_try_complete_transition()`:
    /// `WARN_ON_ONCE(klp_target_state == KLP_TRANSITION_IDLE)`.
    TargetIdle,
    /// `klp_complete_transition()`: `WARN_ON_ONCE(test_tsk_thread_flag(task, TIF_PATCH_PENDING))`.
    CompletePending,
    /// `klp_cancel_transition()`: `WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_PATCHED)`.
    CancelNotPatching,
    /// `klp_module_coming()` / `klp_module_going()`: `WARN_ON(mod->state != ...)`.
    ModuleState,
    /// `__klp_disable_patch()`: `WARN_ON(!patch->enabled)`.
    DisableNotEnabled,
}

/// Events that break a property at the moment they happen (state predicates cannot see them).
/// The labels (S6, ...) are the rules of docs/kernel-semantics.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Event {
    /// `klp_complete_transition()` ran (and with it post_patch / post_unpatch callbacks) while
    /// some task was not yet at `klp_target_state` (S6).
    CompleteEarly = 0,
    /// A post_unpatch callback ran without a successful pre_patch before it (S8).
    PostUnpatchUnpaired,
    /// A pre_unpatch callback ran without a post_patch before it (S8).
    PreUnpatchUnpaired,
    /// A callback ran for an object that is not loaded (S8).
    CallbackUnloaded,
    /// `klp_patch_object()` made an object's functions visible before its pre_patch callback
    /// succeeded (S7).
    PatchedBeforePrePatch,
    /// A patch with `klp_state`s was freed while state its pre_patch/post_patch callbacks set up
    /// was neither undone by the matching unpatch callback nor taken over by a replacing patch.
    CallbackStateLeaked,
    /// A post_patch callback ran a second time without a pre_unpatch since, without a
    /// successful pre_patch before it, or while its patch's transition still had tasks to switch.
    PostPatchUnpaired,
    /// `klp_shadow_free_all()` freed a shadow variable while a task was inside a function version
    /// that uses it (the variable was freed under its user).
    ShadowUseAfterFree,
    /// `klp_shadow_free_all()` run by one livepatch freed a shadow variable of an id another
    /// livepatch on `klp_patches` uses (the patch that took it over loses it).
    ShadowFreedUnderSuccessor,
    /// The data a `klp_state` points to was still allocated when the last patch that could
    /// reach it (through `klp_get_state()` / `klp_get_prev_state()`) left `klp_patches`.
    KlpStateDataLeaked,
    /// A callback read, wrote or freed the data of a `klp_state` after it was freed.
    KlpStateDataUseAfterFree,
    /// A callback dereferenced its `klp_state`'s data while it was NULL: the state it relied on
    /// (its pre_patch found it with `klp_get_prev_state()` and did not allocate) was gone.
    KlpStateDataMissing,
}

/// Plain arrays and scalars (ids.rs, [`Inline`]): a clone is a copy, and there is no drop
/// (`Clone` is written out below for `clone_from`). (`Default`, every table empty, is no state
/// of any scenario: only a buffer to decode into, pack.rs.)
#[derive(Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct State {
    pub tasks: Inline<Task, CAP_TASKS>,
    pub mods: Inline<ModRt, CAP_MODULES>,
    pub patches: Inline<PatchRt, CAP_PATCHES>,
    pub objs: Inline<ObjRt, CAP_OBJS>,
    pub funcs: Inline<FuncRt, CAP_KLP_FUNCS>,
    /// `klp_ops->func_stack` per kernel function, **top last** (the kernel's list head is the
    /// most recently added func, `list_add_rcu()` in `klp_patch_func()`).
    pub func_stacks: Inline<FuncStack, CAP_FUNCS>,
    /// `LIST_HEAD(klp_patches)`, oldest first.
    pub klp_patches: Inline<PatchId, CAP_PATCHES>,
    pub klp_transition_patch: Option<PatchId>,
    pub klp_target_state: PatchState,
    /// A `klp_try_complete_transition()` pass in progress (it holds `klp_mutex`).
    pub pass: Option<Pass>,
    /// How far the admin commands got (the selftest script, or the any-order budget).
    pub admin: AdminProgress,
    /// Callback history per object slot (ghost only: no kernel code reads it).
    pub cb_setup: Inline<CallbackSetup, CAP_OBJS>,
    pub ghost: Ghost,
    /// `klp_complete_transition()` in progress, split at its `klp_synchronize_transition()`
    /// calls (only when one is dropped; it holds `klp_mutex`): the part that runs next.
    pub completing: Option<Completing>,
    /// A `klp_mutex` step split where a design variant reorders it, or stores another CPU does
    /// not see yet (only under `reverse_order` / `barriers` other than upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// transition.c `klp_signals_cnt`, abstracted to the one fact its readers need: whether
    /// `klp_send_signals()` has run (and printed its notice, `klp_signals_cnt ==
    /// SIGNALS_TIMEOUT`) since `klp_start_transition()` reset the counter. Cleared when the
    /// transition completes too: nothing reads the counter until the next start resets it.
    #[serde(default, skip_serializing_if = "LogOnly::is_clear")]
    pub klp_signals_sent: LogOnly,
    /// kernel/trace/ftrace.c `ftrace_enabled` (the `kernel.ftrace_enabled` sysctl), true at boot.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub ftrace_enabled: bool,
    /// kernel/livepatch/shadow.c `klp_shadow_hash`: bit `i` is set while the scenario's `i`-th
    /// `<obj, id>` pair (`Spec::shadow.vars`) has a shadow variable. Always 0 (and not
    /// serialized) in a scenario without shadow variables.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub klp_shadow_hash: u32,
    /// Each patch's `klp_state` data pointer and the allocations it may point to
    /// ([`crate::state_data`]); empty unless some object's callbacks keep a `klp_state`.
    #[serde(default, skip_serializing_if = "Inline::is_empty")]
    pub klp_state_data: Inline<u8, CAP_PATCHES>,
}

/// By hand for `clone_from`, which the checker's successor buffer is reset with
/// (`KlpSystem::successor_into`): the derived one (`*self = src.clone()`) built the copy field
/// by field on the stack and then copied it again (perf on the default scenario:
/// `successor_into` 12 % of the search, most of it that copy); here each field is copied
/// straight into place.
impl Clone for State {
    fn clone(&self) -> Self {
        State { ..*self }
    }
    fn clone_from(&mut self, src: &Self) {
        // Every field by name: a field added to `State` does not compile until it is copied.
        let State {
            tasks,
            mods,
            patches,
            objs,
            funcs,
            func_stacks,
            klp_patches,
            klp_transition_patch,
            klp_target_state,
            pass,
            admin,
            cb_setup,
            ghost,
            completing,
            split,
            klp_signals_sent,
            ftrace_enabled,
            klp_shadow_hash,
            klp_state_data,
        } = self;
        *tasks = src.tasks;
        *mods = src.mods;
        *patches = src.patches;
        *objs = src.objs;
        *funcs = src.funcs;
        *func_stacks = src.func_stacks;
        *klp_patches = src.klp_patches;
        *klp_transition_patch = src.klp_transition_patch;
        *klp_target_state = src.klp_target_state;
        *pass = src.pass;
        *admin = src.admin;
        *cb_setup = src.cb_setup;
        *ghost = src.ghost;
        *completing = src.completing;
        *split = src.split;
        *klp_signals_sent = src.klp_signals_sent;
        *ftrace_enabled = src.ftrace_enabled;
        *klp_shadow_hash = src.klp_shadow_hash;
        *klp_state_data = src.klp_state_data;
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// A bit that changes only what a step logs, never which steps a state enables or what a
/// property sees. It is kept in the state so that a replayed path (stateright rebuilds paths by
/// replaying actions) logs as the kernel does, and left out of the state's identity: `Hash` and
/// `PartialEq` ignore it, so states that differ only in it, which have the same futures, are
/// one state. (Hashed, `klp_signals_sent` made fork.toml 2980 -> 5188 states.)
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogOnly(pub bool);

impl LogOnly {
    fn is_clear(&self) -> bool {
        !self.0
    }
}

impl PartialEq for LogOnly {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for LogOnly {}
impl std::hash::Hash for LogOnly {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// Admin commands run so far. Script order: one counter, the index of the next command; any
/// order: one counter per command, how often it ran (bounded by its `max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminProgress(pub Inline<u8, CAP_OPS>);

impl AdminProgress {
    /// Script order: the index of the next command to run.
    pub fn script_next(&self) -> usize {
        self.0[0] as usize
    }
    /// Any order: how often command `i` ran.
    pub fn runs(&self, i: usize) -> u8 {
        self.0[i]
    }
    /// Command `i` ran (script order: the script moves on; any order: its count goes up).
    pub fn ran(&mut self, script: bool, i: usize) {
        self.0[if script { 0 } else { i }] += 1;
    }
}

/// What an object's callbacks set up and not yet undid (ghost only): `pre_patch` succeeded and
/// no `post_unpatch` has run since; `post_patch` ran and no `pre_unpatch` has run since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CallbackSetup {
    pub pre_patch: bool,
    pub post_patch: bool,
}

/// A `klp_mutex` step stopped part-way, or stores not yet visible to the other CPUs: the
/// weak-memory and reordering design knobs (`reverse_order`, `barriers`). Upstream never
/// splits a step: the model is sequentially consistent there.
///
/// A removed write barrier is modelled as the weak ordering the kernel's memory model (LKMM)
/// then allows, and only for the accesses that barrier ordered: the stores after it are visible
/// to the other CPUs before the stores ahead of it, the readers read the old value (see the
/// readers at each barrier comment in kernel/livepatch/), and the lag ends at a
/// [`Action::StoresVisible`](crate::action::Action) step, or at the writer's next
/// `klp_synchronize_transition()` (it schedules on every CPU: full barriers everywhere).
/// Simplification: a lagging group of stores becomes visible to every CPU at once (each task
/// reads only its own `patch_state` and TIF, so per-CPU visibility orders differ only in which
/// tasks see the old value; the worst case, all of them, is what is explored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// `klp_reverse_transition()` under `reverse_order = "flip_first"` (v4.12..v6.3): `enabled`
    /// and `klp_target_state` flipped; clearing TIF, synchronize and start still to come
    /// (`klp_mutex` held).
    ReverseFlipped,
    /// `__klp_disable_patch()` under `barriers = "no_init_wmb"`: `klp_init_transition()` and the
    /// pre_unpatch callbacks ran; its `patch_state` writes are not yet visible to the tasks'
    /// handlers (they read the old value, IDLE) while the `func->transition` writes are. The
    /// `smp_wmb()` before `klp_start_transition()` is next (`klp_mutex` held).
    DisableInitialised,
    /// `barriers = "no_disable_wmb"`: TIF_PATCH_PENDING is set, the transition patch's
    /// `func->transition = true` writes are not yet visible to the handlers.
    TransitionUnseen,
    /// `barriers = "no_reverse_wmb"`: the new TIF_PATCH_PENDING flags are visible, the flipped
    /// `klp_target_state` is not: the tasks read this old value.
    TargetUnseen(PatchState),
}

impl Split {
    /// The split step still holds `klp_mutex` (it continues as a step of its own).
    pub fn holds_klp_mutex(self) -> bool {
        matches!(self, Split::ReverseFlipped | Split::DisableInitialised)
    }
    /// Stores left unordered by a removed write barrier, not yet visible everywhere.
    pub fn stores_lag(self) -> bool {
        matches!(self, Split::TransitionUnseen | Split::TargetUnseen(_))
    }
}

/// One `klp_ops->func_stack`, top last.
pub type FuncStack = Inline<KlpFuncId, CAP_PATCHES>;

/// The parts of `klp_complete_transition()` between its `klp_synchronize_transition()` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completing {
    /// Up to `klp_unpatch_objects()` (unpatching) / `klp_discard_nops()` (replace; under
    /// `discard_nops = "before_unpatch_replaced"` only `klp_discard_nops()`).
    Begin,
    /// `klp_unpatch_replaced_patches()` after the nops were discarded
    /// (`discard_nops = "before_unpatch_replaced"`).
    UnpatchReplaced,
    /// Clearing every `func->transition`.
    ClearTransition,
    /// Every `patch_state` to IDLE, the post callbacks, `klp_target_state` to IDLE.
    Finish,
}

impl State {
    /// `klp_mutex` is free: no pass of the transition work holds it. (Every other holder is
    /// a single model step.)
    pub fn klp_mutex_free(&self) -> bool {
        self.pass.is_none() && self.completing.is_none() && !self.split.is_some_and(Split::holds_klp_mutex)
    }
    /// The lagging stores reach every CPU: by themselves (the hardware drains its store
    /// buffer; no kernel code runs) or at a full barrier on every CPU. `None` if none lag.
    pub fn stores_visible(&mut self) -> Option<()> {
        let lag = self.split.is_some_and(Split::stores_lag);
        lag.then(|| self.split = None)
    }
    /// Some task is inside `klp_ftrace_handler()` (what `klp_synchronize_transition()` waits for).
    pub fn handler_in_flight(&self) -> bool {
        self.tasks.iter().any(|t| t.handler.is_some())
    }
    pub fn warn(&mut self, w: Warn) {
        self.ghost.warns |= 1 << w as u32;
    }
    pub fn event(&mut self, e: Event) {
        self.ghost.events |= 1 << e as u32;
    }
    pub fn reach(&mut self, s: Site) {
        self.ghost.reached |= 1 << s as u32;
    }
    pub fn reached(&self, s: Site) -> bool {
        self.ghost.reached & (1 << s as u32) != 0
    }
}
