//! Variant presets: a named set of knob assignments in a small TOML file
//! (`model/variants/NAME.toml`), for example `ban-disable.toml` holding `disable = "banned"`.
//! A preset changes only the knobs it names; applied on top of a scenario's own `[variant]`.
//! Errors name the file, line, column and knob, like scenario errors. [`read_knobs`] reads
//! preset files and scenario `[variant]` tables alike.

use crate::scenario::ScenarioError;
use crate::variant::{read_knobs, KnobTable, Variant};
use std::ops::Range;
use std::path::Path;

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
