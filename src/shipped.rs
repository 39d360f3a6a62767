//! The shipped scenarios, presets and expectations, compiled into the binary by build.rs: an
//! installed or moved `klpcheck` needs no source tree. A file the user names on the command
//! line always wins over a shipped name (src/scenarios.rs, src/variants.rs, src/ci.rs).

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// The text of the shipped file `name` of `table` ([`SCENARIOS`] or [`VARIANTS`]).
pub fn find(table: &'static [(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    table.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The names of a table, sorted.
pub fn names(table: &[(&str, &str)]) -> Vec<String> {
    table.iter().map(|(n, _)| n.to_string()).collect()
}
