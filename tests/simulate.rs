//! `klpcheck simulate` (random walks) and `--coverage` of `check` and `simulate`: the pinned
//! counterexample of a fixed seed, results independent of the thread count, never "holds",
//! the coverage of a small shipped scenario, and the warnings for dead scenario parts.

use crate::common::{klpcheck, root, text};
use std::path::Path;

const GOLDEN: &str = "tests/golden/simulate";

/// Compares a file written by a run with its golden copy (KLPCHECK_BLESS rewrites the copy).
fn golden(written: &Path, name: &str) {
    let body = std::fs::read_to_string(written).unwrap_or_else(|e| panic!("{}: {e}", written.display()));
    let file = root().join(GOLDEN).join(name);
    if std::env::var_os("KLPCHECK_BLESS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &body).unwrap();
    } else {
        let want =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e} (scripts/bless.sh)", file.display()));
        assert!(want == body, "{name} differs from {GOLDEN}/{name} (scripts/bless.sh):\n{body}");
    }
}

/// The done-when of issue 18: from seed 1, the first walk finds the no-stack-check
/// counterexample (13 steps, longer than the 4 of `check`'s shortest one); its trace is pinned
/// and replays.
#[test]
fn simulate_finds_the_no_stack_check_counterexample_from_a_fixed_seed() {
    let scratch = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .current_dir(scratch.path())
        .args(["simulate", "no-stack-check", "--seed", "1", "--walks", "50", "--threads", "2", "--out", GOLDEN])
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("seed 1: 50 of 50 walks of at most 100 steps, 2 threads"), "{t}");
    assert!(t.contains("3385 steps, 54 distinct states seen, longest walk 100 steps"), "{t}");
    assert!(t.contains("not a shortest one"), "{t}");
    let line = t.lines().find(|l| l.trim_start().starts_with("no_mixed_universe")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [
            "no_mixed_universe",
            "VIOLATED",
            "walk",
            "1,",
            "13",
            "steps,",
            "tests/golden/simulate/no-stack-check--no_mixed_universe.json"
        ]
    );
    // Every other `always` property: no walk broke it, which is not "holds".
    assert!(!t.lines().any(|l| l.starts_with("  ") && l.contains("holds")), "{t}");
    let always =
        klp_properties::entries().iter().filter(|e| e.doc.expectation == stateright::Expectation::Always).count();
    assert_eq!(t.matches("incomplete   no violation in 50 walks").count(), always - 1, "{t}");
    let stem = "no-stack-check--no_mixed_universe";
    for ext in [".json", ".timeline.txt", ".dmesg.txt"] {
        golden(&scratch.path().join(GOLDEN).join(format!("{stem}{ext}")), &format!("{stem}{ext}"));
    }
    let json = format!("{GOLDEN}/{stem}.json");
    let r = klpcheck().current_dir(root()).args(["replay", &json]).output().unwrap();
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("replay: all 13 steps valid; violation of 'no_mixed_universe' confirmed"), "{rt}");
    let trace = klp_traces::read_json(&root().join(&json)).unwrap();
    assert_eq!(trace.found_by, "klpcheck simulate no-stack-check --seed 1 --walks 50 --depth 100");
    assert!(!trace.stats.complete);
}

/// The same seed and walks give the same walks whatever `--threads`: the output (but the line
/// with the thread count and the time), the coverage and the trace bytes. On no-stack-check
/// with seed 2 the first walk that breaks `no_mixed_universe` is the 8th, so the thread that
/// found it first need not be the one whose counterexample is kept.
#[test]
fn simulate_is_the_same_for_1_2_and_8_threads() {
    let run = |args: &[&str], threads: &str| {
        let out = tempfile::tempdir().unwrap();
        // A relative --out: the trace paths in the output and in the JSON are the same.
        let o = klpcheck()
            .current_dir(out.path())
            .arg("simulate")
            .args(args)
            .args(["--coverage", "--threads", threads, "--out", "out"])
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        let t: Vec<String> = t.lines().filter(|l| !l.starts_with("seed ")).map(str::to_string).collect();
        let mut traces: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.path().join("out"))
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        traces.sort();
        (o.status.code(), t, traces)
    };
    let busy = ["selftest-callbacks-09-busy-target-module", "--seed", "7", "--walks", "300", "--depth", "60"];
    let one = run(&busy, "1");
    assert!(one.1.iter().any(|l| l.contains("coverage (steps the walks took)")), "{:?}", one.1);
    assert_eq!(run(&busy, "2"), one);
    assert_eq!(run(&busy, "8"), one);
    let nsc = ["no-stack-check", "--seed", "2", "--walks", "200", "--depth", "8"];
    let one = run(&nsc, "1");
    assert!(one.1.iter().any(|l| l.contains("VIOLATED     walk 8, 6 steps")), "{:?}", one.1);
    assert_eq!(one.2.len(), 3, "the three renderings");
    assert_eq!(run(&nsc, "2"), one);
    assert_eq!(run(&nsc, "8"), one);
}

/// A simulation that breaks nothing exits 3 and reports no property as holding, in the table
/// and in `--json`.
#[test]
fn simulate_never_says_holds_and_exits_3() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .args(["simulate", "stack-check", "--seed", "3", "--walks", "20", "--json", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["complete"], false);
    assert_eq!(j["walks_done"], 20);
    let verdicts: Vec<&str> =
        j["properties"].as_array().unwrap().iter().map(|p| p["verdict"].as_str().unwrap()).collect();
    assert!(!verdicts.is_empty() && verdicts.iter().all(|v| *v == "incomplete"), "{verdicts:?}");
    assert_eq!(std::fs::read_dir(out.path()).map(|d| d.count()).unwrap_or(0), 0, "no trace written");
}

/// `check --coverage` on stack-check: every row pinned; the counts over generated transitions
/// add up to the generated states (less the initial state), those over new states to the
/// distinct states (less the initial state).
#[test]
fn check_coverage_of_stack_check_is_pinned() {
    let out = tempfile::tempdir().unwrap();
    let o =
        klpcheck().args(["check", "stack-check", "--coverage", "--json", "--out"]).arg(out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let j = &doc["runs"][0];
    let rows: Vec<String> = j["coverage"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {} | {}",
                r["group"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["generated"],
                r["distinct"]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "action kind | admin | 6 | 3",
            "action kind | klp_transition_work | 17 | 0",
            "action kind | klp_try_switch_task | 18 | 6",
            "action kind | klp_send_signals | 2 | 0",
            "action kind | syscall | 8 | 5",
            "action kind | call | 9 | 7",
            "action kind | return | 18 | 3",
            "action kind | schedule | 9 | 9",
            "action kind | wake | 9 | 0",
            "action kind | exit_to_user_mode | 1 | 1",
            "action kind | preempt | 18 | 18",
            "action kind | resume | 18 | 0",
            "entry point | cat: syscall -> vfs_read() | 8 | 5",
            "function | vfs_read() original | 2 | 2",
            "function | vfs_read() lp1 | 6 | 3",
            "function | cmdline_proc_show() original | 5 | 3",
            "function | cmdline_proc_show() lp1 | 4 | 4",
            "admin command | #1 % insmod test_modules/lp1.ko | 6 | 3",
        ]
    );
    let kinds = j["coverage"]["rows"].as_array().unwrap().iter().filter(|r| r["group"] == "action kind");
    let (g, d) =
        kinds.fold((0, 0), |(g, d), r| (g + r["generated"].as_u64().unwrap(), d + r["distinct"].as_u64().unwrap()));
    assert_eq!((g + 1, d + 1), (j["generated"].as_u64().unwrap(), j["unique_states"].as_u64().unwrap()));
    assert_eq!(j["coverage"]["warnings"], serde_json::json!([]));
    // Without --coverage, nothing is counted.
    let o = klpcheck().args(["check", "stack-check", "--json", "--out"]).arg(out.path()).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["runs"][0].get("coverage").is_none() && doc["runs"][0]["properties"].is_array());
}

/// A function nothing calls, a kthread entry that is never callable (its module never loads),
/// a patch version that never runs and an admin command that can never run (rmmod of a module
/// that is never loaded): one warning each, in `check` and in `simulate`.
#[test]
fn coverage_warns_about_dead_scenario_parts() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = r#"description = "dead parts"

[[functions]]
name = "vfs_read"
calls = ["cmdline_proc_show"]
sleeps = "interruptible"

[[functions]]
name = "cmdline_proc_show"

[[functions]]
name = "nobody_calls_me"

[[functions]]
name = "mod_fn"
object = "mod_a"

[[modules]]
name = "mod_a"

[[tasks]]
comm = "cat"
entry = ["vfs_read"]

[[tasks]]
comm = "kworker"
kind = "kthread"
entry = ["mod_fn"]

[[patches]]
name = "lp1"
[[patches.objects]]
funcs = ["cmdline_proc_show", "nobody_calls_me"]

[admin]
order = "any"
ops = [{ op = "insmod", patch = "lp1" }, { op = "rmmod", module = "mod_a" }]

[bounds]
max_stack = 2
"#;
    std::fs::write(dir.path().join("dead.toml"), scenario).unwrap();
    let want = [
        // The loader's own warning (a patched function nothing calls), before any run.
        "klpcheck: warning: dead.toml:33:31: patches.objects.funcs: 'nobody_calls_me' is patched, but no task calls it \
         (no entry, no caller, no /proc read)",
        "klpcheck: warning: dead scenario part? entry point never fired: kworker: main loop -> mod_fn()",
        "klpcheck: warning: dead scenario part? function never fired: nobody_calls_me() original",
        "klpcheck: warning: dead scenario part? function never fired: nobody_calls_me() lp1",
        "klpcheck: warning: dead scenario part? function never fired: mod_fn() original",
        "klpcheck: warning: dead scenario part? admin command never fired: #2 % rmmod mod_a",
    ];
    for args in [
        &["check", "dead.toml", "--coverage"][..],
        &["simulate", "dead.toml", "--seed", "1", "--walks", "50", "--coverage"],
    ] {
        let o = klpcheck().current_dir(dir.path()).args(args).args(["--out", "out"]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
        assert_eq!(warnings, want, "{args:?}: {}", text(&o));
    }
}
