//! kernel/module/main.c: the module loader and `delete_module()`, as far as livepatch sees
//! them. A target module's load is split where the loader drops locks and other CPUs can
//! act: `complete_formation()` (the module is COMING and visible to `find_module()`), then
//! `prepare_coming_module()` (`klp_module_coming()`, the COMING notifier chain, `mod->init`
//! starts), then `mod->init` returns (`do_init_module()`: LIVE, or its error path); its
//! removal: `delete_module()` (GOING, `mod->exit()` starts), `mod->exit()` returns, then
//! `klp_module_going()`, then `free_module()`. The module's own code (the scenario's functions
//! of the module, its work item) runs while `mod->init` or `mod->exit()` runs, and while LIVE. A livepatch module is loaded and removed in one step each: its init is
//! `klp_enable_patch()` (one `klp_mutex` step), and its removal needs its reference count at 0.

use crate::errno::*;
use crate::ids::*;
use crate::kernel::livepatch::core::klp_enable_patch;
use crate::kernel::livepatch::core::module::{klp_module_coming, klp_module_coming_waits, klp_module_going};
use crate::kernel::livepatch::core::registration::{klp_holds_module_ref, klp_unload_livepatch_module};
use crate::kernel::livepatch::shadow::module_exit_free_all;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::{AdminOp, InitWaits, Spec};
use crate::state::{ModRt, ModState, PatchLife, State};
use crate::variant::ModuleHooksOrder;

/// `insmod <patch>.ko`: `load_module()` of a livepatch module, whose init calls
/// `klp_enable_patch()`. Returns 0 or the errno insmod reports.
/// Atomic because: `klp_enable_patch()` holds `klp_mutex` (its doc); the rest of the module's
/// load and init runs none of the scenario's code.
/// `pre_patch_ret` is the module parameter of the insmod line: `parse_args()` stores it after
/// the duplicate check and before the init runs; a failed init frees the module and it.
pub fn load_livepatch_module(
    spec: &Spec,
    st: &mut State,
    p: PatchId,
    pre_patch_ret: Option<i32>,
    log: &mut impl Log,
) -> i32 {
    if st.patches[p as usize].life != PatchLife::Unloaded {
        return EEXIST;
    }
    // Scenario values are -4095..=0 (scenario/params.rs).
    st.patches[p as usize].pre_patch_ret = pre_patch_ret.map(|v| v as i16);
    let ret = klp_enable_patch(spec, st, p, log);
    if ret != 0 {
        st.patches[p as usize].pre_patch_ret = None;
    }
    ret
}

/// `try_stop_module()` refuses to unload the livepatch module: `klp_enable_patch()`'s
/// `try_module_get()` is still held (see [`klp_holds_module_ref`]).
pub fn livepatch_module_in_use(spec: &Spec, st: &State, p: PatchId) -> bool {
    let r = &st.patches[p as usize];
    if spec.mutated(Mutation::RmmodIgnoresRefcount) {
        return false;
    }
    if spec.mutated(Mutation::PutForcedModule) {
        return matches!(r.life, PatchLife::Listed | PatchLife::Freeing);
    }
    klp_holds_module_ref(spec, st, p)
}

/// `rmmod <patch>`: `delete_module()` of a livepatch module, whose `mod->exit()` runs the
/// scenario's `exit_shadow_free_all` (livepatch-shadow-fix1.c's exit frees every SV_LEAK
/// variable). Returns 0 or -errno.
/// Atomic because: `delete_module()` checks the reference count (`try_stop_module()`) under
/// `module_mutex`; the exit's only modelled code is `klp_shadow_free_all()`, which holds
/// `klp_shadow_lock` and touches nothing else the model has.
pub fn delete_livepatch_module(spec: &Spec, st: &mut State, p: PatchId) -> i32 {
    if st.patches[p as usize].life == PatchLife::Unloaded {
        return ENOENT;
    }
    if livepatch_module_in_use(spec, st, p) {
        return EBUSY;
    }
    module_exit_free_all(spec, st, p);
    klp_unload_livepatch_module(spec, st, p);
    // free_module() frees the parameters with the module.
    st.patches[p as usize].pre_patch_ret = None;
    0
}

/// `modprobe <mod>`: `load_module()` up to `complete_formation()`: MODULE_STATE_COMING, visible
/// to `find_module()`. Returns 0 or -EEXIST.
/// Atomic because: `complete_formation()` sets the state under `module_mutex`, which
/// `find_module()`'s callers hold too.
pub fn load_module(st: &mut State, m: ModId) -> i32 {
    if st.mods[m as usize].state != ModState::Unloaded {
        return EEXIST;
    }
    st.mods[m as usize].state = ModState::Formed;
    0
}

/// `prepare_coming_module()`: `klp_module_coming()`, then the `MODULE_STATE_COMING` notifier
/// chain, then `do_init_module()` starts `mod->init` ([`ModState::Coming`]). If
/// `klp_module_coming()` fails, `load_module()`'s error path frees the module and modprobe
/// fails; if the notifier chain fails (the scenario's `coming_notifier_ret`), the module goes to
/// [`ModState::NotifierFailed`] and [`coming_notifier_failed`] is next. Under
/// `module_load_during_transition = "blocked"` the load sleeps in `klp_module_coming()` first
/// ([`ModState::KlpWait`]); under `module_hooks_order = "inside_init_exit"` `klp_module_coming()`
/// waits until `mod->init` returned ([`do_init_module`]).
/// Atomic because: `klp_module_coming()` holds `klp_mutex` throughout (its doc); the notifier
/// chain and the start of `mod->init` run none of the scenario's code but the init's first
/// `pr_info()` and `schedule_work()`, which touch nothing livepatch reads; the error path frees
/// a module none of whose code has run.
pub fn prepare_coming_module(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    if klp_module_coming_waits(spec, st) {
        st.mods[m as usize].state = ModState::KlpWait;
        return;
    }
    if spec.variant.module_hooks_order == ModuleHooksOrder::AroundInitExit && !coming_hook(spec, st, m, log) {
        return;
    }
    if spec.modules[m as usize].coming_notifier_ret != 0 {
        st.mods[m as usize].state = ModState::NotifierFailed;
        return;
    }
    init_starts(spec, st, m, log);
}

/// `klp_module_coming()` where `module_hooks_order` puts it; on an error the load is refused
/// ([`refuse_load`]) and the caller stops. True if the load goes on.
fn coming_hook(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) -> bool {
    let ret = klp_module_coming(spec, st, m, log);
    if ret != 0 {
        refuse_load(spec, st, m, ret, log);
    }
    ret == 0
}

/// `load_module()`'s error path after `prepare_coming_module()` (or `do_init_module()`) failed:
/// the module is freed and modprobe prints the error.
fn refuse_load(spec: &Spec, st: &mut State, m: ModId, ret: i32, log: &mut impl Log) {
    st.mods[m as usize] = ModRt { state: ModState::Unloaded, klp_alive: false, work_pending: false };
    log.line(|| crate::dmesg::command_error(spec, AdminOp::InsmodModule(m), ret));
}

/// `do_init_module()` calls `mod->init`: its first message, and the work item it queues
/// (`schedule_work()`); from here on the module's code can run ([`ModState::code_runs`]).
fn init_starts(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    let ms = &spec.modules[m as usize];
    st.mods[m as usize].state = ModState::Coming;
    if let Some(msg) = &ms.init_message {
        log.line(|| format!("{}: {msg}", ms.name));
    }
    st.mods[m as usize].work_pending = ms.work.is_some();
}

/// `prepare_coming_module()` after its `MODULE_STATE_COMING` notifier chain failed:
/// `klp_module_going()` with the module still COMING (which `klp_module_going()` accepts),
/// then `load_module()`'s error path (`bug_cleanup`: MODULE_STATE_GOING, freed) and modprobe
/// prints the error.
/// Atomic because: `klp_module_going()` holds `klp_mutex`; after it `mod->klp_alive` is false,
/// so until the module is freed no livepatch code binds to it, and none of its code ran.
pub fn coming_notifier_failed(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    klp_module_going(spec, st, m, log);
    refuse_load(spec, st, m, spec.modules[m as usize].coming_notifier_ret, log);
}

/// Every task is out of the module's code: no frame of it and no call into it still inside
/// `klp_ftrace_handler()` (split handlers). A correct module's init or exit does not return
/// while its code still runs (it flushes its work, stops its threads, unregisters its entry
/// points first); the model assumes the target modules are correct.
pub fn module_code_left(spec: &Spec, st: &State, m: ModId) -> bool {
    let in_module = |f: FuncId| spec.funcs[f as usize].module == Some(m);
    !st.tasks
        .iter()
        .any(|t| t.stack.iter().any(|fr| in_module(fr.func)) || t.handler.is_some_and(|h| in_module(h.func)))
}

/// The module's work item was taken by a kworker (`wait_for_completion()` on a completion its
/// work function signals at its start).
fn work_started(st: &State, m: ModId) -> bool {
    !st.mods[m as usize].work_pending
}

/// `mod->init` may return: what it waits for about its work item happened, and, when it fails,
/// its code was left (see [`module_code_left`]).
pub fn init_may_return(spec: &Spec, st: &State, m: ModId) -> bool {
    let ms = &spec.modules[m as usize];
    let waited = match ms.init_waits {
        InitWaits::Nothing => true,
        InitWaits::WorkStarted => work_started(st, m),
        // flush_work(): the function started and returned.
        InitWaits::WorkDone => work_started(st, m) && ms.work.is_none_or(|w| !function_runs(st, w)),
    };
    waited && (ms.init_ret == 0 || module_code_left(spec, st, m))
}

/// Some task has a frame of `f`.
fn function_runs(st: &State, f: FuncId) -> bool {
    st.tasks.iter().any(|t| t.stack.iter().any(|fr| fr.func == f))
}

/// `do_init_module()` after `mod->init` returned: `MODULE_STATE_LIVE`, or, if it failed, the
/// error path: `MODULE_STATE_GOING` ([`ModState::Going`]) with [`delete_module_going`] next
/// (`klp_module_going()`, `free_module()`; modprobe then prints the error). Under
/// `module_hooks_order = "inside_init_exit"` `klp_module_coming()` runs here.
/// Atomic because: the state is set under `module_mutex`; `klp_module_coming()` holds
/// `klp_mutex` (its doc).
pub fn do_init_module(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    if spec.modules[m as usize].init_ret != 0 {
        st.mods[m as usize].state = ModState::Going;
        st.mods[m as usize].work_pending = false;
        return;
    }
    if spec.variant.module_hooks_order == ModuleHooksOrder::InsideInitExit && !coming_hook(spec, st, m, log) {
        return;
    }
    st.mods[m as usize].state = ModState::Live;
}

/// `rmmod <mod>`: `delete_module()`: a module that is not LIVE is refused (-ENOENT if
/// `find_module()` finds none, -EBUSY if it is still coming or already going); otherwise
/// `try_stop_module()` sets MODULE_STATE_GOING and `mod->exit()` runs ([`ModState::Exiting`]),
/// then [`module_exit_returns`]. Livepatch takes no reference on a target module ("We do not
/// want to block removal of patched modules", `klp_find_object_module()`), so no task's frame
/// in it refuses the removal. Not modelled: the kernel's refusals for dependent modules
/// (`source_list`) and a held reference count (no scenario module has either). Returns 0 or
/// -errno.
/// Atomic because: `delete_module()` checks and sets the state under `module_mutex`.
pub fn delete_module(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) -> i32 {
    match st.mods[m as usize].state {
        ModState::Live => {}
        ModState::Unloaded => return ENOENT,
        _ => return EBUSY,
    }
    if spec.mutated(Mutation::GoingBeforeExit) {
        klp_module_going(spec, st, m, log);
        st.mods[m as usize].state = ModState::Gone;
        return 0;
    }
    st.mods[m as usize].state = ModState::Exiting;
    if spec.variant.module_hooks_order == ModuleHooksOrder::InsideInitExit {
        klp_module_going(spec, st, m, log);
    }
    0
}

/// `mod->exit()` may return: its work item was flushed (`flush_work()`: queued work runs and
/// returns first) and every task left the module's code (see [`module_code_left`]).
pub fn exit_may_return(spec: &Spec, st: &State, m: ModId) -> bool {
    !st.mods[m as usize].work_pending && module_code_left(spec, st, m)
}

/// `mod->exit()` returns (its last message printed): MODULE_STATE_GOING with
/// `klp_module_going()` next ([`delete_module_going`]; already run under `module_hooks_order =
/// "inside_init_exit"`).
/// Atomic because: the module's code was left; what remains of the exit touches nothing
/// livepatch reads.
pub fn module_exit_returns(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    let ms = &spec.modules[m as usize];
    if let Some(msg) = &ms.exit_message {
        log.line(|| format!("{}: {msg}", ms.name));
    }
    st.mods[m as usize].state = match spec.variant.module_hooks_order {
        ModuleHooksOrder::AroundInitExit => ModState::Going,
        ModuleHooksOrder::InsideInitExit => ModState::Gone,
    };
}

/// `klp_module_going()`: from `delete_module()` after `mod->exit()` returned, or from
/// `do_init_module()`'s error path, which then frees the module at once (`free_module()`) and
/// modprobe prints the error.
/// Atomic because: `klp_module_going()` holds `klp_mutex` (its doc); on the error path
/// `mod->klp_alive` is false from here on, so no livepatch code binds the module before it is
/// freed.
pub fn delete_module_going(spec: &Spec, st: &mut State, m: ModId, log: &mut impl Log) {
    klp_module_going(spec, st, m, log);
    // A module whose init fails never becomes LIVE: GOING means its init failed.
    match spec.modules[m as usize].init_ret {
        0 => st.mods[m as usize].state = ModState::Gone,
        ret => refuse_load(spec, st, m, ret, log),
    }
}

/// `free_module()`.
/// Atomic because: `module_mutex`; no task can call into the module any more (it is GOING and
/// livepatch has reverted its objects).
pub fn free_module(st: &mut State, m: ModId) {
    st.mods[m as usize] = ModRt { state: ModState::Unloaded, klp_alive: false, work_pending: false };
}
