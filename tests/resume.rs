//! `check --spill`, `--checkpoint` and `--resume` (issue 18 points 4 and 5): a run stopped at a
//! level boundary and resumed, and a run that spills to disk, print the counts and verdicts of
//! an uninterrupted run and write byte-identical counterexamples (a safety one and a liveness
//! lasso); a checkpoint is never resumed by another run.

use std::path::Path;

use assert_cmd::Command;

/// 15,867 states over 29 levels; two `always` violations and a `transition_completes` lasso.
const SCENARIO: &str = "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered";
const VARIANT: &str = "sync-drop-in-complete-unpatching";

fn check(out: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::cargo_bin("klpcheck")
        .unwrap()
        // The pinned counts are the unreduced search's (its three copies would be reduced).
        .args(["check", SCENARIO, "--variant", VARIANT, "--threads", "2", "--no-symmetry", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The report without what differs between runs: times, bytes per state, the trace directory.
fn verdicts(stdout: &str, out: &Path) -> String {
    stdout
        .lines()
        // Memory and timing differ from run to run.
        .filter(|l| !l.contains("bytes per state") && !l.starts_with("memory: "))
        .map(|l| match l.find(" generated, depth ") {
            Some(_) => l.split(", ").take(3).collect::<Vec<_>>().join(", "),
            None => l.replace(&out.display().to_string(), "OUT"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every trace file (name and text) in `dir`; the renderings name their own file in the
/// replay command, so `dir` is replaced by OUT (every other byte must match).
fn traces(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap().replace(&dir.display().to_string(), "OUT");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn stopped_and_resumed_or_spilled_runs_match_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n);
    let (code, plain, _) = check(&t("plain"), &[]);
    assert_eq!(code, Some(1));
    let want = verdicts(&plain, &t("plain"));
    assert!(want.contains("15867 distinct states, 84166 generated, depth 29"), "{want}");
    assert!(want.contains("transition_completes"), "{want}");
    let want_traces = traces(&t("plain"));
    assert_eq!(want_traces.len(), 9, "three violations, three renderings each");

    // Stopped at depth 12 (a limit: exit 3), with a checkpoint at every level boundary.
    let ck = t("ck");
    let ck_arg = ck.to_str().unwrap();
    let (code, first, _) =
        check(&t("first"), &["--max-depth", "12", "--checkpoint", ck_arg, "--checkpoint-every", "0"]);
    assert_eq!(code, Some(3), "{first}");
    assert!(first.contains("INCOMPLETE (max-depth)"), "{first}");
    assert_eq!(std::fs::read_to_string(ck.join("CURRENT")).unwrap().trim(), "level-12");

    let (code, resumed, err) = check(&t("resumed"), &["--resume", ck_arg]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("resuming from") && err.contains("(level 12, "), "{err}");
    assert_eq!(verdicts(&resumed, &t("resumed")), want);
    assert_eq!(traces(&t("resumed")), want_traces, "trace bytes differ after resume");

    let spill = t("spill");
    std::fs::create_dir(&spill).unwrap();
    let (code, spilled, _) = check(&t("spilled"), &["--spill", spill.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(verdicts(&spilled, &t("spilled")), want);
    assert_eq!(traces(&t("spilled")), want_traces, "trace bytes differ with --spill");
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "the spill files are removed");

    // Checkpoint and resume with spill, resuming at another level.
    let ck2 = t("ck2");
    let ck2_arg = ck2.to_str().unwrap();
    let spill_arg = spill.to_str().unwrap();
    let (code, _, _) = check(
        &t("x"),
        &["--max-depth", "20", "--spill", spill_arg, "--checkpoint", ck2_arg, "--checkpoint-every", "0"],
    );
    assert_eq!(code, Some(1), "a violation is found by depth 20: exit 1 wins over the incomplete search's 3");
    assert_eq!(std::fs::read_to_string(ck2.join("CURRENT")).unwrap().trim(), "level-20");
    let (code, both, _) = check(&t("both"), &["--resume", ck2_arg, "--spill", spill_arg]);
    assert_eq!(code, Some(1));
    assert_eq!(verdicts(&both, &t("both")), want);
    assert_eq!(traces(&t("both")), want_traces);
}

#[test]
fn a_checkpoint_of_another_run_is_refused_with_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = tmp.path().join("ck");
    let ck_arg = ck.to_str().unwrap();
    let (code, _, _) = check(tmp.path(), &["--max-depth", "3", "--checkpoint", ck_arg, "--checkpoint-every", "0"]);
    assert_eq!(code, Some(3));
    let o = Command::cargo_bin("klpcheck")
        .unwrap()
        .args(["check", "no-stack-check", "--resume", ck_arg, "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "klpcheck: error: --resume {ck_arg}: the checkpoint was written by another run, it cannot be resumed by this \
             one\n  scenario: \"{SCENARIO}\" in the checkpoint, \"no-stack-check\" in this run"
        )),
        "{err}"
    );
    // Same scenario, other variant; then other properties.
    let (code, _, err) = {
        let o = Command::cargo_bin("klpcheck")
            .unwrap()
            .args(["check", SCENARIO, "--resume", ck_arg, "--out"])
            .arg(tmp.path())
            .output()
            .unwrap();
        (o.status.code(), (), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_eq!(code, Some(2));
    assert!(
        err.contains("  variant: \"synchronize_transition=drop_in_complete_unpatching\" in the checkpoint"),
        "{err}"
    );
    let (code, _, err) = check(tmp.path(), &["--resume", ck_arg, "--no-liveness"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("  properties: "), "{err}");
    let (code, _, err) = check(tmp.path(), &["--resume", tmp.path().join("none").to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("CURRENT") && err.contains("not a checkpoint directory?"), "{err}");
}
