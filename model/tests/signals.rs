//! `klp_send_signals()`: after a failed pass, tasks with TIF_PATCH_PENDING sleeping
//! interruptibly are woken.

use klp_model::log::{Dmesg, NoLog};
use klp_model::task::Context;
use klp_model::{Action, KlpSystem};
use stateright::Model;

#[test]
fn signals_wake_interruptible_sleepers_with_tif() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/stack-check.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let mut st = m.init_state();
    // cat enters vfs_read, lp1 is enabled (its first pass fails: cat runs), cat sleeps in the
    // old vfs_read, so its stack check fails too.
    for a in [Action::Syscall(0, 0), Action::Admin(0), Action::KlpTrySwitchTask(0), Action::Schedule(0)] {
        st = m.step(&st, a, &mut NoLog).unwrap();
    }
    let mut acts = Vec::new();
    m.actions(&st, &mut acts);
    assert!(acts.contains(&Action::KlpSendSignals), "{acts:?}");
    assert!(st.tasks[0].tif_patch_pending);
    let mut log = Dmesg::default();
    let woken = m.step(&st, Action::KlpSendSignals, &mut log).unwrap();
    assert_eq!(log.0, ["livepatch: signaling remaining tasks"]);
    assert_eq!(woken.tasks[0].context, Context::Running);
    // Not offered once the task is awake.
    let mut acts = Vec::new();
    m.actions(&woken, &mut acts);
    assert!(!acts.contains(&Action::KlpSendSignals));
}

#[test]
fn fork_copies_patch_state_and_tif_together() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fork.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let mut st = m.init_state();
    assert_eq!(st.tasks[1].context, Context::Unborn);
    // lp1 is enabled; its first pass finds bash in user mode and switches it; the idle task
    // is running. Then bash cannot fork until the pass has left the thread list.
    st = m.step(&st, Action::Admin(0), &mut NoLog).unwrap();
    assert!(st.pass.is_some());
    let mut acts = Vec::new();
    m.actions(&st, &mut acts);
    assert!(!acts.contains(&Action::Fork(0)), "fork under tasklist_lock: {acts:?}");
    while st.pass.is_some() {
        let next = st.pass.unwrap().next;
        st = m.step(&st, Action::KlpTrySwitchTask(next), &mut NoLog).unwrap();
    }
    let parent = st.tasks[0];
    st = m.step(&st, Action::Fork(0), &mut NoLog).unwrap();
    let child = &st.tasks[1];
    assert_eq!(child.context, Context::Forked);
    assert_eq!((child.patch_state, child.tif_patch_pending), (parent.patch_state, parent.tif_patch_pending));
}

/// `pr_notice("signaling remaining tasks")` only when `klp_signals_cnt == SIGNALS_TIMEOUT`: the
/// first send of a transition prints it, later sends do not, and `klp_start_transition()`
/// (here: the reversal's) resets the counter.
#[test]
fn signals_notice_once_per_transition() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/stack-check.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let mut st = m.init_state();
    for a in [Action::Syscall(0, 0), Action::Admin(0), Action::KlpTrySwitchTask(0), Action::Schedule(0)] {
        st = m.step(&st, a, &mut NoLog).unwrap();
    }
    let mut log = Dmesg::default();
    st = m.step(&st, Action::KlpSendSignals, &mut log).unwrap();
    assert_eq!(log.0, ["livepatch: signaling remaining tasks"]);
    // Woken, cat sleeps again in the old vfs_read: the next send wakes it silently.
    st = m.step(&st, Action::Schedule(0), &mut NoLog).unwrap();
    let mut log = Dmesg::default();
    st = m.step(&st, Action::KlpSendSignals, &mut log).unwrap();
    assert!(log.0.is_empty(), "{:?}", log.0);
    assert_eq!(st.tasks[0].context, Context::Running);
    // The bit only changes a log line: the state is the one the first send reached.
    st = m.step(&st, Action::Schedule(0), &mut NoLog).unwrap();
    let once = {
        let mut s = m.init_state();
        for a in [Action::Syscall(0, 0), Action::Admin(0), Action::KlpTrySwitchTask(0), Action::Schedule(0)] {
            s = m.step(&s, a, &mut NoLog).unwrap();
        }
        s
    };
    assert!(st.klp_signals_sent.0 && !once.klp_signals_sent.0);
    assert_eq!(st, once);
}
