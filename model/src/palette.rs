//! The one palette of every picture: a code version has the same colour in the Explorer's
//! state picture (`picture.rs`), in the Explorer's page (its stylesheet is [`css`], served as
//! `/palette.css`) and in `klpcheck render --svg` (klp-traces' `svg.rs`).
//!
//! The original code is grey; patch `p` (its index in the scenario, the order of
//! `klp_patches`) takes `PATCHES[p]`, cycling after six. The colours are the Okabe-Ito set,
//! told apart also with the common colour-vision deficiencies, and each comes with the ink
//! (text colour) that stays legible on it. Every fill is dark enough to serve as text on
//! white too (`svg.rs` prints a call in its version's colour).

use crate::ids::Version;

/// A fill and the text colour to print on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour {
    pub fill: &'static str,
    pub ink: &'static str,
}

/// The original (unpatched) code.
pub const ORIGINAL: Colour = Colour { fill: "#767676", ink: "#ffffff" };

/// Patch 0, 1, ...: blue, vermillion, bluish green, reddish purple, orange, sky blue.
pub const PATCHES: [Colour; 6] = [
    Colour { fill: "#0072b2", ink: "#ffffff" },
    Colour { fill: "#d55e00", ink: "#ffffff" },
    Colour { fill: "#009e73", ink: "#ffffff" },
    Colour { fill: "#cc79a7", ink: "#000000" },
    Colour { fill: "#e69f00", ink: "#000000" },
    Colour { fill: "#56b4e9", ink: "#000000" },
];

/// The colour of patch number `p` (0-based, scenario order).
pub fn patch(p: usize) -> Colour {
    PATCHES[p % PATCHES.len()]
}

/// The colour of a version: grey for the original code, its patch's colour otherwise.
pub fn version(v: Version) -> Colour {
    match v.patch() {
        None => ORIGINAL,
        Some(p) => patch(p as usize),
    }
}

/// The Explorer's CSS class of a version's colour (defined by [`css`]).
pub fn css_class(v: Version) -> String {
    match v.patch() {
        None => "klp-original".to_string(),
        Some(p) => format!("klp-patch-{}", p as usize % PATCHES.len()),
    }
}

/// The Explorer's stylesheet of this palette: one class per colour ([`css_class`]) that sets
/// the background to the fill and the text to its ink.
pub fn css() -> String {
    let mut out = String::from("/* Generated from model/src/palette.rs; do not edit. */\n");
    let rule = |class: &str, c: Colour| format!(".{class} {{ background-color: {}; color: {}; }}\n", c.fill, c.ink);
    out.push_str(&rule("klp-original", ORIGINAL));
    for (p, c) in PATCHES.iter().enumerate() {
        out.push_str(&rule(&format!("klp-patch-{p}"), *c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_distinct_colours_and_cycle_after_six() {
        assert_eq!(version(Version::ORIGINAL), ORIGINAL);
        assert_eq!(version(Version::of_patch(1)).fill, "#d55e00");
        assert_eq!(version(Version::of_patch(6)), version(Version::of_patch(0)));
        let mut fills: Vec<&str> = PATCHES.iter().map(|c| c.fill).collect();
        fills.push(ORIGINAL.fill);
        fills.sort_unstable();
        fills.dedup();
        assert_eq!(fills.len(), PATCHES.len() + 1, "every version its own fill");
    }

    #[test]
    fn the_stylesheet_gives_each_versions_class_its_fill() {
        let css = css();
        for v in [Version::ORIGINAL, Version::of_patch(0), Version::of_patch(7)] {
            let rule = format!(".{} {{ background-color: {};", css_class(v), version(v).fill);
            assert!(css.contains(&rule), "{rule} not in\n{css}");
        }
    }
}
