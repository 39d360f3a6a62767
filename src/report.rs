//! One scenario run: the engine, then every property's verdict and the traces of violations.
//! `klpcheck check` prints one such report; `compare` and `ci` run many of them in parallel.

use crate::cli::{Engine, SearchLimits};
use crate::engine::{self, Exploration, Limits};
use crate::target::Target;
use anyhow::Result;
use klp_checker::Verdict;
use klp_model::{KlpSystem, Spec};
use klp_traces::naming;
use klp_traces::{Meta, Stats};
use stateright::Expectation;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What one run found: the model and its exploration, whose property results carry the files
/// of the traces written.
pub struct Report {
    pub model: KlpSystem,
    pub explored: Exploration,
}

impl Report {
    /// `check`'s exit code ([`Exploration::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        self.explored.exit_code()
    }
}

/// Explores `spec` (loaded from `path`) with `engine` within `limits`, and writes traces as `to`
/// says.
pub fn check_one(
    path: &Path,
    spec: Spec,
    engine: Engine,
    limits: &Limits,
    progress: crate::progress::Mode,
    to: &TraceOut,
) -> Result<Report> {
    // The properties `--property` / `--no-liveness` select (all of them by default).
    let model = KlpSystem::new(spec, crate::select::catalogue).with_user_properties(crate::select::user);
    let mut explored = match engine {
        Engine::Klpcheck => engine::run_klpcheck(&model, limits, progress)?,
        Engine::Stateright => engine::run_stateright(model.clone(), limits),
    };
    // In a distributed run rank 0 alone writes the traces (every rank has them).
    if !crate::distributed::follower() {
        write_traces(&model, path, &mut explored, to)?;
    }
    Ok(Report { model, explored })
}

/// Where and how [`write_traces`] writes traces.
pub struct TraceOut<'a> {
    pub dir: &'a std::path::Path,
    /// `sometimes` properties whose witness trace is written too.
    pub witness: &'a [String],
    /// Print each violation's timeline on stderr.
    pub print_steps: bool,
    /// What ran: it names the traces and says how to find them again.
    pub target: &'a Target,
}

/// Writes the trace of every violation (and of the requested witnesses) of a finished run and
/// records its file in the property's result.
fn write_traces(model: &KlpSystem, path: &std::path::Path, explored: &mut Exploration, a: &TraceOut) -> Result<()> {
    let complete = explored.incomplete.is_none();
    let stats = Stats { unique_states: explored.unique_states, max_depth: explored.max_depth, complete };
    for p in &mut explored.properties {
        let Some(actions) = &p.path else { continue };
        let violated = p.verdict == Verdict::Violated;
        if !violated && !a.witness.iter().any(|w| w == p.name) {
            continue;
        }
        let verdict = if violated { "violated" } else { "witness" };
        let file = write_renderings(a, model, path, &stats, p.name, verdict, actions, p.cycle_start)?;
        if violated && a.print_steps && p.expectation == Expectation::Eventually {
            eprintln!("{}\n", lasso_line(actions.len(), p.cycle_start, &p.note));
        }
        p.trace = Some(file);
    }
    Ok(())
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

/// One finished job of a matrix, with what the tables and the expectations need.
pub struct JobResult {
    /// The scenario's name (its file stem) and file.
    pub scenario: String,
    pub scenario_path: PathBuf,
    /// The variant's label ("upstream" or the preset's name) and its knobs.
    pub variant: String,
    pub knobs: klp_model::Variant,
    /// The limits the run's engine was given.
    pub limits: Limits,
    pub explored: Exploration,
}

impl JobResult {
    /// The run as the JSON report has it (src/json.rs).
    pub fn json(&self) -> crate::json::Run {
        crate::json::Run::of(crate::json::RunOf {
            scenario: &self.scenario,
            scenario_path: &self.scenario_path,
            variant: &self.variant,
            knobs: &self.knobs,
            engine: Engine::Klpcheck.name(),
            limits: &self.limits,
            explored: &self.explored,
        })
    }
}

/// Runs every job, `jobs` at a time, within `threads` threads in all: each run's engine gets
/// `threads / jobs` threads (at least one), so the cores are never oversubscribed. Every
/// scenario and variant is loaded first: a bad one fails before anything runs. Results come
/// back in job order.
pub fn run_many(list: &[Job], limits: &Limits, jobs: Option<usize>, out: &Path) -> Result<Vec<JobResult>> {
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
    if crate::distributed::active() {
        // One rank of an MPI job: every rank runs the same runs in the same order, on this
        // thread (the one that calls MPI), each with all the threads.
        let each = |t: Target| {
            let to = TraceOut { dir: out, witness: &[], print_steps: false, target: &t };
            check_one(&t.path, t.spec.clone(), Engine::Klpcheck, limits, crate::progress::Mode::Off, &to)
                .map(|r| summarise(r, t.path.clone(), t.label.clone(), limits))
        };
        return loaded.into_iter().map(each).collect();
    }
    let at_once = jobs.unwrap_or(threads).clamp(1, list.len().max(1));
    let per_run = Limits { threads: (threads / at_once).max(1), ..limits.clone() };
    // Plain threads pulling runs from a shared index, not a rayon pool: a rayon worker that
    // blocks in the engine's own pool steals further runs onto the same stack while it waits,
    // and with hundreds of runs that nesting overflowed the stack (`ci --update`, measured).
    let n = loaded.len();
    let queue: Vec<Mutex<Option<Target>>> = loaded.into_iter().map(|l| Mutex::new(Some(l))).collect();
    let results: Vec<Mutex<Option<Result<JobResult>>>> = (0..n).map(|_| Mutex::new(None)).collect();
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
                let r = check_one(&t.path, t.spec.clone(), Engine::Klpcheck, &per_run, crate::progress::Mode::Off, &to)
                    .map(|r| summarise(r, t.path.clone(), t.label.clone(), &per_run));
                *results[i].lock().expect("run results") = Some(r);
            });
        }
    });
    let runs = results.into_iter().map(|r| r.into_inner().expect("run results").expect("every run finished"));
    runs.collect()
}

fn summarise(r: Report, path: PathBuf, variant: String, limits: &Limits) -> JobResult {
    JobResult {
        scenario: r.model.spec.name.clone(),
        scenario_path: path,
        variant,
        knobs: r.model.spec.variant.clone(),
        limits: limits.clone(),
        explored: r.explored,
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
        coverage: false,
        store: klp_checker::Store::Exact,
        symmetry: match (s.symmetry, s.no_symmetry) {
            (true, _) => crate::engine::Symmetry::On,
            (_, true) => crate::engine::Symmetry::Off,
            _ => crate::engine::Symmetry::Auto,
        },
        disk: Default::default(),
    }
}

/// Writes the JSON, timeline and dmesg renderings of one trace; prints the timeline of a
/// violation on stderr. Returns the JSON file.
#[allow(clippy::too_many_arguments)]
fn write_renderings(
    a: &TraceOut,
    model: &KlpSystem,
    path: &std::path::Path,
    stats: &Stats,
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
        stats: stats.clone(),
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
