//! File names of the renderings of one trace, shared by `klpcheck check` and `klpcheck compare`.
//!
//! The stem is `<scenario>--<property>` when the command line did not change the scenario's
//! variant (variant name "upstream" or "scenario"), and `<scenario>@<variant_name>--<property>`
//! otherwise (a preset name, or "custom" when `--set` was used). The files are `<stem>.json`,
//! `<stem>.timeline.txt`, `<stem>.dmesg.txt` (and `<stem>.svg` from `klpcheck render`).

/// The variant name of a run: "upstream" when nothing differs from upstream Linux; "scenario"
/// when the scenario's own `[variant]` changes knobs and the command line does not; the
/// preset's name for `--variant NAME` (a preset file: its stem); "custom" whenever `--set` is
/// used.
pub fn variant_name(variant_arg: Option<&str>, sets: &[String], variant_is_upstream: bool) -> String {
    if !sets.is_empty() {
        return "custom".into();
    }
    match variant_arg {
        Some(v) => std::path::Path::new(v)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| v.to_string()),
        None if variant_is_upstream => "upstream".into(),
        None => "scenario".into(),
    }
}

/// The common stem of a trace's files.
pub fn stem(scenario: &str, variant_name: &str, property: &str) -> String {
    match variant_name {
        "upstream" | "scenario" => format!("{scenario}--{property}"),
        v => format!("{scenario}@{v}--{property}"),
    }
}

/// Suffixes of the three renderings `klpcheck check` writes.
pub const JSON: &str = ".json";
pub const TIMELINE: &str = ".timeline.txt";
pub const DMESG: &str = ".dmesg.txt";
pub const SVG: &str = ".svg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(variant_name(None, &[], true), "upstream");
        assert_eq!(variant_name(None, &[], false), "scenario");
        assert_eq!(variant_name(Some("no-stack-check"), &[], false), "no-stack-check");
        assert_eq!(variant_name(Some("model/variants/no-stack-check.toml"), &[], false), "no-stack-check");
        assert_eq!(variant_name(Some("no-stack-check"), &["stack_check=none".into()], false), "custom");
        assert_eq!(stem("stack-check", "upstream", "p"), "stack-check--p");
        assert_eq!(stem("no-stack-check", "scenario", "p"), "no-stack-check--p");
        assert_eq!(stem("stack-check", "no-stack-check", "p"), "stack-check@no-stack-check--p");
        assert_eq!(stem("stack-check", "custom", "p"), "stack-check@custom--p");
    }
}
