//! kernel/sched/core.rs and the task side of transition.c under the `preempt`,
//! `sched_try_switch`, `reliable_stack` and `task_switch_lock` knobs.

use klp_model::log::{Dmesg, NoLog};
use klp_model::state::State;
use klp_model::task::{Context, PatchState};
use klp_model::{Action, KlpSystem};
use stateright::Model;

/// `t` (a kthread) waits for work in its main loop and may call `f`, which lp1 patches, and `g`,
/// which it does not; `f` and `g` sleep (`g` freezably) and have a cond_resched() point.
const SRC: &str = r#"
[[functions]]
name = "f"
sleeps = "interruptible"
cond_resched = true
[[functions]]
name = "g"
sleeps = "interruptible"
freezable = true
cond_resched = true
[[functions]]
name = "h"
[[tasks]]
comm = "t"
kind = "kthread"
entry = ["f", "g", "h"]
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["f"]
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }]
"#;

fn sys(sets: &[(&str, &str)]) -> KlpSystem {
    let mut spec = klp_model::scenario::parse("t", "t.toml", SRC).unwrap();
    for (k, v) in sets {
        spec.variant.set(k, v).unwrap();
    }
    KlpSystem::new(spec, Vec::new)
}

fn run(m: &KlpSystem, st: &State, acts: &[Action]) -> State {
    let mut st = st.clone();
    for &a in acts {
        let mut enabled = Vec::new();
        m.actions(&st, &mut enabled);
        assert!(enabled.contains(&a), "{a:?} not enabled in {enabled:?}");
        st = m.step(&st, a, &mut NoLog).unwrap();
    }
    st
}

fn enabled(m: &KlpSystem, st: &State) -> Vec<Action> {
    let mut v = Vec::new();
    m.actions(st, &mut v);
    v
}

/// lp1 enabled while `t` runs `func` (its first pass fails: `t` is running).
fn in_transition_in(m: &KlpSystem, func: u8) -> State {
    run(m, &m.init_state(), &[Action::Call(0, func), Action::Admin(0), Action::KlpTrySwitchTask(0)])
}

#[test]
fn a_preempted_task_is_not_task_curr_and_resumes_where_it_was() {
    let m = sys(&[]);
    let st = in_transition_in(&m, 2); // h: no sleep, no cond_resched(): preemptible under full only
    assert!(st.tasks[0].tif_patch_pending && st.pass.is_none());
    let pre = run(&m, &st, &[Action::Preempt(0)]);
    assert_eq!(pre.tasks[0].context, Context::Preempted);
    assert_eq!(enabled(&m, &pre).iter().filter(|a| a.task() == Some(0)).collect::<Vec<_>>(), [&Action::Resume(0)]);
    // The next pass checks its stack (h is not patched) and switches it, silently.
    let mut log = Dmesg::default();
    let pass = m.step(&pre, Action::KlpTransitionWork, &mut log).unwrap();
    let done = m.step(&pass, Action::KlpTrySwitchTask(0), &mut log).unwrap();
    // (the only thread switched, the transition completes: patch_state is IDLE again)
    assert!(!done.tasks[0].tif_patch_pending && done.tasks[0].patch_state != PatchState::Unpatched);
    assert!(!log.0.iter().any(|l| l.contains("is running")), "{:?}", log.0);
    let back = run(&m, &pre, &[Action::Resume(0)]);
    assert_eq!(back.tasks[0].context, Context::Running);
    assert_eq!(back.tasks[0].stack, st.tasks[0].stack);
    // Preemption itself switches nothing (__state is TASK_RUNNING).
    assert_eq!(pre.tasks[0].patch_state, PatchState::Unpatched);
}

#[test]
fn preemption_points_follow_the_preempt_knob() {
    for (preempt, in_h, in_f) in [("full", true, true), ("voluntary", false, true), ("none", false, true)] {
        let m = sys(&[("preempt", preempt)]);
        let h = enabled(&m, &in_transition_in(&m, 2)).contains(&Action::Preempt(0));
        let f = enabled(&m, &in_transition_in(&m, 0)).contains(&Action::Preempt(0));
        assert_eq!((h, f), (in_h, in_f), "preempt = {preempt}");
    }
    // voluntary: might_sleep() points too; none: only cond_resched() points.
    let src = SRC.replace("cond_resched = true\n[[functions]]\nname = \"g\"", "[[functions]]\nname = \"g\"");
    let mut spec = klp_model::scenario::parse("t", "t.toml", &src).unwrap();
    spec.variant.set("preempt", "none").unwrap();
    let m = KlpSystem::new(spec.clone(), Vec::new);
    assert!(!enabled(&m, &in_transition_in(&m, 0)).contains(&Action::Preempt(0)));
    spec.variant.set("preempt", "voluntary").unwrap();
    let m = KlpSystem::new(spec, Vec::new);
    assert!(enabled(&m, &in_transition_in(&m, 0)).contains(&Action::Preempt(0)));
}

#[test]
fn schedule_switches_only_freezable_sleeps_upstream() {
    let m = sys(&[]);
    // g sleeps freezably: __schedule() switches t (g is not patched).
    let st = run(&m, &in_transition_in(&m, 1), &[Action::Schedule(0)]);
    assert_eq!((st.tasks[0].patch_state, st.tasks[0].tif_patch_pending), (PatchState::Patched, false));
    // The main loop's wait (a kworker's TASK_IDLE) does not.
    let st = run(&m, &in_transition_in(&m, 2), &[Action::Return(0), Action::Schedule(0)]);
    assert_eq!((st.tasks[0].patch_state, st.tasks[0].context), (PatchState::Unpatched, Context::Sleeping));
    // No cond_resched() step upstream.
    assert!(!enabled(&m, &in_transition_in(&m, 1)).contains(&Action::CondResched(0)));
}

#[test]
fn cond_resched_switches_at_its_points_from_v6_4_to_v6_15() {
    let m = sys(&[("sched_try_switch", "cond_resched")]);
    let st = in_transition_in(&m, 1);
    // Blocking switches nothing, even freezably.
    let slept = run(&m, &st, &[Action::Schedule(0)]);
    assert_eq!(slept.tasks[0].patch_state, PatchState::Unpatched);
    // cond_resched() in g switches t and it stays on its CPU; in f (patched) the check fails.
    let st = run(&m, &st, &[Action::CondResched(0)]);
    assert_eq!((st.tasks[0].patch_state, st.tasks[0].context), (PatchState::Patched, Context::Running));
    assert!(!enabled(&m, &st).contains(&Action::CondResched(0)), "TIF is clear: nothing to do");
    let mut log = Dmesg::default();
    let f = in_transition_in(&m, 0);
    let f = m.step(&f, Action::CondResched(0), &mut log).unwrap();
    assert_eq!(f.tasks[0].patch_state, PatchState::Unpatched);
    assert_eq!(log.0, ["livepatch: klp_try_switch_task: t:1 is sleeping on function f"]);
    // sched_try_switch = none: neither.
    let m = sys(&[("sched_try_switch", "none")]);
    let st = in_transition_in(&m, 1);
    assert!(!enabled(&m, &st).contains(&Action::CondResched(0)));
    assert_eq!(run(&m, &st, &[Action::Schedule(0)]).tasks[0].patch_state, PatchState::Unpatched);
}

#[test]
fn without_a_reliable_stack_nothing_is_switched_by_a_stack_check() {
    let m = sys(&[("reliable_stack", "no")]);
    // klp_enable_patch() warns (pr_warn(), the patch is still enabled).
    let mut log = Dmesg::default();
    let on = m.step(&run(&m, &m.init_state(), &[Action::Schedule(0)]), Action::Admin(0), &mut log).unwrap();
    assert_eq!(
        log.0[1..3],
        [
            "livepatch: This architecture doesn't have support for the livepatch consistency model.",
            "livepatch: The livepatch transition may never complete."
        ]
    );
    assert!(on.klp_transition_patch.is_some());
    // Asleep in its main loop with an empty stack: still not switched, silently.
    let st = run(&m, &m.init_state(), &[Action::Schedule(0), Action::Admin(0)]);
    let mut log = Dmesg::default();
    let after = m.step(&st, Action::KlpTrySwitchTask(0), &mut log).unwrap();
    assert_eq!(after.tasks[0].patch_state, PatchState::Unpatched);
    assert!(after.tasks[0].tif_patch_pending);
    assert!(!log.0.iter().any(|l| l.contains("klp_try_switch_task")), "{:?}", log.0);
    // Nor by itself in a freezable sleep.
    let st = run(&m, &in_transition_in(&m, 1), &[Action::Schedule(0)]);
    assert_eq!(st.tasks[0].patch_state, PatchState::Unpatched);
}

#[test]
fn unlocked_switch_samples_then_stores() {
    let m = sys(&[("task_switch_lock", "none")]);
    let st = run(&m, &m.init_state(), &[Action::Schedule(0), Action::Admin(0), Action::KlpTrySwitchTask(0)]);
    assert!(st.pass.is_some_and(|p| p.half == Some(klp_model::state::PassHalf::StackSampled)), "{:?}", st.pass);
    assert_eq!(st.tasks[0].patch_state, PatchState::Unpatched);
    // The task runs in between: woken, it calls f and gets the original.
    let st = run(&m, &st, &[Action::Wake(0), Action::Call(0, 0)]);
    assert_eq!(st.tasks[0].stack[0].version, klp_model::ids::Version::ORIGINAL);
    // The store switches it anyway (and the transition completes under the original f).
    let st = run(&m, &st, &[Action::KlpSwitchTaskStore(0)]);
    assert!(!st.tasks[0].tif_patch_pending && st.tasks[0].patch_state != PatchState::Unpatched);
    assert_eq!(st.tasks[0].stack[0].version, klp_model::ids::Version::ORIGINAL);
}
