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

use crate::ids::*;
use crate::spec::Spec;
use crate::state::State;
use crate::task::PatchState;

/// The handler's choice for a task whose `patch_state` is `ps` calling `f`, and whether the
/// `WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)` fires.
pub fn klp_ftrace_handler(spec: &Spec, st: &State, f: FuncId, ps: PatchState) -> (Version, bool) {
    let stack = &st.func_stacks[f as usize];
    // No klp_ops for this function: ftrace does not redirect it.
    let Some(&top) = stack.last() else {
        return (Version::ORIGINAL, false);
    };
    let mut func = top;
    let mut warn = false;
    if st.funcs[top as usize].transition {
        warn = ps == PatchState::Idle;
        if ps == PatchState::Unpatched {
            // Use the previously patched version, or the original if there is none.
            match stack.len() {
                1 => return (Version::ORIGINAL, warn),
                n => func = stack[n - 2],
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
