//! `[[invariant]]` and `[[witness]]`: the user's own properties, a predicate written as nested
//! TOML tables, resolved to ids ([`crate::spec::Predicate`]). A predicate is one table: a
//! combinator (`all = [...]`, `any = [...]`, `not = {...}`) or an atom:
//!
//! | atom | true when |
//! |---|---|
//! | `{ patch = "lp1", state = "enabled" }` | the livepatch is in that state: unloaded, loaded, listed, enabled, disabled, transition, forced |
//! | `{ module = "m", loaded = true }` | the target or livepatch module is (not) loaded |
//! | `{ module = "m", state = "live" }` | the target module is unloaded, coming, live or going |
//! | `{ task = "cat", runs = "f", version = "lp1" }` | some task of that `[[tasks]]` entry has a frame of f on its stack, of that version ("original" or a patch; any if omitted; `task` omitted: any task) |
//! | `{ task = "cat", patch_state = "patched" }` | some such task has that `task->patch_state`: undefined, unpatched, patched |
//! | `{ task = "cat", pending = true }` | some such task has (not) TIF_PATCH_PENDING |
//! | `{ transition = "patching" }` | the transition in progress: none, any, patching, unpatching |
//!
//! A `task` names a `[[tasks]]` entry's `comm` and stands for all its copies (`count`) and their
//! fork children, "some of them": copies are interchangeable (the symmetry reduction permutes
//! them), so a predicate about one copy would not be well defined.

use super::raw::{RawScenario, RawUserProperty};
use super::{Ctx, ScenarioError};
use crate::hint::did_you_mean;
use crate::ids::*;
use crate::spec::*;
use crate::task::PatchState;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A predicate as written: exactly one combinator, or the keys of one atom.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPredicate {
    /// Every predicate of the list holds.
    #[schemars(with = "Option<Vec<RawPredicate>>")]
    all: Option<Vec<Spanned<RawPredicate>>>,
    /// Some predicate of the list holds.
    #[schemars(with = "Option<Vec<RawPredicate>>")]
    any: Option<Vec<Spanned<RawPredicate>>>,
    /// The predicate does not hold.
    #[schemars(with = "Option<RawPredicate>")]
    not: Option<Box<Spanned<RawPredicate>>>,
    /// Atom: a livepatch (a `[[patches]]` name), with `state`.
    #[schemars(with = "Option<String>")]
    patch: Option<Spanned<String>>,
    /// With `patch`: unloaded | loaded | listed (on klp_patches) | enabled (`patch->enabled`) |
    /// disabled (loaded, not enabled) | transition (it is `klp_transition_patch`) | forced.
    /// With a target `module`: unloaded | coming | live | going.
    #[schemars(with = "Option<String>")]
    state: Option<Spanned<String>>,
    /// Atom: a target module (a `[[modules]]` name) or a livepatch module (a `[[patches]]`
    /// name), with `loaded` (or, a target module, `state`).
    #[schemars(with = "Option<String>")]
    module: Option<Spanned<String>>,
    /// With `module`: the module is loaded (true) or not (false).
    #[schemars(with = "Option<bool>")]
    loaded: Option<Spanned<bool>>,
    /// Atom: a `[[tasks]]` entry's `comm`: some of its copies and their fork children, with
    /// `runs`, `patch_state` or `pending`.
    #[schemars(with = "Option<String>")]
    task: Option<Spanned<String>>,
    /// Atom: a function (a `[[functions]]` name) has a frame on the stack of the task (`task`;
    /// omitted: any task), of `version` if given.
    #[schemars(with = "Option<String>")]
    runs: Option<Spanned<String>>,
    /// With `runs`: "original", or the name of the patch whose new function the frame runs.
    #[schemars(with = "Option<String>")]
    version: Option<Spanned<String>>,
    /// With `task`: `task->patch_state` is undefined (-1, no transition) | unpatched | patched.
    #[schemars(with = "Option<String>")]
    patch_state: Option<Spanned<String>>,
    /// With `task`: TIF_PATCH_PENDING is set (true) or clear (false).
    #[schemars(with = "Option<bool>")]
    pending: Option<Spanned<bool>>,
    /// Atom: the transition in progress is none | any | patching | unpatching.
    #[schemars(with = "Option<String>")]
    transition: Option<Spanned<String>>,
}

const PATCH_STATES: &[&str] = &["unloaded", "loaded", "listed", "enabled", "disabled", "transition", "forced"];
const MODULE_STATES: &[&str] = &["unloaded", "coming", "live", "going"];
const TASK_STATES: &[&str] = &["undefined", "unpatched", "patched"];
const TRANSITIONS: &[&str] = &["none", "any", "patching", "unpatching"];
const HOW: &str = "a predicate is one of { all = [...] }, { any = [...] }, { not = {...} }, \
                   { patch, state }, { module, loaded | state }, { task, runs, version }, { task, patch_state }, \
                   { task, pending }, { transition } (docs/scenario.md)";

/// What the resolver needs to look names up.
pub(super) struct Names<'a> {
    pub patches: &'a BTreeMap<String, usize>,
    pub modules: &'a BTreeMap<String, usize>,
    pub funcs: &'a [FuncSpec],
    pub tasks: &'a [TaskSpec],
    /// The `[[tasks]]` comms in file order, each with its pids (copies and fork children).
    pub task_groups: Vec<(String, Vec<Pid>)>,
}

impl Names<'_> {
    /// Each `[[tasks]]` entry's comm with the pids of its copies and their children: a task
    /// slot belongs to the entry whose comm it equals, or extends with `-N` (a copy) or
    /// `.childN` (a child).
    pub(super) fn groups(raw: &RawScenario, tasks: &[TaskSpec]) -> Vec<(String, Vec<Pid>)> {
        raw.tasks
            .iter()
            .map(|t| {
                let comm = t.comm.get_ref();
                let of = |c: &str| {
                    let rest = c.strip_prefix(comm.as_str());
                    rest.is_some_and(|r| {
                        let r = r
                            .strip_prefix('-')
                            .map(|n| n.trim_start_matches(|c: char| c.is_ascii_digit()))
                            .unwrap_or(r);
                        r.is_empty() || r.starts_with(".child")
                    })
                };
                let pids = (0..tasks.len()).filter(|&i| of(&tasks[i].comm)).map(|i| i as Pid).collect();
                (comm.clone(), pids)
            })
            .collect()
    }
}

/// Resolves the `[[invariant]]` and `[[witness]]` tables.
pub(super) fn resolve_user_properties(
    ctx: &Ctx,
    raw: &RawScenario,
    names: &Names,
) -> Result<Vec<UserProperty>, ScenarioError> {
    let mut out: Vec<UserProperty> = Vec::new();
    let all = raw.invariant.iter().map(|p| (true, p)).chain(raw.witness.iter().map(|p| (false, p)));
    for (invariant, p) in all {
        let table = if invariant { "invariant" } else { "witness" };
        let name = p.name.get_ref();
        let well_formed = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(ctx.err(
                p.name.span(),
                &format!("{table}.name"),
                format!("'{name}' is not a property name"),
                Some("lowercase letters, digits and _, starting with a letter (e.g. \"lp2_loaded\")"),
            ));
        }
        if out.iter().any(|u| u.name == name) {
            return Err(ctx.err(
                p.name.span(),
                &format!("{table}.name"),
                format!("a user property named '{name}' is declared twice"),
                Some("give each [[invariant]] and [[witness]] its own name"),
            ));
        }
        if out.len() == MAX_USER_PROPERTIES {
            return Err(ctx.err(
                p.name.span(),
                &format!("{table}.name"),
                format!("more than {MAX_USER_PROPERTIES} user properties"),
                Some("split them over several runs of the scenario"),
            ));
        }
        let holds = predicate(ctx, &p.holds, &format!("{table}.holds"), names)?;
        out.push(UserProperty {
            name: Box::leak(name.clone().into_boxed_str()),
            invariant,
            statement: statement(ctx, p),
            at: super::line_col(ctx.src, p.name.span().start),
            holds,
        });
    }
    Ok(out)
}

/// The user's description, or the predicate's text as written.
fn statement(ctx: &Ctx, p: &RawUserProperty) -> String {
    if let Some(d) = &p.description {
        return d.clone();
    }
    let text = ctx.src.get(p.holds.span()).unwrap_or("");
    let text: Vec<&str> = text.split_whitespace().collect();
    format!("holds = {}", text.join(" "))
}

fn one_of(ctx: &Ctx, s: &Spanned<String>, field: &str, what: &str, valid: &[&str]) -> Result<usize, ScenarioError> {
    valid.iter().position(|v| v == s.get_ref()).ok_or_else(|| {
        let hint = did_you_mean(s.get_ref(), valid.iter()).unwrap_or_else(|| format!("one of: {}", valid.join(", ")));
        ctx.err(s.span(), field, format!("'{}' is not a {what}", s.get_ref()), Some(&hint))
    })
}

fn unknown(ctx: &Ctx, s: &Spanned<String>, field: &str, what: &str, known: Vec<&String>) -> ScenarioError {
    let hint = did_you_mean(s.get_ref(), known.iter().copied()).unwrap_or_else(|| {
        format!("the scenario's {what}s: {}", known.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
    });
    ctx.err(s.span(), field, format!("unknown {what} '{}'", s.get_ref()), Some(&hint))
}

fn predicate(ctx: &Ctx, p: &Spanned<RawPredicate>, field: &str, names: &Names) -> Result<Predicate, ScenarioError> {
    let r = p.get_ref();
    // Which keys are given, in the order the table has them, for the shape check.
    let given: Vec<(&str, std::ops::Range<usize>)> = [
        ("all", r.all.as_ref().map(|_| p.span())),
        ("any", r.any.as_ref().map(|_| p.span())),
        ("not", r.not.as_ref().map(|n| n.span())),
        ("patch", r.patch.as_ref().map(|s| s.span())),
        ("state", r.state.as_ref().map(|s| s.span())),
        ("module", r.module.as_ref().map(|s| s.span())),
        ("loaded", r.loaded.as_ref().map(|s| s.span())),
        ("task", r.task.as_ref().map(|s| s.span())),
        ("runs", r.runs.as_ref().map(|s| s.span())),
        ("version", r.version.as_ref().map(|s| s.span())),
        ("patch_state", r.patch_state.as_ref().map(|s| s.span())),
        ("pending", r.pending.as_ref().map(|s| s.span())),
        ("transition", r.transition.as_ref().map(|s| s.span())),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    let keys: Vec<&str> = given.iter().map(|g| g.0).collect();
    let shape = |allowed: &[&str]| -> Result<(), ScenarioError> {
        if let Some((k, span)) = given.iter().find(|(k, _)| !allowed.contains(k)) {
            return Err(ctx.err(
                span.clone(),
                &format!("{field}.{k}"),
                format!("`{k}` does not go with `{}` in one predicate", allowed[0]),
                Some(HOW),
            ));
        }
        Ok(())
    };
    let list = |l: &[Spanned<RawPredicate>], k: &str| -> Result<Vec<Predicate>, ScenarioError> {
        if l.is_empty() {
            return Err(ctx.err(p.span(), &format!("{field}.{k}"), format!("`{k}` of no predicate"), Some(HOW)));
        }
        l.iter().map(|q| predicate(ctx, q, &format!("{field}.{k}"), names)).collect()
    };
    if let Some(l) = &r.all {
        shape(&["all"])?;
        return Ok(Predicate::All(list(l, "all")?));
    }
    if let Some(l) = &r.any {
        shape(&["any"])?;
        return Ok(Predicate::Any(list(l, "any")?));
    }
    if let Some(n) = &r.not {
        shape(&["not"])?;
        return Ok(Predicate::Not(Box::new(predicate(ctx, n, &format!("{field}.not"), names)?)));
    }
    let need = |k: &str, v: Option<&Spanned<String>>, with: &str| {
        v.cloned().ok_or_else(|| ctx.err(p.span(), &format!("{field}.{k}"), format!("`{with}` needs `{k}`"), Some(HOW)))
    };
    if let Some(patch) = &r.patch {
        shape(&["patch", "state"])?;
        let &id = names
            .patches
            .get(patch.get_ref())
            .ok_or_else(|| unknown(ctx, patch, &format!("{field}.patch"), "patch", names.patches.keys().collect()))?;
        let state = need("state", r.state.as_ref(), "patch")?;
        let is = [
            PatchIs::Unloaded,
            PatchIs::Loaded,
            PatchIs::Listed,
            PatchIs::Enabled,
            PatchIs::Disabled,
            PatchIs::Transition,
            PatchIs::Forced,
        ][one_of(ctx, &state, &format!("{field}.state"), "patch state", PATCH_STATES)?];
        return Ok(Predicate::Patch(id as PatchId, is));
    }
    if let Some(module) = &r.module {
        shape(&["module", "loaded", "state"])?;
        if let Some(&p_id) = names.patches.get(module.get_ref()) {
            let Some(loaded) = &r.loaded else {
                return Err(ctx.err(
                    module.span(),
                    &format!("{field}.loaded"),
                    format!("'{}' is a livepatch module: only `loaded` applies", module.get_ref()),
                    Some("{ module = \"lp2\", loaded = true }, or { patch = \"lp2\", state = \"enabled\" }"),
                ));
            };
            return Ok(Predicate::LivepatchModule(p_id as PatchId, *loaded.get_ref()));
        }
        let &m = names.modules.get(module.get_ref()).ok_or_else(|| {
            let known: Vec<&String> = names.modules.keys().chain(names.patches.keys()).collect();
            unknown(ctx, module, &format!("{field}.module"), "module", known)
        })?;
        let is = match (&r.loaded, &r.state) {
            (Some(l), None) => {
                if *l.get_ref() {
                    ModuleIs::Loaded
                } else {
                    ModuleIs::Unloaded
                }
            }
            (None, Some(s)) => [ModuleIs::Unloaded, ModuleIs::Coming, ModuleIs::Live, ModuleIs::Going]
                [one_of(ctx, s, &format!("{field}.state"), "module state", MODULE_STATES)?],
            _ => {
                return Err(ctx.err(
                    module.span(),
                    &format!("{field}.module"),
                    "a module predicate takes `loaded` or `state`, one of them".into(),
                    Some("{ module = \"m\", loaded = true } or { module = \"m\", state = \"live\" }"),
                ))
            }
        };
        return Ok(Predicate::Module(m as ModId, is));
    }
    if r.task.is_some() || r.runs.is_some() {
        let tasks: Vec<Pid> = match &r.task {
            None => (0..names.tasks.len() as Pid).collect(),
            Some(t) => {
                names.task_groups.iter().find(|g| g.0 == *t.get_ref()).map(|g| g.1.clone()).ok_or_else(|| {
                    let comms: Vec<&String> = names.task_groups.iter().map(|g| &g.0).collect();
                    let mut e = unknown(ctx, t, &format!("{field}.task"), "task", comms);
                    if names.tasks.iter().any(|s| s.comm == *t.get_ref()) {
                        e.message = format!("'{}' is one copy of a [[tasks]] entry", t.get_ref());
                        e.hint =
                            Some("name the [[tasks]] entry's comm: a predicate is about some of its copies".into());
                    }
                    e
                })?
            }
        };
        if let Some(f) = &r.runs {
            shape(&["runs", "task", "version"])?;
            let func = names.funcs.iter().position(|x| x.name == *f.get_ref()).ok_or_else(|| {
                unknown(ctx, f, &format!("{field}.runs"), "function", names.funcs.iter().map(|x| &x.name).collect())
            })? as FuncId;
            let version = match &r.version {
                None => None,
                Some(v) if v.get_ref() == "original" => Some(Version::ORIGINAL),
                Some(v) => Some(Version::of_patch(*names.patches.get(v.get_ref()).ok_or_else(|| {
                    let mut known: Vec<&String> = names.patches.keys().collect();
                    let original = "original".to_string();
                    known.push(&original);
                    unknown(ctx, v, &format!("{field}.version"), "version", known)
                })? as PatchId)),
            };
            return Ok(Predicate::Runs { tasks, func, version });
        }
        if let Some(s) = &r.patch_state {
            shape(&["task", "patch_state"])?;
            let state = [PatchState::Idle, PatchState::Unpatched, PatchState::Patched]
                [one_of(ctx, s, &format!("{field}.patch_state"), "task patch_state", TASK_STATES)?];
            return Ok(Predicate::TaskPatchState { tasks, state });
        }
        if let Some(b) = &r.pending {
            shape(&["task", "pending"])?;
            return Ok(Predicate::TaskPending { tasks, pending: *b.get_ref() });
        }
        return Err(ctx.err(
            p.span(),
            &format!("{field}.task"),
            "`task` needs `runs`, `patch_state` or `pending`".into(),
            Some("{ task = \"cat\", runs = \"vfs_read\", version = \"lp1\" }"),
        ));
    }
    if let Some(t) = &r.transition {
        shape(&["transition"])?;
        let is = [TransitionIs::None, TransitionIs::Any, TransitionIs::Patching, TransitionIs::Unpatching]
            [one_of(ctx, t, &format!("{field}.transition"), "transition", TRANSITIONS)?];
        return Ok(Predicate::Transition(is));
    }
    let what =
        if keys.is_empty() { "an empty predicate".to_string() } else { format!("`{}` alone", keys.join("`, `")) };
    Err(ctx.err(p.span(), field, format!("{what} says nothing"), Some(HOW)))
}
