//! Finding scenarios: a file the user names, or the name of a shipped scenario, compiled into
//! the binary (src/shipped.rs). The file wins: `klpcheck check fork` reads ./fork if there is
//! one, else the shipped `fork`.

use crate::shipped::{self, SCENARIOS};
use anyhow::{anyhow, bail, Result};
use klp_model::scenario::Scenario;
use std::path::{Path, PathBuf};

/// Where the shipped scenarios come from in the source tree: the path a shipped scenario's
/// errors and traces name (`scenario_path`), the same on every machine.
pub const SHIPPED_DIR: &str = "model/scenarios";

/// A scenario found by [`resolve`].
pub struct Found {
    /// The file, or for a shipped scenario `model/scenarios/NAME.toml`.
    pub path: PathBuf,
    /// A shipped scenario's text; None for a file on disk.
    text: Option<&'static str>,
}

impl Found {
    /// Whether this is a shipped scenario (named, not a file).
    pub fn is_shipped(&self) -> bool {
        self.text.is_some()
    }

    /// Reads and checks the scenario, its variant still to be chosen.
    pub fn read(&self) -> Result<Scenario> {
        let r = match self.text {
            Some(src) => {
                let name = self.path.file_stem().unwrap_or_default().to_string_lossy();
                klp_model::scenario::read_str(&name, &self.path.display().to_string(), src)
            }
            None => klp_model::scenario::read(&self.path),
        };
        r.map_err(|e| anyhow!("{e}"))
    }
}

/// Resolves a scenario argument: an existing file, else a shipped scenario's name.
pub fn resolve(arg: &str) -> Result<Found> {
    let p = PathBuf::from(arg);
    if p.exists() {
        return Ok(Found { path: p, text: None });
    }
    if !arg.contains('/') && !arg.ends_with(".toml") {
        if let Some(text) = shipped::find(SCENARIOS, arg) {
            return Ok(Found { path: shipped_path(arg), text: Some(text) });
        }
    }
    let names = shipped::names(SCENARIOS);
    let guess = klp_model::hint::did_you_mean(arg, names.iter()).map(|g| format!("\n  hint: {g}")).unwrap_or_default();
    bail!("{arg}: no such scenario file, and no shipped scenario of that name (try `klpcheck list scenarios`){guess}")
}

/// The path a shipped scenario is known by.
pub fn shipped_path(name: &str) -> PathBuf {
    Path::new(SHIPPED_DIR).join(format!("{name}.toml"))
}

/// The shipped scenarios as (name, text), sorted by name.
pub fn shipped() -> &'static [(&'static str, &'static str)] {
    SCENARIOS
}

/// A shipped scenario under its own `[variant]` (for `klpcheck list`).
pub fn load_shipped(name: &str, text: &str) -> Result<klp_model::Spec> {
    klp_model::scenario::parse(name, &shipped_path(name).display().to_string(), text).map_err(|e| anyhow!("{e}"))
}
