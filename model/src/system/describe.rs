//! How an action reads in traces, timelines and the Explorer: kernel vocabulary, `comm: what`
//! for a task's own step.

use super::KlpSystem;
use crate::action::Action;
use crate::ids::*;

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
}
