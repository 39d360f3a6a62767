//! A scenario's `[[modules]]` code: what `mod->init` returns and waits for, the COMING notifier
//! chain's result, the module's work item and its init/exit messages; and the functions whose
//! sleep needs their module (`sleeps = "until_module_exit"`).

use super::raw::{RawFunc, RawModule};
use super::{Ctx, FuncRef, ScenarioError};
use crate::spec::*;
use crate::task::TaskKind;
use toml::Spanned;

/// An errno as a module returns it: 0 or -1..=-4095 (`IS_ERR_VALUE`).
fn errno_field(ctx: &Ctx, v: &Option<Spanned<i32>>, field: &str) -> Result<i32, ScenarioError> {
    match v {
        None => Ok(0),
        Some(r) if (-4095..=0).contains(r.get_ref()) => Ok(*r.get_ref()),
        Some(r) => Err(ctx.err(
            r.span(),
            field,
            format!("{} is not 0 or a negative errno", r.get_ref()),
            Some("use 0 (success) or -ERRNO, e.g. -12 for -ENOMEM"),
        )),
    }
}

pub(super) fn resolve_module_code(
    ctx: &Ctx,
    raw: &[RawModule],
    raw_funcs: &[RawFunc],
    modules: &mut [ModuleSpec],
    funcs: &[FuncSpec],
    tasks: &[TaskSpec],
    func_ref: &FuncRef,
) -> Result<(), ScenarioError> {
    for (i, (rm, ms)) in raw.iter().zip(modules.iter_mut()).enumerate() {
        ms.init_ret = errno_field(ctx, &rm.init_ret, "modules.init_ret")?;
        ms.coming_notifier_ret = errno_field(ctx, &rm.coming_notifier_ret, "modules.coming_notifier_ret")?;
        if rm.loaded && (ms.init_ret != 0 || ms.coming_notifier_ret != 0) {
            let span = rm.init_ret.as_ref().or(rm.coming_notifier_ret.as_ref()).map(|s| s.span()).unwrap_or(0..0);
            return Err(ctx.err(
                span,
                "modules.loaded",
                format!("module '{}' is loaded at the start, so its load did not fail", ms.name),
                Some("remove `loaded = true`, or the failing init_ret / coming_notifier_ret"),
            ));
        }
        ms.init_message = rm.init_message.clone();
        ms.exit_message = rm.exit_message.clone();
        if let Some(w) = &rm.work {
            let f = func_ref(w, "modules.work")?;
            if funcs[f as usize].module != Some(i as ModId) {
                return Err(ctx.err(
                    w.span(),
                    "modules.work",
                    format!("work function '{}' is not a function of module '{}'", w.get_ref(), ms.name),
                    Some("set the function's `object` to this module"),
                ));
            }
            if !tasks.iter().any(|t| t.kind == TaskKind::Kthread && t.entry.contains(&f)) {
                return Err(ctx.err(
                    w.span(),
                    "modules.work",
                    format!("no kthread runs work function '{}'", w.get_ref()),
                    Some("add a kworker: [[tasks]] comm = \"kworker/0:1\", kind = \"kthread\", entry = [the work function]"),
                ));
            }
            ms.work = Some(f);
        }
        if let Some(iw) = &rm.init_waits {
            if ms.work.is_none() && *iw.get_ref() != InitWaits::Nothing {
                return Err(ctx.err(
                    iw.span(),
                    "modules.init_waits",
                    format!("module '{}' has no work item to wait for", ms.name),
                    Some("add `work = \"<function>\"`, or remove init_waits"),
                ));
            }
            ms.init_waits = *iw.get_ref();
        }
    }
    for (rf, fs) in raw_funcs.iter().zip(funcs) {
        if rf.sleeps == Sleeps::UntilModuleExit && fs.module.is_none() {
            return Err(ctx.err(
                rf.name.span(),
                "functions.sleeps",
                format!("'{}' is in vmlinux: until_module_exit needs the module whose exit ends the sleep", fs.name),
                Some("set `object` to the module, or use another sleep kind"),
            ));
        }
    }
    Ok(())
}
