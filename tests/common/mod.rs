//! Helpers shared by the integration tests that run the `klpcheck` binary.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

pub mod history;

/// Runs `klpcheck ARGS --out DIR` with a fresh temporary DIR: the exit code, stdout then stderr
/// as one text, stdout alone, and DIR (removed when the returned value is dropped).
pub fn run_out(args: &[&str]) -> (Option<i32>, String, Vec<u8>, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let o =
        assert_cmd::Command::cargo_bin("klpcheck").unwrap().args(args).arg("--out").arg(out.path()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.code(), text, o.stdout, out)
}

/// The JSON trace of `property` that a check run wrote into `dir`, whatever the variant part of
/// its name (klp_traces::naming: `<scenario>[@<variant>]--<property>.json`).
pub fn trace_of(dir: &Path, property: &str) -> PathBuf {
    let suffix = format!("--{property}.json");
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(&suffix)))
        .unwrap_or_else(|| panic!("no trace of {property} in {}", dir.display()))
}

/// The steps `klpcheck replay` reports valid, as "N  action" (its `step N valid: action` lines).
pub fn replay_steps(t: &str) -> Vec<String> {
    t.lines()
        .filter_map(|l| l.strip_prefix("step ")?.split_once(" valid: ").map(|(n, a)| format!("{n}  {a}")))
        .collect()
}

/// The `klpcheck` binary built for these tests.
pub fn klpcheck() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("klpcheck").unwrap()
}

/// A finished command's stdout then stderr, as one text.
pub fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The repository's root (where the golden files live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
