//! Property-based tests of the model itself: random sequences of enabled actions from the
//! initial state of shipped scenarios never panic, and every state on the way keeps the
//! internal consistency the kernel's data structures have (include/linux/livepatch.h,
//! kernel/livepatch/{core,patch,transition}.c and their WARN_ONs), checked by
//! [`check_internal`] after every step.

use klp_model::state::PatchLife;
use klp_model::task::{Context, PatchState};
use klp_model::{KlpSystem, Spec, State};
use proptest::prelude::*;
use stateright::{Model, Property};
use std::path::Path;

fn no_properties() -> Vec<Property<KlpSystem>> {
    Vec::new()
}

/// The model's internal invariants, each with the kernel code that keeps it.
fn check_internal(st: &State, spec: &Spec) -> Result<(), String> {
    let in_transition = st.klp_transition_patch.is_some();
    // klp_init_transition() sets klp_transition_patch and klp_target_state together,
    // klp_complete_transition() clears both (transition.c).
    if in_transition != (st.klp_target_state != PatchState::Idle) {
        return Err(format!(
            "klp_target_state {:?} with klp_transition_patch {:?}",
            st.klp_target_state, st.klp_transition_patch
        ));
    }
    // The transition patch is on klp_patches (klp_enable_patch() adds it before the
    // transition starts; klp_free_patch_start() removes it only after completion).
    if let Some(p) = st.klp_transition_patch {
        if !st.klp_patches.contains(&p) {
            return Err(format!("transition patch {p} not on klp_patches"));
        }
    }
    // A pass of klp_try_complete_transition() runs only in a transition.
    if st.pass.is_some() && !in_transition {
        return Err("a klp_try_complete_transition() pass outside a transition".into());
    }
    // klp_patches: listed patches only, each once, in order (list_add_tail in klp_init_patch()).
    for (i, &p) in st.klp_patches.iter().enumerate() {
        if st.patches[p as usize].life != PatchLife::Listed {
            return Err(format!("patch {p} on klp_patches but {:?}", st.patches[p as usize].life));
        }
        if st.klp_patches[..i].contains(&p) {
            return Err(format!("patch {p} twice on klp_patches"));
        }
    }
    for (p, rt) in st.patches.iter().enumerate() {
        if rt.life == PatchLife::Listed && !st.klp_patches.contains(&(p as u8)) {
            return Err(format!("patch {p} Listed but not on klp_patches"));
        }
    }
    for (pid, t) in st.tasks.iter().enumerate() {
        // klp_init_transition() gives every task a patch_state, klp_complete_transition()
        // resets them all to KLP_TRANSITION_IDLE; a task forked in between copies its
        // parent's (klp_copy_process()). Unborn child slots are not tasks yet.
        if t.context != Context::Unborn && (t.patch_state == PatchState::Idle) == in_transition {
            return Err(format!("task {pid} patch_state {:?} with transition {in_transition}", t.patch_state));
        }
        // TIF_PATCH_PENDING is set by klp_start_transition() and cleared by the switch or by
        // klp_complete_transition() (WARN_ON_ONCE there if still set).
        if t.tif_patch_pending && !in_transition {
            return Err(format!("task {pid} has TIF_PATCH_PENDING outside a transition"));
        }
        if t.stack.len() > spec.max_stack as usize {
            return Err(format!("task {pid} stack deeper than max_stack"));
        }
        // Every frame runs a version that exists: the original, or a patch that has a real
        // (non-nop) klp_func for that function (a nop runs the original).
        for f in &t.stack {
            if (f.func as usize) >= spec.funcs.len() {
                return Err(format!("task {pid}: frame of unknown function {}", f.func));
            }
            if let Some(p) = f.version.patch() {
                let real = spec.klp_funcs.iter().any(|k| k.patch == p && k.old_func == f.func && !k.nop);
                if !real {
                    return Err(format!(
                        "task {pid}: frame {} runs version {:?} that no klp_func provides",
                        f.func, f.version
                    ));
                }
            }
        }
    }
    for (k, rt) in st.funcs.iter().enumerate() {
        let spec_k = &spec.klp_funcs[k];
        let on_stack = st.func_stacks[spec_k.old_func as usize].contains(&(k as u8));
        // klp_patch_func() adds the func to func_stack and sets func->patched; klp_unpatch_func()
        // undoes both (patch.c), under klp_mutex.
        if on_stack != rt.patched {
            return Err(format!("klp_func {k}: on func_stack {on_stack}, patched {}", rt.patched));
        }
        // func->transition is set by klp_init_transition() and cleared by
        // klp_complete_transition().
        if rt.transition && !in_transition {
            return Err(format!("klp_func {k}: transition set outside a transition"));
        }
        // A nop exists only while klp_add_nops() allocated it (freed by klp_free_objects_dynamic()).
        if !rt.exists && (rt.patched || rt.transition) {
            return Err(format!("klp_func {k}: patched or in transition but not allocated"));
        }
        // A patched func belongs to a patch that is enabled or in transition (on klp_patches).
        if rt.patched && !st.klp_patches.contains(&spec_k.patch) {
            return Err(format!("klp_func {k}: patched but patch {} not on klp_patches", spec_k.patch));
        }
    }
    for (f, stack) in st.func_stacks.iter().enumerate() {
        for (i, &k) in stack.iter().enumerate() {
            if spec.klp_funcs[k as usize].old_func as usize != f {
                return Err(format!("func_stack of {f} holds klp_func {k} of another function"));
            }
            if stack[..i].contains(&k) {
                return Err(format!("klp_func {k} twice on a func_stack"));
            }
        }
    }
    Ok(())
}

fn scenario(name: &str) -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{name}.toml"));
    klp_model::scenario::load(&path).unwrap()
}

const SCENARIOS: &[&str] = &[
    "default",
    "fork",
    "selftest-callbacks-09-busy-target-module",
    "selftest-callbacks-11-atomic-replace",
    "selftest-livepatch-03-atomic-replace-livepatch",
    "selftest-state-04-incompatible-cumulative-livepatches",
];

/// Walks `choices` through enabled actions; returns the steps taken and the first broken
/// invariant.
fn walk(spec: &Spec, choices: &[usize]) -> Result<(), String> {
    let m = KlpSystem::new(spec.clone(), no_properties);
    let mut st = m.init_state();
    check_internal(&st, spec).map_err(|e| format!("initial state: {e}"))?;
    let mut taken = Vec::new();
    for &c in choices {
        let mut acts = Vec::new();
        m.actions(&st, &mut acts);
        if acts.is_empty() {
            break;
        }
        let a = acts[c % acts.len()];
        taken.push(m.describe(&a));
        match m.next_state(&st, a) {
            Some(n) => st = n,
            None => continue,
        }
        check_internal(&st, spec).map_err(|e| format!("{e}\nafter {taken:#?}"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_walks_keep_the_internal_invariants(s in 0..SCENARIOS.len(), choices in prop::collection::vec(any::<usize>(), 0..80)) {
        let spec = scenario(SCENARIOS[s]);
        if let Err(e) = walk(&spec, &choices) {
            return Err(TestCaseError::fail(format!("{}: {e}", SCENARIOS[s])));
        }
    }
}

#[test]
fn check_internal_catches_a_broken_state() {
    // The checker is not vacuous: break each invariant by hand.
    let spec = scenario("default");
    let m = KlpSystem::new(spec.clone(), no_properties);
    let st = m.init_state();
    assert_eq!(check_internal(&st, &spec), Ok(()));
    let mut s = st.clone();
    s.klp_target_state = PatchState::Patched;
    assert!(check_internal(&s, &spec).unwrap_err().contains("klp_target_state"));
    let mut s = st.clone();
    s.tasks[0].tif_patch_pending = true;
    assert!(check_internal(&s, &spec).is_err());
    let mut s = st.clone();
    s.funcs[0].patched = true;
    assert!(check_internal(&s, &spec).unwrap_err().contains("on func_stack false, patched true"));
}
