//! Deterministic execution of a script scenario, the way the kernel selftest harness
//! (tools/testing/selftests/livepatch/functions.sh) lets things happen, and the harness's filter
//! of the kernel log, so that a transcript can be compared line by line with a selftest's
//! `check_result` text.
//!
//! # Scheduling policy
//!
//! The selftests run one shell command at a time, and each helper waits (`load_lp` for the
//! transition, `disable_lp` for the sysfs directory, `unload_lp` for the reference count, module
//! loads and unloads for the loader); shell commands are fast compared with the transition work,
//! which `klp_try_complete_transition()` re-arms with a delay of one second. So at every step the
//! runner takes the first enabled action of this fixed priority list (ties: lowest index, i.e.
//! task order, which is the order the kernel's task walk uses):
//!
//! 1. kernel work that finishes the command in flight: the running pass of
//!    `klp_try_complete_transition()` (`klp_try_switch_task()` on the next task), then the module
//!    loader (`klp_module_coming()`, `mod->init` and `mod->exit()` returning, `klp_module_going()`,
//!    `free_module()`),
//!    then `klp_free_patch_work_fn()`;
//! 2. a target module's work item (the model's: its init queues it, `ModRt::work_pending`):
//!    the kthread that runs it wakes up and calls its function, then returns from it, or blocks
//!    in it if the function sleeps (`sleeps = "until_module_exit"` comes back once the module's
//!    exit began, and then returns);
//! 3. a kthread with no frames and no work due goes to sleep waiting for work (`schedule()`), so
//!    it does not look busy to `klp_try_switch_task()`;
//! 4. the script's read of a /proc file (`grep` / `cat`): the reading task's `read()` enters the
//!    show function (through `klp_ftrace_handler()`) and returns, before anything else runs
//!    (a shell pipeline is fast compared with the transition work);
//! 5. the next admin command of the script, once the previous command's wait is over;
//! 6. tasks that switch themselves: a user task with TIF_PATCH_PENDING returns to user mode
//!    (`exit_to_user_mode()`; it takes an interrupt or a syscall), an idle task runs the idle loop
//!    (`do_idle()`), because `klp_try_complete_transition()` woke it;
//! 7. the delayed transition work (`klp_transition_work_fn()`) starts a new pass.
//!
//! Tasks never enter a patched function on their own (the runner makes no syscalls but the
//! script's reads), so the transcript is the one of a quiet machine. The run ends when the script is finished and nothing
//! but task steps remains. It fails when no step can make progress while the script is not
//! finished, or when a state comes back (the only enabled steps go round in a circle: a
//! transition that cannot complete, which the selftest helper would report as "failed to complete
//! transition"), or after `max_steps` steps.
//!
//! # Filter
//!
//! [`harness_keeps`] is `check_result()`'s filter together with `set_dynamic_debug()`:
//! `pr_debug()` messages of `klp_try_switch_task()` are switched off, then only lines containing
//! `livepatch:` or `test_klp` are kept, except "tainting kernel" / "taints kernel" lines. The
//! harness logs its commands (`% insmod ...`, `% rmmod ...`, `% echo ...`) and insmod's error
//! output into the kernel log, so they pass through the same filter: they are kept because the
//! selftest modules' names contain `test_klp`. [`scenario_keeps`] is the same filter for a
//! scenario whose modules are named otherwise: `test_klp` there stands for "the names of the
//! test's own modules", so the lines naming one of the scenario's livepatch or target modules
//! (its `% insmod lp1.ko`, `lp1: ...` messages) are kept as well; use [`execute`] for the
//! unfiltered transcript.

use klp_model::log::Dmesg;
use klp_model::spec::{AdminOrder, Sleeps};
use klp_model::task::{Context, TaskKind};
use klp_model::{Action, KlpSystem, State};
use stateright::Model;
use std::collections::HashSet;

/// Why a script did not run to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("scenario '{0}' has no script (admin.order is not \"script\")")]
    NotScript(String),
    #[error("no end after {steps} steps (transcript so far: {} lines)", transcript.len())]
    MaxSteps { steps: usize, transcript: Vec<String> },
    #[error("stuck after {steps} steps, {waiting}: {reason}")]
    Stuck {
        steps: usize,
        /// What the script is waiting for: the next command or the end of the script.
        waiting: String,
        reason: String,
        /// Every kernel line so far, unfiltered.
        transcript: Vec<String>,
    },
}

/// One run of a script: the actions taken and every line they logged, unfiltered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    pub actions: Vec<Action>,
    pub dmesg: Vec<String>,
}

/// Executes a script scenario with the scheduling policy of the module documentation and
/// returns the transcript as the selftest's `check_result()` sees it.
pub fn run_script(model: &KlpSystem, max_steps: usize) -> Result<Vec<String>, RunError> {
    Ok(execute(model, max_steps)?.dmesg.into_iter().filter(|l| scenario_keeps(&model.spec, l)).collect())
}

/// [`harness_keeps`], with the names of the scenario's livepatch and target modules in the role
/// of `test_klp` (a selftest's modules are all named `test_klp_*`, so for the selftest scenarios
/// the two filters agree): a line that names one of them as a word is kept, unless the harness
/// drops it for another reason (dynamic debug, taint notices).
pub fn scenario_keeps(spec: &klp_model::Spec, line: &str) -> bool {
    if harness_keeps(line) {
        return true;
    }
    if line.starts_with("livepatch: klp_try_switch_task: ")
        || line.contains("tainting kernel")
        || line.contains("taints kernel")
    {
        return false;
    }
    let names = spec.patches.iter().map(|p| p.name.as_str()).chain(spec.modules.iter().map(|m| m.name.as_str()));
    names.into_iter().any(|n| names_word(line, n))
}

/// `line` contains `name` not as part of a longer identifier (`lp1` in `lp1.ko`, not in `lp10`).
fn names_word(line: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Whether `check_result()` (with the dynamic debug setup of functions.sh) keeps a log line.
pub fn harness_keeps(line: &str) -> bool {
    // set_dynamic_debug(): "func klp_try_switch_task -p".
    if line.starts_with("livepatch: klp_try_switch_task: ") {
        return false;
    }
    // grep -e 'livepatch:' -e 'test_klp' | grep -v '\(tainting\|taints\) kernel'
    (line.contains("livepatch:") || line.contains("test_klp"))
        && !line.contains("tainting kernel")
        && !line.contains("taints kernel")
}

/// Executes a script scenario; see the module documentation for the policy.
pub fn execute(model: &KlpSystem, max_steps: usize) -> Result<Run, RunError> {
    let spec = &*model.spec;
    if spec.admin.order != AdminOrder::Script {
        return Err(RunError::NotScript(spec.name.clone()));
    }
    let mut st = model.init_state();
    let mut run = Run::default();
    let mut seen: HashSet<State> = HashSet::new();
    let mut enabled = Vec::new();
    loop {
        enabled.clear();
        model.actions(&st, &mut enabled);
        let script_done = st.admin.script_next() >= spec.admin.ops.len();
        // A work function blocked in its loop is as far as it gets, unless it can be woken (its
        // module's exit began).
        let work_pending = (0..st.tasks.len()).any(|pid| {
            runs_work(model, &st, pid)
                && (st.tasks[pid].context != Context::Sleeping || enabled.contains(&Action::Wake(pid as u8)))
        }) || st.mods.iter().any(|m| m.work_pending);
        let reading = st.tasks.iter().any(|t| t.proc_read.is_some());
        if script_done && !work_pending && !reading && enabled.iter().all(is_task_step) {
            return Ok(run);
        }
        if run.actions.len() >= max_steps {
            return Err(RunError::MaxSteps { steps: run.actions.len(), transcript: run.dmesg });
        }
        let stuck = |reason: &str, run: Run| RunError::Stuck {
            steps: run.actions.len(),
            waiting: waiting_for(model, &st),
            reason: reason.to_string(),
            transcript: run.dmesg,
        };
        if !seen.insert(st.clone()) {
            return Err(stuck("the same state came back: the steps that remain go round in a circle", run));
        }
        let Some(action) = choose(model, &st, &enabled) else {
            return Err(stuck("no step can make progress", run));
        };
        let mut log = Dmesg::default();
        st = model.step(&st, action, &mut log).expect("the runner only takes enabled actions");
        run.actions.push(action);
        run.dmesg.extend(log.0);
    }
}

/// The task runs a module's work function (its outermost frame is one).
fn runs_work(model: &KlpSystem, st: &State, pid: usize) -> bool {
    let spec = &*model.spec;
    st.tasks[pid].stack.first().is_some_and(|fr| {
        spec.funcs[fr.func as usize].module.is_some_and(|m| spec.modules[m as usize].work == Some(fr.func))
    })
}

/// The work function queued for kthread `pid`: a pending work item whose function is in its entry.
fn work_due(model: &KlpSystem, st: &State, pid: usize) -> Option<u8> {
    let spec = &*model.spec;
    spec.tasks[pid].entry.iter().copied().find(|&f| {
        spec.funcs[f as usize]
            .module
            .is_some_and(|m| spec.modules[m as usize].work == Some(f) && st.mods[m as usize].work_pending)
    })
}

/// Steps a task takes on its own (everything but admin commands and kernel work).
fn is_task_step(a: &Action) -> bool {
    matches!(
        a,
        Action::Syscall(..)
            | Action::Call(..)
            | Action::Return(_)
            | Action::Schedule(_)
            | Action::Wake(_)
            | Action::ExitToUserMode(_)
            | Action::DoIdle(_)
            | Action::Fork(_)
            | Action::RetFromFork(_)
    )
}

/// The policy's choice among the enabled actions.
fn choose(model: &KlpSystem, st: &State, enabled: &[Action]) -> Option<Action> {
    let spec = &*model.spec;
    let first = |pred: &dyn Fn(&Action) -> bool| enabled.iter().copied().find(|a| pred(a));
    // 1. Kernel work finishing the command in flight.
    if let Some(a) = first(&|a| matches!(a, Action::KlpTrySwitchTask(_)))
        .or_else(|| {
            first(&|a| {
                matches!(
                    a,
                    Action::KlpModuleComing(_)
                        | Action::ModuleInit(_)
                        | Action::ModuleExit(_)
                        | Action::KlpModuleGoing(_)
                        | Action::ModuleFree(_)
                )
            })
        })
        .or_else(|| first(&|a| matches!(a, Action::KlpFreePatchWork(_))))
    {
        return Some(a);
    }
    // 2. Work items queued by a module's init.
    for (pid, t) in st.tasks.iter().enumerate() {
        let p = pid as u8;
        if spec.tasks[pid].kind != TaskKind::Kthread {
            continue;
        }
        let want = match (t.context, t.stack.last()) {
            (Context::Sleeping, None) if work_due(model, st, pid).is_some() => Action::Wake(p),
            (Context::Running, None) => match work_due(model, st, pid) {
                Some(f) => Action::Call(p, f),
                None => continue,
            },
            (Context::Running, Some(fr)) if runs_work(model, st, pid) => {
                let sleeps = spec.funcs[fr.func as usize].sleeps_of(fr.version);
                if sleeps == Sleeps::Never || enabled.contains(&Action::Return(p)) && sleeps == Sleeps::UntilModuleExit
                {
                    Action::Return(p)
                } else {
                    Action::Schedule(p)
                }
            }
            (Context::Sleeping, Some(_)) if runs_work(model, st, pid) => Action::Wake(p),
            _ => continue,
        };
        if enabled.contains(&want) {
            return Some(want);
        }
    }
    // 3. Idle kthreads wait for work.
    for (pid, t) in st.tasks.iter().enumerate() {
        let a = Action::Schedule(pid as u8);
        if spec.tasks[pid].kind == TaskKind::Kthread
            && work_due(model, st, pid).is_none()
            && t.context == Context::Running
            && t.stack.is_empty()
            && enabled.contains(&a)
        {
            return Some(a);
        }
    }
    // 4. The script's read in flight: the reader's read() and its return.
    for (pid, t) in st.tasks.iter().enumerate() {
        let p = pid as u8;
        let step = match t.context {
            Context::User => enabled.iter().copied().find(|a| matches!(a, Action::Syscall(q, _) if *q == p)),
            Context::Running => Some(Action::Return(p)).filter(|a| enabled.contains(a)),
            _ => None,
        };
        if let (Some(_), Some(a)) = (t.proc_read, step) {
            return Some(a);
        }
    }
    // 5. The next admin command.
    if let Some(a) = first(&|a| matches!(a, Action::Admin(_))) {
        return Some(a);
    }
    // 6. Tasks that switch themselves on the way to user mode or in the idle loop.
    if let Some(a) = first(&|a| matches!(a, Action::ExitToUserMode(_) | Action::DoIdle(_))) {
        return Some(a);
    }
    // 7. The delayed transition work.
    first(&|a| matches!(a, Action::KlpTransitionWork))
}

/// What the script waits for, for error messages.
fn waiting_for(model: &KlpSystem, st: &State) -> String {
    let spec = &*model.spec;
    let pc = st.admin.script_next();
    let transition = st
        .klp_transition_patch
        .map(|p| format!(" ('{}' is in transition)", spec.patches[p as usize].name))
        .unwrap_or_default();
    match spec.admin.ops.get(pc) {
        Some(op) => format!(
            "before command {} `{}`{transition}",
            pc + 1,
            klp_model::dmesg::command_line(spec, op).trim_start_matches("% ")
        ),
        None => format!("at the end of the script{transition}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Property;

    fn no_properties() -> Vec<Property<KlpSystem>> {
        Vec::new()
    }

    fn system(toml: &str) -> KlpSystem {
        KlpSystem::new(klp_model::scenario::parse("t", "t.toml", toml).unwrap(), no_properties)
    }

    const BUSY: &str = r#"
[[functions]]
name = "busymod_work_func"
object = "test_klp_busy"
sleeps = "until_module_exit"

[[modules]]
name = "test_klp_busy"
work = "busymod_work_func"
init_waits = "work_started"

[[tasks]]
comm = "bash"

[[tasks]]
comm = "kworker/0:1"
kind = "kthread"
entry = ["busymod_work_func"]

[[tasks]]
comm = "swapper/0"
kind = "idle"

[[patches]]
name = "test_klp_lp"
  [[patches.objects]]
  name = "test_klp_busy"
  funcs = ["busymod_work_func"]
"#;

    /// A scenario whose modules are not named `test_klp_*`: its own command lines and module
    /// messages are kept (issue 17: `klpcheck run mine.toml` dropped the user's `% insmod`).
    #[test]
    fn filter_keeps_the_scenarios_own_modules() {
        let spec = klp_model::scenario::parse("t", "t.toml", &BUSY.replace("test_klp_", "my")).unwrap();
        assert!(scenario_keeps(&spec, "% insmod test_modules/mylp.ko"));
        assert!(scenario_keeps(&spec, "% rmmod mybusy"));
        assert!(scenario_keeps(&spec, "mybusy: busymod_work_func enter"));
        assert!(!scenario_keeps(&spec, "% rmmod mylp2"), "another module whose name starts with mylp");
        assert!(!scenario_keeps(&spec, "mylp: tainting kernel with TAINT_LIVEPATCH"));
        assert!(!scenario_keeps(&spec, "vfs_read enter"));
        assert!(scenario_keeps(&spec, "livepatch: enabling patch 'mylp'"));
    }

    #[test]
    fn filter_is_check_results() {
        assert!(harness_keeps("livepatch: enabling patch 'lp1'"));
        assert!(harness_keeps("% rmmod test_klp_livepatch"));
        assert!(harness_keeps("test_klp_callbacks_demo: pre_patch_callback: vmlinux"));
        assert!(!harness_keeps("% rmmod lp1"));
        assert!(!harness_keeps("livepatch: klp_try_switch_task: swapper/0 is running"));
        assert!(!harness_keeps("test_klp_livepatch: tainting kernel with TAINT_LIVEPATCH"));
        assert!(!harness_keeps("livepatch: module taints kernel."));
    }

    #[test]
    fn load_lp_on_a_blocked_transition_is_stuck() {
        let ops = r#"
[admin]
order = "script"
ops = [
  { op = "insmod", module = "test_klp_busy" },
  { op = "insmod", patch = "test_klp_lp" },
  { op = "disable", patch = "test_klp_lp" },
]
"#;
        let err = run_script(&system(&format!("{BUSY}{ops}")), 1000).unwrap_err();
        let RunError::Stuck { waiting, transcript, .. } = &err else { panic!("{err:?}") };
        assert!(waiting.contains("echo 0 > /sys/kernel/livepatch/test_klp_lp/enabled"), "{waiting}");
        assert!(waiting.contains("'test_klp_lp' is in transition"), "{waiting}");
        assert!(transcript.iter().any(|l| l.contains("starting patching transition")));
        assert!(!transcript.iter().any(|l| l.contains("completing")));
    }

    #[test]
    fn load_lp_nowait_then_disable_reverses_and_completes() {
        let ops = r#"
[admin]
order = "script"
ops = [
  { op = "insmod", module = "test_klp_busy" },
  { op = "insmod", patch = "test_klp_lp", wait = false },
  { op = "disable", patch = "test_klp_lp" },
  { op = "rmmod", patch = "test_klp_lp" },
]
"#;
        let m = system(&format!("{BUSY}{ops}"));
        let out = run_script(&m, 1000).unwrap();
        assert_eq!(
            out,
            [
                "% insmod test_modules/test_klp_busy.ko",
                "% insmod test_modules/test_klp_lp.ko",
                "livepatch: enabling patch 'test_klp_lp'",
                "livepatch: 'test_klp_lp': initializing patching transition",
                "livepatch: 'test_klp_lp': starting patching transition",
                "% echo 0 > /sys/kernel/livepatch/test_klp_lp/enabled",
                "livepatch: 'test_klp_lp': reversing transition from patching to unpatching",
                "livepatch: 'test_klp_lp': starting unpatching transition",
                "livepatch: 'test_klp_lp': completing unpatching transition",
                "livepatch: 'test_klp_lp': unpatching complete",
                "% rmmod test_klp_lp",
            ]
        );
        // Deterministic: the same actions every time.
        assert_eq!(execute(&m, 1000).unwrap(), execute(&m, 1000).unwrap());
    }

    #[test]
    fn limits_and_order() {
        let ops = "[admin]\norder = \"script\"\nops = [{ op = \"insmod\", patch = \"test_klp_lp\" }]\n";
        let m = system(&format!("{BUSY}{ops}"));
        assert!(matches!(run_script(&m, 1), Err(RunError::MaxSteps { steps: 1, .. })));
        let any = BUSY.to_string() + "[admin]\norder = \"any\"\nops = [{ op = \"insmod\", patch = \"test_klp_lp\" }]\n";
        assert_eq!(run_script(&system(&any), 100), Err(RunError::NotScript("t".into())));
    }
}
