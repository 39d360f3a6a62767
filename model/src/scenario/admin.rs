//! A scenario's `[admin]`: its commands (patch and module names resolved) and their order.

use super::raw::{RawAdmin, RawOp};
use super::{Ctx, ModuleRef, ScenarioError, MAX_OPS, MAX_OP_REPEAT};
use crate::hint::did_you_mean;
use crate::spec::PatchBuilder;
use crate::spec::*;
use std::collections::BTreeMap;

/// `[admin]`: the commands and their order.
pub(super) fn resolve_admin(
    ctx: &Ctx,
    raw: Option<&RawAdmin>,
    patch_by_name: &BTreeMap<String, usize>,
    module_ref: &ModuleRef,
    (tasks, funcs): (&[TaskSpec], &[FuncSpec]),
    patches: (&PatchBuilder, &[ModuleSpec]),
) -> Result<Admin, ScenarioError> {
    let Some(a) = raw else {
        return Ok(Admin { order: AdminOrder::Any, ops: vec![] });
    };
    let mut ops = Vec::new();
    for o in &a.ops {
        if ops.len() == MAX_OPS {
            return Err(ctx.err(
                o.op.span(),
                "admin.ops",
                format!("more than {MAX_OPS} commands"),
                Some("each command has a counter in every state and multiplies the state space: use fewer"),
            ));
        }
        let patch = match &o.patch {
            None => None,
            Some(n) => Some(*patch_by_name.get(n.get_ref()).ok_or_else(|| {
                let hint = did_you_mean(n.get_ref(), patch_by_name.keys())
                    .unwrap_or_else(|| "name a [[patches]] table's name".into());
                ctx.err(n.span(), "admin.ops.patch", format!("unknown patch '{}'", n.get_ref()), Some(&hint))
            })? as PatchId),
        };
        let module = match &o.module {
            None => None,
            Some(n) => module_ref(&Some(n.clone()), "admin.ops.module")?,
        };
        let known = [
            "insmod",
            "rmmod",
            "disable",
            "enable",
            "force",
            "cpu_up",
            "cpu_down",
            "check_sysfs_value",
            "check_sysfs_rights",
            "set_ftrace_enabled",
            "set_param",
            "grep",
            "cat",
        ];
        let check = matches!(o.op.get_ref().as_str(), "check_sysfs_value" | "check_sysfs_rights");
        check_fields(ctx, o, check, a.order)?;
        let read = super::proc::read_op(ctx, o, a.order, tasks, funcs)?;
        let hotplug = matches!(o.op.get_ref().as_str(), "cpu_up" | "cpu_down");
        let cpu = match (&o.cpu, hotplug) {
            (Some(c), false) => {
                return Err(ctx.err(
                    c.span(),
                    "admin.ops.cpu",
                    format!("'{}' takes no cpu", o.op.get_ref()),
                    Some("cpu is for cpu_up and cpu_down"),
                ))
            }
            (None, true) => {
                return Err(ctx.err(
                    o.op.span(),
                    "admin.ops.cpu",
                    format!("'{}' needs a cpu", o.op.get_ref()),
                    Some("e.g. { op = \"cpu_up\", cpu = 1 }: CPU 1 is the scenario's second idle task"),
                ))
            }
            (Some(c), true) => Some(cpu_idle_task(ctx, c, tasks)?),
            (None, false) => None,
        };
        if let (Some(_), Some(n)) = (cpu, o.patch.as_ref().map(|p| p.span()).or(o.module.as_ref().map(|m| m.span()))) {
            return Err(ctx.err(
                n,
                "admin.ops",
                format!("'{}' takes only a cpu", o.op.get_ref()),
                Some("remove patch and module"),
            ));
        }
        let op = match (o.op.get_ref().as_str(), patch, module) {
            (_, None, None) if read.is_some() => read.as_ref().expect("checked").0,
            ("cpu_up", None, None) => AdminOp::CpuUp(cpu.expect("checked above")),
            ("cpu_down", None, None) => AdminOp::CpuDown(cpu.expect("checked above")),
            ("insmod", Some(p), None) => AdminOp::InsmodPatch(p),
            ("insmod", None, Some(m)) => AdminOp::InsmodModule(m),
            ("rmmod", Some(p), None) => AdminOp::RmmodPatch(p),
            ("rmmod", None, Some(m)) => AdminOp::RmmodModule(m),
            ("disable", Some(p), None) => AdminOp::Disable(p),
            ("enable", Some(p), None) => AdminOp::Enable(p),
            ("force", Some(p), None) => AdminOp::Force(p),
            ("set_param", Some(p), None) => {
                let param = o.param.as_ref().expect("check_fields");
                if param.get_ref() != "pre_patch_ret" {
                    return Err(ctx.err(
                        param.span(),
                        "admin.ops.param",
                        format!("no writable parameter '{}' the model gives an effect", param.get_ref()),
                        Some("pre_patch_ret (test_klp_callbacks_demo.c: what the pre_patch callbacks return)"),
                    ));
                }
                let v = o.value.as_ref().expect("check_fields");
                AdminOp::SetPrePatchRet(p, super::params::errno(ctx, v.span(), "admin.ops.value", *v.get_ref())?)
            }
            ("set_ftrace_enabled", None, None) => match o.value.as_ref().expect("check_fields").get_ref() {
                v @ (0 | 1) => AdminOp::SetFtraceEnabled {
                    value: *v == 1,
                    can_fail: o.fail.as_ref().is_some_and(|f| *f.get_ref()),
                },
                v => {
                    return Err(ctx.err(
                        o.value.as_ref().expect("checked").span(),
                        "admin.ops.value",
                        format!("kernel.ftrace_enabled is 0 or 1, not {v}"),
                        Some("value = 0 turns ftrace off, 1 on"),
                    ))
                }
            },
            ("check_sysfs_value", Some(p), None) => {
                let file = sysfs_file(ctx, o, p, patches)?;
                let v = o.value.as_ref().expect("check_fields");
                let value = u32::try_from(*v.get_ref()).map_err(|_| {
                    ctx.err(
                        v.span(),
                        "admin.ops.value",
                        format!("{} is not a value a livepatch sysfs file shows", v.get_ref()),
                        Some("the files show 0, 1 or a stack position (1, 2, ...)"),
                    )
                })?;
                AdminOp::CheckSysfsValue(p, file, value)
            }
            ("check_sysfs_rights", Some(p), None) => {
                let file = sysfs_file(ctx, o, p, patches)?;
                let r = o.rights.as_ref().expect("check_fields");
                let mode = SysfsMode::ALL.into_iter().find(|m| m.as_str() == r.get_ref()).ok_or_else(|| {
                    let all: Vec<&str> = SysfsMode::ALL.iter().map(|m| m.as_str()).collect();
                    ctx.err(
                        r.span(),
                        "admin.ops.rights",
                        format!("no livepatch sysfs file has mode '{}'", r.get_ref()),
                        Some(&format!("one of: {}", all.join(", "))),
                    )
                })?;
                AdminOp::CheckSysfsRights(p, file, mode)
            }
            (op, _, _) if known.contains(&op) => {
                let which = match op {
                    "insmod" | "rmmod" => "exactly one of patch or module",
                    "set_ftrace_enabled" => "no patch and no module",
                    "set_param" => "a patch (its module's parameter is written)",
                    "grep" | "cat" => "no patch and no module (it names a task and a file)",
                    _ => "a patch",
                };
                return Err(ctx.err(
                    o.op.span(),
                    "admin.ops",
                    format!("'{op}' needs {which}"),
                    Some("e.g. { op = \"insmod\", patch = \"lp1\" } or { op = \"rmmod\", module = \"m\" }"),
                ));
            }
            (other, _, _) => {
                let hint = did_you_mean(other, known.iter()).unwrap_or_else(|| format!("one of: {}", known.join(", ")));
                return Err(ctx.err(o.op.span(), "admin.ops.op", format!("unknown command '{other}'"), Some(&hint)));
            }
        };
        let max = match &o.max {
            None => 1,
            Some(m) if *m.get_ref() == 0 || *m.get_ref() > MAX_OP_REPEAT => {
                return Err(ctx.err(
                    m.span(),
                    "admin.ops.max",
                    format!("max {} must be 1..={MAX_OP_REPEAT}", m.get_ref()),
                    Some("how often the command may run in order = \"any\""),
                ))
            }
            Some(m) => *m.get_ref() as u8,
        };
        if a.order == AdminOrder::Script && o.max.is_some() {
            return Err(ctx.err(
                o.op.span(),
                "admin.ops.max",
                "max only applies to order = \"any\"".into(),
                Some("repeat the command in the script instead"),
            ));
        }
        // The kernel pid of task i is i + 1 (Spec::kernel_pid(); the spec is not built yet).
        let users: Vec<u32> = (tasks.iter().enumerate())
            .filter(|(_, t)| t.kind == crate::task::TaskKind::User)
            .map(|(i, _)| i as u32 + 1)
            .collect();
        let (args, pre_patch_ret) = super::params::insmod_args(ctx, o, &users)?;
        let text = read.map(|r| r.1).unwrap_or_default();
        ops.push(OpSpec { op, max, wait: o.wait.unwrap_or(true), args, pre_patch_ret, text });
    }
    Ok(Admin { order: a.order, ops })
}

/// The idle task of CPU `c` (the scenario's idle tasks are CPUs 0, 1, ... in file order).
fn cpu_idle_task(ctx: &Ctx, c: &toml::Spanned<u32>, tasks: &[TaskSpec]) -> Result<Pid, ScenarioError> {
    let idle: Vec<usize> =
        tasks.iter().enumerate().filter(|(_, t)| t.kind == crate::task::TaskKind::Idle).map(|(i, _)| i).collect();
    idle.get(*c.get_ref() as usize).map(|&i| i as Pid).ok_or_else(|| {
        ctx.err(
            c.span(),
            "admin.ops.cpu",
            format!("no CPU {}: the scenario has {} idle tasks", c.get_ref(), idle.len()),
            Some("each [[tasks]] with kind = \"idle\" is one CPU, numbered from 0 in file order"),
        )
    })
}

/// The check helpers' fields: `path` always, `value` (`check_sysfs_value`) or `rights`
/// (`check_sysfs_rights`); none of them on another command; script order only.
fn check_fields(ctx: &Ctx, o: &RawOp, check: bool, order: AdminOrder) -> Result<(), ScenarioError> {
    let op = o.op.get_ref().as_str();
    let sysctl = op == "set_ftrace_enabled";
    let set_param = op == "set_param";
    let stray = [
        ("path", o.path.as_ref().map(|p| p.span())),
        ("value", o.value.as_ref().map(|v| v.span())),
        ("rights", o.rights.as_ref().map(|r| r.span())),
        ("fail", o.fail.as_ref().map(|f| f.span())),
        ("param", o.param.as_ref().map(|p| p.span())),
    ];
    for (field, span) in stray {
        let wanted = match field {
            "path" => check,
            "value" => op == "check_sysfs_value" || sysctl || set_param,
            "rights" => op == "check_sysfs_rights",
            "param" => set_param,
            _ => sysctl,
        };
        if let (Some(span), false) = (span, wanted) {
            return Err(ctx.err(
                span,
                &format!("admin.ops.{field}"),
                format!("'{op}' takes no {field}"),
                Some("path with value is for check_sysfs_value, path with rights for check_sysfs_rights, value and fail for set_ftrace_enabled, param with value for set_param"),
            ));
        }
    }
    if set_param {
        for (field, missing) in [("param", o.param.is_none()), ("value", o.value.is_none())] {
            if missing {
                return Err(ctx.err(
                    o.op.span(),
                    &format!("admin.ops.{field}"),
                    format!("'set_param' needs a {field}"),
                    Some("e.g. { op = \"set_param\", patch = \"test_klp_callbacks_demo\", param = \"pre_patch_ret\", value = -19 }"),
                ));
            }
        }
    }
    if sysctl && o.value.is_none() {
        return Err(ctx.err(
            o.op.span(),
            "admin.ops.value",
            "'set_ftrace_enabled' needs a value".into(),
            Some("e.g. { op = \"set_ftrace_enabled\", value = 0 }"),
        ));
    }
    if !check {
        return Ok(());
    }
    let need = if op == "check_sysfs_value" { ("value", o.value.is_none()) } else { ("rights", o.rights.is_none()) };
    for (field, missing) in [("path", o.path.is_none()), need] {
        if missing {
            return Err(ctx.err(
                o.op.span(),
                &format!("admin.ops.{field}"),
                format!("'{op}' needs a {field}"),
                Some("e.g. { op = \"check_sysfs_value\", patch = \"lp1\", path = \"enabled\", value = 1 }"),
            ));
        }
    }
    if order != AdminOrder::Script {
        return Err(ctx.err(
            o.op.span(),
            "admin.ops.op",
            format!("'{op}' only runs in a script"),
            Some("a read changes no kernel state: in order = \"any\" it would only multiply states"),
        ));
    }
    Ok(())
}

/// `path` of a check: relative to `/sys/kernel/livepatch/<patch>/`.
fn sysfs_file(
    ctx: &Ctx,
    o: &RawOp,
    p: PatchId,
    (b, modules): (&PatchBuilder, &[ModuleSpec]),
) -> Result<SysfsFile, ScenarioError> {
    let path = o.path.as_ref().expect("check_fields");
    let obj = |name: &str| {
        b.patches[p as usize].objs.iter().copied().find(|&obj| {
            let m = b.objs[obj as usize].module;
            !b.objs[obj as usize].dynamic && m.map_or("vmlinux", |m| modules[m as usize].name.as_str()) == name
        })
    };
    let file = match path.get_ref().as_str() {
        "" => Some(SysfsFile::Dir),
        "enabled" => Some(SysfsFile::Enabled),
        "transition" => Some(SysfsFile::Transition),
        "force" => Some(SysfsFile::Force),
        "replace" => Some(SysfsFile::Replace),
        "stack_order" => Some(SysfsFile::StackOrder),
        other => match other.split_once('/') {
            Some((o, "patched")) => obj(o).map(SysfsFile::ObjPatched),
            None => obj(other).map(SysfsFile::ObjDir),
            _ => None,
        },
    };
    file.ok_or_else(|| {
        ctx.err(
            path.span(),
            "admin.ops.path",
            format!("no file '{}' in the patch's sysfs directory", path.get_ref()),
            Some("\"\", enabled, transition, force, replace, stack_order, <object>, <object>/patched (object: vmlinux or a module the patch has an object for)"),
        )
    })
}
