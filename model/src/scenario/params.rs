//! Module parameters on an `insmod` line (`params = "block_transition=Y"`) and the one a
//! `set_param` command writes, with the effect the selftest modules give them:
//!
//! - `replace=N` (test_klp_atomic_replace.c, int): the patch module's init sets
//!   `klp_patch.replace = replace`. Read once, at load, so it is part of the patch's spec, and
//!   it decides the patch's nop objects (`klp_add_nops()`): applied before the patches resolve.
//! - `block_transition=Y|N` (test_klp_callbacks_busy.c, bool): the work function loops in
//!   `msleep()` while it is set (`sleeps = "until_module_exit"`: the module's exit clears it),
//!   and the init waits for the work to start, or (N) flushes it (`init_waits`). Applied to the
//!   module's `work` function and `init_waits` before the modules resolve.
//! - `pre_patch_ret=N` (test_klp_callbacks_demo{,2}.c, int, 0644): what every pre_patch
//!   callback of the patch returns; runtime state ([`crate::state::PatchRt::pre_patch_ret`]),
//!   set at load and by `set_param`.
//! - `klp_pids=P,Q,...` (test_klp_syscall.c, `module_param_array(klp_pids, int, ...)`): the pids
//!   whose first call of the module's `lp_sys_getpid()` decrements its `npids` counter. Logged
//!   only: the counter and its sysfs file are not modelled (a selftest gap, tests/selftests.rs);
//!   each pid must be a scenario user task's (task i has pid i + 1).
//!
//! Simplification (cosmetic): the model does not know which module declares which
//! `module_param()`; any livepatch module takes `replace` and `pre_patch_ret`, any module with a
//! work item `block_transition`. A parameter a module lacks would be ignored by the kernel with
//! "unknown parameter ... ignored"; the scenario author names real ones. A value the kernel's
//! `kstrtoint()` / `kstrtobool()` would refuse (insmod: "Invalid parameters") is a scenario
//! error here, not a modelled failed load.

use super::raw::{RawOp, RawScenario};
use super::{Ctx, ScenarioError};
use crate::spec::{InitWaits, Sleeps};
use std::collections::BTreeMap;
use toml::Spanned;

/// The parameters the model gives an effect, and where each belongs.
const PATCH_PARAMS: &[&str] = &["replace", "pre_patch_ret", "klp_pids"];
const MODULE_PARAMS: &[&str] = &["block_transition"];

/// `parse_args()`: space-separated `name=value` (a bare `name` is a bool set to true);
/// `parameq()` treats `-` and `_` alike.
fn parse(ctx: &Ctx, s: &Spanned<String>, known: &[&str]) -> Result<Vec<(String, String)>, ScenarioError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in s.get_ref().split_whitespace() {
        let (name, value) = word.split_once('=').unwrap_or((word, "y"));
        let name = name.replace('-', "_");
        if !known.contains(&name.as_str()) {
            let hint = crate::hint::did_you_mean(&name, known.iter())
                .unwrap_or_else(|| format!("this module's known parameters: {}", known.join(", ")));
            return Err(ctx.err(
                s.span(),
                "admin.ops.params",
                format!("unknown module parameter '{name}'"),
                Some(&hint),
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(ctx.err(
                s.span(),
                "admin.ops.params",
                format!("parameter '{name}' given twice"),
                Some("give each parameter once"),
            ));
        }
        out.push((name, value.to_string()));
    }
    Ok(out)
}

/// `kstrtoint()` (base 0 accepts a sign and decimal; the selftests pass decimal).
fn int(ctx: &Ctx, s: &Spanned<String>, name: &str, v: &str) -> Result<i32, ScenarioError> {
    let hint = if name == "klp_pids" { "e.g. klp_pids=1,2,3 (user tasks' pids)" } else { "e.g. pre_patch_ret=-19" };
    v.parse::<i32>().map_err(|_| ctx.err(s.span(), "admin.ops.params", format!("{name}={v}: not an int"), Some(hint)))
}

/// `kstrtobool()`: y/Y/1/on true, n/N/0/off false.
fn boolean(ctx: &Ctx, s: &Spanned<String>, name: &str, v: &str) -> Result<bool, ScenarioError> {
    match v {
        "y" | "Y" | "1" | "on" => Ok(true),
        "n" | "N" | "0" | "off" => Ok(false),
        _ => Err(ctx.err(s.span(), "admin.ops.params", format!("{name}={v}: not a bool"), Some("Y or N"))),
    }
}

/// An errno as a callback returns it: 0 or -1..=-4095.
pub(super) fn errno(ctx: &Ctx, span: std::ops::Range<usize>, field: &str, v: i64) -> Result<i32, ScenarioError> {
    if (-4095..=0).contains(&v) {
        Ok(v as i32)
    } else {
        Err(ctx.err(
            span,
            field,
            format!("{v} is not 0 or a negative errno"),
            Some("0 (success) or -19 (-ENODEV), any -4095..=0"),
        ))
    }
}

/// An insmod command's `params` string (for its span) and its `name=value` pairs.
type OpParams = (Spanned<String>, Vec<(String, String)>);

/// The `params` of an insmod command, checked against what the command loads.
fn op_params(ctx: &Ctx, o: &RawOp) -> Result<Option<OpParams>, ScenarioError> {
    let Some(s) = &o.params else { return Ok(None) };
    if o.op.get_ref() != "insmod" {
        return Err(ctx.err(
            s.span(),
            "admin.ops.params",
            format!("'{}' takes no params", o.op.get_ref()),
            Some("module parameters are for insmod; set_param writes one of a loaded module"),
        ));
    }
    let known = if o.patch.is_some() { PATCH_PARAMS } else { MODULE_PARAMS };
    Ok(Some((s.clone(), parse(ctx, s, known)?)))
}

/// The load-time parameters (`replace=`, `block_transition=`) written into the raw patches,
/// modules and functions they decide, before those resolve. A module loaded twice must be
/// loaded with the same value (the spec is static); a value given both ways must agree.
pub(super) fn apply_load_time_params(ctx: &Ctx, raw: &mut RawScenario) -> Result<(), ScenarioError> {
    let Some(admin) = &raw.admin else { return Ok(()) };
    let mut seen: BTreeMap<(String, String), (bool, Spanned<String>)> = BTreeMap::new();
    for o in &admin.ops {
        let Some((s, params)) = op_params(ctx, o)? else { continue };
        let target = o.patch.as_ref().or(o.module.as_ref()).map(|n| n.get_ref().clone()).unwrap_or_default();
        for (name, v) in &params {
            let value = match name.as_str() {
                "replace" => int(ctx, &s, name, v)? != 0,
                "block_transition" => boolean(ctx, &s, name, v)?,
                _ => continue,
            };
            match seen.get(&(target.clone(), name.clone())) {
                Some((old, _)) if *old != value => {
                    return Err(ctx.err(
                        s.span(),
                        "admin.ops.params",
                        format!("'{target}' is loaded with {name} both set and unset"),
                        Some("the model reads this parameter once per scenario: load the module with one value"),
                    ))
                }
                _ => {
                    seen.insert((target.clone(), name.clone()), (value, s.clone()));
                }
            }
        }
    }
    for ((target, name), (value, s)) in seen {
        match name.as_str() {
            "replace" => {
                let Some(p) = raw.patches.iter_mut().find(|p| *p.name.get_ref() == target) else { continue };
                if p.replace && !value {
                    return Err(ctx.err(
                        s.span(),
                        "admin.ops.params",
                        format!("replace=0, but patch '{target}' says replace = true"),
                        Some("the insmod line's replace= sets klp_patch.replace: remove `replace` from the [[patches]] table"),
                    ));
                }
                p.replace = value;
            }
            _ => block_transition(ctx, raw, &target, value, &s)?,
        }
    }
    Ok(())
}

/// test_klp_callbacks_busy.c: `busymod_work_func()` loops while `block_transition`, and the
/// init waits for the work to start, then (unset) flushes it.
fn block_transition(
    ctx: &Ctx,
    raw: &mut RawScenario,
    module: &str,
    value: bool,
    s: &Spanned<String>,
) -> Result<(), ScenarioError> {
    let Some(m) = raw.modules.iter_mut().find(|m| *m.name.get_ref() == module) else { return Ok(()) };
    let Some(work) = m.work.clone() else {
        return Err(ctx.err(
            s.span(),
            "admin.ops.params",
            format!("block_transition= needs module '{module}' to have a work item"),
            Some("add `work = \"<function>\"` to the module (test_klp_callbacks_busy.c's busymod_work_func)"),
        ));
    };
    if let Some(iw) = &m.init_waits {
        return Err(ctx.err(
            iw.span(),
            "modules.init_waits",
            format!("module '{module}' is loaded with block_transition=, which decides what its init waits for"),
            Some("remove init_waits"),
        ));
    }
    m.init_waits = Some(Spanned::new(s.span(), if value { InitWaits::WorkStarted } else { InitWaits::WorkDone }));
    if let Some(f) = raw.functions.iter_mut().find(|f| f.name.get_ref() == work.get_ref()) {
        if f.sleeps != Sleeps::Never {
            return Err(ctx.err(
                f.name.span(),
                "functions.sleeps",
                format!(
                    "'{}' is the work of a module loaded with block_transition=, which decides its sleep",
                    work.get_ref()
                ),
                Some("remove sleeps"),
            ));
        }
        if value {
            f.sleeps = Sleeps::UntilModuleExit;
        }
    }
    Ok(())
}

/// `klp_pids=`: `param_array_set()` parses each comma-separated element with `kstrtoint()`;
/// here each must also be the pid of one of the scenario's user tasks (`users`).
fn pids(ctx: &Ctx, s: &Spanned<String>, v: &str, users: &[u32]) -> Result<(), ScenarioError> {
    for p in v.split(',') {
        let pid = int(ctx, s, "klp_pids", p)?;
        if !users.contains(&(pid as u32)) || pid < 1 {
            let list: Vec<String> = users.iter().map(u32::to_string).collect();
            return Err(ctx.err(
                s.span(),
                "admin.ops.params",
                format!("klp_pids: no user task has pid {pid}"),
                Some(&format!("the scenario's user tasks have pids {} (task i has pid i + 1)", list.join(", "))),
            ));
        }
    }
    Ok(())
}

/// An insmod's parameters as the harness logs them, and `pre_patch_ret=`. `users`: the kernel
/// pids of the scenario's user tasks (for `klp_pids=`).
pub(super) fn insmod_args(ctx: &Ctx, o: &RawOp, users: &[u32]) -> Result<(String, Option<i32>), ScenarioError> {
    let Some((s, params)) = op_params(ctx, o)? else { return Ok((String::new(), None)) };
    if let Some((_, v)) = params.iter().find(|(n, _)| n == "klp_pids") {
        pids(ctx, &s, v, users)?;
    }
    let ret = match params.iter().find(|(n, _)| n == "pre_patch_ret") {
        Some((n, v)) => Some(errno(ctx, s.span(), "admin.ops.params", int(ctx, &s, n, v)? as i64)?),
        None => None,
    };
    Ok((s.get_ref().split_whitespace().collect::<Vec<_>>().join(" "), ret))
}
