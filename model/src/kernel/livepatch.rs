//! kernel/livepatch/: one module per file of the kernel directory.

pub mod core;
pub mod core_h;
pub mod patch;
pub mod shadow;
pub mod state;
pub mod transition;
