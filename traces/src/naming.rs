//! File names of the renderings of one trace, shared by `klpcheck check` and `klpcheck compare`.
//!
//! The stem is `<scenario>--<property>` when the command line did not change the scenario's
//! variant (variant name "upstream" or "scenario"), and `<scenario>@<variant_name>--<property>`
//! otherwise (a preset name, or "custom" when `--set` was used; the CLI's `target::label`
//! chooses the name). The files are `<stem>.json`, `<stem>.timeline.txt`, `<stem>.dmesg.txt`
//! (and `<stem>.svg` from `klpcheck render`).

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
        assert_eq!(stem("stack-check", "upstream", "p"), "stack-check--p");
        assert_eq!(stem("no-stack-check", "scenario", "p"), "no-stack-check--p");
        assert_eq!(stem("stack-check", "no-stack-check", "p"), "stack-check@no-stack-check--p");
        assert_eq!(stem("stack-check", "custom", "p"), "stack-check@custom--p");
    }
}
