//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::{CheckArgs, Engine};
use crate::engine::{self, Limits, Outcome};
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::{Stats, Trace};
use stateright::Expectation;
use std::time::Duration;

/// Verdict of one property after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Violated,
    Reachable,
    Unreachable,
    Incomplete,
    /// The engine does not check this property (liveness on stateright's engine).
    Unchecked,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::Reachable => "reachable",
            Verdict::Unreachable => "unreachable",
            Verdict::Incomplete => "incomplete",
            Verdict::Unchecked => "unchecked",
        }
    }
}

pub fn verdict(expectation: &Expectation, found: bool, complete: bool) -> Verdict {
    match (expectation, found, complete) {
        (Expectation::Always | Expectation::Eventually, true, _) => Verdict::Violated,
        (Expectation::Sometimes, true, _) => Verdict::Reachable,
        (_, false, false) => Verdict::Incomplete,
        (Expectation::Sometimes, false, true) => Verdict::Unreachable,
        (_, false, true) => Verdict::Holds,
    }
}

pub fn run(a: &CheckArgs) -> Result<u8> {
    let (path, spec) = crate::scenarios::load_with_variant(&a.scenario, a.variant.as_deref(), &a.set)?;
    let docs = klp_properties::docs();
    for w in &a.witness {
        if !docs.iter().any(|d| d.name == w && d.expectation == Expectation::Sometimes) {
            anyhow::bail!("--witness {w}: no `sometimes` property of that name (see `klpcheck list properties`)");
        }
    }
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let limits = Limits {
        threads,
        max_states: a.max_states,
        max_depth: a.max_depth,
        timeout: a.timeout.map(Duration::from_secs),
        max_memory: a.max_memory.map(|m| m << 20),
    };
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    let outcome = match a.engine {
        Engine::Klpcheck => engine::run_klpcheck(&model, &limits, a.progress),
        Engine::Stateright => engine::run_stateright(model.clone(), &limits),
    };
    let complete = outcome.incomplete.is_none();
    let mut code = if complete { 0 } else { 3 };
    let mut lines = Vec::new();
    for p in &outcome.properties {
        let v = if p.unchecked { Verdict::Unchecked } else { verdict(&p.expectation, p.path.is_some(), complete) };
        let mut note = if p.unchecked { p.note.clone() } else { String::new() };
        if let Some(actions) = &p.path {
            let write = v == Verdict::Violated || a.witness.iter().any(|w| w == p.name);
            if write {
                let file = a.out.join(format!("{}--{}.json", model.spec.name, p.name));
                let steps = klp_traces::build(&model, actions).map_err(|i| {
                    anyhow::anyhow!("internal error: step {i} of the discovery of {} is not enabled", p.name)
                })?;
                let trace = Trace {
                    schema: klp_traces::SCHEMA_VERSION,
                    tool: format!("klpcheck {}", env!("CARGO_PKG_VERSION")),
                    scenario: model.spec.name.clone(),
                    scenario_path: path.display().to_string(),
                    variant: model.spec.variant.clone(),
                    property: p.name.to_string(),
                    verdict: if v == Verdict::Violated { "violated" } else { "witness" }.into(),
                    stats: Stats { unique_states: outcome.unique_states, max_depth: outcome.max_depth, complete },
                    steps,
                    cycle_start: p.cycle_start,
                };
                klp_traces::write_json(&trace, &file)?;
                if v == Verdict::Violated && !a.json {
                    eprint!("{}", klp_traces::render_steps(&trace));
                    if p.expectation == Expectation::Eventually {
                        eprintln!("{}", lasso_line(&trace, &p.note));
                    }
                    eprintln!("replay: klpcheck replay {}\n", file.display());
                }
                note = match p.cycle_start {
                    Some(c) if c < actions.len() => {
                        format!("lasso: {c} + {} steps, {}", actions.len() - c, file.display())
                    }
                    Some(_) => format!("{} steps, then stuck, {}", actions.len(), file.display()),
                    None => format!("{} steps, {}", actions.len(), file.display()),
                };
            } else {
                note = format!("{} steps", actions.len());
            }
        }
        if v == Verdict::Violated {
            code = 1;
        }
        lines.push((p.name, v, note));
    }
    if a.json {
        print_json(&model, &outcome, &lines);
    } else {
        print_table(&model, &path, &outcome, &lines);
    }
    Ok(code)
}

/// How a liveness counterexample ends, under its step list.
fn lasso_line(t: &Trace, note: &str) -> String {
    match t.cycle_start {
        Some(c) if c < t.steps.len() => {
            format!("      cycle: steps {}..{} repeat forever ({note})", t.steps[c].i, t.steps[t.steps.len() - 1].i)
        }
        Some(_) => format!("      the run stays in the last state forever ({note})"),
        None => format!("      {note}"),
    }
}

fn print_table(model: &KlpSystem, path: &std::path::Path, o: &Outcome, lines: &[(&str, Verdict, String)]) {
    let secs = o.elapsed.as_secs_f64();
    println!("scenario {} ({}), variant {}", model.spec.name, path.display(), model.spec.variant.describe());
    println!(
        "{} distinct states, {} generated, depth {}, {:.2} s, {:.0} states/s: {}",
        o.unique_states,
        o.generated,
        o.max_depth,
        secs,
        o.unique_states as f64 / secs.max(1e-9),
        match &o.incomplete {
            None => "search complete".to_string(),
            Some(r) => format!("INCOMPLETE ({r})"),
        }
    );
    if let (Some(b), Some(p)) = (o.bytes_per_state, o.collision_probability) {
        println!("{b:.1} bytes per state (peak RSS), fingerprint collision probability {p:.1e}");
    }
    if let (Some(g), Some(t)) = (o.graph_bytes_per_state, o.liveness_elapsed) {
        println!("liveness: graph {g:.1} bytes per state (peak), built and checked in {:.2} s", t.as_secs_f64());
    }
    for (name, v, note) in lines {
        println!("  {:<42} {:<12} {}", name, v.word(), note);
    }
}

fn print_json(model: &KlpSystem, o: &Outcome, lines: &[(&str, Verdict, String)]) {
    let props: Vec<_> = lines
        .iter()
        .map(|(n, v, note)| serde_json::json!({"name": n, "verdict": v.word().to_lowercase(), "note": note}))
        .collect();
    let j = serde_json::json!({
        "scenario": model.spec.name,
        "variant": model.spec.variant,
        "unique_states": o.unique_states,
        "generated": o.generated,
        "max_depth": o.max_depth,
        "seconds": o.elapsed.as_secs_f64(),
        "complete": o.incomplete.is_none(),
        "bytes_per_state": o.bytes_per_state,
        "collision_probability": o.collision_probability,
        "graph_bytes_per_state": o.graph_bytes_per_state,
        "liveness_seconds": o.liveness_elapsed.map(|t| t.as_secs_f64()),
        "incomplete_reason": o.incomplete,
        "properties": props,
    });
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}
