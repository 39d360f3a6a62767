//! The resolved, static description of a modelled system: the external halves of
//! `struct klp_patch`, `klp_object`, `klp_func` (include/linux/livepatch.h), the kernel's
//! functions, target modules, tasks and admin commands. Nothing here changes during exploration.

pub use crate::ids::*;
use crate::mutation::{Mutation, Mutations};
use crate::task::TaskKind;
use crate::variant::{DisableVia, Variant};
use serde::{Deserialize, Serialize};

mod admin;
mod builder;
mod derived;
mod shadow;
mod user;
pub use admin::*;
pub(crate) use builder::PatchBuilder;
pub use shadow::*;
pub use user::*;

/// Where a task may block inside a function (`schedule()`), and who wakes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sleeps {
    /// Never blocks here.
    #[default]
    Never,
    /// `TASK_INTERRUPTIBLE`: woken by its event or by `klp_send_signals()`.
    Interruptible,
    /// `TASK_UNINTERRUPTIBLE`: woken by its event only.
    Uninterruptible,
    /// Blocks and is never woken.
    Forever,
    /// `while (READ_ONCE(flag)) msleep(...)` on a flag its module's exit clears (the selftests'
    /// busy module: `busymod_work_func` loops while `block_transition` is set, and
    /// `test_klp_callbacks_busy_exit()` clears it): the function sleeps (woken by its timer,
    /// and sleeps again) and cannot return until its module's `mod->exit()` began.
    UntilModuleExit,
}

/// What one version of a function does: whom it may call, where it may block, the shadow
/// variable calls it makes when it runs, and (a /proc file's show function) what it writes to
/// the seq_file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncBody {
    pub calls: Vec<FuncId>,
    pub sleeps: Sleeps,
    pub shadow: Vec<ShadowCall>,
    /// What the new function writes to the seq_file (`seq_printf()`); `None`: the original's.
    pub output: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSpec {
    pub name: String,
    /// `None` = vmlinux.
    pub module: Option<ModId>,
    /// The original function's calls.
    pub calls: Vec<FuncId>,
    /// The original function's sleep.
    pub sleeps: Sleeps,
    /// Its sleep sets `TASK_FREEZABLE` (`wait_event_freezable()`, a freezable kthread's wait):
    /// where `__schedule()` switches the task (`sched_try_switch = "freezable"`).
    pub freezable: bool,
    /// It has a `cond_resched()` point: a voluntary preemption point (`preempt = "voluntary"` and
    /// `"none"`) and, under `sched_try_switch = "cond_resched"`, a self-switch point.
    pub cond_resched: bool,
    /// What the original prints (`pr_info()`, with its module's `pr_fmt` prefix) when it is
    /// entered and just before it returns (the busy module's "busymod_work_func enter"/"exit").
    pub messages: FuncMessages,
    /// The /proc file whose seq_file show function this is (`"/proc/cmdline"` for
    /// `cmdline_proc_show()`): a `read()` of the file calls it (fs/seq_file.c
    /// `seq_read_iter()` -> `m->op->show()`). vmlinux functions only.
    pub proc_file: Option<String>,
    /// What the original writes to the seq_file when a read calls it (lines separated by
    /// `\n`; empty: nothing the scenario names).
    pub output: String,
    /// The new functions (`klp_func->new_func`) whose body the scenario declares, indexed by
    /// patch id; `None` or past the end: that patch's version calls and sleeps as the original.
    /// Read through [`FuncSpec::calls_of`] / [`FuncSpec::sleeps_of`], once per task per state:
    /// the original costs one branch, a patched frame one bounds-checked index.
    pub new_bodies: Vec<Option<FuncBody>>,
}

impl FuncSpec {
    /// The declared body of version `v`, if it is a patch's new function with its own body.
    #[inline]
    fn new_body(&self, v: Version) -> Option<&FuncBody> {
        self.new_bodies.get(v.patch()? as usize)?.as_ref()
    }
    /// The functions version `v` may call (a nop runs the original: [`Version::ORIGINAL`]).
    #[inline]
    pub fn calls_of(&self, v: Version) -> &[FuncId] {
        self.new_body(v).map_or(&self.calls, |b| &b.calls)
    }
    /// Where version `v` may block.
    #[inline]
    pub fn sleeps_of(&self, v: Version) -> Sleeps {
        self.new_body(v).map_or(self.sleeps, |b| b.sleeps)
    }
    /// The shadow variable calls version `v` makes (the original and a nop make none).
    #[inline]
    pub fn shadow_of(&self, v: Version) -> &[ShadowCall] {
        self.new_body(v).map_or(&[], |b| &b.shadow)
    }
    /// What version `v` writes to the seq_file (a nop runs the original).
    pub fn output_of(&self, v: Version) -> &str {
        self.new_body(v).and_then(|b| b.output.as_deref()).unwrap_or(&self.output)
    }
}

/// A function's `pr_info()` lines on entry and before its return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuncMessages {
    pub enter: Option<String>,
    pub exit: Option<String>,
}

/// What a target module's `mod->init` waits for before it returns, about its work item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitWaits {
    /// Returns at once.
    #[default]
    Nothing,
    /// `wait_for_completion()` on a completion its work function signals first thing (the busy
    /// module with `block_transition=Y`).
    WorkStarted,
    /// `flush_work()`: until its work function returned (the busy module with `block_transition=N`).
    WorkDone,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    pub name: String,
    /// Loaded (`MODULE_STATE_LIVE`) in the initial state.
    pub loaded: bool,
    /// What `mod->init` returns: 0, or the -errno with which `do_init_module()` fails.
    pub init_ret: i32,
    /// What the `MODULE_STATE_COMING` notifier chain returns in `prepare_coming_module()`
    /// after `klp_module_coming()` succeeded: 0, or the -errno that fails the load.
    pub coming_notifier_ret: i32,
    /// The module's work item: `mod->init` queues it (`schedule_work()`), a kworker runs it
    /// once, `mod->exit()` flushes it (`flush_work()`) before it returns.
    pub work: Option<FuncId>,
    /// What `mod->init` waits for about its work item before it returns.
    pub init_waits: InitWaits,
    /// What `mod->init` prints first (`pr_info()`, "<module>: " prefixed).
    pub init_message: Option<String>,
    /// What `mod->exit()` prints last.
    pub exit_message: Option<String>,
}

impl ModuleSpec {
    /// A module with no code of its own the model runs (the scenario gives none of the fields).
    pub fn plain(name: &str, loaded: bool) -> Self {
        ModuleSpec {
            name: name.to_string(),
            loaded,
            init_ret: 0,
            coming_notifier_ret: 0,
            work: None,
            init_waits: InitWaits::Nothing,
            init_message: None,
            exit_message: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    pub comm: String,
    pub kind: TaskKind,
    pub entry: Vec<FuncId>,
    /// A child slot: unborn until `parent` forks.
    pub parent: Option<Pid>,
    /// Idle tasks only: the task's CPU is online at boot (`cpu_online()`; a scenario's
    /// `online = false` starts it offline).
    pub online: bool,
    /// A kthread's main loop (the thread function itself, no modelled frame): how it waits for
    /// work (`Interruptible` by default, `Never` for a CPU-bound kthread), whether that wait is
    /// `TASK_FREEZABLE`, and whether the loop has a `cond_resched()` point.
    pub main_loop: MainLoop,
    /// One of the `count` copies of the scenario's `[[tasks]]` entry with this index (`None`
    /// for `count = 1` and for fork children): copies are the candidates for symmetry
    /// reduction ([`crate::symmetry`]).
    pub copy_of: Option<u16>,
}

/// What a kthread's main loop does besides calling its entry functions (scenario `[[tasks]]`
/// fields `sleeps`, `freezable`, `cond_resched`, kthreads only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MainLoop {
    pub sleeps: Sleeps,
    pub freezable: bool,
    pub cond_resched: bool,
}

impl Default for MainLoop {
    /// A kworker's `worker_thread()`: waits in `TASK_IDLE` (not freezable), no `cond_resched()`
    /// point of its own.
    fn default() -> Self {
        MainLoop { sleeps: Sleeps::Interruptible, freezable: false, cond_resched: false }
    }
}

/// `struct klp_callbacks` as the scenario sets it: which callbacks exist and what `pre_patch`
/// returns (the only callback that can fail).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Callbacks {
    pub pre_patch: Option<i32>,
    pub post_patch: bool,
    pub pre_unpatch: bool,
    pub post_unpatch: bool,
    /// The callbacks keep a system state in a `klp_state`'s data, as the test_klp_state
    /// modules' do (`None`: they only print their name).
    pub klp_state: Option<StateCallbacks>,
}

/// tools/testing/selftests/livepatch/test_modules/test_klp_state{,2,3}.c: the four callbacks
/// keep the `console_loglevel` the patch changes in the data of its `klp_state`
/// [`CONSOLE_LOGLEVEL_STATE`] (pre_patch allocates it, post_patch saves the value and changes
/// it, pre_unpatch restores it, post_unpatch frees it; the model in
/// [`crate::test_modules::test_klp_state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateCallbacks {
    /// test_klp_state.c (state version 1, "does not support migration"): only
    /// `klp_get_state()` of its own patch.
    ConsoleLoglevel,
    /// test_klp_state2.c / test_klp_state3.c (version 2, "supports migration"): each callback
    /// first asks `klp_get_prev_state()`; when an installed patch has the state, pre_patch
    /// does not allocate, post_patch takes the data over, the unpatch callbacks leave it.
    ConsoleLoglevelMigrate,
}

/// `CONSOLE_LOGLEVEL_STATE`: the `klp_state` id the test_klp_state modules use.
pub const CONSOLE_LOGLEVEL_STATE: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSpec {
    /// `patch->mod->name`.
    pub name: String,
    /// `patch->replace`: atomic replace (cumulative) patch.
    pub replace: bool,
    /// `struct klp_state` entries: (id, version).
    pub states: Vec<(u32, u32)>,
    /// The patch's object slots, static ones first then dynamic ones for nops.
    pub objs: Vec<ObjId>,
    /// `patch->immediate` (v4.12..v4.15): skip the per-task transition. Honoured only under
    /// the `immediate = "honoured"` knob (see [`crate::variant::Immediate`]).
    pub immediate: bool,
    /// A patch the variant derived (`disable_via`), not one of the scenario's.
    pub derived: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjSpec {
    pub patch: PatchId,
    /// `obj->name`: `None` = vmlinux.
    pub module: Option<ModId>,
    /// `obj->dynamic`: allocated by `klp_add_nops()`.
    pub dynamic: bool,
    pub callbacks: Callbacks,
    pub funcs: Vec<KlpFuncId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KlpFuncSpec {
    pub patch: PatchId,
    pub obj: ObjId,
    /// `func->old_func` (resolved from `old_name`).
    pub old_func: FuncId,
    /// `func->nop`: a dynamic func of an atomic-replace patch that runs the original code.
    pub nop: bool,
    /// How `klp_patch_func()` fails when it must register this function's ftrace handler
    /// (the first func on its `func_stack`); `None`: it succeeds.
    pub patch_fails: Option<PatchFails>,
}

/// A failure of `klp_patch_func()` (kernel/livepatch/patch.c) the scenario declares for a func:
/// each is a property of the old function's ftrace site, so it strikes only when no `klp_ops`
/// exists for it yet (a func pushed on an existing `func_stack` cannot fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatchFails {
    /// `register_ftrace_function()` returns -EBUSY: another `FTRACE_OPS_FL_IPMODIFY` user
    /// (a kprobe with a post handler, another live patching tool) already owns the function.
    Ipmodify,
    /// `klp_get_ftrace_location()` finds no ftrace location (-EINVAL; arches that translate the
    /// address, e.g. powerpc's global entry point).
    NoFtraceLocation,
    /// `register_ftrace_function()` returns -EBUSY for the `FTRACE_OPS_FL_PERMANENT` ops while
    /// the `kernel.ftrace_enabled` sysctl is 0: a state of the run, not a scenario value.
    #[serde(skip)]
    FtraceDisabled,
}

/// A resolved scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub description: String,
    pub funcs: Vec<FuncSpec>,
    pub modules: Vec<ModuleSpec>,
    pub tasks: Vec<TaskSpec>,
    pub patches: Vec<PatchSpec>,
    pub objs: Vec<ObjSpec>,
    pub klp_funcs: Vec<KlpFuncSpec>,
    pub admin: Admin,
    pub max_stack: u8,
    /// Shadow variables: the pairs the new functions use, and who frees them all.
    pub shadow: ShadowSpec,
    pub variant: Variant,
    /// Deliberate kernel bugs for the mutation tests; always empty for scenario files.
    pub mutations: Mutations,
    /// The scenario's own properties (`[[invariant]]`, `[[witness]]`), in file order.
    pub user_properties: Vec<UserProperty>,
}

impl Spec {
    /// The first table with more entries than [`crate::State`] has slots for (ids.rs, `CAP_*`):
    /// its name, its size and the capacity. The loader turns this into an error; within the
    /// capacities, building the initial state cannot overflow.
    pub fn over_capacity(&self) -> Option<(&'static str, usize, usize)> {
        let stack_depth = self.max_stack as usize;
        [
            ("tasks", self.tasks.len(), CAP_TASKS),
            ("bounds.max_stack", stack_depth, CAP_STACK),
            ("modules", self.modules.len(), CAP_MODULES),
            ("patches", self.patches.len(), CAP_PATCHES),
            ("patch objects (nop objects included)", self.objs.len(), CAP_OBJS),
            ("patch funcs (nop funcs included)", self.klp_funcs.len(), CAP_KLP_FUNCS),
            ("functions", self.funcs.len(), CAP_FUNCS),
            ("admin commands", self.admin.ops.len(), CAP_OPS),
        ]
        .into_iter()
        .find(|&(_, n, cap)| n > cap)
    }

    /// Some object's callbacks keep a system state in a `klp_state`'s data (the state then
    /// carries [`State::klp_state_data`](crate::State)).
    pub fn has_klp_state_data(&self) -> bool {
        self.objs.iter().any(|o| o.callbacks.klp_state.is_some())
    }
    /// The name dmesg uses for an object: "vmlinux" or the module's name.
    pub fn obj_name(&self, module: Option<ModId>) -> &str {
        module.map(|m| self.modules[m as usize].name.as_str()).unwrap_or("vmlinux")
    }
    /// A task's `comm`, as action descriptions name it.
    pub fn task_name(&self, pid: Pid) -> String {
        self.tasks[pid as usize].comm.clone()
    }
    /// The CPU an idle task is the idle task of: its place among the scenario's idle tasks
    /// (the first idle task is CPU 0's).
    pub fn cpu_of(&self, pid: Pid) -> usize {
        self.tasks[..pid as usize].iter().filter(|t| t.kind == TaskKind::Idle).count()
    }
    /// The pid the kernel would print for a task: index + 1 (the task list starts at init,
    /// pid 1); idle tasks (`swapper/N`) have pid 0.
    pub fn kernel_pid(&self, pid: Pid) -> u32 {
        match self.tasks[pid as usize].kind {
            TaskKind::Idle => 0,
            _ => pid as u32 + 1,
        }
    }
    /// A task as the kernel's messages print it: `comm:pid` (`"%s:%d", task->comm, task->pid`).
    pub fn task_comm_pid(&self, pid: Pid) -> String {
        format!("{}:{}", self.tasks[pid as usize].comm, self.kernel_pid(pid))
    }
    /// Whether deliberate bug `m` is switched on (mutation tests only).
    #[inline(always)]
    pub fn mutated(&self, m: Mutation) -> bool {
        self.mutations.has(m)
    }
    /// Functions some patch can put on this function's `func_stack`.
    pub fn is_patchable(&self, f: FuncId) -> bool {
        self.klp_funcs.iter().any(|k| k.old_func == f)
    }
    /// The patch the `disable` command loads instead of writing to sysfs (`disable_via`).
    pub fn disable_patch(&self) -> Option<PatchId> {
        self.patches.iter().position(|p| p.derived).map(|p| p as PatchId)
    }

    /// A patch's sysfs file relative to `/sys/kernel/livepatch/<patch>/`, as the selftest
    /// helpers name it (`""` for the directory, `vmlinux/patched`, ...).
    pub fn sysfs_rel(&self, file: SysfsFile) -> String {
        let obj = |o: ObjId| self.obj_name(self.objs[o as usize].module).to_string();
        match file {
            SysfsFile::Dir => String::new(),
            SysfsFile::Enabled => "enabled".into(),
            SysfsFile::Transition => "transition".into(),
            SysfsFile::Force => "force".into(),
            SysfsFile::Replace => "replace".into(),
            SysfsFile::StackOrder => "stack_order".into(),
            SysfsFile::ObjDir(o) => obj(o),
            SysfsFile::ObjPatched(o) => format!("{}/patched", obj(o)),
        }
    }
    /// The file's path (`$SYSFS_KLP_DIR/$mod/$rel_path` in functions.sh).
    pub fn sysfs_path(&self, p: PatchId, file: SysfsFile) -> String {
        format!("/sys/kernel/livepatch/{}/{}", self.patches[p as usize].name, self.sysfs_rel(file))
    }

    pub fn version_name(&self, f: FuncId, v: Version) -> String {
        match v.patch() {
            None => self.funcs[f as usize].name.clone(),
            Some(p) => format!("{}'{}", self.funcs[f as usize].name, self.patches[p as usize].name),
        }
    }
}
