//! `klpcheck ci` against the committed expectations (and edited copies of them), and
//! `klpcheck compare`'s output pinned for two small scenarios x {upstream, no-stack-check}.
//!
//! The compare goldens live in tests/golden/compare/; after an intended change (a new property,
//! a new verdict) re-bless them with every other pin by `scripts/bless.sh` (here:
//! `KLPCHECK_BLESS=1` rewrites them) and review the diff.

use crate::common::{klpcheck, text};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the committed expectations in a temporary directory.
fn copy() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(root().join("expectations/klpcheck.toml")).unwrap();
    let file = dir.path().join("exp.toml");
    std::fs::write(&file, &src).unwrap();
    (dir, file, src)
}

/// `src` with the first `from` after the line `[section]` replaced by `to`, and the 1-based
/// line of the replacement.
fn edit(src: &str, section: &str, from: &str, to: &str) -> (String, usize) {
    let start = src.find(&format!("\n[{section}]\n")).unwrap_or_else(|| panic!("no [{section}]"));
    let at = start + src[start..].find(from).unwrap_or_else(|| panic!("no {from} in [{section}]"));
    let line = src[..at].matches('\n').count() + 1;
    (format!("{}{to}{}", &src[..at], &src[at + from.len()..]), line)
}

fn ci(dir: &Path, file: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let o = klpcheck()
        .current_dir(dir)
        .arg("ci")
        .arg(file)
        .args(["--filter", "stack-check", "--out", "out"])
        .args(extra)
        .output()
        .unwrap();
    (o.status.code(), text(&o))
}

#[test]
fn ci_passes_on_the_committed_expectations() {
    let dir = tempfile::tempdir().unwrap();
    let o = klpcheck().current_dir(dir.path()).args(["ci", "--filter", "fast", "--out", "out"]).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(" entries (") && t.contains("verdicts and state counts) match"), "{t}");
    assert!(!t.contains("DIFF"), "{t}");
}

#[test]
fn a_changed_verdict_or_state_count_fails_with_a_diff_line_and_restoring_passes() {
    let (dir, file, src) = copy();
    let d = dir.path();
    // The expected verdict says the violation is gone: the run finds it again.
    let (bad, _) =
        edit(&src, "stack-check.no-stack-check", "no_mixed_universe = \"violated\"", "no_mixed_universe = \"holds\"");
    std::fs::write(&file, &bad).unwrap();
    let junit = d.join("junit.xml");
    let (code, t) = ci(d, &file, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{t}");
    let diffs: Vec<&str> = t.lines().filter(|l| l.starts_with("DIFF")).collect();
    assert_eq!(
        diffs,
        ["DIFF stack-check@no-stack-check: no_mixed_universe: expected holds, got violated \
          (new violation; trace out/stack-check@no-stack-check--no_mixed_universe.json)"],
        "{t}"
    );
    // (stack-check's entries: one per preset, so the count grows with model/variants/.)
    assert!(t.contains("1 difference in ") && t.contains(" entries"), "{t}");
    assert!(d.join("out/stack-check@no-stack-check--no_mixed_universe.json").exists());
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("failures=\"1\""), "{x}");
    assert!(
        x.contains(
            "<testcase classname=\"stack-check@no-stack-check\" name=\"no_mixed_universe\">\n      \
             <failure message=\"no_mixed_universe: expected holds, got violated (new violation; trace \
             out/stack-check@no-stack-check--no_mixed_universe.json)\">replay: klpcheck replay \
             out/stack-check@no-stack-check--no_mixed_universe.json</failure>"
        ),
        "{x}"
    );
    // A vanished violation: the entry lists one the run does not find.
    let (bad, _) =
        edit(&src, "stack-check.upstream", "states = 53\n", "states = 53\nno_mixed_universe = \"violated\"\n");
    std::fs::write(&file, &bad).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("DIFF stack-check@upstream: no_mixed_universe: expected violated, got holds (violation vanished)\n"),
        "{t}"
    );
    // A state count.
    let (bad, _) = edit(&src, "stack-check.no-stack-check", "states = 67", "states = 66");
    std::fs::write(&file, &bad).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("DIFF stack-check@no-stack-check: distinct states: expected 66, got 67\n"), "{t}");
    // A violation missing from the file: not listed means "holds", the run says violated.
    let (bad, _) = edit(&src, "stack-check.no-stack-check", "no_mixed_universe = \"violated\"\n", "");
    std::fs::write(&file, &bad).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(
            "DIFF stack-check@no-stack-check: no_mixed_universe: expected holds, got violated (new violation; \
             trace out/stack-check@no-stack-check--no_mixed_universe.json)\n"
        ),
        "{t}"
    );
    // An unreachable `sometimes` property missing from the file: not listed means "reachable".
    let (bad, _) = edit(&src, "stack-check.upstream", "livepatch_module_removable = \"unreachable\"\n", "");
    std::fs::write(&file, &bad).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(
            "DIFF stack-check@upstream: livepatch_module_removable: expected reachable, got unreachable (verdict changed)\n"
        ),
        "{t}"
    );
    // A default verdict written out is accepted, and --update drops it again.
    let (bad, _) = edit(&src, "stack-check.upstream", "states = 53\n", "states = 53\nno_mixed_universe = \"holds\"\n");
    std::fs::write(&file, &bad).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(0), "{t}");
    // --update accepts the run: the file is the committed one again, and passes.
    let (code, t) = ci(d, &file, &["--update"]);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), src);
    std::fs::write(&file, &src).unwrap();
    let (code, t) = ci(d, &file, &[]);
    assert_eq!(code, Some(0), "{t}");
}

#[test]
fn a_missing_entry_is_a_difference() {
    let (dir, file, src) = copy();
    let start = src.find("\n[stack-check.no-stack-check]\n").unwrap();
    let end = src[start + 1..].find("\n[").map_or(src.len(), |i| start + 1 + i);
    std::fs::write(&file, format!("{}{}", &src[..start], &src[end..])).unwrap();
    let (code, t) = ci(dir.path(), &file, &[]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("DIFF stack-check@no-stack-check: no entry in exp.toml; `klpcheck ci --update` adds it"), "{t}");
}

#[test]
fn malformed_expectations_are_exit_2_with_file_line_and_hint() {
    let (dir, file, src) = copy();
    // Messages name the file as given, relative to the working directory.
    let f = "exp.toml";
    let cases = [
        ("tasks_at_both_states = \"unreachable\"", "tasks_at_both_state = \"unreachable\"", 1, "stack-check.upstream.tasks_at_both_state: unknown property 'tasks_at_both_state'\n  hint: did you mean 'tasks_at_both_states'?"),
        ("tasks_at_both_states = \"unreachable\"", "tasks_at_both_states = \"unreachabel\"", 24, "stack-check.upstream.tasks_at_both_states: 'unreachabel' is not a verdict\n  hint: did you mean 'unreachable'?"),
        ("tasks_at_both_states = \"unreachable\"", "tasks_at_both_states = \"violated\"", 24, "stack-check.upstream.tasks_at_both_states: 'violated' is not a verdict of a `sometimes` property\n  hint: one of: reachable, unreachable, incomplete, unchecked"),
        ("states = 53", "states = \"53\"", 10, "stack-check.upstream.states: expected the distinct-state count (an integer)"),
        ("[stack-check.upstream]", "[stack-chek.upstream]", 2, "stack-chek: unknown scenario 'stack-chek'\n  hint: did you mean 'stack-check'?"),
        ("[stack-check.upstream]", "[stack-check.upstraem]", 14, "stack-check.upstraem: unknown variant 'upstraem'\n  hint: did you mean 'upstream'?"),
    ];
    for (from, to, column, message) in cases {
        let (bad, line) = if from.starts_with('[') {
            let at = src.find(&format!("\n{from}\n")).unwrap() + 1;
            (format!("{}{to}{}", &src[..at], &src[at + from.len()..]), src[..at].matches('\n').count() + 1)
        } else {
            edit(&src, "stack-check.upstream", from, to)
        };
        std::fs::write(&file, bad).unwrap();
        let (code, t) = ci(dir.path(), &file, &[]);
        assert_eq!(code, Some(2), "{t}");
        assert!(t.contains(&format!("{f}:{line}:{column}: {message}")), "{to}: {t}");
    }
    std::fs::write(&file, "[stack-check.upstream\nstates = 1\n").unwrap();
    let (code, t) = ci(dir.path(), &file, &[]);
    assert_eq!(code, Some(2), "{t}");
    assert!(t.contains(&format!("{f}:1:22: (syntax): ")), "{t}");
    let (code, t) = ci(dir.path(), &dir.path().join("none.toml"), &[]);
    assert_eq!(code, Some(2), "{t}");
    assert!(t.contains("none.toml:0:0: (file): cannot read"), "{t}");
}

/// Runs `compare` on two small scenarios x {upstream, no-stack-check} and checks the output
/// against tests/golden/compare/two-scenarios.EXT.
fn compare_golden(format: &str, ext: &str, normalise: fn(&str) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .current_dir(dir.path())
        .args(["compare", "stack-check", "selftest-callbacks-06-pre-patch-callback-enodev"])
        .args(["--variants", "upstream,no-stack-check", "--out", "out", "--format", format])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(dir.path().join("out/stack-check@no-stack-check--no_mixed_universe.json").exists());
    let got = normalise(&String::from_utf8_lossy(&o.stdout));
    let golden = root().join(format!("tests/golden/compare/two-scenarios.{ext}"));
    if std::env::var_os("KLPCHECK_BLESS").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert!(got == want, "{} differs (scripts/bless.sh rewrites it):\n{got}", golden.display());
}

#[test]
fn compare_markdown_is_pinned() {
    compare_golden("markdown", "md", str::to_string);
}

#[test]
fn compare_csv_is_pinned() {
    compare_golden("csv", "csv", str::to_string);
}

#[test]
fn compare_json_is_pinned() {
    // Wall-clock seconds and memory vary. A shipped scenario's path is the same on every machine
    // (model/scenarios/NAME.toml: its text is compiled into the binary), so it is pinned as is.
    compare_golden("json", "json", |s| {
        let mut j: serde_json::Value = serde_json::from_str(s).unwrap();
        for r in j["runs"].as_array_mut().unwrap() {
            assert!(r["seconds"].as_f64().unwrap() >= 0.0);
            r["seconds"] = 0.into();
            // So do the process's memory figures.
            assert!(r["resources"]["peak_rss_bytes"].as_u64().unwrap() > 0);
            r["resources"] = serde_json::Value::Null;
        }
        serde_json::to_string_pretty(&j).unwrap() + "\n"
    });
}

#[test]
fn compare_table_layout() {
    let dir = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .current_dir(dir.path())
        .args(["compare", "stack-check", "--variants", "upstream,no-stack-check", "--out", "out"])
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let head: Vec<&str> = t.lines().take(9).collect();
    assert_eq!(
        head,
        [
            "violated properties (distinct states)",
            "scenario     upstream   no-stack-check",
            "stack-check  none (53)  no_mixed_universe (67)",
            "",
            "stack-check",
            "  property           upstream  no-stack-check",
            "  knobs              upstream  stack_check=none",
            "  distinct states    53        67",
            "  no_mixed_universe  holds     VIOLATED [1]",
        ],
        "{t}"
    );
    assert!(t.contains("\n  [1] out/stack-check@no-stack-check--no_mixed_universe.json (4 steps)\n"), "{t}");
}

#[test]
fn compare_rejects_unknown_variants_and_scenarios() {
    let o = klpcheck().args(["compare", "stack-check", "--variants", "upstream,no-stack-chek"]).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("did you mean 'no-stack-check'?"), "{t}");
    let o = klpcheck().args(["compare", "no-such-scenario", "--variants", "upstream"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `compare` (and so `ci`) set a preset the way `check --variant` does (one `Target::resolve`):
/// `disable_via` derives its replace patch when the spec is built. (Before this was
/// pinned, compare applied the knobs directly and explored the scenario without the derived
/// patch: 714 states instead of 348.)
#[test]
fn compare_and_check_agree_on_a_variant_that_derives_a_patch() {
    let out = tempfile::tempdir().unwrap();
    let states = |args: &[&str]| -> String {
        let o = klpcheck().args(args).arg("--out").arg(out.path()).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let check = states(&["check", "seed-ban-disable-stuck-task", "--variant", "empty-replace-disable", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&check).unwrap();
    assert_eq!(j["runs"][0]["unique_states"], 364, "{check}");
    let csv =
        states(&["compare", "seed-ban-disable-stuck-task", "--variants", "empty-replace-disable", "--format", "csv"]);
    let row = csv.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("seed-ban-disable-stuck-task,empty-replace-disable,disable_via=empty_replace,364,"),
        "{csv}"
    );
}
