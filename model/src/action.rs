//! One action per kernel entry point, admin command, or task step.

use crate::ids::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The reduced model only ([`crate::KlpSystem::with_free_pass_order`]): step `index` of
    /// the state with its identical tasks renamed by `renaming` (`Groups::rename`), a step of
    /// the transition work that moves the pass of `klp_try_complete_transition()` into or
    /// through a group of copies (which copy it tries, which ones at the target it skips).
    /// Never in a concrete trace: the checker turns a reduced trace into one of the unreduced
    /// model before showing it (so traces neither write nor read it).
    #[serde(skip)]
    Renamed { renaming: u64, index: u16 },
    /// Runs admin command `i` of the scenario (`insmod`, `rmmod`, `echo ... > enabled|force`).
    Admin(u8),
    /// Module loader: `prepare_coming_module()` → `klp_module_coming()`.
    KlpModuleComing(ModId),
    /// Module loader: `mod->init` returns to `do_init_module()`: `MODULE_STATE_LIVE`, or its
    /// error path.
    ModuleInit(ModId),
    /// `klp_module_going()`: from `delete_module()` after `mod->exit()`, or from a failed load
    /// (`prepare_coming_module()`'s notifier chain, `do_init_module()`'s error path).
    KlpModuleGoing(ModId),
    /// `mod->exit()` returns to `delete_module()`.
    ModuleExit(ModId),
    /// `delete_module()`: `free_module()`.
    ModuleFree(ModId),
    /// `klp_transition_work_fn()`: the delayed work starts a `klp_try_complete_transition()` pass.
    KlpTransitionWork,
    /// The running pass calls `klp_try_switch_task()` on this task.
    KlpTrySwitchTask(Pid),
    /// `klp_free_patch_work_fn()`: `klp_free_patch_finish()`.
    KlpFreePatchWork(PatchId),
    /// `klp_send_signals()` from a failed `klp_try_complete_transition()` pass: wake every
    /// task with TIF_PATCH_PENDING that sleeps interruptibly (fake signal / `wake_up_state()`).
    KlpSendSignals,
    /// A user task enters the kernel (a syscall) calling this function.
    Syscall(Pid, FuncId),
    /// A task in the kernel calls this function (through `klp_ftrace_handler()` if patched);
    /// for kthreads and idle tasks with no frames, their main loop calls it.
    Call(Pid, FuncId),
    /// The innermost function returns; a user task leaving its last frame returns to user mode
    /// (`exit_to_user_mode()` → `klp_update_patch_state()`).
    Return(Pid),
    /// The task blocks: `__schedule()` → `__klp_sched_try_switch()`, then off the CPU.
    Schedule(Pid),
    /// The task is woken and runs again.
    Wake(Pid),
    /// A user task in user mode takes an interrupt or a syscall that touches no modelled
    /// function: `klp_update_patch_state()` on the way back to user mode.
    ExitToUserMode(Pid),
    /// The idle loop (`do_idle()`): `klp_update_patch_state()`.
    DoIdle(Pid),
    /// A user task forks its next child slot: `copy_process()` → `klp_copy_process()`.
    Fork(Pid),
    /// A new child runs for the first time: `ret_from_fork` → return to user mode.
    RetFromFork(Pid),
    /// The forking parent reaches `klp_copy_process()` (split from [`Action::Fork`] only
    /// under `fork_inherits = "tif_before_state"`).
    KlpCopyProcess(Pid),
    /// The rest of a `klp_ftrace_handler()` in flight (split only when a
    /// `klp_synchronize_transition()` is dropped).
    KlpFtraceHandlerFinish(Pid),
    /// The next part of a `klp_complete_transition()` split at its synchronize calls.
    KlpCompleteTransitionPart,
    /// The next read of a self switch split at its `klp_target_state` reads
    /// (`reverse_order = "flip_first"`).
    KlpSelfSwitchContinue(Pid),
    /// The rest of a `klp_reverse_transition()` that flipped the target first (v4.12..v6.3).
    KlpReverseTransitionContinue,
    /// The rest of `__klp_disable_patch()` after `klp_init_transition()` (`barriers = "no_init_wmb"`).
    KlpDisablePatchContinue,
    /// Stores left unordered by a removed write barrier reach every CPU.
    StoresVisible,
    /// The running pass's idle walk reads `cpu_online()` false for this idle task's CPU (a step
    /// of its own only under `idle_walk_lock = "none"`).
    KlpIdleCpuOffline(Pid),
    /// The running pass's idle walk switches this offline CPU's idle task "immediately": no
    /// stack check (under `idle_walk_lock = "none"` after [`Action::KlpIdleCpuOffline`]).
    KlpSwitchOfflineIdle(Pid),
    /// The task is preempted in kernel code (where the `preempt` knob allows): off the CPU,
    /// runnable, not `task_curr()`.
    Preempt(Pid),
    /// A preempted task is scheduled again and continues where it was.
    Resume(Pid),
    /// The task passes a `cond_resched()` point with TIF_PATCH_PENDING set
    /// (`sched_try_switch = "cond_resched"`, v6.4..v6.15): `klp_sched_try_switch()`.
    CondResched(Pid),
    /// The transition work stores the state of the task whose stack it sampled
    /// (`task_switch_lock = "none"`: the second half of `klp_try_switch_task()`).
    KlpSwitchTaskStore(Pid),
    /// A call the handler sent to a nop's `new_func`, the function's own entry
    /// (`nop_handler = "set_pc"`), reaches the function's ftrace location again:
    /// `klp_ftrace_handler()` runs again.
    KlpNopLoop(Pid),
}

impl Action {
    /// The task a step concerns: the task that runs it, or the task the transition work's
    /// `klp_try_switch_task()` tries. `None` for admin commands and for kernel work that runs
    /// on no modelled task (the transition and free work, the module loader, stores reaching
    /// other CPUs).
    pub fn task(&self) -> Option<Pid> {
        match *self {
            Action::KlpTrySwitchTask(p)
            | Action::KlpIdleCpuOffline(p)
            | Action::KlpSwitchOfflineIdle(p)
            | Action::Syscall(p, _)
            | Action::Call(p, _)
            | Action::Return(p)
            | Action::Schedule(p)
            | Action::Wake(p)
            | Action::ExitToUserMode(p)
            | Action::DoIdle(p)
            | Action::Fork(p)
            | Action::RetFromFork(p)
            | Action::KlpCopyProcess(p)
            | Action::KlpFtraceHandlerFinish(p)
            | Action::KlpSelfSwitchContinue(p)
            | Action::Preempt(p)
            | Action::Resume(p)
            | Action::CondResched(p)
            | Action::KlpSwitchTaskStore(p)
            | Action::KlpNopLoop(p) => Some(p),
            Action::Admin(_)
            | Action::Renamed { .. }
            | Action::KlpModuleComing(_)
            | Action::ModuleInit(_)
            | Action::ModuleExit(_)
            | Action::KlpModuleGoing(_)
            | Action::ModuleFree(_)
            | Action::KlpTransitionWork
            | Action::KlpFreePatchWork(_)
            | Action::KlpSendSignals
            | Action::KlpCompleteTransitionPart
            | Action::KlpReverseTransitionContinue
            | Action::KlpDisablePatchContinue
            | Action::StoresVisible => None,
        }
    }
}
