//! The timeline: one row per step, one column per task (`patch_state`, `TIF_PATCH_PENDING`,
//! where it is, its stack with each frame's version), then the transition globals
//! (`klp_transition_patch`, `klp_target_state`, the running `klp_try_complete_transition()`
//! pass), the top of each `func_stack`, and the state of each patch and target module. A cell
//! that the step changed ends in `*`. Built from the JSON alone.

use crate::view::{field, Scope, View};
use crate::Trace;

/// One column: its header and how to read its cell from a view.
struct Column {
    header: String,
    cell: Box<dyn Fn(&View) -> String>,
    /// The (scope, name) whose changes mark the cell.
    marks: (Scope, String, Option<&'static str>),
}

fn task_cell(v: &View, comm: &str) -> String {
    let g = |f| v.get(Scope::Task, comm, f).to_string();
    format!("ps={:>2} TIF={} {:<8} {}", g(field::PATCH_STATE), g(field::TIF), g(field::CONTEXT), g(field::STACK))
}

fn columns(trace: &Trace) -> Vec<Column> {
    let v = &trace.initial;
    let mut cols = Vec::new();
    for comm in v.names(Scope::Task) {
        let c = comm.to_string();
        cols.push(Column {
            header: comm.to_string(),
            cell: Box::new(move |v| task_cell(v, &c)),
            marks: (Scope::Task, comm.to_string(), None),
        });
    }
    for (f, header) in [(field::TRANSITION_PATCH, "klp_transition_patch"), (field::TARGET_STATE, "klp_target_state")]
        .into_iter()
        .chain([(field::PASS, "transition pass")])
        .chain(v.0.iter().any(|e| e.field == field::SHADOW).then_some((field::SHADOW, "klp_shadow_hash")))
    {
        cols.push(Column {
            header: header.into(),
            cell: Box::new(move |v| v.get(Scope::Global, "", f).to_string()),
            marks: (Scope::Global, String::new(), Some(f)),
        });
    }
    for (scope, f, suffix) in [
        (Scope::Func, field::FUNC_STACK, " func_stack"),
        (Scope::Patch, field::PATCH, ""),
        (Scope::Module, field::MODULE, ""),
    ] {
        for name in v.names(scope) {
            let n = name.to_string();
            cols.push(Column {
                header: format!("{name}{suffix}"),
                cell: Box::new(move |v| v.get(scope, &n, f).to_string()),
                marks: (scope, name.to_string(), Some(f)),
            });
        }
    }
    cols
}

/// The timeline text.
pub fn render(trace: &Trace) -> String {
    let cols = columns(trace);
    let mut rows: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut view = trace.initial.clone();
    rows.push(("".into(), "(initial state)".into(), cols.iter().map(|c| (c.cell)(&view)).collect()));
    for s in &trace.steps {
        view.apply(&s.changes);
        let cells = cols
            .iter()
            .map(|c| {
                let (scope, name, f) = &c.marks;
                let changed = s
                    .changes
                    .iter()
                    .any(|ch| ch.scope == *scope && ch.name == *name && f.is_none_or(|f| ch.field == f));
                format!("{}{}", (c.cell)(&view), if changed { "*" } else { "" })
            })
            .collect();
        rows.push((s.i.to_string(), s.text.clone(), cells));
    }
    // The violating task's next call, in its column.
    let next = trace.violation.as_ref().and_then(|e| {
        let task = e.task.as_ref()?;
        let call = e.next_calls.first()?;
        let k = cols.iter().position(|c| c.marks.0 == Scope::Task && c.marks.1 == *task)?;
        let mut cells = vec![String::new(); cols.len()];
        cells[k] = format!("next call: {call}");
        Some(("".to_string(), format!("({task} runs on)"), cells))
    });
    let all = rows.iter().chain(next.iter());
    let step_w = 4;
    let action_w = all.clone().map(|r| r.1.len()).max().unwrap_or(0).max("action".len());
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| all.clone().map(|r| r.2[k].len()).max().unwrap_or(0).max(c.header.len()))
        .collect();
    let line = |mark: &str, step: &str, action: &str, cells: &[String]| {
        let mut l = format!("{mark:2}{step:>step_w$}  {action:<action_w$}");
        let used = cells.iter().rposition(|c| !c.is_empty()).map_or(0, |k| k + 1);
        for (c, w) in cells[..used].iter().zip(&widths) {
            l.push_str(&format!(" | {c:<w$}"));
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = format!("{}\n", crate::title(trace));
    out.push_str(&format!("variant: {}\n", trace.variant.describe()));
    out.push_str("task cells: patch_state, TIF_PATCH_PENDING, where it is, its stack (outermost first, frame@version); * = changed by the step\n");
    let headers: Vec<String> = cols.iter().map(|c| c.header.clone()).collect();
    out.push_str(&line("", "step", "action", &headers));
    let last = trace.steps.len();
    for (k, (step, action, cells)) in rows.iter().enumerate() {
        if k > 0 && trace.cycle_start == Some(k - 1) {
            out.push_str(&format!("  ---- cycle: steps {k}..{last} repeat forever ----\n"));
        }
        let mark = if k == last && trace.violation.is_some() { "!!" } else { "" };
        out.push_str(&line(mark, step, action, cells));
    }
    match trace.cycle_start {
        Some(c) if c < last => out.push_str(&format!("  ---- back to the state before step {} ----\n", c + 1)),
        Some(_) => out.push_str("  ---- no fair step is enabled: the run stays here forever ----\n"),
        None => {}
    }
    if let Some((step, action, cells)) = &next {
        out.push_str(&line("=>", step, action, cells));
    }
    if let Some(e) = &trace.violation {
        out.push_str(&format!("!! step {}: '{}' violated: {}\n", e.step, trace.property, e.summary));
        for v in &e.versions {
            out.push_str(&format!("   {v}\n"));
        }
    }
    out.push_str(&format!("found by: {}\n", trace.found_by));
    out.push_str(&format!("replay: {}\n", trace.replay));
    out
}
