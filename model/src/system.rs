//! `KlpSystem`: the scenario as a `stateright::Model`. Guards live in `actions()`, effects in
//! one `match` in [`KlpSystem::step`], which traces re-run with a [`Log`] to get dmesg lines.

use crate::action::Action;
use crate::dmesg;
use crate::ids::*;
use crate::lifecycle::*;
use crate::log::{Log, NoLog};
use crate::mutation::Mutation;
use crate::spec::{AdminOp, AdminOrder, Sleeps, Spec};
use crate::state::*;
use crate::task::{Context, PatchState, Task, TaskKind};
use crate::workload::*;
use smallvec::smallvec;
use stateright::{Model, Property};
use std::sync::Arc;

/// The model of one scenario. Properties come from the properties crate (the model never
/// depends on them): `KlpSystem::new(spec, catalogue)`.
#[derive(Clone)]
pub struct KlpSystem {
    pub spec: Arc<Spec>,
    properties: fn() -> Vec<Property<KlpSystem>>,
    nthreads: usize,
}

impl KlpSystem {
    pub fn new(spec: Spec, properties: fn() -> Vec<Property<KlpSystem>>) -> Self {
        let nthreads = spec.tasks.iter().filter(|t| t.kind != TaskKind::Idle).count();
        KlpSystem { spec: Arc::new(spec), properties, nthreads }
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
                    (None, _) => Context::Running,
                },
                stack: Default::default(),
                handler: None,
                self_switch: None,
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
                })
                .collect(),
            patches: smallvec![PatchRt { life: PatchLife::Unloaded, enabled: false, forced: false }; s.patches.len()],
            objs: smallvec![ObjRt::default(); s.objs.len()],
            funcs: smallvec![FuncRt::default(); s.klp_funcs.len()],
            func_stacks: smallvec![Default::default(); s.funcs.len()],
            klp_patches: Default::default(),
            klp_transition_patch: None,
            klp_target_state: PatchState::Idle,
            pass: None,
            admin: match s.admin.order {
                AdminOrder::Script => smallvec![0],
                AdminOrder::Any => smallvec![0; s.admin.ops.len()],
            },
            cb_setup: smallvec![(false, false); s.objs.len()],
            ghost: Ghost::default(),
            completing: None,
            split: None,
        }
    }

    /// With a `klp_synchronize_transition()` dropped, handlers are split into steps; a
    /// `klp_mutex` step that may synchronize (reverse, cancel, `unregister_ftrace_function()`)
    /// is taken as waiting for every handler in flight (conservative: it hides interleavings,
    /// never adds one). Always true upstream, where handlers are single steps.
    fn synchronized(&self, st: &State) -> bool {
        (self.spec.variant.synchronize_transition == crate::variant::SynchronizeTransition::All
            && !crate::ordering::handler_split(&self.spec))
            || !st.handler_in_flight()
    }

    fn needs_klp_mutex(op: AdminOp) -> bool {
        matches!(op, AdminOp::InsmodPatch(_) | AdminOp::Disable(_) | AdminOp::Enable(_) | AdminOp::Force(_))
    }

    /// Any order offers a command only when it would change the kernel's state: a command the
    /// kernel refuses (-EEXIST, -ENOENT, -EBUSY, -EINVAL) changes nothing but the command budget,
    /// so exploring it only multiplies states. Scripts run refused commands too (and log them).
    fn acts(&self, st: &State, op: AdminOp) -> bool {
        let no_transition = st.klp_transition_patch.is_none();
        match op {
            AdminOp::InsmodPatch(p) => {
                st.patches[p as usize].life == PatchLife::Unloaded
                    && no_transition
                    && klp_is_patch_compatible(&self.spec, st, p)
            }
            AdminOp::RmmodPatch(p) => {
                st.patches[p as usize].life != PatchLife::Unloaded && !self.patch_module_busy(st, p)
            }
            AdminOp::InsmodModule(m) => st.mods[m as usize].state == ModState::Unloaded,
            AdminOp::RmmodModule(m) => st.mods[m as usize].state == ModState::Live && !self.module_busy(st, m),
            AdminOp::Disable(p) => {
                st.patches[p as usize].life == PatchLife::Listed
                    && st.patches[p as usize].enabled
                    && ((no_transition && !klp_stacking_refuses_disable(&self.spec, st, p))
                        || st.klp_transition_patch == Some(p))
                    && enabled_store_permitted(&self.spec, st, p)
            }
            AdminOp::Enable(p) if klp_registered_disabled(&self.spec, st, p) => {
                no_transition && !klp_stacking_refuses_enable(&self.spec, st, p)
            }
            AdminOp::Enable(p) | AdminOp::Force(p) => {
                st.klp_transition_patch == Some(p)
                    && (op == AdminOp::Force(p)
                        || (!st.patches[p as usize].enabled && enabled_store_permitted(&self.spec, st, p)))
            }
        }
    }

    /// `try_stop_module()` refuses to unload the livepatch module: `klp_enable_patch()`'s
    /// `try_module_get()` is still held (see [`klp_holds_module_ref`]).
    fn patch_module_busy(&self, st: &State, p: PatchId) -> bool {
        let r = &st.patches[p as usize];
        let s = &*self.spec;
        if s.mutated(Mutation::RmmodIgnoresRefcount) {
            return false;
        }
        if s.mutated(Mutation::PutForcedModule) {
            return matches!(r.life, PatchLife::Listed | PatchLife::Freeing);
        }
        klp_holds_module_ref(s, st, p)
    }

    /// A task executes the module's code (holds it: the busy-module case).
    fn module_busy(&self, st: &State, m: ModId) -> bool {
        let in_module = |f: FuncId| self.spec.funcs[f as usize].module == Some(m);
        // A call still inside klp_ftrace_handler() (split handlers) is already in the module.
        st.tasks
            .iter()
            .any(|t| t.stack.iter().any(|fr| in_module(fr.func)) || t.handler.is_some_and(|h| in_module(h.func)))
    }

    /// Script order: has the previous command finished waiting, as the selftest helper would?
    fn script_wait_done(&self, st: &State, op: AdminOp) -> bool {
        match op {
            AdminOp::InsmodPatch(p) => st.klp_transition_patch != Some(p),
            // The sysfs directory vanishes; a registered patch (reenable_disabled) stays.
            AdminOp::Disable(p) => {
                st.patches[p as usize].life != PatchLife::Listed || klp_registered_disabled(&self.spec, st, p)
            }
            AdminOp::InsmodModule(m) => {
                !matches!(st.mods[m as usize].state, ModState::Formed | ModState::KlpWait | ModState::Coming)
            }
            AdminOp::RmmodModule(m) => !matches!(st.mods[m as usize].state, ModState::Going | ModState::Gone),
            AdminOp::RmmodPatch(_) | AdminOp::Enable(_) | AdminOp::Force(_) => true,
        }
    }

    fn admin_actions(&self, st: &State, out: &mut Vec<Action>) {
        let ops = &self.spec.admin.ops;
        let ready = |i: usize| {
            let op = ops[i].op;
            // __klp_disable_patch() makes no klp_synchronize_transition() call.
            let no_sync = crate::ordering::handler_split(&self.spec)
                && matches!(op, AdminOp::Disable(p) if st.klp_transition_patch != Some(p));
            if Self::needs_klp_mutex(op) && !(st.klp_mutex_free() && (no_sync || self.synchronized(st))) {
                return false;
            }
            // `unload_lp` waits for the reference count to drop before rmmod.
            if let (AdminOp::RmmodPatch(p), AdminOrder::Script, true) = (op, self.spec.admin.order, ops[i].wait) {
                return !self.patch_module_busy(st, p);
            }
            true
        };
        match self.spec.admin.order {
            AdminOrder::Script => {
                let pc = st.admin[0] as usize;
                if pc < ops.len()
                    && (pc == 0 || !ops[pc - 1].wait || self.script_wait_done(st, ops[pc - 1].op))
                    && ready(pc)
                {
                    out.push(Action::Admin(pc as u8));
                }
            }
            AdminOrder::Any => {
                for (i, op) in ops.iter().enumerate() {
                    if st.admin[i] < op.max && ready(i) && self.acts(st, op.op) {
                        out.push(Action::Admin(i as u8));
                    }
                }
            }
        }
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
        match t.context {
            Context::Unborn => {}
            Context::Forked => out.push(Action::RetFromFork(pid)),
            Context::Forking => {
                if st.pass.is_none_or(|p| (p.next as usize) >= self.nthreads) {
                    out.push(Action::KlpCopyProcess(pid));
                }
            }
            Context::User => {
                for &f in &s.tasks[pid as usize].entry {
                    if callable(s, st, f) {
                        out.push(Action::Syscall(pid, f));
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
                if !t.stack.is_empty() {
                    out.push(Action::Return(pid));
                }
                if kind != TaskKind::Idle && sleep_kind(s, st, pid) != Sleeps::Never {
                    out.push(Action::Schedule(pid));
                }
                if kind == TaskKind::Idle && t.stack.is_empty() && t.tif_patch_pending {
                    out.push(Action::DoIdle(pid));
                }
            }
            Context::Sleeping => {
                if matches!(sleep_kind(s, st, pid), Sleeps::Interruptible | Sleeps::Uninterruptible) {
                    out.push(Action::Wake(pid));
                }
            }
        }
    }

    /// Applies one action, sending the kernel messages it produces to `log`. `None` if the
    /// action is not enabled in `st` (replay uses this to find the first step that no longer
    /// matches the model).
    pub fn step(&self, st: &State, action: Action, log: &mut impl Log) -> Option<State> {
        let s = &*self.spec;
        let mut n = st.clone();
        match action {
            Action::Admin(i) => {
                let op = s.admin.ops.get(i as usize)?.op;
                match s.admin.order {
                    AdminOrder::Script => n.admin[0] += 1,
                    AdminOrder::Any => n.admin[i as usize] += 1,
                }
                log.line(|| dmesg::command_line(s, op));
                let ret = self.admin(&mut n, op, log);
                if ret != 0 {
                    log.line(|| dmesg::command_error(s, op, ret));
                }
            }
            Action::KlpModuleComing(m) if klp_module_coming_waits(s, &n) => {
                n.mods[m as usize].state = ModState::KlpWait;
            }
            Action::KlpModuleComing(m) => {
                let ret = klp_module_coming(s, &mut n, m, log);
                if ret == 0 {
                    n.mods[m as usize].state = ModState::Coming;
                } else {
                    // load_module() error path: the module is freed; modprobe fails.
                    n.mods[m as usize] = ModRt { state: ModState::Unloaded, klp_alive: false };
                    log.line(|| dmesg::command_error(s, AdminOp::InsmodModule(m), ret));
                }
            }
            Action::ModuleInit(m) => n.mods[m as usize].state = ModState::Live,
            Action::KlpModuleGoing(m) => {
                klp_module_going(s, &mut n, m, log);
                n.mods[m as usize].state = ModState::Gone;
            }
            Action::ModuleFree(m) => n.mods[m as usize].state = ModState::Unloaded,
            Action::KlpTransitionWork => klp_try_complete_transition(s, &mut n, log),
            Action::KlpTrySwitchTask(_) => pass_try_switch(s, &mut n, log),
            Action::KlpFreePatchWork(p) => klp_free_patch_finish(&mut n, p),
            Action::KlpSendSignals => crate::transition::klp_send_signals(s, &mut n, log),
            Action::Syscall(pid, f) | Action::Call(pid, f) => call(s, &mut n, pid, f),
            Action::Return(pid) => ret(s, &mut n, pid),
            Action::Schedule(pid) => schedule(s, &mut n, pid, log),
            Action::Wake(pid) => n.tasks[pid as usize].context = Context::Running,
            Action::ExitToUserMode(pid) => exit_to_user_mode(s, &mut n, pid),
            Action::DoIdle(pid) => do_idle(s, &mut n, pid),
            Action::Fork(pid) => {
                fork(s, &mut n, pid)?;
            }
            Action::RetFromFork(pid) => exit_to_user_mode(s, &mut n, pid),
            Action::KlpFtraceHandlerFinish(pid) => klp_ftrace_handler_finish(s, &mut n, pid)?,
            Action::KlpCompleteTransitionPart => {
                n.completing?;
                crate::transition::complete_part(s, &mut n, log);
            }
            Action::KlpCopyProcess(pid) => {
                if n.tasks[pid as usize].context != Context::Forking {
                    return None;
                }
                klp_copy_process(s, &mut n, pid)?;
            }
            Action::KlpSelfSwitchContinue(pid) => crate::ordering::self_switch_continue(s, &mut n, pid, log)?,
            Action::KlpReverseTransitionContinue => crate::ordering::reverse_continue(s, &mut n, log)?,
            Action::KlpDisablePatchContinue => crate::ordering::disable_continue(s, &mut n, log)?,
            Action::StoresVisible => crate::ordering::stores_visible(&mut n)?,
        }
        Some(n)
    }

    /// Runs an admin command; returns 0 or the -errno the command fails with.
    fn admin(&self, n: &mut State, op: AdminOp, log: &mut impl Log) -> i32 {
        let s = &*self.spec;
        match op {
            AdminOp::InsmodPatch(p) => {
                if n.patches[p as usize].life != PatchLife::Unloaded {
                    return -17;
                }
                klp_enable_patch(s, n, p, log)
            }
            AdminOp::RmmodPatch(p) => {
                let r = n.patches[p as usize];
                if r.life == PatchLife::Unloaded {
                    return -2;
                }
                if self.patch_module_busy(n, p) {
                    return -16;
                }
                klp_unload_livepatch_module(s, n, p);
                0
            }
            AdminOp::InsmodModule(m) => {
                if n.mods[m as usize].state != ModState::Unloaded {
                    return -17;
                }
                // complete_formation(): MODULE_STATE_COMING, visible to find_module().
                n.mods[m as usize].state = ModState::Formed;
                0
            }
            AdminOp::RmmodModule(m) => {
                if n.mods[m as usize].state != ModState::Live {
                    return -2;
                }
                if self.module_busy(n, m) {
                    return -16;
                }
                if s.mutated(Mutation::GoingBeforeExit) {
                    klp_module_going(s, n, m, log);
                    n.mods[m as usize].state = ModState::Gone;
                    return 0;
                }
                // delete_module(): MODULE_STATE_GOING, mod->exit() runs.
                n.mods[m as usize].state = ModState::Going;
                0
            }
            AdminOp::Disable(p) => enabled_store(s, n, p, false, log),
            AdminOp::Enable(p) => enabled_store(s, n, p, true, log),
            AdminOp::Force(p) => force_store(s, n, p, log),
        }
    }

    /// A human name for an action, in kernel vocabulary.
    pub fn describe(&self, a: &Action) -> String {
        let s = &*self.spec;
        let t = |p: &Pid| s.task_name(*p);
        let f = |f: &FuncId| s.funcs[*f as usize].name.clone();
        let m = |m: &ModId| s.modules[*m as usize].name.clone();
        match a {
            Action::Admin(i) => s
                .admin
                .ops
                .get(*i as usize)
                .map(|o| dmesg::command_line(s, o.op))
                .unwrap_or_else(|| format!("admin #{i}")),
            Action::KlpModuleComing(x) => format!("klp_module_coming({})", m(x)),
            Action::ModuleInit(x) => format!("do_init_module({}): MODULE_STATE_LIVE", m(x)),
            Action::KlpModuleGoing(x) => format!("klp_module_going({})", m(x)),
            Action::ModuleFree(x) => format!("free_module({})", m(x)),
            Action::KlpTransitionWork => "klp_transition_work_fn(): klp_try_complete_transition()".into(),
            Action::KlpTrySwitchTask(p) => format!("klp_try_switch_task({})", t(p)),
            Action::KlpFreePatchWork(p) => format!("klp_free_patch_finish({})", s.patches[*p as usize].name),
            Action::KlpSendSignals => "klp_send_signals()".into(),
            Action::Syscall(p, x) => format!("{}: syscall -> {}()", t(p), f(x)),
            Action::Call(p, x) => format!("{}: call {}()", t(p), f(x)),
            Action::Return(p) => format!("{}: return", t(p)),
            Action::Schedule(p) => format!("{}: schedule()", t(p)),
            Action::Wake(p) => format!("{}: wake up", t(p)),
            Action::ExitToUserMode(p) => format!("{}: exit_to_user_mode()", t(p)),
            Action::DoIdle(p) => format!("{}: do_idle()", t(p)),
            Action::Fork(p) => format!("{}: fork()", t(p)),
            Action::RetFromFork(p) => format!("{}: ret_from_fork", t(p)),
            Action::KlpCopyProcess(p) => format!("{}: klp_copy_process()", t(p)),
            Action::KlpFtraceHandlerFinish(p) => format!("{}: klp_ftrace_handler() continues", t(p)),
            Action::KlpCompleteTransitionPart => "klp_complete_transition() continues".into(),
            Action::KlpSelfSwitchContinue(p) => format!("{}: klp_target_state read again", t(p)),
            Action::KlpReverseTransitionContinue => "klp_reverse_transition() continues".into(),
            Action::KlpDisablePatchContinue => "__klp_disable_patch() continues".into(),
            Action::StoresVisible => "the unordered stores reach every CPU".into(),
        }
    }
}

impl Model for KlpSystem {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.init_state()]
    }

    fn actions(&self, st: &State, out: &mut Vec<Action>) {
        let s = &*self.spec;
        self.admin_actions(st, out);
        for m in 0..s.modules.len() {
            let m = m as ModId;
            match st.mods[m as usize].state {
                ModState::Formed
                    if st.klp_mutex_free()
                        && self.synchronized(st)
                        && !(s.mutated(Mutation::ComingWaitsForTransition) && st.klp_transition_patch.is_some()) =>
                {
                    out.push(Action::KlpModuleComing(m))
                }
                // Woken when klp_transition_patch is NULL (module_load_during_transition = blocked).
                ModState::KlpWait
                    if st.klp_mutex_free() && self.synchronized(st) && st.klp_transition_patch.is_none() =>
                {
                    out.push(Action::KlpModuleComing(m))
                }
                ModState::Coming => out.push(Action::ModuleInit(m)),
                ModState::Going if st.klp_mutex_free() && self.synchronized(st) => out.push(Action::KlpModuleGoing(m)),
                ModState::Gone => out.push(Action::ModuleFree(m)),
                _ => {}
            }
        }
        match st.pass {
            Some(p) => out.push(Action::KlpTrySwitchTask(p.next)),
            None if st.completing.is_some() => {
                let part = st.completing.expect("completing");
                if !crate::transition::complete_waits_for_handlers(s, st, part) || !st.handler_in_flight() {
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
        out.extend(crate::ordering::pending_action(st));
        for (p, r) in st.patches.iter().enumerate() {
            if r.life == PatchLife::Freeing {
                out.push(Action::KlpFreePatchWork(p as PatchId));
            }
        }
        for pid in 0..st.tasks.len() {
            self.task_actions(st, pid as Pid, out);
        }
    }

    fn next_state(&self, st: &State, action: Action) -> Option<State> {
        self.step(st, action, &mut NoLog)
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
        (self.properties)()
    }
}
