//! Historical bugs on the transition/task side, rediscovered by their design knobs
//! (../shared/docs/design-variants.md, second table). For each: with the historical preset the
//! property is violated with the exact shortest counterexample, and `klpcheck replay`
//! confirms it; with upstream every `always` property holds (state count pinned).

mod common;
use assert_cmd::Command;
use common::{replay_steps, trace_of};

fn klpcheck() -> Command {
    Command::cargo_bin("klpcheck").unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A historical value that yields the real bug: scenario, `--variant`/`--set` arguments,
/// property, and the shortest counterexample's steps as `klpcheck replay` prints them.
struct Bug {
    scenario: &'static str,
    variant: &'static [&'static str],
    property: &'static str,
    steps: &'static [&'static str],
}

const BUGS: &[Bug] = &[
    // d0807da78e11: patches 1i and 2i immediate, 3 not; patch 3's stack check looks only at 2i's
    // version, so cat, sleeping in 1i's vfs_read(), is switched and the transition completes.
    Bug {
        scenario: "history-immediate",
        variant: &["--variant", "immediate"],
        property: "no_mixed_universe",
        steps: &[
            "1  % insmod test_modules/lp1i.ko",
            "2  cat: syscall -> vfs_read()",
            "3  % insmod test_modules/lp2i.ko",
            "4  % insmod test_modules/lp3.ko",
            "5  cat: schedule()",
            "6  klp_try_switch_task(cat)",
        ],
    },
    // 747f7a290117: the child's TIF_PATCH_PENDING is copied before the transition starts, its
    // patch_state after: a child at the initial state without TIF.
    Bug {
        scenario: "history-fork",
        variant: &["--variant", "fork-tif-before-state"],
        property: "tif_coherent",
        steps: &[
            "1  bash: fork()",
            "2  % insmod test_modules/lp1.ko",
            "3  klp_try_switch_task(bash)",
            "4  bash: klp_copy_process()",
        ],
    },
    // 747f7a290117, the WARN its commit message quotes: a reverse transition between the two
    // copies leaves the child at the target with TIF set, and klp_complete_transition() warns.
    Bug {
        scenario: "history-fork",
        variant: &["--variant", "fork-tif-before-state"],
        property: "warn_complete_pending",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  bash: fork()",
            "3  klp_try_switch_task(bash)",
            "4  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "5  bash: klp_copy_process()",
            "6  klp_transition_work_fn(): klp_try_complete_transition()",
        ],
    },
    // klp_complete_transition(), patching, without the synchronize after clearing
    // func->transition: cat's handler read transition = true, then reads patch_state IDLE.
    Bug {
        scenario: "history-sync-patching",
        variant: &["--variant", "sync-drop-in-complete-patching"],
        property: "warn_handler_idle",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  klp_complete_transition() continues",
            "4  cat: syscall -> vfs_read()",
            "5  klp_complete_transition() continues",
            "6  klp_complete_transition() continues",
            "7  cat: klp_ftrace_handler() continues",
        ],
    },
    // klp_complete_transition(), unpatching, without the synchronize after
    // klp_unpatch_objects(): cat's handler read lp2's func as the top of the func_stack, then
    // its cleared transition flag, and runs lp2's removed vfs_read().
    Bug {
        scenario: "history-sync-unpatching",
        variant: &["--variant", "sync-drop-in-complete-unpatching"],
        property: "no_mixed_universe",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  klp_complete_transition() continues",
            "4  klp_complete_transition() continues",
            "5  klp_complete_transition() continues",
            "6  % insmod test_modules/lp2.ko",
            "7  klp_try_switch_task(cat)",
            "8  klp_complete_transition() continues",
            "9  klp_complete_transition() continues",
            "10  klp_complete_transition() continues",
            "11  % echo 0 > /sys/kernel/livepatch/lp2/enabled",
            "12  klp_try_switch_task(cat)",
            "13  cat: syscall -> vfs_read()",
            "14  klp_complete_transition() continues",
            "15  klp_complete_transition() continues",
            "16  cat: klp_ftrace_handler() continues",
        ],
    },
    // barriers = no_init_wmb: klp_init_transition()'s patch_state writes lag its
    // func->transition writes; cat's handler reads transition = true and patch_state IDLE in the
    // middle of __klp_disable_patch().
    Bug {
        scenario: "history-barriers",
        variant: &["--variant", "no-init-wmb"],
        property: "warn_handler_idle",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "4  cat: syscall -> vfs_read()",
        ],
    },
    // barriers = no_handler_rmb: cat's handler reads patch_state (IDLE) before the disable and
    // func->transition (true) after it.
    Bug {
        scenario: "history-barriers",
        variant: &["--variant", "no-handler-rmb"],
        property: "warn_handler_idle",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  klp_complete_transition() continues",
            "4  klp_complete_transition() continues",
            "5  klp_complete_transition() continues",
            "6  cat: syscall -> vfs_read()",
            "7  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "8  cat: klp_ftrace_handler() continues",
        ],
    },
    // barriers = no_disable_wmb: cat sees its TIF_PATCH_PENDING, switches to unpatched on the
    // way to user mode, and re-enters vfs_read() while func->transition still reads false: lp1's
    // vfs_read(), then the transition completes and lp1 is unpatched under it.
    Bug {
        scenario: "history-barriers",
        variant: &["--variant", "no-disable-wmb"],
        property: "no_mixed_universe",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  klp_try_switch_task(cat)",
            "3  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "4  cat: exit_to_user_mode()",
            "5  cat: syscall -> vfs_read()",
            "6  klp_try_switch_task(cat)",
        ],
    },
    // barriers = no_reverse_wmb (e3ff7c609f39 v2 before review): the reversal's new TIF is seen
    // before the flipped target; klp_update_patch_state() stores the old target (cat's own
    // state) and clears the flag: cat is left behind without TIF_PATCH_PENDING.
    Bug {
        scenario: "history-barriers",
        variant: &["--variant", "no-reverse-wmb"],
        property: "tif_coherent",
        steps: &[
            "1  % insmod test_modules/lp1.ko",
            "2  cat: syscall -> vfs_read()",
            "3  klp_try_switch_task(cat)",
            "4  cat: return",
            "5  % echo 0 > /sys/kernel/livepatch/lp1/enabled",
            "6  cat: exit_to_user_mode()",
        ],
    },
];

/// Scenario, variant arguments, distinct states: every `always` property holds.
const HOLDS: &[(&str, &[&str], u64)] = &[
    ("history-immediate", &[], 74),
    // The alternative fix: immediate patches kept, every version checked.
    ("history-immediate", &["--variant", "immediate", "--set", "stack_check=all"], 46),
    ("history-fork", &[], 404),
    ("history-sync-patching", &[], 17),
    // The other dropped point does not matter here (handlers split, no unpatching).
    ("history-sync-patching", &["--set", "synchronize_transition=drop_in_complete_unpatching"], 41),
    ("history-sync-unpatching", &[], 53),
    ("history-barriers", &[], 114),
    // reverse_order: no bug in the v4.12..v6.3 order even with a stack-checked self switch whose
    // reads of klp_target_state straddle the flip (README, "reverse_order").
    ("history-reverse-order", &[], 322),
    ("history-reverse-order", &["--variant", "reverse-order-flip-first"], 554),
];

#[test]
fn historical_values_rediscover_the_bug_and_replay_confirms() {
    for b in BUGS {
        let out = tempfile::tempdir().unwrap();
        let o = klpcheck()
            .args(["check", b.scenario, "--threads", "1"])
            .args(b.variant)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{} {:?}: {t}", b.scenario, b.variant);
        let verdict = t.lines().find(|l| l.trim_start().starts_with(&format!("{} ", b.property))).unwrap_or("");
        assert!(verdict.contains("VIOLATED"), "{}: {t}", b.property);
        let trace = trace_of(out.path(), b.property);
        let r = klpcheck().arg("replay").arg(&trace).output().unwrap();
        let rt = text(&r);
        assert_eq!(r.status.code(), Some(1), "{rt}");
        let confirmed = format!("replay: all {} steps valid; violation of '{}' confirmed", b.steps.len(), b.property);
        assert!(rt.contains(&confirmed), "{rt}");
        let steps = replay_steps(&rt);
        assert_eq!(steps, b.steps, "{} {}", b.scenario, b.property);
    }
}

#[test]
fn upstream_holds_on_every_history_scenario() {
    for (scenario, variant, states) in HOLDS {
        let out = tempfile::tempdir().unwrap();
        let o = klpcheck().args(["check", scenario]).args(*variant).arg("--out").arg(out.path()).output().unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{scenario} {variant:?}: {t}");
        assert!(t.contains(&format!("{states} distinct states")), "{scenario} {variant:?}: {t}");
        assert!(t.contains("search complete"), "{t}");
        assert!(!t.contains("VIOLATED"), "{t}");
    }
}
