//! What must hold. Each property is a named predicate over one state, stated in English with
//! the kernel text that promises it. Properties read the state only, never the design knobs, so
//! every variant is checked against the same promises.
//!
//! Every `always` property has a `sometimes` partner (named in [`PropertyDoc::partner`]) that
//! shows its situation is reachable in the scenario, so a pass is not vacuous.

pub mod callbacks;
pub mod consistency;
pub mod kernel_warns;
pub mod klp_state;
pub mod liveness;
pub mod modules;
pub mod shadow;
pub mod transition;
pub mod user;

use klp_model::KlpSystem;
use stateright::{Expectation, Property};

/// Documentation of one property, for `klpcheck list properties` and reports.
#[derive(Clone, Debug)]
pub struct PropertyDoc {
    pub name: &'static str,
    pub expectation: Expectation,
    /// The English statement.
    pub statement: &'static str,
    /// Where the kernel promises it (file and function or document section).
    pub kernel: &'static str,
    /// The `sometimes` partner that shows the situation is reachable (`always` properties).
    pub partner: Option<&'static str>,
}

/// A property with its documentation.
pub struct Entry {
    pub doc: PropertyDoc,
    pub condition: fn(&KlpSystem, &klp_model::State) -> bool,
}

macro_rules! always {
    ($name:literal, $cond:path, $partner:literal, $kernel:literal, $statement:literal) => {
        $crate::Entry {
            doc: $crate::PropertyDoc {
                name: $name,
                expectation: stateright::Expectation::Always,
                statement: $statement,
                kernel: $kernel,
                partner: Some($partner),
            },
            condition: $cond,
        }
    };
}
macro_rules! sometimes {
    ($name:literal, $cond:path, $statement:literal) => {
        $crate::Entry {
            doc: $crate::PropertyDoc {
                name: $name,
                expectation: stateright::Expectation::Sometimes,
                statement: $statement,
                kernel: "",
                partner: None,
            },
            condition: $cond,
        }
    };
}
pub(crate) use {always, sometimes};

/// Every property, `always` ones first, each followed by its partner.
pub fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    v.extend(consistency::entries());
    v.extend(transition::entries());
    v.extend(callbacks::entries());
    v.extend(klp_state::entries());
    v.extend(modules::entries());
    v.extend(shadow::entries());
    v.extend(kernel_warns::entries());
    v
}

/// The properties as stateright wants them (`Model::properties()`).
pub fn catalogue() -> Vec<Property<KlpSystem>> {
    entries()
        .into_iter()
        .map(|e| Property { expectation: e.doc.expectation, name: e.doc.name, condition: e.condition })
        .collect()
}

/// Documentation of every property.
pub fn docs() -> Vec<PropertyDoc> {
    entries().into_iter().map(|e| e.doc).chain(liveness::docs()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_partners_exist() {
        let d = docs();
        let names: Vec<_> = d.iter().map(|p| p.name).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "duplicate property {n}");
        }
        for p in &d {
            if let Some(partner) = p.partner {
                let q = d
                    .iter()
                    .find(|q| q.name == partner)
                    .unwrap_or_else(|| panic!("{}: partner {partner} missing", p.name));
                assert_eq!(q.expectation, Expectation::Sometimes, "{partner}");
            }
            assert_eq!(p.partner.is_some(), p.expectation == Expectation::Always, "{}", p.name);
        }
    }
}
