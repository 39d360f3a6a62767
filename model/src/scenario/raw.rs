//! The scenario file as serde reads it (names unresolved, spans kept for error messages).
//!
//! These types are also the scenario format's documentation: `klpcheck schema` derives the
//! JSON Schema (docs/scenario.schema.json) from them, and docs/scenario.md's key reference is
//! generated from that schema ([`super::schema`]), so every doc comment on a field here is
//! what a user reads about that key. A field without one fails `schema::tests`.

use super::predicate::RawPredicate;
use crate::spec::{AdminOrder, InitWaits, Sleeps};
use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A klpcheck scenario: the kernel functions, target modules, tasks and livepatches of one
/// modelled configuration, the admin commands that run, and what the user asks to be checked.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "klpcheck scenario")]
pub(super) struct RawScenario {
    /// What the scenario shows (printed by `klpcheck list scenarios`).
    pub(super) description: Option<String>,
    /// The kernel functions (vmlinux or a target module's) and who calls whom.
    #[serde(default)]
    pub(super) functions: Vec<RawFunc>,
    /// The target modules (modules a livepatch can patch; livepatch modules are `[[patches]]`).
    #[serde(default)]
    pub(super) modules: Vec<RawModule>,
    /// The tasks that run (at least one).
    #[serde(default)]
    pub(super) tasks: Vec<RawTask>,
    /// The livepatches (`struct klp_patch`), each its own livepatch module (at least one).
    #[serde(default)]
    pub(super) patches: Vec<RawPatch>,
    /// The admin commands (insmod, rmmod, disable, ...): a script or a set in any order.
    /// Without it, nothing loads a livepatch.
    pub(super) admin: Option<RawAdmin>,
    /// Bounds of the exploration.
    #[serde(default)]
    pub(super) bounds: RawBounds,
    /// Design knobs (`klpcheck list knobs`), each `knob = "value"`; omitted knobs are upstream
    /// Linux. A `--variant` preset or `--set` on the command line overrides them.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::variant_schema")]
    pub(super) variant: crate::variant::KnobTable,
    /// The user's own `always` properties: a predicate over patches, modules, tasks and the
    /// transition that must hold in every reachable state (checked and reported like the
    /// built-in ones, under the given name, with a counterexample trace when violated).
    #[serde(default)]
    pub(super) invariant: Vec<RawUserProperty>,
    /// The user's own `sometimes` properties: a predicate that some reachable state satisfies
    /// ("is lp2 ever loaded?"); `check --witness NAME` writes the trace that reaches it.
    #[serde(default)]
    pub(super) witness: Vec<RawUserProperty>,
}

/// One `[[invariant]]` or `[[witness]]`: a name and a predicate.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUserProperty {
    /// The property's name, as `check` reports it and `--property`, `--witness` and `ci`
    /// expectations name it: lowercase letters, digits and `_`, not a built-in property's name.
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// What the property says, in English (shown by `check` next to the verdict).
    pub(super) description: Option<String>,
    /// The predicate: an atom such as `{ patch = "lp2", state = "enabled" }`, or `all`, `any`,
    /// `not` of predicates.
    #[schemars(with = "RawPredicate")]
    pub(super) holds: Spanned<RawPredicate>,
}

/// One kernel function.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunc {
    /// The function's name (unique in the scenario).
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// Where the function lives: "vmlinux" (default) or the name of a `[[modules]]` entry.
    #[schemars(with = "Option<String>")]
    pub(super) object: Option<Spanned<String>>,
    /// The functions it may call (each a `[[functions]]` name; declared in any order).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(super) calls: Vec<Spanned<String>>,
    /// Where it may block in `schedule()`, and who wakes it.
    #[serde(default)]
    pub(super) sleeps: Sleeps,
    /// What the original prints on entry (`pr_info()`; the module's name is prefixed).
    pub(super) enter_message: Option<String>,
    /// What the original prints just before it returns.
    pub(super) exit_message: Option<String>,
    /// The sleep sets `TASK_FREEZABLE` (`wait_event_freezable()`; only with `sleeps`): the
    /// only sleep in which the newest `__schedule()` switches a task itself.
    #[schemars(with = "Option<bool>")]
    pub(super) freezable: Option<Spanned<bool>>,
    /// The function has a `cond_resched()` point (a preemption point under `preempt =
    /// "voluntary"` or `"none"`; a self-switch point under `sched_try_switch = "cond_resched"`).
    #[serde(default)]
    pub(super) cond_resched: bool,
    /// The /proc file whose seq_file show function this is ("/proc/cmdline"; vmlinux functions
    /// only, one file each): what the script's `grep` and `cat` commands read.
    #[schemars(with = "Option<String>")]
    pub(super) proc: Option<Spanned<String>>,
    /// What the original writes to the seq_file (only with `proc`; lines separated by `\n`;
    /// default: nothing).
    #[schemars(with = "Option<String>")]
    pub(super) output: Option<Spanned<String>>,
}

/// One target module.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModule {
    /// The module's name (modules and livepatches share one namespace; not "vmlinux").
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// Loaded at boot (`MODULE_STATE_LIVE` in the initial state); default false.
    #[serde(default)]
    pub(super) loaded: bool,
    /// What `mod->init` returns: 0, or a negative errno (`do_init_module()` fails:
    /// `klp_module_going()`, the module is freed, modprobe prints the error).
    #[schemars(with = "Option<i32>")]
    pub(super) init_ret: Option<Spanned<i32>>,
    /// What the `MODULE_STATE_COMING` notifier chain returns after `klp_module_coming()`: 0, or
    /// a negative errno (`prepare_coming_module()` fails: `klp_module_going()` in COMING).
    #[schemars(with = "Option<i32>")]
    pub(super) coming_notifier_ret: Option<Spanned<i32>>,
    /// The module's work item, a function of the module: init queues it, a kthread with it in
    /// its `entry` runs it once, exit flushes it.
    #[schemars(with = "Option<String>")]
    pub(super) work: Option<Spanned<String>>,
    /// What `mod->init` waits for before it returns (needs `work`).
    #[schemars(with = "Option<InitWaits>")]
    pub(super) init_waits: Option<Spanned<InitWaits>>,
    /// Printed when `mod->init` starts (`pr_info()`, "<module>: " prefixed).
    pub(super) init_message: Option<String>,
    /// Printed when `mod->exit()` returns.
    pub(super) exit_message: Option<String>,
}

/// One kind of task, possibly in several identical copies.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTask {
    /// The task's name (`task->comm`). With `count = N` (N > 1) the copies are named
    /// `comm-0` .. `comm-N-1`; a fork child of task `t` is `t.child0`, `t.child1`, ... Every
    /// resulting name must be unique.
    #[schemars(with = "String")]
    pub(super) comm: Spanned<String>,
    /// What kind of task; default "user".
    #[serde(default = "default_kind")]
    pub(super) kind: crate::task::TaskKind,
    /// How many identical copies (1..=16, default 1), named as `comm` says. Copies are
    /// interchangeable: the symmetry reduction stores one state per orbit of them.
    #[serde(default = "one")]
    #[schemars(with = "u32", default = "one_u32", range(min = 1, max = 16))]
    pub(super) count: Spanned<u32>,
    /// The functions the task calls: syscalls from user mode (user), or calls from its main
    /// loop (kthread, idle). A kthread with no entry only sleeps in its main loop.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(super) entry: Vec<Spanned<String>>,
    /// How many children each copy may fork (`klp_copy_process()`; user tasks only; default 0).
    #[serde(default = "zero")]
    #[schemars(with = "u32", default = "zero_u32")]
    pub(super) forks: Spanned<u32>,
    /// Idle tasks only: the CPU is online at boot (default true; false: parked in
    /// `arch_cpu_idle_dead()` until a `cpu_up` command).
    #[schemars(with = "Option<bool>")]
    pub(super) online: Option<Spanned<bool>>,
    /// Kthreads only: how its main loop waits for work (default "interruptible"; "never":
    /// CPU-bound).
    #[schemars(with = "Option<Sleeps>")]
    pub(super) sleeps: Option<Spanned<Sleeps>>,
    /// Kthreads only: that wait is `TASK_FREEZABLE` (`set_freezable()`); false for a kworker
    /// (`worker_thread()` sleeps in `TASK_IDLE`).
    #[schemars(with = "Option<bool>")]
    pub(super) freezable: Option<Spanned<bool>>,
    /// Kthreads only: its main loop has a `cond_resched()` point.
    #[schemars(with = "Option<bool>")]
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
fn one_u32() -> u32 {
    1
}
fn zero_u32() -> u32 {
    0
}

/// One livepatch (`struct klp_patch`) and its livepatch module.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPatch {
    /// The livepatch module's name (`patch->mod->name`; shares one namespace with `[[modules]]`).
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// Atomic replace (`patch->replace`, v5.1+): a cumulative patch that replaces every patch
    /// enabled before it (their funcs get nops). An insmod's `params = "replace=1"` sets it too.
    #[serde(default)]
    pub(super) replace: bool,
    /// The system states the patch handles (`struct klp_state`, `klp_is_patch_compatible()`).
    #[serde(default)]
    pub(super) states: Vec<RawState>,
    /// `patch->immediate` (v4.12..v4.15, removed in v4.16): the patch skips the per-task
    /// transition. Honoured only under the knob `immediate = "honoured"`; upstream it is
    /// ignored. Not with `replace`.
    #[serde(default)]
    pub(super) immediate: bool,
    /// The ids whose shadow variables the livepatch module's exit frees at rmmod
    /// (`klp_shadow_free_all()` in `module_exit()`, as livepatch-shadow-fix1.c does).
    #[schemars(with = "Option<Vec<u64>>")]
    pub(super) exit_shadow_free_all: Option<Spanned<Vec<u64>>>,
    /// The patch's objects (`struct klp_object`), at least one.
    #[serde(default)]
    pub(super) objects: Vec<RawObject>,
}

/// One `struct klp_state`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    /// `state->id` (unique in the patch).
    pub(super) id: u32,
    /// `state->version`: a later patch must handle the state with the same or a higher version.
    pub(super) version: u32,
}

/// One object of a patch (`struct klp_object`): vmlinux or a target module.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    /// "vmlinux" (default) or a `[[modules]]` name; one object per module in a patch.
    #[schemars(with = "Option<String>")]
    pub(super) name: Option<Spanned<String>>,
    /// The functions the object patches (`struct klp_func`): a function's name, or a table
    /// saying what the new function does.
    #[schemars(with = "Vec<RawKlpFunc>")]
    pub(super) funcs: Vec<Spanned<RawKlpFunc>>,
    /// The object's callbacks (`struct klp_callbacks`); default none.
    #[serde(default)]
    pub(super) callbacks: RawCallbacks,
    /// Per callback, the ids whose shadow variables it frees (`klp_shadow_free_all()`).
    pub(super) shadow_free_all: Option<RawShadowFreeAll>,
}

/// `shadow_free_all = { post_unpatch = [1] }`: the callback calls `klp_shadow_free_all(id)`
/// for each id, in order (the callback must be declared in `callbacks`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShadowFreeAll {
    /// Ids the pre_patch callback frees.
    #[schemars(with = "Option<Vec<u64>>")]
    pub(super) pre_patch: Option<Spanned<Vec<u64>>>,
    /// Ids the post_patch callback frees.
    #[schemars(with = "Option<Vec<u64>>")]
    pub(super) post_patch: Option<Spanned<Vec<u64>>>,
    /// Ids the pre_unpatch callback frees.
    #[schemars(with = "Option<Vec<u64>>")]
    pub(super) pre_unpatch: Option<Spanned<Vec<u64>>>,
    /// Ids the post_unpatch callback frees.
    #[schemars(with = "Option<Vec<u64>>")]
    pub(super) post_unpatch: Option<Spanned<Vec<u64>>>,
}

/// One shadow variable call of a new function: `{ op = "get_or_alloc", id = 1, obj = 0 }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShadowCall {
    /// The shadow variable API function called.
    pub(super) op: crate::spec::ShadowFn,
    /// The data identifier (`SV_LEAK` = 1 in livepatch-shadow-fix1.c).
    pub(super) id: u64,
    /// The parent object's number, 0..=3 (default 0).
    #[schemars(with = "Option<u32>", range(max = 3))]
    pub(super) obj: Option<Spanned<u32>>,
}

/// One `struct klp_func` of an object: the old function's name, or a table that also says
/// what the new function does (`calls`, `sleeps`; default: as the original) and how patching
/// it fails (`patch_fails`).
#[derive(JsonSchema)]
#[schemars(untagged)]
pub(super) enum RawKlpFunc {
    /// The old function's name; the new function does what the original does.
    Name(String),
    /// The old function's name and what its new version does.
    Table(RawKlpFuncTable),
}

/// A func as a table: the new function's body where it differs from the original's.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKlpFuncTable {
    /// The old function's name (a `[[functions]]` name of this object's module).
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// What the new function may call (default: the original's `calls`). A frame runs the
    /// body of the version the ftrace handler chose.
    #[schemars(with = "Option<Vec<String>>")]
    pub(super) calls: Option<Vec<Spanned<String>>>,
    /// Where the new function may block (default: the original's `sleeps`).
    pub(super) sleeps: Option<Sleeps>,
    /// How `klp_patch_func()` fails on this function (only when no patch has an ftrace handler
    /// on it yet); default: it succeeds.
    pub(super) patch_fails: Option<crate::spec::PatchFails>,
    /// The shadow variable calls the new function makes, in order, when it is entered (at most
    /// 32 `<obj, id>` pairs in a scenario).
    #[schemars(with = "Option<Vec<RawShadowCall>>")]
    pub(super) shadow: Option<Spanned<Vec<RawShadowCall>>>,
    /// What the new function writes to the seq_file (the old function has a `proc`; default:
    /// the original's output).
    #[schemars(with = "Option<String>")]
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

/// An object's callbacks (`struct klp_callbacks`): which exist, and what pre_patch returns.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallbacks {
    /// The pre_patch callback exists and returns this: 0, or a negative errno (the patch or
    /// the module load fails).
    #[schemars(with = "Option<i32>")]
    pub(super) pre_patch: Option<Spanned<i32>>,
    /// The post_patch callback exists.
    #[serde(default)]
    pub(super) post_patch: bool,
    /// The pre_unpatch callback exists.
    #[serde(default)]
    pub(super) pre_unpatch: bool,
    /// The post_unpatch callback exists.
    #[serde(default)]
    pub(super) post_unpatch: bool,
    /// The four callbacks are the test_klp_state modules' (vmlinux object, all four declared,
    /// `pre_patch = 0`): they keep console_loglevel in the data of the patch's `klp_state` id 1.
    #[schemars(with = "Option<crate::spec::StateCallbacks>")]
    pub(super) klp_state: Option<Spanned<crate::spec::StateCallbacks>>,
}

/// The admin commands.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    /// How the commands run.
    pub(super) order: AdminOrder,
    /// The commands (at most 32), each an inline table `{ op = "...", ... }`.
    #[serde(default)]
    pub(super) ops: Vec<RawOp>,
}

/// One admin command.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOp {
    /// The command: insmod | rmmod (with `patch` or `module`), enable | disable | force
    /// (`patch`), set_param, check_sysfs_value, check_sysfs_rights, grep, cat,
    /// set_ftrace_enabled, cpu_up | cpu_down.
    #[schemars(with = "String")]
    pub(super) op: Spanned<String>,
    /// The livepatch (a `[[patches]]` name) the command is about.
    #[schemars(with = "Option<String>")]
    pub(super) patch: Option<Spanned<String>>,
    /// The target module (a `[[modules]]` name) an insmod or rmmod loads or removes.
    #[schemars(with = "Option<String>")]
    pub(super) module: Option<Spanned<String>>,
    /// `cpu_up` / `cpu_down`: the CPU number (the scenario's idle tasks are CPUs 0, 1, ... in
    /// file order).
    #[schemars(with = "Option<u32>")]
    pub(super) cpu: Option<Spanned<u32>>,
    /// Order "any" only: how many times the command may run (1..=8, default 1).
    #[schemars(with = "Option<u32>", range(min = 1, max = 8))]
    pub(super) max: Option<Spanned<u32>>,
    /// Order "script" only (default true): wait as the selftest helpers do. After a patch's
    /// insmod the next command waits until its transition finished (`load_lp`); after a
    /// disable, until the patch's sysfs directory is gone (`disable_lp`); after a target
    /// module's insmod or rmmod, until the module loader finished (`load_mod`, `unload_mod`);
    /// after a grep or cat, until the read returned; a patch's rmmod itself waits until the
    /// module's reference is dropped (`unload_lp`). `wait = false` runs the next command at
    /// once (`load_lp_nowait`), racing with the transition.
    pub(super) wait: Option<bool>,
    /// `check_sysfs_value` / `check_sysfs_rights`: the file relative to the patch's sysfs
    /// directory ("", "enabled", "vmlinux/patched", ...).
    #[schemars(with = "Option<String>")]
    pub(super) path: Option<Spanned<String>>,
    /// `check_sysfs_value`: the value the file must read; `set_ftrace_enabled`, `set_param`:
    /// the value written.
    #[schemars(with = "Option<i64>")]
    pub(super) value: Option<Spanned<i64>>,
    /// `insmod`: the module parameters after the file name (`"block_transition=Y"`).
    #[schemars(with = "Option<String>")]
    pub(super) params: Option<Spanned<String>>,
    /// `set_param`: the parameter of the patch module written through
    /// `/sys/module/<patch>/parameters/` (`"pre_patch_ret"`).
    #[schemars(with = "Option<String>")]
    pub(super) param: Option<Spanned<String>>,
    /// `check_sysfs_rights`: the mode the file must have (`stat --format '%A'`).
    #[schemars(with = "Option<String>")]
    pub(super) rights: Option<Spanned<String>>,
    /// `set_ftrace_enabled`: a refused write is logged, not a skip (`--fail`).
    #[schemars(with = "Option<bool>")]
    pub(super) fail: Option<Spanned<bool>>,
    /// `grep` / `cat`: the task (its `comm`) that reads the file.
    #[schemars(with = "Option<String>")]
    pub(super) task: Option<Spanned<String>>,
    /// `grep` / `cat`: the /proc file read ("/proc/cmdline").
    #[schemars(with = "Option<String>")]
    pub(super) file: Option<Spanned<String>>,
    /// `grep`: the lines of the file that contain it go to the kernel log.
    #[schemars(with = "Option<String>")]
    pub(super) pattern: Option<Spanned<String>>,
    /// `cat`: the text the file must read (the script dies otherwise).
    #[schemars(with = "Option<String>")]
    pub(super) expect: Option<Spanned<String>>,
    /// `cat`: the text the file must not read (the script dies if it does).
    #[schemars(with = "Option<String>")]
    pub(super) expect_not: Option<Spanned<String>>,
}

/// Bounds of the exploration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBounds {
    /// The deepest call chain a task may have (frames on its stack), 1..=8 (default 2).
    #[serde(default = "default_max_stack")]
    #[schemars(with = "u32", default = "two_u32", range(min = 1, max = 8))]
    pub(super) max_stack: Spanned<u32>,
}
fn two_u32() -> u32 {
    2
}

impl Default for RawBounds {
    fn default() -> Self {
        RawBounds { max_stack: default_max_stack() }
    }
}
fn default_max_stack() -> Spanned<u32> {
    Spanned::new(0..0, 2)
}
