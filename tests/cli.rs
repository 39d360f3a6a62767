//! End-to-end: the `klpcheck` binary's verdicts, exit codes, traces and replay.

use crate::common::klpcheck;
use predicates_lite::text;

mod predicates_lite {
    /// Output of a finished command as text.
    pub fn text(o: &std::process::Output) -> String {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    }
}

#[test]
fn stack_check_disabled_finds_mixed_universe_and_replay_confirms() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck().args(["check", "no-stack-check", "--threads", "1", "--out"]).arg(out.path()).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("67 distinct states"), "{t}");
    assert!(t.contains("no_mixed_universe                          VIOLATED"), "{t}");
    let trace = out.path().join("no-stack-check--no_mixed_universe.json");
    let r = klpcheck().arg("replay").arg(&trace).output().unwrap();
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("replay: all 4 steps valid; violation of 'no_mixed_universe' confirmed"), "{rt}");
    // The exact (shortest) counterexample: the task enters the old vfs_read during the
    // transition, sleeps there and is switched at schedule() without a stack check; the transition
    // completes with an old frame on its stack under the new patch level.
    let steps: Vec<&str> = rt.lines().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(
        steps,
        [
            "step 1 valid: % insmod test_modules/lp1.ko",
            "step 2 valid: cat: syscall -> vfs_read()",
            "step 3 valid: cat: schedule()",
            "step 4 valid: klp_try_switch_task(cat) -> klp_complete_transition()",
        ]
    );
    // The three renderings, each ending with the replay command.
    let replay = format!("klpcheck replay {}", trace.display());
    for ext in ["timeline.txt", "dmesg.txt"] {
        let r = std::fs::read_to_string(out.path().join(format!("no-stack-check--no_mixed_universe.{ext}"))).unwrap();
        assert!(r.trim_end().ends_with(&replay), "{r}");
    }
    // The timeline is printed on stderr.
    assert!(t.contains("!!   4  klp_try_switch_task(cat)"), "{t}");
}

#[test]
fn upstream_stack_check_holds() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck().args(["check", "stack-check", "--out"]).arg(out.path()).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("53 distinct states"), "{t}");
    assert!(t.contains("search complete"), "{t}");
    assert!(!t.contains("VIOLATED"), "{t}");
}

#[test]
fn a_limit_makes_the_search_incomplete_never_holds() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck().args(["check", "default", "--max-states", "1000", "--out"]).arg(out.path()).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(t.contains("INCOMPLETE (max-states)"), "{t}");
    // No row's verdict column says "holds" (a statement may use the word).
    assert!(!t.lines().any(|l| l.starts_with("  ") && l.split_whitespace().nth(1) == Some("holds")), "{t}");
    assert!(
        t.contains("verdict: 0 violated, ") && t.contains("; exit 3 (incomplete: max-states stopped the search)"),
        "{t}"
    );
}

/// A requested witness that the search did not find says so instead of writing nothing.
#[test]
fn an_unreachable_witness_is_reported_not_silently_skipped() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .args(["check", "stack-check", "--witness", "cancel_ran", "--witness", "patch_applied", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.trim(), "klpcheck: no witness trace for 'cancel_ran': it is unreachable");
    let written: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(written.iter().any(|f| f.to_string_lossy().starts_with("stack-check--patch_applied")), "{written:?}");
    assert!(!written.iter().any(|f| f.to_string_lossy().contains("cancel_ran")), "{written:?}");
}

#[test]
fn bad_scenario_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, "[[functions]]\nname = \"f\"\n\n[[tasks]]\ncomm = \"a\"\nentry = [\"g\"]\n").unwrap();
    let o = klpcheck().arg("check").arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("bad.toml:6:10: tasks.entry: unknown function 'g'"), "{t}");
}

#[test]
fn unknown_scenario_and_bad_flags_are_exit_2() {
    let o = klpcheck().args(["check", "no-such-scenario"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = klpcheck().args(["check", "--threads", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn list_properties_documents_every_property() {
    let o = klpcheck().args(["list", "properties"]).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0));
    for d in klp_properties::docs() {
        assert!(t.contains(d.name), "{} missing", d.name);
    }
}
