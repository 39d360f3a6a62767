//! Why a liveness or possibility counterexample is one, in kernel terms, read off the states of
//! the trace rather than written per scenario:
//! * a lasso (`P ~> Q` under fairness): the states of its cycle. While a transition stays in
//!   progress through them, the tasks that never reach `klp_target_state` on the cycle are the
//!   ones it waits for: where each one is, and which check of `klp_try_switch_task()` refuses it
//!   there (`task_curr()`: it is running; `klp_check_stack()`: a frame of the version being
//!   replaced is on its stack), and why it does not switch itself (TIF_PATCH_PENDING clear, or
//!   it never leaves the kernel);
//! * a possibility (`AG (P -> EF Q)`) or deadlock counterexample: the state it ends in, the
//!   one from which the goal is out of reach: the transition and the tasks it waits for, the
//!   administrator's next command.

use crate::view::frame_name;
use klp_model::kernel::livepatch::transition::{klp_check_stack, task_curr};
use klp_model::log::NoLog;
use klp_model::program::sleep_kind;
use klp_model::spec::Sleeps;
use klp_model::task::{Context, PatchState, TaskKind};
use klp_model::variant::ReliableStack;
use klp_model::{Action, KlpSystem, State};

/// A task the transition waits for: its pid and one sentence.
pub struct Stuck {
    pub pid: usize,
    pub sentence: String,
}

/// The sentence for a lasso whose cycle runs through `cycle` (the state before each cycle
/// step, then the state after the last, which equals the first) taking `steps`, or `None` if
/// no transition stays in progress on it.
pub fn lasso(model: &KlpSystem, cycle: &[State], steps: &[Action]) -> Option<(String, Vec<Stuck>)> {
    let first = cycle.first()?;
    let p = first.klp_transition_patch?;
    if cycle.iter().any(|s| s.klp_transition_patch != Some(p) || s.klp_target_state != first.klp_target_state) {
        return None;
    }
    let spec = &*model.spec;
    let target = first.klp_target_state;
    let name = &spec.patches[p as usize].name;
    let head = if steps.is_empty() {
        format!("the {} transition of {name} stays pending and no fair step is enabled", target.word())
    } else {
        format!("the {} transition of {name} never completes: the cycle repeats for ever", target.word())
    };
    let stuck: Vec<Stuck> = (0..first.tasks.len())
        .filter(|&t| cycle.iter().all(|s| s.tasks[t].context != Context::Unborn && s.tasks[t].patch_state != target))
        .map(|t| Stuck { pid: t, sentence: on_cycle(model, cycle, steps, t) })
        .collect();
    let mut s = head;
    if stuck.is_empty() {
        s.push_str(&format!(", although every task is at {}", ps_word(target)));
        if cycle.iter().all(|c| c.completing.is_some()) {
            // A split klp_complete_transition() whose next part waits in
            // klp_synchronize_transition() for the handlers in flight.
            let mut busy: Vec<&str> = (0..first.tasks.len())
                .filter(|&t| cycle.iter().any(|c| c.tasks[t].handler.is_some()))
                .map(|t| spec.tasks[t].comm.as_str())
                .collect();
            busy.dedup();
            s.push_str("; klp_complete_transition() has begun and never finishes");
            if !busy.is_empty() {
                s.push_str(&format!(
                    ": its next part waits in klp_synchronize_transition() for the klp_ftrace_handler() calls \
                     in flight, and {} keep entering the handler",
                    busy.join(", ")
                ));
            }
        }
    }
    for k in &stuck {
        s.push_str("; ");
        s.push_str(&k.sentence);
    }
    Some((s, stuck))
}

/// The sentence for the last state `st` of a possibility or deadlock counterexample: what keeps
/// the goal out of reach there, as far as the state shows it.
pub fn dead_end(model: &KlpSystem, st: &State, property: &str, steps: usize) -> (String, Vec<Stuck>) {
    let spec = &*model.spec;
    let mut s = format!("after step {steps} no path of allowed steps satisfies '{property}' any more");
    let mut stuck = Vec::new();
    if let Some(p) = st.klp_transition_patch {
        let target = st.klp_target_state;
        s.push_str(&format!("; the {} transition of {} is in progress", target.word(), spec.patches[p as usize].name));
    }
    // The tasks that never move again: a sleep nothing ends (for ever, or until a module's
    // exit). One the transition waits for, the check refuses; one already switched blocks the
    // transition that replaces the code it sleeps in.
    for t in (0..st.tasks.len()).filter(|&t| sleeps_for_good(model, st, t)) {
        let mut sentence = at_state(model, st, t, st.klp_target_state, true);
        if st.klp_transition_patch.is_none() || st.tasks[t].patch_state == st.klp_target_state {
            let patched: Vec<String> = st.tasks[t]
                .stack
                .iter()
                .filter(|fr| fr.version.patch().is_some())
                .map(|fr| frame_name(spec, fr.func, fr.version))
                .collect();
            if !patched.is_empty() {
                sentence = format!(
                    "{}; klp_check_stack() would refuse it in any transition that replaces {}",
                    sentence.split("; ").next().unwrap_or_default(),
                    patched.join(", ")
                );
            }
        }
        s.push_str("; ");
        s.push_str(&sentence);
        stuck.push(Stuck { pid: t, sentence });
    }
    if spec.admin.order == klp_model::spec::AdminOrder::Script {
        match spec.admin.ops.get(st.admin.script_next()) {
            Some(op) => s.push_str(&format!(
                "; the script's next command, `{}`, can never run to its end",
                klp_model::dmesg::command_line(spec, op)
            )),
            None => s.push_str("; the script has run to its end"),
        }
    }
    (s, stuck)
}

/// Whether task `t` sleeps where nothing wakes it for livepatch's sake: for ever, or until its
/// module's exit (which only the administrator starts).
fn sleeps_for_good(model: &KlpSystem, st: &State, t: usize) -> bool {
    st.tasks[t].context == Context::Sleeping
        && matches!(sleep_kind(&model.spec, st, t as u8), Sleeps::Forever | Sleeps::UntilModuleExit)
}

/// One stuck task on a lasso's cycle: described in the state before the transition work's
/// `klp_try_switch_task()` of it on the cycle (the check that refuses it), else in the first.
fn on_cycle(model: &KlpSystem, cycle: &[State], steps: &[Action], t: usize) -> String {
    let tried = steps.iter().position(|a| *a == Action::KlpTrySwitchTask(t as u8));
    let at = &cycle[tried.unwrap_or(0)];
    let same = cycle.iter().all(|s| s.tasks[t].context == at.tasks[t].context && s.tasks[t].stack == at.tasks[t].stack);
    let mut s = at_state(model, at, t, at.klp_target_state, same);
    if tried.is_none() && !steps.is_empty() {
        s.push_str(" (the transition work never tries it on the cycle)");
    }
    if cycle.iter().all(|c| !c.tasks[t].tif_patch_pending) {
        s.push_str("; its TIF_PATCH_PENDING is clear, so it never switches itself");
    }
    s
}

/// Where task `t` is in `st` and which check of `klp_try_switch_task()` refuses it there.
/// `always`: it stays there (on the whole cycle, or for ever in a dead end).
fn at_state(model: &KlpSystem, st: &State, t: usize, target: PatchState, always: bool) -> String {
    let spec = &*model.spec;
    let task = &st.tasks[t];
    let comm = &spec.tasks[t].comm;
    let place = match task.stack.last() {
        Some(fr) => format!("in {}", frame_name(spec, fr.func, fr.version)),
        None if spec.tasks[t].kind == TaskKind::Idle => "in the idle loop".to_string(),
        None => "in its main loop".to_string(),
    };
    let pid = t as u8;
    let where_ = match task.context {
        Context::Sleeping => {
            let how = match sleep_kind(spec, st, pid) {
                Sleeps::Forever => " for ever",
                Sleeps::Interruptible => " interruptibly",
                Sleeps::Uninterruptible => " uninterruptibly",
                Sleeps::UntilModuleExit => " until its module's exit begins",
                Sleeps::Never => "",
            };
            format!("{comm} sleeps{how} {place}")
        }
        Context::Preempted => format!("{comm} is preempted {place}"),
        Context::User => format!("{comm} is in user mode"),
        Context::Offline => format!("{comm} is parked on an offline CPU"),
        Context::Forked | Context::Forking => format!("{comm} is being forked"),
        _ if always => format!("{comm} runs {place} on its CPU"),
        _ => format!("{comm} runs {place} whenever it is tried"),
    };
    let when = target.word();
    let why = if spec.variant.reliable_stack == ReliableStack::No {
        "without a reliable stack trace klp_try_switch_task() never switches it".to_string()
    } else if task_curr(spec, st, pid) {
        if spec.tasks[t].kind == TaskKind::Idle {
            format!("klp_try_switch_task() refuses it while {when}: it is running (an idle task switches only in do_idle())")
        } else {
            format!("klp_try_switch_task() refuses it while {when}: it is running")
        }
    } else if !klp_check_stack(spec, st, pid, &mut NoLog) {
        format!("klp_check_stack() refuses it while {when}")
    } else {
        format!(
            "the transition work could switch it, but does not on the cycle (it is at {})",
            ps_word(task.patch_state)
        )
    };
    format!("{where_}; {why}")
}

fn ps_word(ps: PatchState) -> &'static str {
    match ps {
        PatchState::Patched => "KLP_PATCHED",
        PatchState::Unpatched => "KLP_UNPATCHED",
        _ => "KLP_UNDEFINED",
    }
}
