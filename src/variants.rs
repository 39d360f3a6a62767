//! Finding variant presets (`--variant NAME|FILE`) and applying `--set knob=value`.

use crate::shipped::{self, VARIANTS};
use anyhow::{bail, Result};
use klp_model::preset::{self, Preset};
use klp_model::Variant;
use std::path::PathBuf;

/// Loads a preset given as a file or the name of a shipped preset (compiled into the binary,
/// src/shipped.rs; a file of that name wins); "upstream" is the empty one.
pub fn load(arg: &str) -> Result<Preset> {
    if arg == "upstream" {
        return Ok(Preset { name: "upstream".into(), description: "upstream Linux".into(), sets: Vec::new() });
    }
    let p = PathBuf::from(arg);
    if p.exists() {
        return preset::load(&p).map_err(|e| anyhow::anyhow!("{e}"));
    }
    match shipped::find(VARIANTS, arg).filter(|_| !arg.contains('/') && !arg.ends_with(".toml")) {
        Some(text) => parse_shipped(arg, text),
        None => {
            let names = shipped::names(VARIANTS);
            let hint = klp_model::hint::did_you_mean(arg, names.iter())
                .unwrap_or_else(|| "`klpcheck list variants` lists them".into());
            bail!("--variant {arg}: no such file, and no shipped variant of that name\n  hint: {hint}");
        }
    }
}

/// A shipped preset, parsed; its errors name `model/variants/NAME.toml`.
pub fn parse_shipped(name: &str, text: &str) -> Result<Preset> {
    preset::parse(name, &format!("model/variants/{name}.toml"), text).map_err(|e| anyhow::anyhow!("{e}"))
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

/// Shipped presets as (name, text), sorted by name.
pub fn shipped() -> &'static [(&'static str, &'static str)] {
    VARIANTS
}
