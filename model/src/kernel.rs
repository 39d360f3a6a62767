//! The kernel code the model mirrors, one module per kernel source file, at the kernel's own
//! path: `kernel::livepatch::core` is kernel/livepatch/core.c. Each kernel function is defined
//! once, in the module of its file; a design variant's reordering or removed barrier is a
//! branch inside the function it changes, at the barrier or lock comment it concerns.
//!
//! The kernel file -> module table is in the crate doc.
//!
//! The only import cycle among them is the one the kernel has: core.c calls into transition.c
//! (`klp_init_transition()`, ...) and transition.c back into core.c (`klp_free_patch_async()`);
//! model/tests/imports.rs keeps it that way.

pub mod cpu;
pub mod entry;
pub mod fork;
pub mod fs;
pub mod livepatch;
pub mod module;
pub mod params;
pub mod sched;
pub mod trace;
pub mod workqueue;
