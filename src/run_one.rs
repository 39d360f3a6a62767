//! One scenario run: the engine, then every property's verdict and the traces of violations.
//! `klpcheck check` prints one such report; `compare` and `ci` run many of them in parallel.

use crate::check::{verdict, Verdict};
use crate::cli::{Engine, SearchLimits};
use crate::engine::{self, Limits, Outcome};
use crate::target::Target;
use anyhow::Result;
use klp_model::{KlpSystem, Spec};
use klp_traces::naming;
use klp_traces::{Meta, Stats};
use stateright::Expectation;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What one run found.
pub struct Report {
    pub model: KlpSystem,
    pub outcome: Outcome,
    /// (property, verdict, note: steps and trace file) in catalogue order.
    pub lines: Vec<(&'static str, Verdict, String)>,
}

impl Report {
    /// `check`'s exit code: 1 if a property is violated, else 3 if a limit stopped the search.
    pub fn exit_code(&self) -> u8 {
        if self.lines.iter().any(|(_, v, _)| *v == Verdict::Violated) {
            1
        } else if self.outcome.incomplete.is_some() {
            3
        } else {
            0
        }
    }

    /// Length of the counterexample (or witness) of `property`, if one was found.
    pub fn steps(&self, property: &str) -> Option<usize> {
        self.outcome.properties.iter().find(|p| p.name == property).and_then(|p| p.path.as_ref()).map(Vec::len)
    }
}

/// Explores `spec` (loaded from `path`) with `engine` within `limits`, and writes traces as `to`
/// says.
pub fn check_one(
    path: &Path,
    spec: Spec,
    engine: Engine,
    limits: &Limits,
    progress: bool,
    to: &TraceOut,
) -> Result<Report> {
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    let outcome = match engine {
        Engine::Klpcheck => engine::run_klpcheck(&model, limits, progress),
        Engine::Stateright => engine::run_stateright(model.clone(), limits),
    };
    let lines = verdicts(&model, path, &outcome, to)?;
    Ok(Report { model, outcome, lines })
}

/// Where and how [`verdicts`] writes traces.
pub struct TraceOut<'a> {
    pub dir: &'a std::path::Path,
    /// `sometimes` properties whose witness trace is written too.
    pub witness: &'a [String],
    /// Print each violation's timeline on stderr.
    pub print_steps: bool,
    /// What ran: it names the traces and says how to find them again.
    pub target: &'a Target,
}

/// The verdict of every property of a finished run, with a note (steps, trace file); writes
/// the trace of every violation (and of the requested witnesses).
fn verdicts(
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

/// One run of a matrix: a scenario under a named variant.
pub struct Job {
    /// The scenario as given (a file or a shipped name).
    pub scenario: String,
    /// The variant as given: "upstream", a preset name or a preset file.
    pub variant: String,
}

/// One finished run of a matrix, with what the tables and the expectations need.
pub struct Run {
    /// The scenario's name (its file stem) and file.
    pub scenario: String,
    pub scenario_path: PathBuf,
    /// The variant's label ("upstream" or the preset's name) and its knobs.
    pub variant: String,
    pub knobs: klp_model::Variant,
    pub unique_states: u64,
    pub generated: u64,
    pub max_depth: u64,
    pub seconds: f64,
    /// The limit that stopped the search, if one did.
    pub incomplete: Option<String>,
    pub properties: Vec<PropertyRun>,
}

/// One property's result in a [`Run`].
pub struct PropertyRun {
    pub name: &'static str,
    pub kind: &'static str,
    pub verdict: Verdict,
    /// Length of the counterexample or witness, if one was found.
    pub steps: Option<usize>,
    /// The counterexample file (violations only).
    pub trace: Option<PathBuf>,
}

impl Run {
    pub fn violated(&self) -> impl Iterator<Item = &PropertyRun> {
        self.properties.iter().filter(|p| p.verdict == Verdict::Violated)
    }
}

/// Runs every job, `jobs` at a time, within `threads` threads in all: each run's engine gets
/// `threads / jobs` threads (at least one), so the cores are never oversubscribed. Every
/// scenario and variant is loaded first: a bad one fails before anything runs. Results come
/// back in job order.
pub fn run_many(list: &[Job], limits: &Limits, jobs: Option<usize>, out: &Path) -> Result<Vec<Run>> {
    let mut loaded: Vec<Target> = Vec::new();
    for j in list {
        // As `check SCENARIO --variant V` resolves its target.
        let t = Target::resolve(&j.scenario, Some(&j.variant), &[])?;
        if loaded.iter().any(|l| l.label == t.label && l.spec.name == t.spec.name) {
            anyhow::bail!("{}@{}: given twice (two scenario or variant files of the same name?)", t.spec.name, t.label);
        }
        loaded.push(t);
    }
    let threads = limits.threads.max(1);
    let at_once = jobs.unwrap_or(threads).clamp(1, list.len().max(1));
    let per_run = Limits { threads: (threads / at_once).max(1), ..limits.clone() };
    // Plain threads pulling runs from a shared index, not a rayon pool: a rayon worker that
    // blocks in the engine's own pool steals further runs onto the same stack while it waits,
    // and with hundreds of runs that nesting overflowed the stack (`ci --update`, measured).
    let n = loaded.len();
    let queue: Vec<Mutex<Option<Target>>> = loaded.into_iter().map(|l| Mutex::new(Some(l))).collect();
    let results: Vec<Mutex<Option<Result<Run>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..at_once {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = queue[i].lock().expect("run queue").take().expect("each run is taken once");
                let to = TraceOut { dir: out, witness: &[], print_steps: false, target: &t };
                let r = check_one(&t.path, t.spec.clone(), Engine::Klpcheck, &per_run, false, &to)
                    .map(|r| summarise(r, t.path.clone(), t.label.clone(), out));
                *results[i].lock().expect("run results") = Some(r);
            });
        }
    });
    let runs = results.into_iter().map(|r| r.into_inner().expect("run results").expect("every run finished"));
    runs.collect()
}

fn summarise(r: Report, path: PathBuf, variant: String, out: &Path) -> Run {
    let docs = klp_properties::docs();
    let scenario = r.model.spec.name.clone();
    let properties = r
        .lines
        .iter()
        .map(|&(name, verdict, _)| PropertyRun {
            name,
            kind: match docs.iter().find(|d| d.name == name).map(|d| &d.expectation) {
                Some(Expectation::Always) => "always",
                Some(Expectation::Sometimes) => "sometimes",
                Some(Expectation::Eventually) => "eventually",
                None => "",
            },
            verdict,
            steps: r.steps(name),
            trace: (verdict == Verdict::Violated).then(|| {
                out.join(format!("{}{}", klp_traces::naming::stem(&scenario, &variant, name), klp_traces::naming::JSON))
            }),
        })
        .collect();
    let o = &r.outcome;
    Run {
        knobs: r.model.spec.variant.clone(),
        scenario,
        scenario_path: path,
        variant,
        unique_states: o.unique_states,
        generated: o.generated,
        max_depth: o.max_depth,
        seconds: o.elapsed.as_secs_f64(),
        incomplete: o.incomplete.clone(),
        properties,
    }
}

/// The engine limits of `compare` and `ci` from their flags.
pub fn limits(a: &crate::cli::LimitArgs) -> Result<Limits> {
    let limits = engine_limits(a.threads, &a.search);
    if limits.threads == 0 || a.jobs == Some(0) {
        anyhow::bail!("--threads and --jobs must be at least 1");
    }
    Ok(limits)
}

/// The engine limits from `--threads` (default: all cores; 0 is left for the caller to refuse)
/// and the search limits every checking command shares.
pub fn engine_limits(threads: Option<usize>, s: &SearchLimits) -> Limits {
    Limits {
        threads: threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        max_states: s.max_states,
        max_depth: s.max_depth,
        timeout: s.timeout.map(std::time::Duration::from_secs),
        max_memory: s.max_memory.map(|m| m << 20),
    }
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
    let stem = a.target.stem(property);
    let file = a.dir.join(format!("{stem}{}", naming::JSON));
    let meta = Meta {
        scenario_path: crate::target::portable_path(path),
        variant_name: a.target.label.clone(),
        property: property.to_string(),
        verdict: verdict.to_string(),
        stats: Stats { unique_states: outcome.unique_states, max_depth: outcome.max_depth, complete },
        found_by: a.target.found_by(property, verdict),
        replay: crate::target::replay_command(&file),
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
