//! One scenario run: the engine, then every property's verdict and the traces of violations.
//! `klpcheck check` prints one such report; `compare` and `ci` run many of them in parallel.

use crate::check::{verdicts, TraceOut, Verdict};
use crate::cli::Engine;
use crate::engine::{self, Limits, Outcome};
use anyhow::Result;
use klp_model::{KlpSystem, Spec};
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
    let mut loaded = Vec::new();
    for j in list {
        let preset = crate::variants::load(&j.variant)?;
        let (path, mut spec) = crate::scenarios::load(&j.scenario)?;
        // Through Spec::set_variant, as `check --variant` does: disable_via derives its patch there.
        let mut v = spec.variant.clone();
        preset.apply(&mut v);
        spec.set_variant(v).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if loaded.iter().any(|(v, _, s): &(String, PathBuf, Spec)| *v == preset.name && s.name == spec.name) {
            anyhow::bail!(
                "{}@{}: given twice (two scenario or variant files of the same name?)",
                spec.name,
                preset.name
            );
        }
        loaded.push((preset.name, path, spec));
    }
    let threads = limits.threads.max(1);
    let at_once = jobs.unwrap_or(threads).clamp(1, list.len().max(1));
    let per_run = Limits { threads: (threads / at_once).max(1), ..limits.clone() };
    // Plain threads pulling runs from a shared index, not a rayon pool: a rayon worker that
    // blocks in the engine's own pool steals further runs onto the same stack while it waits,
    // and with hundreds of runs that nesting overflowed the stack (`ci --update`, measured).
    let n = loaded.len();
    let queue: Vec<Mutex<Option<(String, PathBuf, Spec)>>> = loaded.into_iter().map(|l| Mutex::new(Some(l))).collect();
    let results: Vec<Mutex<Option<Result<Run>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..at_once {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (variant, path, spec) = queue[i].lock().expect("run queue").take().expect("each run is taken once");
                let to = TraceOut { dir: out, witness: &[], print_steps: false, variant: Some(&variant), sets: &[] };
                let r = check_one(&path, spec, Engine::Klpcheck, &per_run, false, &to)
                    .map(|r| summarise(r, path, variant, out));
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
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 || a.jobs == Some(0) {
        anyhow::bail!("--threads and --jobs must be at least 1");
    }
    Ok(Limits {
        threads,
        max_states: a.max_states,
        max_depth: a.max_depth,
        timeout: a.timeout.map(std::time::Duration::from_secs),
        max_memory: a.max_memory.map(|m| m << 20),
    })
}
