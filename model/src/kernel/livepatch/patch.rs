//! kernel/livepatch/patch.c: the func_stacks (`klp_patch_object()`, `klp_unpatch_object()`) and
//! the ftrace handler that picks, on every call of a patched function, which version runs.
//!
//! `klp_ftrace_handler()` runs with preemption disabled. It reads the top of the function's
//! `func_stack`, then (after `smp_rmb()`, pairing with the `smp_wmb()` in
//! `__klp_enable_patch()`) that func's `transition` flag, then (after a second `smp_rmb()`,
//! pairing with `klp_init_transition()`) `current->patch_state`. The model evaluates it in one
//! step. **Atomic because** the writers order their stores with those barriers and wait for
//! in-flight handlers with `klp_synchronize_transition()` wherever a reader could otherwise see
//! a mix (`klp_complete_transition()`, `klp_reverse_transition()`), so every interleaving of the
//! three reads yields a result the atomic read also yields.
//!
//! Where a design variant removes one of those guarantees, the handler's reads become steps of
//! their own, branched at the barrier or synchronize call the variant drops:
//! `synchronize_transition` (a dropped `klp_synchronize_transition()`: the reads before the
//! point that call protected are one step, the rest [`klp_ftrace_handler_finish`]) and
//! `barriers` (what this CPU may still see of stores a removed write barrier leaves unordered,
//! and under `no_handler_rmb` `patch_state` read before `transition`).

use crate::errno::{EBUSY, EINVAL};
use crate::ids::*;
use crate::log::Log;
use crate::mutation::Mutation;
use crate::spec::{PatchFails, Spec};
use crate::state::{Event, Split, State};
use crate::task::{FuncStackRead, HandlerRead, PatchState};
use crate::variant::{Barriers, NopHandler, SynchronizeTransition};

/// `list_first_or_null_rcu(&ops->func_stack, ...)` and its successor; `None` when the function
/// has no `klp_ops` (ftrace does not redirect it).
fn read_func_stack(st: &State, f: FuncId) -> Option<FuncStackRead> {
    let stack = &st.func_stacks[f as usize];
    let &top = stack.last()?;
    Some(FuncStackRead { top, next: stack.len().checked_sub(2).map(|i| stack[i]) })
}

/// Where a call lands once `klp_ftrace_handler()` has chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landing {
    /// The version the call runs (a nop: the original).
    pub version: Version,
    /// The handler's `WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)` fired.
    pub warn: bool,
    /// `nop_handler = "set_pc"` picked a nop: pc is set to its `new_func`, which is the
    /// original function's own entry, so the call comes back to the handler.
    pub nop_loop: bool,
}

/// `klp_ftrace_handler()` on `pid`'s call of `f`: where the call lands; `None` while the handler
/// is still in flight (its reads split by a design variant; [`klp_ftrace_handler_finish`]
/// ends it).
pub fn klp_ftrace_handler(spec: &Spec, st: &mut State, pid: Pid, f: FuncId) -> Option<Landing> {
    let Some(read) = read_func_stack(st, f) else {
        return Some(Landing { version: Version::ORIGINAL, warn: false, nop_loop: false });
    };
    let sync = spec.variant.synchronize_transition;
    if sync != SynchronizeTransition::All {
        // A dropped klp_synchronize_transition(). Unpatching: the removed func may be read
        // before klp_unpatch_objects(), its transition flag after it was cleared. Patching:
        // transition read before it was cleared, patch_state after it was reset.
        let transition =
            (sync == SynchronizeTransition::DropInCompletePatching).then(|| st.funcs[read.top as usize].transition);
        st.tasks[pid as usize].handler = Some(HandlerRead { func: f, read, transition, patch_state: None });
        return None;
    }
    let patch_state = patch_state_seen_by_handler(st, pid);
    match spec.variant.barriers {
        Barriers::All => Some(choose(spec, read, st.funcs[read.top as usize].transition, patch_state)),
        // No second smp_rmb(): current->patch_state is read first, func->transition later.
        Barriers::NoHandlerRmb => {
            let h = HandlerRead { func: f, read, transition: None, patch_state: Some(patch_state) };
            st.tasks[pid as usize].handler = Some(h);
            None
        }
        _ => Some(choose(spec, read, transition_seen(spec, st, read.top), patch_state)),
    }
}

/// The rest of a `klp_ftrace_handler()` in flight: read what is left (`func->transition`,
/// `current->patch_state`) and choose. Returns the function called and the [`Landing`] of
/// [`klp_ftrace_handler`].
/// Atomic because: the remaining reads are ordered by the handler's `smp_rmb()`s and nothing
/// the variant still synchronizes can run between them.
pub fn klp_ftrace_handler_finish(spec: &Spec, st: &mut State, pid: Pid) -> Option<(FuncId, Landing)> {
    let h = st.tasks[pid as usize].handler.take()?;
    let transition = h.transition.unwrap_or(st.funcs[h.read.top as usize].transition);
    let ps = h.patch_state.unwrap_or(st.tasks[pid as usize].patch_state);
    Some((h.func, choose(spec, h.read, transition, ps)))
}

/// The rest of the handler once it has `func->transition` and `current->patch_state`.
fn choose(spec: &Spec, read: FuncStackRead, transition: bool, ps: PatchState) -> Landing {
    let mut func = read.top;
    let mut warn = false;
    if transition {
        warn = ps == PatchState::Idle;
        if ps == PatchState::Unpatched {
            // Use the previously patched version, or the original if there is none.
            match read.next {
                None => return Landing { version: Version::ORIGINAL, warn, nop_loop: false },
                Some(n) => func = n,
            }
        }
    }
    let k = &spec.klp_funcs[func as usize];
    if k.nop {
        // "NOPs are used to replace existing patches with original code. Do nothing! Setting pc
        // would cause an infinite loop." Without that check (a design variant) pc is set to the
        // nop's new_func, the original's own entry: the task is at its ftrace location again.
        let nop_loop = spec.variant.nop_handler == NopHandler::SetPc;
        Landing { version: Version::ORIGINAL, warn, nop_loop }
    } else {
        Landing { version: Version::of_patch(k.patch), warn, nop_loop: false }
    }
}

/// The version the handler gives `f` right now to a task whose `patch_state` is `ps` (every
/// store visible; the properties and traces ask this).
pub fn version_for(spec: &Spec, st: &State, f: FuncId, ps: PatchState) -> Version {
    match read_func_stack(st, f) {
        None => Version::ORIGINAL,
        Some(read) => choose(spec, read, st.funcs[read.top as usize].transition, ps).version,
    }
}

/// `current->patch_state` as the task's handler reads it: under `barriers = "no_init_wmb"` the
/// `patch_state` writes of `klp_init_transition()` lag behind its `func->transition` writes.
fn patch_state_seen_by_handler(st: &State, pid: Pid) -> PatchState {
    match st.split {
        Some(Split::DisableInitialised) => PatchState::Idle,
        _ => st.tasks[pid as usize].patch_state,
    }
}

/// `func->transition` as a handler on another CPU reads it: under `barriers = "no_disable_wmb"`
/// the transition patch's `transition = true` writes lag behind TIF_PATCH_PENDING.
fn transition_seen(spec: &Spec, st: &State, k: KlpFuncId) -> bool {
    let lagging =
        st.split == Some(Split::TransitionUnseen) && st.klp_transition_patch == Some(spec.klp_funcs[k as usize].patch);
    st.funcs[k as usize].transition && !lagging
}

/// Under `no_handler_rmb` the handler's reads are two steps; a `klp_mutex` step that makes no
/// `klp_synchronize_transition()` (`__klp_disable_patch()`) does not wait for them.
pub fn handler_split(spec: &Spec) -> bool {
    spec.variant.barriers == Barriers::NoHandlerRmb
}

/// `klp_patch_object()`: push every func of `obj` on its function's func_stack
/// (`klp_patch_func()`: `list_add_rcu()` at the head) and mark it patched. Returns 0, or the
/// errno of the first `klp_patch_func()` that fails (`klp_patch_func_fails()` below): then
/// `klp_unpatch_object()` has taken the funcs it pushed off again and the object is not
/// patched.
/// Atomic because: `klp_mutex`; a func pushed and taken off again within the step is invisible
/// to handlers: in `__klp_enable_patch()` its `transition` is set and every task is UNPATCHED,
/// so a handler would pick the version below it, the one it ran before; in
/// `klp_module_coming()` the module's init has not run, so nothing calls its functions yet.
pub fn klp_patch_object(spec: &Spec, st: &mut State, obj: ObjId, log: &mut impl Log) -> i32 {
    if !st.cb_setup[obj as usize].pre_patch {
        st.event(Event::PatchedBeforePrePatch);
    }
    for &k in &spec.objs[obj as usize].funcs {
        let f = &mut st.funcs[k as usize];
        if f.exists && !f.patched {
            let ks = &spec.klp_funcs[k as usize];
            let stack = &mut st.func_stacks[ks.old_func as usize];
            let ftrace_off = (!st.ftrace_enabled).then_some(PatchFails::FtraceDisabled);
            if let Some(how) = ks.patch_fails.or(ftrace_off).filter(|_| stack.is_empty()) {
                let ret = klp_patch_func_fails(spec, ks.old_func, how, log);
                klp_unpatch_object(spec, st, obj, false);
                return ret;
            }
            f.patched = true;
            if spec.mutated(Mutation::PushFuncAtBottom) {
                stack.insert(0, k);
            } else {
                stack.push(k);
            }
        }
    }
    st.objs[obj as usize].patched = true;
    0
}

/// `klp_patch_func()` failing for old function `f`: only when `klp_find_ops()` finds no
/// `klp_ops` (an empty func_stack), because each failure is of the function's ftrace site:
/// `klp_get_ftrace_location()` finds none (-EINVAL), or `register_ftrace_function()` refuses
/// the `FTRACE_OPS_FL_IPMODIFY` ops another IPMODIFY user holds (-EBUSY). Its error path frees
/// the new `klp_ops`; the func is not pushed. Returns the errno.
fn klp_patch_func_fails(spec: &Spec, f: FuncId, how: PatchFails, log: &mut impl Log) -> i32 {
    let name = &spec.funcs[f as usize].name;
    match how {
        PatchFails::NoFtraceLocation => {
            log.line(|| format!("livepatch: failed to find location for function '{name}'"));
            EINVAL
        }
        PatchFails::Ipmodify | PatchFails::FtraceDisabled => {
            log.line(|| format!("livepatch: failed to register ftrace handler for function '{name}' ({EBUSY})"));
            EBUSY
        }
    }
}

/// `__klp_unpatch_object()`: remove the object's funcs (or only its nops) from their
/// func_stacks. When the last func of a function goes, `klp_unpatch_func()` unregisters the
/// ftrace handler (`unregister_ftrace_function()` waits for running handlers).
pub fn klp_unpatch_object(spec: &Spec, st: &mut State, obj: ObjId, nops_only: bool) {
    for &k in &spec.objs[obj as usize].funcs {
        let ks = &spec.klp_funcs[k as usize];
        if nops_only && !ks.nop {
            continue;
        }
        if st.funcs[k as usize].patched {
            st.funcs[k as usize].patched = false;
            if !spec.mutated(Mutation::KeepFuncOnUnpatch) {
                st.func_stacks[ks.old_func as usize].retain(|x| *x != k);
            }
        }
    }
    if spec.objs[obj as usize].dynamic || !nops_only {
        st.objs[obj as usize].patched = false;
    }
}

/// `klp_unpatch_objects()` (`nops_only`: `klp_unpatch_objects_dynamic()`): every patched object
/// of the patch.
pub fn klp_unpatch_objects(spec: &Spec, st: &mut State, p: PatchId, nops_only: bool) {
    for &o in &spec.patches[p as usize].objs {
        if st.objs[o as usize].patched {
            klp_unpatch_object(spec, st, o, nops_only);
        }
    }
}
