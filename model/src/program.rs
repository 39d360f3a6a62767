//! What the scenario's code does, as queries on the spec and the state: which functions a task
//! may call next, and where and how it may block. (The steps that act on it are in
//! [`crate::workload`] and kernel/sched/.)

use crate::ids::*;
use crate::spec::{Sleeps, Spec};
use crate::state::State;
use crate::task::TaskKind;

/// A function can be called if it is in vmlinux or its module's code runs: `mod->init` runs,
/// the module is LIVE, or `mod->exit()` has not returned (kernel/module/main.c: "Module
/// functions can be called even in the GOING state until mod->exit() finishes"). A module's
/// work function runs only when its work item is queued, once per queueing (a kworker takes it:
/// kernel/workqueue.c `process_one_work()`).
pub fn callable(spec: &Spec, st: &State, f: FuncId) -> bool {
    spec.funcs[f as usize].module.is_none_or(|m| {
        let r = st.mods[m as usize];
        r.state.code_runs() && (spec.modules[m as usize].work != Some(f) || r.work_pending)
    })
}

/// The line the original version of the function `pid` just entered prints, if any (its
/// `pr_info()` on entry, with its module's `pr_fmt` prefix). A patched version prints none.
pub fn enter_message(spec: &Spec, st: &State, pid: Pid) -> Option<String> {
    let fr = st.tasks[pid as usize].stack.last()?;
    message(spec, fr, spec.funcs[fr.func as usize].messages.enter.as_ref()?)
}

/// The line the original version of `pid`'s innermost function prints before it returns.
pub fn exit_message(spec: &Spec, st: &State, pid: Pid) -> Option<String> {
    let fr = st.tasks[pid as usize].stack.last()?;
    message(spec, fr, spec.funcs[fr.func as usize].messages.exit.as_ref()?)
}

fn message(spec: &Spec, fr: &crate::task::Frame, text: &str) -> Option<String> {
    if fr.version != crate::ids::Version::ORIGINAL {
        return None;
    }
    Some(match spec.funcs[fr.func as usize].module {
        Some(m) => format!("{}: {text}", spec.modules[m as usize].name),
        None => text.to_string(),
    })
}

/// A task sleeping or running in a function marked [`Sleeps::UntilModuleExit`] loops until its
/// module's exit clears the flag: `true` once `mod->exit()` began.
pub fn module_exit_began(spec: &Spec, st: &State, pid: Pid) -> bool {
    let Some(fr) = st.tasks[pid as usize].stack.last() else { return false };
    spec.funcs[fr.func as usize].module.is_some_and(|m| st.mods[m as usize].state.is_going())
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
        None if spec.tasks[pid as usize].kind == TaskKind::Kthread => spec.tasks[pid as usize].main_loop.sleeps,
        None => Sleeps::Never,
    }
}
