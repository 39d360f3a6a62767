//! The scenario's own properties (`[[invariant]]`, `[[witness]]`, docs/scenario.md): checked,
//! reported, selected and traced like the built-in ones. Bad predicates are rows of the
//! bad-input table (tests/reliability/bad_input.rs).

use crate::common::{replay_steps, trace_of};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn klpcheck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_klpcheck"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Two livepatches of the same function, loaded in any order, and the user's properties.
const TWO_PATCHES: &str = r#"description = "lp1 and lp2 patch cmdline_proc_show"

[[functions]]
name = "cmdline_proc_show"
sleeps = "interruptible"

[[functions]]
name = "vfs_read"
calls = ["cmdline_proc_show"]

[[tasks]]
comm = "cat"
entry = ["vfs_read"]

[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["cmdline_proc_show"]

[[patches]]
name = "lp2"
  [[patches.objects]]
  funcs = ["cmdline_proc_show"]

[admin]
order = "any"
ops = [{ op = "insmod", patch = "lp1" }, { op = "insmod", patch = "lp2" }]

[[witness]]
name = "lp2_loaded"
holds = { module = "lp2", loaded = true }

[[invariant]]
name = "never_both_enabled"
description = "lp1 and lp2 are never enabled together"
holds = { not = { all = [{ patch = "lp1", state = "enabled" }, { patch = "lp2", state = "enabled" }] } }

[[invariant]]
name = "one_transition_at_a_time"
holds = { not = { all = [{ patch = "lp1", state = "transition" }, { patch = "lp2", state = "transition" }] } }

[[witness]]
name = "cat_in_lp2_while_patching"
holds = { all = [{ task = "cat", runs = "cmdline_proc_show", version = "lp2" }, { transition = "patching" }] }
"#;

fn scenario(dir: &Path, src: &str) -> PathBuf {
    let f = dir.join("mine.toml");
    std::fs::write(&f, src).unwrap();
    f
}

/// The verdict word `check` prints on the row of `property`.
fn verdict(out: &str, property: &str) -> String {
    let row = out.lines().find(|l| l.split_whitespace().next() == Some(property));
    let row = row.unwrap_or_else(|| panic!("no row for {property}:\n{out}"));
    row.split_whitespace().nth(1).unwrap_or_default().to_string()
}

/// "Is lp2 ever loaded?" asked directly: the witness is reachable, its trace is written and
/// replays; without an insmod of lp2 it is unreachable, and `check` says so.
#[test]
fn is_lp2_ever_loaded_is_answered_by_a_witness() {
    let dir = tempfile::tempdir().unwrap();
    let f = scenario(dir.path(), TWO_PATCHES);
    let out = dir.path().join("out");
    let o = klpcheck()
        .args(["check", "--threads", "1", "--no-liveness", "--witness", "lp2_loaded", "--out"])
        .arg(&out)
        .arg(&f)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(verdict(&t, "lp2_loaded"), "reachable", "{t}");
    assert_eq!(verdict(&t, "cat_in_lp2_while_patching"), "reachable", "{t}");
    assert_eq!(verdict(&t, "one_transition_at_a_time"), "holds", "{t}");
    let trace = trace_of(&out, "lp2_loaded");
    let r = klpcheck().arg("replay").arg(&trace).output().unwrap();
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(0), "{rt}");
    assert!(rt.contains("witness for 'lp2_loaded' confirmed"), "{rt}");
    // The shortest way there: one step, the insmod of lp2.
    assert_eq!(replay_steps(&rt).len(), 1, "{rt}");
    assert!(replay_steps(&rt)[0].contains("insmod") && replay_steps(&rt)[0].contains("lp2"), "{rt}");

    let never = TWO_PATCHES.replace(", { op = \"insmod\", patch = \"lp2\" }]", "]");
    let f = scenario(dir.path(), &never);
    let o = klpcheck()
        .args(["check", "--threads", "1", "--no-liveness", "--witness", "lp2_loaded", "--out"])
        .arg(dir.path().join("out2"))
        .arg(&f)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(verdict(&t, "lp2_loaded"), "unreachable", "{t}");
    assert!(t.contains("no witness trace for 'lp2_loaded': it is unreachable"), "{t}");
}

/// A violated `[[invariant]]` makes the run exit 1 with a counterexample trace that replays.
#[test]
fn a_violated_invariant_gives_its_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let f = scenario(dir.path(), TWO_PATCHES);
    let out = dir.path().join("out");
    let o = klpcheck().args(["check", "--threads", "1", "--no-liveness", "--out"]).arg(&out).arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert_eq!(verdict(&t, "never_both_enabled"), "VIOLATED", "{t}");
    let trace = trace_of(&out, "never_both_enabled");
    let r = klpcheck().arg("replay").arg(&trace).output().unwrap();
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("violation of 'never_both_enabled' confirmed"), "{rt}");
    // Both patches had to be loaded: the two insmods are the counterexample.
    let steps = replay_steps(&rt);
    assert_eq!(steps.iter().filter(|s| s.contains("insmod")).count(), 2, "{rt}");
}

/// `--property` selects a user property like a built-in one; an unknown name gets a "did you
/// mean" among both.
#[test]
fn property_selects_a_user_property() {
    let dir = tempfile::tempdir().unwrap();
    let f = scenario(dir.path(), TWO_PATCHES);
    let o = klpcheck()
        .args(["check", "--threads", "1", "--property", "lp2_loaded", "--property", "no_mixed_universe", "--out"])
        .arg(dir.path().join("out"))
        .arg(&f)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert_eq!(verdict(&t, "lp2_loaded"), "reachable", "{t}");
    assert_eq!(verdict(&t, "no_mixed_universe"), "holds", "{t}");
    assert!(!t.contains("never_both_enabled"), "{t}");
    let o = klpcheck().args(["check", "--property", "lp2_laoded"]).arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("did you mean 'lp2_loaded'?"), "{t}");
    // A witness trace is for `sometimes` properties: a user invariant is refused.
    let o = klpcheck().args(["check", "--witness", "never_both_enabled"]).arg(&f).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// The suspicious-input warnings: printed, not fatal.
#[test]
fn suspicious_input_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let src = TWO_PATCHES.replace("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\n\n[[tasks]]\ncomm = \"kworker\"\nkind = \"kthread\"")
        + "\n[[functions]]\nname = \"unused\"\n\n[[patches]]\nname = \"lp3\"\n  [[patches.objects]]\n  funcs = [\"unused\"]\n";
    let f = scenario(dir.path(), &src);
    let out = dir.path().join("out");
    let o = klpcheck().args(["check", "--threads", "1", "--no-liveness", "--out"]).arg(&out).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mine.toml:16:8: tasks.entry: kthread 'kworker' has no entry"), "{err}");
    assert!(err.contains("patches.objects.funcs: 'unused' is patched, but no task calls it"), "{err}");
    assert_eq!(err.matches("klpcheck: warning:").count(), 2, "{err}");
    assert_ne!(o.status.code(), Some(2), "a warning is not an error: {err}");
}
