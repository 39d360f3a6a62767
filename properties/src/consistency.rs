//! The consistency model itself (Documentation/livepatch/livepatch.rst, section 3;
//! docs/kernel-semantics.md S4, S11).

use crate::{always, sometimes, Entry};
use klp_model::kernel::livepatch::patch::version_for;
use klp_model::state::{PatchLife, Site};
use klp_model::task::PatchState;
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "no_mixed_universe",
            no_mixed_universe,
            "patched_function_on_stack_in_transition",
            "Documentation/livepatch/livepatch.rst §3; transition.c klp_check_stack(), klp_update_patch_state()",
            "No task ever runs a mixed old/new set of functions: every frame on a task's stack (each \
             recorded with the version the ftrace handler chose when it was called) is the version one \
             consistent patch level gives its function: either the level every UNPATCHED task sees or \
             the level every PATCHED task sees, evaluated on the current func_stacks. Calls the task \
             makes while those frames are live push frames too, so they are checked the same way. \
             Not promised once a transition was forced (livepatch.rst §3: force \"could break\" it). \
             A patch marked `immediate` (v4.12..v4.15) declared its code interchangeable with the \
             version it replaced, so its versions count as that version."
        ),
        sometimes!(
            "patched_function_on_stack_in_transition",
            patched_function_on_stack_in_transition,
            "During a transition, some task has a frame of a function the transition patch patches."
        ),
        always!(
            "no_freed_livepatch_code",
            no_freed_livepatch_code,
            "livepatch_module_removable",
            "livepatch.rst §5 (module removal); core.c klp_free_patch_finish(); S11",
            "No task executes or sleeps in code of a livepatch module that was removed, and no \
             func_stack holds a func of a patch that is no longer on klp_patches."
        ),
        sometimes!(
            "livepatch_module_removable",
            livepatch_module_removable,
            "A livepatch was freed without force: its module's reference count dropped to 0 (rmmod is possible)."
        ),
    ]
}

/// See the entry above.
pub fn no_mixed_universe(m: &KlpSystem, st: &State) -> bool {
    // Once a transition was forced the kernel no longer promises this (livepatch.rst: force
    // "could break" the consistency model). `patch->forced` cannot tell: it is set only where
    // the module must stay loaded, not when a patching transition of a non-replace patch is
    // forced.
    if st.reached(Site::ForceTransition) {
        return true;
    }
    (0..st.tasks.len()).all(|pid| runs_one_patch_level(m, st, pid))
}

/// Whether every frame on task `pid`'s stack runs the version one patch level (the level every
/// UNPATCHED task sees, or the one every PATCHED task sees) gives its function now, an
/// `immediate` patch's version counting as the version it replaced. The traces' evidence of a
/// "mixed universe" names the first task for which this is false.
pub fn runs_one_patch_level(m: &KlpSystem, st: &State, pid: usize) -> bool {
    let spec = &*m.spec;
    let t = &st.tasks[pid];
    [PatchState::Unpatched, PatchState::Patched].iter().any(|&ps| {
        t.stack.iter().all(|fr| {
            let want = version_for(spec, st, fr.func, ps);
            want == fr.version || canonical(m, st, fr.func, want) == canonical(m, st, fr.func, fr.version)
        })
    })
}

/// The version `v` of `f` stands for: an `immediate` patch's version stands for the version
/// below it on `f`'s func_stack (recursively); any other version for itself.
fn canonical(m: &KlpSystem, st: &State, f: u8, mut v: klp_model::ids::Version) -> klp_model::ids::Version {
    let spec = &*m.spec;
    while let Some(p) = v.patch().filter(|&p| spec.patches[p as usize].immediate) {
        let stack = &st.func_stacks[f as usize];
        let Some(i) = stack.iter().position(|&k| spec.klp_funcs[k as usize].patch == p) else { break };
        v = match i.checked_sub(1).map(|j| &spec.klp_funcs[stack[j] as usize]) {
            Some(below) if !below.nop => klp_model::ids::Version::of_patch(below.patch),
            _ => klp_model::ids::Version::ORIGINAL,
        };
    }
    v
}

fn patched_function_on_stack_in_transition(m: &KlpSystem, st: &State) -> bool {
    let Some(p) = st.klp_transition_patch else { return false };
    let spec = &*m.spec;
    st.tasks
        .iter()
        .any(|t| t.stack.iter().any(|fr| spec.klp_funcs.iter().any(|k| k.patch == p && k.old_func == fr.func)))
}

/// See the entry above.
pub fn no_freed_livepatch_code(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    let frames_ok = st.tasks.iter().all(|t| {
        t.stack.iter().all(|fr| fr.version.patch().is_none_or(|p| st.patches[p as usize].life != PatchLife::Unloaded))
    });
    let stacks_ok =
        st.func_stacks.iter().flatten().all(|&k| st.klp_patches.contains(&spec.klp_funcs[k as usize].patch));
    frames_ok && stacks_ok
}

fn livepatch_module_removable(_: &KlpSystem, st: &State) -> bool {
    st.patches.iter().any(|p| p.life == PatchLife::Freed && !p.forced)
}
