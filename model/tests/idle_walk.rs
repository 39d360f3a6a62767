//! The idle walk of `klp_try_complete_transition()` (transition/idle.rs) and the fairness of the
//! idle loop (fairness.rs): an offline CPU's idle task is switched in one step under
//! `cpus_read_lock()` and in two without it; `do_idle()` is fair only with `wake_up_if_idle()`.

use klp_model::action::Action;
use klp_model::ids::Pid;
use klp_model::kernel::livepatch::transition::{
    holds_cpus_read_lock, klp_idle_cpu_offline, klp_switch_offline_idle, pass_action,
};
use klp_model::state::{Pass, State};
use klp_model::task::{Context, PatchState};
use klp_model::variant::{IdleWalkLock, WakeUpIfIdle};
use klp_model::KlpSystem;

const SRC: &str = "[[functions]]\nname = \"f\"\n\
                   [[tasks]]\ncomm = \"swapper/0\"\nkind = \"idle\"\n\
                   [[tasks]]\ncomm = \"swapper/1\"\nkind = \"idle\"\nonline = false\n\
                   [[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n\
                   [admin]\norder = \"any\"\nops = [{ op = \"cpu_up\", cpu = 1 }]\n";

fn pass_at(sys: &KlpSystem, next: Pid) -> (State, Pass) {
    let mut st = sys.init_state();
    // A failed earlier try: the pass ends without completing the transition.
    let pass = Pass { next, complete: false, half: None };
    st.pass = Some(pass);
    st.klp_transition_patch = Some(0);
    st.klp_target_state = PatchState::Patched;
    st.tasks[next as usize].patch_state = PatchState::Unpatched;
    st.tasks[next as usize].tif_patch_pending = true;
    (st, pass)
}

#[test]
fn the_walk_switches_an_offline_idle_task_in_one_step_under_the_lock_and_in_two_without() {
    let spec = klp_model::scenario::parse("t", "t.toml", SRC).unwrap();
    assert_eq!(spec.cpu_of(1), 1);
    let sys = KlpSystem::new(spec.clone(), Vec::new);
    let (st, pass) = pass_at(&sys, 1);
    assert_eq!(st.tasks[1].context, Context::Offline);
    assert_eq!(pass_action(&sys.spec, &st, pass), Action::KlpSwitchOfflineIdle(1));
    // cpu_up() waits for the idle walk's cpus_read_lock().
    assert!(holds_cpus_read_lock(&sys.spec, &st, 0));
    let mut after = st.clone();
    klp_switch_offline_idle(&sys.spec, &mut after, &mut klp_model::log::NoLog).unwrap();
    assert_eq!(after.tasks[1].patch_state, PatchState::Patched);
    assert!(!after.tasks[1].tif_patch_pending);

    let mut unlocked = spec;
    unlocked.variant.idle_walk_lock = IdleWalkLock::None;
    let sys = KlpSystem::new(unlocked, Vec::new);
    let (mut st, pass) = pass_at(&sys, 1);
    assert!(!holds_cpus_read_lock(&sys.spec, &st, 0));
    assert_eq!(pass_action(&sys.spec, &st, pass), Action::KlpIdleCpuOffline(1));
    klp_idle_cpu_offline(&mut st).unwrap();
    // The CPU comes online in between; the store still happens.
    st.tasks[1].context = Context::Running;
    assert_eq!(pass_action(&sys.spec, &st, st.pass.unwrap()), Action::KlpSwitchOfflineIdle(1));
    klp_switch_offline_idle(&sys.spec, &mut st, &mut klp_model::log::NoLog).unwrap();
    assert_eq!(st.tasks[1].patch_state, PatchState::Patched);
}

#[test]
fn do_idle_is_fair_only_with_wake_up_if_idle() {
    use klp_model::fairness::{fairness, FairClass};
    let spec = klp_model::scenario::parse("t", "t.toml", SRC).unwrap();
    let sys = KlpSystem::new(spec.clone(), Vec::new);
    let st = sys.init_state();
    assert!(matches!(fairness(&sys, &st, &Action::DoIdle(0)), Some(FairClass::Strong(_))));
    let mut old = spec;
    old.variant.wake_up_if_idle = WakeUpIfIdle::No;
    let sys = KlpSystem::new(old, Vec::new);
    assert_eq!(fairness(&sys, &st, &Action::DoIdle(0)), None);
}
