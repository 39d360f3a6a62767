//! Mutation tests: every `always` property fails when the model is mutated to break the kernel
//! guard it depends on, and holds on the same scenario without the mutation.
//!
//! Each row (data: mutations/rows.toml) names a property, the deliberate bugs ([`Mutation`],
//! model/src/mutation.rs) to switch on, and a small scenario (mutations/scenarios.toml, built
//! from shared parts) or a shipped one. For each row the scenario is explored with stateright's
//! BFS twice: with the mutations the property must have a discovery (a counterexample), without
//! them it must not, and its `sometimes` partner must be reached (so the row's scenario really
//! exercises the guarded situation).
//! [`every_always_property_has_a_mutation`] fails when a property is added without a row,
//! [`every_mutation_is_used`] when a mutation is added without one.

use klp_model::mutation::{Mutation, Mutations};
use klp_model::{scenario, KlpSystem, Spec};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mutations");

/// One row of mutations/rows.toml.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    property: String,
    mutations: Vec<String>,
    /// A scenario of mutations/scenarios.toml.
    scenario: Option<String>,
    /// A scenario shipped in model/scenarios (file stem).
    shipped: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rows {
    row: Vec<RawRow>,
}

/// A row, resolved: the property, its mutations, the scenario's label and spec (unmutated).
struct Row {
    property: String,
    mutations: Vec<Mutation>,
    label: String,
    spec: Spec,
}

/// mutations/scenarios.toml: reusable parts (top-level keys of a scenario file) and scenarios
/// built from them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenarios {
    part: BTreeMap<String, toml::Table>,
    scenario: BTreeMap<String, toml::Table>,
}

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(DIR).join(file)).unwrap_or_else(|e| panic!("{DIR}/{file}: {e}"))
}

/// The scenario file text of `name`: its parts' keys and its own, each key given once.
fn scenario_text(all: &Scenarios, name: &str) -> String {
    let own = all.scenario.get(name).unwrap_or_else(|| panic!("rows.toml: no scenario '{name}' in scenarios.toml"));
    let mut out = toml::Table::new();
    let parts = own.get("parts").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    let parts = parts.iter().map(|p| {
        let p = p.as_str().unwrap_or_else(|| panic!("scenario {name}: parts are names"));
        all.part.get(p).unwrap_or_else(|| panic!("scenario {name}: no part '{p}'"))
    });
    for table in parts.chain([own]) {
        for (k, v) in table.iter().filter(|(k, _)| *k != "parts") {
            assert!(out.insert(k.clone(), v.clone()).is_none(), "scenario {name}: '{k}' given twice");
        }
    }
    toml::to_string(&out).unwrap()
}

fn mutation(name: &str) -> Mutation {
    *Mutation::ALL.iter().find(|m| format!("{m:?}") == name).unwrap_or_else(|| panic!("rows.toml: no mutation {name}"))
}

fn rows() -> Vec<Row> {
    let all: Scenarios = toml::from_str(&read("scenarios.toml")).unwrap_or_else(|e| panic!("scenarios.toml: {e}"));
    let rows: Rows = toml::from_str(&read("rows.toml")).unwrap_or_else(|e| panic!("rows.toml: {e}"));
    rows.row
        .into_iter()
        .map(|r| {
            let (label, spec) = match (&r.scenario, &r.shipped) {
                (Some(name), None) => {
                    let file = format!("mutations/scenarios.toml [scenario.{name}]");
                    (name.clone(), scenario::parse(name, &file, &scenario_text(&all, name)))
                }
                (None, Some(stem)) => {
                    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("../model/scenarios")
                        .join(format!("{stem}.toml"));
                    (stem.clone(), scenario::load(&path))
                }
                _ => panic!("rows.toml: {}: give exactly one of scenario, shipped", r.property),
            };
            let spec = spec.unwrap_or_else(|e| panic!("{e}"));
            assert!(spec.mutations.is_empty(), "scenario files never set mutations");
            Row { mutations: r.mutations.iter().map(|m| mutation(m)).collect(), property: r.property, label, spec }
        })
        .collect()
}

/// The catalogue's name of `property` if it is an `always` property.
fn always_property(property: &str) -> &'static str {
    let d = klp_properties::docs().into_iter().find(|d| d.name == property);
    match d {
        Some(d) if d.expectation == Expectation::Always => d.name,
        _ => panic!("{property} is not an always property"),
    }
}

/// Explores the row's scenario with its mutations with BFS until its property has a discovery or
/// the space is exhausted; returns whether it was violated and how many states were seen.
fn violated(row: &Row) -> (bool, usize) {
    let property = always_property(&row.property);
    let mut spec = row.spec.clone();
    spec.mutations = Mutations::of(&row.mutations);
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    let checker =
        model.checker().threads(1).finish_when(HasDiscoveries::AnyOf(BTreeSet::from([property]))).spawn_bfs().join();
    (checker.discovery(property).is_some(), checker.unique_state_count())
}

/// Explores the unmutated scenario completely; returns whether the row's property was violated
/// and whether its `sometimes` partner (its situation) was reached.
fn holds_non_vacuously(row: &Row) -> (bool, bool, usize) {
    let property = always_property(&row.property);
    let model = KlpSystem::new(row.spec.clone(), klp_properties::catalogue);
    let partner = klp_properties::docs()
        .into_iter()
        .find(|d| d.name == property)
        .and_then(|d| d.partner)
        .unwrap_or_else(|| panic!("{property}: no partner"));
    let checker = model.checker().threads(1).spawn_bfs().join();
    (checker.discovery(property).is_some(), checker.discovery(partner).is_some(), checker.unique_state_count())
}

#[test]
fn every_mutation_breaks_its_property_and_the_unmutated_model_does_not() {
    let mut failures = Vec::new();
    for row in rows() {
        let (property, mutations, label) = (&row.property, &row.mutations, &row.label);
        let (with, n_with) = violated(&row);
        let (without, reached, n_without) = holds_non_vacuously(&row);
        eprintln!(
            "{property} {mutations:?} on {label}: violated with: {with} ({n_with} states), without: {without} \
             ({n_without} states, situation reached: {reached})"
        );
        if !with {
            failures.push(format!("{property}: not violated with {mutations:?} on {label} ({n_with} states)"));
        }
        if without {
            failures.push(format!("{property}: violated on {label} without mutations ({n_without} states)"));
        }
        if !reached {
            failures.push(format!("{property}: its sometimes partner is not reached on {label}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_always_property_has_a_mutation() {
    let rows = rows();
    let missing: Vec<_> = klp_properties::docs()
        .into_iter()
        .filter(|d| d.expectation == Expectation::Always)
        .map(|d| d.name)
        .filter(|n| !rows.iter().any(|r| r.property == *n))
        .collect();
    assert!(missing.is_empty(), "always properties without a mutation test: {missing:?}");
    for r in &rows {
        assert!(!r.mutations.is_empty(), "{}: a row needs at least one mutation", r.property);
    }
}

#[test]
fn every_mutation_is_used() {
    let rows = rows();
    let unused: Vec<_> = Mutation::ALL
        .iter()
        .filter(|m| !Mutation::LIVENESS.contains(m) && !rows.iter().any(|r| r.mutations.contains(m)))
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

#[test]
fn every_part_and_scenario_of_scenarios_toml_is_used() {
    let all: Scenarios = toml::from_str(&read("scenarios.toml")).unwrap();
    let rows: Rows = toml::from_str(&read("rows.toml")).unwrap();
    for name in all.scenario.keys() {
        assert!(rows.row.iter().any(|r| r.scenario.as_ref() == Some(name)), "scenario {name}: no row uses it");
    }
    for part in all.part.keys() {
        let used = all.scenario.values().any(|s| {
            s.get("parts").and_then(toml::Value::as_array).is_some_and(|ps| ps.iter().any(|p| p.as_str() == Some(part)))
        });
        assert!(used, "part {part}: no scenario uses it");
    }
}
