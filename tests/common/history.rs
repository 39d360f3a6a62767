//! The history tables (tests/history/*.toml) and their runner, shared by tests/history_admin.rs
//! and tests/history_task.rs: a `[[violation]]` row is a historical knob value that rediscovers
//! its bug (the property is VIOLATED after a pinned number of distinct states, with exactly the
//! pinned shortest counterexample, and `klpcheck replay` confirms the written trace); a
//! `[[holds]]` row is a variant where every `always` property holds (state count pinned).
//! `KLPCHECK_BLESS=1` (scripts/bless.sh) rewrites the pinned states and steps in place, keeping the
//! comments.

use super::{replay_steps, trace_of};
use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    pub scenario: String,
    pub variant: String,
    #[serde(default)]
    pub sets: Vec<String>,
    pub property: String,
    pub states: u64,
    pub steps: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holds {
    pub scenario: String,
    pub variant: String,
    #[serde(default)]
    pub sets: Vec<String>,
    pub states: u64,
    /// Liveness properties this row expects VIOLATED (the row's comment says why; e.g. the
    /// design refuses a command the script then waits on), every other property as for a
    /// plain row; exit 1 if any.
    #[serde(default)]
    pub violated: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    #[serde(default)]
    pub violation: Vec<Violation>,
    #[serde(default)]
    pub holds: Vec<Holds>,
}

/// tests/history/NAME.toml.
pub fn file(name: &str) -> String {
    format!("{}/tests/history/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

pub fn load(file: &str) -> Table {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// What `klpcheck check` printed: exit code, whole output, distinct states, whether the search
/// was complete, and the verdict of every property.
pub struct Checked {
    pub code: Option<i32>,
    pub text: String,
    pub states: Option<u64>,
    pub complete: bool,
    pub verdicts: BTreeMap<String, String>,
}

/// Runs `klpcheck check SCENARIO --variant VARIANT [--set S]... --threads 1 --out OUT`.
pub fn check(scenario: &str, variant: &str, sets: &[String], out: &Path) -> Checked {
    let mut cmd = Command::cargo_bin("klpcheck").unwrap();
    cmd.args(["check", scenario, "--variant", variant, "--threads", "1", "--out"]).arg(out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    let t = text(&o);
    let stats = t.lines().find(|l| l.contains(" distinct states, ")).unwrap_or("");
    // "search complete: 16 distinct states, 24 generated, ..."
    let states = stats.split(": ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok());
    let verdicts = t
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    Checked { code: o.status.code(), complete: stats.starts_with("search complete:"), states, text: t, verdicts }
}

fn label(scenario: &str, variant: &str, sets: &[String]) -> String {
    let sets: String = sets.iter().map(|s| format!(" --set {s}")).collect();
    format!("{scenario} --variant {variant}{sets}")
}

/// Pinned values a run disagreed with: (table, row index, key, the value found).
type Blessed = Vec<(&'static str, usize, &'static str, toml_edit::Value)>;

/// Every `[[violation]]` row of `file`: VIOLATED with the pinned state count and steps, and
/// replay confirms the trace.
pub fn violations_rediscovered(file: &str) {
    let out = tempfile::tempdir().unwrap();
    let (mut failures, mut bless) = (Vec::new(), Blessed::new());
    for (i, v) in load(file).violation.iter().enumerate() {
        let dir = out.path().join(i.to_string());
        let c = check(&v.scenario, &v.variant, &v.sets, &dir);
        let row = format!("{}: {}", label(&v.scenario, &v.variant, &v.sets), v.property);
        if c.code != Some(1) || !c.complete || c.verdicts.get(&v.property).map(String::as_str) != Some("VIOLATED") {
            failures.push(format!("{row}: exit {:?}, expected 1 with {} VIOLATED\n{}", c.code, v.property, c.text));
            continue;
        }
        if c.states != Some(v.states) {
            failures.push(format!("{row}: {:?} distinct states, expected {}", c.states, v.states));
            bless.push(("violation", i, "states", (c.states.unwrap_or(0) as i64).into()));
        }
        // The trace's name (klp_traces::naming) when the variant is a preset alone.
        let trace = if v.sets.is_empty() {
            dir.join(format!("{}@{}--{}.json", v.scenario, v.variant, v.property))
        } else {
            trace_of(&dir, &v.property)
        };
        let r = Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(&trace).output().unwrap();
        let rt = text(&r);
        let steps = replay_steps(&rt);
        let confirmed = format!("replay: all {} steps valid; violation of '{}' confirmed", steps.len(), v.property);
        if r.status.code() != Some(1) || !rt.contains(&confirmed) {
            failures.push(format!("{row}: replay did not confirm\n{rt}"));
        } else if steps != v.steps {
            failures.push(format!("{row}: counterexample differs:\n{steps:#?}"));
            bless.push(("violation", i, "steps", steps_value(&steps)));
        }
    }
    finish(file, failures, bless);
}

/// Every `[[holds]]` row of `file`: exit 0, complete, the pinned state count, every `always`
/// property (every property with a `sometimes` partner) "holds"; with `violated`, exactly those
/// liveness properties VIOLATED and exit 1.
pub fn all_hold(file: &str) {
    let out = tempfile::tempdir().unwrap();
    let (mut failures, mut bless) = (Vec::new(), Blessed::new());
    for (i, h) in load(file).holds.iter().enumerate() {
        let c = check(&h.scenario, &h.variant, &h.sets, out.path());
        let row = label(&h.scenario, &h.variant, &h.sets);
        let not_holding: Vec<_> = klp_properties::docs()
            .into_iter()
            .filter(|d| d.partner.is_some() && c.verdicts.get(d.name).map(String::as_str) != Some("holds"))
            .map(|d| d.name)
            .collect();
        let violated: Vec<String> = klp_properties::liveness::docs()
            .into_iter()
            .filter(|d| c.verdicts.get(d.name).map(String::as_str) == Some("VIOLATED"))
            .map(|d| d.name.to_string())
            .collect();
        let code = if h.violated.is_empty() { 0 } else { 1 };
        if c.code != Some(code) || !c.complete || violated != h.violated || !not_holding.is_empty() {
            failures.push(format!("{row}: exit {:?}, not holding: {not_holding:?}\n{}", c.code, c.text));
            continue;
        }
        if c.states != Some(h.states) {
            failures.push(format!("{row}: {:?} distinct states, expected {}", c.states, h.states));
            bless.push(("holds", i, "states", (c.states.unwrap_or(0) as i64).into()));
        }
    }
    finish(file, failures, bless);
}

/// The steps as a TOML array, one step a line.
fn steps_value(steps: &[String]) -> toml_edit::Value {
    let mut a = toml_edit::Array::new();
    for s in steps {
        a.push_formatted(toml_edit::Value::from(s.as_str()).decorated("\n  ", ""));
    }
    a.set_trailing_comma(true);
    a.set_trailing("\n");
    toml_edit::Value::Array(a)
}

/// Fails with every failure; under `KLPCHECK_BLESS=1` first rewrites the pinned values that
/// differ (only those: a wrong verdict or exit code is never blessed).
fn finish(file: &str, failures: Vec<String>, bless: Blessed) {
    if std::env::var_os("KLPCHECK_BLESS").is_some() && !bless.is_empty() {
        // The `[[violation]]` and `[[holds]]` rows of one file are blessed by two tests, each in
        // its own process under nextest: an exclusive lock for the read-modify-write keeps one
        // from writing back the file without the other's rows (released when `lock` is closed).
        let lock = std::fs::File::open(file).unwrap();
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) }, 0, "flock {file}");
        let text = std::fs::read_to_string(file).unwrap();
        let mut doc: toml_edit::DocumentMut = text.parse().unwrap_or_else(|e| panic!("{file}: {e}"));
        for (table, i, key, value) in &bless {
            let row = doc[*table].as_array_of_tables_mut().and_then(|a| a.get_mut(*i)).expect("row");
            let old = row.get(key).and_then(toml_edit::Item::as_value).map(|v| v.decor().clone());
            let mut value = value.clone();
            if let Some(d) = old {
                *value.decor_mut() = d;
            }
            row[*key] = toml_edit::Item::Value(value);
        }
        std::fs::write(file, doc.to_string()).unwrap();
        eprintln!("{file}: {} pinned values rewritten", bless.len());
        if failures.len() == bless.len() {
            return;
        }
    }
    assert!(failures.is_empty(), "\n{}\n(scripts/bless.sh rewrites pinned values in {file})", failures.join("\n\n"));
}
