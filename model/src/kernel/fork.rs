//! kernel/fork.c: `copy_process()` and the child's first run.

use super::entry::common::exit_to_user_mode;
use crate::ids::*;
use crate::kernel::livepatch::transition::klp_copy_process;
use crate::spec::Spec;
use crate::state::State;
use crate::task::Context;
use crate::variant::ForkInherits;

/// The parent's next child slot not yet on the task list.
fn unborn_child(spec: &Spec, st: &State, pid: Pid) -> Option<Pid> {
    (0..spec.tasks.len())
        .find(|&c| spec.tasks[c].parent == Some(pid) && st.tasks[c].context == Context::Unborn)
        .map(|c| c as Pid)
}

/// `copy_process()` of a user task's `fork()`: `dup_task_struct()`, `klp_copy_process()` under
/// `tasklist_lock` (the child joins the task list), then the parent returns to user mode.
/// Under `fork_inherits = "tif_before_state"` (v4.12..v5.19) this step is only
/// `dup_task_struct()`: the child's thread flags, TIF_PATCH_PENDING among them, are copied from
/// the parent without `tasklist_lock`, and the parent stays in `copy_process()`
/// ([`Context::Forking`]) until [`copy_process_continue`].
/// Atomic because (upstream): `write_lock_irq(&tasklist_lock)` excludes the transition code's
/// task-list walks, and the parent, being `current` on a CPU, is not switched.
pub fn copy_process(spec: &Spec, st: &mut State, pid: Pid) -> Option<()> {
    let child = unborn_child(spec, st, pid)?;
    if spec.variant.fork_inherits == ForkInherits::TifBeforeState {
        st.tasks[child as usize].tif_patch_pending = st.tasks[pid as usize].tif_patch_pending;
        st.tasks[pid as usize].context = Context::Forking;
        return Some(());
    }
    finish_copy_process(spec, st, pid, child);
    Some(())
}

/// The rest of a split `copy_process()` (`fork_inherits = "tif_before_state"`): from
/// `klp_copy_process()` on.
/// Atomic because: `klp_copy_process()` runs under `write_lock_irq(&tasklist_lock)` (its doc).
pub fn copy_process_continue(spec: &Spec, st: &mut State, pid: Pid) -> Option<()> {
    if st.tasks[pid as usize].context != Context::Forking {
        return None;
    }
    let child = unborn_child(spec, st, pid)?;
    finish_copy_process(spec, st, pid, child);
    Some(())
}

/// `klp_copy_process()`; the child is on the task list (it first runs `ret_from_fork`); the
/// parent returns to user mode.
fn finish_copy_process(spec: &Spec, st: &mut State, pid: Pid, child: Pid) {
    klp_copy_process(spec, st, pid, child);
    st.tasks[child as usize].context = Context::Forked;
    exit_to_user_mode(spec, st, pid);
}

/// `ret_from_fork`: the new child's first run returns to user mode.
/// Atomic because: as [`exit_to_user_mode`].
pub fn ret_from_fork(spec: &Spec, st: &mut State, pid: Pid) {
    exit_to_user_mode(spec, st, pid);
}
