//! Trace validation (issue 20): every selftest's expected transcript is a behaviour of its
//! scenario, found by the product search over every interleaving (klp_traces::validate), not by
//! the deterministic schedule of `klpcheck run`; mutated transcripts are rejected at the first
//! line no behaviour produces; `diagnose` and `--infer` on the selftests.

use crate::common::{root, text};
use klp_model::scenario;
use klp_model::KlpSystem;
use klp_traces::validate::{self, parse, Limits, Verdict, Why};

fn model(name: &str) -> KlpSystem {
    let path = root().join("model/scenarios").join(format!("{name}.toml"));
    KlpSystem::new(scenario::load(&path).unwrap_or_else(|e| panic!("{e}")), klp_properties::catalogue)
}

fn golden(name: &str) -> String {
    let path = root().join("traces/golden/selftests").join(format!("{name}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn selftests() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("traces/golden/selftests"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn check(m: &KlpSystem, name: &str, text: &str) -> Verdict {
    let log = parse::parse(name, text, &m.spec).unwrap_or_else(|e| panic!("{e}"));
    validate::validate(m, &log, Limits::default())
}

/// The line of test-syscall's transcript the model never prints (tests/selftests.rs
/// KNOWN_GAPS: the test module's own npids counter). Validate does not skip it: it rejects the
/// transcript at that line as a line no step of the scenario prints.
const SYSCALL: &str = "selftest-syscall-01-patch-getpid-syscall-while-being-heavily-hammered";
const NPIDS_LINE: &str = "test_klp_syscall: Remaining not livepatched processes: 0";

/// Every selftest transcript is admitted: a behaviour among all interleavings prints it, line for
/// line (test-syscall without its one known-gap line; see [`known_gap_line_is_never_printed`]).
#[test]
fn every_selftest_transcript_is_admitted() {
    let names = selftests();
    assert_eq!(names.len(), 25);
    for name in &names {
        let m = model(name);
        let text = golden(name);
        let text = if name == SYSCALL { text.replace(&format!("{NPIDS_LINE}\n"), "") } else { text };
        match check(&m, name, &text) {
            Verdict::Admitted { actions, .. } => {
                // The behaviour found prints exactly the transcript (re-executed).
                let trace = klp_traces::record(&m, Default::default(), &actions).unwrap();
                let printed: Vec<String> = trace
                    .steps
                    .iter()
                    .flat_map(|s| s.dmesg.iter().cloned())
                    .filter(|l| klp_traces::script::scenario_keeps(&m.spec, l))
                    .collect();
                assert_eq!(printed.join("\n"), text.trim_end(), "{name}");
            }
            v => panic!("{name}: {}", validate::report(&m, &parse::parse(name, &text, &m.spec).unwrap(), &v, 3)),
        }
    }
}

#[test]
fn known_gap_line_is_never_printed() {
    let m = model(SYSCALL);
    let text = golden(SYSCALL);
    let lineno = text.lines().position(|l| l == NPIDS_LINE).unwrap() + 1;
    match check(&m, SYSCALL, &text) {
        Verdict::Rejected { line, why: Why::NeverPrinted { .. }, .. } => {
            assert_eq!((line.lineno, line.text.as_str()), (lineno, NPIDS_LINE));
        }
        v => panic!("{v:?}"),
    }
}

/// The line number and text a mutated transcript is rejected at, and why.
fn rejected_at(name: &str, text: &str) -> (usize, String, &'static str) {
    let m = model(name);
    match check(&m, name, text) {
        Verdict::Rejected { line, why, .. } => (line.lineno, line.text, why.code()),
        v => panic!("{name}: not rejected: {v:?}"),
    }
}

fn lines_of(name: &str) -> Vec<String> {
    golden(name).lines().map(str::to_string).collect()
}

fn join(lines: &[String]) -> String {
    lines.join("\n") + "\n"
}

const CB01: &str = "selftest-callbacks-01-target-module-before-livepatch";
const CB09: &str = "selftest-callbacks-09-busy-target-module";

/// Mutations of the kernel's own transcripts, each rejected at the first line no behaviour
/// produces (pinned: line number in the mutated file, its text, and why).
#[test]
fn mutated_transcripts_are_rejected_at_the_right_line() {
    // A line removed: "initializing patching transition" (line 5); the enable step prints it
    // before the callbacks, so line 5 of the mutated log (the vmlinux pre-patch callback) is the
    // first no behaviour produces.
    let mut l = lines_of(CB01);
    l.remove(4);
    assert_eq!(
        rejected_at(CB01, &join(&l)),
        (5, "test_klp_callbacks_demo: pre_patch_callback: vmlinux".into(), "not_next")
    );
    // Two lines swapped: the module's pre-patch callback and "starting patching transition".
    let mut l = lines_of(CB01);
    l.swap(6, 7);
    assert_eq!(
        rejected_at(CB01, &join(&l)),
        (7, "livepatch: 'test_klp_callbacks_demo': starting patching transition".into(), "not_next")
    );
    // A callback line for the wrong module: test_klp_callbacks_busy is never loaded here.
    let l: Vec<String> = lines_of(CB01)
        .into_iter()
        .map(|s| {
            s.replace("post_patch_callback: test_klp_callbacks_mod", "post_patch_callback: test_klp_callbacks_busy")
        })
        .collect();
    assert_eq!(
        rejected_at(CB01, &join(&l)),
        (
            11,
            "test_klp_callbacks_demo: post_patch_callback: test_klp_callbacks_busy -> [MODULE_STATE_LIVE] Normal state"
                .into(),
            "never_printed"
        )
    );
    // The busy-module case: the callback of the module loaded during the transition named as
    // the busy module (loaded, so the text is printable, but not there).
    let l: Vec<String> = lines_of(CB09)
        .into_iter()
        .map(|s| {
            s.replace(
                "pre_patch_callback: test_klp_callbacks_mod -> [MODULE_STATE_COMING]",
                "pre_patch_callback: test_klp_callbacks_busy -> [MODULE_STATE_COMING]",
            )
        })
        .collect();
    assert_eq!(rejected_at(CB09, &join(&l)).0, 12);
    // "busymod_work_func exit" removed: the busy module's exit message cannot come first.
    let mut l = lines_of(CB09);
    let i = l.iter().position(|s| s.ends_with("busymod_work_func exit")).unwrap();
    l.remove(i);
    assert_eq!(
        rejected_at(CB09, &join(&l)),
        (i + 1, "test_klp_callbacks_busy: test_klp_callbacks_busy_exit".into(), "not_next")
    );
}

/// Every single-line removal from every selftest transcript (but its last line: a log may end
/// anywhere) is rejected, at the removed line's place or later (a later line when another
/// interleaving prints the next line there too), and never admitted.
#[test]
fn every_line_removal_is_rejected() {
    let mut rejected = 0;
    for name in selftests() {
        let mut all = lines_of(&name);
        if name == SYSCALL {
            all.retain(|l| l != NPIDS_LINE);
        }
        for i in 0..all.len() - 1 {
            let mut l = all.clone();
            l.remove(i);
            let (lineno, _, _) = rejected_at(&name, &join(&l));
            assert!(lineno > i, "{name}: line {} removed, rejected at {lineno}", i + 1);
            rejected += 1;
        }
    }
    assert_eq!(rejected, 582);
}

/// Issue 20's "done when": the busy-module transcript stopped after "starting patching
/// transition" ends inside the patching transition; the busy kworker is the task that holds
/// it (TIF_PATCH_PENDING in every consistent state, in busymod_work_func), nothing ends it by
/// waiting or by a signal, and the reversal (`echo 0 > enabled`) ends it from every state, as
/// unloading the busy module and force do.
#[test]
fn diagnose_names_the_busy_worker_and_the_reversal() {
    let m = model(CB09);
    let all = lines_of(CB09);
    let cut = all.iter().position(|l| l.ends_with("starting patching transition")).unwrap() + 1;
    let log = parse::parse("cut.txt", &join(&all[..cut]), &m.spec).unwrap();
    let d = validate::diagnose::diagnose(&m, &log, Limits::default()).unwrap();
    assert!(d.complete);
    assert_eq!(d.transition.as_deref(), Some("the patching transition of 'test_klp_callbacks_demo'"));
    let n = d.states.len();
    assert_eq!(n, 30);
    let worker = d.pending.iter().find(|p| p.task == "kworker/0:1:2").expect("the busy worker is pending");
    assert_eq!(worker.states, n);
    assert!(worker.where_.iter().all(|w| w.contains("busymod_work_func@orig")), "{:?}", worker.where_);
    let from = |way: &str| {
        let w = d.ways.iter().position(|x| x.name == way).unwrap_or_else(|| panic!("no way {way}"));
        d.exits.iter().filter(|e| e.iter().any(|x| x.way == w)).count()
    };
    assert_eq!(from("wait"), 0);
    assert_eq!(from("signal"), 0);
    assert_eq!(from("reversal"), n);
    assert_eq!(from("unload test_klp_callbacks_busy"), n);
    assert_eq!(from("force"), n);
    let text = validate::diagnose::report(&m, &log, &d, 1);
    assert!(text.contains("kworker/0:1:2 (in 30 of 30 states)"), "{text}");
    assert!(
        text.contains(
            "reversal: ends it from 30 of 30 states (shortest: 3 steps): % echo 0 > /sys/kernel/livepatch/test_klp_callbacks_demo/enabled"
        ),
        "{text}"
    );
}

/// `--infer` round trip: the skeleton inferred from a selftest transcript, once the tasks are
/// added, loads, has the selftest scenario's patches, objects, modules and admin commands, and
/// admits the transcript it came from.
#[test]
fn infer_round_trips_a_selftest_transcript() {
    // Not the busy-module case: its module needs a work item a log cannot show (the skeleton's
    // comment says so, and the loader names the field).
    for name in [
        CB01,
        "selftest-callbacks-06-pre-patch-callback-enodev",
        "selftest-callbacks-11-atomic-replace",
        "selftest-livepatch-02-multiple-livepatches",
    ] {
        let original = model(name);
        let skeleton = validate::infer::infer("t.txt", &golden(name)).unwrap();
        assert!(skeleton.contains("# - [[tasks]]"), "{skeleton}");
        assert!(scenario::parse("bare", "bare.toml", &skeleton).is_err(), "{name}: no tasks yet");
        let toml =
            format!("{skeleton}\n[[tasks]]\ncomm = \"bash\"\n\n[[tasks]]\ncomm = \"swapper/0\"\nkind = \"idle\"\n");
        let spec =
            scenario::parse("inferred", "inferred.toml", &toml).unwrap_or_else(|e| panic!("{name}: {e}\n{toml}"));
        let cmds = |s: &klp_model::Spec| -> Vec<String> {
            s.admin.ops.iter().map(|o| klp_model::dmesg::command_line(s, o)).collect()
        };
        // The commands the harness logs (its /proc reads leave no `% ` line in the log).
        let logged: Vec<String> = cmds(&original.spec)
            .into_iter()
            .filter(|l| klp_traces::script::scenario_keeps(&original.spec, l))
            .collect();
        assert_eq!(cmds(&spec), logged, "{name}");
        let names = |s: &klp_model::Spec| -> Vec<String> { s.patches.iter().map(|p| p.name.clone()).collect() };
        assert_eq!(names(&spec), names(&original.spec), "{name}");
        // The callback selftests print nothing a function would: the skeleton admits them.
        if name.starts_with("selftest-callbacks-") {
            let m = KlpSystem::new(spec, klp_properties::catalogue);
            assert!(matches!(check(&m, name, &golden(name)), Verdict::Admitted { .. }), "{name}\n{toml}");
        }
    }
}

fn klpcheck(args: &[&str]) -> (Option<i32>, String) {
    let o = crate::common::klpcheck().args(args).output().unwrap();
    (o.status.code(), text(&o))
}

/// The CLI: exit 0 admitted (a time-stamped dmesg without `% ` lines), 1 rejected, 2 bad input
/// with file:line, and the JSON fields.
#[test]
fn cli_exit_codes_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let dmesg: String = lines_of(CB09)
        .iter()
        .filter(|l| !l.starts_with("% "))
        .enumerate()
        .map(|(i, l)| format!("[  {}.{:06}] {l}\n", 100 + i, i * 1000))
        .collect();
    let ok = dir.path().join("dmesg.txt");
    std::fs::write(&ok, format!("[    1.000000] Linux version 6.12\n{dmesg}")).unwrap();
    let (code, out) = klpcheck(&["validate", ok.to_str().unwrap(), "--scenario", CB09]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("admitted: a behaviour of 'selftest-callbacks-09-busy-target-module' prints all 21 lines"),
        "{out}"
    );
    let rendered = dir.path().join("out");
    let (code, out) =
        klpcheck(&["validate", ok.to_str().unwrap(), "--scenario", CB09, "--out", rendered.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let stem = rendered.join(format!("{CB09}--validate"));
    let dmesg_out = std::fs::read_to_string(stem.with_extension("dmesg.txt")).unwrap();
    assert!(dmesg_out.contains("livepatch: 'test_klp_callbacks_demo': starting patching transition"), "{dmesg_out}");
    assert!(std::fs::read_to_string(stem.with_extension("timeline.txt")).unwrap().contains("step"));
    assert!(std::fs::read_to_string(stem.with_extension("svg")).unwrap().starts_with("<svg"));
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "livepatch: enabling patch 'test_klp_callbacks_demo'\n[   12.5 livepatch: x\n").unwrap();
    let (code, out) = klpcheck(&["validate", bad.to_str().unwrap(), "--scenario", CB09]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("bad.txt:2: a time stamp `[` without its `]`"), "{out}");
    let wrong = dir.path().join("wrong.txt");
    // Printable (the reversal completes) but not first.
    std::fs::write(&wrong, "livepatch: 'test_klp_callbacks_demo': unpatching complete\n").unwrap();
    let (code, out) = klpcheck(&["validate", wrong.to_str().unwrap(), "--scenario", CB09, "--json"]);
    assert_eq!(code, Some(1), "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["verdict"], "rejected");
    assert_eq!(j["rejected"]["lineno"], 1);
    assert_eq!(j["rejected"]["why"], "not_next");
    let (code, out) = klpcheck(&["validate", wrong.to_str().unwrap(), "--infer"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("name = \"test_klp_callbacks_demo\""), "{out}");
    // "patching complete" is a line this scenario never prints: the busy worker keeps the
    // patching transition from completing in every behaviour.
    std::fs::write(&wrong, "livepatch: 'test_klp_callbacks_demo': patching complete\n").unwrap();
    let (code, out) = klpcheck(&["validate", wrong.to_str().unwrap(), "--scenario", CB09]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("no step of the scenario prints this line at all (all 230 reachable states explored)"),
        "{out}"
    );
}

/// `klp_try_switch_task()` debug lines in a log are observations checked against the state: the
/// busy kworker "is sleeping on function busymod_work_func" after the transition started is
/// admitted; the same line for the idle task (which has no such frame) is not.
#[test]
fn debug_lines_are_checked_observations() {
    let m = model(CB09);
    let all = lines_of(CB09);
    let cut = all.iter().position(|l| l.ends_with("starting patching transition")).unwrap() + 1;
    let mut l = all[..cut].to_vec();
    l.push("livepatch: klp_try_switch_task: kworker/0:1:2 is sleeping on function busymod_work_func".into());
    assert!(matches!(check(&m, CB09, &join(&l)), Verdict::Admitted { .. }));
    l.push("livepatch: klp_try_switch_task: swapper/0:0 is sleeping on function busymod_work_func".into());
    match check(&m, CB09, &join(&l)) {
        Verdict::Rejected { line, why, .. } => assert_eq!((line.lineno, why), (cut + 2, Why::ObservationFails)),
        v => panic!("{v:?}"),
    }
    l.pop();
    l.push("livepatch: klp_try_switch_task: nosuch:7 is running".into());
    match check(&m, CB09, &join(&l)) {
        Verdict::Rejected { line, why, .. } => assert_eq!((line.lineno, why), (cut + 2, Why::UnknownTask)),
        v => panic!("{v:?}"),
    }
}
