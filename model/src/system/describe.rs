//! How an action reads in traces, timelines and the Explorer: kernel vocabulary, `comm: what`
//! for a task's own step. [`KlpSystem::describe_step`] also names the kernel functions a step
//! ran that its action does not name (a self switch, the completion of the transition),
//! derived from what the step changed.

use super::KlpSystem;
use crate::action::Action;
use crate::ids::*;
use crate::state::State;

impl KlpSystem {
    /// A human name for an action, in kernel vocabulary: `comm: what` for a task's own step.
    pub fn describe(&self, a: &Action) -> String {
        let s = &*self.spec;
        let f = |f: &FuncId| s.funcs[*f as usize].name.clone();
        let m = |m: &ModId| s.modules[*m as usize].name.clone();
        let what = match a {
            Action::Admin(i) => s
                .admin
                .ops
                .get(*i as usize)
                .map(|o| crate::dmesg::command_line(s, o))
                .unwrap_or_else(|| format!("admin #{i}")),
            Action::Renamed { renaming, index } => {
                format!("(reduced model) step {index} with the copies renamed by #{renaming}")
            }
            Action::KlpModuleComing(x) => format!("klp_module_coming({})", m(x)),
            Action::ModuleInit(x) => format!("do_init_module({}): mod->init returns", m(x)),
            Action::ModuleExit(x) => format!("delete_module({}): mod->exit() returns", m(x)),
            Action::KlpModuleGoing(x) => format!("klp_module_going({})", m(x)),
            Action::ModuleFree(x) => format!("free_module({})", m(x)),
            Action::KlpTransitionWork => "klp_transition_work_fn(): klp_try_complete_transition()".into(),
            Action::KlpTrySwitchTask(p) => return format!("klp_try_switch_task({})", s.task_name(*p)),
            Action::KlpFreePatchWork(p) => format!("klp_free_patch_finish({})", s.patches[*p as usize].name),
            Action::KlpSendSignals => "klp_send_signals()".into(),
            Action::Syscall(_, x) => format!("syscall -> {}()", f(x)),
            Action::Call(_, x) => format!("call {}()", f(x)),
            Action::Return(_) => "return".into(),
            Action::Schedule(_) => "schedule()".into(),
            Action::Wake(_) => "wake up".into(),
            Action::ExitToUserMode(_) => "exit_to_user_mode()".into(),
            Action::DoIdle(_) => "do_idle()".into(),
            Action::Fork(_) => "fork()".into(),
            Action::RetFromFork(_) => "ret_from_fork".into(),
            Action::KlpCopyProcess(_) => "klp_copy_process()".into(),
            Action::KlpFtraceHandlerFinish(_) => "klp_ftrace_handler() continues".into(),
            Action::KlpCompleteTransitionPart => "klp_complete_transition() continues".into(),
            Action::KlpNopLoop(_) => "klp_ftrace_handler() again (pc = the nop's new_func)".into(),
            Action::KlpSelfSwitchContinue(_) => "klp_target_state read again".into(),
            Action::KlpReverseTransitionContinue => "klp_reverse_transition() continues".into(),
            Action::KlpDisablePatchContinue => "__klp_disable_patch() continues".into(),
            Action::StoresVisible => "the unordered stores reach every CPU".into(),
            Action::KlpIdleCpuOffline(p) => {
                return format!("klp_try_complete_transition(): cpu_online({}) is false", s.cpu_of(*p))
            }
            Action::KlpSwitchOfflineIdle(p) => {
                return format!("klp_try_complete_transition(): offline {} switched immediately", s.task_name(*p))
            }
            Action::Preempt(_) => "preempted".into(),
            Action::Resume(_) => "resumes".into(),
            Action::CondResched(_) => "cond_resched()".into(),
            Action::KlpSwitchTaskStore(p) => {
                return format!("klp_try_switch_task({}): patch_state stored", s.task_name(*p))
            }
        };
        match a.task() {
            Some(p) => format!("{}: {what}", s.task_name(p)),
            None => what,
        }
    }

    /// [`Self::describe`] of the step `before` -> `after`, followed by the kernel functions it
    /// ran that the action's name hides, as `-> f()` each:
    /// * `__klp_sched_try_switch()` when `schedule()` or `cond_resched()` switched the task
    ///   itself (kernel/sched/core.rs), `klp_update_patch_state()` when `do_idle()` or
    ///   `exit_to_user_mode()` did (its `patch_state` or TIF_PATCH_PENDING changed);
    /// * `klp_complete_transition()` when the step ended the transition (`klp_transition_patch`
    ///   cleared) or began its split completion (`completing` set), e.g. the last
    ///   `klp_try_switch_task()` of a pass.
    ///
    /// Admin commands keep their command line: what they ran is in their dmesg lines.
    pub fn describe_step(&self, before: &State, a: &Action, after: &State) -> String {
        let mut out = self.describe(a);
        if matches!(a, Action::Admin(_)) {
            return out;
        }
        if let Some(p) = a.task() {
            let (b, n) = (&before.tasks[p as usize], &after.tasks[p as usize]);
            let switched = b.patch_state != n.patch_state || b.tif_patch_pending != n.tif_patch_pending;
            let by = match a {
                Action::Schedule(_) | Action::CondResched(_) => Some("__klp_sched_try_switch()"),
                Action::DoIdle(_) | Action::ExitToUserMode(_) => Some("klp_update_patch_state()"),
                _ => None,
            };
            if let Some(f) = by.filter(|_| switched) {
                out.push_str(" -> ");
                out.push_str(f);
            }
        }
        let ended = before.klp_transition_patch.is_some() && after.klp_transition_patch.is_none();
        let began = before.completing.is_none() && after.completing.is_some();
        if (ended || began) && !matches!(a, Action::KlpCompleteTransitionPart) {
            out.push_str(" -> klp_complete_transition()");
        }
        out
    }
}
