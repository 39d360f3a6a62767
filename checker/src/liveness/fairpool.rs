//! The Streett refinement of a leads-to pass's components ([`super::fair_subset`]) on the pool
//! threads, beside the pass's DFS.
//!
//! Why: in a leads-to pass about half of the CPU time is the refinement of the non-trivial
//! components (measured with `perf` on `default`, one thread: `fair_subset` 9.3 % of the run
//! against 19.6 % for the two leads-to passes), and a pass's DFS is sequential: with two
//! threads the longest pass (`transition_completes`) was the liveness phase's critical path
//! while the other thread, its own passes done, sat idle.
//!
//! How the result stays the one of the sequential pass: the DFS (its components, their ids
//! and order) does not depend on which component is fair; only the "failing" marks do. The
//! first DFS marks a component failing on its quiescent states and on edges into failing
//! components, and hands the non-trivial components without a quiescent state (those the
//! sequential pass refines) to the pool; while the pool is behind (more than a sixteenth of
//! the states queued) it refines them itself, as the sequential pass does. When the pool finds
//! no fair one, the marks are the sequential pass's. When it finds some, the DFS is run again
//! with the fair sets (the pool's and its own) looked up by component id instead of computed:
//! the same marks, the same fair sets in the same order, so the same counterexample.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use fixedbitset::FixedBitSet;

use super::{fair_subset, Charge, Classes};
use crate::graph::Graph;

/// The most states queued for the pool before the DFS refines components itself: a sixteenth
/// of the graph's, at least 65,536, unless a test set it ([`set_queue_cap_for_tests`]).
pub(super) fn queue_cap(n: usize) -> usize {
    match QUEUE_CAP_FOR_TESTS.load(Relaxed) {
        0 => (n / 16).max(1 << 16),
        cap => cap - 1,
    }
}

/// [`queue_cap`]'s value plus one as a test set it; 0: not set.
static QUEUE_CAP_FOR_TESTS: AtomicUsize = AtomicUsize::new(0);

/// Sets the pool's queue cap for the rest of the process (`None`: the default), so that a test
/// on a small graph reaches the branch where the DFS refines components itself while the pool
/// is behind (at `Some(0)` every component, at `Some(1)` all but those handed over while the
/// queue was empty). Only the split of the work changes, never a result: that is what the
/// tests check.
#[doc(hidden)]
pub fn set_queue_cap_for_tests(cap: Option<usize>) {
    QUEUE_CAP_FOR_TESTS.store(cap.map_or(0, |c| c + 1), Relaxed);
}

/// States handed to one pool task at most (small components are batched: a task per
/// two-state cycle would cost more than it saves).
const BATCH_STATES: usize = 4096;

/// The pool side: refines the batches handed to it and keeps what it found.
pub(super) struct FairPool<'g> {
    g: &'g Graph,
    classes: &'g Classes,
    charge: Charge<'g>,
    /// Bit sets of `g.len()` bits, all clear, for the tasks' `in_set` (one per task running).
    sets: Mutex<Vec<FixedBitSet>>,
    made: AtomicUsize,
    /// Per fair component: its id and its fair subset.
    found: Mutex<Vec<(u32, Vec<u32>)>>,
    /// States copied into batches not yet refined, and the most there were at once.
    queued: AtomicUsize,
    peak_queued: AtomicUsize,
}

/// The DFS side: the batch being filled (component id, its states).
#[derive(Default)]
pub(super) struct Batch {
    items: Vec<(u32, Vec<u32>)>,
    states: usize,
}

impl Batch {
    /// Queues component `id` with states `c`; hands the batch to `pool` on `scope` once full.
    pub(super) fn push<'s>(&mut self, pool: &'s FairPool<'_>, scope: &rayon::Scope<'s>, id: u32, c: &[u32]) {
        self.items.push((id, c.to_vec()));
        self.states += c.len();
        let q = pool.queued.fetch_add(c.len(), Relaxed) + c.len();
        pool.peak_queued.fetch_max(q, Relaxed);
        if self.states >= BATCH_STATES {
            self.flush(pool, scope);
        }
    }

    /// Hands what is queued to `pool`.
    pub(super) fn flush<'s>(&mut self, pool: &'s FairPool<'_>, scope: &rayon::Scope<'s>) {
        if self.items.is_empty() {
            return;
        }
        let items = std::mem::take(&mut self.items);
        self.states = 0;
        scope.spawn(move |_| pool.refine(items));
    }
}

impl<'g> FairPool<'g> {
    pub(super) fn new(g: &'g Graph, classes: &'g Classes, charge: Charge<'g>) -> Self {
        FairPool {
            g,
            classes,
            charge,
            sets: Mutex::new(Vec::new()),
            made: AtomicUsize::new(0),
            found: Mutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            peak_queued: AtomicUsize::new(0),
        }
    }

    fn refine(&self, batch: Vec<(u32, Vec<u32>)>) {
        let mut batch = Some(batch);
        (self.charge)(&mut || self.refine_now(batch.take().expect("run once")));
    }

    fn refine_now(&self, batch: Vec<(u32, Vec<u32>)>) {
        let taken = self.sets.lock().expect("not poisoned").pop();
        let mut set = taken.unwrap_or_else(|| {
            self.made.fetch_add(1, Relaxed);
            FixedBitSet::with_capacity(self.g.len())
        });
        for (id, c) in batch {
            if let Some(s) = fair_subset(self.g, self.classes, &c, &mut set) {
                self.found.lock().expect("not poisoned").push((id, s));
            }
            self.queued.fetch_sub(c.len(), Relaxed);
        }
        self.sets.lock().expect("not poisoned").push(set);
    }

    /// States queued and not yet refined.
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Relaxed)
    }

    /// Working bytes beside the pass's own: the bit sets made and the most states queued.
    pub(super) fn bytes(&self) -> usize {
        self.made.load(Relaxed) * self.g.len().div_ceil(8) + self.peak_queued.load(Relaxed) * 4
    }

    /// The fair components found, by id.
    pub(super) fn into_found(self) -> HashMap<u32, Vec<u32>> {
        self.found.into_inner().expect("not poisoned").into_iter().collect()
    }
}
