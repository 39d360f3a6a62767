//! What a reader of a trace sees of a state: per task `patch_state`, `TIF_PATCH_PENDING`, where
//! it is and its stack (each frame with the version it runs), the transition globals
//! (`klp_transition_patch`, `klp_target_state`, the running `klp_try_complete_transition()`
//! pass), the top of every `func_stack`, and the life of every patch and target module.
//!
//! A [`View`] is a flat list of [`Entry`]s in a fixed order (globals, tasks, functions, patches,
//! modules); a step's record holds the [`Change`]s between the views before and after it, so the
//! JSON is self-contained: the timeline and the picture are rebuilt from the initial view and
//! the changes, without the scenario file.

use klp_model::ids::{FuncId, Version};
use klp_model::state::{ModState, PatchLife};
use klp_model::task::{Context, PatchState};
use klp_model::{KlpSystem, Spec, State};
use serde::{Deserialize, Serialize};

/// Which part of the system an entry describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The globals of kernel/livepatch/transition.c (`name` is empty).
    Global,
    /// A task, named by its `comm`.
    Task,
    /// A patched kernel function (its `klp_ops->func_stack`), named by the function.
    Func,
    /// A livepatch (`struct klp_patch` and its module), named by the module.
    Patch,
    /// A target module, named by the module.
    Module,
}

/// One value of a view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub scope: Scope,
    pub name: String,
    pub field: String,
    pub value: String,
}

/// One value a step changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub scope: Scope,
    pub name: String,
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Field names, as they appear in the JSON.
pub mod field {
    pub const TRANSITION_PATCH: &str = "klp_transition_patch";
    pub const TARGET_STATE: &str = "klp_target_state";
    pub const PASS: &str = "klp_try_complete_transition";
    /// Only in a scenario with shadow variables: the `<obj, id>` pairs in `klp_shadow_hash`.
    pub const SHADOW: &str = "klp_shadow_hash";
    pub const PATCH_STATE: &str = "patch_state";
    pub const TIF: &str = "TIF_PATCH_PENDING";
    pub const CONTEXT: &str = "context";
    pub const STACK: &str = "stack";
    pub const FUNC_STACK: &str = "func_stack";
    pub const PATCH: &str = "state";
    pub const MODULE: &str = "state";
}

/// A state as the reader sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct View(pub Vec<Entry>);

impl View {
    /// The value of one entry ("" if there is none).
    pub fn get(&self, scope: Scope, name: &str, field: &str) -> &str {
        self.0
            .iter()
            .find(|e| e.scope == scope && e.name == name && e.field == field)
            .map(|e| e.value.as_str())
            .unwrap_or("")
    }

    /// Names of the entries of one scope, in view order, without repeats.
    pub fn names(&self, scope: Scope) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for e in self.0.iter().filter(|e| e.scope == scope) {
            if !v.contains(&e.name.as_str()) {
                v.push(&e.name);
            }
        }
        v
    }

    /// What differs from `before` to `self` (both views of the same scenario).
    pub fn changes_from(&self, before: &View) -> Vec<Change> {
        self.0
            .iter()
            .zip(&before.0)
            .filter(|(a, b)| a.value != b.value)
            .map(|(a, b)| Change {
                scope: a.scope,
                name: a.name.clone(),
                field: a.field.clone(),
                from: b.value.clone(),
                to: a.value.clone(),
            })
            .collect()
    }

    /// Applies a step's changes (the way the renderings rebuild each row from the JSON).
    pub fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            if let Some(e) = self.0.iter_mut().find(|e| e.scope == c.scope && e.name == c.name && e.field == c.field) {
                e.value = c.to.clone();
            }
        }
    }
}

/// `@orig` for the original code (a nop runs it too), `@lp1` for patch lp1's function.
pub fn version_tag(spec: &Spec, v: Version) -> String {
    match v.patch() {
        None => "orig".into(),
        Some(p) => spec.patches[p as usize].name.clone(),
    }
}

/// A frame as the renderings print it: `vfs_read@orig`.
pub fn frame_name(spec: &Spec, f: FuncId, v: Version) -> String {
    format!("{}@{}", spec.funcs[f as usize].name, version_tag(spec, v))
}

/// `-1`, `0`, `1`, the numbers `/proc/<pid>/patch_state` prints.
pub fn patch_state(ps: PatchState) -> String {
    ps.as_i8().to_string()
}

pub(crate) fn context(c: Context) -> &'static str {
    match c {
        Context::Unborn => "unborn",
        Context::Forking => "forking",
        Context::Forked => "forked",
        Context::User => "user",
        Context::Running => "running",
        Context::Sleeping => "sleeping",
        Context::Offline => "offline",
        Context::Preempted => "preempted",
    }
}

pub(crate) fn patch_life(st: &State, p: usize) -> String {
    let r = &st.patches[p];
    let life = match r.life {
        PatchLife::Unloaded => "unloaded",
        PatchLife::Listed if r.enabled => "enabled",
        PatchLife::Listed => "disabled",
        PatchLife::Freeing => "freeing",
        PatchLife::Freed => "freed",
    };
    if r.forced {
        format!("{life} forced")
    } else {
        life.into()
    }
}

pub(crate) fn module_state(st: &State, m: usize) -> String {
    let r = &st.mods[m];
    let s = match r.state {
        ModState::Unloaded => "unloaded",
        ModState::Formed => "formed",
        ModState::KlpWait => "klp_wait",
        ModState::Coming => "coming",
        ModState::Live => "live",
        ModState::Exiting => "exiting",
        ModState::Going => "going",
        ModState::NotifierFailed => "notifier_failed",
        ModState::Gone => "gone",
    };
    if r.klp_alive {
        format!("{s} klp_alive")
    } else {
        s.into()
    }
}

/// What a split of the ordering knobs (klp_model::state::Split) leaves pending, for the pass column.
fn split_text(s: klp_model::state::Split) -> String {
    use klp_model::state::Split;
    match s {
        Split::ReverseFlipped => "reverse: target flipped, TIF not yet cleared".into(),
        Split::DisableInitialised => "disable: patch_state writes not yet seen".into(),
        Split::TransitionUnseen => "func->transition writes not yet seen".into(),
        Split::TargetUnseen(old) => format!("tasks still read target {}", patch_state(old)),
    }
}

/// The view of a state.
pub fn snapshot(model: &KlpSystem, st: &State) -> View {
    let spec = &*model.spec;
    let mut v = Vec::new();
    let mut push = |scope: Scope, name: &str, field: &str, value: String| {
        v.push(Entry { scope, name: name.to_string(), field: field.to_string(), value });
    };
    let tp = st.klp_transition_patch.map(|p| spec.patches[p as usize].name.clone()).unwrap_or_else(|| "NULL".into());
    push(Scope::Global, "", field::TRANSITION_PATCH, tp);
    push(Scope::Global, "", field::TARGET_STATE, patch_state(st.klp_target_state));
    let pass = match st.pass {
        // A split klp_mutex step or stores another CPU does not see yet (ordering knobs).
        None => st.split.map(split_text).unwrap_or_else(|| "-".to_string()),
        Some(p) => match spec.tasks.get(p.next as usize) {
            Some(t) => format!("next {}", t.comm),
            None => "end of task list".into(),
        },
    };
    push(Scope::Global, "", field::PASS, pass);
    if !spec.shadow.vars.is_empty() {
        let vars: Vec<String> = (spec.shadow.vars.iter().enumerate())
            .filter(|(i, _)| st.klp_shadow_hash & (1 << i) != 0)
            .map(|(_, v)| format!("<{}, {:#x}>", v.obj, v.id))
            .collect();
        push(Scope::Global, "", field::SHADOW, if vars.is_empty() { "-".into() } else { vars.join(" ") });
    }
    for (pid, t) in st.tasks.iter().enumerate() {
        let comm = &spec.tasks[pid].comm;
        push(Scope::Task, comm, field::PATCH_STATE, patch_state(t.patch_state));
        push(Scope::Task, comm, field::TIF, u8::from(t.tif_patch_pending).to_string());
        let where_ = if t.self_switch.is_some() { "self switch" } else { context(t.context) };
        push(Scope::Task, comm, field::CONTEXT, where_.into());
        let stack: Vec<String> = t.stack.iter().map(|fr| frame_name(spec, fr.func, fr.version)).collect();
        push(Scope::Task, comm, field::STACK, if stack.is_empty() { "-".into() } else { stack.join(" > ") });
    }
    for (f, fs) in spec.funcs.iter().enumerate() {
        if !spec.is_patchable(f as FuncId) {
            continue;
        }
        let stack = &st.func_stacks[f];
        let value = match stack.last() {
            None => "-".to_string(),
            Some(&top) => {
                let names: Vec<String> = stack
                    .iter()
                    .rev()
                    .map(|&k| {
                        let kf = &spec.klp_funcs[k as usize];
                        let p = &spec.patches[kf.patch as usize].name;
                        if kf.nop {
                            format!("{p}(nop)")
                        } else {
                            p.clone()
                        }
                    })
                    .collect();
                let tr = if st.funcs[top as usize].transition { " (transition)" } else { "" };
                format!("{}{tr}", names.join(", "))
            }
        };
        push(Scope::Func, &fs.name, field::FUNC_STACK, value);
    }
    for (p, ps) in spec.patches.iter().enumerate() {
        push(Scope::Patch, &ps.name, field::PATCH, patch_life(st, p));
    }
    for (m, ms) in spec.modules.iter().enumerate() {
        push(Scope::Module, &ms.name, field::MODULE, module_state(st, m));
    }
    View(v)
}
