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
    let action_w = all.clone().map(|r| r.1.chars().count()).max().unwrap_or(0).clamp("action".len(), ACTION_MAX);
    let left = 2 + step_w + 2 + action_w;
    let room = WIDTH - left - 3;
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| all.clone().map(|r| r.2[k].chars().count()).max().unwrap_or(0).max(c.header.len()).min(room))
        .collect();
    // Bands of columns that fit the width next to the step and action columns.
    let mut bands: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = left;
    for (k, w) in widths.iter().enumerate() {
        let band = bands.last_mut().expect("one band");
        if !band.is_empty() && used + 3 + w > WIDTH {
            bands.push(Vec::new());
            used = left;
        }
        bands.last_mut().expect("one band").push(k);
        used += 3 + w;
    }
    // One row: its cells wrapped to their widths, as many lines as the tallest cell needs.
    let line = |mark: &str, step: &str, action: &str, cells: &[String], band: &[usize]| {
        let used = band.iter().rposition(|&k| !cells[k].is_empty()).map_or(0, |i| i + 1);
        let wrapped: Vec<Vec<String>> = band[..used].iter().map(|&k| wrap(&cells[k], widths[k])).collect();
        let action = wrap(action, action_w);
        let height = wrapped.iter().map(Vec::len).chain([action.len()]).max().unwrap_or(1);
        let mut out = String::new();
        for i in 0..height {
            let (mark, step) = if i == 0 { (mark, step) } else { ("", "") };
            let a = action.get(i).map_or("", String::as_str);
            let mut l = format!("{mark:2}{step:>step_w$}  {a:<action_w$}");
            for (c, &k) in wrapped.iter().zip(&band[..used]) {
                let w = widths[k];
                l.push_str(&format!(" | {:<w$}", c.get(i).map_or("", String::as_str)));
            }
            out += l.trim_end();
            out.push('\n');
        }
        out
    };
    let mut out = fit(&crate::title(trace));
    out += &fit(&format!("variant: {}", trace.variant.describe()));
    out += &fit("task cells: patch_state, TIF_PATCH_PENDING, where it is, its stack (outermost first, frame@version); * = changed by the step");
    let headers: Vec<String> = cols.iter().map(|c| c.header.clone()).collect();
    let last = trace.steps.len();
    for (b, band) in bands.iter().enumerate() {
        if bands.len() > 1 {
            out.push_str(&format!("\n-- columns {}/{}: {} --\n", b + 1, bands.len(), band_names(&headers, band)));
        }
        out.push_str(&line("", "step", "action", &headers, band));
        for (k, (step, action, cells)) in rows.iter().enumerate() {
            if k > 0 && trace.cycle_start == Some(k - 1) {
                out.push_str(&format!("  ---- cycle: steps {k}..{last} repeat forever ----\n"));
            }
            // A lasso violates on its cycle (marked by the bands above and below), not at its
            // last step: only a violation reached by a finite path marks a row.
            let mark = if k == last && trace.violation.is_some() && trace.cycle_start.is_none() { "!!" } else { "" };
            out.push_str(&line(mark, step, action, cells, band));
        }
        match trace.cycle_start {
            Some(c) if c < last => out.push_str(&format!("  ---- back to the state before step {} ----\n", c + 1)),
            Some(_) => out.push_str("  ---- no fair step is enabled: the run stays here forever ----\n"),
            None => {}
        }
        if let Some((step, action, cells)) = next.as_ref().filter(|n| band.iter().any(|&k| !n.2[k].is_empty())) {
            out.push_str(&line("=>", step, action, cells, band));
        }
    }
    if bands.len() > 1 {
        out.push('\n');
    }
    if let Some(e) = &trace.violation {
        out += &fit(&format!("!! step {}: '{}' violated: {}", e.step, trace.property, e.summary));
        for v in &e.versions {
            out += &fit(&format!("   {v}"));
        }
    }
    out += &fit_command("found by: ", &trace.found_by);
    out += &fit_command("replay: ", &trace.replay);
    out
}

/// A command line that fits [`WIDTH`], continued with ` \` (as a shell reads it: the lines
/// still paste as one command) where it is too long; ends in a newline.
fn fit_command(prefix: &str, command: &str) -> String {
    let mut out = prefix.to_string();
    let mut width = out.chars().count();
    for (i, word) in command.split(' ').enumerate() {
        let n = word.chars().count();
        if i > 0 && width + 1 + n + 2 > WIDTH {
            out += " \\\n";
            width = 0;
        } else if i > 0 {
            out.push(' ');
            width += 1;
        }
        out += word;
        width += n;
    }
    out + "\n"
}

/// The widest line a timeline has: the step and action columns, then as many state columns as
/// fit; the others follow in further bands of the same rows (issue 17: rows were 170-290
/// columns wide).
pub const WIDTH: usize = 120;

/// The action column's width; a longer action wraps onto a second line.
const ACTION_MAX: usize = 40;

/// A band's column names, for its heading.
fn band_names(headers: &[String], band: &[usize]) -> String {
    let names: Vec<&str> = band.iter().map(|&k| headers[k].as_str()).collect();
    let s = names.join(", ");
    if s.chars().count() > WIDTH - 30 {
        format!("{} and {} more", names[0], names.len() - 1)
    } else {
        s
    }
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word is cut);
/// a text that fits is kept as it is.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            lines.push(word.drain(..width).collect());
        }
        let n = cur.chars().count();
        if n > 0 && n + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        } else if n > 0 {
            cur.push(' ');
        }
        cur.extend(word);
    }
    lines.push(cur);
    lines
}

/// A line of text wrapped to [`WIDTH`], continuation lines indented by three spaces; ends in a
/// newline.
fn fit(text: &str) -> String {
    if text.chars().count() <= WIDTH {
        return format!("{text}\n");
    }
    let lines = wrap(text, WIDTH - 3);
    lines.join("\n   ") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_the_width() {
        assert_eq!(wrap("ps= 0 TIF=1 sleeping vfs_read@orig", 20), ["ps= 0 TIF=1 sleeping", "vfs_read@orig"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        for l in fit(&"word ".repeat(60)).lines().chain(fit_command("replay: ", &"klpcheck ".repeat(30)).lines()) {
            assert!(l.chars().count() <= WIDTH, "{l}");
        }
        let long = format!("klpcheck replay traces/{}.json", "x".repeat(100));
        assert_eq!(
            fit_command("replay: ", &long),
            format!("replay: klpcheck replay \\\ntraces/{}.json\n", "x".repeat(100))
        );
    }
}
