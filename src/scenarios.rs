//! Finding scenario files: a path, or the name of a shipped scenario (loaded by `target.rs`).

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Where shipped scenarios live (the source tree this binary was built from).
pub fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios")
}

/// Resolves a scenario argument to a file.
pub fn resolve(arg: &str) -> Result<PathBuf> {
    let p = PathBuf::from(arg);
    if p.exists() {
        return Ok(p);
    }
    let shipped = shipped_dir().join(format!("{arg}.toml"));
    if !arg.contains('/') && !arg.ends_with(".toml") && shipped.exists() {
        return Ok(shipped);
    }
    bail!("{arg}: no such scenario file, and no shipped scenario of that name (try `klpcheck list scenarios`)")
}

/// Shipped scenarios, sorted by name.
pub fn shipped() -> Vec<(String, PathBuf)> {
    toml_files(&shipped_dir())
}

/// The `*.toml` files of a directory as (stem, path), sorted by name.
pub fn toml_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    v.sort();
    v
}
