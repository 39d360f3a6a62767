//! Mutation tests: every `always` property fails when the model is mutated to break the kernel
//! guard it depends on, and holds on the same scenario without the mutation.
//!
//! Each row of [`TABLE`] names a property, the deliberate bugs ([`Mutation`], model/src/
//! mutation.rs) to switch on, and a small scenario. For each row the scenario is explored with
//! stateright's BFS twice: with the mutations the property must have a discovery (a
//! counterexample), without them it must not, and its `sometimes` partner must be reached (so
//! the row's scenario really exercises the guarded situation).
//! [`every_always_property_has_a_mutation`] fails when a property is added without a row here,
//! [`every_mutation_is_used`] when a mutation is added without one.

use klp_model::mutation::{Mutation, Mutations};
use klp_model::{scenario, KlpSystem, Spec};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Where a row's scenario comes from.
enum Scenario {
    /// A scenario shipped in model/scenarios (file stem).
    Shipped(&'static str),
    /// Inline TOML.
    Inline(&'static str),
}
use Scenario::*;

/// The system most rows use: a user task that may sleep in `f`, which calls `g`, and an
/// idle task.
macro_rules! cat_and_idle {
    () => {
        r#"
[[functions]]
name = "f"
calls = ["g"]
sleeps = "interruptible"
[[functions]]
name = "g"
[[tasks]]
comm = "cat"
entry = ["f"]
[[tasks]]
comm = "swapper/0"
kind = "idle"
"#
    };
}

/// One user task that enters `f` (which may sleep) and calls `g`; one idle task (always running,
/// so the first pass of every transition fails). lp1 patches `g` with all four callbacks.
/// Script: insmod, disable (waits for the sysfs directory to go), rmmod.
const ONE_PATCH: &str = concat!(
    cat_and_idle!(),
    r#"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
  callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "disable", patch = "lp1" },
  { op = "rmmod", patch = "lp1" },
]
"#
);

/// As [`ONE_PATCH`], but the disable does not wait for the patching transition: it may reverse
/// it (echo 0 > enabled during patching).
const REVERSE: &str = concat!(
    cat_and_idle!(),
    r#"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
  callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1", wait = false },
  { op = "disable", patch = "lp1" },
]
"#
);

/// Insmod, then rmmod of the livepatch module right away (refused while the patch holds it),
/// then disable and rmmod again.
const RMMOD_EARLY: &str = concat!(
    cat_and_idle!(),
    r#"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "rmmod", patch = "lp1", wait = false },
  { op = "disable", patch = "lp1" },
  { op = "rmmod", patch = "lp1" },
]
"#
);

/// Disable, force the unpatching transition, then rmmod (which must wait for ever once forced).
const FORCE: &str = r#"
[[functions]]
name = "g"
[[tasks]]
comm = "cat"
entry = ["g"]
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "disable", patch = "lp1", wait = false },
  { op = "force", patch = "lp1" },
  { op = "rmmod", patch = "lp1" },
]
"#;

/// Echo 0 > enabled twice.
const DISABLE_TWICE: &str = r#"
[[functions]]
name = "g"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "disable", patch = "lp1", wait = false },
  { op = "disable", patch = "lp1", wait = false },
]
"#;

/// Two non-replace patches of the same function; the newer one is disabled again.
const STACKED: &str = r#"
[[functions]]
name = "g"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
[[patches]]
name = "lp2"
  [[patches.objects]]
  funcs = ["g"]
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }, { op = "insmod", patch = "lp2" }, { op = "disable", patch = "lp2" }]
"#;

/// The second object's pre_patch callback fails, so `__klp_enable_patch()` cancels the
/// transition after the first object was set up.
const CANCEL: &str = r#"
[[functions]]
name = "g"
[[functions]]
name = "mod_f"
object = "m"
[[modules]]
name = "m"
loaded = true
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["g"]
  callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }
  [[patches.objects]]
  name = "m"
  funcs = ["mod_f"]
  callbacks = { pre_patch = -19, post_patch = true, pre_unpatch = true, post_unpatch = true }
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }]
"#;

/// System states: lp1 sets state 1 version 2, lp2 (no states, not a replace patch) is
/// compatible with it, lp3 (state 1 version 1) is not and must be refused.
const STATES: &str = r#"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
states = [{ id = 1, version = 2 }]
  [[patches.objects]]
  funcs = []
[[patches]]
name = "lp2"
  [[patches.objects]]
  funcs = []
[[patches]]
name = "lp3"
states = [{ id = 1, version = 1 }]
  [[patches.objects]]
  funcs = []
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }, { op = "insmod", patch = "lp2" }, { op = "insmod", patch = "lp3" }]
"#;

/// lp1 patches f and g; lp2 (atomic replace) patches g only, so enabling it adds a nop for f.
const REPLACE: &str = r#"
[[functions]]
name = "f"
[[functions]]
name = "g"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["f", "g"]
[[patches]]
name = "lp2"
replace = true
  [[patches.objects]]
  funcs = ["g"]
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }, { op = "insmod", patch = "lp2" }]
"#;

/// A target module and a patch for it, loaded and unloaded in any order.
const MODULE_ANY: &str = r#"
[[functions]]
name = "mod_f"
object = "m"
[[modules]]
name = "m"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  name = "m"
  funcs = ["mod_f"]
  callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }
[admin]
order = "any"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "insmod", module = "m" },
  { op = "rmmod", module = "m" },
]
"#;

/// lp1 declares klp_state 1 and has callbacks for the loaded module m, which is unloaded before
/// lp1 is disabled: the going module's post_unpatch must undo what its pre_patch set up.
const STATE_MODULE_GOING: &str = r#"
[[functions]]
name = "mod_f"
object = "m"
[[modules]]
name = "m"
loaded = true
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
states = [{ id = 1, version = 1 }]
  [[patches.objects]]
  name = "m"
  funcs = ["mod_f"]
  callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1" },
  { op = "rmmod", module = "m" },
  { op = "disable", patch = "lp1" },
]
"#;

/// m loads while lp1 (which patches only m's mod_f) is in transition; a user task calls mod_f.
const MODULE_DURING_TRANSITION: &str = r#"
[[functions]]
name = "mod_f"
object = "m"
[[modules]]
name = "m"
[[tasks]]
comm = "cat"
entry = ["mod_f"]
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  name = "m"
  funcs = ["mod_f"]
[admin]
order = "script"
ops = [
  { op = "insmod", patch = "lp1", wait = false },
  { op = "insmod", module = "m" },
]
"#;

/// Property, the mutations that break it, the scenario.
const TABLE: &[(&str, &[Mutation], Scenario)] = &[
    // consistency.rs
    ("no_mixed_universe", &[Mutation::SkipStackCheck], Shipped("stack-check")),
    ("no_freed_livepatch_code", &[Mutation::KeepFuncOnUnpatch], Inline(ONE_PATCH)),
    ("no_freed_livepatch_code", &[Mutation::RmmodIgnoresRefcount], Inline(RMMOD_EARLY)),
    // transition.rs
    ("one_transition", &[Mutation::CompleteKeepsTargetState], Inline(ONE_PATCH)),
    ("idle_outside_transition", &[Mutation::CompleteKeepsTaskPatchState], Inline(ONE_PATCH)),
    ("no_idle_task_in_transition", &[Mutation::InitSkipsTaskPatchState], Inline(ONE_PATCH)),
    ("tif_coherent", &[Mutation::TrySwitchKeepsTif], Inline(ONE_PATCH)),
    ("tif_coherent", &[Mutation::StartSetsTifOnAll], Inline(REVERSE)),
    ("complete_only_when_switched", &[Mutation::CompleteDespiteFailedSwitch], Inline(ONE_PATCH)),
    ("nops_only_in_transition", &[Mutation::KeepNops], Inline(REPLACE)),
    // callbacks.rs
    ("pre_patch_before_visible", &[Mutation::PatchObjectBeforePrePatch], Inline(ONE_PATCH)),
    ("post_unpatch_paired", &[Mutation::IgnorePostUnpatchEnabled], Inline(CANCEL)),
    ("pre_unpatch_paired", &[Mutation::PreUnpatchOnReversal], Inline(REVERSE)),
    ("pre_unpatch_paired", &[Mutation::PreUnpatchForTransitionPatchOnGoing], Inline(MODULE_ANY)),
    (
        "callbacks_only_loaded",
        &[Mutation::CallbacksForUnloadedObjects],
        Shipped("selftest-callbacks-05-target-module-not-present"),
    ),
    // modules.rs
    ("module_code_patched", &[Mutation::ComingSkipsPatches], Shipped("selftest-callbacks-02-module-coming-notifier")),
    ("no_dangling_obj_mod", &[Mutation::BindWithoutKlpAlive], Inline(MODULE_ANY)),
    ("func_stack_consistent", &[Mutation::KeepFuncOnUnpatch], Inline(STACKED)),
    ("func_stack_order", &[Mutation::PushFuncAtBottom], Inline(STACKED)),
    ("patches_compatible", &[Mutation::SkipCompatCheck], Inline(STATES)),
    ("forced_module_kept", &[Mutation::PutForcedModule], Inline(FORCE)),
    // kernel_warns.rs
    ("warn_handler_idle", &[Mutation::InitSkipsTaskPatchState], Inline(ONE_PATCH)),
    ("warn_init_target_not_idle", &[Mutation::CompleteKeepsTargetState], Inline(ONE_PATCH)),
    ("warn_init_task_not_idle", &[Mutation::CompleteKeepsTaskPatchState], Inline(ONE_PATCH)),
    ("warn_target_idle", &[Mutation::InitSkipsTargetState], Inline(ONE_PATCH)),
    ("warn_complete_pending", &[Mutation::TrySwitchKeepsTif], Inline(ONE_PATCH)),
    (
        "warn_cancel_not_patching",
        &[Mutation::CancelSetsTargetFirst],
        Shipped("selftest-callbacks-06-pre-patch-callback-enodev"),
    ),
    ("warn_cancel_not_patching", &[Mutation::CancelSetsTargetFirst], Inline(CANCEL)),
    (
        "warn_module_state",
        &[Mutation::GoingBeforeExit],
        Shipped("selftest-callbacks-01-target-module-before-livepatch"),
    ),
    // enabled_store() is __klp_disable_patch()'s only caller and refuses `echo 0` on a disabled
    // patch; the only listed, disabled patch that is not the transition patch is one that was
    // not freed after its unpatching transition. So this WARN takes two missing guards.
    (
        "warn_disable_not_enabled",
        &[Mutation::EnabledStoreSkipsSameValueCheck, Mutation::KeepDisabledPatch],
        Inline(DISABLE_TWICE),
    ),
    // Seed-discussion properties (callbacks.rs, modules.rs).
    ("callback_side_effects_undone", &[Mutation::GoingSkipsPostUnpatch], Inline(STATE_MODULE_GOING)),
    ("module_code_patched_while_covered", &[Mutation::ComingSkipsTransitionPatch], Inline(MODULE_DURING_TRANSITION)),
];

fn spec(s: &Scenario, mutations: &[Mutation]) -> Spec {
    let mut spec = match s {
        Shipped(name) => {
            let path =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model/scenarios").join(format!("{name}.toml"));
            scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
        }
        Inline(src) => scenario::parse("inline", "inline.toml", src).unwrap_or_else(|e| panic!("{e}")),
    };
    assert!(spec.mutations.is_empty(), "scenario files never set mutations");
    spec.mutations = Mutations::of(mutations);
    spec
}

/// Explores the scenario with BFS until `property` has a discovery or the space is exhausted;
/// returns whether it was violated and how many states were seen.
fn violated(s: &Scenario, mutations: &[Mutation], property: &'static str) -> (bool, usize) {
    let model = KlpSystem::new(spec(s, mutations), klp_properties::catalogue);
    assert!(
        model.properties().iter().any(|p| p.name == property && p.expectation == Expectation::Always),
        "{property} is not an always property"
    );
    let checker =
        model.checker().threads(1).finish_when(HasDiscoveries::AnyOf(BTreeSet::from([property]))).spawn_bfs().join();
    (checker.discovery(property).is_some(), checker.unique_state_count())
}

/// Explores the unmutated scenario completely; returns whether `property` was violated and
/// whether its `sometimes` partner (its situation) was reached.
fn holds_non_vacuously(s: &Scenario, property: &'static str) -> (bool, bool, usize) {
    let model = KlpSystem::new(spec(s, &[]), klp_properties::catalogue);
    let partner = klp_properties::docs()
        .into_iter()
        .find(|d| d.name == property)
        .and_then(|d| d.partner)
        .unwrap_or_else(|| panic!("{property}: no partner"));
    let checker = model.checker().threads(1).spawn_bfs().join();
    (checker.discovery(property).is_some(), checker.discovery(partner).is_some(), checker.unique_state_count())
}

fn row_name(s: &Scenario) -> &'static str {
    match s {
        Shipped(n) => n,
        Inline(_) => "inline",
    }
}

#[test]
fn every_mutation_breaks_its_property_and_the_unmutated_model_does_not() {
    let mut failures = Vec::new();
    for (property, mutations, s) in TABLE {
        let (with, n_with) = violated(s, mutations, property);
        let (without, reached, n_without) = holds_non_vacuously(s, property);
        eprintln!(
            "{property} {mutations:?} on {}: violated with: {with} ({n_with} states), without: {without} \
             ({n_without} states, situation reached: {reached})",
            row_name(s)
        );
        if !with {
            failures.push(format!("{property}: not violated with {mutations:?} on {} ({n_with} states)", row_name(s)));
        }
        if without {
            failures.push(format!("{property}: violated on {} without mutations ({n_without} states)", row_name(s)));
        }
        if !reached {
            failures.push(format!("{property}: its sometimes partner is not reached on {}", row_name(s)));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_always_property_has_a_mutation() {
    let missing: Vec<_> = klp_properties::docs()
        .into_iter()
        .filter(|d| d.expectation == Expectation::Always)
        .map(|d| d.name)
        .filter(|n| !TABLE.iter().any(|(p, _, _)| p == n))
        .collect();
    assert!(missing.is_empty(), "always properties without a mutation test: {missing:?}");
    for (p, ms, _) in TABLE {
        assert!(!ms.is_empty(), "{p}: a row needs at least one mutation");
    }
}

#[test]
fn every_mutation_is_used() {
    let unused: Vec<_> = Mutation::ALL
        .iter()
        .filter(|m| !Mutation::LIVENESS.contains(m) && !TABLE.iter().any(|(_, ms, _)| ms.contains(m)))
        .collect();
    assert!(unused.is_empty(), "mutations no row uses: {unused:?}");
}

#[test]
fn scenario_files_carry_no_mutations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model/scenarios");
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let spec = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(spec.mutations.is_empty(), "{}", path.display());
        }
    }
}
