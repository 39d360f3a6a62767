//! Variant presets: a named set of knob assignments in a small TOML file
//! (`model/variants/NAME.toml`), for example `ban-disable.toml` holding `disable = "banned"`.
//! A preset changes only the knobs it names; applied on top of a scenario's own `[variant]`.
//! Errors name the file, line, column and knob, like scenario errors. [`read_knobs`] reads
//! preset files and scenario `[variant]` tables alike.

use crate::scenario::ScenarioError;
use crate::variant::{KnobError, Variant};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// A loaded preset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preset {
    pub name: String,
    /// The optional `description = "..."` line.
    pub description: String,
    /// Knob assignments, in file order of knob names (sorted).
    pub sets: Vec<(String, String)>,
}

impl Preset {
    /// Applies the preset's knobs to `v` (validated when the preset was loaded).
    pub fn apply(&self, v: &mut Variant) {
        for (k, val) in &self.sets {
            // Checked by `parse`: cannot fail.
            let _ = v.set(k, val);
        }
    }

    /// The upstream variant with this preset applied.
    pub fn variant(&self) -> Variant {
        let mut v = Variant::default();
        self.apply(&mut v);
        v
    }
}

/// Reads a preset file.
pub fn load(path: &Path) -> Result<Preset, ScenarioError> {
    let file = path.display().to_string();
    let src = crate::scenario::read_utf8(path)?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    parse(&name, &file, &src)
}

/// Parses preset text; `file` is only used in error messages.
pub fn parse(name: &str, file: &str, src: &str) -> Result<Preset, ScenarioError> {
    let err = |span: Range<usize>, field: &str, message: String, hint: Option<String>| {
        let (line, column) = crate::scenario::line_col(src, span.start);
        ScenarioError { file: file.to_string(), line, column, field: field.to_string(), message, hint }
    };
    let raw: KnobTable = toml::from_str(src).map_err(|e| {
        let (span, field, msg, _) = crate::scenario::toml_error(src, &e);
        err(span, &field, msg, Some("a preset is lines of knob = \"value\" (`klpcheck list knobs`)".into()))
    })?;
    let mut preset = Preset { name: name.to_string(), description: String::new(), sets: Vec::new() };
    let (sets, others) = read_knobs(&mut Variant::default(), &raw, &["description"])
        .map_err(|e| err(e.span, &e.knob, e.error.to_string(), Some(e.error.hint())))?;
    preset.sets = sets;
    if let Some((_, d)) = others.into_iter().next() {
        preset.description = d;
    }
    if preset.sets.is_empty() {
        return Err(err(
            0..0,
            "(file)",
            "a preset must set at least one knob".into(),
            Some("e.g. stack_check = \"none\"".into()),
        ));
    }
    Ok(preset)
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

    #[test]
    fn presets_parse_and_errors_point_at_the_knob() {
        let p = parse("x", "x.toml", "description = \"no stack check\"\nstack_check = \"none\"\n").unwrap();
        assert_eq!(p.sets, vec![("stack_check".to_string(), "none".to_string())]);
        assert_eq!(p.variant().describe(), "stack_check=none");
        let e = parse("x", "x.toml", "\nstack_chek = \"none\"\n").unwrap_err().to_string();
        assert_eq!(e, "x.toml:2:1: stack_chek: unknown knob 'stack_chek'\n  hint: did you mean 'stack_check'?");
        let e = parse("x", "x.toml", "stack_check = \"nope\"\n").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:1:15: stack_check: knob 'stack_check' has no value 'nope'"), "{e}");
        let e = parse("x", "x.toml", "stack_check = 1\n").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:1:15: stack_check: expected a string, found integer"), "{e}");
        let e = parse("x", "x.toml", "description = \"nothing\"\n").unwrap_err().to_string();
        assert!(e.contains("a preset must set at least one knob"), "{e}");
        let e = parse("x", "x.toml", "stack_check = \n").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:1:"), "{e}");
    }
}
