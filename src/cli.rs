//! Command-line arguments (clap derive; the doc comments are the help text).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "klpcheck", version, about = "Model checker for the Linux kernel livepatch consistency model")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Explore every interleaving of a scenario and check every property.
    Check(CheckArgs),
    /// Re-execute a trace step by step against the model and confirm its verdict.
    Replay(ReplayArgs),
    /// List shipped scenarios, variant presets, knobs or properties.
    List(ListArgs),
    /// Browse the state space in a web browser, from the initial state or a trace's last step.
    Explore(ExploreArgs),
    /// Benchmark an engine on a built-in model (the toy livepatch model, crate klp-toy: toy/README.md).
    Bench(crate::bench::BenchArgs),
    /// Run a script scenario deterministically and print its dmesg transcript (as the kernel
    /// selftests' check_result sees it).
    Run(RunArgs),
    /// Render a trace: its timeline, dmesg transcript, or an SVG sequence picture.
    Render(RenderArgs),
    /// Check scenarios under several design variants and print the matrix of verdicts.
    Compare(CompareArgs),
    /// Check the committed expectations (expectations/klpcheck.toml); exit 1 on any difference.
    Ci(CiArgs),
    /// Random walks through a scenario, checking every `always` property on every state; finds
    /// counterexamples (not shortest ones) in scenarios too big to explore; never says "holds".
    Simulate(crate::simulate::SimulateArgs),
    /// Print the scenario format's JSON Schema (docs/scenario.schema.json), for editors, or
    /// with --markdown the key reference of docs/scenario.md.
    Schema(SchemaArgs),
    /// Check a kernel log (dmesg or selftest transcript) against every interleaving of a
    /// scenario: "admitted" with a behaviour that prints it, or the first line no behaviour
    /// produces; --infer proposes a scenario skeleton from the log.
    Validate(crate::validate::ValidateArgs),
    /// For a log that ends inside a transition: the model states consistent with it, which tasks
    /// can hold it (TIF_PATCH_PENDING, where they sleep), and which way out ends it (waiting, a
    /// signal, `echo 0 > enabled`, rmmod of a module, force), with the shortest from each state.
    Diagnose(crate::validate::DiagnoseArgs),
}

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Print the key reference (Markdown) instead of the JSON Schema.
    #[arg(long)]
    pub markdown: bool,
}

/// What `check`, `explore` and `run` run: a scenario under a variant (resolved by
/// [`crate::target::Target::of_args`]). The help here is `check`'s; `explore` and `run` word
/// theirs with `mut_arg`.
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// A scenario file, or the name of a shipped scenario (model/scenarios/NAME.toml).
    #[arg(default_value = "default")]
    pub scenario: String,
    /// A design variant: a preset name (model/variants/NAME.toml, `klpcheck list variants`), a
    /// preset file, or "upstream" (the default). Applied over the scenario's own [variant].
    #[arg(long)]
    pub variant: Option<String>,
    /// Set one knob, e.g. `--set stack_check=none` (repeatable; applied after --variant).
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub limits: SearchLimits,
    /// Exploration engine.
    #[arg(long, value_enum, default_value_t = Engine::Klpcheck)]
    pub engine: Engine,
    /// Where counterexample traces are written.
    #[arg(long, default_value = "traces/out")]
    pub out: PathBuf,
    /// Also write the witness trace of these `sometimes` properties.
    #[arg(long, value_name = "PROPERTY", value_parser = sometimes_property)]
    pub witness: Vec<String>,
    /// Print statistics as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw the progress display on stderr even when it is not a terminal (then one line per
    /// sample, --progress-every). Without it the display is drawn only on a terminal.
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,
    /// Never draw the progress display.
    #[arg(long)]
    pub no_progress: bool,
    /// Seconds between two progress samples (e.g. 60 for a batch job's log; 0: after every
    /// batch of states).
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_seconds)]
    pub progress_every: std::time::Duration,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Do not check: explore at most --budget states, then print the projected number of
    /// states, depth and time of the full run (from the BFS level sizes). Exit code 3 (nothing
    /// was checked to the end), or 1 if the bounded exploration already found a violation.
    #[arg(long, conflicts_with_all = ["max_states", "json"])]
    pub estimate: bool,
    /// States --estimate explores (e.g. 200000, 1M = 2^20).
    #[arg(long, value_name = "STATES", requires = "estimate", value_parser = parse_count)]
    pub budget: Option<u64>,
    /// Count how often each action kind, entry point, function version and admin command
    /// fired, and warn about scenario parts that never did (as TLC's -coverage; also in --json).
    #[arg(long)]
    pub coverage: bool,
    /// Keep the frontier (full states) and the parent links in files under DIR, so that RAM
    /// holds the visited set (about 12 bytes per state) and, unless --no-liveness, the
    /// liveness graph. Same results.
    #[arg(long, value_name = "DIR")]
    pub spill: Option<PathBuf>,
    /// Write a checkpoint to DIR at a level boundary every --checkpoint-every seconds (the
    /// last one is kept; `--resume DIR` continues from it).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoints (0: at every level boundary).
    #[arg(long, value_name = "SECONDS", default_value_t = 300, requires = "checkpoint")]
    pub checkpoint_every: u64,
    /// Continue from the last checkpoint in DIR (written by the same scenario, variant,
    /// property selection and klpcheck binary): same counts, verdicts and traces as a run that
    /// never stopped.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Run as one rank of an MPI job (`mpirun -n N klpcheck check ... --distributed`): states
    /// are partitioned over the ranks, results are those of a single-process run, rank 0
    /// prints them. Needs a build with `--features distributed`; leads-to properties are
    /// unchecked (deadlock and possibility are checked).
    #[arg(long)]
    pub distributed: bool,
    #[command(flatten)]
    pub properties: PropertyArgs,
}

/// `check`'s visited set.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The visited set: `exact` (every 64-bit fingerprint; a complete search proves properties)
    /// or `bitstate` (SPIN's supertrace: a bit array, far less memory, may drop states, so it
    /// never says "holds": exit 3 when nothing is found).
    #[arg(long, value_enum, default_value_t = StoreKind::Exact)]
    pub store: StoreKind,
    /// Bits in the bitstate table: a number, 2^N, or with a binary suffix K, M, G (128M = 128 *
    /// 2^20 bits = 16 MiB) [default: 2^31 = 256 MiB].
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub bits: Option<u64>,
    /// Bits set per state in the bitstate table (SPIN's -k), 1 to 16 [default: 3].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub hashes: Option<u32>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// Every fingerprint (about 12 bytes per state).
    Exact,
    /// A bit array addressed by --hashes hash functions of the fingerprint.
    Bitstate,
}

/// A count: `1000`, `2^30`, or a number with a binary suffix `K`, `M`, `G` (`128M` = 128 * 2^20).
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("'{s}' is not a count (examples: 1000000, 2^30, 128M)");
    if let Some((base, exp)) = t.split_once('^') {
        let (base, exp): (u64, u32) = (base.parse().map_err(|_| bad())?, exp.parse().map_err(|_| bad())?);
        return base.checked_pow(exp).ok_or_else(bad);
    }
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// A number of seconds, not negative (`1`, `0.5`, `60`).
pub fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("'{s}' is not a number of seconds (examples: 1, 0.5, 60)");
    let secs: f64 = s.trim().parse().map_err(|_| bad())?;
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Which properties `check` and `compare` check (src/select.rs).
#[derive(Args, Debug)]
pub struct PropertyArgs {
    /// Check and report only this property (repeatable; `klpcheck list properties`).
    #[arg(long = "property", value_name = "NAME", value_parser = crate::select::property_name)]
    pub property: Vec<String>,
    /// Do not check the liveness (`eventually`) properties: the engine keeps no state graph
    /// (about half the memory).
    #[arg(long)]
    pub no_liveness: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// klpcheck's parallel BFS: shortest traces, fingerprint store, sound limits.
    Klpcheck,
    /// stateright 0.31's breadth-first checker (a cross-check).
    Stateright,
}

impl Engine {
    /// The engine's name, as `--engine` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Klpcheck => "klpcheck",
            Engine::Stateright => "stateright",
        }
    }
}

#[derive(Args, Debug)]
#[command(
    mut_arg("scenario", |a| a.help("A scenario file, or the name of a shipped scenario")),
    mut_arg("variant", |a| a.help("A design variant (preset name or file), as for `check`")),
    mut_arg("set", |a| a.help("Set one knob (repeatable), as for `check`")),
)]
pub struct ExploreArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to listen (loopback by default).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Allow a non-loopback --addr.
    #[arg(long)]
    pub public: bool,
    /// Threads of the background checker the Explorer's status panel reports on.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Open this trace (JSON, written by `klpcheck check`) at its last step; its scenario and
    /// variant are the ones it records (a SCENARIO given as well replaces its scenario file).
    #[arg(long, value_name = "T.json")]
    pub trace: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A trace written by `klpcheck check` (JSON).
    pub trace: PathBuf,
    /// Replay against this scenario file instead of the one the trace names.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Also print the state after the last step, in kernel terms (tasks, patches with their
    /// objects and funcs, func_stacks, modules and the admin script, by name).
    #[arg(long)]
    pub state: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(value_enum)]
    pub what: ListWhat,
    /// Print JSON (for scripts, e.g. the paper's tables).
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ListWhat {
    Scenarios,
    Variants,
    Knobs,
    Properties,
}

#[derive(Args, Debug)]
#[command(
    mut_arg("scenario", |a| a
        .help("A script scenario file, or the name of a shipped scenario (model/scenarios/NAME.toml)")
        .default_value(None)
        .required(true)),
    mut_arg("variant", |a| a.help("A design variant (see `klpcheck check --variant`)")),
)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print every kernel line, not only those the selftest harness's filter keeps (the
    /// kernel's `livepatch:` lines and the lines naming one of the scenario's modules).
    #[arg(long)]
    pub all: bool,
    /// Stop after this many steps.
    #[arg(long, default_value_t = 10_000)]
    pub max_steps: usize,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A trace written by `klpcheck check` (JSON).
    pub trace: PathBuf,
    /// Write the SVG sequence picture to this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Print the timeline (the default when no other output is asked for).
    #[arg(long)]
    pub timeline: bool,
    /// Print the dmesg-style transcript.
    #[arg(long)]
    pub dmesg: bool,
}

/// The search limits of one run, shared by `check`, `compare` and `ci` (flattened into each).
#[derive(Args, Debug, Clone)]
pub struct SearchLimits {
    /// Stop a run after this many distinct states (its verdicts are then "incomplete").
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Do not explore beyond this depth (the verdict is then "incomplete" if states were cut).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Stop a run after this many seconds (its verdicts are then "incomplete").
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Stop a run when the process uses more than this many MiB (its verdicts are then
    /// "incomplete").
    #[arg(long)]
    pub max_memory: Option<u64>,
    /// Reduce over identical tasks (`count` copies) even when possibility properties are
    /// selected (one that holds on the reduced model is then "incomplete"). By default the
    /// reduction applies where the scenario has identical tasks and no possibility property is
    /// selected; its verdicts are those of the unreduced model (a leads-to candidate is decided
    /// on the unreduced model, what cannot be decided is "incomplete"), its traces concrete
    /// (README "Symmetry reduction").
    #[arg(long, conflicts_with = "no_symmetry")]
    pub symmetry: bool,
    /// Never reduce over identical tasks (to compare, or to check liveness on such a scenario).
    #[arg(long)]
    pub no_symmetry: bool,
}

/// Threads and search limits of `compare` and `ci`, which run many scenarios at once.
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Worker threads in all (default: all cores), shared between the runs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Scenario runs at once (default: as many as threads); each gets threads/jobs engine threads.
    #[arg(long)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub search: SearchLimits,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Scenario files or names of shipped scenarios (model/scenarios/NAME.toml).
    #[arg(required = true)]
    pub scenarios: Vec<String>,
    /// Comma-separated variants: preset names or files (as --variant takes), "upstream" (no
    /// preset), or "all" (upstream and every shipped preset).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub variants: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Where counterexample traces are written (`<scenario>@<variant>--<property>.json`).
    #[arg(long, default_value = "traces/out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub properties: PropertyArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text: a summary matrix, then one block per scenario.
    Table,
    /// The same tables in Markdown.
    Markdown,
    /// Every run with every property's verdict.
    Json,
    /// One row per scenario, variant and property.
    Csv,
}

#[derive(Args, Debug)]
pub struct CiArgs {
    /// The expectations file (default: expectations/klpcheck.toml as compiled into the binary;
    /// `--update` without FILE rewrites the one of the source tree the binary was built from).
    pub file: Option<PathBuf>,
    /// Which entries to run: "all", or comma-separated tags, scenario or variant names (an
    /// entry runs if it carries any of them; "fast" is every entry under 20,000 states).
    #[arg(long, default_value = "all")]
    pub filter: String,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Rewrite the file from this run (new scenarios and presets are added, stale entries
    /// dropped): the way to accept intended changes.
    #[arg(long, conflicts_with = "json")]
    pub update: bool,
    /// Print the report as JSON (the schema `check --json` and `compare --format json` share,
    /// docs/json.md) instead of DIFF lines: each run with its differences from its entry.
    #[arg(long)]
    pub json: bool,
    /// Where counterexample traces of differences are written.
    #[arg(long, default_value = "traces/out")]
    pub out: PathBuf,
    /// Run as one rank of an MPI job (`mpirun -n N klpcheck ci --filter fast --distributed`):
    /// every rank runs every entry in the same order with the distributed engine, one after
    /// the other, each with `--threads` threads; rank 0 compares and reports. Leads-to
    /// verdicts, which a distributed run does not check, are listed as UNCHECKED lines (exit
    /// 3 when there is one and no difference). Needs a build with `--features distributed`.
    #[arg(long, conflicts_with = "update")]
    pub distributed: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--witness NAME`: not the name of a built-in `always` or `eventually` property; otherwise a
/// usage error (exit 2) with a "did you mean" and the list of valid names.
fn sometimes_property(name: &str) -> Result<String, String> {
    use stateright::Expectation;
    let docs = klp_properties::docs();
    let valid: Vec<&str> = docs.iter().filter(|d| d.expectation == Expectation::Sometimes).map(|d| d.name).collect();
    if valid.contains(&name) {
        return Ok(name.to_string());
    }
    let what = match docs.iter().find(|d| d.name == name) {
        Some(d) => {
            let kind = format!("{:?}", d.expectation).to_lowercase();
            format!("'{name}' is an `{kind}` property (its counterexample is written when it is violated)")
        }
        // Perhaps a [[witness]] of the scenario: checked once it is loaded (select::check_names).
        None => return Ok(name.to_string()),
    };
    let guess = klp_model::hint::did_you_mean(name, valid.iter()).map(|g| format!("{g} ")).unwrap_or_default();
    Err(format!("{what}\n  hint: {guess}`sometimes` properties: {}", valid.join(", ")))
}
