//! `klpcheck ci`: runs every scenario x variant of the expectations file and reports each
//! difference as one `DIFF` line, exit 1 if there is any: a new or vanished violation, a
//! changed verdict (a property the entry does not list is expected to have its kind's default
//! verdict), a listed property the run does not have, a changed state count, a scenario x
//! variant missing from the file. `--update` rewrites the file from a run instead: the way to
//! accept intended changes. `--distributed` runs every entry on the distributed engine as one
//! MPI job (src/distributed.rs): the verdicts it does not check (leads-to) are listed apart as
//! UNCHECKED, never counted as matching.

use crate::cli::CiArgs;
use crate::expectations::{self, Entry, Known};
use crate::junit::{Case, Suite};
use crate::report::{Job, JobResult};
use anyhow::{anyhow, Result};
use klp_checker::Verdict;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(a: &CiArgs) -> Result<u8> {
    crate::distributed::start_ci(a)?;
    let r = run_entries(a);
    crate::distributed::finish(r)
}

fn run_entries(a: &CiArgs) -> Result<u8> {
    // The expectations pin unreduced runs (the integrator re-derives the slow ones; reduced
    // counts and verdicts are pinned by tests/symmetry.rs): ci runs every entry unreduced.
    if a.limits.search.symmetry {
        anyhow::bail!(
            "ci pins unreduced runs (every entry checks liveness, which symmetry reduction may leave incomplete): drop --symmetry"
        );
    }
    let mut limits = crate::report::limits(&a.limits)?;
    limits.symmetry = crate::engine::Symmetry::Off;
    let known = Known::shipped();
    // Without FILE: the expectations compiled into the binary (src/shipped.rs), except that
    // `--update` needs a file to write, the one in the source tree this binary was built from.
    let path = match (&a.file, a.update) {
        (Some(f), _) => f.clone(),
        (None, true) => expectations::source_tree_path()?,
        (None, false) => PathBuf::from(expectations::SHIPPED),
    };
    let shown = if a.file.is_none() && !a.update { expectations::SHIPPED.to_string() } else { shown(&path) };
    let (entries, notes) = if a.file.is_none() && !a.update {
        expectations::parse(&shown, crate::shipped::EXPECTATIONS, &known, false).map_err(|e| anyhow!("{e}"))?
    } else if a.update && !path.exists() {
        (Vec::new(), Vec::new())
    } else {
        expectations::load(&path, &shown, &known, a.update).map_err(|e| anyhow!("{e}"))?
    };
    let mut entries = entries;
    entries.sort_by_key(|e| (e.scenario.clone(), e.variant != "upstream", e.variant.clone()));
    let filter = Filter::new(&a.filter, &entries, &known)?;
    let selected: Vec<&Entry> = entries.iter().filter(|e| filter.matches(e)).collect();
    let start = Instant::now();
    let run = |list: &[(String, String)]| {
        let jobs: Vec<Job> = list.iter().map(|(s, v)| Job { scenario: s.clone(), variant: v.clone() }).collect();
        crate::report::run_many(&jobs, &limits, a.limits.jobs, &a.out)
    };
    if a.update {
        for n in notes {
            println!("{n}");
        }
        return update(&path, &shown, &known, entries.clone(), &selected, &run);
    }
    let runs = run(&selected.iter().map(|e| (e.scenario.clone(), e.variant.clone())).collect::<Vec<_>>())?;
    let mut suites = Vec::new();
    let mut unchecked = Vec::new();
    for (e, r) in selected.iter().zip(&runs) {
        suites.push(differences(e, r, a.distributed));
        if a.distributed {
            unchecked.extend(not_checked(e, r).into_iter().map(|m| format!("UNCHECKED {}: {m}", e.key())));
        }
    }
    for (s, v) in missing(&entries, &known) {
        let message = format!("no entry in {shown}; `klpcheck ci --update` adds it");
        let case = Case { name: "expectations".into(), failure: Some((message.clone(), String::new())) };
        suites.push(crate::junit::Suite { name: format!("{s}@{v}"), seconds: 0.0, cases: vec![case] });
    }
    let diffs: usize = suites.iter().map(|s| s.cases.iter().filter(|c| c.failure.is_some()).count()).sum();
    // The other ranks of a distributed run computed the same and say nothing.
    if crate::distributed::follower() {
        return Ok(exit_code(diffs, unchecked.len()));
    }
    if a.json {
        print_json(&selected, &runs, &suites, diffs);
    } else {
        for s in &suites {
            for (message, _) in s.cases.iter().filter_map(|c| c.failure.as_ref()) {
                println!("DIFF {}: {message}", s.name);
            }
        }
    }
    if let Some(j) = &a.junit {
        std::fs::write(j, crate::junit::render(&suites)).map_err(|e| anyhow!("{}: cannot write: {e}", j.display()))?;
    }
    let checked: usize = runs.iter().map(|r| r.explored.properties.len() + 1).sum();
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        return Ok(exit_code(diffs, unchecked.len()));
    }
    for u in &unchecked {
        println!("{u}");
    }
    if diffs == 0 && !unchecked.is_empty() {
        println!(
            "ci: {shown}: {} entries: {} verdicts and state counts match, {} verdicts unchecked by the \
             distributed engine ({secs:.1} s)",
            runs.len(),
            checked - unchecked.len(),
            unchecked.len()
        );
        Ok(3)
    } else if diffs == 0 {
        println!("ci: {shown}: {} entries ({checked} verdicts and state counts) match ({secs:.1} s)", runs.len());
        Ok(0)
    } else {
        println!(
            "ci: {shown}: {diffs} difference{} in {} entries ({secs:.1} s); if intended, accept with \
             `klpcheck ci --update` and commit {shown}",
            if diffs == 1 { "" } else { "s" },
            runs.len()
        );
        Ok(1)
    }
}

/// `ci --json`: the runs in the shared report schema (src/json.rs), each with its entry and its
/// differences; `suites` are the runs' then the missing entries'.
fn print_json(selected: &[&Entry], runs: &[JobResult], suites: &[Suite], diffs: usize) {
    use crate::json::{CommandName, Difference, Document, Expected, Summary};
    let differences = |s: &Suite| -> Vec<Difference> {
        let failed = s.cases.iter().filter_map(|c| c.failure.as_ref().map(|(m, _)| (c, m)));
        failed.map(|(c, m)| Difference { what: c.name.clone(), message: m.clone() }).collect()
    };
    let json_runs = selected
        .iter()
        .zip(runs)
        .zip(suites)
        .map(|((e, r), s)| {
            let mut j = r.json();
            j.expected = Some(Expected { entry: e.key(), unique_states: e.states, differences: differences(s) });
            j
        })
        .collect();
    let why = match diffs {
        0 => "every verdict and state count matches the expectations".to_string(),
        1 => "1 difference from the expectations".to_string(),
        n => format!("{n} differences from the expectations"),
    };
    let summary = Summary::with_reason(runs.iter().map(|r| &r.explored), if diffs == 0 { 0 } else { 1 }, Some(why));
    let mut d = Document::new(CommandName::Ci, json_runs, summary);
    d.missing_entries = Some(suites[runs.len()..].iter().map(|s| s.name.clone()).collect());
    println!("{}", d.to_string_pretty());
}

/// Runs a list of (scenario, variant).
type RunFn<'a> = dyn Fn(&[(String, String)]) -> Result<Vec<JobResult>> + 'a;

/// `--update`: re-runs the selected entries and every scenario x variant missing from the
/// file, then writes it. Entries the filter left out are kept as they are.
fn update(
    path: &Path,
    shown: &str,
    known: &Known,
    mut entries: Vec<Entry>,
    selected: &[&Entry],
    run: &RunFn,
) -> Result<u8> {
    let before = entries.clone();
    let mut incomplete = 0;
    let mut list: Vec<(String, String)> = selected.iter().map(|e| (e.scenario.clone(), e.variant.clone())).collect();
    list.extend(missing(&entries, known).into_iter().filter(|(_, v)| v == "upstream"));
    // Twice: new scenarios first run under upstream, which says whether they are small enough
    // to be run under every preset as well.
    for _ in 0..2 {
        for r in run(&list)? {
            if let Some(why) = &r.explored.incomplete {
                println!("not updated: {}@{}: search incomplete ({why})", r.scenario, r.variant);
                incomplete += 1;
                continue;
            }
            let i = entries.iter().position(|e| e.scenario == r.scenario && e.variant == r.variant);
            let new = Entry::from_run(&r, i.map(|i| &entries[i]));
            match i {
                Some(i) => entries[i] = new,
                None => entries.push(new),
            }
        }
        list = missing(&entries, known);
    }
    std::fs::write(path, expectations::render(&entries, known))
        .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))?;
    let changed = entries.iter().filter(|e| before.iter().any(|b| b.key() == e.key() && b != *e)).count();
    let added = entries.iter().filter(|e| !before.iter().any(|b| b.key() == e.key())).count();
    println!("updated {shown}: {} entries, {changed} changed, {added} added", entries.len());
    Ok(if incomplete > 0 { 3 } else { 0 })
}

/// The scenario x variant pairs the file must hold but does not: every shipped scenario under
/// upstream, and every fast scenario under every shipped preset.
fn missing(entries: &[Entry], known: &Known) -> Vec<(String, String)> {
    let has = |s: &str, v: &str| entries.iter().any(|e| e.scenario == s && e.variant == v);
    let mut out = Vec::new();
    for s in &known.scenarios {
        if !has(s, "upstream") {
            out.push((s.clone(), "upstream".into()));
        } else if entries.iter().any(|e| &e.scenario == s && e.variant == "upstream" && e.fast()) {
            out.extend(known.variants.iter().filter(|v| !has(s, v)).map(|v| (s.clone(), v.clone())));
        }
    }
    out
}

/// `ci`'s exit code: 1 with a difference, else 3 with an unchecked verdict, else 0.
fn exit_code(diffs: usize, unchecked: usize) -> u8 {
    match (diffs, unchecked) {
        (0, 0) => 0,
        (0, _) => 3,
        _ => 1,
    }
}

/// The properties of a distributed run its engine did not check (leads-to), as "NAME:
/// expected VERDICT, unchecked (why)".
fn not_checked(e: &Entry, r: &JobResult) -> Vec<String> {
    let unchecked = r.explored.properties.iter().filter(|p| p.verdict == Verdict::Unchecked);
    unchecked
        .map(|p| format!("{}: expected {}, unchecked ({})", p.name, e.expected(p.name, &p.expectation).name(), p.note))
        .collect()
}

/// The test cases of one entry: its state count and every property, failed where the run
/// differs from the file; and a failed case for each listed property the run does not have.
/// With `skip_unchecked` (a distributed run) a property the engine did not check is left out
/// (`not_checked` lists it).
fn differences(e: &Entry, r: &JobResult, skip_unchecked: bool) -> Suite {
    let o = &r.explored;
    let mut cases = Vec::new();
    let states = match &o.incomplete {
        Some(why) => Some(format!("search incomplete ({why}): a limit stopped it")),
        None if o.unique_states != e.states => {
            Some(format!("distinct states: expected {}, got {}", e.states, o.unique_states))
        }
        None => None,
    };
    cases.push(Case { name: "distinct_states".into(), failure: states.map(|m| (m, String::new())) });
    for p in o.properties.iter().filter(|p| !(skip_unchecked && p.verdict == Verdict::Unchecked)) {
        let (want, got) = (e.expected(p.name, &p.expectation), p.verdict);
        let trace = p.trace.as_ref().map(|t| format!("; trace {}", t.display())).unwrap_or_default();
        let failure = (want != got).then(|| {
            let why = match (want, got) {
                (_, Verdict::Violated) => "new violation",
                (Verdict::Violated, _) => "violation vanished",
                _ => "verdict changed",
            };
            format!("{}: expected {}, got {} ({why}{trace})", p.name, want.name(), got.name())
        });
        let body = p.trace.as_ref().map(|t| format!("replay: klpcheck replay {}", t.display())).unwrap_or_default();
        cases.push(Case { name: p.name.to_string(), failure: failure.map(|m| (m, body)) });
    }
    for (name, want) in e.verdicts.iter().filter(|(n, _)| !o.properties.iter().any(|p| p.name == n.as_str())) {
        let message = format!("{name}: expected {}, but the run has no such property", want.name());
        cases.push(Case { name: name.clone(), failure: Some((message, String::new())) });
    }
    Suite { name: e.key(), seconds: o.elapsed.as_secs_f64(), cases }
}

/// `--filter`: "all", or tags, scenario and variant names; an entry runs if it has any.
struct Filter {
    words: Vec<String>,
}

impl Filter {
    fn new(arg: &str, entries: &[Entry], known: &Known) -> Result<Filter> {
        let words: Vec<String> = arg.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect();
        let mut valid: Vec<String> = vec!["all".into(), "fast".into(), "slow".into()];
        valid.extend(entries.iter().flat_map(|e| e.tags.iter().cloned()));
        valid.extend(known.scenarios.iter().chain(&known.variants).cloned());
        for w in &words {
            if !valid.contains(w) {
                let hint = klp_model::hint::did_you_mean(w, valid.iter())
                    .unwrap_or_else(|| "all, fast, slow, a tag of the file, a scenario or a variant".into());
                anyhow::bail!("--filter {w}: no entry has this tag, scenario or variant\n  hint: {hint}");
            }
        }
        if words.is_empty() {
            anyhow::bail!("--filter: empty (use `all`)");
        }
        Ok(Filter { words })
    }

    fn matches(&self, e: &Entry) -> bool {
        self.words.iter().any(|w| w == "all" || *w == e.scenario || *w == e.variant || e.tags.contains(w))
    }
}

/// `path` relative to the working directory when it is under it.
fn shown(path: &Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|d| path.strip_prefix(&d).ok().map(PathBuf::from));
    rel.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Exploration, PropertyResult};
    use stateright::Expectation;

    fn result(name: &'static str, expectation: Expectation, verdict: Verdict) -> PropertyResult {
        PropertyResult { name, expectation, verdict, path: None, cycle_start: None, note: String::new(), trace: None }
    }

    /// Every way a run can differ from its entry, and none where it does not.
    #[test]
    fn differences_against_listed_and_default_verdicts() {
        let run = JobResult {
            scenario: "fork".into(),
            scenario_path: "fork.toml".into(),
            variant: "upstream".into(),
            knobs: klp_model::Variant::upstream(),
            limits: Default::default(),
            explored: Exploration {
                unique_states: 10,
                generated: 20,
                max_depth: 3,
                elapsed: std::time::Duration::ZERO,
                incomplete: None,
                properties: vec![
                    result("a_holds", Expectation::Always, Verdict::Holds),
                    result("a_violated", Expectation::Always, Verdict::Violated),
                    result("s_reachable", Expectation::Sometimes, Verdict::Reachable),
                    result("s_unreachable", Expectation::Sometimes, Verdict::Unreachable),
                    result("e_holds", Expectation::Eventually, Verdict::Holds),
                    result("e_violated", Expectation::Eventually, Verdict::Violated),
                ],
                peak_rss_bytes: None,
                bytes_per_state: None,
                collision_probability: None,
                graph_bytes_per_state: None,
                liveness_elapsed: None,
                memory: None,
                coverage: None,
                bitstate: None,
                level_sizes: Vec::new(),
                symmetry: None,
                reduced: false,
                symmetry_groups: Vec::new(),
            },
        };
        let entry = |states: u64, listed: &[(&str, Verdict)]| Entry {
            scenario: "fork".into(),
            variant: "upstream".into(),
            states,
            tags: vec!["fast".into()],
            verdicts: listed.iter().map(|(p, v)| (p.to_string(), *v)).collect(),
        };
        let failures = |e: &Entry| -> Vec<String> {
            differences(e, &run, false).cases.into_iter().filter_map(|c| c.failure.map(|(m, _)| m)).collect()
        };
        let exact = [("a_violated", Verdict::Violated), ("s_unreachable", Verdict::Unreachable)];
        let exact = entry(10, &[exact[0], exact[1], ("e_violated", Verdict::Violated)]);
        assert_eq!(failures(&exact), Vec::<String>::new());
        assert_eq!(differences(&exact, &run, false).cases.len(), 7, "the state count and every property");
        // Nothing listed: every non-default verdict of the run is a difference.
        assert_eq!(
            failures(&entry(11, &[])),
            [
                "distinct states: expected 11, got 10",
                "a_violated: expected holds, got violated (new violation)",
                "s_unreachable: expected reachable, got unreachable (verdict changed)",
                "e_violated: expected holds, got violated (new violation)",
            ]
        );
        // Listed verdicts the run does not give, and a listed property the run does not have.
        let wrong = [("a_holds", Verdict::Violated), ("s_reachable", Verdict::Incomplete), ("gone", Verdict::Violated)];
        let mut wrong = entry(10, &wrong);
        wrong.verdicts.extend(exact.verdicts.clone());
        assert_eq!(
            failures(&wrong),
            [
                "a_holds: expected violated, got holds (violation vanished)",
                "s_reachable: expected incomplete, got reachable (verdict changed)",
                "gone: expected violated, but the run has no such property",
            ]
        );
        // A distributed run's unchecked verdicts are listed apart, never as matching.
        let mut dist = run;
        let mut leads_to = result("l_unchecked", Expectation::Eventually, Verdict::Unchecked);
        leads_to.note = "not checked".into();
        dist.explored.properties.push(leads_to);
        let listed = entry(10, &[("a_violated", Verdict::Violated), ("l_unchecked", Verdict::Violated)]);
        let cases = |skip| differences(&listed, &dist, skip).cases;
        assert!(cases(false).iter().any(|c| c.name == "l_unchecked" && c.failure.is_some()));
        assert!(!cases(true).iter().any(|c| c.name == "l_unchecked"));
        assert_eq!(not_checked(&listed, &dist), ["l_unchecked: expected violated, unchecked (not checked)"]);
        assert_eq!((exit_code(0, 0), exit_code(0, 2), exit_code(1, 2)), (0, 3, 1));
    }
}
