//! Finding scenario files: a path, or the name of a shipped scenario.

use anyhow::{bail, Result};
use klp_model::scenario::{self, ScenarioError};
use klp_model::Spec;
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

/// Loads and checks a scenario.
pub fn load(arg: &str) -> Result<(PathBuf, Spec)> {
    let path = resolve(arg)?;
    let spec = scenario::load(&path).map_err(|e: ScenarioError| anyhow::anyhow!("{e}"))?;
    Ok((path, spec))
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

/// Loads a scenario and sets its variant: the scenario's own `[variant]`, then the preset
/// (`--variant`), then `--set` assignments, each overriding the knobs it names.
pub fn load_with_variant(arg: &str, variant: Option<&str>, sets: &[String]) -> Result<(PathBuf, Spec)> {
    let (path, mut spec) = load(arg)?;
    let mut v = spec.variant.clone();
    if let Some(name) = variant {
        crate::variants::load(name)?.apply(&mut v);
    }
    crate::variants::apply_sets(&mut v, sets)?;
    spec.set_variant(v).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((path, spec))
}
