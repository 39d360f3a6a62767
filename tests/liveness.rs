//! Liveness and possibility on small scenarios with klpcheck's engine: verdicts, state counts
//! and lasso shapes pinned; mutation rows for the liveness properties (the safety rows are in
//! properties/tests/mutations.rs, which uses stateright's BFS).

use klp_checker::{Bfs, Verdict};
use klp_model::mutation::{Mutation, Mutations};
use klp_model::{scenario, KlpSystem, Spec};

const P: [&str; 6] = [
    "transition_completes",
    "module_load_completes",
    "patch_removable_without_force",
    "transition_reversible_without_force",
    "script_completes",
    "no_deadlock",
];

/// `cat` enters `f`, which lp1 patches; `f` sleeps as `$sleeps` says. An idle task. The script
/// is `$ops` (default: insmod lp1).
macro_rules! sleeper {
    ($sleeps:literal) => {
        sleeper!($sleeps, r#"[{ op = "insmod", patch = "lp1" }]"#)
    };
    ($sleeps:literal, $ops:literal) => {
        concat!(
            r#"
[[functions]]
name = "f"
sleeps = ""#,
            $sleeps,
            r#""
[[tasks]]
comm = "cat"
entry = ["f"]
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["f"]
[admin]
order = "script"
ops = "#,
            $ops,
            "\n"
        )
    };
}

/// lp1 patches `f`; it can be disabled (twice in any order: the second is refused unless a
/// reversal made it enabled again).
const DISABLE_TWICE: &str = r#"
[[functions]]
name = "f"
sleeps = "interruptible"
[[tasks]]
comm = "cat"
entry = ["f"]
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["f"]
[admin]
order = "any"
ops = [{ op = "insmod", patch = "lp1" }, { op = "disable", patch = "lp1", max = 2 }]
"#;

/// A script: insmod lp1 (the helper waits for the transition), then echo 0 > enabled. `cat`
/// may be in `f` when the transition work first tries it.
const INSMOD_THEN_DISABLE: &str =
    sleeper!("interruptible", r#"[{ op = "insmod", patch = "lp1" }, { op = "disable", patch = "lp1" }]"#);

fn spec(src: &str, mutations: &[Mutation]) -> Spec {
    let mut s = if let Some(name) = src.strip_prefix("shipped:") {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios").join(format!("{name}.toml"));
        scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
    } else {
        scenario::parse("inline", "inline.toml", src).unwrap_or_else(|e| panic!("{e}"))
    };
    s.mutations = Mutations::of(mutations);
    s
}

/// One liveness result: verdict, the counterexample's steps (described), cycle start.
type Live = (Verdict, Vec<String>, Option<usize>);

fn run(src: &str, mutations: &[Mutation], threads: usize) -> (u64, Vec<Live>) {
    run_spec(spec(src, mutations), threads)
}

/// Steps are labelled as traces label them (`describe_step`: with the self switches and
/// completions they ran).
fn run_spec(spec: Spec, threads: usize) -> (u64, Vec<Live>) {
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    let out = Bfs::new(&model)
        .threads(threads)
        .liveness(klp_properties::liveness::catalogue(), klp_properties::liveness::fairness)
        .run();
    assert!(out.complete());
    let lives = P
        .iter()
        .map(|n| {
            let l = out.live(n).unwrap();
            let steps = l
                .discovery
                .as_ref()
                .map(|t| {
                    t.actions
                        .iter()
                        .enumerate()
                        .map(|(i, a)| model.describe_step(&t.states[i], a, &t.states[i + 1]))
                        .collect()
                })
                .unwrap_or_default();
            (l.verdict, steps, l.cycle_start)
        })
        .collect();
    (out.stats.unique_states, lives)
}

fn verdicts(lives: &[Live]) -> Vec<Verdict> {
    lives.iter().map(|l| l.0).collect()
}

use Verdict::{Holds, Violated};

#[test]
fn a_task_sleeping_forever_in_the_patched_function_keeps_the_transition_pending() {
    let (n, lives) = run(sleeper!("forever"), &[], 2);
    assert_eq!(n, 90);
    assert_eq!(verdicts(&lives), [Violated, Holds, Holds, Holds, Holds, Holds]);
    let (_, steps, start) = &lives[0];
    // cat sleeps forever in the old f(); the transition work retries it every second.
    assert_eq!(steps, &FOREVER_LASSO);
    assert_eq!(*start, Some(4));
}

/// The lasso of a task sleeping for ever in the old `f()`: the pass fails on it, the work re-arms.
const FOREVER_LASSO: [&str; 6] = [
    "% insmod test_modules/lp1.ko",
    "cat: syscall -> f()",
    "cat: schedule()",
    "swapper/0: do_idle() -> klp_update_patch_state()",
    "klp_try_switch_task(cat)",
    "klp_transition_work_fn(): klp_try_complete_transition()",
];

/// Issue 17: the cycle holds only the steps fairness needs. Under fork_inherits =
/// tif_before_state the child forked during the reversal keeps patch_state 1 with
/// TIF_PATCH_PENDING clear: it never switches itself, and the transition work finds it running
/// in vfs_read() whenever it tries it. The cycle was 14 steps (the parent's syscalls and a
/// second round of the child's) when it took every fair class of the component; now the work
/// pass, the child's syscall, the preemption full preemption forces, the failed try, return.
#[test]
fn a_lasso_cycle_keeps_only_the_steps_fairness_needs() {
    let mut s = spec("shipped:history-fork", &[]);
    s.variant.set("fork_inherits", "tif_before_state").unwrap();
    let (_, lives) = run_spec(s, 2);
    let (verdict, steps, start) = &lives[0];
    assert_eq!((*verdict, *start, steps.len()), (Violated, Some(8), 14));
    assert_eq!(
        steps[8..],
        [
            "klp_transition_work_fn(): klp_try_complete_transition()",
            "bash.child0: syscall -> vfs_read()",
            "bash.child0: preempted",
            "bash.child0: resumes",
            "klp_try_switch_task(bash.child0)",
            "bash.child0: return",
        ]
    );
}

#[test]
fn klp_send_signals_ends_an_interruptible_sleep() {
    let (n, lives) = run(sleeper!("interruptible"), &[], 2);
    assert_eq!(n, 90);
    assert_eq!(verdicts(&lives), [Holds, Holds, Holds, Holds, Holds, Holds]);
}

#[test]
fn an_uninterruptible_sleep_ends_by_itself() {
    let (n, lives) = run(sleeper!("uninterruptible"), &[], 2);
    assert_eq!(n, 90);
    assert_eq!(verdicts(&lives), [Holds, Holds, Holds, Holds, Holds, Holds]);
}

#[test]
fn busy_target_module_stalls_the_transition_until_the_administrator_acts() {
    let (n, lives) = run("shipped:selftest-callbacks-09-busy-target-module", &[], 2);
    assert_eq!(n, 230);
    // The module's init queues its work and waits for it to start; the kworker loops in the old
    // busymod_work_func() until the module's exit clears block_transition: the patching
    // transition stays pending until the administrator reverses it (echo 0 > enabled) or
    // removes the busy module, and the administrator need not act.
    assert_eq!(verdicts(&lives), [Violated, Holds, Holds, Holds, Holds, Holds]);
    let (_, steps, start) = &lives[0];
    assert_eq!(
        steps,
        &[
            "% insmod test_modules/test_klp_callbacks_busy.ko block_transition=Y",
            "klp_module_coming(test_klp_callbacks_busy)",
            "kworker/0:1: call busymod_work_func()",
            "do_init_module(test_klp_callbacks_busy): mod->init returns",
            "% insmod test_modules/test_klp_callbacks_demo.ko",
            "klp_try_switch_task(bash)",
            "kworker/0:1: schedule()",
            "swapper/0: do_idle() -> klp_update_patch_state()",
            "klp_try_switch_task(kworker/0:1)",
            "klp_transition_work_fn(): klp_try_complete_transition()",
        ]
    );
    assert_eq!(*start, Some(8));
    // patch_removable_without_force holds: the kworker never enters the new function (its work
    // ran once, before the patch), and rmmod of the busy module is not refused while it loops.
}

#[test]
fn results_identical_for_1_2_4_threads() {
    let r1 = run("shipped:selftest-callbacks-09-busy-target-module", &[], 1);
    assert_eq!(r1, run("shipped:selftest-callbacks-09-busy-target-module", &[], 2));
    assert_eq!(r1, run("shipped:selftest-callbacks-09-busy-target-module", &[], 4));
}

/// (property, mutations, scenario): with the mutations the property is violated, without them
/// it holds.
const ROWS: &[(&str, &[Mutation], &str)] = &[
    ("transition_completes", &[Mutation::SignalsNeverSent], sleeper!("interruptible")),
    ("transition_completes", &[Mutation::TransitionWorkNotRearmed], sleeper!("interruptible")),
    (
        "module_load_completes",
        &[Mutation::ComingWaitsForTransition],
        "shipped:selftest-callbacks-09-busy-target-module",
    ),
    ("patch_removable_without_force", &[Mutation::KeepDisabledPatch], DISABLE_TWICE),
    (
        "transition_reversible_without_force",
        &[Mutation::ReversalTakesDisablePath],
        "shipped:seed-ban-disable-stuck-task",
    ),
    ("script_completes", &[Mutation::TransitionWorkNotRearmed], INSMOD_THEN_DISABLE),
    ("no_deadlock", &[Mutation::TransitionWorkNotRearmed], sleeper!("forever")),
];

#[test]
fn every_liveness_property_fails_under_its_mutation() {
    let mut failures = Vec::new();
    for (property, ms, src) in ROWS {
        let i = P.iter().position(|p| p == property).unwrap();
        let (_, with) = run(src, ms, 2);
        let (_, without) = run(src, &[], 2);
        if with[i].0 != Violated {
            failures.push(format!("{property} {ms:?}: {:?} with the mutation", with[i].0));
        }
        if without[i].0 != Holds {
            failures.push(format!("{property} {ms:?}: {:?} without the mutation", without[i].0));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_liveness_property_and_mutation_has_a_row() {
    for p in P {
        assert!(ROWS.iter().any(|r| r.0 == p), "{p} has no mutation row");
    }
    for m in Mutation::LIVENESS {
        assert!(ROWS.iter().any(|r| r.1.contains(&m)), "{m:?} is used by no row");
    }
    let names: Vec<_> = klp_properties::liveness::docs().into_iter().map(|d| d.name).collect();
    assert_eq!(names, P);
}

fn klpcheck() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("klpcheck").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn check_writes_a_lasso_trace_and_replay_confirms_it() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .args(["check", "selftest-callbacks-09-busy-target-module", "--threads", "2", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("transition_completes                       VIOLATED     "), "{t}");
    assert!(t.contains("lasso: 8 steps then a cycle of 2 steps, "), "{t}");
    assert!(t.contains("module_load_completes                      holds"), "{t}");
    assert!(t.contains("patch_removable_without_force              holds"), "{t}");
    assert!(t.contains("cycle: steps 9..10 repeat forever"), "{t}");
    let file = out.path().join("selftest-callbacks-09-busy-target-module--transition_completes.json");
    let trace = klp_traces::read_json(&file).unwrap();
    assert_eq!((trace.steps.len(), trace.cycle_start), (10, Some(8)));
    // Issue 17: the explanation names the task and the check in kernel terms.
    assert_eq!(
        trace.violation.as_ref().map(|v| v.summary.as_str()),
        Some(
            "the patching transition of test_klp_callbacks_demo never completes: the cycle repeats for ever; \
             kworker/0:1 sleeps until its module's exit begins in busymod_work_func@orig; klp_check_stack() \
             refuses it while patching"
        )
    );
    let r = klpcheck().arg("replay").arg(&file).output().unwrap();
    let rt = String::from_utf8_lossy(&r.stdout).into_owned();
    assert_eq!(r.status.code(), Some(1), "{rt}");
    assert!(rt.contains("replay: all 10 steps valid; violation of 'transition_completes' confirmed"), "{rt}");
    // Safety traces carry no cycle_start field at all.
    let o = klpcheck().args(["check", "no-stack-check", "--threads", "1", "--out"]).arg(out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let json = std::fs::read_to_string(out.path().join("no-stack-check--no_mixed_universe.json")).unwrap();
    assert!(!json.contains("cycle_start"));
}

#[test]
fn stateright_engine_leaves_liveness_unchecked() {
    let out = tempfile::tempdir().unwrap();
    let o =
        klpcheck().args(["check", "stack-check", "--engine", "stateright", "--out"]).arg(out.path()).output().unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    // Unchecked is not "every property holds": exit 3, as for an incomplete search.
    assert_eq!(o.status.code(), Some(3), "{t}");
    for p in P {
        assert!(t.contains(&format!("{p:<42} unchecked    ")), "{t}");
        assert!(t.contains(&format!("\n{:58}stateright's engine does not check liveness\n", "")), "{t}");
    }
}

/// Issue "A user's first hour": `run` finishing one schedule of a script says nothing about the
/// others; `check` must agree with every schedule. script_completes is violated (upstream: the
/// kworker sleeps for ever in lp1's do_work() and the disable never completes; ban-disable: the
/// disable is refused after the transition completed), the trace is a shortest one, and replay
/// re-explores from its last state to confirm that no path finishes the script.
#[test]
fn a_script_that_can_get_stuck_fails_script_completes_and_replay_confirms_it() {
    let out = tempfile::tempdir().unwrap();
    for (variant, steps) in [("upstream", 6), ("ban-disable", 4)] {
        let o = klpcheck()
            .args(["check", "stuck-script", "--variant", variant, "--threads", "2", "--out"])
            .arg(out.path())
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(t.contains("script_completes                           VIOLATED     "), "{t}");
        assert!(t.contains(&format!("\n{:58}{steps} steps, ", "")), "{t}");
        assert!(t.contains("no_deadlock                                holds"), "{t}");
        let stem = if variant == "upstream" { "stuck-script".to_string() } else { format!("stuck-script@{variant}") };
        let file = out.path().join(format!("{stem}--script_completes.json"));
        let r = klpcheck().arg("replay").arg(&file).output().unwrap();
        let rt = String::from_utf8_lossy(&r.stdout).into_owned();
        assert_eq!(r.status.code(), Some(1), "{rt}");
        assert!(
            rt.contains(&format!("replay: all {steps} steps valid; violation of 'script_completes' confirmed")),
            "{rt}"
        );
    }
    // The deterministic run of the same script finishes.
    let o = klpcheck().args(["run", "stuck-script"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A deadlock (no step enabled, a transition in progress) is reported with its shortest path:
/// with the transition work never re-armed, cat sleeps for ever in the old f() after the one
/// failed pass, and nothing else can run.
#[test]
fn a_deadlock_is_reported_with_a_shortest_trace() {
    let (_, lives) = run(sleeper!("forever"), &[Mutation::TransitionWorkNotRearmed], 2);
    let (verdict, steps, start) = &lives[5];
    assert_eq!((*verdict, *start), (Violated, None));
    // The lasso's prefix up to the failed pass: without the re-arm nothing can run after it.
    assert_eq!(steps, &FOREVER_LASSO[..5]);
}
