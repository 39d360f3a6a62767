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
mod modules;
mod params;
mod patches;
mod predicate;
mod proc;
mod raw;
pub mod schema;
mod tasks;
mod warn;

use admin::resolve_admin;
use modules::resolve_module_code;
use patches::resolve_patches;
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
    /// Suspicious input that is not an error (a kthread with no entry, a patched function
    /// nothing calls): for the commands that load a scenario the user names to print.
    pub warnings: Vec<ScenarioError>,
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
        let derived = spec.add_derived_patch().and_then(|()| match spec.over_capacity() {
            Some((what, n, cap)) => Err(format!("disable_via: with the derived patch, {n} {what}; at most {cap}")),
            None => Ok(()),
        });
        derived.map_err(|message| ScenarioError {
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
    let mut raw = raw;
    params::apply_load_time_params(ctx, &mut raw)?;
    let variant = resolve_variant(ctx, &raw.variant)?;
    // Modules.
    let mut modules = Vec::new();
    let mut mod_by_name = BTreeMap::new();
    for m in &raw.modules {
        if modules.len() == MAX_MODULES {
            return Err(too_many(ctx, m.name.span(), "modules", MAX_MODULES));
        }
        if m.name.get_ref() == "vmlinux" || mod_by_name.insert(m.name.get_ref().clone(), modules.len()).is_some() {
            return Err(ctx.err(
                m.name.span(),
                "modules.name",
                format!("duplicate or reserved module name '{}'", m.name.get_ref()),
                Some("give every module its own name; \"vmlinux\" is the kernel itself"),
            ));
        }
        modules.push(ModuleSpec::plain(m.name.get_ref(), m.loaded));
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
            return Err(too_many(ctx, f.name.span(), "functions", MAX_FUNCS));
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
        let freezable = match &f.freezable {
            Some(fr) if *fr.get_ref() && f.sleeps == Sleeps::Never => {
                return Err(ctx.err(
                    fr.span(),
                    "functions.freezable",
                    format!("function '{}' is freezable but never sleeps", f.name.get_ref()),
                    Some("TASK_FREEZABLE marks a sleep: give the function `sleeps`, or drop `freezable`"),
                ))
            }
            Some(fr) => *fr.get_ref(),
            None => false,
        };
        funcs.push(FuncSpec {
            name: f.name.get_ref().clone(),
            module: module_ref(&f.object, "functions.object")?,
            calls,
            sleeps: f.sleeps,
            messages: FuncMessages { enter: f.enter_message.clone(), exit: f.exit_message.clone() },
            freezable,
            cond_resched: f.cond_resched,
            proc_file: None,
            output: String::new(),
            new_bodies: Vec::new(),
        });
    }
    proc::resolve_proc_files(ctx, &raw.functions, &mut funcs)?;
    let tasks = resolve_tasks(ctx, &raw.tasks, &func_ref)?;
    resolve_module_code(ctx, &raw.modules, &raw.functions, &mut modules, &funcs, &tasks, &func_ref)?;
    // Patches, objects, funcs.
    if raw.patches.is_empty() {
        return Err(ctx.err(
            0..0,
            "patches",
            "a scenario needs at least one livepatch: without one there is nothing to check".into(),
            Some("add a [[patches]] table with one [[patches.objects]]"),
        ));
    }
    let mut shadow = ShadowSpec::default();
    let (b, patch_by_name) =
        resolve_patches(ctx, &raw.patches, &mut funcs, &mod_by_name, &module_ref, &func_ref, &mut shadow)?;
    shadow.finish(&funcs, &b.objs, b.patches.len());
    let admin = resolve_admin(ctx, raw.admin.as_ref(), &patch_by_name, &module_ref, (&tasks, &funcs), (&b, &modules))?;
    let names = predicate::Names {
        patches: &patch_by_name,
        modules: &mod_by_name,
        funcs: &funcs,
        tasks: &tasks,
        task_groups: predicate::Names::groups(&raw, &tasks),
    };
    let user_properties = predicate::resolve_user_properties(ctx, &raw, &names)?;
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
        description: raw.description.clone().unwrap_or_default(),
        funcs,
        modules,
        tasks,
        patches: b.patches,
        objs: b.objs,
        klp_funcs: b.klp_funcs,
        admin,
        max_stack: max_stack as u8,
        shadow,
        variant: Variant::default(),
        mutations: crate::mutation::Mutations::NONE,
        user_properties,
    };
    if let Some((what, n, cap)) = spec.over_capacity() {
        let span = raw.patches.last().map_or(0..0, |p| p.name.span());
        return Err(ctx.err(
            span,
            "patches",
            format!("{n} {what}; at most {cap}"),
            Some("each has a slot in every state, of fixed size (model/src/ids.rs); split the scenario"),
        ));
    }
    let warnings = warn::warnings(ctx, &raw, &spec);
    Ok(Scenario { variant, spec, file: ctx.file.to_string(), warnings })
}

/// Resolves a function name (and the field it is in) to its id.
type FuncRef<'a> = dyn Fn(&Spanned<String>, &str) -> Result<FuncId, ScenarioError> + 'a;
/// Resolves an optional module name ("vmlinux" or none = the kernel) to its id.
type ModuleRef<'a> = dyn Fn(&Option<Spanned<String>>, &str) -> Result<Option<ModId>, ScenarioError> + 'a;

fn too_many(ctx: &Ctx, span: std::ops::Range<usize>, field: &str, max: usize) -> ScenarioError {
    ctx.err(
        span,
        field,
        format!("more than {max} {field}"),
        Some(&format!("at most {max}: each has a slot in every state, and the state space grows with every one")),
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
