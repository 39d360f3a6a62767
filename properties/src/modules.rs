//! Modules, func_stacks and patch lifetimes (docs/kernel-semantics.md S9, S10, S12, S13, S14).

use crate::{always, sometimes, Entry};
use klp_model::ids::{FuncId, Version};
use klp_model::kernel::livepatch::core_h::klp_is_object_loaded;
use klp_model::kernel::livepatch::state::klp_is_state_compatible;
use klp_model::state::{ModState, PatchLife, Site};
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "module_code_patched",
            module_code_patched,
            "module_patched_while_live",
            "kernel/module/main.c prepare_coming_module() (klp_module_coming before mod->init), delete_module() (klp_module_going after mod->exit); S9",
            "While a target module's code can run (from its init on, until its exit returned), every \
             enabled or transition patch on klp_patches that has an object for it has that object \
             patched."
        ),
        sometimes!("module_patched_while_live", module_patched_while_live, "A LIVE target module has a patched object."),
        always!(
            "no_dangling_obj_mod",
            no_dangling_obj_mod,
            "object_bound_to_module",
            "core.c klp_find_object_module() (mod->klp_alive), klp_module_going() (klp_free_object_loaded: obj->mod = NULL); S10",
            "An object bound to a module (obj->mod != NULL) is bound to a module that is alive \
             (mod->klp_alive), and a patched object is loaded."
        ),
        sometimes!("object_bound_to_module", object_bound_to_module, "Some patch object is bound to a loaded target module."),
        always!(
            "func_stack_consistent",
            func_stack_consistent,
            "func_stack_stacked",
            "patch.c klp_patch_func()/klp_unpatch_func(); livepatch.h klp_func.patched; S10",
            "A func is on its function's func_stack exactly when func->patched is set, at most once."
        ),
        sometimes!("func_stack_stacked", func_stack_stacked, "Some func_stack holds two funcs (patches stacked on one function)."),
        always!(
            "func_stack_order",
            func_stack_order,
            "func_stack_stacked",
            "patch.c klp_patch_func() list_add_rcu at the head; core.c klp_module_coming() walks klp_patches oldest first; S12",
            "Within every func_stack, newer patches (later on klp_patches) are above older ones, so the \
             handler's top func is the most recently enabled patch's."
        ),
        always!(
            "patches_compatible",
            patches_compatible,
            "two_patches_listed",
            "state.c klp_is_patch_compatible(); Documentation/livepatch/system-state.rst; S13",
            "For every two patches on klp_patches, the newer one handles each system state of the \
             older one with the same or a higher version, or is not a replace patch and does not \
             touch it."
        ),
        sometimes!("two_patches_listed", two_patches_listed, "Two patches are on klp_patches."),
        always!(
            "forced_module_kept",
            forced_module_kept,
            "patch_forced",
            "livepatch.rst: \"Removal (rmmod) of patch modules is permanently disabled when the force feature is used\"; core.c klp_free_patch_finish(); S14",
            "A livepatch module involved in a forced transition is never unloaded."
        ),
        sometimes!("patch_forced", patch_forced, "Some patch was forced."),
        always!(
            "module_code_patched_while_covered",
            module_code_patched_while_covered,
            "module_function_runs_covered",
            "livepatch.rst §3 (consistency model: once a transition completes every task runs the new code); core.c klp_module_coming() (\"applying patch ... to loading module\"); S9",
            "No task runs an old version of a target module's function while an enabled patch covers \
             it: for every frame of a module function, if a patch on klp_patches that is enabled has \
             a func for that function and no transition is in progress for it (the transition patch \
             has no func for it; during a transition tasks legitimately run either version), the \
             frame runs the version of the newest such patch (the original code for a nop). Not \
             promised once a transition was forced."
        ),
        sometimes!(
            "module_function_runs_covered",
            module_function_runs_covered,
            "A task runs a target module's function that an enabled patch covers outside a \
             transition of that function, in a patched version."
        ),
    ]
}

pub fn module_code_patched(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    // A patch registered but disabled (the registration API) patches nothing.
    let active = |p: u8| st.patches[p as usize].enabled || st.klp_transition_patch == Some(p);
    st.klp_patches.iter().filter(|&&p| active(p)).all(|&p| {
        spec.patches[p as usize].objs.iter().all(|&o| {
            let os = &spec.objs[o as usize];
            match os.module {
                Some(md) if st.objs[o as usize].exists => {
                    !st.mods[md as usize].state.code_runs() || st.objs[o as usize].patched
                }
                _ => true,
            }
        })
    })
}
fn module_patched_while_live(m: &KlpSystem, st: &State) -> bool {
    m.spec
        .objs
        .iter()
        .zip(&st.objs)
        .any(|(os, o)| o.patched && os.module.is_some_and(|md| st.mods[md as usize].state == ModState::Live))
}
pub fn no_dangling_obj_mod(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    spec.objs.iter().enumerate().all(|(i, os)| {
        let o = &st.objs[i];
        let bound_ok = !o.mod_bound || os.module.is_some_and(|md| st.mods[md as usize].klp_alive);
        let patched_ok = !o.patched || klp_is_object_loaded(spec, st, i as u8);
        bound_ok && patched_ok
    })
}
fn object_bound_to_module(_: &KlpSystem, st: &State) -> bool {
    st.objs.iter().any(|o| o.mod_bound)
}
pub fn func_stack_consistent(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    st.funcs.iter().enumerate().all(|(k, f)| {
        let n = st.func_stacks[spec.klp_funcs[k].old_func as usize].iter().filter(|&&x| x as usize == k).count();
        n == usize::from(f.patched)
    })
}
fn func_stack_stacked(_: &KlpSystem, st: &State) -> bool {
    st.func_stacks.iter().any(|s| s.len() >= 2)
}
pub fn func_stack_order(m: &KlpSystem, st: &State) -> bool {
    let pos = |k: u8| st.klp_patches.iter().position(|&p| p == m.spec.klp_funcs[k as usize].patch);
    st.func_stacks.iter().all(|s| s.windows(2).all(|w| pos(w[0]) < pos(w[1])))
}
/// Every patch on `klp_patches` keeps the states of the patches before it: the invariant
/// `klp_is_patch_compatible()` maintains by checking each new patch against the listed ones
/// (its per-state rule, `klp_is_state_compatible()`, is shared; the property checks it over
/// every pair, so a patch listed by a path that skips the check is caught).
pub fn patches_compatible(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    st.klp_patches.iter().enumerate().all(|(i, &old)| {
        st.klp_patches[i + 1..].iter().all(|&new| {
            let new = &spec.patches[new as usize];
            spec.patches[old as usize].states.iter().all(|&s| klp_is_state_compatible(new, s))
        })
    })
}
fn two_patches_listed(_: &KlpSystem, st: &State) -> bool {
    st.klp_patches.len() >= 2
}
pub fn forced_module_kept(_: &KlpSystem, st: &State) -> bool {
    st.patches.iter().all(|p| !p.forced || p.life != PatchLife::Unloaded)
}
fn patch_forced(_: &KlpSystem, st: &State) -> bool {
    st.patches.iter().any(|p| p.forced)
}

/// The version an enabled patch makes a module function run outside a transition of that
/// function: `None` when no enabled patch covers it or the transition patch has a func for it.
fn covered_version(m: &KlpSystem, st: &State, f: FuncId) -> Option<Version> {
    let spec = &*m.spec;
    let func_of = |p: u8| {
        spec.patches[p as usize]
            .objs
            .iter()
            .flat_map(|&o| spec.objs[o as usize].funcs.iter().copied())
            .find(|&k| st.funcs[k as usize].exists && spec.klp_funcs[k as usize].old_func == f)
    };
    if st.klp_transition_patch.is_some_and(|p| func_of(p).is_some()) {
        return None;
    }
    st.klp_patches.iter().rev().filter(|&&p| st.patches[p as usize].enabled).find_map(|&p| {
        func_of(p).map(|k| if spec.klp_funcs[k as usize].nop { Version::ORIGINAL } else { Version::of_patch(p) })
    })
}

/// See the entry above.
pub fn module_code_patched_while_covered(m: &KlpSystem, st: &State) -> bool {
    // As no_mixed_universe: force voids the consistency model (livepatch.rst §3).
    if st.reached(Site::ForceTransition) {
        return true;
    }
    let spec = &*m.spec;
    st.tasks.iter().all(|t| {
        t.stack.iter().all(|fr| {
            spec.funcs[fr.func as usize].module.is_none()
                || covered_version(m, st, fr.func).is_none_or(|v| v == fr.version)
        })
    })
}
fn module_function_runs_covered(m: &KlpSystem, st: &State) -> bool {
    let spec = &*m.spec;
    st.tasks.iter().any(|t| {
        t.stack.iter().any(|fr| {
            spec.funcs[fr.func as usize].module.is_some()
                && covered_version(m, st, fr.func).is_some_and(|v| v == fr.version && v != Version::ORIGINAL)
        })
    })
}
