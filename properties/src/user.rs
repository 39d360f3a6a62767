//! The scenario's own properties (`[[invariant]]`: `always`, `[[witness]]`: `sometimes`; the
//! predicate form is documented in docs/scenario.md). They are checked, reported, selected
//! with `--property` and given traces like every other property, under the user's name.
//!
//! stateright takes a property's condition as a plain `fn`, so each user property gets one of
//! [`MAX_USER_PROPERTIES`] slot functions, the `i`-th evaluating the scenario's `i`-th
//! predicate ([`Spec::user_properties`]).

use klp_model::spec::{ModuleIs, PatchIs, Predicate, Spec, TransitionIs, UserProperty, MAX_USER_PROPERTIES};
use klp_model::state::{ModState, PatchLife};
use klp_model::task::PatchState;
use klp_model::{KlpSystem, State};
use stateright::{Expectation, Property};

/// What a predicate says of one state.
pub fn eval(p: &Predicate, st: &State) -> bool {
    match p {
        Predicate::All(ps) => ps.iter().all(|q| eval(q, st)),
        Predicate::Any(ps) => ps.iter().any(|q| eval(q, st)),
        Predicate::Not(q) => !eval(q, st),
        Predicate::Patch(id, is) => {
            let p = &st.patches[*id as usize];
            let loaded = p.life != PatchLife::Unloaded;
            match is {
                PatchIs::Unloaded => !loaded,
                PatchIs::Loaded => loaded,
                PatchIs::Listed => st.klp_patches.contains(id),
                PatchIs::Enabled => p.enabled,
                PatchIs::Disabled => loaded && !p.enabled,
                PatchIs::Transition => st.klp_transition_patch == Some(*id),
                PatchIs::Forced => p.forced,
            }
        }
        Predicate::LivepatchModule(id, loaded) => (st.patches[*id as usize].life != PatchLife::Unloaded) == *loaded,
        Predicate::Module(m, is) => {
            let s = st.mods[*m as usize].state;
            match is {
                ModuleIs::Loaded => s != ModState::Unloaded,
                ModuleIs::Unloaded => s == ModState::Unloaded,
                ModuleIs::Coming => s.is_coming(),
                ModuleIs::Live => s == ModState::Live,
                ModuleIs::Going => s.is_going(),
            }
        }
        Predicate::Runs { tasks, func, version } => tasks.iter().any(|&t| {
            st.tasks[t as usize].stack.iter().any(|f| f.func == *func && version.is_none_or(|v| f.version == v))
        }),
        Predicate::TaskPatchState { tasks, state } => tasks.iter().any(|&t| st.tasks[t as usize].patch_state == *state),
        Predicate::TaskPending { tasks, pending } => {
            tasks.iter().any(|&t| st.tasks[t as usize].tif_patch_pending == *pending)
        }
        Predicate::Transition(is) => match (is, st.klp_transition_patch) {
            (TransitionIs::None, t) => t.is_none(),
            (TransitionIs::Any, t) => t.is_some(),
            (TransitionIs::Patching, t) => t.is_some() && st.klp_target_state == PatchState::Patched,
            (TransitionIs::Unpatching, t) => t.is_some() && st.klp_target_state == PatchState::Unpatched,
        },
    }
}

/// The `i`-th user property's condition: an invariant holds, a witness is reached.
fn slot<const I: usize>(m: &KlpSystem, st: &State) -> bool {
    m.spec.user_properties.get(I).is_some_and(|u| eval(&u.holds, st))
}

const SLOTS: [fn(&KlpSystem, &State) -> bool; MAX_USER_PROPERTIES] = [
    slot::<0>, slot::<1>, slot::<2>, slot::<3>, slot::<4>, slot::<5>, slot::<6>, slot::<7>, slot::<8>, slot::<9>,
    slot::<10>, slot::<11>, slot::<12>, slot::<13>, slot::<14>, slot::<15>,
];

fn expectation(u: &UserProperty) -> Expectation {
    if u.invariant {
        Expectation::Always
    } else {
        Expectation::Sometimes
    }
}

/// The scenario's user properties as stateright wants them (after the built-in ones, which
/// their names never shadow: the loader refuses a built-in name, [`reserved`]).
pub fn user_catalogue(spec: &Spec) -> Vec<Property<KlpSystem>> {
    spec.user_properties
        .iter()
        .zip(SLOTS)
        .map(|(u, condition)| Property { expectation: expectation(u), name: u.name, condition })
        .collect()
}

/// Documentation of the scenario's user properties (`check` lists them with the others).
pub fn docs(spec: &Spec) -> Vec<crate::PropertyDoc> {
    spec.user_properties
        .iter()
        .map(|u| crate::PropertyDoc {
            name: u.name,
            expectation: expectation(u),
            statement: Box::leak(u.statement.clone().into_boxed_str()),
            kernel: "the scenario's own property",
            partner: None,
        })
        .collect()
}

/// A user property whose name is a built-in property's (the first one), if any.
pub fn reserved(spec: &Spec) -> Option<&'static str> {
    let builtin = crate::docs();
    spec.user_properties.iter().map(|u| u.name).find(|n| builtin.iter().any(|d| d.name == *n))
}
