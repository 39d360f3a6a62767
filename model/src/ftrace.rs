//! Which version of a function a task runs: `klp_ftrace_handler()` (kernel/livepatch/patch.c).
//!
//! The handler runs on every call of a patched function with preemption disabled. It reads the
//! top of the function's `func_stack`, then (after `smp_rmb()`, pairing with the `smp_wmb()` in
//! `__klp_enable_patch()`) that func's `transition` flag, then (after a second `smp_rmb()`,
//! pairing with `klp_init_transition()`) `current->patch_state`. The model evaluates it in one
//! step: **Atomic because** the writers order their stores with those barriers and wait for
//! in-flight handlers with `klp_synchronize_transition()` wherever a reader could otherwise see
//! a mix (`klp_complete_transition()`, `klp_reverse_transition()`), so every interleaving of the
//! three reads yields a result the atomic read also yields.
//!
//! When a design variant drops one `klp_synchronize_transition()` (`synchronize_transition`),
//! that argument no longer holds: the handler is then two steps, split at the read the dropped
//! call protected ([`read_func_stack`] first, [`choose`] later; workload.rs).

use crate::ids::*;
use crate::spec::Spec;
use crate::state::State;
use crate::task::PatchState;
use serde::{Deserialize, Serialize};

/// The handler's choice for a task whose `patch_state` is `ps` calling `f`, and whether the
/// `WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)` fires.
pub fn klp_ftrace_handler(spec: &Spec, st: &State, f: FuncId, ps: PatchState) -> (Version, bool) {
    let Some(read) = read_func_stack(st, f) else {
        // No klp_ops for this function: ftrace does not redirect it.
        return (Version::ORIGINAL, false);
    };
    choose(spec, read, st.funcs[read.top as usize].transition, ps)
}

/// What the handler read from `f`'s func_stack: the first entry and the one after it (RCU
/// keeps a removed entry's next pointer, so the pair stays valid after `list_del_rcu()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncStackRead {
    pub top: KlpFuncId,
    pub next: Option<KlpFuncId>,
}

/// `list_first_or_null_rcu(&ops->func_stack, ...)` and its successor.
pub fn read_func_stack(st: &State, f: FuncId) -> Option<FuncStackRead> {
    let stack = &st.func_stacks[f as usize];
    let &top = stack.last()?;
    Some(FuncStackRead { top, next: stack.len().checked_sub(2).map(|i| stack[i]) })
}

/// The rest of the handler once it has `func->transition` and `current->patch_state`.
pub fn choose(spec: &Spec, read: FuncStackRead, transition: bool, ps: PatchState) -> (Version, bool) {
    let mut func = read.top;
    let mut warn = false;
    if transition {
        warn = ps == PatchState::Idle;
        if ps == PatchState::Unpatched {
            // Use the previously patched version, or the original if there is none.
            match read.next {
                None => return (Version::ORIGINAL, warn),
                Some(n) => func = n,
            }
        }
    }
    let k = &spec.klp_funcs[func as usize];
    if k.nop {
        // "Setting pc would cause an infinite loop": a nop runs the original code.
        (Version::ORIGINAL, warn)
    } else {
        (Version::of_patch(k.patch), warn)
    }
}

/// The version every task in state `ps` would run for `f` right now (ignoring the warning).
pub fn version_for(spec: &Spec, st: &State, f: FuncId, ps: PatchState) -> Version {
    klp_ftrace_handler(spec, st, f, ps).0
}
