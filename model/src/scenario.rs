//! Scenario files: the modelled configuration (TOML), parsed with serde and checked into a
//! resolved [`Spec`] of indices. Every error names the file, the line and the field.
//!
//! A scenario says which kernel functions exist and who calls them, which target modules exist,
//! which tasks run, which livepatches (`struct klp_patch` / `klp_object` / `klp_func`, callbacks,
//! `replace`, system states) can be loaded, and which admin commands run: either a script (an
//! ordered list, like the kernel selftests) or a set of commands that may run in any order, each
//! a bounded number of times, interleaved with the tasks.

use crate::hint::did_you_mean;
use crate::spec::*;
use crate::variant::{KnobError, Variant};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

mod admin;
mod diag;
mod raw;
mod tasks;

use admin::resolve_admin;
use raw::*;
use tasks::resolve_tasks;

/// An error in a scenario file: where it is, which field, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {field}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Hard limits: ids are `u8`, and the state must stay small enough to explore.
pub const MAX_TASKS: usize = 16;
pub const MAX_FUNCS: usize = 32;
pub const MAX_PATCHES: usize = 8;
pub const MAX_MODULES: usize = 8;
pub const MAX_STACK: u32 = 8;
pub const MAX_OP_REPEAT: u32 = 8;
pub const MAX_OPS: usize = 32;

struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: std::ops::Range<usize>, field: &str, message: String, hint: Option<&str>) -> ScenarioError {
        let (line, column) = line_col(self.src, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line,
            column,
            field: field.to_string(),
            message,
            hint: hint.map(str::to_string),
        }
    }
}

pub(crate) use diag::{line_col, toml_error};

/// A checked scenario file: everything but the design variant, which is chosen once, when the
/// [`Spec`] is built from it ([`Scenario::build`]). A run's variant is the scenario's own
/// [`Scenario::variant`], then a preset, then `--set`, each overriding the knobs it names; a
/// replay's is the one its trace recorded.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The scenario's `[variant]` table applied over upstream.
    pub variant: Variant,
    /// The resolved scenario under upstream, without the patches a variant derives.
    spec: Spec,
    /// The file, for errors of [`Scenario::build`].
    file: String,
}

impl Scenario {
    /// The scenario's name (its file stem).
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The [`Spec`] under `variant`, the run's final one: the patches it derives (`disable_via`)
    /// are added here, once. Fails only when they do not fit the `u8` ids.
    pub fn build(self, variant: Variant) -> Result<Spec, ScenarioError> {
        let mut spec = self.spec;
        spec.variant = variant;
        spec.add_derived_patch().map_err(|message| ScenarioError {
            file: self.file,
            line: 1,
            column: 1,
            field: "variant".into(),
            message,
            hint: None,
        })?;
        Ok(spec)
    }

    /// The [`Spec`] under the scenario's own `[variant]`.
    pub fn into_spec(self) -> Result<Spec, ScenarioError> {
        let v = self.variant.clone();
        self.build(v)
    }
}

/// Reads and checks a scenario file; the [`Spec`] under its own `[variant]`.
pub fn load(path: &Path) -> Result<Spec, ScenarioError> {
    read(path)?.into_spec()
}

/// Reads and checks a scenario file, its variant still to be chosen.
pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let src = read_utf8(path)?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    read_str(&name, &file, &src)
}

/// Reads a scenario, preset or expectation file as UTF-8; a bad byte is reported at its line
/// and column.
pub fn read_utf8(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let err = |line, column, message| ScenarioError {
        file: file.clone(),
        line,
        column,
        field: "(file)".into(),
        message,
        hint: None,
    };
    let bytes = std::fs::read(path).map_err(|e| err(0, 0, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = diag::utf8_position(e.as_bytes(), &e.utf8_error());
        ScenarioError { hint: Some("save the file as UTF-8".into()), ..err(line, column, "not valid UTF-8".into()) }
    })
}

/// Parses scenario text; `file` is only used in error messages. The [`Spec`] under its own
/// `[variant]`.
pub fn parse(name: &str, file: &str, src: &str) -> Result<Spec, ScenarioError> {
    read_str(name, file, src)?.into_spec()
}

/// Parses scenario text, its variant still to be chosen; `file` is only used in error messages.
pub fn read_str(name: &str, file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { file, src };
    let raw: RawScenario = toml::from_str(src).map_err(|e| {
        let (span, field, msg, hint) = diag::toml_error(src, &e);
        ctx.err(span, &field, msg, Some(&hint))
    })?;
    resolve(name, &ctx, raw)
}

fn resolve(name: &str, ctx: &Ctx, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    if raw.tasks.is_empty() {
        return Err(ctx.err(
            0..0,
            "tasks",
            "a scenario needs at least one task".into(),
            Some("add a [[tasks]] table (comm = \"cat\", entry = [\"vfs_read\"])"),
        ));
    }
    let variant = resolve_variant(ctx, &raw.variant)?;
    // Modules.
    let mut modules = Vec::new();
    let mut mod_by_name = BTreeMap::new();
    for m in &raw.modules {
        if modules.len() == MAX_MODULES {
            return Err(too_many(ctx, m.name.span(), "modules", MAX_MODULES, "ModId"));
        }
        if m.name.get_ref() == "vmlinux" || mod_by_name.insert(m.name.get_ref().clone(), modules.len()).is_some() {
            return Err(ctx.err(
                m.name.span(),
                "modules.name",
                format!("duplicate or reserved module name '{}'", m.name.get_ref()),
                Some("give every module its own name; \"vmlinux\" is the kernel itself"),
            ));
        }
        modules.push(ModuleSpec { name: m.name.get_ref().clone(), loaded: m.loaded });
    }
    let module_ref = |s: &Option<Spanned<String>>, field: &str| -> Result<Option<ModId>, ScenarioError> {
        match s {
            None => Ok(None),
            Some(n) if n.get_ref() == "vmlinux" => Ok(None),
            Some(n) => mod_by_name.get(n.get_ref()).map(|&i| Some(i as ModId)).ok_or_else(|| {
                let hint = did_you_mean(n.get_ref(), mod_by_name.keys().chain(["vmlinux".to_string()].iter()))
                    .unwrap_or_else(|| "declare it in a [[modules]] table, or use \"vmlinux\"".into());
                ctx.err(n.span(), field, format!("unknown module '{}'", n.get_ref()), Some(&hint))
            }),
        }
    };
    // Functions.
    let mut func_by_name = BTreeMap::new();
    for (i, f) in raw.functions.iter().enumerate() {
        if i == MAX_FUNCS {
            return Err(too_many(ctx, f.name.span(), "functions", MAX_FUNCS, "FuncId"));
        }
        if func_by_name.insert(f.name.get_ref().clone(), i).is_some() {
            return Err(ctx.err(
                f.name.span(),
                "functions.name",
                format!("duplicate function '{}'", f.name.get_ref()),
                Some("each kernel function is declared once; list every caller in its `calls`"),
            ));
        }
    }
    let func_ref = |s: &Spanned<String>, field: &str| -> Result<FuncId, ScenarioError> {
        func_by_name.get(s.get_ref()).map(|&i| i as FuncId).ok_or_else(|| {
            let hint = did_you_mean(s.get_ref(), func_by_name.keys())
                .unwrap_or_else(|| "declare it in a [[functions]] table".into());
            ctx.err(s.span(), field, format!("unknown function '{}'", s.get_ref()), Some(&hint))
        })
    };
    let mut funcs = Vec::new();
    for f in &raw.functions {
        let calls = f.calls.iter().map(|c| func_ref(c, "functions.calls")).collect::<Result<Vec<_>, _>>()?;
        funcs.push(FuncSpec {
            name: f.name.get_ref().clone(),
            module: module_ref(&f.object, "functions.object")?,
            calls,
            sleeps: f.sleeps,
            new_bodies: Vec::new(),
        });
    }
    let tasks = resolve_tasks(ctx, &raw.tasks, &func_ref)?;
    // Patches, objects, funcs.
    if raw.patches.is_empty() {
        return Err(ctx.err(
            0..0,
            "patches",
            "a scenario needs at least one livepatch: without one there is nothing to check".into(),
            Some("add a [[patches]] table with one [[patches.objects]]"),
        ));
    }
    let mut b = PatchBuilder::default();
    let mut patch_by_name = BTreeMap::new();
    for p in &raw.patches {
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
                    new_funcs.push((id, new_body(t, &funcs[id as usize], &func_ref)?, t.patch_fails));
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
    b.add_nops(&funcs);
    if b.klp_funcs.len() > u8::MAX as usize || b.objs.len() > u8::MAX as usize {
        return Err(ctx.err(
            raw.patches[0].name.span(),
            "patches",
            format!(
                "{} klp_func and {} klp_object slots (nops included); at most 255 each",
                b.klp_funcs.len(),
                b.objs.len()
            ),
            Some("patch fewer functions, or fewer patches with replace = true"),
        ));
    }
    let admin = resolve_admin(ctx, raw.admin.as_ref(), &patch_by_name, &module_ref)?;
    let max_stack = *raw.bounds.max_stack.get_ref();
    if max_stack == 0 || max_stack > MAX_STACK {
        return Err(ctx.err(
            raw.bounds.max_stack.span(),
            "bounds.max_stack",
            format!("{max_stack} must be 1..={MAX_STACK}"),
            Some("the deepest call chain explored; 2 or 3 is typical"),
        ));
    }
    let spec = Spec {
        name: name.to_string(),
        description: raw.description.unwrap_or_default(),
        funcs,
        modules,
        tasks,
        patches: b.patches,
        objs: b.objs,
        klp_funcs: b.klp_funcs,
        admin,
        max_stack: max_stack as u8,
        variant: Variant::default(),
        mutations: crate::mutation::Mutations::NONE,
    };
    Ok(Scenario { variant, spec, file: ctx.file.to_string() })
}

/// The body a patch's func table declares for its new function (`klp_func->new_func`): each of
/// `calls` and `sleeps` defaults to the original's; `None` when it declares neither.
fn new_body(t: &RawKlpFuncTable, old: &FuncSpec, func_ref: &FuncRef) -> Result<Option<FuncBody>, ScenarioError> {
    if t.calls.is_none() && t.sleeps.is_none() {
        return Ok(None);
    }
    let calls = match &t.calls {
        Some(c) => c.iter().map(|c| func_ref(c, "patches.objects.funcs.calls")).collect::<Result<Vec<_>, _>>()?,
        None => old.calls.clone(),
    };
    Ok(Some(FuncBody { calls, sleeps: t.sleeps.unwrap_or(old.sleeps) }))
}

/// Resolves a function name (and the field it is in) to its id.
type FuncRef<'a> = dyn Fn(&Spanned<String>, &str) -> Result<FuncId, ScenarioError> + 'a;
/// Resolves an optional module name ("vmlinux" or none = the kernel) to its id.
type ModuleRef<'a> = dyn Fn(&Option<Spanned<String>>, &str) -> Result<Option<ModId>, ScenarioError> + 'a;

fn too_many(ctx: &Ctx, span: std::ops::Range<usize>, field: &str, max: usize, id: &str) -> ScenarioError {
    ctx.err(
        span,
        field,
        format!("more than {max} {field}"),
        Some(&format!("at most {max}: each is a {id} in the state, and the state space grows with every one")),
    )
}

/// `[variant]`: each key a knob, read as preset files are ([`crate::variant::read_knobs`]).
fn resolve_variant(ctx: &Ctx, raw: &crate::variant::KnobTable) -> Result<Variant, ScenarioError> {
    let mut v = Variant::default();
    crate::variant::read_knobs(&mut v, raw, &[]).map_err(|e| {
        let hint = match e.error {
            KnobError::NotAString { .. } => format!("{} (`klpcheck list knobs`)", e.error.hint()),
            _ => e.error.hint(),
        };
        ctx.err(e.span, &format!("variant.{}", e.knob), e.error.to_string(), Some(&hint))
    })?;
    Ok(v)
}
