//! The idle walk of `klp_try_complete_transition()` ("Ditto for the idle \"swapper\" tasks"):
//! after the thread walk, under `cpus_read_lock()`, every possible CPU's idle task. An online
//! CPU's idle task gets `klp_try_switch_task()` (which refuses it while it runs, and then
//! `wake_up_if_idle(cpu)` kicks it, v5.16+); an offline CPU's idle task is switched at once:
//! "offline idle tasks can be switched immediately", without a stack check, because it is
//! parked in `arch_cpu_idle_dead()` and runs no patched code until its CPU comes online.
//!
//! `wake_up_if_idle()` changes no modelled state: it sets need_resched on the idle CPU so that
//! `do_idle()` leaves its inner loop and reaches `klp_update_patch_state()`. What it changes is
//! which idle-loop steps are fair (model/src/fairness.rs, `wake_up_if_idle`).

use super::advance_pass;
use crate::action::Action;
use crate::log::Log;
use crate::spec::Spec;
use crate::state::{Pass, State};
use crate::task::{Context, TaskKind};
use crate::variant::IdleWalkLock;

/// The step the running pass takes next for the task at `pass.next`: `klp_try_switch_task()`
/// for a thread or an online CPU's idle task; for an offline CPU's idle task the switch "at
/// once", or under `idle_walk_lock = "none"` first the `cpu_online()` read alone.
pub fn pass_action(spec: &Spec, st: &State, pass: Pass) -> Action {
    let pid = pass.next;
    if spec.tasks[pid as usize].kind != TaskKind::Idle {
        return Action::KlpTrySwitchTask(pid);
    }
    if pass.cpu_offline_read {
        return Action::KlpSwitchOfflineIdle(pid);
    }
    match st.tasks[pid as usize].context {
        Context::Offline if spec.variant.idle_walk_lock == IdleWalkLock::None => Action::KlpIdleCpuOffline(pid),
        Context::Offline => Action::KlpSwitchOfflineIdle(pid),
        _ => Action::KlpTrySwitchTask(pid),
    }
}

/// Whether the running pass holds `cpus_read_lock()`: it is in the idle walk (threads come
/// first on the task list, idle tasks after them). `cpu_up()` / `cpu_down()` take
/// `cpus_write_lock()` and wait meanwhile. Never under `idle_walk_lock = "none"`.
pub fn holds_cpus_read_lock(spec: &Spec, st: &State, nthreads: usize) -> bool {
    spec.variant.idle_walk_lock == IdleWalkLock::CpusReadLock && st.pass.is_some_and(|p| p.next as usize >= nthreads)
}

/// The idle walk reads `cpu_online(cpu)` false (`idle_walk_lock = "none"` only: nothing keeps
/// the CPU offline until the store, [`klp_switch_offline_idle`]).
/// Atomic because: one read of `cpu_online_mask`; `klp_mutex` is held throughout the pass.
pub fn klp_idle_cpu_offline(st: &mut State) -> Option<()> {
    let mut pass = st.pass?;
    if pass.cpu_offline_read || st.tasks[pass.next as usize].context != Context::Offline {
        return None;
    }
    pass.cpu_offline_read = true;
    st.pass = Some(pass);
    Some(())
}

/// "offline idle tasks can be switched immediately": clear TIF_PATCH_PENDING, store
/// `klp_target_state`, no stack check; the walk goes on with the next CPU.
/// Atomic because: `cpus_read_lock()` keeps the CPU offline from the `cpu_online()` read to
/// the store, and `klp_mutex` excludes every other writer of `klp_target_state`. Under
/// `idle_walk_lock = "none"` the read was a step of its own and the store happens whatever
/// the CPU did since: it may have come online and run patched code with the initial state.
pub fn klp_switch_offline_idle(spec: &Spec, st: &mut State, log: &mut impl Log) -> Option<()> {
    let mut pass = st.pass?;
    let pid = pass.next as usize;
    if !pass.cpu_offline_read && st.tasks[pid].context != Context::Offline {
        return None;
    }
    let target = st.klp_target_state;
    let t = &mut st.tasks[pid];
    t.tif_patch_pending = false;
    t.patch_state = target;
    pass.cpu_offline_read = false;
    pass.next += 1;
    st.pass = Some(pass);
    advance_pass(spec, st, log);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Pid;
    use crate::system::KlpSystem;

    const SRC: &str = "[[functions]]\nname = \"f\"\n\
                       [[tasks]]\ncomm = \"swapper/0\"\nkind = \"idle\"\n\
                       [[tasks]]\ncomm = \"swapper/1\"\nkind = \"idle\"\nonline = false\n\
                       [[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n\
                       [admin]\norder = \"any\"\nops = [{ op = \"cpu_up\", cpu = 1 }]\n";

    fn pass_at(sys: &KlpSystem, next: Pid) -> (State, Pass) {
        let mut st = sys.init_state();
        // A failed earlier try: the pass ends without completing the transition.
        let pass = Pass { next, complete: false, cpu_offline_read: false };
        st.pass = Some(pass);
        st.klp_transition_patch = Some(0);
        st.klp_target_state = crate::task::PatchState::Patched;
        st.tasks[next as usize].patch_state = crate::task::PatchState::Unpatched;
        st.tasks[next as usize].tif_patch_pending = true;
        (st, pass)
    }

    #[test]
    fn the_walk_switches_an_offline_idle_task_in_one_step_under_the_lock_and_in_two_without() {
        let spec = crate::scenario::parse("t", "t.toml", SRC).unwrap();
        assert_eq!(spec.cpu_of(1), 1);
        let sys = KlpSystem::new(spec.clone(), Vec::new);
        let (st, pass) = pass_at(&sys, 1);
        assert_eq!(st.tasks[1].context, Context::Offline);
        assert_eq!(pass_action(&sys.spec, &st, pass), Action::KlpSwitchOfflineIdle(1));
        // cpu_up() waits for the idle walk's cpus_read_lock().
        assert!(holds_cpus_read_lock(&sys.spec, &st, 0));
        let mut after = st.clone();
        klp_switch_offline_idle(&sys.spec, &mut after, &mut crate::log::NoLog).unwrap();
        assert_eq!(after.tasks[1].patch_state, crate::task::PatchState::Patched);
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
        klp_switch_offline_idle(&sys.spec, &mut st, &mut crate::log::NoLog).unwrap();
        assert_eq!(st.tasks[1].patch_state, crate::task::PatchState::Patched);
    }

    #[test]
    fn do_idle_is_fair_only_with_wake_up_if_idle() {
        use crate::fairness::{fairness, FairClass};
        let spec = crate::scenario::parse("t", "t.toml", SRC).unwrap();
        let sys = KlpSystem::new(spec.clone(), Vec::new);
        let st = sys.init_state();
        assert!(matches!(fairness(&sys, &st, &Action::DoIdle(0)), Some(FairClass::Strong(_))));
        let mut old = spec;
        old.variant.wake_up_if_idle = crate::variant::WakeUpIfIdle::No;
        let sys = KlpSystem::new(old, Vec::new);
        assert_eq!(fairness(&sys, &st, &Action::DoIdle(0)), None);
    }
}
