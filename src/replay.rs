//! `klpcheck replay`: re-execute a trace against the model.

use crate::cli::ReplayArgs;
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::Replay;

/// Loads the model a trace was found in: its scenario (the recorded path if it exists, else
/// the shipped scenario of that name, or `--scenario`) under the trace's variant.
pub fn model_of(trace: &klp_traces::Trace, file: &std::path::Path, scenario: Option<&str>) -> Result<KlpSystem> {
    let scenario = match scenario {
        Some(s) => s.to_string(),
        None if std::path::Path::new(&trace.scenario_path).exists() => trace.scenario_path.clone(),
        None => trace.scenario.clone(),
    };
    let (_, mut spec) = crate::scenarios::load(&scenario)?;
    // The trace records every knob: replay under the variant it was found in.
    spec.set_variant(trace.variant.clone()).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if spec.name != trace.scenario {
        anyhow::bail!("{}: trace is for scenario '{}', not '{}'", file.display(), trace.scenario, spec.name);
    }
    Ok(KlpSystem::new(spec, klp_properties::catalogue))
}

pub fn run(a: &ReplayArgs) -> Result<u8> {
    let trace = klp_traces::read_json(&a.trace)?;
    let model = model_of(&trace, &a.trace, a.scenario.as_deref())?;
    println!("{}", klp_traces::title(&trace));
    if a.state {
        println!("{:#?}", klp_traces::final_state(&model, &trace));
    }
    let outcome = klp_traces::replay(&model, &trace);
    let good = match &outcome {
        Replay::Confirmed { steps } | Replay::NotReproduced { steps } => *steps,
        Replay::Refused { step, .. } | Replay::Differs { step, .. } => step - 1,
    };
    for s in &trace.steps[..good] {
        println!("step {} valid: {}", s.i, s.text);
    }
    match outcome {
        Replay::Confirmed { steps } => {
            println!(
                "replay: all {steps} steps valid; {} '{}' confirmed",
                if trace.verdict == "violated" { "violation of" } else { "witness for" },
                trace.property
            );
            Ok(if trace.verdict == "violated" { 1 } else { 0 })
        }
        Replay::NotReproduced { steps } => {
            println!(
                "replay: all {steps} steps valid, but the final state does not show '{}' {}",
                trace.property, trace.verdict
            );
            Ok(2)
        }
        Replay::Refused { step, text } => {
            println!("step {step} REFUSED: {text}");
            println!("replay: step {step} ({text}) is not enabled in the model: the trace no longer matches");
            Ok(2)
        }
        Replay::Differs { step, text, what } => {
            println!("step {step} DIFFERS: {text}: {what}");
            println!("replay: step {step} ({text}) is enabled but does something else: the trace no longer matches");
            Ok(2)
        }
    }
}
