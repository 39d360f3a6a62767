//! The user's own properties, declared in the scenario (`[[invariant]]`, `[[witness]]`): a
//! predicate over patches, modules, tasks and the transition, resolved to ids. What each atom
//! means on a state is the properties crate's (`klp_properties::user`); the model only carries
//! them, as it carries the scenario.

use crate::ids::*;
use crate::task::PatchState;

/// The most user properties a scenario may declare (each is one `fn` slot of the catalogue).
pub const MAX_USER_PROPERTIES: usize = 16;

/// One `[[invariant]]` (`always`) or `[[witness]]` (`sometimes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserProperty {
    /// The user's name; leaked once per loaded scenario, because stateright names properties
    /// with `&'static str`.
    pub name: &'static str,
    /// `true`: `[[invariant]]` (always); `false`: `[[witness]]` (sometimes).
    pub invariant: bool,
    /// The user's description, or the predicate as written.
    pub statement: String,
    /// Line and column of its name in the scenario file (for errors found after loading: a
    /// name that is a built-in property's).
    pub at: (usize, usize),
    pub holds: Predicate,
}

/// A resolved predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    /// `{ patch = P, state = S }`.
    Patch(PatchId, PatchIs),
    /// `{ module = M, loaded = B }` or `{ module = M, state = S }` of a target module.
    Module(ModId, ModuleIs),
    /// `{ module = P, loaded = B }` of a livepatch module.
    LivepatchModule(PatchId, bool),
    /// `{ task = T, runs = F, version = V }`: some task of `tasks` has a frame of `func` (of
    /// `version`, any version if `None`) on its stack.
    Runs {
        tasks: Vec<Pid>,
        func: FuncId,
        version: Option<Version>,
    },
    /// `{ task = T, patch_state = S }`: some task of `tasks` has `task->patch_state == S`.
    TaskPatchState {
        tasks: Vec<Pid>,
        state: PatchState,
    },
    /// `{ task = T, pending = B }`: some task of `tasks` has TIF_PATCH_PENDING == B.
    TaskPending {
        tasks: Vec<Pid>,
        pending: bool,
    },
    /// `{ transition = S }`.
    Transition(TransitionIs),
}

/// What `{ patch = P, state = S }` asks of a livepatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchIs {
    /// Its module is not loaded.
    Unloaded,
    /// Its module is loaded (whatever the patch's state).
    Loaded,
    /// On `klp_patches` (enabled, or in a transition either way).
    Listed,
    /// `patch->enabled` (set when its patching transition starts, cleared when an unpatching
    /// one starts).
    Enabled,
    /// Its module is loaded and `patch->enabled` is clear.
    Disabled,
    /// It is `klp_transition_patch`.
    Transition,
    /// `patch->forced`.
    Forced,
}

/// What `{ module = M, state = S }` asks of a target module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleIs {
    /// Loaded (any state but unloaded): `loaded = true`.
    Loaded,
    /// Not loaded: `loaded = false`, `state = "unloaded"`.
    Unloaded,
    /// `MODULE_STATE_COMING`.
    Coming,
    /// `MODULE_STATE_LIVE`.
    Live,
    /// `MODULE_STATE_GOING`.
    Going,
}

/// What `{ transition = S }` asks of `klp_transition_patch` and `klp_target_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionIs {
    /// No transition.
    None,
    /// Some transition, either way.
    Any,
    /// A patching transition (`klp_target_state == KLP_PATCHED`).
    Patching,
    /// An unpatching transition (`klp_target_state == KLP_UNPATCHED`).
    Unpatching,
}
