//! Level-synchronous parallel BFS over any `stateright::Model`.
//!
//! Each level (the frontier of states at depth d) is cut into fixed batches of sub-chunks.
//! Per batch, three rayon phases:
//! * A, per sub-chunk: evaluate properties on the frontier states, generate successors in
//!   (frontier position, action index) order, fingerprint them, bucket them by shard
//!   (a stable counting sort).
//! * B, per shard: insert that shard's candidates, sub-chunk by sub-chunk, so every shard
//!   sees its candidates in (position, action) order; the first occurrence of a state wins,
//!   which makes its parent the first one in that order, whatever the thread count.
//! * C, per sub-chunk: keep the new successors, in order, as the next frontier and log
//!   their parent links (`parents.rs`).
//!
//! Why batches: the successors of a batch are buffered (bounded memory) and limits are
//! checked between batches. Batch boundaries do not depend on the thread count, so results,
//! and even the stopping point of `max_states`, are identical for any number of threads.

mod level;
mod live;
mod profile;
pub use live::{SECTIONS_EXACT, VACUOUS};
mod resume;

pub use profile::{Phase, PhaseTimes, Profile, Totals};

use std::hash::Hash;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};
use stateright::Model;

use crate::codec::Codec;
use crate::graph::Recorder;
use crate::liveness::{FairnessFn, LiveProperty, QuotientFairnessFn};
use crate::outcome::*;
use crate::parents::Levels;
use crate::table::Store;

/// Frontier states per sub-chunk (the unit of parallel work in phases A and C).
pub(crate) const SUB: usize = 512;
/// Sub-chunks per batch (the unit between limit checks). Why 32 (at most 32: `graph::pending`
/// names a sub-chunk in 5 bits): every batch costs four barriers, and at 16 the waits at them
/// (threads waking, the last task of a phase) were the largest loss of two threads against
/// one on the default scenario (`KLPCHECK_PROFILE=1`: search work over critical path 1.66x ->
/// 1.78x). The price: twice the successors buffered per batch (+67 MB peak RSS there).
const BATCH_SUBS: usize = 32;
/// Frontier states per batch.
pub(crate) const BATCH: usize = SUB * BATCH_SUBS;

/// How many candidates ahead phase B prefetches table slots.
const PREFETCH: usize = 16;

pub use crate::fingerprint::fingerprint;
#[cfg(feature = "distributed")]
pub(crate) use {
    level::decides,
    live::{live_bits, replay},
};

/// A canonicaliser for symmetry reduction: maps a state to its orbit's representative (a
/// closure, so that it can read the model's groups of interchangeable components).
pub type Canonicalise<'a, S> = Box<dyn Fn(&S) -> S + Send + Sync + 'a>;

pub(crate) type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// Coverage: adds what one step did to `counts` (which counters, and how many there are, is the
/// caller's business: `Bfs::coverage`). Called with the state, the action and its successor.
pub type CoverageFn<M> = fn(&M, &<M as Model>::State, &<M as Model>::Action, &<M as Model>::State, &mut [u64]);

/// Builder and entry point: `Bfs::new(&model).threads(2).max_states(Some(n)).run()`.
pub struct Bfs<'a, M: Model> {
    pub(crate) cfg: Config<'a, M>,
    pub(crate) progress: Option<ProgressFn<'a>>,
}

/// Everything but the progress callback (which is `Send` but not `Sync`).
pub(crate) struct Config<'a, M: Model> {
    pub(crate) model: &'a M,
    pub(crate) threads: usize,
    pub(crate) max_states: Option<u64>,
    pub(crate) max_depth: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_memory: Option<u64>,
    pub(crate) stop: Option<Arc<AtomicBool>>,
    pub(crate) symmetry: Option<Canonicalise<'a, M::State>>,
    /// Under symmetry: the model's states are their representatives already
    /// ([`Bfs::canonical_successors`]).
    pub(crate) canonical_successors: bool,
    pub(crate) progress_interval: Duration,
    pub(crate) finish_when: FinishWhen,
    pub(crate) live: Option<LiveCfg<M>>,
    /// Coverage counters (how many) and the function that fills them; `None`: no counting, and
    /// phase A and C do no more than a never-taken branch per successor.
    pub(crate) coverage: Option<(usize, CoverageFn<M>)>,
    /// The visited set's kind (table.rs).
    pub(crate) store: Store,
    /// The model's byte encoding of states (`Bfs::pack`).
    pub(crate) pack: Option<Pack<M>>,
    /// Decode a packed state over a reused one (`Bfs::decode_into`).
    pub(crate) decode_into: Option<DecodeIntoFn<M>>,
    /// Build a successor in a reused buffer (`Bfs::step_into`).
    pub(crate) step_into: Option<StepIntoFn<M>>,
    /// How states go to disk (set by `spill`, `checkpoint` and `resume`).
    pub(crate) codec: Option<Codec<M::State>>,
    pub(crate) spill: Option<PathBuf>,
    pub(crate) checkpoint: Option<(PathBuf, Duration)>,
    pub(crate) resume: Option<PathBuf>,
    pub(crate) identity: String,
    /// Collect a [`Profile`] (`profile.rs`).
    profile: bool,
}

/// A model's encoding of its states as bytes, and back.
pub(crate) struct Pack<M: Model> {
    pub(crate) encode: fn(&M, &M::State, &mut Vec<u8>) -> usize,
    pub(crate) decode: fn(&M, &mut &[u8]) -> M::State,
}

/// [`Bfs::decode_into`].
pub(crate) type DecodeIntoFn<M> = fn(&M, &mut &[u8], &mut <M as Model>::State);
/// [`Bfs::step_into`].
pub(crate) type StepIntoFn<M> = fn(&M, &<M as Model>::State, <M as Model>::Action, &mut <M as Model>::State) -> bool;

impl<M: Model> Clone for Pack<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: Model> Copy for Pack<M> {}

/// Liveness properties and the fairness of every step.
pub(crate) struct LiveCfg<M: Model> {
    pub(crate) props: Vec<LiveProperty<M>>,
    fairness: FairnessFn<M>,
    /// Under symmetry: the classes of a state's edges made symmetric ([`Bfs::quotient_fairness`]).
    quotient: Option<QuotientFairnessFn<M>>,
    /// Under symmetry: hand back a leads-to candidate's region of at most this many states
    /// ([`Bfs::quotient_region`]); 0: none.
    region_limit: usize,
    /// Under symmetry: the model's atomic sections ([`Bfs::atomic_sections`]).
    pub(crate) sections: Option<crate::liveness::atomic::Sections<M>>,
    /// The layout of an edge's allowed bits (and section tag).
    pub(crate) layout: crate::liveness::atomic::Layout,
}

/// What the search hands back before traces are rebuilt.
struct Raw {
    stats: Stats,
    stop: StopReason,
    found: Vec<Option<(usize, usize)>>,
    levels: Levels,
    /// BFS index of the first state of each level.
    level_starts: Vec<u64>,
    graph: Option<Recorder>,
    coverage: Option<Coverage>,
    /// The search's share of the profile (off unless asked for).
    prof: profile::Prof,
}

impl<'a, M> Bfs<'a, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    /// A search with no limits, rayon's default thread count and no symmetry.
    pub fn new(model: &'a M) -> Self {
        Bfs {
            cfg: Config {
                model,
                threads: 0,
                max_states: None,
                max_depth: None,
                timeout: None,
                max_memory: None,
                stop: None,
                symmetry: None,
                canonical_successors: false,
                progress_interval: Duration::from_secs(1),
                finish_when: FinishWhen::Exhausted,
                live: None,
                coverage: None,
                store: Store::Exact,
                pack: None,
                decode_into: None,
                step_into: None,
                codec: None,
                spill: None,
                checkpoint: None,
                resume: None,
                identity: String::new(),
                profile: profile::from_env(),
            },
            progress: None,
        }
    }

    /// Number of rayon threads (0 = rayon's default).
    pub fn threads(mut self, n: usize) -> Self {
        self.cfg.threads = n;
        self
    }

    /// Stop once this many distinct states are stored (checked between batches).
    pub fn max_states(mut self, n: Option<u64>) -> Self {
        self.cfg.max_states = n;
        self
    }

    /// Do not expand states this many steps from an initial state (init = 0).
    pub fn max_depth(mut self, d: Option<usize>) -> Self {
        self.cfg.max_depth = d;
        self
    }

    /// Stop after this much wall time (checked between batches).
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.cfg.timeout = d;
        self
    }

    /// Stop once VmRSS exceeds this many bytes (checked between batches).
    pub fn max_memory(mut self, bytes: Option<u64>) -> Self {
        self.cfg.max_memory = bytes;
        self
    }

    /// Stop when this flag becomes true (for example from a Ctrl-C handler).
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cfg.stop = Some(flag);
        self
    }

    /// Store `canon(state)` fingerprints instead of `state` ones. `canon` must map all
    /// symmetric states to one representative, and properties must be symmetric.
    pub fn symmetry(mut self, canon: impl Fn(&M::State) -> M::State + Send + Sync + 'a) -> Self {
        self.cfg.symmetry = Some(Box::new(canon));
        self
    }

    /// Under [`Bfs::symmetry`]: the model's initial states and successors are their
    /// representatives already (`canon` maps each to itself), so the search fingerprints a
    /// successor as it is and keeps the same encoding in its frontier (one encode instead of
    /// two, and no copy for the canonical form). The model must then also replay (its
    /// `next_state`) to representatives. Traces are the states the search held.
    pub fn canonical_successors(mut self) -> Self {
        self.cfg.canonical_successors = true;
        self
    }

    /// Which visited set to keep (default exact). [`Store::Bitstate`] ends a search that runs
    /// out of states with [`StopReason::Bitstate`], never `Exhausted`, and leaves liveness
    /// [`Verdict::Unchecked`]: it needs the exact graph. Parent links do not depend on the
    /// store (`parents.rs`), so counterexamples stay real and replayable, but a dropped state
    /// may hide a shorter one.
    pub fn store(mut self, store: Store) -> Self {
        self.cfg.store = store;
        self
    }

    /// Fingerprint states by a byte encoding, and keep the frontier in that encoding (in memory;
    /// a run that spills or checkpoints keeps full states, with the same fingerprints).
    ///
    /// `encode` appends a state's bytes to the buffer and returns how many of them, from the
    /// start of what it appended, identify the state: equal states (`Eq`) must give equal
    /// identifying bytes and different states different ones. The bytes after them (up to the
    /// end of what it appended) are kept but not fingerprinted: fields that `Eq` and `Hash`
    /// ignore. `decode` reads one state from the front of the slice and advances it past what
    /// `encode` appended. Why: a state of small fixed-capacity vectors is mostly unused slots,
    /// and a level holds hundreds of thousands of them; bytes also hash in one pass.
    pub fn pack(
        mut self,
        encode: fn(&M, &M::State, &mut Vec<u8>) -> usize,
        decode: fn(&M, &mut &[u8]) -> M::State,
    ) -> Self {
        self.cfg.pack = Some(Pack { encode, decode });
        self
    }

    /// With [`Bfs::pack`]: `decode` that writes the state over `out` (every part of it)
    /// instead of returning it. The search then decodes each frontier state into one reused
    /// buffer just before expanding it, instead of a sub-chunk of states into a vector first
    /// (unless coverage is counted: phase C needs the parents then). Why: states of fixed-capacity
    /// arrays are large; built as values they were copied again into the vector, which no
    /// longer fit in the cache when they were expanded.
    pub fn decode_into(mut self, f: fn(&M, &mut &[u8], &mut M::State)) -> Self {
        self.cfg.decode_into = Some(f);
        self
    }

    /// `next_state` that writes the successor of `state` by `action` over `out`, returning false
    /// when the action is not enabled (`out` is then garbage); `within_boundary` still applies.
    /// The search then builds every successor in one reused buffer instead of receiving each as
    /// a value (where it keeps full successors, an unpacked frontier or coverage counts, it
    /// clones the buffer). Why: as for [`Bfs::decode_into`], a large state returned by value is
    /// copied.
    pub fn step_into(mut self, f: fn(&M, &M::State, M::Action, &mut M::State) -> bool) -> Self {
        self.cfg.step_into = Some(f);
        self
    }

    /// Called from the driving thread at most once per `progress_interval` (default 1 s).
    pub fn progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    pub fn progress_interval(mut self, d: Duration) -> Self {
        self.cfg.progress_interval = d;
        self
    }

    /// Stop early once properties are decided (default: explore everything).
    pub fn finish_when(mut self, f: FinishWhen) -> Self {
        self.cfg.finish_when = f;
        self
    }

    /// Also check these liveness properties, with `fairness` telling which steps are fair.
    /// The engine then keeps the explored graph (see `graph.rs`). A stopped search reports
    /// them [`Verdict::Incomplete`].
    ///
    /// With symmetry reduction the graph is the quotient: one state per orbit, its edges those
    /// of the orbit's stored state, each to the orbit of its target. Possibility and deadlock
    /// are checked on it as they are; leads-to only with [`Bfs::quotient_fairness`] (else
    /// [`Verdict::Unchecked`]: fairness classes that name a component are not invariant under
    /// the symmetry). A discovery of a reduced run is then a path of orbits, not of states:
    /// see [`PropertyOutcome::discovery`].
    pub fn liveness(mut self, props: Vec<LiveProperty<M>>, fairness: FairnessFn<M>) -> Self {
        assert!(props.len() <= 8, "at most 8 liveness properties");
        let layout = crate::liveness::atomic::Layout::new(&possibility_flags(&props), false);
        self.cfg.live = Some(LiveCfg { props, fairness, quotient: None, region_limit: 0, sections: None, layout });
        self
    }

    /// Under symmetry reduction: the model's atomic sections (`inside`: the state is in one;
    /// `step`: the step belongs to one, with a key naming it up to the symmetry), so that a
    /// possibility property that holds on the quotient is decided exactly where every path to
    /// its goal can run each section in one go (checker/src/liveness/atomic.rs): then it
    /// holds, with the note [`SECTIONS_EXACT`]; otherwise it is reported incomplete. Needs at
    /// most 7 liveness properties and 6 possibility properties (else it has no effect). Call
    /// after [`Bfs::liveness`].
    pub fn atomic_sections(
        mut self,
        inside: crate::liveness::atomic::InsideFn<M>,
        step: crate::liveness::atomic::SectionStepFn<M>,
    ) -> Self {
        if let Some(l) = &mut self.cfg.live {
            l.layout = crate::liveness::atomic::Layout::new(&possibility_flags(&l.props), true);
            l.sections = l.layout.tags.then_some(crate::liveness::atomic::Sections { inside, step });
        }
        self
    }

    /// Under symmetry reduction, check leads-to with each state's edge classes rewritten by
    /// `f` ([`QuotientFairnessFn`]). Sound for "holds" when `f`'s classes are implied by the
    /// unreduced model's fairness on every fair run; a violation found is a candidate that the
    /// caller confirms on the unreduced model. Call after [`Bfs::liveness`].
    pub fn quotient_fairness(mut self, f: QuotientFairnessFn<M>) -> Self {
        if let Some(l) = &mut self.cfg.live {
            l.quotient = Some(f);
        }
        self
    }

    /// Under symmetry reduction with [`Bfs::quotient_fairness`]: when leads-to finds a
    /// candidate on the quotient, also hand back the stored states whose orbits hold every
    /// violation of the unreduced model ([`PropertyOutcome::region`]), if there are at most
    /// `limit` of them, for the caller to decide the property there. Call after
    /// [`Bfs::quotient_fairness`].
    pub fn quotient_region(mut self, limit: usize) -> Self {
        if let Some(l) = &mut self.cfg.live {
            l.region_limit = limit;
        }
        self
    }

    /// Count what the steps did (TLC's `-coverage`): `count` is called on every generated
    /// transition (each successor within the boundary of an expanded state, duplicates
    /// included, as `generated_states` counts them) and again on each one that found a new
    /// state; the sums come back in [`Outcome::coverage`]. `counters` is the length of the
    /// slice `count` adds to.
    pub fn coverage(mut self, counters: usize, count: CoverageFn<M>) -> Self {
        self.cfg.coverage = Some((counters, count));
        self
    }

    /// What the caller's run is (scenario, options, program version: any text): recorded in
    /// checkpoints, and a resume under another identity is refused.
    pub fn identity(mut self, id: impl Into<String>) -> Self {
        self.cfg.identity = id.into();
        self
    }

    /// Collect a [`Profile`] of serial and parallel CPU time per phase into
    /// [`Stats::profile`] (default: on when the environment variable `KLPCHECK_PROFILE` is set
    /// to anything but "0", which also prints it to stderr at the end).
    pub fn profile(mut self, on: bool) -> Self {
        self.cfg.profile = on;
        self
    }

    /// Runs the search on a rayon pool of the configured size.
    ///
    /// # Panics
    /// If a disk operation of `spill`, `checkpoint` or `resume` fails: use [`Bfs::try_run`]
    /// with them.
    pub fn run(self) -> Outcome<M> {
        self.try_run().expect("klp-checker: disk spill, checkpoint or resume failed")
    }

    /// [`Bfs::run`], returning the error of a failed spill, checkpoint or resume (a resume
    /// under another identity is [`std::io::ErrorKind::InvalidInput`]). Without those options
    /// it never fails.
    pub fn try_run(mut self) -> std::io::Result<Outcome<M>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.cfg.threads)
            .build()
            .expect("cannot build the rayon thread pool");
        let cfg = &self.cfg;
        let progress = &mut self.progress;
        let mut raw = pool.install(|| cfg.search(progress))?;
        raw.stats.threads = pool.current_num_threads();
        let findings = pool.install(|| cfg.check_liveness(&mut raw));
        if cfg.profile {
            let mut p = Profile { threads: raw.stats.threads, ..Profile::default() };
            let prof = std::mem::replace(&mut raw.prof, profile::Prof::new(false));
            prof.merge_into(&mut p);
            if profile::from_env() {
                eprint!("{}", p.report());
            }
            raw.stats.profile = Some(p);
        }
        Ok(cfg.finish(raw, findings))
    }
}

/// Disk: spill, checkpoints and resume. States are written with their serde derives
/// (`codec.rs`).
impl<M> Bfs<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Keep the frontier (full states) and the parent links of finished levels in files under
    /// `dir` (in a directory of their own, removed at the end) instead of RAM: the run then
    /// needs about the visited set (9-14 bytes per state) in RAM, plus the liveness graph if
    /// liveness properties are checked (it stays in memory). Results are identical.
    pub fn spill(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cfg.codec = Some(Codec::cbor());
        self.cfg.spill = Some(dir.into());
        self
    }

    /// Write a checkpoint to `dir` at the first level boundary after every `every` of wall
    /// time (`checkpoint.rs`; `Duration::ZERO`: at every boundary).
    pub fn checkpoint(mut self, dir: impl Into<PathBuf>, every: Duration) -> Self {
        self.cfg.codec = Some(Codec::cbor());
        self.cfg.checkpoint = Some((dir.into(), every));
        self
    }

    /// Continue from the current checkpoint in `dir` instead of the initial states: the
    /// counts, verdicts and traces are those of a run that never stopped. The model, the
    /// properties, liveness, symmetry, coverage and [`identity`](Bfs::identity) must be the
    /// checkpoint's; threads and limits may differ.
    pub fn resume(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cfg.codec = Some(Codec::cbor());
        self.cfg.resume = Some(dir.into());
        self
    }
}

/// Per liveness property: whether it is a possibility property (the ones that read allowed bits).
fn possibility_flags<M: Model>(props: &[LiveProperty<M>]) -> Vec<bool> {
    props.iter().map(|p| matches!(p.kind, crate::liveness::Liveness::Possibility { .. })).collect()
}
