//! Suspicious input that is not an error: the scenario loads and runs, but probably does not
//! say what its author meant. Printed as warnings (`klpcheck: warning: file:line:column: field:
//! message`) by the commands that load a scenario the user names; never fatal.

use super::raw::RawScenario;
use super::{Ctx, ScenarioError};
use crate::spec::*;
use crate::task::TaskKind;

/// The warnings of a resolved scenario (`spec`) read from `raw`.
pub(super) fn warnings(ctx: &Ctx, raw: &RawScenario, spec: &Spec) -> Vec<ScenarioError> {
    let mut out = Vec::new();
    // A kthread with no `entry` only sleeps in its main loop: it never runs a function, so no
    // patched function can be on its stack.
    for t in &raw.tasks {
        if t.kind == TaskKind::Kthread && t.entry.is_empty() {
            out.push(ctx.err(
                t.comm.span(),
                "tasks.entry",
                format!(
                    "kthread '{}' has no entry: it only sleeps in its main loop and never runs a function",
                    t.comm.get_ref()
                ),
                Some("give it entry = [\"...\"] (the functions its main loop calls), or drop it if that is meant"),
            ));
        }
    }
    // A patched function that no task can ever run: no task's entry, no caller (in any
    // version), not a /proc show function a read calls. Its patch can never be on a stack.
    let mut called = vec![false; spec.funcs.len()];
    for t in &spec.tasks {
        for &f in &t.entry {
            called[f as usize] = true;
        }
    }
    for f in &spec.funcs {
        let bodies = f.new_bodies.iter().flatten().flat_map(|b| b.calls.iter());
        for &c in f.calls.iter().chain(bodies) {
            called[c as usize] = true;
        }
    }
    for (i, f) in spec.funcs.iter().enumerate() {
        if f.proc_file.is_some() {
            called[i] = true;
        }
    }
    for p in &raw.patches {
        for o in &p.objects {
            for func in &o.funcs {
                let name = func.get_ref().name(func.span());
                let Some(id) = spec.funcs.iter().position(|f| f.name == *name.get_ref()) else { continue };
                if !called[id] {
                    out.push(ctx.err(
                        name.span(),
                        "patches.objects.funcs",
                        format!("'{}' is patched, but no task calls it (no entry, no caller, no /proc read)", name.get_ref()),
                        Some("add it to a task's entry or to a function's calls, or the patch only changes what nothing runs"),
                    ));
                }
            }
        }
    }
    out
}
