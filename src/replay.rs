//! `klpcheck replay`: re-execute a trace against the model.

use crate::cli::ReplayArgs;
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::Replay;

pub fn run(a: &ReplayArgs) -> Result<u8> {
    let trace = klp_traces::read_json(&a.trace)?;
    let scenario = a.scenario.clone().unwrap_or_else(|| trace.scenario_path.clone());
    let (_, mut spec) = crate::scenarios::load(&scenario)?;
    // The trace records every knob: replay under the variant it was found in.
    spec.set_variant(trace.variant.clone()).map_err(|e| anyhow::anyhow!("{}: {e}", a.trace.display()))?;
    if spec.name != trace.scenario {
        anyhow::bail!("{}: trace is for scenario '{}', not '{}'", a.trace.display(), trace.scenario, spec.name);
    }
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    print!("{}", klp_traces::render_steps(&trace));
    if a.state {
        println!("{:#?}", klp_traces::final_state(&model, &trace));
    }
    match klp_traces::replay(&model, &trace) {
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
            println!("replay: step {step} ({text}) is not enabled in the model: the trace no longer matches");
            Ok(2)
        }
    }
}
