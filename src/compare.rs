//! `klpcheck compare`: every scenario under every variant, as one matrix of verdicts.
//!
//! Text and Markdown show what a kernel developer asks first: a summary (rows scenarios, columns
//! variants, each cell naming the violated properties and the distinct-state count), then one
//! table per scenario with a row for every property whose verdict is not the same under every
//! variant or is VIOLATED / incomplete, each violation pointing at its counterexample trace
//! (`OUT/<scenario>@<variant>--<property>.json`, replayable with `klpcheck replay`). JSON and
//! CSV hold every verdict of every run.

use crate::cli::{CompareArgs, Format};
use crate::engine::{word, PropertyResult};
use crate::report::{Job, JobResult};
use anyhow::Result;
use klp_checker::Verdict;

pub fn run(a: &CompareArgs) -> Result<u8> {
    crate::select::set(&a.properties)?;
    let limits = crate::report::limits(&a.limits)?;
    let variants = variant_list(&a.variants)?;
    let mut scenarios: Vec<&String> = Vec::new();
    for s in &a.scenarios {
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    }
    let jobs: Vec<Job> = scenarios
        .iter()
        .flat_map(|s| variants.iter().map(|v| Job { scenario: s.to_string(), variant: v.clone() }))
        .collect();
    // `--property` may name a scenario's own property: the names are checked against them.
    let targets: Vec<crate::target::Target> =
        scenarios.iter().map(|s| crate::target::Target::resolve(s, None, &[])).collect::<Result<_>>()?;
    let specs: Vec<_> = targets.iter().map(|t| &t.spec).collect();
    crate::select::check_names(&a.properties.property, &[], &specs)?;
    let runs = crate::report::run_many(&jobs, &limits, a.limits.jobs, &a.out)?;
    let m = Matrix { variants: runs.iter().take(variants.len()).map(|r| r.variant.clone()).collect(), runs };
    match a.format {
        Format::Table => print!("{}", m.text(false)),
        Format::Markdown => print!("{}", m.text(true)),
        Format::Json => println!("{}", m.json().to_string_pretty()),
        Format::Csv => print!("{}", m.csv()),
    }
    Ok(m.exit_code())
}

/// `--variants`: names as `--variant` takes them, "upstream", or "all" (upstream and every
/// shipped preset), without duplicates, in the order given.
pub fn variant_list(args: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for v in args.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let names = if v == "all" {
            std::iter::once("upstream".to_string())
                .chain(crate::variants::shipped().iter().map(|(n, _)| n.to_string()))
                .collect()
        } else {
            vec![v.to_string()]
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!("--variants: no variant given");
    }
    Ok(out)
}

/// Runs in scenario-major order: `runs[s * variants.len() + v]`.
struct Matrix {
    variants: Vec<String>,
    runs: Vec<JobResult>,
}

impl Matrix {
    fn by_scenario(&self) -> impl Iterator<Item = &[JobResult]> {
        self.runs.chunks(self.variants.len())
    }

    /// The summary and the per-scenario tables, aligned text or Markdown.
    fn text(&self, md: bool) -> String {
        let mut out = String::new();
        let head = |first: &str| std::iter::once(first.to_string()).chain(self.variants.iter().cloned()).collect();
        let mut rows: Vec<Vec<String>> = vec![head("scenario")];
        for runs in self.by_scenario() {
            rows.push(std::iter::once(runs[0].scenario.clone()).chain(runs.iter().map(summary_cell)).collect());
        }
        out +=
            if md { "## Violated properties (distinct states)\n\n" } else { "violated properties (distinct states)\n" };
        out += &table(&rows, md, "");
        for runs in self.by_scenario() {
            out += &if md { format!("\n## {}\n\n", runs[0].scenario) } else { format!("\n{}\n", runs[0].scenario) };
            let mut rows: Vec<Vec<String>> = vec![head("property")];
            rows.push(std::iter::once("knobs".into()).chain(runs.iter().map(|r| r.knobs.describe())).collect());
            rows.push(
                std::iter::once("distinct states".into())
                    .chain(runs.iter().map(|r| r.explored.unique_states.to_string()))
                    .collect(),
            );
            let mut notes = Vec::new();
            let mut same = 0;
            for (i, p) in runs[0].explored.properties.iter().enumerate() {
                let cells: Vec<&PropertyResult> = runs.iter().map(|r| &r.explored.properties[i]).collect();
                let shown = cells.iter().any(|c| {
                    c.verdict != cells[0].verdict || matches!(c.verdict, Verdict::Violated | Verdict::Incomplete)
                });
                if !shown {
                    same += 1;
                    continue;
                }
                let mut row = vec![p.name.to_string()];
                for c in cells {
                    let w = word(c.verdict);
                    let mut cell = if md && c.verdict == Verdict::Violated { format!("**{w}**") } else { w.into() };
                    if let Some(t) = &c.trace {
                        notes.push(format!(
                            "[{}] {} ({})",
                            notes.len() + 1,
                            if md { format!("`{}`", t.display()) } else { t.display().to_string() },
                            klp_traces::steps(c.steps().unwrap_or(0))
                        ));
                        cell += &format!(" [{}]", notes.len());
                    }
                    row.push(cell);
                }
                rows.push(row);
            }
            out += &table(&rows, md, "  ");
            let what = if self.variants.len() > 1 { "the same verdict under every variant" } else { "no violation" };
            if same > 0 {
                out += &if md {
                    format!("\n{same} more properties: {what}.\n")
                } else {
                    format!("  {same} more properties: {what}.\n")
                };
            }
            if !notes.is_empty() {
                out += if md { "\n" } else { "" };
                for n in notes {
                    out += &if md { format!("- {n}\n") } else { format!("  {n}\n") };
                }
            }
        }
        out
    }

    /// check's code over all runs: a violation anywhere wins, then a run not fully checked.
    fn exit_code(&self) -> u8 {
        let codes: Vec<u8> = self.runs.iter().map(|r| r.explored.exit_code()).collect();
        [1, 3].into_iter().find(|c| codes.contains(c)).unwrap_or(0)
    }

    /// The JSON report (src/json.rs), with the variants in column order.
    fn json(&self) -> crate::json::Document {
        let summary = crate::json::Summary::of(self.runs.iter().map(|r| &r.explored), self.exit_code());
        let runs = self.runs.iter().map(JobResult::json).collect();
        let mut d = crate::json::Document::new(crate::json::CommandName::Compare, runs, summary);
        d.variants = Some(self.variants.clone());
        d
    }

    fn csv(&self) -> String {
        let mut out = String::from("scenario,variant,knobs,unique_states,complete,property,kind,verdict,steps,trace\n");
        for r in &self.runs {
            for p in &r.explored.properties {
                let fields = [
                    r.scenario.clone(),
                    r.variant.clone(),
                    r.knobs.describe(),
                    r.explored.unique_states.to_string(),
                    r.explored.incomplete.is_none().to_string(),
                    p.name.to_string(),
                    p.kind().to_string(),
                    p.verdict.name().to_string(),
                    p.steps().map(|s| s.to_string()).unwrap_or_default(),
                    p.trace.as_ref().map(|t| t.display().to_string()).unwrap_or_default(),
                ];
                out += &fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
                out.push('\n');
            }
        }
        out
    }
}

/// A summary cell: the violated properties (or "none", or why the search stopped) and the
/// distinct-state count.
fn summary_cell(r: &JobResult) -> String {
    let v: Vec<&str> = r.explored.violated().map(|p| p.name).collect();
    let what = match (&r.explored.incomplete, v.is_empty()) {
        (_, false) => v.join(", "),
        (None, true) => "none".into(),
        (Some(why), true) => format!("incomplete: {why}"),
    };
    format!("{what} ({})", r.explored.unique_states)
}

/// Rows as an aligned text table (each line prefixed by `indent`) or a Markdown table.
fn table(rows: &[Vec<String>], md: bool, indent: &str) -> String {
    if md {
        let line = |r: &[String]| format!("| {} |\n", r.join(" | "));
        let rule = format!("|{}\n", "---|".repeat(rows[0].len()));
        return rows.iter().enumerate().map(|(i, r)| line(r) + if i == 0 { &rule } else { "" }).collect();
    }
    let mut width = vec![0; rows[0].len()];
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        out += &format!("{indent}{}\n", cells.join("  ").trim_end());
    }
    out
}

/// RFC 4180 quoting.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
