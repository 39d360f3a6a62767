//! `klpcheck validate LOG --scenario S` and `klpcheck diagnose LOG --scenario S`: a kernel log
//! against every interleaving of a scenario (klp_traces::validate), and `validate LOG --infer`,
//! a scenario skeleton from a log.
//!
//! Exit codes: `validate` 0 admitted, 1 rejected, 2 bad input (with file:line), 3 the search
//! hit its node limit; `diagnose` 0 a diagnosis, 1 the log is not admitted (the rejection is
//! printed), 2 bad input, 3 a limit was hit.

use anyhow::{anyhow, Context, Result};
use clap::Args;
use klp_model::KlpSystem;
use klp_traces::validate::{self, diagnose, parse, Limits, Verdict};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The kernel log: a dmesg (with or without `[ 12.345678]` time stamps or a syslog
    /// `kernel: ` prefix), or a selftest transcript with the harness's `% cmd` lines.
    pub log: PathBuf,
    /// The scenario the log is checked against: a file, or a shipped name (required unless
    /// --infer).
    #[arg(long, required_unless_present = "infer")]
    pub scenario: Option<String>,
    /// A design variant (see `klpcheck check --variant`).
    #[arg(long)]
    pub variant: Option<String>,
    /// Set one knob (repeatable; see `klpcheck check --set`).
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Print a scenario skeleton (TOML) with the patches, objects, modules and commands the log
    /// shows, instead of validating; the comments say what to add (tasks, functions).
    #[arg(long, conflicts_with_all = ["scenario", "json"])]
    pub infer: bool,
    /// Print one JSON object (fields: verdict, log, scenario, lines, explored, steps or
    /// rejected) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the admitted behaviour's timeline, dmesg and SVG renderings to this directory
    /// (`<scenario>--validate.timeline.txt`, `.dmesg.txt`, `.svg`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// States listed for a rejection.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
    /// Limit of (state, log line) pairs the search stores.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    pub max_nodes: usize,
}

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// A kernel log that ends inside a transition (same forms as `validate`).
    pub log: PathBuf,
    /// The scenario: a file, or a shipped name.
    #[arg(long)]
    pub scenario: String,
    /// A design variant (see `klpcheck check --variant`).
    #[arg(long)]
    pub variant: Option<String>,
    /// Set one knob (repeatable).
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Consistent states listed one by one, each with its shortest way out.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
    /// Limit of (state, log line) pairs the search stores (a way-out search: a tenth of it).
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    pub max_nodes: usize,
}

fn read_log(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the log", path.display()))
}

/// The model, the parsed log, and the trace metadata of an admitted behaviour (a witness for
/// the log: `klpcheck render` draws it; it names no property, so `replay` does not take it).
fn load(
    scenario: &str,
    variant: Option<&str>,
    sets: &[String],
    log: &PathBuf,
) -> Result<(KlpSystem, parse::LogFile, klp_traces::Meta)> {
    let target = crate::target::Target::resolve(scenario, variant, sets)?;
    let meta = klp_traces::Meta {
        scenario_path: crate::target::portable_path(&target.path),
        variant_name: target.label.clone(),
        property: log.display().to_string(),
        verdict: "witness".into(),
        found_by: format!("{} (validate)", target.command("validate")),
        ..Default::default()
    };
    let model = KlpSystem::new(target.spec, klp_properties::catalogue);
    let text = read_log(log)?;
    let parsed = parse::parse(&log.display().to_string(), &text, &model.spec).map_err(|e| anyhow!("{e}"))?;
    Ok((model, parsed, meta))
}

pub fn run(a: &ValidateArgs) -> Result<u8> {
    if a.infer {
        let text = read_log(&a.log)?;
        print!("{}", validate::infer::infer(&a.log.display().to_string(), &text).map_err(|e| anyhow!("{e}"))?);
        return Ok(0);
    }
    let scenario = a.scenario.as_deref().ok_or_else(|| anyhow!("--scenario is required"))?;
    let (model, log, meta) = load(scenario, a.variant.as_deref(), &a.set, &a.log)?;
    let limits = Limits { max_nodes: a.max_nodes, ..Limits::default() };
    let v = validate::validate(&model, &log, limits);
    let trace = match &v {
        Verdict::Admitted { actions, .. } => Some(
            klp_traces::record(&model, meta.clone(), actions)
                .map_err(|i| anyhow!("internal error: step {} of the admitted behaviour is not enabled", i + 1))?,
        ),
        _ => None,
    };
    if let (Some(dir), Some(t)) = (&a.out, &trace) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        let stem = format!("{}--validate", model.spec.name);
        klp_traces::write_atomic(&dir.join(format!("{stem}.timeline.txt")), &klp_traces::timeline::render(t))?;
        klp_traces::write_atomic(&dir.join(format!("{stem}.dmesg.txt")), &klp_traces::transcript::render(t))?;
        klp_traces::write_atomic(&dir.join(format!("{stem}.svg")), &klp_traces::svg::render(t))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&verdict_json(&model, &log, &v, trace.as_ref()))?);
    } else {
        print!("{}", validate::report(&model, &log, &v, a.show));
        if let Some(t) = &trace {
            println!("the behaviour:");
            print!("{}", klp_traces::timeline::render(t));
        }
    }
    Ok(match v {
        Verdict::Admitted { .. } => 0,
        Verdict::Rejected { .. } => 1,
        Verdict::Incomplete { .. } => 3,
    })
}

fn verdict_json(
    model: &KlpSystem,
    log: &parse::LogFile,
    v: &Verdict,
    trace: Option<&klp_traces::Trace>,
) -> serde_json::Value {
    let base = |verdict: &str, explored: usize| {
        json!({
            "verdict": verdict,
            "log": log.file,
            "scenario": model.spec.name,
            "lines": log.lines.len(),
            "explored": explored,
        })
    };
    match v {
        Verdict::Admitted { explored, .. } => {
            let mut j = base("admitted", *explored);
            let steps: Vec<serde_json::Value> = trace
                .map(|t| {
                    t.steps
                        .iter()
                        .map(|s| json!({"i": s.i, "actor": s.actor, "text": s.text, "dmesg": s.dmesg}))
                        .collect()
                })
                .unwrap_or_default();
            j["steps"] = json!(steps);
            j
        }
        Verdict::Rejected { index, line, why, reached, explored } => {
            let mut j = base("rejected", *explored);
            j["rejected"] = json!({
                "lineno": line.lineno,
                "text": line.text,
                "admitted_lines": index,
                "why": why.code(),
                "explanation": why.text(),
                "states": reached.iter().map(|s| validate::summary(model, s)).collect::<Vec<_>>(),
            });
            j
        }
        Verdict::Incomplete { furthest, explored } => {
            let mut j = base("incomplete", *explored);
            j["admitted_lines"] = json!(furthest);
            j
        }
    }
}

pub fn run_diagnose(a: &DiagnoseArgs) -> Result<u8> {
    let (model, log, _) = load(&a.scenario, a.variant.as_deref(), &a.set, &a.log)?;
    let limits = Limits { max_nodes: a.max_nodes, ..Limits::default() };
    match diagnose::diagnose(&model, &log, limits) {
        Ok(d) => {
            print!("{}", diagnose::report(&model, &log, &d, a.show));
            Ok(if d.complete { 0 } else { 3 })
        }
        Err(v) => {
            print!("{}", validate::report(&model, &log, &v, a.show));
            Ok(if matches!(*v, Verdict::Incomplete { .. }) { 3 } else { 1 })
        }
    }
}
