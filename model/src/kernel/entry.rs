//! kernel/entry/: entering and leaving the kernel.

pub mod common;
