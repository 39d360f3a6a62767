//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::CheckArgs;
use crate::engine::Outcome;
use crate::run_one::TraceOut;
use crate::target::Target;
use anyhow::Result;
use klp_model::KlpSystem;
use stateright::Expectation;

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
    pub fn word(self) -> &'static str {
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
    // `--witness` names were checked when the arguments were parsed (cli.rs `sometimes_property`).
    let t = Target::of_args(&a.target)?;
    let limits = crate::run_one::engine_limits(a.threads, &a.limits);
    if limits.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::run_one::check_one(&t.path, t.spec.clone(), a.engine, &limits, a.progress, &to)?;
    if a.json {
        print_json(&r.model, &r.outcome, &r.lines);
    } else {
        print_table(&r.model, &t.path, &r.outcome, &r.lines);
    }
    Ok(r.exit_code())
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
