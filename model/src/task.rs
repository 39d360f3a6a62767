//! The part of `struct task_struct` that kernel/livepatch/transition.c reads and writes.

use crate::ids::{FuncId, Inline, KlpFuncId, Version, CAP_STACK};
use serde::{Deserialize, Serialize};

/// Value of `task->patch_state` and of `klp_target_state` (include/linux/livepatch.h:
/// `KLP_TRANSITION_IDLE -1`, `KLP_TRANSITION_UNPATCHED 0`, `KLP_TRANSITION_PATCHED 1`; before
/// ~v6.10 `KLP_UNDEFINED`, `KLP_UNPATCHED`, `KLP_PATCHED`). Shown as -1/0/1, the numbers
/// `/proc/<pid>/patch_state` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PatchState {
    #[default]
    Idle,
    Unpatched,
    Patched,
}

impl PatchState {
    /// The number `/proc/<pid>/patch_state` shows.
    pub fn as_i8(self) -> i8 {
        match self {
            PatchState::Idle => -1,
            PatchState::Unpatched => 0,
            PatchState::Patched => 1,
        }
    }
    /// `!state` as transition.c writes it (`task->patch_state = initial_state = !state`).
    pub fn opposite(self) -> PatchState {
        match self {
            PatchState::Unpatched => PatchState::Patched,
            PatchState::Patched => PatchState::Unpatched,
            PatchState::Idle => PatchState::Idle,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            PatchState::Patched => "patching",
            _ => "unpatching",
        }
    }
}

/// What kind of task: a user process, a kernel thread (`PF_KTHREAD`, never returns to user
/// mode), or a per-CPU idle task (`swapper/N`, switched in `do_idle()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A user process: its `entry` functions are syscalls, it returns to user mode between them.
    User,
    /// A kernel thread: its `entry` functions are called from its main loop; never in user mode.
    Kthread,
    /// A CPU's idle task (`swapper/N`): the N-th idle task of the file is CPU N's.
    Idle,
}

/// Where a task is. Only what the transition code can tell apart is modelled:
/// `klp_check_and_switch_task()` refuses a task that is `task_curr()` on another CPU, and a
/// task off the CPU can have its stack checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// Not yet forked (a child slot reserved by the scenario).
    #[default]
    Unborn,
    /// Forked by `copy_process()`, has not run yet (first runs `ret_from_fork`).
    Forked,
    /// A user task running user-mode code: no kernel frames at all.
    User,
    /// On a CPU, executing kernel code (`task_curr()`).
    Running,
    /// Off the CPU inside the kernel: blocked in `schedule()` or, for kthreads, waiting for work.
    Sleeping,
    /// Preempted in kernel code (`preempt_schedule_irq()`, or `__cond_resched()` under the
    /// `preempt` knob): off the CPU but runnable, so not `task_curr()`; it resumes where it was.
    Preempted,
    /// In `copy_process()` on a CPU, between `dup_task_struct()` and `klp_copy_process()`
    /// (only split under `fork_inherits = "tif_before_state"`; the child is not on the task
    /// list yet).
    Forking,
    /// An idle task whose CPU is offline: parked in `arch_cpu_idle_dead()` (`do_idle()` on a
    /// CPU that `cpu_is_offline()`), no frames the scenario names, never `current` of a running
    /// CPU. Only for an idle task of a CPU the scenario lets go offline (`online = false` or
    /// `cpu_down`).
    Offline,
}

/// One kernel stack frame of a function the scenario names, with the code version the
/// `klp_ftrace_handler()` chose when it was called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Frame {
    pub func: FuncId,
    pub version: Version,
}

/// Per-task livepatch state (`task->patch_state`, `TIF_PATCH_PENDING`) plus where it runs.
/// (`Default` only fills the unused slots of [`crate::State::tasks`].) Not `Copy`, though every
/// field is: its derived `Clone` still compiles to a copy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Task {
    pub patch_state: PatchState,
    /// `TIF_PATCH_PENDING` (`klp_patch_pending(task)`).
    pub tif_patch_pending: bool,
    pub context: Context,
    /// Innermost frame last.
    pub stack: Inline<Frame, CAP_STACK>,
    /// A call stopped inside `klp_ftrace_handler()` (only when a `klp_synchronize_transition()`
    /// is dropped, see [`crate::variant::SynchronizeTransition`]): what it has read so far.
    pub handler: Option<HandlerRead>,
    /// A self switch stopped between its reads of `klp_target_state` (only under
    /// `reverse_order = "flip_first"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_switch: Option<SelfSwitch>,
    /// The script's read of a /proc file this task makes (the index of its `grep`/`cat`
    /// command): set when the command starts, with the task in user mode; its next syscall is
    /// the `read()` into the file's show function, and the read ends when that frame returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_read: Option<u8>,
    /// The innermost frame is a call the handler sent back to the function's own entry
    /// (`nop_handler = "set_pc"` picked a nop): the task is at the original function's ftrace
    /// location and enters the handler again ([`crate::Action::KlpNopLoop`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nop_loop: bool,
}

/// Where a lock-free self switch of `current` stands between its reads of `klp_target_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfSwitch {
    /// `klp_update_patch_state()`: TIF_PATCH_PENDING tested and cleared, `klp_target_state` not
    /// yet read; afterwards the task goes on in `resume`.
    Update { resume: Context },
    /// `__klp_sched_try_switch()` → `klp_try_switch_task(current)`: TIF_PATCH_PENDING read set
    /// and `patch_state != klp_target_state`; `klp_check_stack()` not yet run.
    SchedCheck,
    /// `klp_check_stack()` passed; `klp_target_state` not yet read for the store.
    SchedStore,
    /// As [`SelfSwitch::SchedCheck`], from a `cond_resched()` point (`sched_try_switch =
    /// "cond_resched"`): the task stays on its CPU afterwards.
    CondReschedCheck,
    /// As [`SelfSwitch::SchedStore`], from a `cond_resched()` point.
    CondReschedStore,
}

/// The reads of a `klp_ftrace_handler()` in flight: the function called, its func_stack
/// entries, and `func->transition` once read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HandlerRead {
    pub func: FuncId,
    pub read: FuncStackRead,
    pub transition: Option<bool>,
    /// `current->patch_state` read before `func->transition` (only under
    /// `barriers = "no_handler_rmb"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_state: Option<PatchState>,
}

/// What a `klp_ftrace_handler()` read from a function's func_stack: the first entry and the one
/// after it (RCU keeps a removed entry's next pointer, so the pair stays valid after
/// `list_del_rcu()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FuncStackRead {
    pub top: KlpFuncId,
    pub next: Option<KlpFuncId>,
}
