//! `klpcheck run`: execute a script scenario deterministically (klp_traces::script, the same code
//! tests/selftests.rs compares with the kernel selftests) and print its transcript.

use crate::cli::RunArgs;
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::script::{self, RunError};

pub fn run(a: &RunArgs) -> Result<u8> {
    let spec = crate::target::Target::of_args(&a.target)?.spec;
    let model =
        KlpSystem::new(spec, klp_properties::catalogue).with_user_properties(klp_properties::user::user_catalogue);
    let result = if a.all {
        script::execute(&model, a.max_steps).map(|r| r.dmesg)
    } else {
        script::run_script(&model, a.max_steps)
    };
    match result {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(0)
        }
        Err(e @ RunError::NotScript(_)) => anyhow::bail!("{}: {e}", a.target.scenario),
        Err(e) => {
            if let RunError::Stuck { transcript, .. } | RunError::MaxSteps { transcript, .. } = &e {
                for l in transcript.iter().filter(|l| a.all || script::scenario_keeps(&model.spec, l)) {
                    println!("{l}");
                }
            }
            eprintln!("klpcheck: {}: {e}", a.target.scenario);
            Ok(1)
        }
    }
}
