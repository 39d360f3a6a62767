//! Determinism: the same scenario gives the same counts, verdicts and counterexample traces
//! (the JSON files, byte for byte) with 1, 2 and 8 threads, run after run.
//!
//! What varies between runs and is left out of the comparison: the elapsed seconds, states/s
//! and the RSS figures (bytes per state). The traces hold no timings; their `scenario_path` is
//! the path the scenario was loaded from (absolute for shipped scenarios, so it differs between
//! checkouts, not between runs).

use std::process::Command;

const SCENARIOS: &[&str] = &[
    "no-stack-check",
    "stack-check",
    "fork",
    "selftest-callbacks-09-busy-target-module",
    "selftest-livepatch-03-atomic-replace-livepatch",
];

/// The report (minus run-dependent figures) and every trace file written, by name.
/// Each run writes to the same (emptied) directory: the report names the trace files.
fn run(dir: &tempfile::TempDir, scenario: &str, threads: usize) -> (serde_json::Value, Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_klpcheck"))
        .args(["check", scenario, "--json", "--threads", &threads.to_string(), "--out"])
        .arg(dir.path())
        .args(["--witness", "patch_applied", "--witness", "transition_in_progress"])
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let mut doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut j = doc["runs"][0].take();
    // Timings, memory and the thread count vary from run to run; everything else must not.
    for k in ["seconds", "resources", "limits"] {
        j.as_object_mut().unwrap().remove(k);
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    (j, files)
}

#[test]
fn same_counts_verdicts_and_trace_bytes_for_1_2_8_threads_run_after_run() {
    let dir = tempfile::tempdir().unwrap();
    for s in SCENARIOS {
        let first = run(&dir, s, 1);
        assert!(first.0["unique_states"].as_u64().unwrap() > 0);
        assert!(!first.1.is_empty(), "{s}: no trace written");
        for threads in [2, 8, 1, 2, 8] {
            let again = run(&dir, s, threads);
            assert_eq!(first.0, again.0, "{s}: report differs with {threads} threads");
            assert_eq!(first.1.len(), again.1.len(), "{s}: trace files differ with {threads} threads");
            for (a, b) in first.1.iter().zip(&again.1) {
                assert_eq!(a.0, b.0);
                assert!(a.1 == b.1, "{s}: {} differs with {threads} threads", a.0);
            }
        }
    }
}
