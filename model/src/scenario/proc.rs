//! /proc files in a scenario: a function's `proc` and `output` (a seq_file show function and
//! what the original writes), a patch func's `output` (what its new function writes), and the
//! script's `grep` / `cat` commands that read such a file in a task.

use super::raw::{RawFunc, RawOp};
use super::{Ctx, ScenarioError};
use crate::hint::did_you_mean;
use crate::spec::*;
use crate::task::TaskKind;

/// `proc` and `output` of each `[[functions]]` table: a vmlinux function, one file each, under
/// /proc/; `output` only on a show function.
pub(super) fn resolve_proc_files(ctx: &Ctx, raw: &[RawFunc], funcs: &mut [FuncSpec]) -> Result<(), ScenarioError> {
    for (i, f) in raw.iter().enumerate() {
        if let Some(p) = &f.proc {
            let hint = "a seq_file show function of vmlinux: proc = \"/proc/cmdline\" on cmdline_proc_show";
            let why = if !p.get_ref().starts_with("/proc/") || p.get_ref().len() == "/proc/".len() {
                Some(format!("'{}' is not a file under /proc/", p.get_ref()))
            } else if funcs[i].module.is_some() {
                // A module's proc entry can go away under an open file (proc_entry_rundown()),
                // which the model does not have.
                Some("only a vmlinux function's /proc file is modelled".to_string())
            } else if raw[..i].iter().any(|o| o.proc.as_ref().is_some_and(|o| o.get_ref() == p.get_ref())) {
                Some(format!("two functions show '{}'", p.get_ref()))
            } else {
                None
            };
            if let Some(why) = why {
                return Err(ctx.err(p.span(), "functions.proc", why, Some(hint)));
            }
            funcs[i].proc_file = Some(p.get_ref().clone());
        }
        if let Some(o) = &f.output {
            if f.proc.is_none() {
                return Err(no_proc(ctx, o.span(), "functions.output", f.name.get_ref()));
            }
            funcs[i].output = o.get_ref().clone();
        }
    }
    Ok(())
}

/// A patch func's `output`: its old function must be a show function.
pub(super) fn check_new_output(
    ctx: &Ctx,
    output: Option<&toml::Spanned<String>>,
    old: &FuncSpec,
) -> Result<Option<String>, ScenarioError> {
    match output {
        Some(o) if old.proc_file.is_none() => Err(no_proc(ctx, o.span(), "patches.objects.funcs.output", &old.name)),
        o => Ok(o.map(|o| o.get_ref().clone())),
    }
}

fn no_proc(ctx: &Ctx, span: std::ops::Range<usize>, field: &str, name: &str) -> ScenarioError {
    ctx.err(
        span,
        field,
        format!("'{name}' is not a /proc file's show function: nothing reads its output"),
        Some("give the [[functions]] table a proc = \"/proc/...\", or drop output"),
    )
}

/// The fields of a `grep` / `cat` command (`task`, `file`, then `pattern`, or exactly one of
/// `expect` / `expect_not`); none of them on another command; script order only. Returns the
/// command and its text.
pub(super) fn read_op(
    ctx: &Ctx,
    o: &RawOp,
    order: AdminOrder,
    tasks: &[TaskSpec],
    funcs: &[FuncSpec],
) -> Result<Option<(AdminOp, String)>, ScenarioError> {
    let op = o.op.get_ref().as_str();
    let read = matches!(op, "grep" | "cat");
    let fields = [
        ("task", o.task.as_ref(), read),
        ("file", o.file.as_ref(), read),
        ("pattern", o.pattern.as_ref(), op == "grep"),
        ("expect", o.expect.as_ref(), op == "cat"),
        ("expect_not", o.expect_not.as_ref(), op == "cat"),
    ];
    for (field, value, wanted) in fields {
        if let (Some(v), false) = (value, wanted) {
            return Err(ctx.err(
                v.span(),
                &format!("admin.ops.{field}"),
                format!("'{op}' takes no {field}"),
                Some("task and file with pattern are for grep, with expect or expect_not for cat"),
            ));
        }
    }
    if !read {
        return Ok(None);
    }
    let example = if op == "grep" {
        "e.g. { op = \"grep\", task = \"bash\", pattern = \"live patched\", file = \"/proc/cmdline\" }"
    } else {
        "e.g. { op = \"cat\", task = \"bash\", file = \"/proc/cmdline\", expect = \"lp: this has been live patched\" }"
    };
    let need = |field: &str| {
        ctx.err(o.op.span(), &format!("admin.ops.{field}"), format!("'{op}' needs a {field}"), Some(example))
    };
    let (Some(task), Some(file)) = (&o.task, &o.file) else {
        return Err(need(if o.task.is_none() { "task" } else { "file" }));
    };
    let (how, text) = match (op, &o.pattern, &o.expect, &o.expect_not) {
        ("grep", Some(p), _, _) => (ProcRead::Grep, p),
        ("grep", None, _, _) => return Err(need("pattern")),
        (_, _, Some(e), None) => (ProcRead::CatExpect, e),
        (_, _, None, Some(e)) => (ProcRead::CatExpectNot, e),
        (_, _, Some(_), Some(e)) => {
            return Err(ctx.err(
                e.span(),
                "admin.ops.expect_not",
                "'cat' takes expect or expect_not, not both".into(),
                Some("one comparison per command, as the script's `if [[ \"$(cat ...)\" != ... ]]`"),
            ))
        }
        _ => return Err(need("expect")),
    };
    if order != AdminOrder::Script {
        return Err(ctx.err(
            o.op.span(),
            "admin.ops.op",
            format!("'{op}' only runs in a script"),
            Some(
                "the script's reads are what the selftests log; in order = \"any\" a task's `entry` reads at any time",
            ),
        ));
    }
    let pid = tasks.iter().position(|t| &t.comm == task.get_ref()).ok_or_else(|| {
        let hint = did_you_mean(task.get_ref(), tasks.iter().map(|t| &t.comm))
            .unwrap_or_else(|| "name a [[tasks]] table's comm".into());
        ctx.err(task.span(), "admin.ops.task", format!("unknown task '{}'", task.get_ref()), Some(&hint))
    })?;
    if tasks[pid].kind != TaskKind::User || tasks[pid].parent.is_some() {
        return Err(ctx.err(
            task.span(),
            "admin.ops.task",
            format!("'{}' is not a user task the script runs in", task.get_ref()),
            Some("the reader is the shell (a [[tasks]] of kind \"user\", not a fork child)"),
        ));
    }
    let f = funcs.iter().position(|f| f.proc_file.as_ref() == Some(file.get_ref())).ok_or_else(|| {
        let files: Vec<&String> = funcs.iter().filter_map(|f| f.proc_file.as_ref()).collect();
        let hint = did_you_mean(file.get_ref(), files.iter().copied())
            .unwrap_or_else(|| "give its show function a [[functions]] table with proc = \"...\"".into());
        ctx.err(file.span(), "admin.ops.file", format!("no function shows '{}'", file.get_ref()), Some(&hint))
    })?;
    Ok(Some((AdminOp::ReadProc(pid as Pid, f as FuncId, how), text.get_ref().clone())))
}
