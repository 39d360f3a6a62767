//! Counterexample and witness traces: one [`Trace`] type, written as JSON (schema in
//! traces/README.md), re-executed by [`replay`], and printed as a readable step list.

pub mod run;

use klp_model::log::Dmesg;
use klp_model::{Action, KlpSystem, State};
use serde::{Deserialize, Serialize};
use stateright::Model;
use std::path::Path;

/// Version of the JSON schema; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Trace {
    pub schema: u32,
    pub tool: String,
    /// Scenario name and the path it was loaded from (relative to the working directory).
    pub scenario: String,
    pub scenario_path: String,
    pub variant: klp_model::Variant,
    pub property: String,
    /// "violated" (an `always` counterexample) or "witness" (a `sometimes` example).
    pub verdict: String,
    pub stats: Stats,
    pub steps: Vec<Step>,
    /// Liveness counterexamples (lassos): index in `steps` of the first step of the cycle that
    /// repeats forever; `steps.len()` when the last state stutters forever (no fair step is
    /// enabled). Absent for safety counterexamples, witnesses and possibility violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_start: Option<usize>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub unique_states: u64,
    pub max_depth: u64,
    pub complete: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub i: usize,
    pub action: Action,
    pub text: String,
    pub dmesg: Vec<String>,
}

/// Builds a trace by executing `actions` from the initial state, collecting dmesg lines.
/// Fails with the index of the first action the model does not enable.
pub fn build(model: &KlpSystem, actions: &[Action]) -> Result<Vec<Step>, usize> {
    let mut st = model.init_state();
    let mut steps = Vec::new();
    for (i, &a) in actions.iter().enumerate() {
        let (next, log) = apply(model, &st, a).ok_or(i)?;
        steps.push(Step { i: i + 1, action: a, text: model.describe(&a), dmesg: log.0 });
        st = next;
    }
    Ok(steps)
}

fn apply(model: &KlpSystem, st: &State, a: Action) -> Option<(State, Dmesg)> {
    let mut enabled = Vec::new();
    model.actions(st, &mut enabled);
    if !enabled.contains(&a) {
        return None;
    }
    let mut log = Dmesg::default();
    model.step(st, a, &mut log).map(|n| (n, log))
}

/// The outcome of re-executing a trace.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// Every step was enabled and the property's verdict was reproduced at the last state.
    Confirmed { steps: usize },
    /// Every step was enabled but the final state does not show the verdict.
    NotReproduced { steps: usize },
    /// Step `step` (1-based) is not enabled in the model any more.
    Refused { step: usize, text: String },
}

/// The state after the trace's last step (`None` if a step is refused).
pub fn final_state(model: &KlpSystem, trace: &Trace) -> Option<State> {
    let mut st = model.init_state();
    for s in &trace.steps {
        st = apply(model, &st, s.action)?.0;
    }
    Some(st)
}

/// Re-executes the trace step by step; `property` checks the final state.
pub fn replay(model: &KlpSystem, trace: &Trace) -> Replay {
    let mut st = model.init_state();
    let mut cycle_entry = None;
    for (k, s) in trace.steps.iter().enumerate() {
        if trace.cycle_start == Some(k) {
            cycle_entry = Some(st.clone());
        }
        match apply(model, &st, s.action) {
            Some((n, _)) => st = n,
            None => return Replay::Refused { step: s.i, text: s.text.clone() },
        }
    }
    // A lasso (liveness counterexample): the cycle must lead back to where it started. (Its
    // fairness is the checker's claim; replay checks the shape.)
    if let Some(c) = trace.cycle_start {
        let closes = c >= trace.steps.len() || cycle_entry.as_ref() == Some(&st);
        return if closes {
            Replay::Confirmed { steps: trace.steps.len() }
        } else {
            Replay::NotReproduced { steps: trace.steps.len() }
        };
    }
    let prop = model.properties().into_iter().find(|p| p.name == trace.property);
    let shown = match prop {
        None => false,
        Some(p) => {
            let holds = (p.condition)(model, &st);
            match trace.verdict.as_str() {
                "violated" => !holds,
                _ => holds,
            }
        }
    };
    if shown {
        Replay::Confirmed { steps: trace.steps.len() }
    } else {
        Replay::NotReproduced { steps: trace.steps.len() }
    }
}

/// Writes the trace as pretty JSON atomically (temp file + rename), so an interrupted run
/// never leaves a half-written trace.
pub fn write_json(trace: &Trace, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(trace).map_err(std::io::Error::other)?)?;
    std::fs::rename(tmp, path)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}: cannot read: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not a klpcheck trace: {1}")]
    Json(String, serde_json::Error),
    #[error("{0}: trace schema {1}, this klpcheck reads schema {SCHEMA_VERSION}")]
    Schema(String, u32),
}

pub fn read_json(path: &Path) -> Result<Trace, ReadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReadError::Io(name.clone(), e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| ReadError::Json(name.clone(), e))?;
    let schema = v.get("schema").and_then(|s| s.as_u64()).unwrap_or(0) as u32;
    if schema != SCHEMA_VERSION {
        return Err(ReadError::Schema(name, schema));
    }
    serde_json::from_value(v).map_err(|e| ReadError::Json(name, e))
}

/// The readable step list: one line per step, its dmesg lines indented below.
pub fn render_steps(trace: &Trace) -> String {
    let mut out = format!(
        "{} '{}' in scenario '{}' ({} steps):\n",
        if trace.verdict == "violated" { "counterexample for" } else { "witness for" },
        trace.property,
        trace.scenario,
        trace.steps.len()
    );
    for s in &trace.steps {
        out.push_str(&format!("{:4}  {}\n", s.i, s.text));
        for l in s.dmesg.iter().filter(|l| **l != s.text) {
            out.push_str(&format!("        {l}\n"));
        }
    }
    out
}
