//! Embeds the shipped scenarios (model/scenarios/), presets (model/variants/) and expectations
//! (expectations/klpcheck.toml) in the binary, so that an installed or moved `klpcheck` finds
//! them without its source tree (src/shipped.rs reads the table written here).
//!
//! A build script rather than the include_dir crate: on stable Rust include_dir does not tell
//! cargo which files it read, so an edited scenario would leave a stale copy in the binary.
//! Here `include_str!` records each file in the dep-info, and `rerun-if-changed` on the two
//! directories catches added and removed files.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let mut out = String::new();
    for (table, dir) in [("SCENARIOS", "model/scenarios"), ("VARIANTS", "model/variants")] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        writeln!(out, "/// The `*.toml` files of {dir}/ as (file stem, text), sorted by name.").unwrap();
        writeln!(out, "pub static {table}: &[(&str, &str)] = &[").unwrap();
        for f in files {
            let stem = f.file_stem().expect("a file name").to_string_lossy().into_owned();
            writeln!(out, "    ({stem:?}, include_str!({:?})),", f.display().to_string()).unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let expectations = root.join("expectations/klpcheck.toml");
    println!("cargo:rerun-if-changed=expectations/klpcheck.toml");
    writeln!(out, "/// expectations/klpcheck.toml.").unwrap();
    writeln!(out, "pub static EXPECTATIONS: &str = include_str!({:?});", expectations.display().to_string()).unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shipped.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
