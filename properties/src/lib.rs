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

impl PropertyDoc {
    /// The statement's first clause, for a one-line table (`klpcheck check`): the first sentence
    /// without its kind word (`leads-to:`, `possibility:`, `deadlock:`), its parenthesised
    /// asides and what follows its first colon. Derived from [`statement`](Self::statement),
    /// so the English text has one home.
    pub fn meaning(&self) -> String {
        meaning(self.statement)
    }

    /// How reports group this property ([`Group`]).
    pub fn group(&self) -> Group {
        group(self.name, &self.expectation)
    }
}

/// How `klpcheck check` groups its table: by what a property promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `always`: holds in every reachable state.
    Always,
    /// `sometimes`: reachable in some state (the partners against vacuity).
    Sometimes,
    /// `eventually` (leads-to and possibility): what must happen, or stay possible.
    Liveness,
    /// [`TERMINATION`]: every run can end normally (TLC's deadlock check, the script's end).
    Termination,
}

impl Group {
    /// Every group, in the order reports list them.
    pub const ALL: [Group; 4] = [Group::Always, Group::Sometimes, Group::Liveness, Group::Termination];

    /// The group's name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Group::Always => "always",
            Group::Sometimes => "sometimes",
            Group::Liveness => "liveness",
            Group::Termination => "termination",
        }
    }

    /// What the group's properties promise, for a table's heading.
    pub fn heading(self) -> &'static str {
        match self {
            Group::Always => "always: hold in every reachable state",
            Group::Sometimes => {
                "sometimes: reachable in some state (an unreachable one leaves its always partner vacuous)"
            }
            Group::Liveness => "liveness: must happen on every fair path, or stay possible from every state",
            Group::Termination => "deadlock and script completion: every run can end normally",
        }
    }
}

/// The liveness properties about how runs end rather than what the transition does: the
/// deadlock check and the script's completion ([`Group::Termination`]).
pub const TERMINATION: &[&str] = &["no_deadlock", "script_completes"];

/// The group of a property named `name` of kind `kind` (a name outside the catalogue, such as a
/// scenario's own predicate, is grouped by its kind).
pub fn group(name: &str, kind: &Expectation) -> Group {
    match kind {
        Expectation::Always => Group::Always,
        Expectation::Sometimes => Group::Sometimes,
        Expectation::Eventually if TERMINATION.contains(&name) => Group::Termination,
        Expectation::Eventually => Group::Liveness,
    }
}

/// [`PropertyDoc::meaning`] of a statement.
pub fn meaning(statement: &str) -> String {
    let s = statement.trim();
    let stripped = ["leads-to: ", "possibility: ", "deadlock: "].iter().find_map(|k| s.strip_prefix(k));
    let s = stripped.unwrap_or(s);
    // Asides in parentheses after a space; a call's `()` stays.
    let mut text = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' if depth > 0 || text.ends_with(' ') => {
                if depth == 0 {
                    text.truncate(text.trim_end().len());
                }
                depth += 1;
            }
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c => text.push(c),
        }
    }
    let sentence = text.split(". ").next().unwrap_or("");
    let clause = sentence.split(": ").next().unwrap_or("").trim().trim_end_matches('.');
    // After a kind word the clause starts in lower case ("once ..."); a name stays as it is.
    let mut chars = clause.chars();
    match chars.next() {
        Some(c) if stripped.is_some() => c.to_uppercase().chain(chars).collect(),
        _ => clause.to_string(),
    }
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
        for t in TERMINATION {
            let p = d.iter().find(|p| p.name == *t).unwrap_or_else(|| panic!("{t}: no such property"));
            assert_eq!(p.group(), Group::Termination);
        }
    }

    /// Every property has a one-line meaning, short enough for a table row, and the meaning is
    /// the statement's own words.
    #[test]
    fn meanings_are_the_statements_first_clause() {
        for p in docs() {
            let m = p.meaning();
            assert!(m.len() >= 15 && m.len() <= 220, "{}: {m:?}", p.name);
            assert!(!m.contains('\n') && !m.ends_with('.'), "{}: {m:?}", p.name);
        }
        assert_eq!(
            meaning("No task ever runs a mixed old/new set of functions: every frame ... (see §3). More."),
            "No task ever runs a mixed old/new set of functions"
        );
        assert_eq!(
            meaning(
                "leads-to: once klp_transition_patch is set, it is eventually cleared (the patching \
                     transition completes), assuming only fairness. Expected to FAIL"
            ),
            "Once klp_transition_patch is set, it is eventually cleared, assuming only fairness"
        );
        assert_eq!(meaning("klp_complete_transition() ran."), "klp_complete_transition() ran");
    }
}
