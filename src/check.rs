//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::{CheckArgs, StoreKind};
use crate::engine::{percent, word};
use crate::report::{Report, TraceOut};
use crate::target::Target;
use anyhow::Result;

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
    if a.estimate {
        limits.max_states = Some(a.budget.unwrap_or(DEFAULT_BUDGET));
    }
    let progress = crate::progress::Mode::of(a.progress, a.no_progress);
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::report::check_one(&t.path, t.spec.clone(), a.engine, &limits, progress, &to)?;
    if a.estimate {
        return Ok(print_estimate(&r, limits.max_states.unwrap_or_default()));
    }
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
    if let Some(b) = &o.bitstate {
        print_bitstate(b);
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
    if let Some(s) = crate::select::summary(o.properties.len(), model.spec.user_properties.len()) {
        println!("{s}");
    }
    if let (Some(b), None) = (&o.bitstate, o.violated().next()) {
        println!("no violation found (bitstate, estimated coverage {}): never \"holds\"", percent(b.coverage()));
    }
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
        "level_sizes": o.level_sizes,
    });
    let mut j = j;
    if let Some(b) = &o.bitstate {
        j["bitstate"] = serde_json::json!({
            "bits": b.bits,
            "hashes": b.hashes,
            "stored": b.stored,
            "hash_factor": b.hash_factor(),
            "omission_probability": b.omission_probability(b.stored),
            "estimated_coverage": b.coverage(),
        });
    }
    if let Some(c) = &o.coverage {
        let cov = crate::coverage::json(&model.spec, COUNTED, &["generated", "distinct"], &[&c.generated, &c.distinct]);
        for w in cov["warnings"].as_array().into_iter().flatten() {
            eprintln!("klpcheck: warning: {}", w.as_str().unwrap_or_default());
        }
        j["coverage"] = cov;
    }
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}
