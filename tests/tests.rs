//! The klpcheck binary's integration tests, one module per area (one test binary, so the
//! suite compiles and links once).

mod bitstate;
mod ci;
mod cli;
mod common;
mod determinism;
mod docs;
mod engines;
mod estimate;
mod explorer;
mod history_admin;
mod history_task;
mod installed;
mod json;
mod liveness;
mod reliability;
mod resume;
mod seed;
mod select;
mod selftests;
mod simulate;
mod symmetry;
mod traces;
mod user_properties;
mod validate;
mod versions;
