//! kernel/module/: the module loader.

pub mod main;
