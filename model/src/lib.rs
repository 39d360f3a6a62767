//! # The Linux livepatch consistency model
//!
//! A livepatch replaces kernel functions while the kernel runs. Since v4.12 it does so task by
//! task: each task has a `patch_state`, and `klp_ftrace_handler()` sends it to the old or the
//! new version of a patched function according to that state while the patch's funcs are in
//! transition. A task is switched only where it can have no frame of the version being replaced
//! on its stack: by the transition work after a stack check (`klp_try_switch_task()`), by
//! itself on the way back to user mode or in the idle loop (`klp_update_patch_state()`), or at
//! `__schedule()` after a stack check of its own (`__klp_sched_try_switch()`). Modules load and
//! unload in the middle (`klp_module_coming()` / `klp_module_going()`), callbacks set up and tear
//! down state around each object, and atomic-replace patches take over from older ones.
//!
//! This crate models that as a `stateright::Model`: [`KlpSystem`] over [`State`], one
//! [`Action`] per kernel entry point, admin command or task step.
//!
//! The crate has two layers. The types describe a system and its state and import nothing
//! from the kernel code: [`ids`], [`errno`], [`spec`], [`state`], [`task`], [`action`],
//! [`variant`], [`mutation`], [`log`], plus the pure queries of [`program`]. The kernel code,
//! in [`kernel`], mirrors the kernel's source tree file by file:
//! [`workload`] (a task calling and returning), [`admin`] (the administrator's commands) and
//! [`system`] (the `stateright::Model`) drive it.
//!
//! | kernel file | module |
//! |---|---|
//! | kernel/livepatch/core.c | [`kernel::livepatch::core`] (module hooks: [`kernel::livepatch::core::module`]; atomic replace: [`kernel::livepatch::core::replace`]; pre-v5.1 registration rules: [`kernel::livepatch::core::registration`]) |
//! | kernel/livepatch/core.h | [`kernel::livepatch::core_h`] (`klp_is_object_loaded()`, the callback wrappers) |
//! | kernel/livepatch/transition.c | [`kernel::livepatch::transition`] |
//! | kernel/livepatch/patch.c | [`kernel::livepatch::patch`] (func_stacks, `klp_ftrace_handler()`) |
//! | kernel/livepatch/state.c | [`kernel::livepatch::state`] |
//! | kernel/livepatch/shadow.c | [`kernel::livepatch::shadow`] (shadow variables: `klp_shadow_get()`, `klp_shadow_get_or_alloc()`, `klp_shadow_free()`, `klp_shadow_free_all()`) |
//! | kernel/module/main.c | [`kernel::module::main`] |
//! | kernel/params.c | [`kernel::params`] (a module parameter's sysfs write) |
//! | kernel/sched/core.c | [`kernel::sched::core`] |
//! | kernel/sched/idle.c | [`kernel::sched::idle`] |
//! | kernel/entry/common.c | [`kernel::entry::common`] |
//! | kernel/fork.c | [`kernel::fork`] |
//! | fs/seq_file.c | [`kernel::fs::seq_file`] (what a /proc read returns: the show function's version's output) |
//! | kernel/cpu.c | [`kernel::cpu`] (CPU hotplug: `cpu_up()`, `cpu_down()`) |
//! | kernel/trace/ftrace.c | [`kernel::trace::ftrace`] (the `kernel.ftrace_enabled` sysctl and `FTRACE_OPS_FL_PERMANENT`) |
//! | kernel/workqueue.c | [`kernel::workqueue`] (a target module's work item) |
//! | tools/testing/selftests/livepatch/test_modules/test_klp_state{,2,3}.c | [`test_modules::test_klp_state`] (callbacks that keep a `klp_state`'s data) |
//!
//! Granularity: a model step is atomic only where the kernel holds a lock (mostly `klp_mutex`)
//! and no lock-free reader (the ftrace handler, `klp_update_patch_state()`,
//! `__klp_sched_try_switch()`, a task's own calls) can see the intermediate states; each step's
//! doc comment says which lock or barrier makes it so ("Atomic because:"). The pass of
//! `klp_try_complete_transition()` is split into one step per task because tasks run while it
//! walks the task list.

pub mod action;
pub mod admin;
pub mod dmesg;
pub mod errno;
pub mod fairness;
pub mod hint;
pub mod ids;
pub mod kernel;
pub mod log;
pub mod mutation;
pub mod pack;
pub mod palette;
pub mod picture;
pub mod preset;
pub mod program;
pub mod scenario;
pub mod spec;
pub mod state;
pub mod state_data;
pub mod symmetry;
pub mod system;
pub mod task;
pub mod test_modules;
pub mod variant;
pub mod workload;

pub use action::Action;
pub use spec::Spec;
pub use state::State;
pub use system::KlpSystem;
pub use variant::Variant;
