//! Design variants: knobs that gate or reshape the model's steps. Every knob defaults to what
//! upstream Linux does; a non-default value is a proposal from the livepatch discussions or a
//! historical kernel behaviour. Properties never read knobs.
//!
//! A knob is one row of the table in `variant/knobs.rs`: its name (the [`Variant`] field), its
//! enum, one sentence saying what it changes, and each value with its TOML spelling and where
//! the behaviour comes from (kernel version, commit, discussion). The `knobs!` macro makes
//! the field, the enum (the first value is the default: upstream), the serde representation,
//! [`Variant::set`] (parsing, with "did you mean" hints), [`Variant::values`] and [`KNOBS`]
//! (`klpcheck list knobs`) from that row, so none of them can disagree with another. Adding a
//! knob value is a Rust change; adding a preset (a named set of knob values,
//! `model/variants/NAME.toml`) is not.

use crate::hint::did_you_mean;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// Declares every knob: the [`Variant`] struct, one enum per knob (unless the row says
/// `shared`: the enum is declared by hand because two knobs use it), [`KNOBS`], parsing and
/// naming. A row is
/// `field: enum Type = "what it changes" { Value = "toml_name": "doc and source", ... }`, the
/// first value being upstream's. `#[doc]` lines before a row or a value are notes on the model
/// for the enum's rustdoc (not listed by `klpcheck list knobs`).
macro_rules! knobs {
    ($(
        $(#[$knob_note:meta])*
        $field:ident: $decl:ident $Ty:ident = $doc:literal {
            $(#[$first_note:meta])* $First:ident = $first:literal: $first_doc:literal,
            $( $(#[$note:meta])* $V:ident = $name:literal: $vdoc:literal, )*
        }
    )*) => {
        $(
            knob_enum!($decl $Ty, $doc, [$(#[$knob_note])*],
                $(#[$first_note])* $First = $first: $first_doc, $( $(#[$note])* $V = $name: $vdoc, )*);
        )*

        /// A design variant. `Variant::default()` is upstream Linux. Serialized (traces, `--json`)
        /// as an object of every knob in this order.
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Variant {
            $( #[doc = $doc] pub $field: $Ty, )*
        }

        /// Every knob of [`Variant`], in field order.
        pub const KNOBS: &[KnobDoc] = &[
            $( KnobDoc {
                name: stringify!($field),
                doc: $doc,
                values: &[ValueDoc { name: $first, doc: $first_doc }, $( ValueDoc { name: $name, doc: $vdoc }, )*],
            }, )*
        ];

        impl Variant {
            /// Sets one knob by name, as `--set knob=value`, preset files and a scenario's
            /// `[variant]` do. On an error `self` is unchanged.
            pub fn set(&mut self, knob: &str, value: &str) -> Result<(), KnobError> {
                $( if knob == stringify!($field) {
                    self.$field = match value {
                        $first => $Ty::$First,
                        $( $name => $Ty::$V, )*
                        _ => return Err(KnobError::UnknownValue { knob: knob.into(), value: value.into() }),
                    };
                    return Ok(());
                } )*
                Err(KnobError::UnknownKnob { knob: knob.into() })
            }

            /// Every knob and its value's name, in field order.
            pub fn values(&self) -> Vec<(&'static str, &'static str)> {
                vec![$( (stringify!($field), match self.$field { $Ty::$First => $first, $( $Ty::$V => $name, )* }), )*]
            }
        }
    };
}

/// The enum of one knob row (see `knobs!`): its doc is the knob's sentence, each value's doc
/// its listing; `shared` rows declare nothing.
macro_rules! knob_enum {
    (enum $Ty:ident, $doc:literal, [$($knob_note:tt)*],
        $(#[$first_note:meta])* $First:ident = $first:literal: $first_doc:literal,
        $( $(#[$note:meta])* $V:ident = $name:literal: $vdoc:literal, )*) => {
        #[doc = $doc]
        #[doc = ""]
        $($knob_note)*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $Ty {
            #[doc = $first_doc]
            $(#[$first_note])*
            #[default]
            #[serde(rename = $first)]
            $First,
            $(
                #[doc = $vdoc]
                $(#[$note])*
                #[serde(rename = $name)]
                $V,
            )*
        }
    };
    (shared $($rest:tt)*) => {};
}

mod knobs;
pub use knobs::*;

/// A kernel operation that is allowed (upstream) or banned by a proposal: the enum of the
/// `disable` and `reverse_transition` knobs, whose rows document each value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    #[default]
    Allowed,
    Banned,
}

/// Documentation of one knob, for `klpcheck list knobs` and error hints.
#[derive(Debug)]
pub struct KnobDoc {
    pub name: &'static str,
    /// What the knob changes, in one sentence.
    pub doc: &'static str,
    /// Its values; the first is upstream Linux (the default).
    pub values: &'static [ValueDoc],
}

/// One value of a knob: its TOML spelling and where the behaviour comes from.
#[derive(Debug)]
pub struct ValueDoc {
    pub name: &'static str,
    pub doc: &'static str,
}

/// A knob assignment that cannot be made. The caller chooses where to point: at the key for an
/// unknown knob, at the value otherwise ([`KnobError::at_key`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnobError {
    #[error("unknown knob '{knob}'")]
    UnknownKnob { knob: String },
    #[error("knob '{knob}' has no value '{value}'")]
    UnknownValue { knob: String, value: String },
    /// A TOML knob table gave something other than a string.
    #[error("expected a string, found {found}")]
    NotAString { knob: String, found: &'static str },
}

impl KnobError {
    /// Whether the error is about the key (an unknown knob) rather than its value.
    pub fn at_key(&self) -> bool {
        matches!(self, KnobError::UnknownKnob { .. })
    }

    /// "did you mean ...?", the list of valid values, or how to write the assignment.
    pub fn hint(&self) -> String {
        match self {
            KnobError::UnknownKnob { knob } => did_you_mean(knob, KNOBS.iter().map(|k| k.name))
                .unwrap_or_else(|| "`klpcheck list knobs` lists them".into()),
            KnobError::UnknownValue { knob, value } => {
                let names: Vec<&str> =
                    KNOBS.iter().find(|k| k.name == knob).into_iter().flat_map(|k| k.values).map(|v| v.name).collect();
                did_you_mean(value, names.iter()).unwrap_or_else(|| format!("one of: {}", names.join(", ")))
            }
            KnobError::NotAString { knob, .. } => format!("write {knob} = \"value\""),
        }
    }
}

impl Variant {
    /// Upstream Linux.
    pub fn upstream() -> Self {
        Self::default()
    }

    /// Sets one knob from a TOML value (a preset file, a scenario's `[variant]`): it must be a
    /// string naming a value.
    pub fn set_toml(&mut self, knob: &str, value: &toml::Value) -> Result<(), KnobError> {
        match value.as_str() {
            Some(s) => self.set(knob, s),
            None => Err(KnobError::NotAString { knob: knob.into(), found: value.type_str() }),
        }
    }

    /// Knob values that differ from upstream, as `knob=value` pairs in field order.
    pub fn changes(&self) -> Vec<(String, String)> {
        let base = Self::default().values();
        self.values()
            .into_iter()
            .zip(base)
            .filter(|(this, base)| this != base)
            .map(|((k, v), _)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// "upstream", or the changed knobs: "stack_check=none, disable=banned".
    pub fn describe(&self) -> String {
        let c = self.changes();
        if c.is_empty() {
            return "upstream".into();
        }
        c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    }
}

/// A TOML table of knob assignments as serde reads it (spans kept for error messages): a
/// preset file, or a scenario's `[variant]`.
pub type KnobTable = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// A knob table entry that cannot be applied: the knob, the error, and the bytes it is about
/// (the key for an unknown knob, else the value).
#[derive(Debug)]
pub struct TableError {
    pub span: Range<usize>,
    pub knob: String,
    pub error: KnobError,
}

/// Applies a knob table to `v`, in table order: the one reader of preset files and scenario
/// `[variant]` tables. Keys in `not_knobs` (a preset's `description`) must hold strings too and
/// come back apart. Returns the assignments made and those other entries, as (key, value).
#[allow(clippy::type_complexity)]
pub fn read_knobs(
    v: &mut Variant,
    table: &KnobTable,
    not_knobs: &[&str],
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), TableError> {
    let (mut sets, mut others) = (Vec::new(), Vec::new());
    for (k, val) in table {
        let key = k.get_ref().as_str();
        let fail = |error: KnobError| TableError {
            span: if error.at_key() { k.span() } else { val.span() },
            knob: key.to_string(),
            error,
        };
        let Some(s) = val.get_ref().as_str() else {
            return Err(fail(KnobError::NotAString { knob: key.into(), found: val.get_ref().type_str() }));
        };
        if not_knobs.contains(&key) {
            others.push((key.to_string(), s.to_string()));
            continue;
        }
        v.set(key, s).map_err(fail)?;
        sets.push((key.to_string(), s.to_string()));
    }
    Ok((sets, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the macro cannot guarantee by construction: the hand-declared enum of `shared`
    /// rows spells its values as serde does. And what it does guarantee, pinned anyway: the
    /// serialized field order is the table's, every listed value parses, and only the first
    /// value is the default.
    #[test]
    fn knob_table_matches_variant() {
        let json = |v: &Variant| serde_json::to_value(v).unwrap();
        let base = json(&Variant::default());
        // Field order as written (serde_json's Value sorts keys): the table's.
        let text = serde_json::to_string(&Variant::default()).unwrap();
        let at: Vec<usize> = KNOBS.iter().map(|k| text.find(&format!("\"{}\":", k.name)).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(base.as_object().unwrap().len(), KNOBS.len());
        for k in KNOBS {
            assert_eq!(base[k.name], k.values[0].name, "{}: first value must be upstream", k.name);
            for v in k.values {
                let mut var = Variant::default();
                var.set(k.name, v.name).unwrap();
                assert_eq!(json(&var)[k.name], v.name, "{}: serde spells {} differently", k.name, v.name);
                let back: Variant = serde_json::from_value(json(&var)).unwrap();
                assert_eq!(back, var);
                let changed = var.changes();
                if v.name == k.values[0].name {
                    assert!(changed.is_empty());
                } else {
                    assert_eq!(changed, vec![(k.name.to_string(), v.name.to_string())]);
                }
            }
        }
    }

    #[test]
    fn set_rejects_unknown_knobs_and_values_with_hints() {
        let mut v = Variant::default();
        let e = v.set("stack_chek", "none").unwrap_err();
        assert_eq!(e, KnobError::UnknownKnob { knob: "stack_chek".into() });
        assert_eq!(e.to_string(), "unknown knob 'stack_chek'");
        assert!(e.at_key());
        assert_eq!(e.hint(), "did you mean 'stack_check'?");
        let e = v.set("stack_check", "nonee").unwrap_err();
        assert_eq!(e.to_string(), "knob 'stack_check' has no value 'nonee'");
        assert!(!e.at_key());
        assert_eq!(e.hint(), "did you mean 'none'?");
        let e = v.set("stack_check", "xyzzy").unwrap_err();
        assert_eq!(e.hint(), "one of: previous, none, all");
        let e = v.set_toml("stack_check", &toml::Value::Integer(1)).unwrap_err();
        assert_eq!(e.to_string(), "expected a string, found integer");
        assert_eq!(e.hint(), "write stack_check = \"value\"");
        assert_eq!(v, Variant::default());
        v.set("stack_check", "none").unwrap();
        assert_eq!(v.describe(), "stack_check=none");
        assert_eq!(v.stack_check, StackCheck::None);
    }
}
