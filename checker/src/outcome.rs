//! What a run returns. Designed so that a caller can never mistake a stopped search for a
//! complete one: verdicts that need the whole state space (`Holds`, `Unreachable`) are only
//! given when `stop == StopReason::Exhausted`; otherwise they are `Incomplete`.

use std::time::Duration;

use crate::bitstate::BitstateStats;

use stateright::{Expectation, Model, Path};

/// Why the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Every reachable state (within the boundary) was explored: the only complete outcome.
    Exhausted,
    /// `max_states` distinct states were reached.
    MaxStates,
    /// States at `max_depth` had successors that were not explored.
    MaxDepth,
    /// The time limit passed.
    Timeout,
    /// Peak RSS exceeded `max_memory`.
    MaxMemory,
    /// The external stop flag was raised (for example by Ctrl-C).
    Stopped,
    /// The `FinishWhen` condition was met (for example a first counterexample).
    Finished,
    /// A bitstate search ran out of states: every state it stored was explored, but the
    /// store may have dropped some (`Stats::bitstate` estimates how many). Never complete.
    Bitstate,
}

/// When to stop before the state space is exhausted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FinishWhen {
    /// Explore everything (full state counts).
    #[default]
    Exhausted,
    /// Stop once any `Always` property has a counterexample.
    AnyViolation,
    /// Stop once every checkable property is decided (violated or example found).
    AllDecided,
}

/// Verdict for one property: the only verdict type, from this engine to every report (klpcheck's
/// table, its JSON, `compare`, `ci` and the expectations file use [`Verdict::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// `Always` / `Eventually`: no violation in a complete search.
    Holds,
    /// `Always` / `Eventually`: a counterexample was found.
    Violated,
    /// `Sometimes`: an example was found.
    Reachable,
    /// `Sometimes`: no example in a complete search.
    Unreachable,
    /// The search stopped early and nothing was found.
    Incomplete,
    /// The engine does not check this property (`Eventually` on the safety pass, liveness
    /// under symmetry reduction); never read this as "holds".
    Unchecked,
}

impl Verdict {
    /// Every verdict, in the order reports list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Holds,
        Verdict::Violated,
        Verdict::Reachable,
        Verdict::Unreachable,
        Verdict::Incomplete,
        Verdict::Unchecked,
    ];

    /// The verdict of a safety pass over `Model::properties()`: `found` says whether a
    /// discovery (counterexample or example) was made, `complete` whether the whole state space
    /// was explored. The one place this is decided, for this engine and for callers that run
    /// another engine (stateright's) and report in the same terms.
    pub fn of(expectation: &Expectation, found: bool, complete: bool) -> Verdict {
        match (expectation, found, complete) {
            (Expectation::Eventually, _, _) => Verdict::Unchecked,
            (Expectation::Always, true, _) => Verdict::Violated,
            (Expectation::Sometimes, true, _) => Verdict::Reachable,
            (_, false, false) => Verdict::Incomplete,
            (Expectation::Always, false, true) => Verdict::Holds,
            (Expectation::Sometimes, false, true) => Verdict::Unreachable,
        }
    }

    /// The verdict as one lowercase word ("holds", "violated", ...).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Reachable => "reachable",
            Verdict::Unreachable => "unreachable",
            Verdict::Incomplete => "incomplete",
            Verdict::Unchecked => "unchecked",
        }
    }

    /// The verdict of that [`name`](Verdict::name).
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// What the search discovered for a property (a counterexample or an example): a path from an
/// initial state, `states[0]` is `model.init_states()[init_index]`, `states[i + 1]` is the
/// result of `actions[i]` on `states[i]`.
pub struct Discovery<M: Model> {
    /// Index into `Model::init_states()`.
    pub init_index: usize,
    /// The actions taken.
    pub actions: Vec<M::Action>,
    /// The real (not canonicalised) states, one more than `actions`.
    pub states: Vec<M::State>,
}

impl<M: Model> Discovery<M>
where
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
{
    /// The same path as a stateright `Path` (re-executed with `Path::from_actions`).
    pub fn to_path(&self, model: &M) -> Option<Path<M::State, M::Action>> {
        Path::from_actions(model, self.states[0].clone(), &self.actions)
    }
}

/// Result for one property: of `Model::properties()` (safety, `Always` / `Sometimes`) or of
/// the liveness properties given to `Bfs::liveness` (`Eventually`).
pub struct PropertyOutcome<M: Model> {
    pub name: &'static str,
    pub expectation: Expectation,
    /// Safety: see [`Verdict::of`]. Liveness: `Holds`, `Violated`, `Incomplete` (the search
    /// stopped) or `Unchecked` (symmetry).
    pub verdict: Verdict,
    /// Counterexample (`Always`) or example (`Sometimes`): always a shortest one. Liveness:
    /// for leads-to a lasso (shortest prefix to the `P` state, a path through `¬Q` states,
    /// then the cycle); for possibility a shortest path to a `P` state from which no allowed
    /// path reaches `Q`.
    ///
    /// Under symmetry reduction a leads-to lasso is a path of orbits after its prefix: from
    /// the `P` state on, each action is taken on the stored state of the orbit reached, and
    /// `states[k + 1]` is that action's successor, in the orbit of the next stored state but
    /// not necessarily equal to it (so `actions` do not replay from `states[0]` past the
    /// prefix). The caller lifts it to the unreduced model.
    pub discovery: Option<Discovery<M>>,
    /// Liveness only: index into `discovery.actions` of the first step of the repeating cycle;
    /// equal to `discovery.actions.len()` when the last state stutters forever (no fair step
    /// enabled). `None` for possibility violations and safety properties.
    pub cycle_start: Option<usize>,
    /// Liveness only: what the counterexample shows, in words (empty otherwise).
    pub note: String,
    /// Leads-to under symmetry reduction with `Bfs::quotient_region`, when violated on the
    /// quotient: the stored states whose orbits hold every quiescent state and fair cycle a
    /// violation of the unreduced model can have (checker/src/liveness/quotient.rs); `None`
    /// otherwise or when they exceed the limit.
    pub region: Option<Vec<M::State>>,
}

impl<M: Model> PropertyOutcome<M> {
    /// A liveness property's outcome before its check says otherwise: holds, nothing found.
    pub(crate) fn liveness_holds(name: &'static str) -> Self {
        PropertyOutcome {
            name,
            expectation: Expectation::Eventually,
            verdict: Verdict::Holds,
            discovery: None,
            cycle_start: None,
            note: String::new(),
            region: None,
        }
    }
}

/// Counters of a run.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Distinct states stored (after symmetry reduction, if any).
    pub unique_states: u64,
    /// Successors generated, duplicates included (plus the initial states).
    pub generated_states: u64,
    /// Largest number of steps from an initial state to a stored state (init = 0;
    /// TLC and stateright count the initial state as depth 1).
    pub max_depth: usize,
    pub elapsed: Duration,
    /// Highest VmRSS sampled during the run (between batches and at the end); in a distributed
    /// run the sum of the ranks' peaks.
    pub peak_rss_bytes: u64,
    /// Bytes held by the visited set and the parent logs at the end.
    pub visited_bytes: u64,
    /// Rayon threads used.
    pub threads: usize,
    /// Peak bytes held in memory by the frontier: the level being expanded and the next one
    /// (full states, or packed ones with `Bfs::pack`).
    pub frontier_bytes: u64,
    /// Liveness only: peak bytes held for the explored graph (recording, index translation,
    /// checks).
    pub graph_bytes: u64,
    /// Liveness only: bytes of the finished graph the liveness passes read (the compressed
    /// stream, its block index and the per-state liveness bits: graph.rs).
    pub graph_kept_bytes: u64,
    /// Liveness only: time to build the graph and check the liveness properties (included
    /// in `elapsed`).
    pub liveness_elapsed: Duration,
    /// The size of each BFS level begun (level 0 = the initial states); the last one may be
    /// only partly expanded if a limit stopped the search. What `estimate.rs` projects from.
    pub level_sizes: Vec<u64>,
    /// Bitstate store only: its size and fill, in SPIN's terms.
    pub bitstate: Option<BitstateStats>,
    /// Where the memory was at the search's highest RSS sample (taken between batches).
    pub memory_search: MemoryParts,
    /// Where the memory was during the liveness checks (liveness only; zero otherwise).
    pub memory_liveness: MemoryParts,
    /// Serial and parallel CPU time per phase, when asked for (`Bfs::profile`).
    pub profile: Option<crate::Profile>,
}

/// The bytes each part of the engine held at one moment, to tell what a peak is made of.
/// Parts are the engine's own accounting (capacity, not pages touched); `rss` minus their sum
/// is the process, the allocator's slack, the batch buffers and whatever is not listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryParts {
    /// VmRSS at that moment (for the liveness phase: the highest of the samples taken in it).
    pub rss: u64,
    /// The visited set (`table.rs`; with liveness including each state's `u32` index).
    pub table: u64,
    /// Parent links (`parents.rs`), the level being logged included.
    pub parents: u64,
    /// States held in the frontier: what is left of the level being expanded plus the next one.
    pub frontier_states: u64,
    /// Bytes the frontier's segments hold (capacity: full states, or the packed bytes of a
    /// packed frontier; heap parts of a full state, if any, not counted).
    pub frontier: u64,
    /// The liveness graph (`graph.rs`).
    pub graph: u64,
    /// The liveness checks' working arrays, all passes running at once (`liveness.rs`).
    pub liveness: u64,
}

impl MemoryParts {
    /// The sum of the parts (what is accounted for).
    pub fn accounted(&self) -> u64 {
        self.table + self.parents + self.frontier + self.graph + self.liveness
    }
}

impl Stats {
    /// Peak RSS divided by distinct states (includes frontiers and the process baseline).
    pub fn bytes_per_state(&self) -> f64 {
        self.peak_rss_bytes as f64 / self.unique_states.max(1) as f64
    }

    /// Visited set plus parent links divided by distinct states.
    pub fn visited_bytes_per_state(&self) -> f64 {
        self.visited_bytes as f64 / self.unique_states.max(1) as f64
    }

    /// Peak bytes of the liveness graph per distinct state (0 without liveness properties).
    pub fn graph_bytes_per_state(&self) -> f64 {
        self.graph_bytes as f64 / self.unique_states.max(1) as f64
    }

    /// Distinct states per second of wall time.
    pub fn states_per_sec(&self) -> f64 {
        self.unique_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Probability that at least one pair of distinct states shared a 64-bit fingerprint
    /// (birthday bound n^2 / 2^65). Such a collision silently drops a state.
    pub fn collision_probability(&self) -> f64 {
        let n = self.unique_states as f64;
        (n * n / 2f64.powi(65)).min(1.0)
    }
}

/// Everything a run returns.
pub struct Outcome<M: Model> {
    pub stats: Stats,
    pub stop: StopReason,
    /// One entry per `Model::properties()`, in that order.
    pub properties: Vec<PropertyOutcome<M>>,
    /// One entry per liveness property given to `Bfs::liveness`, in that order.
    pub liveness: Vec<PropertyOutcome<M>>,
    /// The counters of `Bfs::coverage`, if it was asked for (over what was explored, also
    /// when the search stopped early).
    pub coverage: Option<Coverage>,
}

/// What `Bfs::coverage` counted, one entry per counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Over generated transitions (every successor of an expanded state, duplicates included).
    pub generated: Vec<u64>,
    /// Over the transitions that found a new distinct state (TLC's "distinct").
    pub distinct: Vec<u64>,
}

impl Coverage {
    /// Adds one batch's counts and zeroes them for the next batch.
    pub(crate) fn add(&mut self, generated: &mut [u64], distinct: &mut [u64]) {
        for (t, s) in self.generated.iter_mut().zip(generated) {
            *t += std::mem::take(s);
        }
        for (t, s) in self.distinct.iter_mut().zip(distinct) {
            *t += std::mem::take(s);
        }
    }
}

impl<M: Model> Outcome<M> {
    /// True only if the whole state space was explored.
    pub fn complete(&self) -> bool {
        self.stop == StopReason::Exhausted
    }

    /// The outcome of the liveness property called `name`.
    pub fn live(&self, name: &str) -> Option<&PropertyOutcome<M>> {
        self.liveness.iter().find(|p| p.name == name)
    }

    /// The outcome of the property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyOutcome<M>> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// A progress sample handed to the callback (at most once per interval).
#[derive(Clone, Debug)]
pub struct Progress {
    pub unique_states: u64,
    pub generated_states: u64,
    /// Depth of the level being expanded.
    pub depth: usize,
    pub elapsed: Duration,
    /// Distinct states per second since the start.
    pub states_per_sec: f64,
    pub rss_bytes: u64,
    /// Sizes of the levels begun so far (see [`Stats::level_sizes`]): the last one is the
    /// level being expanded, complete as a set of states.
    pub level_sizes: Vec<u64>,
}
