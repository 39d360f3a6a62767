//! klp-model's integration tests, one module per area (one test binary).

mod derived_patch;
mod fuzz_scenario;
mod idle_walk;
mod imports;
mod module_lifecycle;
mod ordering;
mod pack;
mod proptest_model;
mod scenario_errors;
mod sched;
mod signals;
mod sysfs;
