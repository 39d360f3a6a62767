//! The design knobs about ordering: `reverse_order` (where `klp_reverse_transition()` flips
//! `klp_target_state`) and `barriers` (one `smp_wmb()`/`smp_rmb()` pair removed). Upstream
//! (`clear_first`, `all`) none of this code changes a step: the model is sequentially consistent
//! and every step below is atomic as transition.rs and ftrace.rs argue.
//!
//! A removed barrier is modelled as the weak ordering the kernel's memory model (LKMM) then
//! allows, and only for the accesses that barrier ordered:
//! - a removed write barrier leaves the stores after it visible to the other CPUs before the
//!   stores ahead of it: [`Split`] records which stores lag, the readers read the old value
//!   ([`patch_state_seen_by_handler`], [`transition_seen`], [`target_seen_by_task`]), and the
//!   lag ends at a [`stores_visible`] step, or at the writer's next
//!   `klp_synchronize_transition()` (it schedules on every CPU: full barriers everywhere);
//! - a removed read barrier lets the later read happen first: the handler reads
//!   `current->patch_state` in one step and `func->transition` in the next.
//!
//! Simplification: a lagging group of stores becomes visible to every CPU at once (each task
//! reads only its own `patch_state` and TIF, so per-CPU visibility orders differ only in which
//! tasks see the old value; the worst case, all of them, is what is explored).

use crate::ftrace::{choose, read_func_stack};
use crate::ids::*;
use crate::log::Log;
use crate::spec::Spec;
use crate::state::State;
use crate::task::{Context, HandlerRead, PatchState, SelfSwitch};
use crate::transition::{klp_check_stack, klp_start_transition};
use crate::variant::{Barriers, ReverseOrder};
use serde::{Deserialize, Serialize};

/// A `klp_mutex` step stopped part-way, or stores not yet visible to the other CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// `klp_reverse_transition()` under `reverse_order = "flip_first"` (v4.12..v6.3): `enabled`
    /// and `klp_target_state` flipped; clearing TIF, synchronize and start still to come
    /// (`klp_mutex` held).
    ReverseFlipped,
    /// `__klp_disable_patch()` under `barriers = "no_init_wmb"`: `klp_init_transition()` and the
    /// pre_unpatch callbacks ran; its `patch_state` writes are not yet visible to the tasks'
    /// handlers (they read the old value, IDLE) while the `func->transition` writes are. The
    /// `smp_wmb()` before `klp_start_transition()` is next (`klp_mutex` held).
    DisableInitialised,
    /// `barriers = "no_disable_wmb"`: TIF_PATCH_PENDING is set, the transition patch's
    /// `func->transition = true` writes are not yet visible to the handlers.
    TransitionUnseen,
    /// `barriers = "no_reverse_wmb"`: the new TIF_PATCH_PENDING flags are visible, the flipped
    /// `klp_target_state` is not: the tasks read this old value.
    TargetUnseen(PatchState),
}

/// The split step still holds `klp_mutex`.
pub fn holds_klp_mutex(st: &State) -> bool {
    matches!(st.split, Some(Split::ReverseFlipped | Split::DisableInitialised))
}

/// `klp_target_state` as a task reads it lock-free on its own CPU.
pub fn target_seen_by_task(st: &State) -> PatchState {
    match st.split {
        Some(Split::TargetUnseen(old)) => old,
        _ => st.klp_target_state,
    }
}

/// `current->patch_state` as the task's `klp_ftrace_handler()` reads it.
pub fn patch_state_seen_by_handler(st: &State, pid: Pid) -> PatchState {
    match st.split {
        Some(Split::DisableInitialised) => PatchState::Idle,
        _ => st.tasks[pid as usize].patch_state,
    }
}

/// `func->transition` as a handler on another CPU reads it.
pub fn transition_seen(spec: &Spec, st: &State, k: KlpFuncId) -> bool {
    let lagging =
        st.split == Some(Split::TransitionUnseen) && st.klp_transition_patch == Some(spec.klp_funcs[k as usize].patch);
    st.funcs[k as usize].transition && !lagging
}

/// `klp_synchronize_transition()` by the `klp_mutex` holder: every CPU schedules, so every
/// lagging store is visible afterwards.
pub fn synchronize(st: &mut State) {
    if matches!(st.split, Some(Split::TransitionUnseen | Split::TargetUnseen(_))) {
        st.split = None;
    }
}

/// `klp_module_coming()` publishes the transition patch's funcs of a coming module
/// (`klp_patch_object()` → `list_add_rcu()`, a release store, after taking `klp_mutex`, which
/// the disabling CPU released after its `func->transition` writes): a handler reaching those
/// funcs through the func_stack sees their flag. Conservative: the lag ends for every func of
/// the patch here (it hides executions where the older funcs still lag, never adds one).
pub fn publish_transition_funcs(st: &mut State) {
    if st.split == Some(Split::TransitionUnseen) {
        st.split = None;
    }
}

/// The lagging stores reach every CPU (the hardware drains its store buffer; no kernel code runs).
pub fn stores_visible(st: &mut State) -> Option<()> {
    match st.split {
        Some(Split::TransitionUnseen | Split::TargetUnseen(_)) => {
            st.split = None;
            Some(())
        }
        _ => None,
    }
}

/// The step that continues a split (`KlpReverseTransitionContinue`, `KlpDisablePatchContinue`,
/// `StoresVisible`), or `None`.
pub fn pending_action(st: &State) -> Option<crate::action::Action> {
    use crate::action::Action;
    match st.split? {
        // klp_synchronize_transition() waits for every self switch in flight.
        Split::ReverseFlipped => {
            st.tasks.iter().all(|t| t.self_switch.is_none()).then_some(Action::KlpReverseTransitionContinue)
        }
        Split::DisableInitialised => Some(Action::KlpDisablePatchContinue),
        Split::TransitionUnseen | Split::TargetUnseen(_) => Some(Action::StoresVisible),
    }
}

/// `klp_reverse_transition()`, v4.12..v6.3 order (`reverse_order = "flip_first"`), first part:
/// flip `patch->enabled` and `klp_target_state`.
/// Atomic because: `klp_mutex`; the only lock-free readers of `klp_target_state` are the self
/// switches, which read it in steps of their own under this knob.
pub fn reverse_flip(st: &mut State, p: PatchId) {
    let e = &mut st.patches[p as usize].enabled;
    *e = !*e;
    st.klp_target_state = st.klp_target_state.opposite();
    st.split = Some(Split::ReverseFlipped);
}

/// The rest of the v4.12..v6.3 `klp_reverse_transition()`: clear every TIF_PATCH_PENDING,
/// `klp_synchronize_transition()` ("Let any remaining calls to klp_update_patch_state()
/// complete"), `klp_start_transition()`.
/// Atomic because: `klp_mutex`; the step waits for every self switch in flight (the
/// synchronize does), and one that finishes between the clearing and the synchronize in the
/// kernel only clears a clear flag and stores into its own `patch_state`, which no one but the
/// task reads before `klp_start_transition()`: the same as finishing before this step.
pub fn reverse_continue(spec: &Spec, st: &mut State, log: &mut impl Log) -> Option<()> {
    if st.split != Some(Split::ReverseFlipped) || st.tasks.iter().any(|t| t.self_switch.is_some()) {
        return None;
    }
    st.split = None;
    for t in st.tasks.iter_mut().filter(|t| t.context != Context::Unborn) {
        t.tif_patch_pending = false;
    }
    klp_start_transition(spec, st, log);
    Some(())
}

/// The rest of `__klp_disable_patch()` under `barriers = "no_init_wmb"`: its own `smp_wmb()`
/// (which makes the `patch_state` writes visible), `klp_start_transition()`, `enabled = false`,
/// `klp_try_complete_transition()`.
/// Atomic because: `klp_mutex`, as the upstream step.
pub fn disable_continue(spec: &Spec, st: &mut State, log: &mut impl Log) -> Option<()> {
    if st.split != Some(Split::DisableInitialised) {
        return None;
    }
    st.split = None;
    let p = st.klp_transition_patch?;
    klp_start_transition(spec, st, log);
    st.patches[p as usize].enabled = false;
    crate::lifecycle::klp_try_complete_transition(spec, st, log);
    Some(())
}

/// The variant keeps `klp_update_patch_state()` and `__klp_sched_try_switch()` as upstream's
/// single steps.
fn self_switch_upstream(spec: &Spec) -> bool {
    spec.variant.reverse_order == ReverseOrder::ClearFirst && spec.variant.barriers != Barriers::NoReverseWmb
}

/// `klp_update_patch_state(current)` on the task's own way (exit to user mode, idle loop), then
/// the task goes on in `resume`. `test_and_clear_tsk_thread_flag()` then
/// `READ_ONCE(klp_target_state)`: one step upstream; under `flip_first` the read of the target
/// is a step of its own ([`self_switch_continue`]).
/// Atomic because (upstream): it runs inside `preempt_disable_notrace()`, and every `klp_mutex`
/// step that then writes `klp_target_state` or TIF (`klp_reverse_transition()`,
/// `klp_complete_transition()`) first waits for such sections in `klp_synchronize_transition()`;
/// `test_and_clear_tsk_thread_flag()` is a full barrier, so the target is read after the flag.
pub fn update_patch_state_current(spec: &Spec, st: &mut State, pid: Pid, resume: Context) {
    let target = target_seen_by_task(st);
    let flip_first = spec.variant.reverse_order == ReverseOrder::FlipFirst;
    let t = &mut st.tasks[pid as usize];
    if t.tif_patch_pending {
        t.tif_patch_pending = false;
        if flip_first {
            t.self_switch = Some(SelfSwitch::Update { resume });
            t.context = Context::Running;
            return;
        }
        t.patch_state = target;
    }
    t.context = resume;
}

/// `__klp_sched_try_switch()` → `klp_try_switch_task(current)`. Returns whether it finished
/// (the task then leaves the CPU); under `flip_first` it stops after the first read of
/// `klp_target_state` (`task->patch_state == klp_target_state`), and [`self_switch_continue`]
/// runs `klp_check_stack()` and the store, each reading the target again.
/// Unlike upstream's single step this follows `klp_try_switch_task()` exactly: a task already
/// at the target it reads returns at once and keeps TIF_PATCH_PENDING.
/// Atomic because (upstream): `__klp_sched_try_switch()` runs with preemption disabled and
/// `klp_reverse_transition()` waits for it in `klp_synchronize_transition()` before touching
/// `klp_target_state` (v6.4+ order); its `smp_rmb()` orders the TIF read before the target read.
pub fn sched_try_switch(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) -> bool {
    if self_switch_upstream(spec) {
        crate::transition::klp_sched_try_switch(spec, st, pid, log);
        return true;
    }
    let target = target_seen_by_task(st);
    let t = &st.tasks[pid as usize];
    if !t.tif_patch_pending || t.patch_state == target {
        return true;
    }
    if spec.variant.reverse_order == ReverseOrder::FlipFirst {
        st.tasks[pid as usize].self_switch = Some(SelfSwitch::SchedCheck);
        return false;
    }
    if klp_check_stack(spec, st, pid, log) {
        let t = &mut st.tasks[pid as usize];
        t.tif_patch_pending = false;
        t.patch_state = target;
    }
    true
}

/// The next read of a self switch in flight (`reverse_order = "flip_first"`).
/// Atomic because: each step is one read of `klp_target_state` with what the kernel does with
/// it; preemption stays disabled throughout, so only other CPUs act in between.
pub fn self_switch_continue(spec: &Spec, st: &mut State, pid: Pid, log: &mut impl Log) -> Option<()> {
    let ss = st.tasks[pid as usize].self_switch.take()?;
    match ss {
        SelfSwitch::Update { resume } => {
            let target = target_seen_by_task(st);
            let t = &mut st.tasks[pid as usize];
            t.patch_state = target;
            t.context = resume;
        }
        SelfSwitch::SchedCheck => {
            if klp_check_stack(spec, st, pid, log) {
                st.tasks[pid as usize].self_switch = Some(SelfSwitch::SchedStore);
            } else {
                st.tasks[pid as usize].context = Context::Sleeping;
            }
        }
        SelfSwitch::SchedStore => {
            let target = target_seen_by_task(st);
            let t = &mut st.tasks[pid as usize];
            t.tif_patch_pending = false;
            t.patch_state = target;
            t.context = Context::Sleeping;
        }
    }
    Some(())
}

/// `klp_ftrace_handler()` under a `barriers` value other than `all`, for a function with a
/// func_stack; returns false when the upstream step applies. Under `no_handler_rmb` this step
/// reads the func_stack and `current->patch_state`, and `klp_ftrace_handler_finish()` reads
/// `func->transition` later; otherwise the handler is one step reading what this CPU sees.
/// Atomic because (one step): the handler runs with preemption disabled
/// (`preempt_disable_notrace()`), and the `klp_mutex` steps that change what it reads wait for
/// it in `klp_synchronize_transition()`; stores a removed barrier leaves unordered are what this
/// CPU may still see old (`transition_seen`, `patch_state_seen_by_handler`).
pub fn handler_call(spec: &Spec, st: &mut State, pid: Pid, f: FuncId) -> bool {
    if spec.variant.barriers == Barriers::All {
        return false;
    }
    let Some(read) = read_func_stack(st, f) else { return false };
    let ps = patch_state_seen_by_handler(st, pid);
    if spec.variant.barriers == Barriers::NoHandlerRmb {
        let t = &mut st.tasks[pid as usize];
        t.handler = Some(HandlerRead { func: f, read, transition: None, patch_state: Some(ps) });
        t.context = Context::Running;
        return true;
    }
    let (version, warn) = choose(spec, read, transition_seen(spec, st, read.top), ps);
    crate::workload::push_frame(st, pid, f, version, warn);
    true
}

/// Under `no_handler_rmb` the handler's reads are two steps; a `klp_mutex` step that makes no
/// `klp_synchronize_transition()` (`__klp_disable_patch()`) does not wait for them.
pub fn handler_split(spec: &Spec) -> bool {
    spec.variant.barriers == Barriers::NoHandlerRmb
}
