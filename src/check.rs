//! `klpcheck check`: explore a scenario, report every property, write counterexamples.

use crate::cli::CheckArgs;
use crate::engine::word;
use crate::report::{Report, TraceOut};
use crate::target::Target;
use anyhow::Result;

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
    let to = TraceOut { dir: &a.out, witness: &a.witness, print_steps: !a.json, target: &t };
    let r = crate::report::check_one(&t.path, t.spec.clone(), a.engine, &limits, a.progress, &to)?;
    if a.json {
        print_json(&r, &t, a.engine, &limits);
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

/// The table's width: a meaning longer than the room left on a row ends in "…".
const WIDTH: usize = 120;

/// Below this many distinct states the process's own memory (about 15 MB) dominates its peak
/// RSS, so bytes per state would measure the program, not the states: the table prints the peak
/// RSS alone (`--json` has both).
const PER_STATE_FROM: u64 = 1_000_000;

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
    print!("{}", table(&o.properties));
    if let Some(c) = &o.coverage {
        let what = format!("{COUNTED}{}", if o.incomplete.is_some() { "; the search was INCOMPLETE" } else { "" });
        crate::coverage::print(&model.spec, &what, &["generated", "distinct"], &[&c.generated, &c.distinct]);
    }
    if let Some(s) = crate::select::summary(o.properties.len()) {
        println!("{s}");
    }
    println!("verdict: {}", crate::json::Summary::of([o], r.exit_code()).text);
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
    fn fit_cuts_at_a_word() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("No task ever runs a mixed old/new set", 20), "No task ever runs a…");
        assert!(fit("a b c d e f g h i j k l", 9).chars().count() <= 9);
    }
}
