//! klp-model's integration tests, one module per area (one test binary).

mod derived_patch;
mod fuzz_scenario;
mod imports;
mod ordering;
mod proptest_model;
mod scenario_errors;
mod signals;
mod sysfs;
