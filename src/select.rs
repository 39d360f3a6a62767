//! `--property NAME...` and `--no-liveness` of `check` and `compare`: which properties a run
//! checks. Only those are checked (the model gets a filtered catalogue, the engine only the
//! liveness properties asked for, and none at all under `--no-liveness`, so it keeps no state
//! graph) and only those are reported: a property left out is not listed, never as holding.
//!
//! The model takes its safety properties as a plain `fn` (`KlpSystem::new`), so the selection
//! is process-wide: set once from the command line before any run starts ([`set`]); `ci`,
//! `replay`, `run` and `explore` never set it and get every property.

use crate::cli::PropertyArgs;
use anyhow::{bail, Result};
use klp_checker::LiveProperty;
use klp_model::{KlpSystem, Spec};
use stateright::{Expectation, Property};
use std::sync::OnceLock;

struct Selection {
    /// `--property` names; empty: every property.
    names: Vec<String>,
    /// `--no-liveness`.
    no_liveness: bool,
}

static SELECTION: OnceLock<Selection> = OnceLock::new();

/// Records the command line's selection; names were checked by the argument parser
/// ([`property_name`]). `--no-liveness` with a liveness property named is a usage error.
pub fn set(a: &PropertyArgs) -> Result<()> {
    if a.no_liveness {
        let live: Vec<&str> = klp_properties::liveness::docs().iter().map(|d| d.name).collect();
        if let Some(p) = a.property.iter().find(|p| live.contains(&p.as_str())) {
            bail!("--property {p}: an `eventually` property, but --no-liveness turns liveness off");
        }
    }
    let s = Selection { names: a.property.clone(), no_liveness: a.no_liveness };
    if SELECTION.set(s).is_err() {
        bail!("the property selection is set once per process");
    }
    Ok(())
}

/// Whether the run checks property `name`.
pub fn selected(name: &str, expectation: &Expectation) -> bool {
    let Some(s) = SELECTION.get() else { return true };
    if s.no_liveness && *expectation == Expectation::Eventually {
        return false;
    }
    s.names.is_empty() || s.names.iter().any(|n| n == name)
}

/// The safety and reachability properties to check (for `KlpSystem::new`).
pub fn catalogue() -> Vec<Property<KlpSystem>> {
    klp_properties::catalogue().into_iter().filter(|p| selected(p.name, &p.expectation)).collect()
}

/// The scenario's own properties to check (for `KlpSystem::with_user_properties`).
pub fn user(spec: &Spec) -> Vec<Property<KlpSystem>> {
    klp_properties::user::user_catalogue(spec).into_iter().filter(|p| selected(p.name, &p.expectation)).collect()
}

/// The liveness properties to check (for the engine); empty: keep no state graph.
pub fn liveness() -> Vec<LiveProperty<KlpSystem>> {
    klp_properties::liveness::catalogue().into_iter().filter(|p| selected(p.name, &Expectation::Eventually)).collect()
}

/// What the selection left out, for `check`'s table: None when every property is checked.
/// `user`: how many properties the scenario declares itself.
pub fn summary(checked: usize, user: usize) -> Option<String> {
    let s = SELECTION.get().filter(|s| !s.names.is_empty() || s.no_liveness)?;
    let all = klp_properties::docs().len() + user;
    let why = match (s.names.is_empty(), s.no_liveness) {
        (false, true) => "--property, --no-liveness",
        (false, false) => "--property",
        _ => "--no-liveness",
    };
    Some(format!("{checked} of {all} properties checked ({why}); the others are not reported"))
}

/// `--property NAME`: any name here; a name that is neither a built-in property nor one the
/// scenario declares is refused once the scenario is loaded ([`check_names`]).
pub fn property_name(name: &str) -> Result<String, String> {
    Ok(name.to_string())
}

/// The `--property` and `--witness` names of a run of `specs` must name a built-in property or
/// one of a scenario's `[[invariant]]` / `[[witness]]` (a witness: a `sometimes` one);
/// otherwise a usage error (exit 2) with a "did you mean".
pub fn check_names(properties: &[String], witness: &[String], specs: &[&Spec]) -> Result<()> {
    let mut docs = klp_properties::docs();
    for spec in specs {
        docs.extend(klp_properties::user::docs(spec));
    }
    let scenarios: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let scenarios = scenarios.join("', '");
    let hint = |name: &str, among: &[&str]| {
        klp_model::hint::did_you_mean(name, among.iter())
            .unwrap_or_else(|| "`klpcheck list properties` lists the built-in ones".into())
    };
    let all: Vec<&str> = docs.iter().map(|d| d.name).collect();
    if let Some(p) = properties.iter().find(|p| !all.contains(&p.as_str())) {
        bail!(
            "--property {p}: no built-in property and no property of scenario '{scenarios}' has this name\n  hint: {}",
            hint(p, &all)
        );
    }
    let sometimes: Vec<&str> =
        docs.iter().filter(|d| d.expectation == Expectation::Sometimes).map(|d| d.name).collect();
    if let Some(w) = witness.iter().find(|w| !sometimes.contains(&w.as_str())) {
        if all.contains(&w.as_str()) {
            bail!(
                "--witness {w}: an `always` property (its counterexample is written when it is violated)\n  \
                 hint: a witness trace is for a `sometimes` property or a [[witness]] of the scenario"
            );
        }
        bail!(
            "--witness {w}: no `sometimes` property and no [[witness]] of scenario '{scenarios}' has this name\n  hint: {}",
            hint(w, &sometimes)
        );
    }
    Ok(())
}
