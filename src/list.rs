//! `klpcheck list`: shipped scenarios and properties with their documentation.

use crate::cli::{ListArgs, ListWhat};
use crate::engine::kind;
use anyhow::Result;

pub fn run(a: &ListArgs) -> Result<u8> {
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json(a.what))?);
        return Ok(0);
    }
    match a.what {
        ListWhat::Scenarios => {
            for (name, text) in crate::scenarios::shipped() {
                let first = crate::scenarios::load_shipped(name, text)
                    .map(|s| s.description.trim().lines().next().unwrap_or("").to_string())
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                println!("{name:<32} {first}");
            }
        }
        ListWhat::Variants => {
            println!("{:<32} upstream Linux (every knob at its default)", "upstream");
            for (name, text) in crate::variants::shipped() {
                let line = match crate::variants::parse_shipped(name, text) {
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
                let kind = kind(&d.expectation);
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

/// The same lists as JSON.
fn json(what: ListWhat) -> serde_json::Value {
    use serde_json::json;
    match what {
        ListWhat::Scenarios => crate::scenarios::shipped()
            .iter()
            .map(|(name, text)| match crate::scenarios::load_shipped(name, text) {
                Ok(s) => json!({"name": name, "description": s.description.trim()}),
                Err(e) => json!({"name": name, "error": e.to_string()}),
            })
            .collect(),
        ListWhat::Variants => crate::variants::shipped()
            .iter()
            .map(|(name, text)| match crate::variants::parse_shipped(name, text) {
                Ok(p) => json!({"name": name, "description": p.description, "sets": p.sets}),
                Err(e) => json!({"name": name, "error": e.to_string()}),
            })
            .collect(),
        ListWhat::Knobs => klp_model::variant::KNOBS
            .iter()
            .map(|k| {
                let values: Vec<_> = k.values.iter().map(|v| json!({"name": v.name, "doc": v.doc})).collect();
                json!({"name": k.name, "doc": k.doc, "upstream": k.values[0].name, "values": values})
            })
            .collect(),
        ListWhat::Properties => klp_properties::docs()
            .iter()
            .map(|d| {
                json!({"name": d.name, "kind": kind(&d.expectation), "statement": d.statement,
                       "kernel": d.kernel, "partner": d.partner})
            })
            .collect(),
    }
}
