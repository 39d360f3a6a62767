//! klp-checker's integration tests (one test binary).

mod crosscheck;
mod liveness;
mod resume;
