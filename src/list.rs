//! `klpcheck list`: shipped scenarios and properties with their documentation.

use crate::cli::{ListArgs, ListWhat};
use anyhow::Result;
use stateright::Expectation;

pub fn run(a: &ListArgs) -> Result<u8> {
    match a.what {
        ListWhat::Scenarios => {
            for (name, path) in crate::scenarios::shipped() {
                let first = klp_model::scenario::load(&path)
                    .map(|s| s.description.trim().lines().next().unwrap_or("").to_string())
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                println!("{name:<32} {first}");
            }
        }
        ListWhat::Variants => {
            println!("{:<32} upstream Linux (every knob at its default)", "upstream");
            for (name, path) in crate::variants::shipped() {
                let line = match klp_model::preset::load(&path) {
                    Ok(p) => {
                        let knobs: Vec<String> = p.sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("{}\n{:<32} {}", knobs.join(", "), "", p.description)
                    }
                    Err(e) => format!("(invalid: {e})"),
                };
                println!("{name:<32} {line}");
            }
        }
        ListWhat::Knobs => {
            for k in klp_model::variant::KNOBS {
                println!("{}\n    {}", k.name, k.doc);
                for (i, v) in k.values.iter().enumerate() {
                    println!("    {:<12}{} {}", v.name, if i == 0 { "*" } else { " " }, v.doc);
                }
            }
            println!("(* upstream Linux, the default)");
        }
        ListWhat::Properties => {
            for d in klp_properties::docs() {
                let kind = match d.expectation {
                    Expectation::Always => "always",
                    Expectation::Sometimes => "sometimes",
                    Expectation::Eventually => "eventually",
                };
                println!("{} ({kind})\n    {}", d.name, d.statement);
                if !d.kernel.is_empty() {
                    println!("    kernel: {}", d.kernel);
                }
                if let Some(p) = d.partner {
                    println!("    partner: {p}");
                }
            }
        }
    }
    Ok(0)
}
