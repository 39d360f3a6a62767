//! A picture of one model state as SVG, for the state-space Explorer (`klpcheck explore`,
//! stateright's `Model::as_svg`): the global transition state on top (`klp_transition_patch`,
//! `klp_target_state`, `klp_patches`, modules, each patched function's `func_stack`), then one
//! column per task: its comm, where it is, `patch_state` and TIF_PATCH_PENDING, and its kernel
//! stack (innermost frame on top), each frame coloured by the version the ftrace handler chose.

use crate::ids::{FuncId, PatchId};
use crate::palette::{self, Colour};
use crate::spec::Spec;
use crate::state::{ModState, PatchLife, State};
use crate::task::{Context, PatchState};
use std::fmt::Write;

const COL_W: usize = 190;
const LINE_H: usize = 16;
const FRAME_H: usize = 22;

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn patch_name(spec: &Spec, p: PatchId) -> &str {
    &spec.patches[p as usize].name
}

fn patch_state(ps: PatchState) -> &'static str {
    match ps {
        PatchState::Idle => "-1 (IDLE)",
        PatchState::Unpatched => "0 (UNPATCHED)",
        PatchState::Patched => "1 (PATCHED)",
    }
}

/// The global lines: transition state, patches, modules, func_stacks.
fn global_lines(spec: &Spec, st: &State) -> Vec<String> {
    let mut l = Vec::new();
    l.push(format!(
        "klp_transition_patch: {}    klp_target_state: {}",
        st.klp_transition_patch.map(|p| patch_name(spec, p).to_string()).unwrap_or_else(|| "NULL".into()),
        patch_state(st.klp_target_state),
    ));
    let patches: Vec<String> = st
        .klp_patches
        .iter()
        .map(|&p| {
            let r = &st.patches[p as usize];
            let mut s = format!("{}{}", patch_name(spec, p), if r.enabled { " enabled" } else { " disabled" });
            if r.forced {
                s.push_str(" forced");
            }
            s
        })
        .collect();
    l.push(format!("klp_patches: [{}]", patches.join(", ")));
    let gone: Vec<String> = st
        .patches
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.life, PatchLife::Freeing | PatchLife::Freed))
        .map(|(p, r)| format!("{} {:?}", patch_name(spec, p as PatchId), r.life).to_lowercase())
        .collect();
    if !gone.is_empty() {
        l.push(format!("freed livepatch modules: {}", gone.join(", ")));
    }
    if !spec.modules.is_empty() {
        let mods: Vec<String> = spec
            .modules
            .iter()
            .zip(&st.mods)
            .map(|(m, r)| {
                let s = match r.state {
                    ModState::Unloaded => "not loaded",
                    ModState::Formed => "MODULE_STATE_COMING (formed)",
                    ModState::KlpWait => "MODULE_STATE_COMING (waiting for the transition)",
                    ModState::Coming => "MODULE_STATE_COMING (mod->init runs)",
                    ModState::Live => "MODULE_STATE_LIVE",
                    ModState::Exiting => "MODULE_STATE_GOING (mod->exit() runs)",
                    ModState::Going => "MODULE_STATE_GOING",
                    ModState::NotifierFailed => "MODULE_STATE_COMING (notifier chain failed)",
                    ModState::Gone => "MODULE_STATE_GOING (gone)",
                };
                format!("{}: {s}{}", m.name, if r.klp_alive { ", klp_alive" } else { "" })
            })
            .collect();
        l.push(format!("modules: {}", mods.join("; ")));
    }
    for (f, stack) in st.func_stacks.iter().enumerate() {
        if stack.is_empty() {
            continue;
        }
        // Top of the func_stack is the last entry; print it first, as list_first_or_null_rcu() sees it.
        let entries: Vec<String> = stack
            .iter()
            .rev()
            .map(|&k| {
                let kf = &spec.klp_funcs[k as usize];
                let rt = &st.funcs[k as usize];
                let mut s = patch_name(spec, kf.patch).to_string();
                if kf.nop {
                    s.push_str("(nop)");
                }
                if rt.transition {
                    s.push_str(" [transition]");
                }
                s
            })
            .collect();
        l.push(format!("func_stack {}: {}", spec.funcs[f as FuncId as usize].name, entries.join(" > ")));
    }
    l
}

fn context(c: Context) -> &'static str {
    match c {
        Context::Unborn => "not forked yet",
        Context::Forking => "forking (between dup_task_struct() and klp_copy_process())",
        Context::Forked => "forked, before ret_from_fork",
        Context::User => "user mode",
        Context::Running => "running in the kernel",
        Context::Sleeping => "sleeping in the kernel",
        Context::Offline => "CPU offline (arch_cpu_idle_dead())",
        Context::Preempted => "preempted in the kernel (runnable, off the CPU)",
    }
}

/// The state as a standalone SVG document.
pub fn state_svg(spec: &Spec, st: &State) -> String {
    let global = global_lines(spec, st);
    let top = 10 + LINE_H * (global.len() + 1);
    let max_stack = st.tasks.iter().map(|t| t.stack.len()).max().unwrap_or(0).max(1);
    let head_h = 4 * LINE_H + 6;
    let width = (COL_W + 10) * st.tasks.len().max(1) + 10;
    let height = top + head_h + FRAME_H * max_stack + 30;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="12">"#
    );
    for (i, line) in global.iter().enumerate() {
        let _ = write!(s, r##"<text x="10" y="{}" class="klp-global">{}</text>"##, 20 + i * LINE_H, esc(line));
    }
    for (pid, t) in st.tasks.iter().enumerate() {
        let x = 10 + pid * (COL_W + 10);
        let ts = &spec.tasks[pid];
        let pending = t.tif_patch_pending;
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{top}" width="{COL_W}" height="{head_h}" fill="{}" stroke="#333"/>"##,
            if pending { "#fff3b0" } else { "#ffffff" }
        );
        let lines = [
            format!("{} ({:?})", spec.task_comm_pid(pid as u8), ts.kind).to_lowercase(),
            context(t.context).to_string(),
            format!("patch_state {}", patch_state(t.patch_state)),
            format!("TIF_PATCH_PENDING {}", if pending { "set" } else { "clear" }),
        ];
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" class="klp-task">{}</text>"##,
                x + 4,
                top + 13 + i * LINE_H,
                esc(line)
            );
        }
        // Innermost frame on top, as a stack trace prints it.
        for (depth, fr) in t.stack.iter().rev().enumerate() {
            let y = top + head_h + 4 + depth * FRAME_H;
            let colour = palette::version(fr.version);
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{y}" width="{COL_W}" height="{}" fill="{}" stroke="#555"/><text x="{}" y="{}" class="klp-frame" fill="{}">{}</text>"##,
                FRAME_H - 2,
                colour.fill,
                x + 4,
                y + 14,
                colour.ink,
                esc(&spec.version_name(fr.func, fr.version))
            );
        }
    }
    // Legend: one swatch per version.
    let y = height - 14;
    let mut x = 10;
    let mut legend: Vec<(String, Colour)> = vec![("original".to_string(), palette::ORIGINAL)];
    for (p, ps) in spec.patches.iter().enumerate() {
        legend.push((ps.name.clone(), palette::patch(p)));
    }
    for (name, colour) in legend {
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{}" width="12" height="12" fill="{}" stroke="#555"/><text x="{}" y="{y}">{}</text>"##,
            y - 10,
            colour.fill,
            x + 16,
            esc(&name)
        );
        x += 24 + 8 * name.len();
    }
    s.push_str("</svg>");
    s
}

/// The same picture as text: the global lines, then one line per task.
pub fn state_text(spec: &Spec, st: &State) -> String {
    let mut out = global_lines(spec, st).join("\n");
    for (pid, t) in st.tasks.iter().enumerate() {
        let stack: Vec<String> = t.stack.iter().map(|f| spec.version_name(f.func, f.version)).collect();
        let _ = write!(
            out,
            "\n{}: {}, patch_state {}, TIF_PATCH_PENDING {}, stack [{}]",
            spec.task_comm_pid(pid as u8),
            context(t.context),
            patch_state(t.patch_state),
            if t.tif_patch_pending { "set" } else { "clear" },
            stack.join(" > ")
        );
    }
    out
}
