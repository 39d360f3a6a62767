//! A state in kernel terms, for `klpcheck replay --state`: every task, patch (with its objects
//! and funcs), `func_stack`, target module and the admin script's progress by name, as
//! /sys/kernel/livepatch and /proc show them, instead of the model's indices.

use crate::view::{context, frame_name, module_state, patch_life, patch_state};
use klp_model::spec::AdminOrder;
use klp_model::task::PatchState;
use klp_model::{KlpSystem, State};
use std::fmt::Write;

/// `klp_target_state` / `patch_state` with the kernel's name: "1 (KLP_TRANSITION_PATCHED)".
fn named_state(ps: PatchState) -> String {
    let name = match ps {
        PatchState::Idle => "KLP_TRANSITION_IDLE",
        PatchState::Unpatched => "KLP_TRANSITION_UNPATCHED",
        PatchState::Patched => "KLP_TRANSITION_PATCHED",
    };
    format!("{} ({name})", patch_state(ps))
}

/// The readable rendering of `st`.
pub fn describe(model: &KlpSystem, st: &State) -> String {
    let spec = &*model.spec;
    let patch = |p: u8| spec.patches[p as usize].name.as_str();
    let mut out = String::new();
    let listed: Vec<&str> = st.klp_patches.iter().map(|&p| patch(p)).collect();
    let listed = if listed.is_empty() { "(empty)".to_string() } else { listed.join(", ") };
    let _ = writeln!(out, "klp_patches (oldest first): {listed}");
    let tp = st.klp_transition_patch.map_or("NULL", patch);
    let _ = writeln!(out, "klp_transition_patch: {tp}; klp_target_state: {}", named_state(st.klp_target_state));
    if let Some(p) = st.pass {
        let next = spec.tasks.get(p.next as usize).map_or("the end of the task list", |t| t.comm.as_str());
        let failed = if p.complete { "" } else { ", a task failed to switch" };
        let _ = writeln!(out, "transition work: klp_try_complete_transition() pass at {next}{failed}");
    }
    let _ = writeln!(out, "tasks:");
    let w = spec.tasks.iter().map(|t| t.comm.len()).max().unwrap_or(0);
    for (pid, t) in st.tasks.iter().enumerate() {
        let stack: Vec<String> = t.stack.iter().map(|f| frame_name(spec, f.func, f.version)).collect();
        let stack = if stack.is_empty() { "no frames".to_string() } else { stack.join(" > ") };
        let _ = writeln!(
            out,
            "  {:<w$}  patch_state {}, TIF_PATCH_PENDING {}, {}: {stack}",
            spec.tasks[pid].comm,
            patch_state(t.patch_state),
            u8::from(t.tif_patch_pending),
            context(t.context),
        );
    }
    if !spec.patches.is_empty() {
        let _ = writeln!(out, "patches:");
    }
    for (p, ps) in spec.patches.iter().enumerate() {
        let _ = writeln!(out, "  {}: {}", ps.name, patch_life(st, p));
        for (o, os) in spec.objs.iter().enumerate().filter(|(o, os)| os.patch as usize == p && st.objs[*o].exists) {
            let r = &st.objs[o];
            let mut what = vec![if r.patched { "patched" } else { "not patched" }];
            if os.module.is_some() {
                what.push(if r.mod_bound { "obj->mod set" } else { "obj->mod NULL" });
            }
            if os.dynamic {
                what.push("dynamic (klp_add_nops)");
            }
            let _ = writeln!(out, "    object {}: {}", spec.obj_name(os.module), what.join(", "));
            for &f in os.funcs.iter().filter(|&&f| st.funcs[f as usize].exists) {
                let (fs, r) = (&spec.klp_funcs[f as usize], &st.funcs[f as usize]);
                let nop = if fs.nop { " (nop)" } else { "" };
                let _ = writeln!(
                    out,
                    "      func {}{nop}: patched {}, transition {}",
                    spec.funcs[fs.old_func as usize].name,
                    u8::from(r.patched),
                    u8::from(r.transition)
                );
            }
        }
    }
    let stacks: Vec<String> = (spec.funcs.iter().enumerate())
        .filter(|(f, _)| !st.func_stacks[*f].is_empty())
        .map(|(f, fs)| {
            let funcs: Vec<String> = st.func_stacks[f]
                .iter()
                .rev()
                .map(|&k| {
                    format!(
                        "{}{}",
                        patch(spec.klp_funcs[k as usize].patch),
                        if spec.klp_funcs[k as usize].nop { "(nop)" } else { "" }
                    )
                })
                .collect();
            format!("  {}: {} (top first)", fs.name, funcs.join(", "))
        })
        .collect();
    if !stacks.is_empty() {
        let _ = writeln!(out, "func_stacks:\n{}", stacks.join("\n"));
    }
    if !spec.modules.is_empty() {
        let _ = writeln!(out, "target modules:");
    }
    for (m, ms) in spec.modules.iter().enumerate() {
        let _ = writeln!(out, "  {}: {}", ms.name, module_state(st, m));
    }
    let ops = &spec.admin.ops;
    match spec.admin.order {
        AdminOrder::Script if !ops.is_empty() => {
            let next = st.admin.script_next();
            let what = match ops.get(next) {
                Some(o) => format!("next {}", klp_model::dmesg::command_line(spec, o)),
                None => "finished".to_string(),
            };
            let _ = writeln!(out, "admin script: {}/{} commands done; {what}", next.min(ops.len()), ops.len());
        }
        AdminOrder::Any if !ops.is_empty() => {
            let _ = writeln!(out, "admin commands (any order), times run:");
            for (i, o) in ops.iter().enumerate() {
                let _ = writeln!(out, "  {}x {}", st.admin.runs(i), klp_model::dmesg::command_line(spec, o));
            }
        }
        _ => {}
    }
    out
}
