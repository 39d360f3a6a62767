//! klp-checker: a parallel explicit-state exploration engine for any `stateright::Model`.
//!
//! Why not stateright's own BFS (0.31): it ignores symmetry, its multi-threaded
//! counterexamples are not shortest, its timeout does not stop a one-thread run, and it keeps full states plus action paths per queued job (~110-130 B/state).
//!
//! This engine is a level-synchronous BFS on rayon ([`Bfs`]):
//! * the visited set stores 64-bit fingerprints only (9-14 B/state) and parent links cost
//!   about 2 B/state (`parents.rs`); only the current and next frontiers hold full states;
//! * counterexamples and examples are shortest and byte-identical for any thread count;
//! * symmetry reduction by a canonicaliser; traces keep the real states;
//! * limits (states, depth, time, memory, a stop flag) end the run with `complete() == false`;
//! * `Eventually` properties are reported [`Verdict::Unchecked`], never as holding;
//! * liveness under fairness ([`Bfs::liveness`]): leads-to `P ~> Q` with weakly and strongly
//!   fair step classes (lasso counterexamples) and possibility `AG (P -> EF Q)` over allowed
//!   steps, on the explored graph kept in compressed form (`graph.rs`, `liveness.rs`).
//!
//! ```
//! use klp_checker::{Bfs, Verdict};
//! use stateright::{Model, Property};
//!
//! /// Two counters, each stepped up to 3: 16 states, `x == 3` is reachable.
//! struct Counters;
//! impl Model for Counters {
//!     type State = (u8, u8);
//!     type Action = u8;
//!     fn init_states(&self) -> Vec<(u8, u8)> {
//!         vec![(0, 0)]
//!     }
//!     fn actions(&self, _: &(u8, u8), out: &mut Vec<u8>) {
//!         out.extend([0, 1]);
//!     }
//!     fn next_state(&self, &(x, y): &(u8, u8), a: u8) -> Option<(u8, u8)> {
//!         match a {
//!             0 if x < 3 => Some((x + 1, y)),
//!             1 if y < 3 => Some((x, y + 1)),
//!             _ => None,
//!         }
//!     }
//!     fn properties(&self) -> Vec<Property<Self>> {
//!         vec![
//!             Property::always("sum_at_most_6", |_, s: &(u8, u8)| s.0 + s.1 <= 6),
//!             Property::sometimes("x_reaches_3", |_, s: &(u8, u8)| s.0 == 3),
//!         ]
//!     }
//! }
//!
//! let out = Bfs::new(&Counters).threads(2).max_states(Some(1_000)).run();
//! assert!(out.complete());
//! assert_eq!(out.stats.unique_states, 16);
//! assert_eq!(out.property("sum_at_most_6").unwrap().verdict, Verdict::Holds);
//! let x3 = out.property("x_reaches_3").unwrap();
//! assert_eq!(x3.verdict, Verdict::Found);
//! assert_eq!(x3.trace.as_ref().unwrap().actions, vec![0, 0, 0]);
//! ```
//!
//! The toy livepatch transition model it is benchmarked on (`klpcheck bench toy`, SPIN and
//! TLA+ transcriptions beside it) is the separate crate `klp-toy` (toy/).

mod bfs;
mod bitstate;
mod checkpoint;
mod codec;
#[cfg(feature = "distributed")]
pub mod dist;
pub mod estimate;
mod fingerprint;
mod frontier;
mod graph;
mod liveness;
mod outcome;
mod parents;
mod scc;
pub mod sys;
mod table;
pub use table::Store;

pub use bfs::{
    fingerprint, Bfs, Canonicalise, CoverageFn, Phase, PhaseTimes, Profile, Totals, SECTIONS_EXACT, VACUOUS,
};
pub use bitstate::{BitstateStats, DEFAULT_BITS, DEFAULT_HASHES};
pub use checkpoint::CheckpointInfo;
pub use graph::Fairness;
pub use liveness::atomic::{InsideFn, SectionStepFn};
#[doc(hidden)]
pub use liveness::set_queue_cap_for_tests;
pub use liveness::{ActionPred, FairnessFn, LiveProperty, Liveness, QuotientFairnessFn, StatePred};
pub use outcome::{
    Coverage, Discovery, FinishWhen, MemoryParts, Outcome, Progress, PropertyOutcome, Stats, StopReason, Verdict,
};
