//! A task running the scenario's kernel code: a call (through `klp_ftrace_handler()` when the
//! function has a func_stack) and a return. The handler is the only livepatch code on these
//! paths; a user task leaving its last frame returns to user mode
//! (kernel/entry/common.c `exit_to_user_mode()` → `klp_update_patch_state()`).

use crate::ids::*;
use crate::kernel::entry::common::exit_to_user_mode;
use crate::kernel::livepatch::patch::{klp_ftrace_handler, klp_ftrace_handler_finish, Landing};
use crate::kernel::livepatch::shadow::{klp_shadow_free, klp_shadow_get, klp_shadow_get_or_alloc};
use crate::spec::ShadowFn;
use crate::spec::Spec;
use crate::state::{Site, State, Warn};
use crate::task::{Context, Frame, TaskKind};

/// `pid` calls `f` (a syscall from user mode, or a call inside the kernel): the handler picks
/// the version and the task enters it. Atomic (see kernel/livepatch/patch.rs) unless a design
/// variant splits the handler's reads: then the call stays in the handler until
/// [`call_finish`].
pub fn call(spec: &Spec, st: &mut State, pid: Pid, f: FuncId) {
    match klp_ftrace_handler(spec, st, pid, f) {
        Some(landing) => enter(spec, st, pid, f, landing),
        None => st.tasks[pid as usize].context = Context::Running,
    }
}

/// A task whose call the handler sent back to the function's entry (`nop_handler = "set_pc"`)
/// reaches the function's ftrace location again: the handler runs again on the same call.
/// Atomic as [`call`] is; between two rounds the task is preemptible (the handler re-enables
/// preemption before it returns).
pub fn nop_loop(spec: &Spec, st: &mut State, pid: Pid) {
    let t = &mut st.tasks[pid as usize];
    let Some(fr) = t.stack.pop() else { return };
    t.nop_loop = false;
    call(spec, st, pid, fr.func);
}

/// The rest of a call whose handler was in flight: the handler finishes, the task enters.
pub fn call_finish(spec: &Spec, st: &mut State, pid: Pid) -> Option<()> {
    let (f, landing) = klp_ftrace_handler_finish(spec, st, pid)?;
    enter(spec, st, pid, f, landing);
    Some(())
}

/// The call lands in the chosen version: a new frame (and the handler's warning, if any), and
/// the version's shadow variable calls, in order. Atomic with the call, a simplification (README
/// "Simplifications"): each call holds `klp_shadow_lock` (kernel/livepatch/shadow.rs), and
/// the frame stays on the stack until the return, so the transition (and every callback after
/// it) sees the function in use wherever in its body the calls run. A call sent back to the
/// function's entry is a frame of the original function, at its start (where a stack trace
/// finds it), marked [`crate::task::Task::nop_loop`] (the original makes no shadow calls).
fn enter(spec: &Spec, st: &mut State, pid: Pid, f: FuncId, landing: Landing) {
    let Landing { version, warn, nop_loop } = landing;
    if warn {
        st.warn(Warn::HandlerIdle);
    }
    if st.func_stacks[f as usize].last().is_some_and(|&k| st.funcs[k as usize].transition) {
        st.reach(Site::HandlerTransition);
    }
    let t = &mut st.tasks[pid as usize];
    t.stack.push(Frame { func: f, version });
    t.nop_loop = nop_loop;
    t.context = Context::Running;
    for c in spec.funcs[f as usize].shadow_of(version) {
        match c.call {
            ShadowFn::GetOrAlloc => klp_shadow_get_or_alloc(st, c.var),
            ShadowFn::Get => {
                klp_shadow_get(st, c.var);
            }
            ShadowFn::Free => klp_shadow_free(st, c.var),
        }
    }
}

/// Pop the innermost frame; a user task with no frame left returns to user mode.
/// Atomic because: the stack is the task's own; another CPU reads it only in
/// `klp_check_stack()` under `task_call_func()`, while the task is off the CPU.
pub fn ret(spec: &Spec, st: &mut State, pid: Pid) {
    st.tasks[pid as usize].stack.pop();
    if spec.tasks[pid as usize].kind == TaskKind::User && st.tasks[pid as usize].stack.is_empty() {
        exit_to_user_mode(spec, st, pid);
    }
}
