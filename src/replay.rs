//! `klpcheck replay`: re-execute a trace against the model.

use crate::cli::ReplayArgs;
use anyhow::Result;
use klp_model::KlpSystem;
use klp_traces::Replay;

/// The model a trace was found in ([`crate::target::Target::of_trace`]).
pub fn model_of(trace: &klp_traces::Trace, file: &std::path::Path, scenario: Option<&str>) -> Result<KlpSystem> {
    let t = crate::target::Target::of_trace(trace, file, scenario)?;
    Ok(KlpSystem::new(t.spec, klp_properties::catalogue).with_user_properties(klp_properties::user::user_catalogue))
}

/// The trace's `property` and `verdict` must name a property of the catalogue and a verdict
/// `check` writes: otherwise a located error (file, line, column, field; exit 2) instead of a
/// replay that can only end in "not reproduced".
fn check_property(trace: &klp_traces::Trace, file: &std::path::Path, spec: &klp_model::Spec) -> Result<()> {
    let mut docs = klp_properties::docs();
    docs.extend(klp_properties::user::docs(spec));
    let names: Vec<&str> = docs.iter().map(|d| d.name).collect();
    let verdicts = ["violated", "witness"];
    let (field, value, known) = if !names.contains(&trace.property.as_str()) {
        ("property", &trace.property, &names[..])
    } else if !verdicts.contains(&trace.verdict.as_str()) {
        ("verdict", &trace.verdict, &verdicts[..])
    } else {
        return Ok(());
    };
    // Where the field is: the top-level key of the pretty JSON `check` writes, else any.
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let key = format!("\"{field}\":");
    let at = text.find(&format!("\n  {key}")).map(|i| i + 3).or_else(|| text.find(&key)).unwrap_or(0);
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    let guess = klp_model::hint::did_you_mean(value, known.iter()).map(|g| format!("{g} ")).unwrap_or_default();
    Err(klp_model::scenario::ScenarioError {
        file: file.display().to_string(),
        line,
        column,
        field: field.to_string(),
        message: format!("unknown {field} '{value}'"),
        hint: Some(match field {
            "property" => format!("{guess}(`klpcheck list properties`)"),
            _ => format!("{guess}one of: {}", known.join(", ")),
        }),
    }
    .into())
}

/// A possibility or deadlock counterexample (no cycle) ends in a state whose violation is a fact
/// about the graph around it, not about the state alone: from it, no path of allowed steps
/// reaches the goal (re-explored here from that state), or no step is enabled and it is not a
/// normal end.
fn graph_verdict_shown(model: &KlpSystem, trace: &klp_traces::Trace) -> bool {
    use klp_checker::Liveness;
    use stateright::Model;
    let Some(entry) = klp_properties::liveness::entries().into_iter().find(|e| e.doc.name == trace.property) else {
        return false;
    };
    let Some(last) = klp_traces::final_state(model, trace) else { return false };
    if trace.verdict != "violated" || trace.cycle_start.is_some() {
        return false;
    }
    let mut actions = Vec::new();
    match entry.kind {
        Liveness::LeadsTo { .. } => false,
        Liveness::Deadlock { end } => {
            model.actions(&last, &mut actions);
            !end(model, &last) && actions.into_iter().all(|a| model.next_state(&last, a).is_none())
        }
        Liveness::Possibility { p, q, allowed } => {
            if !p(model, &last) {
                return false;
            }
            let mut seen = std::collections::HashSet::from([last.clone()]);
            let mut todo = vec![last];
            while let Some(s) = todo.pop() {
                if q(model, &s) {
                    return false;
                }
                model.actions(&s, &mut actions);
                for a in actions.drain(..).filter(|a| allowed(model, a)) {
                    if let Some(n) = model.next_state(&s, a) {
                        if model.within_boundary(&n) && seen.insert(n.clone()) {
                            todo.push(n);
                        }
                    }
                }
            }
            true
        }
    }
}

pub fn run(a: &ReplayArgs) -> Result<u8> {
    let trace = klp_traces::read_json(&a.trace)?;
    let model = model_of(&trace, &a.trace, a.scenario.as_deref())?;
    check_property(&trace, &a.trace, &model.spec)?;
    println!("{}", klp_traces::title(&trace));
    if a.state {
        match klp_traces::final_state(&model, &trace) {
            Some(st) => print!("final state:\n{}", klp_traces::describe::describe(&model, &st)),
            None => println!("final state: none (the trace does not replay to its end)"),
        }
    }
    let outcome = match klp_traces::replay(&model, &trace) {
        Replay::NotReproduced { steps } if graph_verdict_shown(&model, &trace) => Replay::Confirmed { steps },
        o => o,
    };
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
                "replay: all {} valid; {} '{}' confirmed",
                klp_traces::steps(steps),
                if trace.verdict == "violated" { "violation of" } else { "witness for" },
                trace.property
            );
            Ok(if trace.verdict == "violated" { 1 } else { 0 })
        }
        Replay::NotReproduced { steps } => {
            println!(
                "replay: all {} valid, but the final state does not show '{}' {}",
                klp_traces::steps(steps),
                trace.property,
                trace.verdict
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
