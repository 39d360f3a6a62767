//! The kernel code the model mirrors, one module per kernel source file, at the kernel's own
//! path: `kernel::livepatch::core` is kernel/livepatch/core.c. Each kernel function is defined
//! once, in the module of its file; a design variant's reordering or removed barrier is a
//! branch inside the function it changes, at the barrier or lock comment it concerns.
//!
//! | kernel file | module |
//! |---|---|
//! | kernel/livepatch/core.c | [`livepatch::core`] (module hooks: [`livepatch::core::module`]; atomic replace: [`livepatch::core::replace`]; pre-v5.1 registration rules: [`livepatch::core::registration`]) |
//! | kernel/livepatch/core.h | [`livepatch::core_h`] (`klp_is_object_loaded()`, the callback wrappers) |
//! | kernel/livepatch/transition.c | [`livepatch::transition`] |
//! | kernel/livepatch/patch.c | [`livepatch::patch`] (func_stacks, `klp_ftrace_handler()`) |
//! | kernel/livepatch/state.c | [`livepatch::state`] |
//! | kernel/module/main.c | [`module::main`] |
//! | kernel/sched/core.c | [`sched::core`] |
//! | kernel/sched/idle.c | [`sched::idle`] |
//! | kernel/entry/common.c | [`entry::common`] |
//! | kernel/fork.c | [`fork`] |
//!
//! The only import cycle among them is the one the kernel has: core.c calls into transition.c
//! (`klp_init_transition()`, ...) and transition.c back into core.c (`klp_free_patch_async()`);
//! model/tests/imports.rs keeps it that way.

pub mod entry;
pub mod fork;
pub mod livepatch;
pub mod module;
pub mod sched;
