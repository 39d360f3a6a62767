//! klp-checker: a parallel explicit-state exploration engine for any `stateright::Model`.
//!
//! Why not stateright's own BFS (see shared/docs/stateright.md): it ignores symmetry, its
//! multi-threaded counterexamples are not shortest, its timeout does not stop a one-thread
//! run, and it keeps full states plus action paths per queued job (~110-130 B/state).
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
//! use klp_checker::{toy::Toy, Bfs, Verdict};
//! let model = Toy::new(3);
//! let out = Bfs::new(&model).threads(2).max_states(Some(1_000_000)).run();
//! assert!(out.complete());
//! assert_eq!(out.stats.unique_states, 4_230);
//! assert_eq!(out.property("p1_no_old_after_new").unwrap().verdict, Verdict::Holds);
//! ```

mod bfs;
mod frontier;
mod graph;
mod liveness;
mod outcome;
mod parents;
mod scc;
pub mod sys;
mod table;
pub mod toy;

pub use bfs::{fingerprint, Bfs, Canonicalise};
pub use graph::Fairness;
pub use liveness::{ActionPred, FairnessFn, LiveProperty, Liveness, StatePred};
pub use outcome::{Discovery, FinishWhen, Outcome, Progress, PropertyOutcome, Stats, StopReason, Verdict};
