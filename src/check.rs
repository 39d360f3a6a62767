//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::CheckArgs;
use crate::engine::word;
use crate::engine::Disk;
use crate::report::{Report, TraceOut};
use crate::target::Target;
use anyhow::Result;
use klp_model::KlpSystem;

pub fn run(a: &CheckArgs) -> Result<u8> {
    // `--witness` names were checked when the arguments were parsed (cli.rs `sometimes_property`).
    crate::select::set(&a.properties)?;
    if let Some(w) = a.witness.iter().find(|w| !a.properties.property.is_empty() && !a.properties.property.contains(w))
    {
        anyhow::bail!("--witness {w}: not checked in this run\n  hint: add `--property {w}`");
    }
    let t = Target::of_args(&a.target)?;
    let mut limits = crate::report::engine_limits(a.threads, &a.limits);
    if limits.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    if a.coverage && a.engine == crate::cli::Engine::Stateright {
        anyhow::bail!("--coverage counts in klpcheck's engine only (drop --engine stateright)");
    }
    limits.coverage = a.coverage;
    limits.disk = disk(a, &t)?;
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::report::check_one(&t.path, t.spec.clone(), a.engine, &limits, a.progress, &to)?;
    if r.explored.incomplete.as_deref() == Some("interrupted") {
        if let Some(dir) = &a.checkpoint {
            how_to_resume(dir);
        }
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
        let model = KlpSystem::new(t.spec.clone(), crate::select::catalogue);
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

/// After Ctrl-C: where the last checkpoint is and the command that continues from it.
fn how_to_resume(dir: &std::path::Path) {
    match klp_checker::CheckpointInfo::read(dir) {
        Ok(info) => {
            let mut args: Vec<String> = Vec::new();
            let mut skip = false;
            for arg in std::env::args().skip(1) {
                if std::mem::take(&mut skip) {
                    continue;
                }
                if arg == "--resume" {
                    skip = true;
                } else if !arg.starts_with("--resume=") {
                    args.push(arg);
                }
            }
            eprintln!(
                "klpcheck: the last checkpoint is {} (level {}, {} states); continue with:\n  klpcheck {} --resume {}",
                info.path.display(),
                info.depth,
                info.unique_states,
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
    for p in &o.properties {
        println!("  {:<42} {:<12} {}", p.name, word(p.verdict), p.note_column());
    }
    if let Some(c) = &o.coverage {
        let what = format!("{COUNTED}{}", if o.incomplete.is_some() { "; the search was INCOMPLETE" } else { "" });
        crate::coverage::print(&model.spec, &what, &["generated", "distinct"], &[&c.generated, &c.distinct]);
    }
    if let Some(s) = crate::select::summary(o.properties.len()) {
        println!("{s}");
    }
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
        "properties": props,
    });
    let mut j = j;
    if let Some(c) = &o.coverage {
        let cov = crate::coverage::json(&model.spec, COUNTED, &["generated", "distinct"], &[&c.generated, &c.distinct]);
        for w in cov["warnings"].as_array().into_iter().flatten() {
            eprintln!("klpcheck: warning: {}", w.as_str().unwrap_or_default());
        }
        j["coverage"] = cov;
    }
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}
