//! Traces end to end: the golden counterexamples (traces/golden/counterexamples/index.toml),
//! byte for byte and replayed; the three renderings of a trace agree on the steps; the
//! no-stack-check timeline is short and shows the task, the old frame and the new call;
//! `klpcheck run`, `render` and `replay` on good and bad input.
//!
//! `KLPCHECK_BLESS=1` (scripts/bless.sh) rewrites the golden files instead of comparing.

use crate::common::{klpcheck, root, text};
use klp_traces::{naming, Trace};
use std::path::Path;

const GOLDEN: &str = "traces/golden/counterexamples";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    trace: Vec<Row>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    scenario: String,
    variant: String,
    property: String,
}

fn rows() -> Vec<Row> {
    let path = root().join(GOLDEN).join("index.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let index: Index = toml::from_str(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    index.trace
}

fn stem(r: &Row) -> String {
    naming::stem(&r.scenario, &r.variant, &r.property)
}

/// Runs `klpcheck check` for a row in a scratch directory (so that paths in the renderings are
/// the repository-relative `traces/golden/counterexamples/...`), renders the SVG, and returns
/// (file name, contents) of the row's four renderings.
fn generate(r: &Row, scratch: &Path) -> Vec<(String, String)> {
    let mut cmd = klpcheck();
    cmd.current_dir(scratch).args(["check", &r.scenario, "--variant", &r.variant, "--threads", "1", "--out", GOLDEN]);
    let sometimes = klp_properties::docs()
        .iter()
        .any(|d| d.name == r.property && d.expectation == stateright::Expectation::Sometimes);
    if sometimes {
        cmd.args(["--witness", &r.property]);
    }
    let o = cmd.output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let stem = stem(r);
    let json = format!("{GOLDEN}/{stem}{}", naming::JSON);
    let svg = format!("{GOLDEN}/{stem}{}", naming::SVG);
    let o = klpcheck().current_dir(scratch).args(["render", &json, "--svg", &svg]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    [naming::JSON, naming::TIMELINE, naming::DMESG, naming::SVG]
        .iter()
        .map(|ext| {
            let name = format!("{stem}{ext}");
            let body = std::fs::read_to_string(scratch.join(GOLDEN).join(&name))
                .unwrap_or_else(|e| panic!("{name} not written: {e}"));
            (name, body)
        })
        .collect()
}

#[test]
fn golden_counterexamples_byte_for_byte_and_replayed() {
    let bless = std::env::var_os("KLPCHECK_BLESS").is_some();
    let dir = root().join(GOLDEN);
    let mut expected_files = vec!["index.toml".to_string()];
    for r in rows() {
        let scratch = tempfile::tempdir().unwrap();
        for (name, body) in generate(&r, scratch.path()) {
            let file = dir.join(&name);
            if bless {
                std::fs::write(&file, &body).unwrap();
            } else {
                let golden = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{}: {e} (run scripts/bless.sh)", file.display()));
                assert!(golden == body, "{name} differs from the golden file (scripts/bless.sh):\n{body}");
            }
            expected_files.push(name);
        }
        // The committed JSON replays from the repository root, as its last line says.
        let json = format!("{GOLDEN}/{}{}", stem(&r), naming::JSON);
        let o = klpcheck().current_dir(root()).args(["replay", &json]).output().unwrap();
        let t = text(&o);
        assert!(t.contains(" confirmed"), "{t}");
        let trace = klp_traces::read_json(&root().join(&json)).unwrap();
        assert_eq!(o.status.code(), Some(if trace.verdict == "violated" { 1 } else { 0 }), "{t}");
        assert_eq!(trace.replay, format!("klpcheck replay {json}"));
    }
    // No stale golden files.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !expected_files.contains(&name) {
            if bless {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                panic!("{GOLDEN}/{name} is not in index.toml (scripts/bless.sh removes it)");
            }
        }
    }
}

/// The step numbers and action texts each rendering shows, which must be the JSON's.
fn agree(trace: &Trace, timeline: &str, dmesg: &str, svg: &str) {
    let want: Vec<(usize, String)> = trace.steps.iter().map(|s| (s.i, s.text.clone())).collect();
    // Timeline: one row per step, "  <i>  <text>" after the two-character mark, in each band of
    // columns; an action too long for its column goes on under it (compared without spaces,
    // where it was wrapped or cut).
    let squash = |t: &str| t.split_whitespace().collect::<String>();
    let mut rows: Vec<(usize, String)> = Vec::new();
    let mut last_was_step = false;
    for l in timeline.lines() {
        if l.starts_with("-- columns ") && !rows.is_empty() {
            break;
        }
        let parsed = l.get(2..).and_then(|rest| {
            let (n, action) = rest.trim_start().split_once("  ")?;
            Some((n.parse::<usize>().ok()?, action.split(" | ").next()?.trim_end().to_string()))
        });
        let go_on = l.get(..8).is_some_and(|h| h.trim().is_empty()) && l.len() > 8 && !l[8..].starts_with('(');
        match (parsed, rows.last_mut()) {
            (Some(row), _) => {
                rows.push(row);
                last_was_step = true;
                continue;
            }
            (None, Some(prev)) if last_was_step && go_on => prev.1 += l[8..].split(" |").next().unwrap_or(""),
            _ => last_was_step = false,
        }
    }
    let rows: Vec<(usize, String)> = rows.into_iter().map(|(i, a)| (i, squash(&a))).collect();
    let want: Vec<(usize, String)> = want.into_iter().map(|(i, a)| (i, squash(&a))).collect();
    assert_eq!(rows, want, "timeline rows\n{timeline}");
    // Transcript: every step starts with its command (`% ...`) or `-- <action>`, then exactly
    // the step's kernel messages (a lasso's cycle marks where the cycle starts, once).
    let cycle = "-- cycle: the steps from here on repeat forever";
    assert_eq!(dmesg.matches(cycle).count(), usize::from(trace.cycle_start.is_some()), "cycle mark\n{dmesg}");
    let mut seen: Vec<(usize, Vec<String>)> = Vec::new();
    for l in dmesg.lines().filter(|l| l.starts_with('[') && !l.ends_with(cycle)) {
        let (p, rest) = l.split_once("] ").unwrap();
        let i: usize = p.trim_start_matches('[').trim().parse().unwrap();
        match seen.last_mut() {
            Some((j, lines)) if *j == i => lines.push(rest.to_string()),
            _ => seen.push((i, vec![rest.to_string()])),
        }
    }
    let from_json: Vec<(usize, Vec<String>)> = trace
        .steps
        .iter()
        .map(|s| {
            let mut lines = Vec::new();
            if s.dmesg.first() != Some(&s.text) {
                lines.push(format!("-- {}", s.text));
            }
            lines.extend(s.dmesg.iter().cloned());
            (s.i, lines)
        })
        .collect();
    assert_eq!(seen, from_json, "transcript steps\n{dmesg}");
    // Picture: every step's number and action, in order.
    let mut at = 0;
    for s in &trace.steps {
        let needle = format!(">{}</text>", s.text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"));
        let k = svg[at..].find(&needle).unwrap_or_else(|| panic!("step {} '{}' missing from the SVG", s.i, s.text));
        at += k + needle.len();
    }
    // Each rendering ends with the replay command.
    // (The timeline continues a command too long for 120 columns with ` \`, as a shell does.)
    for r in [timeline.replace(" \\\n", " ").as_str(), dmesg] {
        assert!(r.trim_end().ends_with(&trace.replay), "{r}");
    }
    assert!(svg.contains(&format!("replay: {}</text>", trace.replay)));
    let json = klp_traces::to_json(trace);
    let last = json.trim_end().trim_end_matches('}').trim_end();
    assert!(last.ends_with(&format!("\"replay\": \"{}\"", trace.replay)), "{last}");
}

#[test]
fn the_three_renderings_agree_on_every_golden_trace() {
    let dir = root().join(GOLDEN);
    for r in rows() {
        let stem = stem(&r);
        let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{stem}{ext}"))).unwrap();
        let trace = klp_traces::read_json(&dir.join(format!("{stem}{}", naming::JSON))).unwrap();
        agree(&trace, &read(naming::TIMELINE), &read(naming::DMESG), &read(naming::SVG));
        // The renderings are functions of the JSON.
        assert_eq!(klp_traces::timeline::render(&trace), read(naming::TIMELINE));
        assert_eq!(klp_traces::transcript::render(&trace), read(naming::DMESG));
    }
}

/// Issue 17: timelines were 170-290 columns wide. Every golden timeline (counterexamples and
/// the simulate one) fits 120 columns: state columns that do not fit go to further bands.
#[test]
fn every_golden_timeline_fits_120_columns() {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [GOLDEN, "tests/golden/simulate"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(naming::TIMELINE) {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 20, "{files:?}");
    for f in files {
        let t = std::fs::read_to_string(&f).unwrap();
        for (i, l) in t.lines().enumerate() {
            let n = l.chars().count();
            assert!(n <= klp_traces::timeline::WIDTH, "{}:{}: {n} columns: {l}", f.display(), i + 1);
        }
    }
    assert_eq!(klp_traces::timeline::WIDTH, 120);
}

#[test]
fn no_stack_check_timeline_is_short_and_shows_task_old_frame_and_new_call() {
    let t =
        std::fs::read_to_string(root().join(GOLDEN).join("stack-check@no-stack-check--no_mixed_universe.timeline.txt"))
            .unwrap();
    assert!(t.lines().count() <= 40, "{} lines\n{t}", t.lines().count());
    // The step where consistency breaks: the transition completes while cat sleeps in the old
    // vfs_read(); cat's next call runs the new cmdline_proc_show().
    // The row is in each band of columns (cat's column is in the first); its label names the
    // completion the last try ran (issue 17), wrapped when it is wider than the action column.
    let bad: Vec<&str> = t.lines().filter(|l| l.starts_with("!!   4  klp_try_switch_task(cat)")).collect();
    assert_eq!(bad.len(), t.matches("\n-- columns ").count().max(1), "{t}");
    assert!(t.contains("klp_complete_transition()"), "{t}");
    assert!(bad[0].contains("| ps=-1 TIF=0 sleeping vfs_read@orig*"), "{t}");
    let next: Vec<&str> = t.lines().filter(|l| l.starts_with("=>")).collect();
    assert_eq!(next.len(), 1, "{t}");
    assert!(next[0].starts_with("=>      (cat runs on)  "), "{t}");
    assert!(next[0].ends_with("  | next call: vfs_read@orig > cmdline_proc_show@lp1"), "{t}");
}

#[test]
fn check_names_files_by_variant_and_witness() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .args(["check", "stack-check", "--set", "stack_check=none", "--threads", "1"])
        .args(["--witness", "transition_completed", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    // The timeline, not only the step list, on stderr.
    assert!(t.contains("!!   4  klp_try_switch_task(cat)"), "{t}");
    for stem in ["stack-check@custom--no_mixed_universe", "stack-check@custom--transition_completed"] {
        for ext in [naming::JSON, naming::TIMELINE, naming::DMESG] {
            assert!(out.path().join(format!("{stem}{ext}")).exists(), "{stem}{ext}: {t}");
        }
    }
    let w = klp_traces::read_json(&out.path().join("stack-check@custom--transition_completed.json")).unwrap();
    assert_eq!((w.verdict.as_str(), w.violation.is_none()), ("witness", true));
    assert_eq!(w.found_by, "klpcheck check stack-check --set stack_check=none --witness transition_completed");
    let o = klpcheck().arg("replay").arg(out.path().join("stack-check@custom--transition_completed.json")).output();
    let o = o.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn replay_names_the_first_refused_step_and_rejects_schema_1() {
    let dir = tempfile::tempdir().unwrap();
    let golden = root().join(GOLDEN).join("stack-check@no-stack-check--no_mixed_universe.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
    // Step 3 becomes a wake-up of cat, which is running in vfs_read(): the model refuses it.
    v["steps"][2]["action"] = serde_json::json!({ "wake": 0 });
    let f = dir.path().join("bad.json");
    std::fs::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
    let o = klpcheck().current_dir(root()).arg("replay").arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("step 2 valid: cat: syscall -> vfs_read()\nstep 3 REFUSED: cat: schedule()"), "{t}");
    v["schema"] = serde_json::json!(1);
    std::fs::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
    let o = klpcheck().arg("replay").arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("trace schema 1, this klpcheck reads schema 2 only"), "{t}");
}

#[test]
fn run_prints_the_selftest_transcript() {
    let name = "selftest-livepatch-01-basic-function-patching";
    let o = klpcheck().args(["run", name]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let golden = std::fs::read_to_string(root().join(format!("traces/golden/selftests/{name}.txt"))).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), golden);
    let o = klpcheck().args(["run", "default"]).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("default: scenario 'default' has no script"), "{t}");
}

/// Issue 17: `klpcheck run mine.toml` printed only the kernel's `livepatch:` lines of a
/// scenario whose modules are not named `test_klp_*` (the selftest harness's grep): the user's
/// own commands are kept too, in the order they ran.
#[test]
fn run_keeps_the_scenarios_own_commands() {
    let o = klpcheck().args(["run", "stuck-script"]).output().unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let commands: Vec<&str> = t.lines().filter(|l| l.starts_with('%')).collect();
    assert_eq!(
        commands,
        [
            "% insmod test_modules/lp1.ko",
            "% insmod test_modules/xfs.ko",
            "% echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "% insmod test_modules/lp2.ko"
        ],
        "{t}"
    );
    assert!(t.lines().next().is_some_and(|l| l == "% insmod test_modules/lp1.ko"), "{t}");
}

/// Issue 17: `replay --state` printed the model's `Debug` dump (indices, `Inline`, `Some(..)`);
/// it prints the state by name.
#[test]
fn replay_state_names_tasks_patches_and_functions() {
    let json = root().join(GOLDEN).join("stack-check@no-stack-check--no_mixed_universe.json");
    let o = klpcheck().arg("replay").arg(&json).arg("--state").output().unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let state: Vec<&str> =
        t.lines().skip_while(|l| *l != "final state:").skip(1).take_while(|l| !l.starts_with("step ")).collect();
    assert_eq!(
        state,
        [
            "klp_patches (oldest first): lp1",
            "klp_transition_patch: NULL; klp_target_state: -1 (KLP_TRANSITION_IDLE)",
            "tasks:",
            "  cat  patch_state -1, TIF_PATCH_PENDING 0, sleeping: vfs_read@orig",
            "patches:",
            "  lp1: enabled",
            "    object vmlinux: patched",
            "      func vfs_read: patched 1, transition 0",
            "      func cmdline_proc_show: patched 1, transition 0",
            "func_stacks:",
            "  vfs_read: lp1 (top first)",
            "  cmdline_proc_show: lp1 (top first)",
            "admin script: 1/1 commands done; finished",
        ],
        "{t}"
    );
    assert!(!t.contains("Some(") && !t.contains("Inline") && !t.contains("stack: ["), "{t}");
}

#[test]
fn render_writes_an_svg_with_old_and_new_frames() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("x.svg");
    let json = root().join(GOLDEN).join("stack-check@no-stack-check--no_mixed_universe.json");
    let o = klpcheck().arg("render").arg(&json).arg("--svg").arg(&svg).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(s.contains(">vfs_read@orig</text>") && s.contains(">cmdline_proc_show@lp1</text>"));
    let o = klpcheck().args(["render", "no-such.json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
