//! `KlpSystem`: the scenario as a `stateright::Model`. Guards live in `actions()`, effects in
//! one `match` in [`KlpSystem::step`] that calls the kernel function each action mirrors;
//! traces re-run it with a [`Log`] to get the dmesg lines.

use crate::action::Action;
use crate::ids::filled;
use crate::ids::*;
use crate::kernel::entry::common::exit_to_user_mode;
use crate::kernel::fork::{copy_process, copy_process_continue, ret_from_fork};
use crate::kernel::fs::seq_file::seq_read_iter;
use crate::kernel::livepatch::core::__klp_disable_patch_continue;
use crate::kernel::livepatch::core::klp_free_patch_finish;
use crate::kernel::livepatch::transition::{
    complete_waits_for_handlers, handlers_synchronized, klp_complete_transition_part, klp_reverse_transition_continue,
    klp_self_switch_continue, klp_send_signals, klp_try_complete_transition, klp_try_switch_task_in_pass,
    signal_targets,
};
use crate::kernel::livepatch::transition::{klp_idle_cpu_offline, klp_switch_offline_idle, pass_action};
use crate::kernel::module::main::{
    coming_notifier_failed, delete_module_going, do_init_module, exit_may_return, free_module, init_may_return,
    module_exit_returns, prepare_coming_module,
};
use crate::kernel::sched::core::{
    cond_resched, cond_resched_switches, preempt, preemptible, resume, schedule, try_to_wake_up,
};
use crate::kernel::sched::idle::do_idle;
use crate::kernel::workqueue::{process_one_work, work_queued_for};
use crate::log::{Log, NoLog};
use crate::mutation::Mutation;
use crate::program::{callable, callees, enter_message, exit_message, module_exit_began, sleep_kind};
use crate::spec::{AdminOp, AdminOrder, Sleeps, Spec};
use crate::state::*;
use crate::task::{Context, PatchState, Task, TaskKind};
use crate::variant::ModuleHooksOrder;
use crate::workload::{call, call_finish, nop_loop, ret};
use stateright::{Model, Property};
use std::sync::Arc;

mod describe;

/// The model of one scenario. Properties come from the properties crate (the model never
/// depends on them): `KlpSystem::new(spec, catalogue)`.
#[derive(Clone)]
pub struct KlpSystem {
    pub spec: Arc<Spec>,
    properties: fn() -> Vec<Property<KlpSystem>>,
    /// The scenario's own properties (`[[invariant]]`, `[[witness]]`), after the catalogue's;
    /// none unless [`KlpSystem::with_user_properties`] says how to make them.
    user_properties: fn(&Spec) -> Vec<Property<KlpSystem>>,
    /// Threads (user tasks and kthreads) come first in the task list, idle tasks after them.
    nthreads: usize,
    /// The reduced model's groups of identical tasks ([`KlpSystem::with_free_pass_order`]).
    free_pass_order: Option<Arc<crate::symmetry::Groups>>,
    /// The reduced model's states are their orbits' representatives
    /// ([`KlpSystem::with_canonical_successors`]).
    canonical_successors: bool,
}

impl KlpSystem {
    pub fn new(spec: Spec, properties: fn() -> Vec<Property<KlpSystem>>) -> Self {
        let nthreads = spec.tasks.iter().filter(|t| t.kind != TaskKind::Idle).count();
        KlpSystem {
            spec: Arc::new(spec),
            properties,
            user_properties: |_| Vec::new(),
            nthreads,
            free_pass_order: None,
            canonical_successors: false,
        }
    }

    /// The model symmetry reduction explores (crate::symmetry, "The reduced model"): every
    /// step of this one, plus, for each step of the transition work that moves the pass of
    /// `klp_try_complete_transition()` into or inside a group of identical tasks, the same step
    /// on the renamings of the copies the pass has not visited that choose another copy to try
    /// or other copies at the target to skip ([`Action::Renamed`], crate::symmetry::pass): the
    /// pass picks its next copy as it goes, so that renaming the copies is a symmetry of the
    /// model. `groups` empty: this model unchanged.
    pub fn with_free_pass_order(mut self, groups: crate::symmetry::Groups) -> Self {
        self.free_pass_order = (!groups.is_empty()).then(|| Arc::new(groups));
        self
    }

    /// The reduced model ([`KlpSystem::with_free_pass_order`]) whose initial state and every
    /// successor are their orbit's representative ([`crate::symmetry::Groups::canonical`]),
    /// so that the search can expand the representative it fingerprints and keep one encoding
    /// of a successor for both (`klp_checker::Bfs::canonical_successors`): under reduction each
    /// successor was encoded twice, its canonical form for the fingerprint and the state itself
    /// for the frontier, and copied once more for the canonical form. Why that explores the
    /// same orbits: the canonical form is a renaming the reduced model has as a symmetry
    /// (crate::symmetry, "The reduced model"), so a state and its representative reach the
    /// same orbits. What changes is the trace of a discovery: consecutive states are one step
    /// apart only up to a renaming, which is all [`crate::symmetry::concretise`] reads (it
    /// finds the unreduced model's path through their orbits). Without groups: unchanged.
    pub fn with_canonical_successors(mut self) -> Self {
        self.canonical_successors = self.free_pass_order.is_some();
        self
    }

    /// Whether [`KlpSystem::with_canonical_successors`] is in force.
    pub fn canonical_successors(&self) -> bool {
        self.canonical_successors
    }

    /// `st` as the model's state: its orbit's representative under
    /// [`KlpSystem::with_canonical_successors`], else `st` as it is.
    fn land(&self, st: &mut State) {
        if let (true, Some(g)) = (self.canonical_successors, self.free_pass_order.as_deref()) {
            g.canonicalise(st);
        }
    }

    /// The groups of [`KlpSystem::with_free_pass_order`], if any.
    pub fn free_pass_order(&self) -> Option<&crate::symmetry::Groups> {
        self.free_pass_order.as_deref()
    }

    /// What an [`Action::Renamed`] does: the renamed state and the step of this (unreduced)
    /// model taken on it (`None` for any other action, or one not enabled). Its `index` counts
    /// among the renamed state's steps, of which it is one of the kernel's own work (admin,
    /// loader, transition work), which come first.
    pub fn resolve_renamed(&self, st: &State, a: Action) -> Option<(State, Action)> {
        let Action::Renamed { renaming, index } = a else { return None };
        let groups = self.free_pass_order.as_deref()?;
        let k = usize::try_from(renaming).ok().filter(|&k| k < groups.order())?;
        let r = groups.rename(st, k);
        let mut acts = Vec::new();
        self.global_actions(&r, &mut acts);
        let inner = *acts.get(usize::from(index))?;
        Some((r, inner))
    }

    /// The steps of the kernel's own work (no task's): admin commands, the module loader, the
    /// transition work, split continuations, the free work. They come first among the steps.
    pub(crate) fn global_actions(&self, st: &State, out: &mut Vec<Action>) {
        crate::admin::admin_actions(&self.spec, st, out);
        self.loader_actions(st, out);
        self.transition_work_actions(st, out);
        Self::split_actions(st, out);
        for (p, r) in st.patches.iter().enumerate() {
            if r.life == PatchLife::Freeing {
                out.push(Action::KlpFreePatchWork(p as PatchId));
            }
        }
    }

    /// The model checking the scenario's own properties too, made by `user` from the spec
    /// (the properties crate's `user::catalogue`; the model never evaluates a predicate).
    pub fn with_user_properties(mut self, user: fn(&Spec) -> Vec<Property<KlpSystem>>) -> Self {
        self.user_properties = user;
        self
    }

    /// The initial state: no livepatch loaded, modules as the scenario says, user tasks in
    /// user mode, kthreads and idle tasks in their main loops.
    pub fn init_state(&self) -> State {
        let s = &*self.spec;
        let tasks = s
            .tasks
            .iter()
            .map(|t| Task {
                patch_state: PatchState::Idle,
                tif_patch_pending: false,
                context: match (t.parent, t.kind) {
                    (Some(_), _) => Context::Unborn,
                    (None, TaskKind::User) => Context::User,
                    (None, TaskKind::Idle) if !t.online => Context::Offline,
                    (None, _) => Context::Running,
                },
                stack: Default::default(),
                handler: None,
                self_switch: None,
                proc_read: None,
                nop_loop: false,
            })
            .collect();
        State {
            tasks,
            mods: s
                .modules
                .iter()
                .map(|m| ModRt {
                    state: if m.loaded { ModState::Live } else { ModState::Unloaded },
                    klp_alive: m.loaded,
                    work_pending: false,
                })
                .collect(),
            patches: filled(
                PatchRt { life: PatchLife::Unloaded, enabled: false, forced: false, pre_patch_ret: None },
                s.patches.len(),
            ),
            objs: filled(ObjRt::default(), s.objs.len()),
            funcs: filled(FuncRt::default(), s.klp_funcs.len()),
            func_stacks: filled(Default::default(), s.funcs.len()),
            klp_patches: Default::default(),
            klp_transition_patch: None,
            klp_target_state: PatchState::Idle,
            pass: None,
            admin: AdminProgress(match s.admin.order {
                AdminOrder::Script => filled(0, 1),
                AdminOrder::Any => filled(0, s.admin.ops.len()),
            }),
            cb_setup: filled(CallbackSetup::default(), s.objs.len()),
            ghost: Ghost::default(),
            completing: None,
            split: None,
            klp_signals_sent: LogOnly(false),
            ftrace_enabled: true,
            klp_shadow_hash: 0,
            klp_state_data: if s.has_klp_state_data() { filled(0, s.patches.len()) } else { Default::default() },
        }
    }

    /// The module loader's next step for each module in the middle of a load or a removal.
    fn loader_actions(&self, st: &State, out: &mut Vec<Action>) {
        let s = &*self.spec;
        // Evaluated only for the states that take klp_mutex (most modules are LIVE or unloaded).
        let klp_mutex = || st.klp_mutex_free() && handlers_synchronized(s, st);
        for m in 0..s.modules.len() {
            let m = m as ModId;
            match st.mods[m as usize].state {
                ModState::Formed
                    if klp_mutex()
                        && !(s.mutated(Mutation::ComingWaitsForTransition) && st.klp_transition_patch.is_some()) =>
                {
                    out.push(Action::KlpModuleComing(m))
                }
                // Woken when klp_transition_patch is NULL (module_load_during_transition = blocked).
                ModState::KlpWait if klp_mutex() && st.klp_transition_patch.is_none() => {
                    out.push(Action::KlpModuleComing(m))
                }
                // mod->init returns (under module_hooks_order = inside_init_exit a successful one
                // then calls klp_module_coming()).
                ModState::Coming
                    if init_may_return(s, st, m)
                        && (s.variant.module_hooks_order == ModuleHooksOrder::AroundInitExit
                            || s.modules[m as usize].init_ret != 0
                            || klp_mutex()) =>
                {
                    out.push(Action::ModuleInit(m))
                }
                ModState::Exiting if exit_may_return(s, st, m) => out.push(Action::ModuleExit(m)),
                ModState::Going | ModState::NotifierFailed if klp_mutex() => out.push(Action::KlpModuleGoing(m)),
                ModState::Gone => out.push(Action::ModuleFree(m)),
                _ => {}
            }
        }
    }

    /// The transition work: the next `klp_try_switch_task()` of a pass, the next part of a split
    /// `klp_complete_transition()`, or (between passes) a new pass and `klp_send_signals()`.
    fn transition_work_actions(&self, st: &State, out: &mut Vec<Action>) {
        let s = &*self.spec;
        match st.pass {
            Some(p) => out.push(pass_action(s, st, p)),
            None if st.completing.is_some() => {
                let part = st.completing.expect("completing");
                if !complete_waits_for_handlers(s, st, part) || !st.handler_in_flight() {
                    out.push(Action::KlpCompleteTransitionPart);
                }
            }
            None if st.klp_transition_patch.is_some()
                && st.klp_mutex_free()
                && !s.mutated(Mutation::TransitionWorkNotRearmed) =>
            {
                out.push(Action::KlpTransitionWork);
                // See klp_send_signals() for the abstracted pass counter.
                if !s.mutated(Mutation::SignalsNeverSent) && signal_targets(s, st).next().is_some() {
                    out.push(Action::KlpSendSignals);
                }
            }
            None => {}
        }
    }

    /// The step that continues a split `klp_mutex` step, or lets lagging stores reach every CPU.
    fn split_actions(st: &State, out: &mut Vec<Action>) {
        let Some(split) = st.split else { return };
        out.push(match split {
            // klp_synchronize_transition() waits for every self switch in flight.
            Split::ReverseFlipped if st.tasks.iter().any(|t| t.self_switch.is_some()) => return,
            Split::ReverseFlipped => Action::KlpReverseTransitionContinue,
            Split::DisableInitialised => Action::KlpDisablePatchContinue,
            Split::TransitionUnseen | Split::TargetUnseen(_) => Action::StoresVisible,
        });
    }

    fn task_actions(&self, st: &State, pid: Pid, out: &mut Vec<Action>) {
        let s = &*self.spec;
        let t = &st.tasks[pid as usize];
        let kind = s.tasks[pid as usize].kind;
        if t.handler.is_some() {
            out.push(Action::KlpFtraceHandlerFinish(pid));
            return;
        }
        if t.self_switch.is_some() {
            out.push(Action::KlpSelfSwitchContinue(pid));
            return;
        }
        if t.nop_loop && t.context == Context::Running {
            // Spinning through the nop: nothing but the handler again, or preemption.
            out.push(Action::KlpNopLoop(pid));
            if preemptible(s, st, pid) {
                out.push(Action::Preempt(pid));
            }
            return;
        }
        match t.context {
            // Parked in arch_cpu_idle_dead() until cpu_up() (an admin command).
            Context::Unborn | Context::Offline => {}
            Context::Forked => out.push(Action::RetFromFork(pid)),
            Context::Forking => {
                if st.pass.is_none_or(|p| (p.next as usize) >= self.nthreads) {
                    out.push(Action::KlpCopyProcess(pid));
                }
            }
            Context::User => {
                match t.proc_read.map(|i| s.admin.ops[i as usize].op) {
                    // The script's reader: its next syscall is the read() of the file (the
                    // show function is vmlinux code, always callable).
                    Some(AdminOp::ReadProc(_, f, _)) => out.push(Action::Syscall(pid, f)),
                    _ => {
                        for &f in &s.tasks[pid as usize].entry {
                            if callable(s, st, f) {
                                out.push(Action::Syscall(pid, f));
                            }
                        }
                    }
                }
                if t.tif_patch_pending {
                    out.push(Action::ExitToUserMode(pid));
                }
                let in_thread_walk = st.pass.is_some_and(|p| (p.next as usize) < self.nthreads);
                // dup_task_struct() alone (tif_before_state) does not take tasklist_lock.
                let split = s.variant.fork_inherits == crate::variant::ForkInherits::TifBeforeState;
                if (split || !in_thread_walk)
                    && s.tasks
                        .iter()
                        .enumerate()
                        .any(|(c, ts)| ts.parent == Some(pid) && st.tasks[c].context == Context::Unborn)
                {
                    out.push(Action::Fork(pid));
                }
            }
            Context::Running => {
                if t.stack.len() < s.max_stack as usize {
                    for &f in callees(s, st, pid) {
                        if callable(s, st, f) {
                            out.push(Action::Call(pid, f));
                        }
                    }
                }
                // A function looping until its module's exit clears a flag returns only then, and
                // sleeps only before.
                let sleeps = sleep_kind(s, st, pid);
                let looping = sleeps == Sleeps::UntilModuleExit;
                let flag_cleared = looping && module_exit_began(s, st, pid);
                if !t.stack.is_empty() && (!looping || flag_cleared) {
                    out.push(Action::Return(pid));
                }
                // worker_thread() does not sleep while a work item is queued for it.
                if kind != TaskKind::Idle && sleeps != Sleeps::Never && !flag_cleared && !work_queued_for(s, st, pid) {
                    out.push(Action::Schedule(pid));
                }
                if kind == TaskKind::Idle && t.stack.is_empty() && t.tif_patch_pending {
                    out.push(Action::DoIdle(pid));
                }
                if cond_resched_switches(s, st, pid) {
                    out.push(Action::CondResched(pid));
                }
                if preemptible(s, st, pid) {
                    out.push(Action::Preempt(pid));
                }
            }
            Context::Preempted => out.push(Action::Resume(pid)),
            Context::Sleeping => {
                let woken = match sleep_kind(s, st, pid) {
                    Sleeps::Interruptible | Sleeps::Uninterruptible => true,
                    // Its msleep() timer fires after the flag was cleared. (The wake-ups before
                    // find the flag set and sleep again: the task stays in the function either
                    // way, which livepatch cannot tell from one long sleep.)
                    Sleeps::UntilModuleExit => module_exit_began(s, st, pid),
                    Sleeps::Never | Sleeps::Forever => false,
                };
                if woken {
                    out.push(Action::Wake(pid));
                }
            }
        }
    }

    /// Applies one action, sending the kernel messages it produces to `log`. `None` if the
    /// action is not enabled in `st` (replay uses this to find the first step that no longer
    /// matches the model).
    pub fn step(&self, st: &State, action: Action, log: &mut impl Log) -> Option<State> {
        let mut n = st.clone();
        self.step_into(st, action, log, &mut n)?;
        Some(n)
    }

    /// The successor of `st` by `action` written over `out` (`false`: the action is not
    /// enabled): [`KlpSystem::step_into`] on a copy of `st`, without a log, for the checker's
    /// reused buffer (`klp_checker::Bfs::step_into`).
    pub fn successor_into(&self, st: &State, action: Action, out: &mut State) -> bool {
        out.clone_from(st);
        let ok = self.step_into(st, action, &mut NoLog, out).is_some();
        if ok {
            self.land(out);
        }
        ok
    }

    /// [`KlpSystem::step`] on `n`, which holds a copy of `st` on entry and the successor on
    /// `Some` (on `None`, whatever the refused step left: the caller copies `st` again). Why: the
    /// checker builds every successor in one reused buffer; built as a value, a successor was
    /// copied again on its way out of `step` and into the search (perf on the default
    /// scenario: those `memmove`s of the ~1.3 KB state were about 10% of the search).
    pub fn step_into(&self, st: &State, action: Action, log: &mut impl Log, n: &mut State) -> Option<()> {
        if let Action::Renamed { .. } = action {
            let (r, inner) = self.resolve_renamed(st, action)?;
            n.clone_from(&r);
            return self.step_into(&r, inner, log, n);
        }
        let s = &*self.spec;
        match action {
            Action::Renamed { .. } => return None,
            Action::Admin(i) => crate::admin::run(s, n, i, log)?,
            Action::KlpModuleComing(m) => prepare_coming_module(s, n, m, log),
            Action::ModuleInit(m) => do_init_module(s, n, m, log),
            Action::ModuleExit(m) => module_exit_returns(s, n, m, log),
            Action::KlpModuleGoing(m) if n.mods[m as usize].state == ModState::NotifierFailed => {
                coming_notifier_failed(s, n, m, log)
            }
            Action::KlpModuleGoing(m) => delete_module_going(s, n, m, log),
            Action::ModuleFree(m) => free_module(n, m),
            Action::KlpTransitionWork => klp_try_complete_transition(s, n, log),
            Action::KlpTrySwitchTask(_) | Action::KlpSwitchTaskStore(_) => klp_try_switch_task_in_pass(s, n, log),
            Action::KlpFreePatchWork(p) => klp_free_patch_finish(n, p),
            Action::KlpSendSignals => klp_send_signals(s, n, log),
            Action::Syscall(pid, f) | Action::Call(pid, f) => {
                process_one_work(s, n, f);
                call(s, n, pid, f);
                log_entered(s, st, n, pid, log);
            }
            Action::Return(pid) => {
                if let Some(line) = exit_message(s, n, pid) {
                    log.line(|| line);
                }
                // The outermost frame of the script's read: read() returns the show function's text.
                let read = n.tasks[pid as usize].proc_read.and(n.tasks[pid as usize].stack.first().copied());
                ret(s, n, pid);
                if let (Some(show), 1) = (read, st.tasks[pid as usize].stack.len()) {
                    crate::admin::proc_read_returns(s, n, pid, seq_read_iter(s, &show), log);
                }
            }
            Action::Schedule(pid) => schedule(s, n, pid, log),
            Action::Wake(pid) => try_to_wake_up(n, pid),
            Action::ExitToUserMode(pid) => exit_to_user_mode(s, n, pid),
            Action::DoIdle(pid) => do_idle(s, n, pid),
            Action::Fork(pid) => copy_process(s, n, pid)?,
            Action::RetFromFork(pid) => ret_from_fork(s, n, pid),
            Action::KlpFtraceHandlerFinish(pid) => {
                call_finish(s, n, pid)?;
                log_entered(s, st, n, pid, log);
            }
            Action::KlpNopLoop(pid) => {
                if !n.tasks[pid as usize].nop_loop {
                    return None;
                }
                nop_loop(s, n, pid);
            }
            Action::KlpCompleteTransitionPart => {
                n.completing?;
                klp_complete_transition_part(s, n, log);
            }
            Action::KlpCopyProcess(pid) => copy_process_continue(s, n, pid)?,
            Action::KlpSelfSwitchContinue(pid) => klp_self_switch_continue(s, n, pid, log)?,
            Action::KlpReverseTransitionContinue => klp_reverse_transition_continue(s, n, log)?,
            Action::KlpDisablePatchContinue => __klp_disable_patch_continue(s, n, log)?,
            Action::StoresVisible => n.stores_visible()?,
            Action::KlpIdleCpuOffline(_) => klp_idle_cpu_offline(n)?,
            Action::KlpSwitchOfflineIdle(_) => klp_switch_offline_idle(s, n, log)?,
            Action::Preempt(pid) => preempt(n, pid),
            Action::Resume(pid) => resume(n, pid),
            Action::CondResched(pid) => cond_resched(s, n, pid, log),
        }
        Some(())
    }
}

/// A call that landed prints its function's entry message (a call still inside a split
/// `klp_ftrace_handler()` has not landed yet).
fn log_entered(s: &Spec, before: &State, after: &State, pid: Pid, log: &mut impl Log) {
    if after.tasks[pid as usize].stack.len() > before.tasks[pid as usize].stack.len() {
        if let Some(line) = enter_message(s, after, pid) {
            log.line(|| line);
        }
    }
}

impl Model for KlpSystem {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let mut st = self.init_state();
        self.land(&mut st);
        vec![st]
    }

    /// The order matters (traces and stateright's paths replay action indices): admin
    /// commands, the module loader, the transition work, split continuations, the free work,
    /// then each task's steps.
    /// In the reduced model ([`KlpSystem::with_free_pass_order`]) the renamed steps of the
    /// pass come last.
    fn actions(&self, st: &State, out: &mut Vec<Action>) {
        let start = out.len();
        self.global_actions(st, out);
        let globals = out.len();
        for pid in 0..st.tasks.len() {
            self.task_actions(st, pid as Pid, out);
        }
        if let Some(groups) = &self.free_pass_order {
            crate::symmetry::pass::renamed_steps(self, groups, st, start..globals, out);
        }
    }

    /// [`KlpSystem::step`], landing on the orbit's representative under
    /// [`KlpSystem::with_canonical_successors`] (as the search's `successor_into` does, so
    /// that replayed traces are the states the search held).
    fn next_state(&self, st: &State, action: Action) -> Option<State> {
        let mut n = self.step(st, action, &mut NoLog)?;
        self.land(&mut n);
        Some(n)
    }

    fn format_action(&self, action: &Action) -> String {
        self.describe(action)
    }

    /// For the Explorer: the kernel messages the step prints, then the state it leads to.
    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let mut log = crate::log::Dmesg::default();
        let next = self.step(last, action, &mut log)?;
        let mut out: String = log.0.iter().map(|l| format!("{l}\n")).collect();
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&crate::picture::state_text(&self.spec, &next));
        Some(out)
    }

    /// For the Explorer: a picture of the path's last state (crate::picture).
    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(crate::picture::state_svg(&self.spec, path.last_state()))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut p = (self.properties)();
        p.extend((self.user_properties)(&self.spec));
        p
    }
}
