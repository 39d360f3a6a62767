//! What a command runs: a scenario under a variant, as one [`Spec`] built once. Every subcommand
//! resolves its target here (`check`, `explore` and `run` from their arguments, `compare` and
//! `ci` through `report::run_many`, `replay` from a trace), and the names of a run's traces
//! come from it: the variant label, the file stem, the `found by` and replay command lines.

use crate::cli::TargetArgs;
use anyhow::{anyhow, Result};
use klp_model::{Spec, Variant};
use klp_traces::naming;
use std::path::{Path, PathBuf};

/// A resolved target.
pub struct Target {
    /// The scenario file; for a shipped scenario `model/scenarios/NAME.toml` (its text is
    /// compiled into the binary, src/shipped.rs).
    pub path: PathBuf,
    /// Whether the scenario was given by a shipped name rather than a file.
    shipped: bool,
    /// The variant's label: "upstream", "scenario", a preset's name or "custom" ([`label`]).
    pub label: String,
    /// The `--variant` argument and the `--set` assignments as given (for [`Target::found_by`]).
    variant_arg: Option<String>,
    sets: Vec<String>,
    /// The scenario under its final variant.
    pub spec: Spec,
    /// The scenario's warnings ([`klp_model::scenario::Scenario::warnings`]).
    pub warnings: Vec<klp_model::scenario::ScenarioError>,
}

impl Target {
    /// `SCENARIO [--variant V] [--set KNOB=VALUE]...` of `check`, `explore` and `run`.
    /// The warnings of a scenario file (suspicious input, not errors) are printed on stderr;
    /// a shipped scenario's are not: the selftest mirrors patch functions no task calls on
    /// purpose, as the selftests do.
    pub fn of_args(a: &TargetArgs) -> Result<Target> {
        let t = Target::resolve(&a.scenario, a.variant.as_deref(), &a.set)?;
        for w in t.warnings.iter().filter(|_| !t.shipped) {
            eprintln!("klpcheck: warning: {w}");
        }
        Ok(t)
    }

    /// A scenario reference (a file or a shipped name) under a variant: the scenario's own
    /// `[variant]`, then the preset `variant` names (a shipped name, a file, or "upstream"),
    /// then `sets`, each overriding the knobs it names.
    pub fn resolve(scenario: &str, variant: Option<&str>, sets: &[String]) -> Result<Target> {
        let found = crate::scenarios::resolve(scenario)?;
        let scenario = found.read()?;
        let mut v = scenario.variant.clone();
        if let Some(name) = variant {
            crate::variants::load(name)?.apply(&mut v);
        }
        crate::variants::apply_sets(&mut v, sets)?;
        let warnings = scenario.warnings.clone();
        let spec = scenario.build(v).map_err(|e| anyhow!("{e}"))?;
        reserved_names(&spec, &found.path)?;
        let label = label(variant, sets, spec.variant == Variant::upstream());
        let (path, shipped) = (found.path.clone(), found.is_shipped());
        let variant_arg = variant.map(str::to_string);
        Ok(Target { path, shipped, label, variant_arg, sets: sets.to_vec(), spec, warnings })
    }

    /// The target a trace was found in: its scenario (`scenario` if given, else the recorded
    /// path if it exists, else the shipped scenario of that name) under the variant the trace
    /// records (every knob).
    pub fn of_trace(trace: &klp_traces::Trace, file: &Path, scenario: Option<&str>) -> Result<Target> {
        let arg = match scenario {
            Some(s) => s.to_string(),
            None if Path::new(&trace.scenario_path).exists() => trace.scenario_path.clone(),
            None => trace.scenario.clone(),
        };
        let found = crate::scenarios::resolve(&arg)?;
        let scenario = found.read()?;
        if scenario.name() != trace.scenario {
            anyhow::bail!("{}: trace is for scenario '{}', not '{}'", file.display(), trace.scenario, scenario.name());
        }
        let spec = scenario.build(trace.variant.clone()).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let (path, shipped) = (found.path.clone(), found.is_shipped());
        let label = trace.variant_name.clone();
        Ok(Target { path, shipped, label, variant_arg: None, sets: Vec::new(), spec, warnings: Vec::new() })
    }

    /// The common stem of the files of a trace of `property` found in this target.
    pub fn stem(&self, property: &str) -> String {
        naming::stem(&self.spec.name, &self.label, property)
    }

    /// The `klpcheck check` command line that finds a trace again (the arguments that matter).
    pub fn found_by(&self, property: &str, verdict: &str) -> String {
        let mut cmd = self.command("check");
        if verdict == "witness" {
            cmd.push_str(&format!(" --witness {property}"));
        }
        cmd
    }

    /// `klpcheck SUBCOMMAND SCENARIO [--variant V] [--set K=V]...` for this target.
    pub fn command(&self, subcommand: &str) -> String {
        let name = &self.spec.name;
        let scenario = if self.shipped { name.to_string() } else { portable_path(&self.path) };
        let mut cmd = format!("klpcheck {subcommand} {scenario}");
        if let Some(v) = self.variant_arg.as_deref().filter(|v| *v != "upstream") {
            cmd.push_str(&format!(" --variant {v}"));
        }
        for s in &self.sets {
            cmd.push_str(&format!(" --set {s}"));
        }
        cmd
    }
}

/// A scenario's own property may not take a built-in property's name (the loader does not
/// know the catalogue): a located error at its name.
fn reserved_names(spec: &Spec, file: &Path) -> Result<()> {
    let Some(n) = klp_properties::user::reserved(spec) else { return Ok(()) };
    let u = spec.user_properties.iter().find(|u| u.name == n).expect("reserved names a user property");
    let e = klp_model::scenario::ScenarioError {
        file: file.display().to_string(),
        line: u.at.0,
        column: u.at.1,
        field: format!("{}.name", if u.invariant { "invariant" } else { "witness" }),
        message: format!("'{n}' is the name of a built-in property"),
        hint: Some("choose another name (`klpcheck list properties` lists the built-in ones)".into()),
    };
    Err(anyhow!("{e}"))
}

/// The command line that replays a trace file.
pub fn replay_command(file: &Path) -> String {
    format!("klpcheck replay {}", file.display())
}

/// The variant label of a run, which names its traces (`naming::stem`): "upstream" when nothing
/// differs from upstream Linux; "scenario" when the scenario's own `[variant]` changes knobs
/// and the command line does not; the preset's name for `--variant NAME` (a preset file: its
/// stem); "custom" whenever `--set` is used.
pub fn label(variant_arg: Option<&str>, sets: &[String], variant_is_upstream: bool) -> String {
    if !sets.is_empty() {
        return "custom".into();
    }
    match variant_arg {
        Some(v) => Path::new(v).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| v.to_string()),
        None if variant_is_upstream => "upstream".into(),
        None => "scenario".into(),
    }
}

/// A scenario path as traces record it: relative to the source tree for files in it (a shipped
/// scenario's path already is), so that traces (and the golden files) do not depend on the
/// machine.
pub fn portable_path(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_stems() {
        assert_eq!(label(None, &[], true), "upstream");
        assert_eq!(label(None, &[], false), "scenario");
        assert_eq!(label(Some("no-stack-check"), &[], false), "no-stack-check");
        assert_eq!(label(Some("model/variants/no-stack-check.toml"), &[], false), "no-stack-check");
        assert_eq!(label(Some("no-stack-check"), &["stack_check=none".into()], false), "custom");
        let t = Target::resolve("stack-check", Some("no-stack-check"), &[]).unwrap();
        assert_eq!(t.stem("p"), "stack-check@no-stack-check--p");
        assert_eq!(t.found_by("p", "violated"), "klpcheck check stack-check --variant no-stack-check");
        assert_eq!(portable_path(&t.path), "model/scenarios/stack-check.toml");
        let t = Target::resolve("no-stack-check", None, &[]).unwrap();
        assert_eq!((t.label.as_str(), t.stem("p").as_str()), ("scenario", "no-stack-check--p"));
        let t = Target::resolve("stack-check", Some("upstream"), &["stack_check=none".into()]).unwrap();
        assert_eq!(t.stem("p"), "stack-check@custom--p");
        assert_eq!(t.found_by("p", "witness"), "klpcheck check stack-check --set stack_check=none --witness p");
    }
}
