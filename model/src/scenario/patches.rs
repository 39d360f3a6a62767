//! A scenario's `[[patches]]`: each `struct klp_patch` with its objects and funcs (a func may be
//! a table that declares its new function's body and how patching it fails), and the nop slots
//! `klp_add_nops()` may need.

use super::raw::{RawKlpFunc, RawKlpFuncTable, RawObject, RawPatch};
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
    shadow: &mut ShadowSpec,
) -> Result<(PatchBuilder, BTreeMap<String, usize>), ScenarioError> {
    let mut b = PatchBuilder::default();
    let mut patch_by_name = BTreeMap::new();
    for p in raw {
        if b.patches.len() == MAX_PATCHES {
            return Err(too_many(ctx, p.name.span(), "patches", MAX_PATCHES));
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
        let mut objs: Vec<(Option<ModId>, Vec<FuncId>, Callbacks)> = Vec::new();
        // klp_shadow_free_all() calls of the callbacks, by object index in this patch.
        let mut free_alls: Vec<(usize, CallbackKind, u64)> = Vec::new();
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
                    new_funcs.push((id, new_body(ctx, t, &funcs[id as usize], func_ref, shadow)?, t.patch_fails));
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
                klp_state: o.callbacks.klp_state.as_ref().map(|k| *k.get_ref()),
            };
            for (kind, ids) in callback_free_alls(ctx, o, &cb)? {
                free_alls.extend(ids.iter().map(|&id| (objs.len(), kind, id)));
            }
            if let Some(k) = &o.callbacks.klp_state {
                check_klp_state_callbacks(ctx, k.span(), module, &cb)?;
            }
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
        let first_obj = b.objs.len();
        b.add_patch(p.name.get_ref().clone(), p.replace, p.states.iter().map(|s| (s.id, s.version)).collect(), objs);
        let patch_id = (b.patches.len() - 1) as PatchId;
        shadow.callback_free_all.extend(free_alls.into_iter().map(|(i, k, id)| ((first_obj + i) as ObjId, k, id)));
        for &id in p.exit_shadow_free_all.iter().flat_map(|e| e.get_ref()) {
            shadow.exit_free_all.push((patch_id, id));
        }
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
/// `calls`, `sleeps` and `output` default to the original's, `shadow` to no call; `None` when
/// it declares none of them.
fn new_body(
    ctx: &Ctx,
    t: &RawKlpFuncTable,
    old: &FuncSpec,
    func_ref: &FuncRef,
    shadow: &mut ShadowSpec,
) -> Result<Option<FuncBody>, ScenarioError> {
    let output = super::proc::check_new_output(ctx, t.output.as_ref(), old)?;
    if t.calls.is_none() && t.sleeps.is_none() && t.shadow.is_none() && output.is_none() {
        return Ok(None);
    }
    let calls = match &t.calls {
        Some(c) => c.iter().map(|c| func_ref(c, "patches.objects.funcs.calls")).collect::<Result<Vec<_>, _>>()?,
        None => old.calls.clone(),
    };
    let mut calls_shadow = Vec::new();
    for c in t.shadow.iter().flat_map(|s| s.get_ref()) {
        let obj = c.obj.as_ref().map_or(0, |o| *o.get_ref());
        if obj >= MAX_SHADOW_OBJS {
            let span = c.obj.as_ref().map_or(0..0, |o| o.span());
            return Err(ctx.err(
                span,
                "patches.objects.funcs.shadow.obj",
                format!("parent object {obj} is out of range"),
                Some(&format!("parents are numbered 0..{MAX_SHADOW_OBJS}")),
            ));
        }
        let Some(var) = shadow.var(ShadowVar { obj, id: c.id }) else {
            let span = t.shadow.as_ref().map_or(0..0, |s| s.span());
            return Err(ctx.err(
                span,
                "patches.objects.funcs.shadow",
                format!("more than {MAX_SHADOW_VARS} <obj, id> pairs"),
                Some("each pair is one bit of the state; use fewer parents or ids"),
            ));
        };
        calls_shadow.push(ShadowCall { call: c.op, var });
    }
    Ok(Some(FuncBody { calls, sleeps: t.sleeps.unwrap_or(old.sleeps), shadow: calls_shadow, output }))
}

/// An object's `shadow_free_all` table: per callback, the ids it frees. The callback must
/// exist (`klp_shadow_free_all()` is code the callback runs).
fn callback_free_alls<'a>(
    ctx: &Ctx,
    o: &'a RawObject,
    cb: &Callbacks,
) -> Result<Vec<(CallbackKind, &'a [u64])>, ScenarioError> {
    let Some(t) = &o.shadow_free_all else { return Ok(Vec::new()) };
    let kinds = [
        (CallbackKind::PrePatch, &t.pre_patch, cb.pre_patch.is_some(), "pre_patch", "pre_patch = 0"),
        (CallbackKind::PostPatch, &t.post_patch, cb.post_patch, "post_patch", "post_patch = true"),
        (CallbackKind::PreUnpatch, &t.pre_unpatch, cb.pre_unpatch, "pre_unpatch", "pre_unpatch = true"),
        (CallbackKind::PostUnpatch, &t.post_unpatch, cb.post_unpatch, "post_unpatch", "post_unpatch = true"),
    ];
    let mut out = Vec::new();
    for (kind, ids, exists, name, set) in kinds {
        let Some(ids) = ids else { continue };
        if !exists {
            return Err(ctx.err(
                ids.span(),
                &format!("patches.objects.shadow_free_all.{name}"),
                format!("the object has no {name} callback to call klp_shadow_free_all()"),
                Some(&format!("declare the callback: callbacks = {{ {set} }}")),
            ));
        }
        out.push((kind, ids.get_ref().as_slice()));
    }
    Ok(out)
}

/// `callbacks.klp_state`: the test_klp_state modules' four callbacks on their vmlinux object
/// (the only object whose callbacks run inside a transition, where `klp_get_prev_state()`
/// works), so once per patch (one `klp_state` data pointer per patch: a patch has one vmlinux
/// object).
fn check_klp_state_callbacks(
    ctx: &Ctx,
    span: std::ops::Range<usize>,
    module: Option<ModId>,
    cb: &Callbacks,
) -> Result<(), ScenarioError> {
    let field = "patches.objects.callbacks.klp_state";
    if module.is_some() {
        return Err(ctx.err(
            span,
            field,
            "klp_state callbacks only on the vmlinux object (as test_klp_state.c)".into(),
            Some("move them to the object with name = \"vmlinux\""),
        ));
    }
    if cb.pre_patch != Some(0) || !cb.post_patch || !cb.pre_unpatch || !cb.post_unpatch {
        return Err(ctx.err(
            span,
            field,
            "klp_state is the behaviour of all four callbacks".into(),
            Some("callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true, klp_state = \"console_loglevel\" }"),
        ));
    }
    Ok(())
}
