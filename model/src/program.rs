//! What the scenario's code does, as queries on the spec and the state: which functions a task
//! may call next, and where and how it may block. (The steps that act on it are in
//! [`crate::workload`] and kernel/sched/.)

use crate::ids::*;
use crate::spec::{Sleeps, Spec};
use crate::state::{ModState, State};
use crate::task::TaskKind;

/// A function can be called if it is in vmlinux or its module is LIVE.
pub fn callable(spec: &Spec, st: &State, f: FuncId) -> bool {
    spec.funcs[f as usize].module.is_none_or(|m| st.mods[m as usize].state == ModState::Live)
}

/// The functions a running task may call next: the callees of the version its innermost frame
/// runs (a patch's new function may call others than the original), or its entry points when
/// it has no frame.
pub fn callees<'a>(spec: &'a Spec, st: &State, pid: Pid) -> &'a [FuncId] {
    match st.tasks[pid as usize].stack.last() {
        None => &spec.tasks[pid as usize].entry,
        Some(fr) => spec.funcs[fr.func as usize].calls_of(fr.version),
    }
}

/// Where the task would block: the `sleeps` of the version its innermost frame runs, or a
/// kthread waiting for work with no frames.
pub fn sleep_kind(spec: &Spec, st: &State, pid: Pid) -> Sleeps {
    match st.tasks[pid as usize].stack.last() {
        Some(fr) => spec.funcs[fr.func as usize].sleeps_of(fr.version),
        None if spec.tasks[pid as usize].kind == TaskKind::Kthread => Sleeps::Interruptible,
        None => Sleeps::Never,
    }
}
