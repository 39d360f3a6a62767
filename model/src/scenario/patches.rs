//! A scenario's `[[patches]]`: each `struct klp_patch` with its objects and funcs (a func may be
//! a table that declares its new function's body and how patching it fails), and the nop slots
//! `klp_add_nops()` may need.

use super::raw::{RawKlpFunc, RawKlpFuncTable, RawPatch};
use super::{too_many, Ctx, FuncRef, ModuleRef, ScenarioError, MAX_PATCHES};
use crate::spec::*;
use std::collections::BTreeMap;

/// The patch, object and func slot tables, and the patches by name.
pub(super) fn resolve_patches(
    ctx: &Ctx,
    raw: &[RawPatch],
    funcs: &mut [FuncSpec],
    mod_by_name: &BTreeMap<String, usize>,
    module_ref: &ModuleRef,
    func_ref: &FuncRef,
) -> Result<(PatchBuilder, BTreeMap<String, usize>), ScenarioError> {
    let mut b = PatchBuilder::default();
    let mut patch_by_name = BTreeMap::new();
    for p in raw {
        if b.patches.len() == MAX_PATCHES {
            return Err(too_many(ctx, p.name.span(), "patches", MAX_PATCHES, "PatchId"));
        }
        if patch_by_name.insert(p.name.get_ref().clone(), b.patches.len()).is_some()
            || mod_by_name.contains_key(p.name.get_ref())
            || p.name.get_ref() == "vmlinux"
        {
            return Err(ctx.err(
                p.name.span(),
                "patches.name",
                format!("duplicate or reserved name '{}'", p.name.get_ref()),
                Some("patch and module names share one namespace (they are all modules); \"vmlinux\" is the kernel"),
            ));
        }
        let mut objs = Vec::new();
        // The funcs declared as tables: (old function, its new body, how patching it fails).
        let mut new_funcs: Vec<(FuncId, Option<FuncBody>, Option<PatchFails>)> = Vec::new();
        for o in &p.objects {
            let module = module_ref(&o.name, "patches.objects.name")?;
            if objs.iter().any(|(m, _, _)| *m == module) {
                let span = o.name.as_ref().map(|n| n.span()).unwrap_or(p.name.span());
                return Err(ctx.err(
                    span,
                    "patches.objects.name",
                    "two objects for the same module in one patch".into(),
                    Some("merge their funcs into one [[patches.objects]] table"),
                ));
            }
            let mut fs = Vec::new();
            for raw_f in &o.funcs {
                let f = &raw_f.get_ref().name(raw_f.span());
                let id = func_ref(f, "patches.objects.funcs")?;
                if funcs[id as usize].module != module {
                    return Err(ctx.err(
                        f.span(),
                        "patches.objects.funcs",
                        format!("function '{}' does not belong to this object", f.get_ref()),
                        Some("set functions.object to the module the function lives in"),
                    ));
                }
                if fs.contains(&id) {
                    return Err(ctx.err(
                        f.span(),
                        "patches.objects.funcs",
                        format!("function '{}' listed twice", f.get_ref()),
                        Some("list each function once per object"),
                    ));
                }
                fs.push(id);
                if let RawKlpFunc::Table(t) = raw_f.get_ref() {
                    new_funcs.push((id, new_body(ctx, t, &funcs[id as usize], func_ref)?, t.patch_fails));
                }
            }
            // An empty list is fine: klp_init_patch_early() only needs `obj->funcs != NULL`
            // (the selftests' callback demo objects patch nothing).
            let pre_patch = match &o.callbacks.pre_patch {
                Some(r) if *r.get_ref() > 0 || *r.get_ref() < -4095 => {
                    return Err(ctx.err(
                        r.span(),
                        "patches.objects.callbacks.pre_patch",
                        format!("{} is not 0 or a negative errno", r.get_ref()),
                        Some("pre_patch = 0 (success) or -19 (-ENODEV), any -4095..=0"),
                    ))
                }
                r => r.as_ref().map(|r| *r.get_ref()),
            };
            let cb = Callbacks {
                pre_patch,
                post_patch: o.callbacks.post_patch,
                pre_unpatch: o.callbacks.pre_unpatch,
                post_unpatch: o.callbacks.post_unpatch,
            };
            objs.push((module, fs, cb));
        }
        if objs.is_empty() {
            return Err(ctx.err(
                p.name.span(),
                "patches.objects",
                "a patch needs at least one object (klp_enable_patch: -EINVAL)".into(),
                Some("add [[patches.objects]] with name = \"vmlinux\" and funcs = [...]"),
            ));
        }
        let mut ids = BTreeMap::new();
        for s in &p.states {
            if ids.insert(s.id, s.version).is_some() {
                return Err(ctx.err(
                    p.name.span(),
                    "patches.states",
                    format!("state id {} listed twice", s.id),
                    Some("a klp_state id appears once per patch"),
                ));
            }
        }
        b.add_patch(p.name.get_ref().clone(), p.replace, p.states.iter().map(|s| (s.id, s.version)).collect(), objs);
        if p.immediate && p.replace {
            return Err(ctx.err(
                p.name.span(),
                "patches.immediate",
                "`immediate` (v4.12..v4.15) and `replace` (v5.1+) never existed together".into(),
                None,
            ));
        }
        if let Some(last) = b.patches.last_mut() {
            last.immediate = p.immediate;
        }
        let patch = b.patches.len() - 1;
        for (f, body, fails) in new_funcs {
            if let Some(body) = body {
                let bodies = &mut funcs[f as usize].new_bodies;
                bodies.resize(bodies.len().max(patch + 1), None);
                bodies[patch] = Some(body);
            }
            if let Some(k) = b.klp_funcs.iter_mut().find(|k| k.patch as usize == patch && k.old_func == f) {
                k.patch_fails = fails;
            }
        }
    }
    // Slot ids are u8 (ids.rs); nops add slots, so count after klp_add_nops().
    b.add_nops(funcs);
    if b.klp_funcs.len() > u8::MAX as usize || b.objs.len() > u8::MAX as usize {
        return Err(ctx.err(
            raw[0].name.span(),
            "patches",
            format!(
                "{} klp_func and {} klp_object slots (nops included); at most 255 each",
                b.klp_funcs.len(),
                b.objs.len()
            ),
            Some("patch fewer functions, or fewer patches with replace = true"),
        ));
    }
    Ok((b, patch_by_name))
}

/// The body a patch's func table declares for its new function (`klp_func->new_func`): each of
/// `calls`, `sleeps` and `output` defaults to the original's; `None` when it declares none.
fn new_body(
    ctx: &Ctx,
    t: &RawKlpFuncTable,
    old: &FuncSpec,
    func_ref: &FuncRef,
) -> Result<Option<FuncBody>, ScenarioError> {
    let output = super::proc::check_new_output(ctx, t.output.as_ref(), old)?;
    if t.calls.is_none() && t.sleeps.is_none() && output.is_none() {
        return Ok(None);
    }
    let calls = match &t.calls {
        Some(c) => c.iter().map(|c| func_ref(c, "patches.objects.funcs.calls")).collect::<Result<Vec<_>, _>>()?,
        None => old.calls.clone(),
    };
    Ok(Some(FuncBody { calls, sleeps: t.sleeps.unwrap_or(old.sleeps), output }))
}
