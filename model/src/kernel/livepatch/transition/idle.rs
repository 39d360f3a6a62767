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
use crate::state::{Pass, PassHalf, State};
use crate::task::{Context, TaskKind};
use crate::variant::IdleWalkLock;

/// The step the running pass takes next for the task at `pass.next`: `klp_try_switch_task()`
/// for a thread or an online CPU's idle task; for an offline CPU's idle task the switch "at
/// once", or under `idle_walk_lock = "none"` first the `cpu_online()` read alone; under
/// `task_switch_lock = "none"` the store after a sampled stack.
pub fn pass_action(spec: &Spec, st: &State, pass: Pass) -> Action {
    let pid = pass.next;
    if pass.half == Some(PassHalf::StackSampled) {
        // task_switch_lock = "none": the sampled stack passed, the store is next.
        return Action::KlpSwitchTaskStore(pid);
    }
    if spec.tasks[pid as usize].kind != TaskKind::Idle {
        return Action::KlpTrySwitchTask(pid);
    }
    if pass.half == Some(PassHalf::CpuOfflineRead) {
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
    if pass.half == Some(PassHalf::CpuOfflineRead) || st.tasks[pass.next as usize].context != Context::Offline {
        return None;
    }
    pass.half = Some(PassHalf::CpuOfflineRead);
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
    if pass.half != Some(PassHalf::CpuOfflineRead) && st.tasks[pid].context != Context::Offline {
        return None;
    }
    let target = st.klp_target_state;
    let t = &mut st.tasks[pid];
    t.tif_patch_pending = false;
    t.patch_state = target;
    pass.half = None;
    pass.next += 1;
    st.pass = Some(pass);
    advance_pass(spec, st, log);
    Some(())
}
