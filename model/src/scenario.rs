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
use crate::variant::Variant;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: Option<String>,
    #[serde(default)]
    functions: Vec<RawFunc>,
    #[serde(default)]
    modules: Vec<RawModule>,
    #[serde(default)]
    tasks: Vec<RawTask>,
    #[serde(default)]
    patches: Vec<RawPatch>,
    admin: Option<RawAdmin>,
    #[serde(default)]
    bounds: RawBounds,
    #[serde(default)]
    variant: Variant,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunc {
    name: Spanned<String>,
    /// "vmlinux" (default) or the name of a target module.
    object: Option<Spanned<String>>,
    #[serde(default)]
    calls: Vec<Spanned<String>>,
    #[serde(default)]
    sleeps: Sleeps,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    name: Spanned<String>,
    #[serde(default)]
    loaded: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    comm: Spanned<String>,
    #[serde(default = "default_kind")]
    kind: crate::task::TaskKind,
    #[serde(default = "one")]
    count: Spanned<u32>,
    /// Functions the task calls from user mode (a syscall) or from its main loop (kthread, idle).
    #[serde(default)]
    entry: Vec<Spanned<String>>,
    /// How many children each such task may fork (`klp_copy_process()`).
    #[serde(default = "zero")]
    forks: Spanned<u32>,
}

fn default_kind() -> crate::task::TaskKind {
    crate::task::TaskKind::User
}
fn zero() -> Spanned<u32> {
    Spanned::new(0..0, 0)
}
fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatch {
    name: Spanned<String>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    states: Vec<RawState>,
    /// v4.12..v4.15 `patch->immediate` (see `Variant::immediate`).
    #[serde(default)]
    immediate: bool,
    #[serde(default)]
    objects: Vec<RawObject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    id: u32,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    /// "vmlinux" (default) or a target module's name.
    name: Option<Spanned<String>>,
    funcs: Vec<Spanned<String>>,
    #[serde(default)]
    callbacks: RawCallbacks,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCallbacks {
    /// Return value of the pre_patch callback: 0 or a negative errno.
    pre_patch: Option<Spanned<i32>>,
    #[serde(default)]
    post_patch: bool,
    #[serde(default)]
    pre_unpatch: bool,
    #[serde(default)]
    post_unpatch: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    order: AdminOrder,
    #[serde(default)]
    ops: Vec<RawOp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOp {
    op: Spanned<String>,
    patch: Option<Spanned<String>>,
    module: Option<Spanned<String>>,
    /// "any" order: how many times the command may run (default 1).
    max: Option<Spanned<u32>>,
    /// "script" order: wait as the selftest helper does before the next command.
    wait: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBounds {
    #[serde(default = "default_max_stack")]
    max_stack: Spanned<u32>,
}

impl Default for RawBounds {
    fn default() -> Self {
        RawBounds { max_stack: default_max_stack() }
    }
}
fn default_max_stack() -> Spanned<u32> {
    Spanned::new(0..0, 2)
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

pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Spec, ScenarioError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        column: 0,
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    parse(&name, &file, &src)
}

/// Parses scenario text; `file` is only used in error messages.
pub fn parse(name: &str, file: &str, src: &str) -> Result<Spec, ScenarioError> {
    let ctx = Ctx { file, src };
    let raw: RawScenario = toml::from_str(src).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().to_string();
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
            .unwrap_or("(syntax)")
            .to_string();
        ctx.err(span, &field, msg, Some("see the scenario format in README.md"))
    })?;
    resolve(name, &ctx, raw)
}

fn resolve(name: &str, ctx: &Ctx, raw: RawScenario) -> Result<Spec, ScenarioError> {
    if raw.tasks.is_empty() {
        return Err(ctx.err(0..0, "tasks", "a scenario needs at least one task".into(), Some("add a [[tasks]] table")));
    }
    // Modules.
    let mut modules = Vec::new();
    let mut mod_by_name = BTreeMap::new();
    for m in &raw.modules {
        if m.name.get_ref() == "vmlinux" || mod_by_name.insert(m.name.get_ref().clone(), modules.len()).is_some() {
            return Err(ctx.err(
                m.name.span(),
                "modules.name",
                format!("duplicate or reserved module name '{}'", m.name.get_ref()),
                None,
            ));
        }
        modules.push(ModuleSpec { name: m.name.get_ref().clone(), loaded: m.loaded });
    }
    if modules.len() > MAX_MODULES {
        return Err(ctx.err(0..0, "modules", format!("{} modules; at most {MAX_MODULES}", modules.len()), None));
    }
    let module_ref = |s: &Option<Spanned<String>>, field: &str| -> Result<Option<ModId>, ScenarioError> {
        match s {
            None => Ok(None),
            Some(n) if n.get_ref() == "vmlinux" => Ok(None),
            Some(n) => mod_by_name.get(n.get_ref()).map(|&i| Some(i as ModId)).ok_or_else(|| {
                ctx.err(
                    n.span(),
                    field,
                    format!("unknown module '{}'", n.get_ref()),
                    Some("declare it in a [[modules]] table, or use \"vmlinux\""),
                )
            }),
        }
    };
    // Functions.
    let mut func_by_name = BTreeMap::new();
    for (i, f) in raw.functions.iter().enumerate() {
        if func_by_name.insert(f.name.get_ref().clone(), i).is_some() {
            return Err(ctx.err(
                f.name.span(),
                "functions.name",
                format!("duplicate function '{}'", f.name.get_ref()),
                None,
            ));
        }
    }
    if raw.functions.len() > MAX_FUNCS {
        return Err(ctx.err(
            0..0,
            "functions",
            format!("{} functions; at most {MAX_FUNCS}", raw.functions.len()),
            None,
        ));
    }
    let func_ref = |s: &Spanned<String>, field: &str| -> Result<FuncId, ScenarioError> {
        func_by_name.get(s.get_ref()).map(|&i| i as FuncId).ok_or_else(|| {
            let hint = did_you_mean(s.get_ref(), func_by_name.keys());
            ctx.err(s.span(), field, format!("unknown function '{}'", s.get_ref()), hint.as_deref())
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
        });
    }
    // Tasks: threads first (the order of the task list), then idle tasks.
    let mut tasks = Vec::new();
    let mut idle = Vec::new();
    for t in &raw.tasks {
        let count = *t.count.get_ref();
        if count == 0 || count as usize > MAX_TASKS {
            return Err(ctx.err(t.count.span(), "tasks.count", format!("count {count} must be 1..={MAX_TASKS}"), None));
        }
        let entry = t.entry.iter().map(|e| func_ref(e, "tasks.entry")).collect::<Result<Vec<_>, _>>()?;
        let forks = *t.forks.get_ref();
        if forks > 0 && t.kind != crate::task::TaskKind::User {
            return Err(ctx.err(t.forks.span(), "tasks.forks", "only user tasks fork in this model".into(), None));
        }
        for i in 0..count {
            let comm = if count > 1 { format!("{}-{i}", t.comm.get_ref()) } else { t.comm.get_ref().clone() };
            let spec = TaskSpec { comm: comm.clone(), kind: t.kind, entry: entry.clone(), parent: None };
            let list = if t.kind == crate::task::TaskKind::Idle { &mut idle } else { &mut tasks };
            let parent = list.len();
            list.push(spec);
            for c in 0..forks {
                list.push(TaskSpec {
                    comm: format!("{comm}.child{c}"),
                    kind: t.kind,
                    entry: entry.clone(),
                    parent: Some(parent as Pid),
                });
            }
        }
    }
    let nthreads = tasks.len();
    for t in &mut idle {
        t.parent = t.parent.map(|p| p + nthreads as Pid);
    }
    tasks.extend(idle);
    if tasks.len() > MAX_TASKS {
        return Err(ctx.err(
            0..0,
            "tasks",
            format!("{} tasks (after count and forks); at most {MAX_TASKS}", tasks.len()),
            None,
        ));
    }
    // Patches, objects, funcs.
    let mut b = PatchBuilder::default();
    let mut patch_by_name = BTreeMap::new();
    for p in &raw.patches {
        if patch_by_name.insert(p.name.get_ref().clone(), b.patches.len()).is_some()
            || mod_by_name.contains_key(p.name.get_ref())
        {
            return Err(ctx.err(
                p.name.span(),
                "patches.name",
                format!("duplicate name '{}'", p.name.get_ref()),
                Some("patch and module names share one namespace (they are all modules)"),
            ));
        }
        let mut objs = Vec::new();
        for o in &p.objects {
            let module = module_ref(&o.name, "patches.objects.name")?;
            if objs.iter().any(|(m, _, _)| *m == module) {
                let span = o.name.as_ref().map(|n| n.span()).unwrap_or(p.name.span());
                return Err(ctx.err(
                    span,
                    "patches.objects.name",
                    "two objects for the same module in one patch".into(),
                    None,
                ));
            }
            let mut fs = Vec::new();
            for f in &o.funcs {
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
                        None,
                    ));
                }
                fs.push(id);
            }
            // An empty list is fine: klp_init_patch_early() only needs `obj->funcs != NULL`
            // (the selftests' callback demo objects patch nothing).
            let pre_patch = match &o.callbacks.pre_patch {
                Some(r) if *r.get_ref() > 0 || *r.get_ref() < -4095 => {
                    return Err(ctx.err(
                        r.span(),
                        "patches.objects.callbacks.pre_patch",
                        format!("{} is not 0 or a negative errno", r.get_ref()),
                        None,
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
                None,
            ));
        }
        let mut ids = BTreeMap::new();
        for s in &p.states {
            if ids.insert(s.id, s.version).is_some() {
                return Err(ctx.err(p.name.span(), "patches.states", format!("state id {} listed twice", s.id), None));
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
    }
    if b.patches.len() > MAX_PATCHES {
        return Err(ctx.err(0..0, "patches", format!("{} patches; at most {MAX_PATCHES}", b.patches.len()), None));
    }
    b.add_nops(&funcs);
    if b.klp_funcs.len() > u8::MAX as usize || b.objs.len() > u8::MAX as usize {
        return Err(ctx.err(0..0, "patches", "too many klp_func slots".into(), None));
    }
    // Admin commands.
    let admin = match raw.admin {
        None => Admin { order: AdminOrder::Any, ops: vec![] },
        Some(a) => {
            if a.ops.len() > MAX_OPS {
                return Err(ctx.err(0..0, "admin.ops", format!("{} commands; at most {MAX_OPS}", a.ops.len()), None));
            }
            let mut ops = Vec::new();
            for o in &a.ops {
                let patch = match &o.patch {
                    None => None,
                    Some(n) => Some(*patch_by_name.get(n.get_ref()).ok_or_else(|| {
                        ctx.err(
                            n.span(),
                            "admin.ops.patch",
                            format!("unknown patch '{}'", n.get_ref()),
                            did_you_mean(n.get_ref(), patch_by_name.keys()).as_deref(),
                        )
                    })? as PatchId),
                };
                let module = match &o.module {
                    None => None,
                    Some(n) => module_ref(&Some(n.clone()), "admin.ops.module")?,
                };
                let need_one = |ok: bool| {
                    if ok {
                        Ok(())
                    } else {
                        Err(ctx.err(
                            o.op.span(),
                            "admin.ops",
                            format!("'{}' needs exactly one of patch or module", o.op.get_ref()),
                            None,
                        ))
                    }
                };
                let op = match (o.op.get_ref().as_str(), patch, module) {
                    ("insmod", Some(p), None) => AdminOp::InsmodPatch(p),
                    ("insmod", None, Some(m)) => AdminOp::InsmodModule(m),
                    ("rmmod", Some(p), None) => AdminOp::RmmodPatch(p),
                    ("rmmod", None, Some(m)) => AdminOp::RmmodModule(m),
                    ("disable", Some(p), None) => AdminOp::Disable(p),
                    ("enable", Some(p), None) => AdminOp::Enable(p),
                    ("force", Some(p), None) => AdminOp::Force(p),
                    ("insmod" | "rmmod" | "disable" | "enable" | "force", _, _) => {
                        need_one(false)?;
                        unreachable!()
                    }
                    (other, _, _) => {
                        let known = ["insmod", "rmmod", "disable", "enable", "force"];
                        return Err(ctx.err(
                            o.op.span(),
                            "admin.ops.op",
                            format!("unknown command '{other}'"),
                            did_you_mean(other, known.iter()).as_deref(),
                        ));
                    }
                };
                let max = match &o.max {
                    None => 1,
                    Some(m) if *m.get_ref() == 0 || *m.get_ref() > MAX_OP_REPEAT => {
                        return Err(ctx.err(
                            m.span(),
                            "admin.ops.max",
                            format!("max {} must be 1..={MAX_OP_REPEAT}", m.get_ref()),
                            None,
                        ))
                    }
                    Some(m) => *m.get_ref() as u8,
                };
                if a.order == AdminOrder::Script && o.max.is_some() {
                    return Err(ctx.err(
                        o.op.span(),
                        "admin.ops.max",
                        "max only applies to order = \"any\"; repeat the command in the script instead".into(),
                        None,
                    ));
                }
                ops.push(OpSpec { op, max, wait: o.wait.unwrap_or(true) });
            }
            Admin { order: a.order, ops }
        }
    };
    let max_stack = *raw.bounds.max_stack.get_ref();
    if max_stack == 0 || max_stack > MAX_STACK {
        return Err(ctx.err(
            raw.bounds.max_stack.span(),
            "bounds.max_stack",
            format!("{max_stack} must be 1..={MAX_STACK}"),
            None,
        ));
    }
    let mut spec = Spec {
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
    spec.set_variant(raw.variant).map_err(|e| ctx.err(0..0, "variant", e, None))?;
    Ok(spec)
}
