//! The sequence picture (`klpcheck render TRACE --svg FILE`): one lane for the admin commands
//! and the kernel's work, one lane per task, steps down the page. Each row shows, in the lane of
//! whoever acts, the step's action (the transition work's `klp_try_switch_task()` as an arrow
//! to the task it tries), the kernel messages in the admin lane, and in every task lane that
//! task's stack as frames coloured by version (klp_model::palette: the original grey, each
//! patch its own colour, the same as in the Explorer) with its `patch_state` and
//! `TIF_PATCH_PENDING`. The violating step of a safety counterexample is shaded red and the
//! violating task's next call follows it; the cycle of a lasso (a liveness counterexample) is
//! shaded purple instead, for no single step of it is the bug: its repeating is. The cycle's
//! label sits in a gap of its own above the cycle, clear of every frame. Hand-written SVG, built
//! from the JSON alone.

use crate::view::{field, Scope, View};
use crate::Trace;
use klp_model::palette::{self, Colour};
use std::fmt::Write;

/// A frame whose version names no patch of the trace (a hand-edited trace): black, so that it
/// stands out rather than passing for one of the patches.
const UNKNOWN: Colour = Colour { fill: "#000000", ink: "#ffffff" };
const BAD: &str = "#fde0dc";
const CYCLE: &str = "#efe7f6";
const CYCLE_INK: &str = "#6a3d9a";
/// The gap above a lasso's first cycle step that holds the cycle's label.
const CYCLE_GAP: usize = 18;
const CH: usize = 8; // width of one character of 12px monospace, rounded up
const ROW: usize = 26;
const LINE: usize = 14;
const TOP: usize = 92;
const LEFT: usize = 44;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn text(out: &mut String, x: usize, y: usize, size: usize, attrs: &str, s: &str) {
    let _ = writeln!(out, r#"<text x="{x}" y="{y}" font-size="{size}" {attrs}>{}</text>"#, esc(s));
}

fn frames(stack: &str) -> Vec<&str> {
    if stack == "-" || stack.is_empty() {
        Vec::new()
    } else {
        stack.split(" > ").collect()
    }
}

/// The colour of a frame `func@version`: the version is `orig` or a patch name, and the
/// patch's number is its place among the trace's patches (scenario order, as in the model).
fn colour_of(frame: &str, patches: &[&str]) -> Colour {
    match frame.rsplit_once('@').map(|(_, v)| v) {
        Some("orig") => palette::ORIGINAL,
        Some(v) => patches.iter().position(|p| *p == v).map_or(UNKNOWN, palette::patch),
        None => UNKNOWN,
    }
}

/// A frame chip: `func@version` on the version's colour; returns its width.
fn chip(out: &mut String, x: usize, y: usize, frame: &str, colour: Colour, dashed: bool) -> usize {
    let w = frame.len() * 15 / 2 + 10;
    let stroke = if dashed { r##" stroke="#b00" stroke-width="2" stroke-dasharray="4 2""## } else { "" };
    let fill = colour.fill;
    let _ = writeln!(out, r#"<rect x="{x}" y="{}" width="{w}" height="18" rx="4" fill="{fill}"{stroke}/>"#, y - 13);
    text(out, x + 5, y, 12, &format!(r#"fill="{}""#, colour.ink), frame);
    w
}

/// The SVG document.
pub fn render(trace: &Trace) -> String {
    let tasks: Vec<String> = trace.initial.names(Scope::Task).into_iter().map(String::from).collect();
    let patches = trace.initial.names(Scope::Patch);
    // Lane widths from the longest content.
    let mut view = trace.initial.clone();
    let mut admin_w = "admin / kernel work".len();
    let mut task_w = vec![0usize; tasks.len()];
    let widen = |v: &View, task_w: &mut Vec<usize>| {
        for (k, t) in tasks.iter().enumerate() {
            let st = v.get(Scope::Task, t, field::STACK);
            let w: usize = frames(st).iter().map(|f| f.len() + 3).sum::<usize>() + 14;
            task_w[k] = task_w[k].max(w).max(t.len() + 2);
        }
    };
    widen(&view, &mut task_w);
    for s in &trace.steps {
        view.apply(&s.changes);
        widen(&view, &mut task_w);
        if s.actor == "admin" || s.actor == "kernel" {
            admin_w = admin_w.max(s.text.len());
        }
        for l in &s.dmesg {
            admin_w = admin_w.max(l.len() * 10 / 12);
        }
        if let Some(k) = tasks.iter().position(|t| *t == s.actor) {
            task_w[k] = task_w[k].max(s.text.len());
        }
    }
    if let Some(e) = &trace.violation {
        if let (Some(t), Some(c)) = (&e.task, e.next_calls.first()) {
            if let Some(k) = tasks.iter().position(|x| x == t) {
                task_w[k] = task_w[k].max(c.len() + 6);
            }
        }
    }
    let admin_px = admin_w * CH + 24;
    let task_px: Vec<usize> = task_w.iter().map(|w| w * CH + 24).collect();
    let mut lane_x = vec![LEFT];
    lane_x.push(LEFT + admin_px);
    for w in &task_px {
        lane_x.push(lane_x.last().copied().unwrap_or(0) + w);
    }
    let title = crate::title(trace);
    let replay = format!("replay: {}", trace.replay);
    let lanes_end = lane_x.last().copied().unwrap_or(0) + 16;
    let mut legend = vec![("original code".to_string(), palette::ORIGINAL)];
    legend.extend(patches.iter().enumerate().map(|(p, name)| (format!("{name}'s code"), palette::patch(p))));
    let legend_w: usize = legend.iter().map(|(label, _)| legend_item_w(label)).sum();
    let width = lanes_end.max(title.len() * 17 / 2 + 16).max(LEFT + replay.len() * 7 + 16).max(LEFT + 8 + legend_w);
    let lane_of = |name: &str| tasks.iter().position(|t| t == name).map(|k| k + 1).unwrap_or(0);

    // Rows: the initial state, each step, then the violating task's next call.
    let mut body = String::new();
    let mut y = TOP;
    let mut view = trace.initial.clone();
    let draw_tasks = |body: &mut String, v: &View, y: usize, changed: &[&str], next: Option<(&str, &str)>| {
        for (k, t) in tasks.iter().enumerate() {
            let x0 = lane_x[k + 1] + 8;
            let g = |f| v.get(Scope::Task, t, f).to_string();
            let state = format!("ps={} TIF={} {}", g(field::PATCH_STATE), g(field::TIF), g(field::CONTEXT));
            let attrs =
                if changed.contains(&t.as_str()) { r##"fill="#b00" font-weight="bold""## } else { r##"fill="#555""## };
            text(body, x0, y, 10, attrs, &state);
            let mut x = x0;
            for f in frames(v.get(Scope::Task, t, field::STACK)) {
                x += chip(body, x, y + 18, f, colour_of(f, &patches), false) + 4;
            }
            if let Some((task, call)) = next {
                if task == t {
                    let callee = call.rsplit(" > ").next().unwrap_or(call);
                    chip(body, x, y + 18, callee, colour_of(callee, &patches), true);
                }
            }
        }
    };
    text(&mut body, 6, y, 11, r##"fill="#333""##, "init");
    draw_tasks(&mut body, &view, y, &[], None);
    y += ROW + 20;
    let last = trace.steps.len();
    let in_cycle = |i: usize| trace.cycle_start.is_some_and(|c| i > c);
    for s in &trace.steps {
        view.apply(&s.changes);
        let lines = s.dmesg.iter().filter(|l| **l != s.text).count();
        let h = (ROW + 20).max(LINE * (lines + 1) + 14) + 4;
        if trace.cycle_start == Some(s.i - 1) {
            y += CYCLE_GAP;
            let _ = writeln!(
                body,
                r##"<line x1="2" y1="{0}" x2="{1}" y2="{0}" stroke="{CYCLE_INK}" stroke-width="2" stroke-dasharray="8 4"/>"##,
                y - 17,
                width - 2
            );
            text(&mut body, LEFT + 8, y - 21, 11, &format!(r#"fill="{CYCLE_INK}""#), "cycle: repeats from here");
        }
        if in_cycle(s.i) {
            let _ = writeln!(
                body,
                r#"<rect x="2" y="{}" width="{}" height="{}" fill="{CYCLE}"/>"#,
                y - 16,
                width - 4,
                h + 8
            );
        } else if trace.violation.is_some() && trace.cycle_start.is_none() && s.i == last {
            let _ = writeln!(body, r#"<rect x="2" y="{}" width="{}" height="{h}" fill="{BAD}"/>"#, y - 16, width - 4);
        }
        text(&mut body, 6, y + 4, 12, r#"font-weight="bold""#, &s.i.to_string());
        let lane = lane_of(&s.actor);
        let ax = lane_x[lane] + 8;
        let calls = matches!(s.action, klp_model::Action::Call(..) | klp_model::Action::Syscall(..));
        let fill = match s.stack_top_after(&view) {
            Some(f) if calls => colour_of(&f, &patches).fill,
            _ => "#000",
        };
        text(&mut body, ax, y, 12, &format!(r#"font-weight="bold" fill="{fill}""#), &s.text);
        if lane == 0 {
            for (n, l) in s.dmesg.iter().filter(|l| **l != s.text).enumerate() {
                text(&mut body, ax, y + LINE * (n + 1), 10, r##"fill="#444""##, l);
            }
            let tp = view.get(Scope::Global, "", field::TRANSITION_PATCH);
            if tp != "NULL" && lines == 0 {
                let ts = view.get(Scope::Global, "", field::TARGET_STATE);
                text(
                    &mut body,
                    ax,
                    y + LINE,
                    10,
                    r##"fill="#444""##,
                    &format!("klp_transition_patch={tp} klp_target_state={ts}"),
                );
            }
        }
        if let Some(t) = s.task.as_deref().filter(|t| *t != s.actor) {
            let k = lane_of(t);
            let (x1, x2) = (lane_x[1] - 6, lane_x[k] + 4);
            let _ = writeln!(
                body,
                r##"<line x1="{}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"/>"##,
                x1.min(ax + s.text.len() * CH + 6).max(ax),
            );
        }
        // Tasks whose patch_state or TIF_PATCH_PENDING the step changed: bold red.
        let switched: Vec<&str> = s
            .changes
            .iter()
            .filter(|c| c.scope == Scope::Task && (c.field == field::PATCH_STATE || c.field == field::TIF))
            .map(|c| c.name.as_str())
            .collect();
        draw_tasks(&mut body, &view, y + 16, &switched, None);
        y += h + 8;
    }
    if let Some(c) = trace.cycle_start.filter(|&c| c < last) {
        let back = format!("cycle: back to the state before step {}", c + 1);
        text(&mut body, LEFT + 8, y - 4, 11, &format!(r#"fill="{CYCLE_INK}""#), &back);
        y += LINE + 4;
    }
    if let Some(e) = &trace.violation {
        let next = e.task.as_deref().zip(e.next_calls.first().map(String::as_str));
        let summary = match trace.cycle_start {
            Some(c) if c < last => format!("!! '{}' violated: steps {}..{last} repeat for ever", trace.property, c + 1),
            Some(_) => format!("!! '{}' violated: the run stays in the last state for ever", trace.property),
            None => format!("!! step {}: '{}' violated", e.step, trace.property),
        };
        text(&mut body, lane_x[0] + 8, y, 12, r##"font-weight="bold" fill="#b00""##, &summary);
        if let Some((t, call)) = next {
            let k = lane_of(t);
            text(&mut body, lane_x[k] + 8, y, 11, r##"fill="#b00""##, &format!("{t}'s next call:"));
            let mut v = view.clone();
            v.0.retain(|en| en.scope != Scope::Task || en.name == t);
            draw_tasks(&mut body, &v, y + 16, &[], Some((t, call)));
        }
        y += if next.is_some() { ROW + 30 } else { LINE + 8 };
        for line in wrap(&e.summary, (width - 60) / CH) {
            text(&mut body, lane_x[0] + 8, y, 11, r##"fill="#b00""##, &line);
            y += LINE;
        }
        y += 6;
    }
    // Legend (one swatch per version) and the replay command.
    let mut foot = String::new();
    let mut x = LEFT + 8;
    for (label, colour) in &legend {
        let _ = writeln!(foot, r#"<rect x="{x}" y="{}" width="14" height="14" fill="{}"/>"#, y - 11, colour.fill);
        text(&mut foot, x + 20, y, 11, "", label);
        x += legend_item_w(label);
    }
    y += LINE + 6;
    text(&mut foot, LEFT + 8, y, 11, r##"fill="#333""##, &replay);
    let height = y + 14;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, monospace">"#
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>
"##);
    let _ = writeln!(out, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    text(&mut out, 8, 20, 14, r#"font-weight="bold""#, &title);
    text(&mut out, 8, 38, 11, r##"fill="#333""##, &format!("variant: {}", trace.variant.describe()));
    let mut names = vec!["admin / kernel work".to_string()];
    names.extend(tasks.iter().cloned());
    for (k, n) in names.iter().enumerate() {
        let x = lane_x[k];
        let w = lane_x[k + 1] - x;
        let _ =
            writeln!(out, r##"<rect x="{}" y="46" width="{}" height="22" fill="#eee" stroke="#999"/>"##, x + 2, w - 4);
        text(&mut out, x + 8, 62, 12, r#"font-weight="bold""#, n);
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="68" x2="{0}" y2="{1}" stroke="#bbb" stroke-dasharray="3 3"/>"##,
            x + 2,
            y - 2 * LINE - 14
        );
    }
    out.push_str(&body);
    out.push_str(&foot);
    out.push_str("</svg>\n");
    out
}

/// Width of one legend entry: swatch, label of 11px text, gap.
fn legend_item_w(label: &str) -> usize {
    20 + label.len() * 7 + 24
}

/// Splits a sentence into lines of at most `w` characters at spaces.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in s.split(' ') {
        let cur = lines.last_mut().expect("one line at least");
        if !cur.is_empty() && cur.len() + 1 + word.len() > w {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

impl crate::Step {
    /// The innermost frame of the step's task after the step (from the view after it).
    fn stack_top_after(&self, after: &View) -> Option<String> {
        let t = self.task.as_deref()?;
        after.get(Scope::Task, t, field::STACK).rsplit(" > ").next().filter(|f| *f != "-").map(String::from)
    }
}
