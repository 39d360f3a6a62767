//! `klpcheck simulate`: random walks (TLC's `-simulate`) for scenarios too big to explore.
//!
//! Walk `i` draws from its own ChaCha8 stream (seed `--seed`, stream `i`), so a walk does not
//! depend on which thread runs it or on the other walks. Threads claim walks in index order and
//! finish every walk they claim, so the walks done are always walks 0..n: their steps, distinct
//! states, counterexamples (per property, the one of the lowest walk) and coverage are the same
//! for any `--threads`. Only `--timeout` and Ctrl-C make n depend on the machine.

use crate::cli::TargetArgs;
use crate::target::{portable_path, replay_command, Target};
use anyhow::{bail, Result};
use clap::Args;
use klp_checker::{fingerprint, Verdict};
use klp_model::{Action, KlpSystem, State};
use klp_traces::{naming, Meta, Stats};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stateright::{Expectation, Model, Property};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
#[command(
    mut_arg("scenario", |a| a.help("A scenario file, or the name of a shipped scenario")),
    mut_arg("variant", |a| a.help("A design variant (preset name or file), as for `check`")),
    mut_arg("set", |a| a.help("Set one knob (repeatable), as for `check`")),
)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seed of the walks (default: a random one, printed so that the run can be repeated).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many walks.
    #[arg(long, default_value_t = 1000)]
    pub walks: u64,
    /// Steps per walk at most (a walk also ends in a state with no enabled step, or at a
    /// violation).
    #[arg(long, default_value_t = 100)]
    pub depth: usize,
    /// Start no walk after this many seconds (the walks begun are finished).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Worker threads (default: all cores); the results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where counterexample traces are written.
    #[arg(long, default_value = "traces/out")]
    pub out: PathBuf,
    /// Count how often each action kind, entry point, function version and admin command fired
    /// in the walks, and warn about scenario parts that never did.
    #[arg(long)]
    pub coverage: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The first counterexample of one property: the walk that found it and its steps.
type Found = Option<(u64, Vec<Action>)>;

/// What the walks found, summed over walks 0..done.
struct Walks {
    done: u64,
    steps: u64,
    longest: usize,
    /// Walks that ended in a state with no enabled step.
    stuck: u64,
    distinct: usize,
    /// Per `always` property (in `always` order).
    found: Vec<Found>,
    coverage: Option<Vec<u64>>,
    stopped: Option<&'static str>,
}

impl Walks {
    /// Nothing walked yet: `properties` `always` properties, `counters` coverage counters.
    fn new(properties: usize, counters: Option<usize>) -> Self {
        Walks {
            done: 0,
            steps: 0,
            longest: 0,
            stuck: 0,
            distinct: 0,
            found: vec![None; properties],
            coverage: counters.map(|n| vec![0; n]),
            stopped: None,
        }
    }
}

pub fn run(a: &SimulateArgs) -> Result<u8> {
    let t = Target::of_args(&a.target)?;
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    if a.walks == 0 || a.depth == 0 {
        bail!("--walks and --depth must be at least 1");
    }
    let seed = a.seed.unwrap_or_else(rand::random);
    let model = KlpSystem::new(t.spec.clone(), klp_properties::catalogue)
        .with_user_properties(klp_properties::user::user_catalogue);
    let always: Vec<Property<KlpSystem>> =
        model.properties().into_iter().filter(|p| p.expectation == Expectation::Always).collect();
    let start = Instant::now();
    let w = walk_all(&model, &always, seed, a, threads);
    let elapsed = start.elapsed();
    let command = format!("{} --seed {seed} --walks {} --depth {}", t.command("simulate"), a.walks, a.depth);
    let stats = Stats { unique_states: w.distinct as u64, max_depth: w.longest as u64, complete: false };
    let mut traces = Vec::new();
    for (p, f) in always.iter().zip(&w.found) {
        let Some((_, actions)) = f else {
            traces.push(None);
            continue;
        };
        traces.push(Some(write_trace(&model, &t, a, &command, &stats, p.name, actions)?));
    }
    if a.json {
        print_json(&model, &always, &w, &traces, seed, a, elapsed);
    } else {
        print_text(&model, &t, &always, &w, &traces, seed, a, threads, elapsed);
    }
    Ok(if w.found.iter().any(Option::is_some) { 1 } else { 3 })
}

/// Runs walks 0..walks on `threads` threads (fewer if `--timeout` or Ctrl-C stops them).
fn walk_all(model: &KlpSystem, always: &[Property<KlpSystem>], seed: u64, a: &SimulateArgs, threads: usize) -> Walks {
    let start = Instant::now();
    let timeout = a.timeout.map(Duration::from_secs);
    let interrupted = crate::interrupted();
    let ncov = a.coverage.then(|| crate::coverage::counters(&model.spec));
    let next = AtomicU64::new(0);
    let seen: Mutex<HashSet<u64>> = Mutex::new(HashSet::new());
    let total = Mutex::new(Walks::new(always.len(), ncov));
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| {
                let mut mine = Walks::new(always.len(), ncov);
                let mut fps = Vec::new();
                loop {
                    if timeout.is_some_and(|t| start.elapsed() >= t) {
                        mine.stopped = Some("timeout");
                        break;
                    }
                    if interrupted.load(Relaxed) {
                        mine.stopped = Some("interrupted");
                        break;
                    }
                    let i = next.fetch_add(1, Relaxed);
                    if i >= a.walks {
                        break;
                    }
                    fps.clear();
                    walk(model, always, seed, i, a.depth, &mut mine, &mut fps);
                    seen.lock().expect("seen states").extend(fps.iter().copied());
                }
                merge(&mut total.lock().expect("walk totals"), mine);
            });
        }
    });
    let mut w = total.into_inner().expect("walk totals");
    w.distinct = seen.into_inner().expect("seen states").len();
    w
}

/// Adds one thread's walks to the totals; a property's counterexample is the lowest walk's.
fn merge(t: &mut Walks, m: Walks) {
    t.done += m.done;
    t.steps += m.steps;
    t.longest = t.longest.max(m.longest);
    t.stuck += m.stuck;
    for (tf, mf) in t.found.iter_mut().zip(m.found) {
        if let Some((i, path)) = mf {
            if tf.as_ref().is_none_or(|(j, _)| i < *j) {
                *tf = Some((i, path));
            }
        }
    }
    if let (Some(tc), Some(mc)) = (t.coverage.as_mut(), m.coverage) {
        tc.iter_mut().zip(mc).for_each(|(x, y)| *x += y);
    }
    t.stopped = t.stopped.or(m.stopped);
}

/// Walk `i`: from the initial state, a step drawn uniformly from the enabled ones, until
/// `depth` steps, a state with no enabled step, or a state that violates an `always` property
/// (every such property is recorded with the walk's path). Adds to `w`; the fingerprints of
/// the states it saw go to `fps`.
fn walk(
    model: &KlpSystem,
    always: &[Property<KlpSystem>],
    seed: u64,
    i: u64,
    depth: usize,
    w: &mut Walks,
    fps: &mut Vec<u64>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i);
    let mut st = model.init_state();
    let mut path = Vec::new();
    let mut buf = Vec::new();
    let mut enabled: Vec<(Action, State)> = Vec::new();
    w.done += 1;
    fps.push(fingerprint(&st));
    let violated = |st: &State| always.iter().map(|p| !(p.condition)(model, st)).collect::<Vec<bool>>();
    let mut bad = violated(&st);
    while !bad.contains(&true) && path.len() < depth {
        buf.clear();
        model.actions(&st, &mut buf);
        enabled.clear();
        enabled.extend(
            buf.drain(..).filter_map(|a| model.next_state(&st, a).filter(|n| model.within_boundary(n)).map(|n| (a, n))),
        );
        if enabled.is_empty() {
            w.stuck += 1;
            break;
        }
        let (a, n) = enabled.swap_remove(rng.random_range(0..enabled.len()));
        if let Some(c) = w.coverage.as_mut() {
            crate::coverage::count(model, &st, &a, &n, c);
        }
        path.push(a);
        st = n;
        fps.push(fingerprint(&st));
        bad = violated(&st);
    }
    w.steps += path.len() as u64;
    w.longest = w.longest.max(path.len());
    for (f, &b) in w.found.iter_mut().zip(&bad) {
        if b && f.as_ref().is_none_or(|(j, _)| i < *j) {
            *f = Some((i, path.clone()));
        }
    }
}

/// Writes the JSON, timeline and dmesg renderings of a counterexample, as `check` names them;
/// its `found_by` is the simulate command line (seed included), which finds it again.
fn write_trace(
    model: &KlpSystem,
    t: &Target,
    a: &SimulateArgs,
    command: &str,
    stats: &Stats,
    property: &str,
    actions: &[Action],
) -> Result<PathBuf> {
    let stem = t.stem(property);
    let file = a.out.join(format!("{stem}{}", naming::JSON));
    let meta = Meta {
        scenario_path: portable_path(&t.path),
        variant_name: t.label.clone(),
        property: property.to_string(),
        verdict: "violated".into(),
        stats: stats.clone(),
        found_by: command.to_string(),
        replay: replay_command(&file),
        cycle_start: None,
    };
    let trace = klp_traces::record(model, meta, actions).map_err(|i| {
        anyhow::anyhow!("internal error: step {} of the walk that broke {property} is not enabled", i + 1)
    })?;
    let timeline = klp_traces::timeline::render(&trace);
    klp_traces::write_json(&trace, &file)?;
    klp_traces::write_atomic(&a.out.join(format!("{stem}{}", naming::TIMELINE)), &timeline)?;
    klp_traces::write_atomic(&a.out.join(format!("{stem}{}", naming::DMESG)), &klp_traces::transcript::render(&trace))?;
    if !a.json {
        eprintln!("{timeline}");
    }
    Ok(file)
}

/// What the walks cover, as the note under the results says.
const NOT_EXHAUSTIVE: &str = "random walks are not exhaustive: a property no walk broke is \"incomplete\", never \
                              \"holds\"; a counterexample is the walk that found it, not a shortest one";

#[allow(clippy::too_many_arguments)]
fn print_text(
    model: &KlpSystem,
    t: &Target,
    always: &[Property<KlpSystem>],
    w: &Walks,
    traces: &[Option<PathBuf>],
    seed: u64,
    a: &SimulateArgs,
    threads: usize,
    elapsed: Duration,
) {
    println!("scenario {} ({}), variant {}", model.spec.name, t.path.display(), model.spec.variant.describe());
    let stopped = w.stopped.map(|r| format!(" (stopped: {r})")).unwrap_or_default();
    println!(
        "seed {seed}: {} of {} walks{stopped} of at most {} steps, {} threads, {:.2} s",
        w.done,
        a.walks,
        a.depth,
        threads,
        elapsed.as_secs_f64()
    );
    println!(
        "{} steps, {} distinct states seen, longest walk {} steps, {} walks ended with no step enabled",
        w.steps, w.distinct, w.longest, w.stuck
    );
    println!("{NOT_EXHAUSTIVE}");
    for ((p, f), file) in always.iter().zip(&w.found).zip(traces) {
        let note = match (f, file) {
            (Some((i, path)), Some(file)) => {
                format!("walk {}, {}, {}", i + 1, klp_traces::steps(path.len()), file.display())
            }
            _ => format!("no violation in {} walks", w.done),
        };
        let verdict = if f.is_some() { "VIOLATED" } else { Verdict::Incomplete.name() };
        println!("  {:<42} {:<12} {note}", p.name, verdict);
    }
    if let Some(c) = &w.coverage {
        crate::coverage::print(&model.spec, COUNTED, &["steps"], &[c]);
    }
}

/// What `simulate --coverage` counts.
const COUNTED: &str = "steps the walks took";

fn print_json(
    model: &KlpSystem,
    always: &[Property<KlpSystem>],
    w: &Walks,
    traces: &[Option<PathBuf>],
    seed: u64,
    a: &SimulateArgs,
    elapsed: Duration,
) {
    let props: Vec<_> = always
        .iter()
        .zip(&w.found)
        .zip(traces)
        .map(|((p, f), file)| {
            let verdict = if f.is_some() { Verdict::Violated } else { Verdict::Incomplete };
            serde_json::json!({
                "name": p.name,
                "verdict": verdict.name(),
                "walk": f.as_ref().map(|(i, _)| i + 1),
                "steps": f.as_ref().map(|(_, path)| path.len()),
                "trace": file.as_ref().map(|f| f.display().to_string()),
            })
        })
        .collect();
    let mut j = serde_json::json!({
        "scenario": model.spec.name,
        "variant": model.spec.variant,
        "seed": seed,
        "walks": a.walks,
        "walks_done": w.done,
        "depth": a.depth,
        "steps": w.steps,
        "distinct_states": w.distinct,
        "longest_walk": w.longest,
        "walks_stuck": w.stuck,
        "seconds": elapsed.as_secs_f64(),
        "complete": false,
        "stopped": w.stopped,
        "note": NOT_EXHAUSTIVE,
        "properties": props,
    });
    if let Some(c) = &w.coverage {
        let cov = crate::coverage::json(&model.spec, COUNTED, &["steps"], &[c]);
        for x in cov["warnings"].as_array().into_iter().flatten() {
            eprintln!("klpcheck: warning: {}", x.as_str().unwrap_or_default());
        }
        j["coverage"] = cov;
    }
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}
