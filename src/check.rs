//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::CheckArgs;
use crate::engine::{Limits, Outcome};
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::naming;
use klp_traces::{Meta, Stats};
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
    let to = TraceOut {
        dir: &a.out,
        witness: &a.witness,
        print_steps: !a.json,
        variant: a.variant.as_deref(),
        sets: &a.set,
    };
    let r = crate::run_one::check_one(&path, spec, a.engine, &limits, a.progress, &to)?;
    if a.json {
        print_json(&r.model, &r.outcome, &r.lines);
    } else {
        print_table(&r.model, &path, &r.outcome, &r.lines);
    }
    Ok(r.exit_code())
}

/// Where and how [`verdicts`] writes traces.
pub struct TraceOut<'a> {
    pub dir: &'a std::path::Path,
    /// `sometimes` properties whose witness trace is written too.
    pub witness: &'a [String],
    /// Print each violation's timeline on stderr.
    pub print_steps: bool,
    /// The `--variant` argument and `--set` assignments of the run (trace names, `found by`).
    pub variant: Option<&'a str>,
    pub sets: &'a [String],
}

/// The verdict of every property of a finished run, with a note (steps, trace file); writes
/// the trace of every violation (and of the requested witnesses).
pub fn verdicts(
    model: &KlpSystem,
    path: &std::path::Path,
    outcome: &Outcome,
    a: &TraceOut,
) -> Result<Vec<(&'static str, Verdict, String)>> {
    let complete = outcome.incomplete.is_none();
    let mut lines = Vec::new();
    for p in &outcome.properties {
        let v = if p.unchecked { Verdict::Unchecked } else { verdict(&p.expectation, p.path.is_some(), complete) };
        let mut note = if p.unchecked { p.note.clone() } else { String::new() };
        if let Some(actions) = &p.path {
            let write = v == Verdict::Violated || a.witness.iter().any(|w| w == p.name);
            if write {
                let verdict = if v == Verdict::Violated { "violated" } else { "witness" };
                let file =
                    write_renderings(a, model, path, outcome, complete, p.name, verdict, actions, p.cycle_start)?;
                if v == Verdict::Violated && a.print_steps && p.expectation == Expectation::Eventually {
                    eprintln!("{}\n", lasso_line(actions.len(), p.cycle_start, &p.note));
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
        lines.push((p.name, v, note));
    }
    Ok(lines)
}

/// How a liveness counterexample ends, under its timeline (steps are numbered from 1).
fn lasso_line(steps: usize, cycle_start: Option<usize>, note: &str) -> String {
    match cycle_start {
        Some(c) if c < steps => format!("cycle: steps {}..{steps} repeat forever ({note})", c + 1),
        Some(_) => format!("the run stays in the last state forever ({note})"),
        None => note.to_string(),
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

/// The scenario path as traces record it: relative to the source tree for shipped scenarios,
/// so that traces (and the golden files) do not depend on the machine.
fn portable_path(path: &std::path::Path) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// The `klpcheck check` command line that finds a trace again (the arguments that matter).
fn found_by(a: &TraceOut, path: &std::path::Path, name: &str, property: &str, verdict: &str) -> String {
    let shipped = crate::scenarios::shipped_dir().join(format!("{name}.toml"));
    let scenario = if path == shipped { name.to_string() } else { portable_path(path) };
    let mut cmd = format!("klpcheck check {scenario}");
    if let Some(v) = a.variant.filter(|v| *v != "upstream") {
        cmd.push_str(&format!(" --variant {v}"));
    }
    for s in a.sets {
        cmd.push_str(&format!(" --set {s}"));
    }
    if verdict == "witness" {
        cmd.push_str(&format!(" --witness {property}"));
    }
    cmd
}

/// Writes the JSON, timeline and dmesg renderings of one trace; prints the timeline of a
/// violation on stderr. Returns the JSON file.
#[allow(clippy::too_many_arguments)]
fn write_renderings(
    a: &TraceOut,
    model: &KlpSystem,
    path: &std::path::Path,
    outcome: &Outcome,
    complete: bool,
    property: &str,
    verdict: &str,
    actions: &[klp_model::Action],
    cycle_start: Option<usize>,
) -> Result<std::path::PathBuf> {
    let variant_name = naming::variant_name(a.variant, a.sets, model.spec.variant == klp_model::Variant::upstream());
    let stem = naming::stem(&model.spec.name, &variant_name, property);
    let file = a.dir.join(format!("{stem}{}", naming::JSON));
    let meta = Meta {
        scenario_path: portable_path(path),
        variant_name,
        property: property.to_string(),
        verdict: verdict.to_string(),
        stats: Stats { unique_states: outcome.unique_states, max_depth: outcome.max_depth, complete },
        found_by: found_by(a, path, &model.spec.name, property, verdict),
        replay: format!("klpcheck replay {}", file.display()),
        cycle_start,
    };
    let trace = klp_traces::record(model, meta, actions)
        .map_err(|i| anyhow::anyhow!("internal error: step {} of the discovery of {property} is not enabled", i + 1))?;
    let timeline = klp_traces::timeline::render(&trace);
    klp_traces::write_json(&trace, &file)?;
    klp_traces::write_atomic(&a.dir.join(format!("{stem}{}", naming::TIMELINE)), &timeline)?;
    klp_traces::write_atomic(&a.dir.join(format!("{stem}{}", naming::DMESG)), &klp_traces::transcript::render(&trace))?;
    if verdict == "violated" && a.print_steps {
        eprintln!("{timeline}");
    }
    Ok(file)
}
