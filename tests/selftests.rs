//! Fidelity tests: the kernel's livepatch selftests (tools/testing/selftests/livepatch/
//! test-callbacks.sh, test-livepatch.sh, test-state.sh, test-sysfs.sh, case 1 of test-ftrace.sh,
//! test-syscall.sh) as scenarios.
//!
//! For every case, (a) the deterministic runner's transcript (`klp_traces::script::run_script`) is
//! compared line by line with the selftest's expected `check_result` text
//! (traces/golden/selftests/<scenario>.txt); every line the model cannot produce yet is listed in
//! [`KNOWN_GAPS`] with its reason, and the test asserts that the difference is exactly that list,
//! so it fails when a gap closes (remove the entry) or a new difference appears; (b) the scenario
//! is explored exhaustively with stateright's BFS: no `always` property may have a discovery,
//! and the number of distinct states is pinned.

use klp_model::scenario;
use klp_model::KlpSystem;
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::path::{Path, PathBuf};

/// Every selftest case: scenario name and the distinct states of its exhaustive check.
const CASES: &[(&str, usize)] = &[
    ("selftest-callbacks-01-target-module-before-livepatch", 28),
    ("selftest-callbacks-02-module-coming-notifier", 28),
    ("selftest-callbacks-03-module-going-notifier", 28),
    ("selftest-callbacks-04-module-coming-and-going-notifiers", 28),
    ("selftest-callbacks-05-target-module-not-present", 21),
    ("selftest-callbacks-06-pre-patch-callback-enodev", 9),
    ("selftest-callbacks-07-module-coming-pre-patch-callback-enodev", 24),
    ("selftest-callbacks-08-multiple-target-modules", 98),
    ("selftest-callbacks-09-busy-target-module", 230),
    ("selftest-callbacks-10-multiple-livepatches", 41),
    ("selftest-callbacks-11-atomic-replace", 43),
    ("selftest-ftrace-01-livepatch-interaction-with-ftrace-enabled-sysctl", 184),
    ("selftest-livepatch-01-basic-function-patching", 169),
    ("selftest-livepatch-02-multiple-livepatches", 663),
    ("selftest-livepatch-03-atomic-replace-livepatch", 1149),
    ("selftest-state-01-system-state-modification", 21),
    ("selftest-state-02-taking-over-system-state-modification", 32),
    ("selftest-state-03-compatible-cumulative-livepatches", 54),
    ("selftest-state-04-incompatible-cumulative-livepatches", 22),
    ("selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered", 5073),
    ("selftest-sysfs-01-sysfs-test", 211),
    ("selftest-sysfs-02-sysfs-test-object-patched", 31),
    ("selftest-sysfs-03-sysfs-test-replace-enabled", 157),
    ("selftest-sysfs-04-sysfs-test-replace-disabled", 157),
    ("selftest-sysfs-05-sysfs-test-stack-order-value", 889),
];

/// A line of the kernel's expected output the model does not produce (`-`), or a line the model
/// produces that the kernel does not (`+`), in diff order.
struct Gap {
    scenario: &'static str,
    line: &'static str,
    reason: &'static str,
}

/// Why a line differs: a `const` per reason, naming the kernel feature the model lacks.
const NPIDS: &str = "test_klp_syscall.c's own npids counter (lp_sys_getpid() counts each listed pid's first call) \
     and the harness's `loop_until` on /sys/kernel/test_klp_syscall/npids: the test module's state, not livepatch's, \
     and the runner makes no syscalls, so nothing would count";

macro_rules! gaps {
    ($($scenario:literal: [$($line:literal => $reason:ident,)*],)*) => {
        &[$($(Gap { scenario: $scenario, line: $line, reason: $reason },)*)*]
    };
}

#[rustfmt::skip]
const KNOWN_GAPS: &[Gap] = gaps! {
    "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered": [
        "-test_klp_syscall: Remaining not livepatched processes: 0" => NPIDS,
    ],
};

const MAX_STEPS: usize = 10_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model(name: &str) -> KlpSystem {
    let path = root().join("model/scenarios").join(format!("{name}.toml"));
    let spec = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    KlpSystem::new(spec, klp_properties::catalogue)
}

fn golden(name: &str) -> Vec<String> {
    let path = root().join("traces/golden/selftests").join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

/// A line diff (longest common subsequence): `-` lines only in `expected`, `+` lines only in
/// `actual`; at a change, removals come before additions.
fn diff(expected: &[String], actual: &[String]) -> Vec<String> {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", expected[i]));
            i += 1;
        } else {
            out.push(format!("+{}", actual[j]));
            j += 1;
        }
    }
    out
}

fn check_transcript(name: &str) {
    let m = model(name);
    let actual = klp_traces::script::run_script(&m, MAX_STEPS).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = golden(name);
    let got = diff(&expected, &actual);
    let known: Vec<String> = KNOWN_GAPS.iter().filter(|g| g.scenario == name).map(|g| g.line.to_string()).collect();
    for g in KNOWN_GAPS.iter().filter(|g| g.scenario == name) {
        assert!(!g.reason.is_empty() && (g.line.starts_with('-') || g.line.starts_with('+')), "{name}: bad gap entry");
    }
    assert_eq!(
        got,
        known,
        "{name}: the difference from the kernel's expected output is not the known gap list\n\
         --- transcript ---\n{}\n",
        actual.join("\n")
    );
}

fn check_exhaustive(name: &str, states: usize) {
    let m = model(name);
    let props = m.properties();
    // Explore everything: stop early only if every `always` property failed.
    let checker = m.checker().threads(1).finish_when(HasDiscoveries::AllFailures).spawn_bfs().join();
    for p in props.iter().filter(|p| p.expectation == Expectation::Always) {
        assert!(
            checker.discovery(p.name).is_none(),
            "{name}: always-property {} violated: {:?}",
            p.name,
            checker.discovery(p.name).map(|d| d.into_actions())
        );
    }
    assert_eq!(checker.unique_state_count(), states, "{name}: distinct states");
}

fn case(name: &str) {
    let states = CASES.iter().find(|c| c.0 == name).expect("listed in CASES").1;
    check_transcript(name);
    check_exhaustive(name, states);
}

#[test]
fn every_selftest_scenario_is_listed() {
    let mut shipped: Vec<String> = std::fs::read_dir(root().join("model/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("selftest-"))
        .collect();
    shipped.sort();
    let listed: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(shipped, listed);
    for c in CASES {
        assert!(Path::new(&root().join("traces/golden/selftests").join(format!("{}.txt", c.0))).exists(), "{}", c.0);
    }
    for g in KNOWN_GAPS {
        assert!(CASES.iter().any(|c| c.0 == g.scenario), "gap for unknown scenario {}", g.scenario);
    }
}

macro_rules! cases {
    ($($f:ident => $name:literal,)*) => {
        $(#[test] fn $f() { case($name); })*
    };
}

cases! {
    ftrace_01_livepatch_interaction_with_ftrace_enabled_sysctl => "selftest-ftrace-01-livepatch-interaction-with-ftrace-enabled-sysctl",
    callbacks_01_target_module_before_livepatch => "selftest-callbacks-01-target-module-before-livepatch",
    callbacks_02_module_coming_notifier => "selftest-callbacks-02-module-coming-notifier",
    callbacks_03_module_going_notifier => "selftest-callbacks-03-module-going-notifier",
    callbacks_04_module_coming_and_going_notifiers => "selftest-callbacks-04-module-coming-and-going-notifiers",
    callbacks_05_target_module_not_present => "selftest-callbacks-05-target-module-not-present",
    callbacks_06_pre_patch_callback_enodev => "selftest-callbacks-06-pre-patch-callback-enodev",
    callbacks_07_module_coming_pre_patch_callback_enodev => "selftest-callbacks-07-module-coming-pre-patch-callback-enodev",
    callbacks_08_multiple_target_modules => "selftest-callbacks-08-multiple-target-modules",
    callbacks_09_busy_target_module => "selftest-callbacks-09-busy-target-module",
    callbacks_10_multiple_livepatches => "selftest-callbacks-10-multiple-livepatches",
    callbacks_11_atomic_replace => "selftest-callbacks-11-atomic-replace",
    livepatch_01_basic_function_patching => "selftest-livepatch-01-basic-function-patching",
    livepatch_02_multiple_livepatches => "selftest-livepatch-02-multiple-livepatches",
    livepatch_03_atomic_replace_livepatch => "selftest-livepatch-03-atomic-replace-livepatch",
    state_01_system_state_modification => "selftest-state-01-system-state-modification",
    state_02_taking_over_system_state_modification => "selftest-state-02-taking-over-system-state-modification",
    state_03_compatible_cumulative_livepatches => "selftest-state-03-compatible-cumulative-livepatches",
    state_04_incompatible_cumulative_livepatches => "selftest-state-04-incompatible-cumulative-livepatches",
    sysfs_01_sysfs_test => "selftest-sysfs-01-sysfs-test",
    sysfs_02_sysfs_test_object_patched => "selftest-sysfs-02-sysfs-test-object-patched",
    sysfs_03_sysfs_test_replace_enabled => "selftest-sysfs-03-sysfs-test-replace-enabled",
    sysfs_04_sysfs_test_replace_disabled => "selftest-sysfs-04-sysfs-test-replace-disabled",
    sysfs_05_sysfs_test_stack_order_value => "selftest-sysfs-05-sysfs-test-stack-order-value",
    syscall_01_patch_getpid_syscall_while_being_heavily_hammered => "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered",
}

/// A check helper that reads another value dies: its ERROR line is the transcript's last, and
/// nothing after it runs (the patch stays enabled).
#[test]
fn a_failing_sysfs_check_dies() {
    let path = root().join("model/scenarios/selftest-sysfs-01-sysfs-test.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let bad = src
        .replace("path = \"transition\", value = 0", "path = \"transition\", value = 1")
        .replace("path = \"force\", rights = \"--w-------\"", "path = \"force\", rights = \"-rw-r--r--\"");
    let m = KlpSystem::new(scenario::parse("bad", "bad.toml", &bad).unwrap(), klp_properties::catalogue);
    let out = klp_traces::script::run_script(&m, MAX_STEPS).unwrap();
    let mut want = golden("selftest-sysfs-01-sysfs-test")[..6].to_vec();
    want.push(
        "ERROR: Unexpected access rights of /sys/kernel/livepatch/test_klp_livepatch/force: -rw-r--r-- vs. --w-------"
            .into(),
    );
    assert_eq!(out, want);
    let bad = src.replace("path = \"transition\", value = 0", "path = \"transition\", value = 1");
    let m = KlpSystem::new(scenario::parse("bad", "bad.toml", &bad).unwrap(), klp_properties::catalogue);
    let out = klp_traces::script::run_script(&m, MAX_STEPS).unwrap();
    assert_eq!(
        out.last().unwrap(),
        "ERROR: Unexpected value in /sys/kernel/livepatch/test_klp_livepatch/transition: 1 vs. 0"
    );
    assert_eq!(out.len(), 7);
}

/// The script's `cat` comparison that reads other text dies: "ERROR: livepatch kselftest(s)
/// failed" (which check_result's filter drops) is the last line of the kernel log, and nothing
/// after it runs.
#[test]
fn a_failing_proc_cat_dies() {
    let path = root().join("model/scenarios/selftest-livepatch-01-basic-function-patching.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let bad = src.replacen("expect = \"test_klp_livepatch: this", "expect = \"lp: this", 1);
    let m = KlpSystem::new(scenario::parse("bad", "bad.toml", &bad).unwrap(), klp_properties::catalogue);
    let run = klp_traces::script::execute(&m, MAX_STEPS).unwrap();
    let kept: Vec<&String> = run.dmesg.iter().filter(|l| klp_traces::script::harness_keeps(l)).collect();
    assert_eq!(kept, golden("selftest-livepatch-01-basic-function-patching")[..6].iter().collect::<Vec<_>>());
    assert_eq!(run.dmesg.last().unwrap(), "ERROR: livepatch kselftest(s) failed");
}

/// The read is a task step like any other: during a transition, a read by a task not yet
/// switched runs the original show function and returns the original's text; the same read
/// after the task switched (here on its way back to user mode) returns the patch's. Each step is
/// one the model offers (`actions()`), so the exhaustive check explores both.
#[test]
fn a_proc_read_in_a_task_not_yet_switched_returns_the_original() {
    use klp_model::log::Dmesg;
    use klp_model::Action;
    let path = root().join("model/scenarios/selftest-livepatch-01-basic-function-patching.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let a = src.find("ops = [").unwrap();
    let b = a + src[a..].find("\n]").unwrap();
    let ops = "ops = [\n  { op = \"insmod\", patch = \"test_klp_livepatch\", wait = false },\n  \
               { op = \"grep\", task = \"bash\", pattern = \" \", file = \"/proc/cmdline\" },";
    let src = format!("{}{ops}{}", &src[..a], &src[b..]);
    let m = KlpSystem::new(scenario::parse("t", "t.toml", &src).unwrap(), klp_properties::catalogue);
    let bash = 0;
    let cmdline = m.spec.funcs.iter().position(|f| f.name == "cmdline_proc_show").unwrap() as u8;
    let run = |path: &[Action]| {
        let (mut st, mut log) = (m.init_state(), Dmesg::default());
        for a in path {
            let mut enabled = Vec::new();
            m.actions(&st, &mut enabled);
            assert!(enabled.contains(a), "{a:?} not enabled");
            st = m.step(&st, *a, &mut log).unwrap();
        }
        (st, log.0)
    };
    let read = [Action::Syscall(bash, cmdline), Action::Return(bash)];
    // Unswitched: the patch's transition runs, bash still has patch_state 0 and TIF_PATCH_PENDING.
    let (st, log) = run(&[&[Action::Admin(0), Action::Admin(1)][..], &read].concat());
    assert_eq!(st.klp_transition_patch, Some(0));
    assert_eq!(log.last().unwrap(), "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 console=ttyS0");
    // In the function: the frame runs the original.
    let (st, _) = run(&[Action::Admin(0), Action::Admin(1), read[0]]);
    assert_eq!(st.tasks[bash as usize].stack[0].version, klp_model::ids::Version::ORIGINAL);
    // Switched first (exit_to_user_mode() -> klp_update_patch_state()): the patched text.
    let (_, log) = run(&[&[Action::Admin(0), Action::ExitToUserMode(bash), Action::Admin(1)][..], &read].concat());
    assert_eq!(log.last().unwrap(), "test_klp_livepatch: this has been live patched");
}

const TABLE_START: &str = "<!-- selftest table: generated by tests/selftests.rs -->\n";
const TABLE_END: &str = "<!-- end of selftest table -->\n";

/// The README's selftest table is this file's `CASES` and `KNOWN_GAPS`: one row per case, its
/// kernel script and case number, the golden's line count, exact or the lines that differ with
/// their reasons, and the exhaustive state count. `KLPCHECK_BLESS=1` rewrites it.
#[test]
fn readme_selftest_table_is_generated() {
    let mut table = String::from(TABLE_START);
    table.push_str("\n| selftest | case | kernel lines | transcript | distinct states |\n|---|---|---:|---|---:|\n");
    for (name, states) in CASES {
        let rest = name.trim_start_matches("selftest-");
        let mut parts = rest.splitn(3, '-');
        let (script, number, title) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap_or(""));
        let gaps: Vec<&Gap> = KNOWN_GAPS.iter().filter(|g| g.scenario == *name).collect();
        let transcript = if gaps.is_empty() {
            "exact".to_string()
        } else {
            let mut reasons: Vec<&str> = gaps.iter().map(|g| g.reason).collect();
            reasons.sort_unstable();
            reasons.dedup();
            let n = gaps.len();
            format!(
                "{n} line{} differ{}: {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                reasons.join("; ")
            )
        };
        table.push_str(&format!(
            "| test-{script}.sh | {} {} (`{name}`) | {} | {} | {states} |\n",
            number.trim_start_matches('0'),
            title.replace('-', " "),
            golden(name).len(),
            transcript.replace('|', "\\|")
        ));
    }
    table.push('\n');
    table.push_str(TABLE_END);
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (a, b) =
        (readme.find(TABLE_START).expect("README: selftest table start"), readme.find(TABLE_END).expect("end"));
    let current = &readme[a..b + TABLE_END.len()];
    if std::env::var_os("KLPCHECK_BLESS").is_some() {
        std::fs::write(&path, readme.replace(current, &table)).unwrap();
    } else {
        assert_eq!(current, table, "README selftest table is stale: run scripts/bless.sh");
    }
}

/// Prints every case's difference and state count (for updating the tables):
/// `cargo test --release --test integration -- --ignored --nocapture selftests::measure`; with `RAW=<part of a
/// scenario name>` also the runner's actions and the unfiltered transcript of matching cases.
#[test]
#[ignore]
fn measure() {
    for (name, _) in CASES {
        let m = model(name);
        if std::env::var("RAW").is_ok_and(|r| name.contains(&r)) {
            let r = klp_traces::script::execute(&m, MAX_STEPS).unwrap();
            for a in &r.actions {
                println!("  step: {}", m.describe(a));
            }
            for l in &r.dmesg {
                println!("  dmesg: {l}");
            }
        }
        match klp_traces::script::run_script(&m, MAX_STEPS) {
            Ok(actual) => {
                for l in diff(&golden(name), &actual) {
                    println!("{name}\t{l}");
                }
            }
            Err(e) => println!("{name}\tERROR {e}"),
        }
        let t = std::time::Instant::now();
        let props = m.properties();
        let c = m.checker().threads(1).finish_when(HasDiscoveries::AllFailures).spawn_bfs().join();
        let always_ok =
            props.iter().filter(|p| p.expectation == Expectation::Always).all(|p| c.discovery(p.name).is_none());
        println!("{name}\tSTATES {} always_ok={always_ok} {:?}", c.unique_state_count(), t.elapsed());
    }
}
