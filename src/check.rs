//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::CheckArgs;
use crate::engine::word;
use crate::report::{Report, TraceOut};
use crate::target::Target;
use anyhow::Result;

pub fn run(a: &CheckArgs) -> Result<u8> {
    // `--witness` names were checked when the arguments were parsed (cli.rs `sometimes_property`).
    crate::select::set(&a.properties)?;
    if let Some(w) = a.witness.iter().find(|w| !a.properties.property.is_empty() && !a.properties.property.contains(w))
    {
        anyhow::bail!("--witness {w}: not checked in this run\n  hint: add `--property {w}`");
    }
    let t = Target::of_args(&a.target)?;
    let mut limits = crate::report::engine_limits(a.threads, &a.limits);
    if limits.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    if a.coverage && a.engine == crate::cli::Engine::Stateright {
        anyhow::bail!("--coverage counts in klpcheck's engine only (drop --engine stateright)");
    }
    limits.coverage = a.coverage;
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::report::check_one(&t.path, t.spec.clone(), a.engine, &limits, a.progress, &to)?;
    if a.json {
        print_json(&r);
    } else {
        print_table(&r, &t.path);
    }
    // A requested witness the search did not find writes no trace: say so, and why.
    for w in &a.witness {
        if let Some(p) = r.explored.properties.iter().find(|p| p.name == w && p.trace.is_none()) {
            eprintln!("klpcheck: no witness trace for '{w}': it is {}", word(p.verdict));
        }
    }
    Ok(r.exit_code())
}

fn print_table(r: &Report, path: &std::path::Path) {
    let (model, o) = (&r.model, &r.explored);
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
    if let Some(s) = &o.symmetry {
        println!("symmetry reduction {s}");
    }
    if let (Some(g), Some(t)) = (o.graph_bytes_per_state, o.liveness_elapsed) {
        println!("liveness: graph {g:.1} bytes per state (peak), built and checked in {:.2} s", t.as_secs_f64());
    }
    for p in &o.properties {
        println!("  {:<42} {:<12} {}", p.name, word(p.verdict), p.note_column());
    }
    if let Some(c) = &o.coverage {
        let what = format!("{COUNTED}{}", if o.incomplete.is_some() { "; the search was INCOMPLETE" } else { "" });
        crate::coverage::print(&model.spec, &what, &["generated", "distinct"], &[&c.generated, &c.distinct]);
    }
    if let Some(s) = crate::select::summary(o.properties.len()) {
        println!("{s}");
    }
}

/// What `check --coverage` counts.
const COUNTED: &str = "transitions generated from explored states, duplicates included, and those that found a new \
                       distinct state";

fn print_json(r: &Report) {
    let (model, o) = (&r.model, &r.explored);
    let props: Vec<_> = o
        .properties
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "verdict": p.verdict.name(), "note": p.note_column()}))
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
        "symmetry": o.reduced,
        "properties": props,
    });
    let mut j = j;
    if let Some(c) = &o.coverage {
        let cov = crate::coverage::json(&model.spec, COUNTED, &["generated", "distinct"], &[&c.generated, &c.distinct]);
        for w in cov["warnings"].as_array().into_iter().flatten() {
            eprintln!("klpcheck: warning: {}", w.as_str().unwrap_or_default());
        }
        j["coverage"] = cov;
    }
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}
