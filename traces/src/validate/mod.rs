//! Trace validation: is a kernel log a behaviour of the model? `klpcheck validate LOG --scenario
//! S` reads a dmesg ([`parse`]), searches the product of the model and the log position for a
//! behaviour that prints it, over every interleaving ([`search`]), and answers "admitted" with
//! one such behaviour (a [`crate::Trace`]) or the first log line no behaviour produces, with the
//! states that printed everything before it. `klpcheck diagnose` ([`diagnose`]) takes a log that
//! ends inside a transition and says what can still hold it and what would end it; `validate
//! --infer` ([`infer`]) proposes a scenario skeleton from a log.

pub mod diagnose;
pub mod infer;
pub mod parse;
pub mod search;

use crate::view::{context, frame_name, module_state, patch_state};
use klp_model::{Action, KlpSystem, State};
use parse::{LogFile, LogLine};
use std::fmt::Write;

/// Search limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Pairs (state, log position) the product search may store.
    pub max_nodes: usize,
    /// States the search for the lines a scenario can print at all may visit.
    pub max_states: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_nodes: 2_000_000, max_states: 1_000_000 }
    }
}

/// Why no behaviour produces a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// No reachable step of the scenario prints this text at all (every state explored): the
    /// model lacks what printed it, or the log is not of this scenario.
    NeverPrinted { states: usize },
    /// A `klp_try_switch_task()` line names a task (`comm:pid`) the scenario does not have.
    UnknownTask,
    /// A `klp_try_switch_task()` line that holds in no state that printed the lines before it.
    ObservationFails,
    /// Some step of the scenario prints this text, but none that printed the lines before it
    /// can print it next.
    NotNext,
    /// As `NotNext`, but whether the scenario can print it at all is unknown (the search for the
    /// printable lines hit its limit).
    NotNextUnknownText,
}

impl Why {
    pub fn text(&self) -> String {
        match self {
            Why::NeverPrinted { states } => format!(
                "no step of the scenario prints this line at all (all {states} reachable states explored): \
                 the model does not have what printed it, or the log is not of this scenario"
            ),
            Why::UnknownTask => "it names a task (comm:pid) the scenario does not have".into(),
            Why::ObservationFails => {
                "no state that printed the lines before it can print this klp_try_switch_task() line \
                 (no such task is pending, running or sleeping on that function there)"
                    .into()
            }
            Why::NotNext => "the scenario prints this line, but no behaviour that printed the lines before it \
                             prints it next"
                .into(),
            Why::NotNextUnknownText => "no behaviour that printed the lines before it prints it next (whether any \
                                        step of the scenario prints it at all is unknown: limit hit)"
                .into(),
        }
    }

    /// A short identifier for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Why::NeverPrinted { .. } => "never_printed",
            Why::UnknownTask => "unknown_task",
            Why::ObservationFails => "observation_fails",
            Why::NotNext => "not_next",
            Why::NotNextUnknownText => "not_next",
        }
    }
}

/// The answer of [`validate`].
#[derive(Clone, Debug)]
pub enum Verdict {
    /// A behaviour prints the log: its steps (the shortest one).
    Admitted { actions: Vec<Action>, explored: usize },
    /// `line` (the `index`-th line that counts) is the first no behaviour produces; `reached`
    /// are the distinct states that printed every line before it (or, when a step printed the
    /// lines before it and then another line, the state that step started from).
    Rejected { index: usize, line: LogLine, why: Why, reached: Vec<State>, explored: usize },
    /// The node limit stopped the search before the end of the log was reached: neither.
    Incomplete { furthest: usize, explored: usize },
}

/// Validates `log` against the model.
pub fn validate(model: &KlpSystem, log: &LogFile, limits: Limits) -> Verdict {
    let prod = search::explore(model, log, limits.max_nodes, true);
    let explored = prod.nodes.len();
    if let Some(end) = prod.first_end {
        return Verdict::Admitted { actions: prod.actions_to(end), explored };
    }
    let furthest = prod.furthest();
    if !prod.complete {
        return Verdict::Incomplete { furthest, explored };
    }
    let line = log.lines[furthest].clone();
    let why = match &line.observation {
        Some(obs) if search::task_of(model, obs.task()).is_none() => Why::UnknownTask,
        Some(_) => Why::ObservationFails,
        None => match search::printable_lines(model, log, limits.max_states) {
            (lines, true) if !lines.contains(&line.text) => Why::NeverPrinted { states: count_states(model) },
            (_, true) => Why::NotNext,
            (_, false) => Why::NotNextUnknownText,
        },
    };
    let reached = prod.states_before(furthest).into_iter().cloned().collect();
    Verdict::Rejected { index: furthest, line, why, reached, explored }
}

/// The number of reachable states (for the "never printed" message; the search for the printable
/// lines completed, so this does too).
fn count_states(model: &KlpSystem) -> usize {
    use stateright::Model;
    let init = model.init_state();
    let mut seen = std::collections::HashSet::from([(init.clone(), false)]);
    let mut queue = std::collections::VecDeque::from([init]);
    let mut enabled = Vec::new();
    while let Some(st) = queue.pop_front() {
        enabled.clear();
        model.actions(&st, &mut enabled);
        for &a in &enabled {
            if let Some(n) = model.next_state(&st, a) {
                let bit = n.klp_signals_sent.0;
                if seen.insert((n.clone(), bit)) {
                    queue.push_back(n);
                }
            }
        }
    }
    seen.len()
}

/// A state in a few lines of kernel terms: the transition, each task (patch_state,
/// TIF_PATCH_PENDING, where it is), the target modules and the script's next command.
pub fn summary(model: &KlpSystem, st: &State) -> String {
    let spec = &*model.spec;
    let mut out = String::new();
    match st.klp_transition_patch {
        Some(p) => {
            let _ = writeln!(
                out,
                "transition: '{}' to klp_target_state {}",
                spec.patches[p as usize].name,
                patch_state(st.klp_target_state)
            );
        }
        None => {
            let _ = writeln!(out, "no transition");
        }
    }
    for (pid, t) in st.tasks.iter().enumerate() {
        let stack: Vec<String> = t.stack.iter().map(|f| frame_name(spec, f.func, f.version)).collect();
        let tif = if t.tif_patch_pending { ", TIF_PATCH_PENDING" } else { "" };
        let stack = if stack.is_empty() { String::new() } else { format!(" in {}", stack.join(" > ")) };
        let _ = writeln!(
            out,
            "  {}: patch_state {}{tif}, {}{stack}",
            spec.task_comm_pid(pid as u8),
            patch_state(t.patch_state),
            context(t.context)
        );
    }
    let mods: Vec<String> =
        spec.modules.iter().enumerate().map(|(m, ms)| format!("{} {}", ms.name, module_state(st, m))).collect();
    if !mods.is_empty() {
        let _ = writeln!(out, "  modules: {}", mods.join(", "));
    }
    if spec.admin.order == klp_model::spec::AdminOrder::Script {
        let next = st.admin.script_next();
        let what = spec.admin.ops.get(next).map_or("script finished".to_string(), |o| {
            format!("next command: {}", klp_model::dmesg::command_line(spec, o))
        });
        let _ = writeln!(out, "  {what}");
    }
    out
}

/// The human-readable report of a verdict (without the behaviour's timeline, which the caller
/// renders from the trace).
pub fn report(model: &KlpSystem, log: &LogFile, v: &Verdict, max_states_shown: usize) -> String {
    let mut out = String::new();
    let n = log.lines.len();
    match v {
        Verdict::Admitted { actions, explored } => {
            let _ = writeln!(
                out,
                "admitted: a behaviour of '{}' prints all {n} lines of {} ({} steps; {explored} (state, line) pairs explored)",
                model.spec.name,
                log.file,
                actions.len()
            );
        }
        Verdict::Rejected { index, line, why, reached, explored } => {
            let _ = writeln!(out, "rejected: {}:{}: `{}`", log.file, line.lineno, line.text);
            let _ = writeln!(out, "  {}", why.text());
            let _ = writeln!(
                out,
                "  {index} of {n} lines admitted; every interleaving explored ({explored} (state, line) pairs)"
            );
            let _ = writeln!(
                out,
                "  {} distinct state{} printed the lines before it{}:",
                reached.len(),
                if reached.len() == 1 { "" } else { "s" },
                if reached.len() > max_states_shown {
                    format!(" (the first {max_states_shown} shown)")
                } else {
                    String::new()
                }
            );
            for st in reached.iter().take(max_states_shown) {
                for l in summary(model, st).lines() {
                    let _ = writeln!(out, "    {l}");
                }
            }
        }
        Verdict::Incomplete { furthest, explored } => {
            let _ = writeln!(
                out,
                "incomplete: the search stopped at its limit ({explored} (state, line) pairs) having admitted {furthest} \
                 of {n} lines: neither admitted nor rejected (raise --max-nodes)"
            );
        }
    }
    out
}
