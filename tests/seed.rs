//! The seed discussion's questions (LKML 2018; docs/design-variants.md, first table) as
//! scenario x variant runs of `klpcheck check SCENARIO --variant P [--set knob=value]`: every
//! verdict that differs from "holds"/"reachable" and the number of distinct states are pinned,
//! so a model change that moves an answer fails here (rows: tests/seed/cases.toml). Upstream
//! violates no safety property on any seed scenario; where a task sleeps forever in a patched
//! function, `transition_completes` and `patch_removable_without_force` fail upstream too, as
//! in the kernel (the transition stays pending until it is reversed or forced).

use crate::common;
use assert_cmd::Command;
use common::{replay_steps, trace_of};
use klp_model::state::ModState;
use klp_model::{scenario, KlpSystem};
use stateright::{Checker, Model, Property};
use std::path::PathBuf;

/// One run: scenario, preset ("upstream" or a model/variants name), extra `--set`s, distinct
/// states, the violated properties, the unreachable `sometimes` properties (sorted). The rows
/// are data: tests/seed/cases.toml.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Case {
    scenario: String,
    variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sets: Vec<String>,
    states: u64,
    violated: Vec<String>,
    unreachable: Vec<String>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

const CASES_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed/cases.toml");

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(CASES_FILE).unwrap();
    toml::from_str::<Cases>(&text).unwrap_or_else(|e| panic!("{CASES_FILE}: {e}")).case
}

/// Runs `klpcheck check` with `--json` and returns (distinct states, violated, unreachable).
fn run(c: &Case) -> (u64, Vec<String>, Vec<String>, Option<i32>) {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("klpcheck").unwrap();
    cmd.args(["check", &c.scenario, "--variant", &c.variant, "--json", "--threads", "1", "--out"]).arg(out.path());
    for s in &c.sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    });
    let j = &doc["runs"][0];
    assert_eq!(j["complete"], true, "{}: search incomplete", c.scenario);
    let names = |verdict: &str| -> Vec<String> {
        let mut v: Vec<String> = j["properties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["verdict"] == verdict)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    (j["unique_states"].as_u64().unwrap(), names("violated"), names("unreachable"), o.status.code())
}

#[test]
fn seed_scenarios_under_each_variant() {
    let mut failures = Vec::new();
    let mut got = Vec::new();
    for c in cases() {
        let (states, violated, unreachable, code) = run(&c);
        let label = format!("{} --variant {} {:?}", c.scenario, c.variant, c.sets);
        eprintln!("{label}: {states} states, violated {violated:?}, unreachable {unreachable:?}");
        if states != c.states || violated != c.violated || unreachable != c.unreachable {
            failures.push(format!(
                "{label}: got {states} states, violated {violated:?}, unreachable {unreachable:?}; \
                 expected {} states, violated {:?}, unreachable {:?}",
                c.states, c.violated, c.unreachable
            ));
        }
        let want = if violated.is_empty() { 0 } else { 1 };
        if code != Some(want) {
            failures.push(format!("{label}: exit code {code:?}, expected {want}"));
        }
        got.push(Case { states, violated, unreachable, ..c });
    }
    if std::env::var_os("KLPCHECK_BLESS").is_some() && !failures.is_empty() {
        let text = std::fs::read_to_string(CASES_FILE).unwrap();
        let header: String =
            text.lines().take_while(|l| l.starts_with('#') || l.is_empty()).map(|l| format!("{l}\n")).collect();
        let body = toml::to_string(&Cases { case: got }).unwrap();
        std::fs::write(CASES_FILE, header + &body).unwrap();
        return;
    }
    assert!(failures.is_empty(), "\n{}\n(scripts/bless.sh rewrites {CASES_FILE})", failures.join("\n"));
}

#[test]
fn every_seed_scenario_runs_upstream_and_every_preset_is_used() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cases = cases();
    for e in std::fs::read_dir(root.join("model/scenarios")).unwrap() {
        let stem = e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        if stem.starts_with("seed-") {
            assert!(
                cases.iter().any(|c| c.scenario == stem && c.variant == "upstream" && c.sets.is_empty()),
                "{stem}: no upstream row"
            );
        }
    }
    // Presets of the seed discussion's knobs (the history presets have their own tests).
    const SEED_KNOBS: &[&str] = &[
        "disable",
        "reverse_transition",
        "disable_via",
        "callbacks_on_replace",
        "late_module_patching",
        "module_load_during_transition",
    ];
    for e in std::fs::read_dir(root.join("model/variants")).unwrap() {
        let path = e.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let preset = klp_model::preset::load(&path).unwrap();
        if preset.sets.iter().all(|(k, _)| SEED_KNOBS.contains(&k.as_str())) {
            assert!(cases.iter().any(|c| c.variant == stem), "preset {stem}: no seed row");
        }
    }
}

/// `module_load_during_transition = blocked`: the module load waits in `klp_module_coming()`
/// (a state before MODULE_STATE_LIVE that liveness properties can see), and some wait never
/// ends: a state where the module waits and no action is enabled but task steps that never
/// end the transition is reachable (here: the kthread sleeps for ever in the old do_work()).
#[test]
fn blocked_module_load_is_a_visible_pre_live_state() {
    let model = module_load_model("blocked");
    fn props() -> Vec<Property<KlpSystem>> {
        vec![
            Property::sometimes("module_waits", |_, st: &klp_model::State| {
                st.mods.iter().any(|m| m.state == ModState::KlpWait)
            }),
            Property::sometimes("waits_behind_stuck_transition", |m: &KlpSystem, st: &klp_model::State| {
                // Waiting, and the patching transition can no longer complete: the kthread
                // sleeps for ever in the original do_work().
                st.mods.iter().any(|x| x.state == ModState::KlpWait)
                    && st.klp_target_state == klp_model::task::PatchState::Patched
                    && st.tasks.iter().any(|t| {
                        t.context == klp_model::task::Context::Sleeping
                            && t.stack.iter().any(|f| {
                                m.spec.funcs[f.func as usize].name == "do_work"
                                    && f.version == klp_model::ids::Version::ORIGINAL
                            })
                    })
            }),
        ]
    }
    let model = KlpSystem::new(model.spec.as_ref().clone(), props);
    let checker = model.checker().threads(1).spawn_bfs().join();
    assert!(checker.discovery("module_waits").is_some());
    assert!(checker.discovery("waits_behind_stuck_transition").is_some());
}

fn module_load_model(value: &str) -> KlpSystem {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = scenario::read(&root.join("model/scenarios/seed-module-load-during-transition.toml")).unwrap();
    let mut v = scenario.variant.clone();
    v.set("module_load_during_transition", value).unwrap();
    let spec = scenario.build(v).unwrap();
    KlpSystem::new(spec, klp_properties::catalogue)
}

/// `module_load_during_transition = refused`: modprobe ran and the module is not loaded (the
/// scenario has no rmmod of it), i.e. klp_module_coming() refused it; upstream never does.
#[test]
fn refused_module_load_fails_only_in_the_variant() {
    fn props() -> Vec<Property<KlpSystem>> {
        vec![Property::sometimes("load_refused", |m: &KlpSystem, st: &klp_model::State| {
            let i = m.spec.admin.ops.iter().position(|o| o.op == klp_model::spec::AdminOp::InsmodModule(0)).unwrap();
            st.admin.runs(i) == 1 && st.mods[0].state == ModState::Unloaded
        })]
    }
    for (value, refused) in [("allowed", false), ("refused", true), ("blocked", false)] {
        let spec = module_load_model(value).spec.as_ref().clone();
        let checker = KlpSystem::new(spec, props).checker().threads(1).spawn_bfs().join();
        assert_eq!(checker.discovery("load_refused").is_some(), refused, "{value}");
    }
}

/// The empty-replace leak: the exact shortest counterexample, and replay (which sets the
/// spec from the trace's variant, deriving the empty patch again) confirms it.
#[test]
fn empty_replace_leak_counterexample_replays() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("klpcheck")
        .unwrap()
        .args(["check", "seed-empty-replace-callbacks", "--variant", "empty-replace-disable", "--threads", "1"])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let trace = trace_of(out.path(), "callback_side_effects_undone");
    let r = Command::cargo_bin("klpcheck").unwrap().arg("replay").arg(&trace).output().unwrap();
    let t = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(1), "{t}");
    assert!(t.contains("replay: all 6 steps valid; violation of 'callback_side_effects_undone' confirmed"), "{t}");
    let steps = replay_steps(&t);
    assert_eq!(
        steps,
        [
            "1  % insmod test_modules/lp1.ko",
            "2  swapper/0: do_idle() -> klp_update_patch_state()",
            "3  klp_try_switch_task(cat) -> klp_complete_transition()",
            "4  % insmod test_modules/klp_empty_replace.ko",
            "5  swapper/0: do_idle() -> klp_update_patch_state()",
            "6  klp_try_switch_task(cat) -> klp_complete_transition()",
        ]
    );
}
