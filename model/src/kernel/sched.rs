//! kernel/sched/: the scheduler's share of livepatch.

pub mod core;
pub mod idle;
