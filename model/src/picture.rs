//! A picture of one model state as SVG, for the state-space Explorer (`klpcheck explore`,
//! stateright's `Model::as_svg`): the global transition state on top (`klp_transition_patch`,
//! `klp_target_state`, `klp_patches`, modules, each patched function's `func_stack`), then one
//! column per task: its comm, where it is (for a sleeping task: in which function version and
//! how it sleeps), `patch_state` and TIF_PATCH_PENDING, and its kernel stack (innermost frame on
//! top), each frame coloured by the version the ftrace handler chose.

use crate::ids::{FuncId, PatchId, Pid, Version};
use crate::palette::{self, Colour};
use crate::spec::{Sleeps, Spec};
use crate::state::{ModState, PatchLife, State};
use crate::task::{Context, PatchState, TaskKind};
use std::fmt::Write;

/// The narrowest task column; wider when a line needs it.
const COL_W: usize = 190;
/// Width of one character of 12px monospace, rounded up.
const CH: usize = 8;
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

/// Where and how a task in [`Context::Sleeping`] sleeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sleep {
    /// The function version it blocked in (`vfs_read'lp1`), or, for a kthread with no frame the
    /// scenario names, its main loop's wait for work.
    pub place: String,
    /// The version of that frame (`None`: the kthread's main loop).
    pub version: Option<Version>,
    /// How, in the kernel's terms: `TASK_INTERRUPTIBLE`, `| TASK_FREEZABLE`, ...
    pub kind: String,
}

/// How a sleeping task sleeps: the innermost frame's `sleeps` (that version's body, as
/// `program::sleep_kind()` reads it) and its function's `freezable`, or a kthread's main loop's.
pub fn sleep(spec: &Spec, st: &State, pid: Pid) -> Option<Sleep> {
    let t = &st.tasks[pid as usize];
    if t.context != Context::Sleeping {
        return None;
    }
    let (place, version, freezable) = match t.stack.last() {
        Some(fr) => (spec.version_name(fr.func, fr.version), Some(fr.version), spec.funcs[fr.func as usize].freezable),
        None if spec.tasks[pid as usize].kind == TaskKind::Kthread => {
            ("its main loop, waiting for work".to_string(), None, spec.tasks[pid as usize].main_loop.freezable)
        }
        None => ("the kernel".to_string(), None, false),
    };
    let kind = match crate::program::sleep_kind(spec, st, pid) {
        Sleeps::Interruptible => "TASK_INTERRUPTIBLE",
        Sleeps::Uninterruptible => "TASK_UNINTERRUPTIBLE",
        Sleeps::Forever => "never woken, not even by klp_send_signals()",
        Sleeps::UntilModuleExit => "TASK_UNINTERRUPTIBLE, msleep() until its module's exit",
        Sleeps::Never => "blocked",
    };
    let kind = if freezable { format!("{kind} | TASK_FREEZABLE") } else { kind.to_string() };
    Some(Sleep { place, version, kind })
}

/// The lines of a task's column head.
fn task_lines(spec: &Spec, st: &State, pid: usize) -> [String; 5] {
    let t = &st.tasks[pid];
    let (place, kind) = match sleep(spec, st, pid as Pid) {
        Some(s) => (format!("sleeping in {}", s.place), s.kind),
        None => (context(t.context).to_string(), String::new()),
    };
    [
        format!("{} ({:?})", spec.task_comm_pid(pid as u8), spec.tasks[pid].kind).to_lowercase(),
        place,
        kind,
        format!("patch_state {}", patch_state(t.patch_state)),
        format!("TIF_PATCH_PENDING {}", if t.tif_patch_pending { "set" } else { "clear" }),
    ]
}

/// The state as a standalone SVG document.
pub fn state_svg(spec: &Spec, st: &State) -> String {
    let global = global_lines(spec, st);
    let top = 10 + LINE_H * (global.len() + 1);
    let max_stack = st.tasks.iter().map(|t| t.stack.len()).max().unwrap_or(0).max(1);
    let heads: Vec<[String; 5]> = (0..st.tasks.len()).map(|pid| task_lines(spec, st, pid)).collect();
    // Each column as wide as its longest line (head or frame).
    let col_ws: Vec<usize> = st
        .tasks
        .iter()
        .zip(&heads)
        .map(|(t, lines)| {
            let frames = t.stack.iter().map(|fr| spec.version_name(fr.func, fr.version).len());
            let longest = lines.iter().map(|l| l.len()).chain(frames).max().unwrap_or(0);
            COL_W.max(longest * CH + 8)
        })
        .collect();
    let head_h = 5 * LINE_H + 6;
    let widest_global = global.iter().map(|l| l.len() * CH + 20).max().unwrap_or(0);
    let width = (col_ws.iter().map(|w| w + 10).sum::<usize>() + 10).max(widest_global);
    let height = top + head_h + FRAME_H * max_stack + 30;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="12">"#
    );
    for (i, line) in global.iter().enumerate() {
        let _ = write!(s, r##"<text x="10" y="{}" class="klp-global">{}</text>"##, 20 + i * LINE_H, esc(line));
    }
    let mut x = 10;
    for (t, (lines, &col_w)) in st.tasks.iter().zip(heads.iter().zip(&col_ws)) {
        let pending = t.tif_patch_pending;
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{top}" width="{col_w}" height="{head_h}" fill="{}" stroke="#333"/>"##,
            if pending { "#fff3b0" } else { "#ffffff" }
        );
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
                r##"<rect x="{x}" y="{y}" width="{col_w}" height="{}" fill="{}" stroke="#555"/><text x="{}" y="{}" class="klp-frame" fill="{}">{}</text>"##,
                FRAME_H - 2,
                colour.fill,
                x + 4,
                y + 14,
                colour.ink,
                esc(&spec.version_name(fr.func, fr.version))
            );
        }
        x += col_w + 10;
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
        let place = match sleep(spec, st, pid as Pid) {
            Some(s) => format!("sleeping in {} ({})", s.place, s.kind),
            None => context(t.context).to_string(),
        };
        let _ = write!(
            out,
            "\n{}: {}, patch_state {}, TIF_PATCH_PENDING {}, stack [{}]",
            spec.task_comm_pid(pid as u8),
            place,
            patch_state(t.patch_state),
            if t.tif_patch_pending { "set" } else { "clear" },
            stack.join(" > ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Version;
    use crate::task::Frame;

    #[test]
    fn a_sleeping_task_shows_where_and_how_it_sleeps() {
        let src = "[[functions]]\nname = \"f\"\nsleeps = \"interruptible\"\nfreezable = true\n\
                   [[functions]]\nname = \"g\"\nsleeps = \"uninterruptible\"\n\
                   [[tasks]]\ncomm = \"a\"\nentry = [\"f\", \"g\"]\n\
                   [[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n";
        let spec = crate::scenario::parse("t", "t.toml", src).unwrap();
        let sys = crate::KlpSystem::new(spec, Vec::new);
        let mut st = sys.init_state();
        assert_eq!(sleep(&sys.spec, &st, 0), None, "not sleeping");
        st.tasks[0].context = Context::Sleeping;
        st.tasks[0].stack = [Frame { func: 0, version: Version::of_patch(0) }].into_iter().collect();
        let s = sleep(&sys.spec, &st, 0).unwrap();
        assert_eq!((s.place.as_str(), s.kind.as_str()), ("f'lp1", "TASK_INTERRUPTIBLE | TASK_FREEZABLE"));
        assert!(state_svg(&sys.spec, &st).contains(">sleeping in f'lp1<"));
        st.tasks[0].stack = [Frame { func: 1, version: Version::ORIGINAL }].into_iter().collect();
        assert_eq!(sleep(&sys.spec, &st, 0).unwrap().kind, "TASK_UNINTERRUPTIBLE");
        assert!(state_text(&sys.spec, &st).contains("sleeping in g (TASK_UNINTERRUPTIBLE)"));
    }
}
