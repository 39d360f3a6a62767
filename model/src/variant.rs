//! Design variants: knobs that gate or reshape the model's steps. Every knob defaults to what
//! upstream Linux does; a non-default value is a proposal from the livepatch discussions or a
//! historical kernel behaviour (../shared/docs/design-variants.md). Properties never read knobs.

use serde::{Deserialize, Serialize};

/// A design variant. `Variant::default()` is upstream Linux.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Variant {
    /// What `klp_check_stack()` forbids on a task's stack before switching it.
    pub stack_check: StackCheck,
}

/// `klp_check_stack_func()`: which function versions may not be on a task's stack when the
/// transition worker (or `__klp_sched_try_switch()`) switches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackCheck {
    /// Upstream: when patching, the previous version of each function of the transition
    /// patch (the next entry on its func_stack, or the original); when unpatching, the patch's
    /// own function (transition.c, `klp_check_stack_func()`).
    #[default]
    Previous,
    /// No stack check at all: what the removed `immediate` flag did (v4.12..v4.15,
    /// d0807da78e11 removed it). Breaks per-task consistency.
    None,
}
