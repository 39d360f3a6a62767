//! `check --estimate` (issue 18 point 6) and the progress display (issue 17 point 8): the
//! projection of a fixed budget is pinned (BFS levels are the same for any thread count), the
//! exit code is never 0, and piped output carries no progress unless `--progress` asks for it.

use crate::common::klpcheck;

/// fork: 6,200 states in 18 levels (depth 17). A budget of 3,000 states stops with levels
/// 0..10 known; the projection is pinned: 6,378 states (+2.9%), depth 20.
#[test]
fn estimate_of_a_fixed_budget_is_pinned() {
    for threads in ["1", "2"] {
        let (code, t, _, _out) =
            crate::common::run_out(&["check", "fork", "--estimate", "--budget", "3000", "--threads", threads]);
        assert_eq!(code, Some(3), "{t}");
        assert!(t.contains("levels: 1 3 11 31 78 168 303 469 680 853 923\n"), "{t}");
        assert!(t.contains("\nprojected ~6378 states, depth ~20, "), "{t}");
        assert!(t.contains("no property was checked to the end (exit 3)"), "{t}");
    }
}

/// A budget that covers the whole state space says the count is exact, and still exits 3.
#[test]
fn estimate_within_budget_is_exact_and_still_not_holds() {
    let (code, t, _, _out) = crate::common::run_out(&["check", "fork", "--estimate", "--budget", "1M"]);
    assert_eq!(code, Some(3), "{t}");
    assert!(t.contains("the whole state space fit in the budget: 6200 states, depth 17 (exact)"), "{t}");
}

/// A violation found within the budget (here the whole of no-stack-check's 67 states): exit 1
/// and its trace.
#[test]
fn estimate_reports_a_violation_found_within_the_budget() {
    let (code, t, _, out) = crate::common::run_out(&["check", "no-stack-check", "--estimate", "--budget", "1000"]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("violated within the budget: no_mixed_universe"), "{t}");
    assert!(out.path().join("no-stack-check--no_mixed_universe.json").exists());
}

/// Piped stderr (as here: assert_cmd captures it) carries no progress by default; `--progress`
/// forces one plain line per sample with states, depth, rate, memory and the projection.
/// `--progress-every 0` samples after every batch, so the run need not outlast a second.
#[test]
fn piped_output_has_no_progress_unless_forced() {
    let out = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        klpcheck()
            .args(["check", "default", "--max-states", "200000", "--no-liveness", "--threads", "2"])
            .args(["--progress-every", "0"])
            .args(extra)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap()
    };
    let quiet = run(&[]);
    assert_eq!(quiet.status.code(), Some(3));
    let err = String::from_utf8_lossy(&quiet.stderr);
    assert!(!err.contains("states/s") && !err.contains("progress") && !err.contains('\r'), "{err}");
    let forced = run(&["--progress"]);
    let err = String::from_utf8_lossy(&forced.stderr);
    let line = err.lines().find(|l| l.starts_with("progress: ")).unwrap_or_else(|| panic!("no progress line: {err}"));
    assert!(line.contains(" states/s, ") && line.contains(" MiB") && line.contains("depth "), "{line}");
    assert!(line.contains("projected ~") || line.contains("no projection yet"), "{line}");
}

/// A sample interval that is not a number of seconds is refused, naming the option.
#[test]
fn a_bad_progress_interval_is_refused() {
    let o = klpcheck().args(["check", "default", "--progress-every", "soon"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--progress-every") && err.contains("'soon' is not a number of seconds"), "{err}");
}

/// On a terminal (util-linux's `script` gives klpcheck one) the bar is drawn by default;
/// `--progress-every 0` samples after every batch, so the run need not outlast a second.
#[test]
fn a_terminal_gets_the_progress_display_by_default() {
    let bin = assert_cmd::cargo::cargo_bin("klpcheck");
    let out = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} check default --max-states 200000 --no-liveness --threads 2 --progress-every 0 --out {}",
        bin.display(),
        out.path().display()
    );
    let Ok(o) = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output() else {
        eprintln!("SKIPPED: no `script` (util-linux) to give klpcheck a terminal");
        return;
    };
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains(" states/s, ") && t.contains(" MiB, "), "{t}");
}
