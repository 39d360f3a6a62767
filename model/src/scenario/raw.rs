//! The scenario file as serde reads it (names unresolved, spans kept for error messages).

use crate::spec::{AdminOrder, InitWaits, Sleeps};
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) functions: Vec<RawFunc>,
    #[serde(default)]
    pub(super) modules: Vec<RawModule>,
    #[serde(default)]
    pub(super) tasks: Vec<RawTask>,
    #[serde(default)]
    pub(super) patches: Vec<RawPatch>,
    pub(super) admin: Option<RawAdmin>,
    #[serde(default)]
    pub(super) bounds: RawBounds,
    #[serde(default)]
    /// Knob assignments, read like preset files ([`crate::variant::read_knobs`]).
    pub(super) variant: crate::variant::KnobTable,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunc {
    pub(super) name: Spanned<String>,
    /// "vmlinux" (default) or the name of a target module.
    pub(super) object: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) calls: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sleeps: Sleeps,
    /// What the original prints on entry (`pr_info()`; the module's name is prefixed).
    pub(super) enter_message: Option<String>,
    /// What the original prints just before it returns.
    pub(super) exit_message: Option<String>,
    /// The sleep sets `TASK_FREEZABLE` (only with `sleeps`).
    pub(super) freezable: Option<Spanned<bool>>,
    /// The function has a `cond_resched()` point.
    #[serde(default)]
    pub(super) cond_resched: bool,
    /// The /proc file whose seq_file show function this is ("/proc/cmdline").
    pub(super) proc: Option<Spanned<String>>,
    /// What the original writes to the seq_file (only with `proc`).
    pub(super) output: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModule {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) loaded: bool,
    /// What `mod->init` returns (0 or a negative errno: the load fails in `do_init_module()`).
    pub(super) init_ret: Option<Spanned<i32>>,
    /// What the `MODULE_STATE_COMING` notifier chain returns after `klp_module_coming()` (0 or
    /// a negative errno: `prepare_coming_module()` fails).
    pub(super) coming_notifier_ret: Option<Spanned<i32>>,
    /// The module's work item (a function of the module, in a kthread's `entry`).
    pub(super) work: Option<Spanned<String>>,
    /// What `mod->init` waits for: "work_started" or "work_done".
    pub(super) init_waits: Option<Spanned<InitWaits>>,
    pub(super) init_message: Option<String>,
    pub(super) exit_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTask {
    pub(super) comm: Spanned<String>,
    #[serde(default = "default_kind")]
    pub(super) kind: crate::task::TaskKind,
    #[serde(default = "one")]
    pub(super) count: Spanned<u32>,
    /// Functions the task calls from user mode (a syscall) or from its main loop (kthread, idle).
    #[serde(default)]
    pub(super) entry: Vec<Spanned<String>>,
    /// How many children each such task may fork (`klp_copy_process()`).
    #[serde(default = "zero")]
    pub(super) forks: Spanned<u32>,
    /// Idle tasks only: whether the task's CPU is online at boot (default true).
    pub(super) online: Option<Spanned<bool>>,
    /// A kthread's main-loop wait for work (default "interruptible"; "never": CPU-bound).
    pub(super) sleeps: Option<Spanned<Sleeps>>,
    /// A kthread's main-loop wait is `TASK_FREEZABLE` (`set_freezable()`, `wait_event_freezable()`).
    pub(super) freezable: Option<Spanned<bool>>,
    /// A kthread's main loop has a `cond_resched()` point.
    pub(super) cond_resched: Option<Spanned<bool>>,
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
pub(super) struct RawPatch {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) replace: bool,
    #[serde(default)]
    pub(super) states: Vec<RawState>,
    /// v4.12..v4.15 `patch->immediate` (see `Variant::immediate`).
    #[serde(default)]
    pub(super) immediate: bool,
    /// The ids whose shadow variables the livepatch module's exit frees
    /// (`klp_shadow_free_all()` in `module_exit()`, as livepatch-shadow-fix1.c does).
    pub(super) exit_shadow_free_all: Option<Spanned<Vec<u64>>>,
    #[serde(default)]
    pub(super) objects: Vec<RawObject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) id: u32,
    pub(super) version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    /// "vmlinux" (default) or a target module's name.
    pub(super) name: Option<Spanned<String>>,
    pub(super) funcs: Vec<Spanned<RawKlpFunc>>,
    #[serde(default)]
    pub(super) callbacks: RawCallbacks,
    /// Per callback, the ids whose shadow variables it frees (`klp_shadow_free_all()`).
    pub(super) shadow_free_all: Option<RawShadowFreeAll>,
}

/// `shadow_free_all = { post_unpatch = [1] }`: the callback calls `klp_shadow_free_all(id)`
/// for each id, in order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShadowFreeAll {
    pub(super) pre_patch: Option<Spanned<Vec<u64>>>,
    pub(super) post_patch: Option<Spanned<Vec<u64>>>,
    pub(super) pre_unpatch: Option<Spanned<Vec<u64>>>,
    pub(super) post_unpatch: Option<Spanned<Vec<u64>>>,
}

/// One shadow variable call of a new function: `{ op = "get_or_alloc", id = 1, obj = 0 }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShadowCall {
    pub(super) op: crate::spec::ShadowFn,
    pub(super) id: u64,
    /// The parent object's number (default 0).
    pub(super) obj: Option<Spanned<u32>>,
}

/// One `struct klp_func` of an object: the old function's name, or a table that also says
/// what the new function does (`calls`, `sleeps`; default: as the original) and how patching
/// it fails (`patch_fails`).
pub(super) enum RawKlpFunc {
    Name(String),
    Table(RawKlpFuncTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKlpFuncTable {
    pub(super) name: Spanned<String>,
    pub(super) calls: Option<Vec<Spanned<String>>>,
    pub(super) sleeps: Option<Sleeps>,
    pub(super) patch_fails: Option<crate::spec::PatchFails>,
    /// The shadow variable calls the new function makes when it runs.
    pub(super) shadow: Option<Spanned<Vec<RawShadowCall>>>,
    /// What the new function writes to the seq_file (the old function is a /proc show function).
    pub(super) output: Option<Spanned<String>>,
}

impl RawKlpFunc {
    /// The old function's name, with its span when the table gives one (`outer` otherwise).
    pub(super) fn name(&self, outer: std::ops::Range<usize>) -> Spanned<String> {
        match self {
            RawKlpFunc::Name(n) => Spanned::new(outer, n.clone()),
            RawKlpFunc::Table(t) => t.name.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for RawKlpFunc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawKlpFunc;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a function name, or a table { name = \"...\", calls = [...], sleeps = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawKlpFunc, E> {
                Ok(RawKlpFunc::Name(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<RawKlpFunc, A::Error> {
                RawKlpFuncTable::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(RawKlpFunc::Table)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallbacks {
    /// Return value of the pre_patch callback: 0 or a negative errno.
    pub(super) pre_patch: Option<Spanned<i32>>,
    #[serde(default)]
    pub(super) post_patch: bool,
    #[serde(default)]
    pub(super) pre_unpatch: bool,
    #[serde(default)]
    pub(super) post_unpatch: bool,
    /// The test_klp_state modules' behaviour: "console_loglevel" | "console_loglevel_migrate".
    pub(super) klp_state: Option<Spanned<crate::spec::StateCallbacks>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    pub(super) order: AdminOrder,
    #[serde(default)]
    pub(super) ops: Vec<RawOp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOp {
    pub(super) op: Spanned<String>,
    pub(super) patch: Option<Spanned<String>>,
    pub(super) module: Option<Spanned<String>>,
    /// `cpu_up` / `cpu_down`: the CPU number (the scenario's idle tasks are CPUs 0, 1, ... in
    /// file order).
    pub(super) cpu: Option<Spanned<u32>>,
    /// "any" order: how many times the command may run (default 1).
    pub(super) max: Option<Spanned<u32>>,
    /// "script" order: wait as the selftest helper does before the next command.
    pub(super) wait: Option<bool>,
    /// `check_sysfs_value` / `check_sysfs_rights`: the file relative to the patch's sysfs
    /// directory ("", "enabled", "vmlinux/patched", ...).
    pub(super) path: Option<Spanned<String>>,
    /// `check_sysfs_value`: the value the file must read; `set_ftrace_enabled`, `set_param`:
    /// the value written.
    pub(super) value: Option<Spanned<i64>>,
    /// `insmod`: the module parameters after the file name (`"block_transition=Y"`).
    pub(super) params: Option<Spanned<String>>,
    /// `set_param`: the parameter of the patch module written through
    /// `/sys/module/<patch>/parameters/` (`"pre_patch_ret"`).
    pub(super) param: Option<Spanned<String>>,
    /// `check_sysfs_rights`: the mode the file must have (`stat --format '%A'`).
    pub(super) rights: Option<Spanned<String>>,
    /// `set_ftrace_enabled`: a refused write is logged, not a skip (`--fail`).
    pub(super) fail: Option<Spanned<bool>>,
    /// `grep` / `cat`: the task (its `comm`) that reads the file.
    pub(super) task: Option<Spanned<String>>,
    /// `grep` / `cat`: the /proc file read ("/proc/cmdline").
    pub(super) file: Option<Spanned<String>>,
    /// `grep`: the lines of the file that contain it go to the kernel log.
    pub(super) pattern: Option<Spanned<String>>,
    /// `cat`: the text the file must read (the script dies otherwise).
    pub(super) expect: Option<Spanned<String>>,
    /// `cat`: the text the file must not read (the script dies if it does).
    pub(super) expect_not: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBounds {
    #[serde(default = "default_max_stack")]
    pub(super) max_stack: Spanned<u32>,
}

impl Default for RawBounds {
    fn default() -> Self {
        RawBounds { max_stack: default_max_stack() }
    }
}
fn default_max_stack() -> Spanned<u32> {
    Spanned::new(0..0, 2)
}
