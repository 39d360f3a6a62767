//! Helpers shared by the integration tests that run the `klpcheck` binary.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

pub mod history;

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
