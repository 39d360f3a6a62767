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
//! | kernel file | module |
//! |---|---|
//! | kernel/livepatch/core.c, kernel/module/main.c hooks | [`lifecycle`] |
//! | kernel/livepatch/transition.c | [`transition`] |
//! | kernel/livepatch/patch.c, core.h callback wrappers | [`patch`], [`ftrace`] |
//! | replaced patches' callbacks (design knob `callbacks_on_replace`) | [`replace`] |
//! | include/linux/livepatch.h | [`spec`] (external halves), [`state`] (internal halves), [`task`] |
//! | entry code, scheduler, fork | [`workload`] |
//!
//! Granularity: a model step is atomic only where the kernel holds a lock (mostly `klp_mutex`)
//! and no lock-free reader (the ftrace handler, `klp_update_patch_state()`,
//! `__klp_sched_try_switch()`, a task's own calls) can see the intermediate states; each step's
//! doc comment says which lock or barrier makes it so ("Atomic because:"). The pass of
//! `klp_try_complete_transition()` is split into one step per task because tasks run while it
//! walks the task list.

pub mod action;
pub mod dmesg;
pub mod fairness;
pub mod ftrace;
pub mod hint;
pub mod ids;
pub mod lifecycle;
pub mod log;
pub mod mutation;
pub mod ordering;
pub mod palette;
pub mod patch;
pub mod picture;
pub mod preset;
pub mod registration;
pub mod replace;
pub mod scenario;
pub mod spec;
pub mod state;
pub mod system;
pub mod task;
pub mod transition;
pub mod variant;
pub mod workload;

pub use action::Action;
pub use spec::Spec;
pub use state::State;
pub use system::KlpSystem;
pub use variant::Variant;
