//! Finding variant presets (`--variant NAME|FILE`) and applying `--set knob=value`.

use anyhow::{bail, Result};
use klp_model::preset::{self, Preset};
use klp_model::Variant;
use std::path::{Path, PathBuf};

/// Where shipped presets live (the source tree this binary was built from).
pub fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("model/variants")
}

/// Loads a preset given as a file or the name of a shipped preset; "upstream" is the empty one.
pub fn load(arg: &str) -> Result<Preset> {
    if arg == "upstream" {
        return Ok(Preset { name: "upstream".into(), description: "upstream Linux".into(), sets: Vec::new() });
    }
    let p = PathBuf::from(arg);
    let path = if p.exists() {
        p
    } else {
        let file = shipped_dir().join(format!("{arg}.toml"));
        if arg.contains('/') || arg.ends_with(".toml") || !file.exists() {
            let names: Vec<String> = shipped().into_iter().map(|(n, _)| n).collect();
            let hint = klp_model::hint::did_you_mean(arg, names.iter())
                .unwrap_or_else(|| "`klpcheck list variants` lists them".into());
            bail!("--variant {arg}: no such file, and no shipped variant of that name\n  hint: {hint}");
        }
        file
    };
    preset::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Applies `--set knob=value` arguments in order.
pub fn apply_sets(v: &mut Variant, sets: &[String]) -> Result<()> {
    for s in sets {
        let Some((k, val)) = s.split_once('=') else {
            bail!("--set {s}: expected knob=value (e.g. --set stack_check=none)");
        };
        if let Err(e) = v.set(k.trim(), val.trim()) {
            bail!("--set {s}: {e}\n  hint: {}", e.hint());
        }
    }
    Ok(())
}

/// Shipped presets, sorted by name.
pub fn shipped() -> Vec<(String, PathBuf)> {
    crate::scenarios::toml_files(&shipped_dir())
}
