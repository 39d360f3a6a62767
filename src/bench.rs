//! `klpcheck bench toy --tasks N [--engine klpcheck|stateright] [--threads T] [--symmetry]
//! [--json]`: explores the toy livepatch transition model (crate klp-toy, toy/README.md) with
//! one engine and prints its statistics, so that engines (and SPIN, see
//! scripts/bench-vs-spin.sh) can be compared on identical work. Expected distinct states:
//! 4,230 / 57,122 / 808,950 / 11,770,418 for N = 3..6.

use std::time::Instant;

use anyhow::{bail, Result};
use klp_checker::{sys, Bfs};
use klp_toy::{self as toy, Toy};
use stateright::{Checker, Model};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Benchmark model (only "toy").
    pub model: String,
    /// Number of tasks (1..=15).
    #[arg(long)]
    pub tasks: usize,
    /// Exploration engine: klpcheck or stateright.
    #[arg(long, default_value = "klpcheck")]
    pub engine: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Symmetry reduction over tasks (stateright: its BFS ignores symmetry, so DFS is used).
    #[arg(long)]
    pub symmetry: bool,
    /// Canonicaliser under --symmetry: "sort" (the fast one) or "counts" (a second, independently
    /// written one, to cross-check the reduced count).
    #[arg(long, default_value = "sort", requires = "symmetry")]
    pub canonical: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one benchmark run measured.
#[derive(serde::Serialize)]
struct Report {
    model: String,
    tasks: usize,
    engine: String,
    threads: usize,
    symmetry: bool,
    /// The canonicaliser used under symmetry ("sort" or "counts").
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
    complete: bool,
    unique_states: u64,
    generated_states: u64,
    /// Steps from the initial state (TLC's and stateright's depth minus 1).
    max_depth: usize,
    wall_s: f64,
    states_per_s: f64,
    peak_rss_bytes: u64,
    bytes_per_state: f64,
    /// klpcheck only: visited set + parent links per state.
    visited_bytes_per_state: Option<f64>,
    collision_probability: f64,
}

pub fn run(args: &BenchArgs) -> Result<i32> {
    if args.model != "toy" {
        bail!("unknown bench model {:?} (available: toy)", args.model);
    }
    if !(1..=toy::MAX_TASKS).contains(&args.tasks) {
        bail!("--tasks must be 1..={} for the toy model", toy::MAX_TASKS);
    }
    if !["sort", "counts"].contains(&args.canonical.as_str()) {
        bail!("unknown --canonical {:?} (available: sort, counts)", args.canonical);
    }
    let model = Toy::new(args.tasks);
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let r = match args.engine.as_str() {
        "klpcheck" => run_klpcheck(args, &model, threads),
        "stateright" => run_stateright(args, model, threads),
        other => bail!("unknown engine {other:?} (available: klpcheck, stateright)"),
    };
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_text(&r);
    }
    Ok(0)
}

fn run_klpcheck(args: &BenchArgs, model: &Toy, threads: usize) -> Report {
    let mut bfs = Bfs::new(model).threads(threads);
    if args.symmetry {
        bfs = bfs.symmetry(canonicaliser(args));
    }
    let out = bfs.run();
    let s = &out.stats;
    let peak = s.peak_rss_bytes.max(sys::peak_rss_bytes());
    Report {
        model: args.model.clone(),
        tasks: args.tasks,
        engine: "klpcheck".into(),
        threads: s.threads,
        symmetry: args.symmetry,
        canonical: args.symmetry.then(|| args.canonical.clone()),
        complete: out.complete(),
        unique_states: s.unique_states,
        generated_states: s.generated_states,
        max_depth: s.max_depth,
        wall_s: s.elapsed.as_secs_f64(),
        states_per_s: s.states_per_sec(),
        peak_rss_bytes: peak,
        bytes_per_state: peak as f64 / s.unique_states.max(1) as f64,
        visited_bytes_per_state: Some(s.visited_bytes_per_state()),
        collision_probability: s.collision_probability(),
    }
}

fn run_stateright(args: &BenchArgs, model: Toy, threads: usize) -> Report {
    let start = Instant::now();
    let builder = model.checker().threads(threads);
    let (engine, (unique, generated, depth)) = if args.symmetry {
        let c = builder.symmetry_fn(canonicaliser(args)).spawn_dfs().join();
        ("stateright-dfs", counts(&c))
    } else {
        ("stateright", counts(&builder.spawn_bfs().join()))
    };
    let wall = start.elapsed().as_secs_f64();
    let peak = sys::peak_rss_bytes();
    Report {
        model: args.model.clone(),
        tasks: args.tasks,
        engine: engine.into(),
        threads,
        symmetry: args.symmetry,
        canonical: args.symmetry.then(|| args.canonical.clone()),
        // stateright cannot stop early here: no limits set and the toy's invariants hold.
        complete: true,
        unique_states: unique,
        generated_states: generated,
        max_depth: depth.saturating_sub(1),
        wall_s: wall,
        states_per_s: unique as f64 / wall.max(1e-9),
        peak_rss_bytes: peak,
        bytes_per_state: peak as f64 / unique.max(1) as f64,
        visited_bytes_per_state: None,
        collision_probability: (unique as f64).powi(2) / 2f64.powi(65),
    }
}

/// The canonicaliser `--canonical` names (checked in `run`).
fn canonicaliser(args: &BenchArgs) -> fn(&toy::ToyState) -> toy::ToyState {
    match args.canonical.as_str() {
        "counts" => toy::canonical_by_counts,
        _ => toy::canonical,
    }
}

/// (unique, generated, depth as stateright counts it) of a finished stateright run.
fn counts(c: &impl Checker<Toy>) -> (u64, u64, usize) {
    (c.unique_state_count() as u64, c.state_count() as u64, c.max_depth())
}

fn print_text(r: &Report) {
    let sym = if r.symmetry { "on" } else { "off" };
    println!("model        {} N={}", r.model, r.tasks);
    println!("engine       {} ({} threads, symmetry {sym})", r.engine, r.threads);
    println!("complete     {}", r.complete);
    println!("unique       {}", r.unique_states);
    println!("generated    {}", r.generated_states);
    println!("depth        {}", r.max_depth);
    println!("wall         {:.3} s", r.wall_s);
    println!("states/s     {:.0}", r.states_per_s);
    println!("peak RSS     {:.1} MB", r.peak_rss_bytes as f64 / 1e6);
    match r.visited_bytes_per_state {
        Some(v) => println!("bytes/state  {:.1} (visited set {v:.1})", r.bytes_per_state),
        None => println!("bytes/state  {:.1}", r.bytes_per_state),
    }
    println!("P(collision) {:.1e}", r.collision_probability);
}
