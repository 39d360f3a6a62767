//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::{CheckArgs, StoreKind};
use crate::engine::Disk;
use crate::engine::{percent, word};
use crate::report::{Report, TraceOut};
use crate::target::Target;
use anyhow::Result;
use klp_model::KlpSystem;

pub fn run(a: &CheckArgs) -> Result<u8> {
    // `--witness` of a built-in `always` property was refused when the arguments were parsed
    // (cli.rs `sometimes_property`); other names are checked once the scenario is loaded.
    crate::select::set(&a.properties)?;
    if let Some(w) = a.witness.iter().find(|w| !a.properties.property.is_empty() && !a.properties.property.contains(w))
    {
        anyhow::bail!("--witness {w}: not checked in this run\n  hint: add `--property {w}`");
    }
    let t = Target::of_args(&a.target)?;
    crate::select::check_names(&a.properties.property, &a.witness, &[&t.spec])?;
    let mut limits = crate::report::engine_limits(a.threads, &a.limits);
    if limits.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    if a.coverage && a.engine == crate::cli::Engine::Stateright {
        anyhow::bail!("--coverage counts in klpcheck's engine only (drop --engine stateright)");
    }
    limits.coverage = a.coverage;
    limits.store = store(a)?;
    limits.disk = disk(a, &t)?;
    if a.estimate {
        limits.max_states = Some(a.budget.unwrap_or(DEFAULT_BUDGET));
    }
    crate::distributed::start(a)?;
    let follower = crate::distributed::follower();
    let progress = match follower {
        true => crate::progress::Mode::Off,
        false => crate::progress::Mode::of(a.progress, a.no_progress, a.progress_every),
    };
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::report::check_one(&t.path, t.spec.clone(), a.engine, &limits, progress, &to);
    // In a distributed run rank 0 reports before any rank leaves: a rank that exits non-zero
    // (a violation) makes mpirun end the job, rank 0 with it.
    let code = r.map(|r| if follower { r.exit_code() } else { report(a, &t, &limits, &r) });
    crate::distributed::finish(code)
}

/// Prints the result of `check` and returns its exit code.
fn report(a: &CheckArgs, t: &Target, limits: &crate::engine::Limits, r: &Report) -> u8 {
    if a.estimate {
        return print_estimate(r, limits.max_states.unwrap_or_default());
    }
    if r.explored.incomplete.as_deref() == Some("interrupted") {
        if let Some(dir) = &a.checkpoint {
            how_to_resume(dir);
        }
    }
    if a.json {
        print_json(r, t, a.engine, limits);
    } else {
        print_table(r, &t.path);
    }
    // A requested witness the search did not find writes no trace: say so, and why.
    for w in &a.witness {
        if let Some(p) = r.explored.properties.iter().find(|p| p.name == w && p.trace.is_none()) {
            eprintln!("klpcheck: no witness trace for '{w}': it is {}", word(p.verdict));
        }
    }
    r.exit_code()
}

/// States `--estimate` explores without `--budget`: about a second on the default scenario.
const DEFAULT_BUDGET: u64 = 200_000;

/// The engine's store from `--store`, `--bits`, `--hashes`.
fn store(a: &CheckArgs) -> Result<klp_checker::Store> {
    let s = &a.store;
    match s.store {
        StoreKind::Exact => {
            if s.bits.is_some() || s.hashes.is_some() {
                anyhow::bail!("--bits and --hashes size the bitstate table: add `--store bitstate`");
            }
            Ok(klp_checker::Store::Exact)
        }
        StoreKind::Bitstate => {
            if a.engine == crate::cli::Engine::Stateright {
                anyhow::bail!("--store bitstate is klpcheck's engine only (drop --engine stateright)");
            }
            let bits = s.bits.unwrap_or(klp_checker::DEFAULT_BITS);
            if !(1024..=1 << 40).contains(&bits) {
                anyhow::bail!("--bits {bits}: the bitstate table takes 1024 to 2^40 bits");
            }
            Ok(klp_checker::Store::Bitstate { bits, hashes: s.hashes.unwrap_or(klp_checker::DEFAULT_HASHES) })
        }
    }
}

/// `--estimate`: what the bounded exploration saw and the projection of the full run. Exit 1
/// if it already found a violation (its trace is written), else 3: nothing was checked to the
/// end, even when the budget covered the whole state space.
fn print_estimate(r: &Report, budget: u64) -> u8 {
    use crate::progress::{count, projected};
    let (model, o) = (&r.model, &r.explored);
    let secs = o.elapsed.as_secs_f64();
    let rate = o.unique_states as f64 / secs.max(1e-9);
    println!("scenario {}, variant {}", model.spec.name, model.spec.variant.describe());
    println!(
        "estimate from a bounded exploration (budget {budget} states): {} states in {} levels, {:.2} s, {} states/s",
        o.unique_states,
        o.level_sizes.len(),
        secs,
        count(rate),
    );
    println!("levels: {}", o.level_sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(" "));
    if o.incomplete.is_none() || o.incomplete.as_deref().is_some_and(|i| i.starts_with("bitstate")) {
        println!("the whole state space fit in the budget: {} states, depth {} (exact)", o.unique_states, o.max_depth);
    } else {
        match klp_checker::estimate::project(&o.level_sizes) {
            Ok(p) => println!("{} at the rate so far", projected(&p, o.unique_states, rate)),
            Err(why) => println!("no projection: {why} (raise --budget)"),
        }
        println!("(the projection follows the falling growth ratio of the BFS levels; README: its measured errors)");
    }
    let violated: Vec<&str> = o.violated().map(|p| p.name).collect();
    if violated.is_empty() {
        println!("no property was checked to the end (exit 3)");
        3
    } else {
        println!("violated within the budget: {} (exit 1; run `check` for every verdict)", violated.join(", "));
        1
    }
}

/// The table's width: a meaning longer than the room left on a row ends in "…".
const WIDTH: usize = 120;

/// Below this many distinct states the process's own memory (about 15 MB) dominates its peak
/// RSS, so bytes per state would measure the program, not the states: the table prints the peak
/// RSS alone (`--json` has both).
const PER_STATE_FROM: u64 = 1_000_000;

/// `--spill`, `--checkpoint`, `--resume`; a checkpoint of another run is refused here, with
/// what differs.
fn disk(a: &CheckArgs, t: &Target) -> Result<Disk> {
    let d = Disk {
        spill: a.spill.clone(),
        checkpoint: a.checkpoint.clone().map(|c| (c, std::time::Duration::from_secs(a.checkpoint_every))),
        resume: a.resume.clone(),
    };
    if a.engine == crate::cli::Engine::Stateright && (d.spill.is_some() || d.checkpoint.is_some() || d.resume.is_some())
    {
        anyhow::bail!("--spill, --checkpoint and --resume work with klpcheck's engine only (drop --engine stateright)");
    }
    if let Some(dir) = &d.resume {
        let info = klp_checker::CheckpointInfo::read(dir).map_err(|e| anyhow::anyhow!("--resume: {e}"))?;
        let model = KlpSystem::new(t.spec.clone(), crate::select::catalogue).with_user_properties(crate::select::user);
        let ours = crate::engine::identity(&model, a.coverage);
        let theirs: serde_json::Value = serde_json::from_str(&info.identity).unwrap_or_default();
        let diffs: Vec<String> = ours
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!("  {k}: {} in the checkpoint, {v} in this run", theirs.get(k.as_str()).unwrap_or(&"?".into()))
            })
            .collect();
        if !diffs.is_empty() {
            anyhow::bail!(
                "--resume {}: the checkpoint was written by another run, it cannot be resumed by this one\n{}",
                dir.display(),
                diffs.join("\n")
            );
        }
        eprintln!(
            "klpcheck: resuming from {} (level {}, {} states)",
            info.path.display(),
            info.depth,
            info.unique_states
        );
    }
    Ok(d)
}

/// `args` without any `--resume DIR` / `--resume=DIR`: the command line a resume hint repeats
/// with its own `--resume`.
pub(crate) fn args_without_resume(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if arg == "--resume" {
            skip = true;
        } else if !arg.starts_with("--resume=") {
            out.push(arg);
        }
    }
    out
}

/// After Ctrl-C: where the last checkpoint is and the command that continues from it.
fn how_to_resume(dir: &std::path::Path) {
    match klp_checker::CheckpointInfo::read(dir) {
        Ok(info) => {
            let args = args_without_resume(std::env::args().skip(1));
            eprintln!(
                "klpcheck: the last checkpoint is {} (level {}, {} states); continue with:\n  {}klpcheck {} --resume {}",
                info.path.display(),
                info.depth,
                info.unique_states,
                crate::distributed::ranks().map(|n| crate::distributed::launcher(n) + " ").unwrap_or_default(),
                args.join(" "),
                dir.display()
            );
        }
        Err(_) => eprintln!(
            "klpcheck: no checkpoint was written yet in {} (the first comes at the first level boundary after \
             --checkpoint-every seconds)",
            dir.display()
        ),
    }
}

fn print_table(r: &Report, path: &std::path::Path) {
    let (model, o) = (&r.model, &r.explored);
    let secs = o.elapsed.as_secs_f64();
    println!("scenario {} ({}), variant {}", model.spec.name, path.display(), model.spec.variant.describe());
    let rate = if secs >= 1.0 { format!(" ({:.0} states/s)", o.unique_states as f64 / secs) } else { String::new() };
    println!(
        "{}: {} distinct states, {} generated, depth {}, {secs:.2} s{rate}",
        match &o.incomplete {
            None => "search complete".to_string(),
            Some(r) => format!("search INCOMPLETE ({r})"),
        },
        o.unique_states,
        o.generated,
        o.max_depth,
    );
    if let Some(peak) = o.peak_rss_bytes {
        let mut line = format!("memory: peak RSS {:.0} MB", peak as f64 / 1e6);
        if o.unique_states >= PER_STATE_FROM {
            if let (Some(b), Some(p)) = (o.bytes_per_state, o.collision_probability) {
                line += &format!(", {b:.1} bytes per state, fingerprint collision probability {p:.1e}");
            }
            if let Some(g) = o.graph_bytes_per_state {
                line += &format!(" (liveness graph {g:.1} bytes per state)");
            }
        }
        if let Some(t) = o.liveness_elapsed.filter(|t| t.as_secs_f64() >= 0.01) {
            line += &format!("; liveness checked in {:.2} s", t.as_secs_f64());
        }
        println!("{line}");
    }
    if let Some(b) = &o.bitstate {
        print_bitstate(b);
    }
    if let Some(s) = &o.symmetry {
        println!("symmetry reduction {s}");
    }
    print!("{}", table(&o.properties));
    if let Some(c) = &o.coverage {
        let what = format!("{COUNTED}{}", if o.incomplete.is_some() { "; the search was INCOMPLETE" } else { "" });
        crate::coverage::print(&model.spec, &what, &["generated", "distinct"], &[&c.generated, &c.distinct]);
    }
    if let Some(s) = crate::select::summary(o.properties.len(), model.spec.user_properties.len()) {
        println!("{s}");
    }
    if let (Some(b), None) = (&o.bitstate, o.violated().next()) {
        println!("no violation found (bitstate, estimated coverage {}): never \"holds\"", percent(b.coverage()));
    }
    println!("verdict: {}", crate::json::Summary::of([o], r.exit_code()).text);
}

/// The bitstate table in SPIN's terms (hash factor, bits set per state), then the omission
/// estimates (bitstate.rs says how they are computed).
fn print_bitstate(b: &klp_checker::BitstateStats) {
    println!(
        "bitstate: {} bits ({:.1} MiB), {} stored, hash factor {:.4} (best if > 100.), bits set per state: {} (-k{})",
        b.bits,
        b.bits as f64 / 8.0 / 1048576.0,
        b.stored,
        b.hash_factor(),
        b.hashes,
        b.hashes
    );
    println!(
        "bitstate: probability that the next new state is omitted {:.2e}; estimated coverage {} (states dropped at \
         the table; those reachable only through them are not counted)",
        b.omission_probability(b.stored),
        percent(b.coverage())
    );
}

/// The properties grouped by what they promise (always, sometimes, liveness, deadlock and script
/// completion), each on one row with its verdict and the first clause of its statement
/// (`klpcheck list properties` has the whole text); under a row, the counterexample's length
/// and trace file, or the engine's note.
fn table(props: &[crate::engine::PropertyResult]) -> String {
    let docs = klp_properties::docs();
    // At least 41: the widest catalogue name is 39, and the rows keep their columns when a
    // selection (`--property`) leaves only short names.
    let name_w = props.iter().map(|p| p.name.len()).max().unwrap_or(0).max(41);
    let verdict_w = 11;
    let indent = 2 + name_w + 2 + verdict_w + 2;
    let mut out = String::new();
    for g in klp_properties::Group::ALL {
        let rows: Vec<_> = props.iter().filter(|p| klp_properties::group(p.name, &p.expectation) == g).collect();
        if rows.is_empty() {
            continue;
        }
        out += &format!("\n{} ({})\n", g.heading(), rows.len());
        for p in rows {
            let meaning = docs.iter().find(|d| d.name == p.name).map(|d| d.meaning()).unwrap_or_default();
            let row = format!("  {:<name_w$}  {:<verdict_w$}  ", p.name, word(p.verdict));
            out += &format!("{row}{}\n", fit(&meaning, WIDTH.saturating_sub(indent)).trim_end());
            let note = match (p.trace.is_some(), p.verdict) {
                (true, _) | (false, klp_checker::Verdict::Unchecked) => p.note_column(),
                (false, klp_checker::Verdict::Violated) => p.note_column(),
                _ => String::new(),
            };
            if !note.is_empty() {
                out += &format!("{:indent$}{note}\n", "");
            }
        }
    }
    out + "\n"
}

/// `text` cut to `width` characters at a word boundary, ending in "…" when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for w in text.split(' ') {
        if out.chars().count() + 1 + w.chars().count() + 1 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.trim_end_matches([',', ';', ':']).to_string() + "…"
}

/// What `check --coverage` counts.
const COUNTED: &str = "transitions generated from explored states, duplicates included, and those that found a new \
                       distinct state";

fn print_json(r: &Report, t: &Target, engine: crate::cli::Engine, limits: &crate::engine::Limits) {
    let (model, o) = (&r.model, &r.explored);
    let mut run = crate::json::Run::of(crate::json::RunOf {
        scenario: &model.spec.name,
        scenario_path: &t.path,
        variant: &t.label,
        knobs: &model.spec.variant,
        engine: engine.name(),
        limits,
        explored: o,
    });
    if let Some(c) = &o.coverage {
        let cov = crate::coverage::json(&model.spec, COUNTED, &["generated", "distinct"], &[&c.generated, &c.distinct]);
        for w in cov["warnings"].as_array().into_iter().flatten() {
            eprintln!("klpcheck: warning: {}", w.as_str().unwrap_or_default());
        }
        run.coverage = Some(cov);
    }
    let summary = crate::json::Summary::of([o], r.exit_code());
    println!("{}", crate::json::Document::new(crate::json::CommandName::Check, vec![run], summary).to_string_pretty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_hint_drops_every_resume_and_its_directory() {
        let argv = ["check", "large", "--resume", "old", "--threads", "2", "--resume=other", "--checkpoint", "c"];
        let got = args_without_resume(argv.iter().map(|a| a.to_string()));
        assert_eq!(got, ["check", "large", "--threads", "2", "--checkpoint", "c"]);
    }

    #[test]
    fn fit_cuts_at_a_word() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("No task ever runs a mixed old/new set", 20), "No task ever runs a…");
        assert!(fit("a b c d e f g h i j k l", 9).chars().count() <= 9);
    }
}
