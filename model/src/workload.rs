//! What tasks do besides livepatching: enter the kernel, call and return, block and wake,
//! fork, and the idle loop. Each step runs on the task itself; the only livepatch code on
//! these paths is the ftrace handler, `klp_update_patch_state()` and `__klp_sched_try_switch()`.

use crate::ftrace::{choose, klp_ftrace_handler, read_func_stack};
use crate::ids::*;
use crate::log::Log;
use crate::spec::{Sleeps, Spec};
use crate::state::{ModState, Site, State, Warn};
use crate::task::{Context, Frame, HandlerRead, TaskKind};
use crate::variant::{ForkInherits, SynchronizeTransition};

/// A function can be called if it is in vmlinux or its module is LIVE.
pub fn callable(spec: &Spec, st: &State, f: FuncId) -> bool {
    spec.funcs[f as usize].module.is_none_or(|m| st.mods[m as usize].state == ModState::Live)
}

/// The functions a running task may call next: the callees of its innermost frame, or its
/// entry points when it has no frame.
pub fn callees<'a>(spec: &'a Spec, st: &State, pid: Pid) -> &'a [FuncId] {
    match st.tasks[pid as usize].stack.last() {
        None => &spec.tasks[pid as usize].entry,
        Some(fr) => &spec.funcs[fr.func as usize].calls,
    }
}

/// Where the task would block: its innermost function's `sleeps`, or a kthread waiting for
/// work with no frames.
pub fn sleep_kind(spec: &Spec, st: &State, pid: Pid) -> Sleeps {
    match st.tasks[pid as usize].stack.last() {
        Some(fr) => spec.funcs[fr.func as usize].sleeps,
        None if spec.tasks[pid as usize].kind == TaskKind::Kthread => Sleeps::Interruptible,
        None => Sleeps::Never,
    }
}

/// The tasks `klp_send_signals()` wakes: TIF_PATCH_PENDING set and sleeping interruptibly
/// (uninterruptible and never-ending sleeps are not affected).
pub fn signal_targets<'a>(spec: &'a Spec, st: &'a State) -> impl Iterator<Item = Pid> + 'a {
    (0..st.tasks.len())
        .filter(move |&i| {
            let t = &st.tasks[i];
            t.tif_patch_pending
                && t.context == Context::Sleeping
                && sleep_kind(spec, st, i as Pid) == Sleeps::Interruptible
        })
        .map(|i| i as Pid)
}

/// A call through `klp_ftrace_handler()` (or plain, for unpatched functions). Atomic (see
/// ftrace.rs) unless the variant drops a `klp_synchronize_transition()`: then the handler's
/// reads before the point that call protected are this step, the rest
/// [`klp_ftrace_handler_finish`].
pub fn call(spec: &Spec, st: &mut State, pid: Pid, f: FuncId) {
    let split = spec.variant.synchronize_transition;
    if split != SynchronizeTransition::All {
        if let Some(read) = read_func_stack(st, f) {
            // Unpatching: the removed func may be read before klp_unpatch_objects(), its
            // transition flag after it was cleared. Patching: transition read before it was
            // cleared, patch_state after it was reset.
            let transition = (split == SynchronizeTransition::DropInCompletePatching)
                .then(|| st.funcs[read.top as usize].transition);
            let t = &mut st.tasks[pid as usize];
            t.handler = Some(HandlerRead { func: f, read, transition, patch_state: None });
            t.context = Context::Running;
            return;
        }
    }
    if crate::ordering::handler_call(spec, st, pid, f) {
        return;
    }
    let ps = st.tasks[pid as usize].patch_state;
    let (version, warn) = klp_ftrace_handler(spec, st, f, ps);
    push_frame(st, pid, f, version, warn);
}

/// The rest of a `klp_ftrace_handler()` in flight: read what is left (`func->transition`,
/// `current->patch_state`), choose, and enter the chosen version.
/// Atomic because: the remaining reads are ordered by the handler's `smp_rmb()`s and nothing
/// the variant still synchronizes can run between them.
pub fn klp_ftrace_handler_finish(spec: &Spec, st: &mut State, pid: Pid) -> Option<()> {
    let h = st.tasks[pid as usize].handler.take()?;
    let transition = h.transition.unwrap_or(st.funcs[h.read.top as usize].transition);
    let ps = h.patch_state.unwrap_or(st.tasks[pid as usize].patch_state);
    let (version, warn) = choose(spec, h.read, transition, ps);
    push_frame(st, pid, h.func, version, warn);
    Some(())
}

pub(crate) fn push_frame(st: &mut State, pid: Pid, f: FuncId, version: Version, warn: bool) {
    if warn {
        st.warn(Warn::HandlerIdle);
    }
    if st.func_stacks[f as usize].last().is_some_and(|&k| st.funcs[k as usize].transition) {
        st.reach(Site::HandlerTransition);
    }
    let t = &mut st.tasks[pid as usize];
    t.stack.push(Frame { func: f, version });
    t.context = Context::Running;
}

/// Pop the innermost frame; a user task with no frame left returns to user mode, where
/// `exit_to_user_mode()` calls `klp_update_patch_state()`.
pub fn ret(spec: &Spec, st: &mut State, pid: Pid) {
    st.tasks[pid as usize].stack.pop();
    if spec.tasks[pid as usize].kind == TaskKind::User && st.tasks[pid as usize].stack.is_empty() {
        exit_to_user_mode(spec, st, pid);
    }
}

/// `exit_to_user_mode()` with `_TIF_PATCH_PENDING` in the work mask.
pub fn exit_to_user_mode(spec: &Spec, st: &mut State, pid: Pid) {
    crate::ordering::update_patch_state_current(spec, st, pid, Context::User);
}

/// The idle loop (`do_idle()`): `klp_update_patch_state(current)`.
pub fn do_idle(spec: &Spec, st: &mut State, pid: Pid) {
    let resume = st.tasks[pid as usize].context;
    crate::ordering::update_patch_state_current(spec, st, pid, resume);
}

/// `schedule()`: `__schedule()` calls `__klp_sched_try_switch()` (newest kernels; v6.4..v6.13
/// only from `cond_resched()`), then the task leaves the CPU.
pub fn schedule(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) {
    if crate::ordering::sched_try_switch(spec, st, pid, log) {
        st.tasks[pid as usize].context = Context::Sleeping;
    }
}

/// `copy_process()` → `klp_copy_process()` (under `tasklist_lock`): the child inherits the
/// parent's `patch_state` and TIF_PATCH_PENDING together; then the parent returns to user
/// mode. Under `fork_inherits = "tif_before_state"` (v4.12..v5.19) this step is only
/// `dup_task_struct()`: the child's thread flags, TIF_PATCH_PENDING among them, are copied
/// from the parent without `tasklist_lock`, and the parent stays in `copy_process()`
/// ([`Context::Forking`]) until [`klp_copy_process`].
/// Atomic because (upstream): `write_lock_irq(&tasklist_lock)` excludes the transition
/// code's task-list walks, and the parent, being `current` on a CPU, is not switched.
pub fn fork(spec: &Spec, st: &mut State, pid: Pid) -> Option<Pid> {
    let child = unborn_child(spec, st, pid)?;
    let parent = st.tasks[pid as usize].clone();
    let c = &mut st.tasks[child];
    c.tif_patch_pending = parent.tif_patch_pending;
    if spec.variant.fork_inherits == ForkInherits::TifBeforeState {
        st.tasks[pid as usize].context = Context::Forking;
        return Some(child as Pid);
    }
    c.patch_state = parent.patch_state;
    c.context = Context::Forked;
    st.reach(Site::CopyProcess);
    exit_to_user_mode(spec, st, pid);
    Some(child as Pid)
}

/// v4.12..v5.19 `klp_copy_process()`, later in `copy_process()` under `tasklist_lock`:
/// `child->patch_state = current->patch_state` ("TIF_PATCH_PENDING gets copied in
/// setup_thread_stack()"); the child joins the task list and the parent returns to user mode.
/// Atomic because: `write_lock_irq(&tasklist_lock)`.
pub fn klp_copy_process(spec: &Spec, st: &mut State, pid: Pid) -> Option<Pid> {
    let child = unborn_child(spec, st, pid)?;
    st.tasks[child].patch_state = st.tasks[pid as usize].patch_state;
    st.tasks[child].context = Context::Forked;
    st.reach(Site::CopyProcess);
    exit_to_user_mode(spec, st, pid);
    Some(child as Pid)
}

/// The parent's next child slot not yet on the task list.
fn unborn_child(spec: &Spec, st: &State, pid: Pid) -> Option<usize> {
    (0..spec.tasks.len()).find(|&c| spec.tasks[c].parent == Some(pid) && st.tasks[c].context == Context::Unborn)
}
