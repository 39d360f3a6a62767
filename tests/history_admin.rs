//! Historical and proposed behaviours on the admin/module side (design-variants.md, second
//! table): each knob value rediscovers its real bug on a small `history-*` scenario, and
//! upstream Linux does not have it.
//!
//! For every row of [`VIOLATIONS`] the `klpcheck` binary checks the scenario under the preset:
//! the property must be VIOLATED with exactly the pinned shortest counterexample, and
//! `klpcheck replay` must confirm the written trace step by step. For every row of [`HOLDS`]
//! the scenario is explored to completion and every `always` property holds, with the state
//! count pinned. (These rows are also the golden counterexamples of the knobs.)

mod common;
use assert_cmd::Command;
use common::replay_steps;
use std::collections::BTreeMap;
use std::path::Path;

fn klpcheck() -> Command {
    Command::cargo_bin("klpcheck").unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// (scenario, preset, property, distinct states of the complete search, shortest counterexample).
type Violation = (&'static str, &'static str, &'static str, u64, &'static [&'static str]);

const VIOLATIONS: &[Violation] = &[
    // klp_alive = ignored (v3.19): lp2 is enabled while test_mod is COMING but before
    // klp_module_coming(); it binds and patches the module, then klp_module_coming() applies
    // lp1 on top of it and lp2 a second time. ("livepatch: Fix subtle race with coming and
    // going modules", v4.0.)
    (
        "history-klp-alive",
        "klp-alive-ignored",
        "func_stack_order",
        18,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(bash)",
            "3  % insmod test_modules/test_mod.ko",
            "4  % insmod test_modules/lp2.ko",
            "5  klp_try_switch_task(bash)",
            "6  klp_module_coming(test_mod)",
        ],
    ),
    (
        "history-klp-alive",
        "klp-alive-ignored",
        "no_dangling_obj_mod",
        18,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(bash)",
            "3  % insmod test_modules/test_mod.ko",
            "4  % insmod test_modules/lp2.ko",
        ],
    ),
    // force = put_module (the kpatch core module before dynup/kpatch#305): cat runs in lp1's
    // vfs_read() when the unpatching transition is forced; the module reference is dropped and
    // rmmod frees the code cat is running.
    (
        "history-force",
        "force-put-module",
        "no_freed_livepatch_code",
        112,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "4  cat: syscall -> vfs_read()",
            "5  klp_try_switch_task(cat)",
            "6  % echo 1 > /sys/kernel/livepatch/lp1/force",
            "7  klp_transition_work_fn(): klp_try_complete_transition()",
            "8  klp_free_patch_finish(lp1)",
            "9  % rmmod lp1",
        ],
    ),
    (
        "history-force",
        "force-put-module",
        "forced_module_kept",
        112,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "4  cat: syscall -> vfs_read()",
            "5  klp_try_switch_task(cat)",
            "6  % echo 1 > /sys/kernel/livepatch/lp1/force",
            "7  klp_transition_work_fn(): klp_try_complete_transition()",
            "8  klp_free_patch_finish(lp1)",
            "9  % rmmod lp1",
        ],
    ),
    // nullify_obj_mod_on_coming_error = no (before 4ff96fb52c69, v5.4): the refused module's
    // object keeps obj->mod, and the completing transition runs post_patch for it.
    (
        "history-nullify",
        "nullify-obj-mod-no",
        "callbacks_only_loaded",
        17,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  % insmod test_modules/test_mod.ko",
            "3  klp_try_switch_task(swapper/0)",
            "4  klp_module_coming(test_mod)",
            "5  swapper/0: do_idle()",
            "6  klp_transition_work_fn(): klp_try_complete_transition()",
        ],
    ),
    (
        "history-nullify",
        "nullify-obj-mod-no",
        "no_dangling_obj_mod",
        17,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  % insmod test_modules/test_mod.ko",
            "3  klp_try_switch_task(swapper/0)",
            "4  klp_module_coming(test_mod)",
        ],
    ),
    // reenable_disabled = yes with v5.1+ stacking: the older lp1 is disabled under lp2, stays
    // registered, and is re-enabled above lp2 (the LIFO rule of the registration API forbade
    // the disable; see `stacking_lifo_is_what_reenable_needs`).
    (
        "history-stacking",
        "reenable-disabled",
        "func_stack_order",
        13,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(bash)",
            "3  % insmod test_modules/lp2.ko",
            "4  klp_try_switch_task(bash)",
            "5  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "6  klp_try_switch_task(bash)",
            "7  % echo 1 > /sys/kernel/livepatch/lp1/enabled",
        ],
    ),
    // reenable_disabled = yes: the patch the atomic-replace lp2 replaced is re-enabled above it,
    // with or without the LIFO rule.
    (
        "history-reenable",
        "reenable-disabled",
        "func_stack_order",
        10,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(bash)",
            "3  % insmod test_modules/lp2.ko",
            "4  klp_try_switch_task(bash)",
            "5  % echo 1 > /sys/kernel/livepatch/lp1/enabled",
        ],
    ),
    (
        "history-reenable",
        "registration-api",
        "func_stack_order",
        10,
        &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(bash)",
            "3  % insmod test_modules/lp2.ko",
            "4  klp_try_switch_task(bash)",
            "5  % echo 1 > /sys/kernel/livepatch/lp1/enabled",
        ],
    ),
];

/// (scenario, preset, distinct states): every `always` property holds.
const HOLDS: &[(&str, &str, u64)] = &[
    ("history-klp-alive", "upstream", 16),
    ("history-force", "upstream", 102),
    ("history-nullify", "upstream", 16),
    ("history-stacking", "upstream", 13),
    ("history-stacking", "stacking-lifo", 8),
    ("history-stacking", "registration-api", 8),
    ("history-reenable", "upstream", 10),
];

/// Runs `klpcheck check` single-threaded; returns (exit code, output, verdict per property).
fn check(scenario: &str, preset: &str, out: &Path) -> (Option<i32>, String, BTreeMap<String, String>) {
    let o =
        klpcheck().args(["check", scenario, "--variant", preset, "--threads", "1", "--out"]).arg(out).output().unwrap();
    let t = text(&o);
    let verdicts = t
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    (o.status.code(), t, verdicts)
}

#[test]
fn historical_values_rediscover_their_bugs_and_replay_confirms() {
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for &(scenario, preset, property, states, expected) in VIOLATIONS {
        let dir = out.path().join(preset);
        let (code, t, verdicts) = check(scenario, preset, &dir);
        let row = format!("{scenario} --variant {preset}: {property}");
        if code != Some(1) || !t.contains(&format!("{states} distinct states")) || !t.contains("search complete") {
            failures.push(format!("{row}: exit {code:?}, expected 1 with {states} states\n{t}"));
            continue;
        }
        if verdicts.get(property).map(String::as_str) != Some("VIOLATED") {
            failures.push(format!("{row}: not violated\n{t}"));
            continue;
        }
        let trace = dir.join(format!("{scenario}@{preset}--{property}.json"));
        let r = klpcheck().arg("replay").arg(&trace).output().unwrap();
        let rt = text(&r);
        let confirmed = format!("replay: all {} steps valid; violation of '{property}' confirmed", expected.len());
        if r.status.code() != Some(1) || !rt.contains(&confirmed) {
            failures.push(format!("{row}: replay did not confirm\n{rt}"));
        }
        if replay_steps(&rt) != expected {
            failures.push(format!("{row}: counterexample differs:\n{:#?}", replay_steps(&rt)));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn upstream_and_fixed_values_hold() {
    let out = tempfile::tempdir().unwrap();
    for &(scenario, preset, states) in HOLDS {
        let (code, t, verdicts) = check(scenario, preset, out.path());
        assert_eq!(code, Some(0), "{scenario} --variant {preset}\n{t}");
        assert!(t.contains(&format!("{states} distinct states")), "{scenario} --variant {preset}\n{t}");
        assert!(t.contains("search complete"), "{t}");
        assert!(verdicts.values().all(|v| v != "VIOLATED"), "{t}");
        for d in klp_properties::docs().iter().filter(|d| d.partner.is_some()) {
            assert_eq!(verdicts.get(d.name).map(String::as_str), Some("holds"), "{scenario}: {}\n{t}", d.name);
        }
    }
}

/// The v5.1 change (d67a53720966) loses nothing upstream: with `stacking = "any"` and with
/// `"lifo"` every `always` property holds on history-stacking (see [`HOLDS`]); LIFO only makes
/// the older lp1 impossible to remove while lp2 is loaded (`livepatch_module_removable` becomes
/// unreachable). The design that needs LIFO back is re-enabling (the registration API): without
/// it func_stack_order breaks ([`VIOLATIONS`]), with it (registration-api) it holds.
#[test]
fn stacking_lifo_is_what_reenable_needs() {
    let out = tempfile::tempdir().unwrap();
    let removable = |preset| {
        let (_, t, v) = check("history-stacking", preset, out.path());
        (v.get("livepatch_module_removable").cloned().unwrap_or_default(), v.get("func_stack_order").cloned(), t)
    };
    let (up, order, t) = removable("upstream");
    assert_eq!((up.as_str(), order.as_deref()), ("reachable", Some("holds")), "{t}");
    let (lifo, order, t) = removable("stacking-lifo");
    assert_eq!((lifo.as_str(), order.as_deref()), ("unreachable", Some("holds")), "{t}");
    let (_, order, t) = removable("reenable-disabled");
    assert_eq!(order.as_deref(), Some("VIOLATED"), "{t}");
    let (_, order, t) = removable("registration-api");
    assert_eq!(order.as_deref(), Some("holds"), "{t}");
}

/// Every preset of this file sets exactly one knob to a documented non-upstream value, except
/// registration-api, the pre-v5.1 combination.
#[test]
fn presets_name_their_knobs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/variants");
    let expect = [
        ("klp-alive-ignored", "klp_alive=ignored"),
        ("force-put-module", "force=put_module"),
        ("nullify-obj-mod-no", "nullify_obj_mod_on_coming_error=no"),
        ("stacking-lifo", "stacking=lifo"),
        ("reenable-disabled", "reenable_disabled=yes"),
        ("registration-api", "stacking=lifo, reenable_disabled=yes"),
    ];
    for (name, described) in expect {
        let p = klp_model::preset::load(&dir.join(format!("{name}.toml"))).unwrap();
        assert_eq!(p.variant().describe(), described, "{name}");
    }
}
