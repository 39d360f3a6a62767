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

use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use stateright::{Expectation, Model, Property};

use crate::frontier::Segments;
use crate::graph::{Fairness, Recorder, SubRecord};
use crate::liveness::{FairnessFn, Finding, LiveProperty, Liveness};
use crate::outcome::*;
use crate::parents::{ByteLog, Levels};
use crate::sys;
use crate::table::{bitstate_stats, shard_of, Shard, Store, SHARDS};

/// Frontier states per sub-chunk (the unit of parallel work in phases A and C).
const SUB: usize = 512;
/// Sub-chunks per batch (the unit between limit checks).
const BATCH_SUBS: usize = 16;
/// Frontier states per batch.
const BATCH: usize = SUB * BATCH_SUBS;

/// How many candidates ahead phase B prefetches table slots.
const PREFETCH: usize = 16;

/// Fixed seeds, so a fingerprint is the same in every run of one build.
const SEEDS: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

/// 64-bit fingerprint of a state; never 0 (0 marks an empty slot).
#[inline]
pub fn fingerprint<T: Hash>(v: &T) -> u64 {
    SEEDS.hash_one(v).max(1)
}

/// A canonicaliser for symmetry reduction: maps a state to its orbit's representative (a
/// closure, so that it can read the model's groups of interchangeable components).
pub type Canonicalise<'a, S> = Box<dyn Fn(&S) -> S + Send + Sync + 'a>;

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// Coverage: adds what one step did to `counts` (which counters, and how many there are, is the
/// caller's business: `Bfs::coverage`). Called with the state, the action and its successor.
pub type CoverageFn<M> = fn(&M, &<M as Model>::State, &<M as Model>::Action, &<M as Model>::State, &mut [u64]);

/// Builder and entry point: `Bfs::new(&model).threads(2).max_states(Some(n)).run()`.
pub struct Bfs<'a, M: Model> {
    cfg: Config<'a, M>,
    progress: Option<ProgressFn<'a>>,
}

/// Everything but the progress callback (which is `Send` but not `Sync`).
struct Config<'a, M: Model> {
    model: &'a M,
    threads: usize,
    max_states: Option<u64>,
    max_depth: Option<usize>,
    timeout: Option<Duration>,
    max_memory: Option<u64>,
    stop: Option<Arc<AtomicBool>>,
    symmetry: Option<Canonicalise<'a, M::State>>,
    progress_interval: Duration,
    finish_when: FinishWhen,
    live: Option<LiveCfg<M>>,
    /// Coverage counters (how many) and the function that fills them; `None`: no counting, and
    /// phase A and C do no more than a never-taken branch per successor.
    coverage: Option<(usize, CoverageFn<M>)>,
    /// The visited set's kind (table.rs).
    store: Store,
}

/// Liveness properties and the fairness of every step.
struct LiveCfg<M: Model> {
    props: Vec<LiveProperty<M>>,
    fairness: FairnessFn<M>,
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
}

/// Reusable buffers of one sub-chunk.
struct Sub<S, A> {
    succ: Vec<S>,
    /// (frontier position within the sub-chunk, action index) of each successor.
    origin: Vec<(u32, u32)>,
    fps: Vec<u64>,
    /// (fingerprint, successor index), grouped by shard, stable within a shard.
    sorted: Vec<(u64, u32)>,
    /// `sorted[offsets[s]..offsets[s + 1]]` belongs to shard `s`.
    offsets: Vec<u32>,
    is_new: Vec<AtomicBool>,
    /// Per property (in `checked` order): first position where it was decided.
    first_hit: Vec<Option<u32>>,
    generated: u64,
    next: Vec<S>,
    next_action: Vec<u32>,
    children: Vec<u32>,
    /// The graph records of this sub-chunk (liveness only).
    rec: SubRecord,
    /// Coverage only: the action of each successor (for phase C), and this batch's counts
    /// over generated transitions and over those that found a new state.
    acts: Vec<A>,
    cov_generated: Vec<u64>,
    cov_distinct: Vec<u64>,
}

impl<S, A> Sub<S, A> {
    fn new() -> Self {
        Sub {
            succ: Vec::new(),
            origin: Vec::new(),
            fps: Vec::new(),
            sorted: Vec::new(),
            offsets: vec![0; SHARDS + 1],
            is_new: Vec::new(),
            first_hit: Vec::new(),
            generated: 0,
            next: Vec::new(),
            next_action: Vec::new(),
            children: Vec::new(),
            rec: SubRecord::default(),
            acts: Vec::new(),
            cov_generated: Vec::new(),
            cov_distinct: Vec::new(),
        }
    }
}

/// True if `state` decides the property (a violation of `Always`, a witness of `Sometimes`).
fn decides<M: Model>(model: &M, p: &Property<M>, state: &M::State) -> bool {
    let holds = (p.condition)(model, state);
    match p.expectation {
        Expectation::Always => !holds,
        Expectation::Sometimes => holds,
        Expectation::Eventually => false,
    }
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
                progress_interval: Duration::from_secs(1),
                finish_when: FinishWhen::Exhausted,
                live: None,
                coverage: None,
                store: Store::Exact,
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
    /// them [`Verdict::Incomplete`]; with symmetry reduction they are [`Verdict::Unchecked`]
    /// (fairness classes are not invariant under the symmetry).
    pub fn liveness(mut self, props: Vec<LiveProperty<M>>, fairness: FairnessFn<M>) -> Self {
        assert!(props.len() <= 8, "at most 8 liveness properties");
        self.cfg.live = Some(LiveCfg { props, fairness });
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

    /// Which visited set to keep (default exact). [`Store::Bitstate`] ends a search that runs
    /// out of states with [`StopReason::Bitstate`], never `Exhausted`, and leaves liveness
    /// [`Verdict::Unchecked`]: it needs the exact graph. Parent links do not depend on the
    /// store (`parents.rs`), so counterexamples stay real and replayable, but a dropped state
    /// may hide a shorter one.
    pub fn store(mut self, store: Store) -> Self {
        self.cfg.store = store;
        self
    }

    /// Runs the search on a rayon pool of the configured size.
    pub fn run(mut self) -> Outcome<M> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.cfg.threads)
            .build()
            .expect("cannot build the rayon thread pool");
        let cfg = &self.cfg;
        let progress = &mut self.progress;
        let mut raw = pool.install(|| cfg.search(progress));
        raw.stats.threads = pool.current_num_threads();
        let findings = pool.install(|| cfg.check_liveness(&mut raw));
        cfg.finish(raw, findings)
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    fn fp(&self, s: &M::State) -> u64 {
        match &self.symmetry {
            Some(c) => fingerprint(&c(s)),
            None => fingerprint(s),
        }
    }

    fn limit_hit(&self, stats: &Stats, start: Instant) -> Option<StopReason> {
        if self.stop.as_ref().is_some_and(|f| f.load(Relaxed)) {
            return Some(StopReason::Stopped);
        }
        if self.timeout.is_some_and(|t| start.elapsed() >= t) {
            return Some(StopReason::Timeout);
        }
        if self.max_memory.is_some_and(|m| stats.peak_rss_bytes > m) {
            return Some(StopReason::MaxMemory);
        }
        if self.max_states.is_some_and(|m| stats.unique_states >= m) {
            return Some(StopReason::MaxStates);
        }
        None
    }

    fn search(&self, progress: &mut Option<ProgressFn<'_>>) -> Raw {
        let start = Instant::now();
        let model = self.model;
        let props = model.properties();
        // Properties this engine checks; `Eventually` is reported as unchecked.
        let checked: Vec<usize> =
            (0..props.len()).filter(|&i| props[i].expectation != Expectation::Eventually).collect();
        let mut found: Vec<Option<(usize, usize)>> = vec![None; props.len()];
        let mut stats = Stats { peak_rss_bytes: sys::rss_bytes(), ..Stats::default() };
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new(self.store)).collect();
        let mut levels = Levels::default();

        let inits = model.init_states();
        let mut frontier = Segments::new(BATCH);
        let mut init_log = ByteLog::default();
        let recording = self.live.is_some() && self.symmetry.is_none() && self.store == Store::Exact;
        let mut graph = recording.then(|| {
            let filters = self
                .live
                .as_ref()
                .is_some_and(|l| l.props.iter().any(|p| matches!(p.kind, Liveness::Possibility { .. })));
            Recorder::new(filters)
        });
        let mut level_starts = Vec::new();
        for (i, s) in inits.iter().enumerate() {
            if !model.within_boundary(s) {
                continue;
            }
            stats.generated_states += 1;
            let fp = self.fp(s);
            if shards[shard_of(fp)].insert(fp) {
                frontier.push(s.clone());
                init_log.push(i as u32);
                if let Some(g) = graph.as_mut() {
                    g.stored(fp);
                }
            }
        }
        stats.unique_states = frontier.len() as u64;
        levels.action.push(init_log);

        let mut subs: Vec<Sub<M::State, M::Action>> = (0..BATCH_SUBS).map(|_| Sub::new()).collect();
        let mut coverage = self.coverage.map(|(n, _)| Coverage { generated: vec![0; n], distinct: vec![0; n] });
        if let Some((n, _)) = self.coverage {
            for sub in &mut subs {
                sub.cov_generated = vec![0; n];
                sub.cov_distinct = vec![0; n];
            }
        }
        // Phase B's candidate list per shard, kept across batches instead of being allocated and
        // grown again in every batch (about 2 MB per batch at toy N=6): the allocator may hand
        // such blocks back to the kernel, and perf showed page faults zeroing fresh pages.
        let mut cands: Vec<Vec<(u64, usize, u32)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        let mut last_progress = Instant::now();
        let mut depth = 0usize;
        let stop = 'levels: loop {
            if frontier.is_empty() {
                break StopReason::Exhausted;
            }
            stats.max_depth = depth;
            level_starts.push(stats.unique_states - frontier.len() as u64);
            stats.level_sizes.push(frontier.len() as u64);
            let expand = self.max_depth.is_none_or(|m| depth < m);
            let would_grow = AtomicBool::new(false);
            let mut next = Segments::new(BATCH);
            let mut next_log = ByteLog::default();
            let mut children_log = ByteLog::default();
            let (level, spare) = std::mem::replace(&mut frontier, Segments::new(BATCH)).into_parts();
            next.adopt_spare(spare);
            for (b, batch) in level.into_iter().enumerate() {
                stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
                if let Some(r) = self.limit_hit(&stats, start) {
                    break 'levels r;
                }
                let active: Vec<usize> = checked.iter().copied().filter(|&i| found[i].is_none()).collect();
                let chunks: Vec<&[M::State]> = batch.chunks(SUB).collect();
                let used = &mut subs[..chunks.len()];

                // Phase A: properties, successors, fingerprints, shard buckets.
                used.par_iter_mut()
                    .zip(&chunks)
                    .for_each(|(sub, chunk)| self.expand(sub, chunk, &props, &active, expand, recording));
                let base = b * BATCH;
                for (k, sub) in used.iter().enumerate() {
                    stats.generated_states += sub.generated;
                    for (slot, &pi) in active.iter().enumerate() {
                        if let (None, Some(j)) = (found[pi], sub.first_hit[slot]) {
                            found[pi] = Some((depth, base + k * SUB + j as usize));
                        }
                    }
                }

                // Phase B: per shard, in (position, action) order.
                let subs_ref: &[Sub<M::State, M::Action>] = used;
                let would_grow = &would_grow;
                shards.par_iter_mut().zip(cands.par_iter_mut()).enumerate().for_each(|(s, (shard, cands))| {
                    cands.clear();
                    for (k, sub) in subs_ref.iter().enumerate() {
                        let range = sub.offsets[s] as usize..sub.offsets[s + 1] as usize;
                        cands.extend(sub.sorted[range].iter().map(|&(fp, i)| (fp, k, i)));
                    }
                    for (c, &(fp, k, i)) in cands.iter().enumerate() {
                        if let Some(&(ahead, _, _)) = cands.get(c + PREFETCH) {
                            shard.prefetch(ahead);
                        }
                        if !expand {
                            if !shard.contains(fp) {
                                would_grow.store(true, Relaxed);
                            }
                        } else if shard.insert(fp) {
                            subs_ref[k].is_new[i as usize].store(true, Relaxed);
                        }
                    }
                });

                // Phase C: keep the new successors in order, log parent links.
                if expand {
                    used.par_iter_mut().zip(&chunks).for_each(|(sub, chunk)| {
                        self.collect_new(sub, chunk, recording);
                    });
                    for sub in used.iter_mut() {
                        if let Some(g) = graph.as_mut() {
                            g.expanded(&sub.rec, &sub.fps);
                        }
                        stats.unique_states += sub.next.len() as u64;
                        next.append(&mut sub.next);
                        next_log.extend(&sub.next_action);
                        children_log.extend(&sub.children);
                    }
                    if let Some(c) = coverage.as_mut() {
                        for sub in used.iter_mut() {
                            c.add(&mut sub.cov_generated, &mut sub.cov_distinct);
                        }
                    }
                } else if let Some(g) = graph.as_mut() {
                    for sub in used.iter() {
                        g.expanded(&sub.rec, &sub.fps);
                    }
                }
                drop(chunks);
                next.recycle(batch);

                if let Some(cb) = progress.as_mut() {
                    if last_progress.elapsed() >= self.progress_interval {
                        last_progress = Instant::now();
                        let elapsed = start.elapsed();
                        cb(&Progress {
                            unique_states: stats.unique_states,
                            generated_states: stats.generated_states,
                            depth,
                            elapsed,
                            states_per_sec: stats.unique_states as f64 / elapsed.as_secs_f64().max(1e-9),
                            rss_bytes: sys::rss_bytes(),
                            level_sizes: stats.level_sizes.clone(),
                        });
                    }
                }
                let violated =
                    checked.iter().any(|&i| found[i].is_some() && props[i].expectation == Expectation::Always);
                let decided = !checked.is_empty() && checked.iter().all(|&i| found[i].is_some());
                match self.finish_when {
                    FinishWhen::AnyViolation if violated => break 'levels StopReason::Finished,
                    FinishWhen::AllDecided if decided => break 'levels StopReason::Finished,
                    _ => {}
                }
            }
            if !expand {
                break if would_grow.into_inner() { StopReason::MaxDepth } else { StopReason::Exhausted };
            }
            next_log.shrink();
            children_log.shrink();
            if let Some(g) = graph.as_mut() {
                g.sample();
            }
            levels.children.push(children_log);
            levels.action.push(next_log);
            frontier = next;
            depth += 1;
        };

        // Running out of states proves nothing when the store may have dropped some.
        let stop =
            if stop == StopReason::Exhausted && self.store != Store::Exact { StopReason::Bitstate } else { stop };
        stats.bitstate = bitstate_stats(&shards, self.store);
        stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
        stats.visited_bytes = (shards.iter().map(Shard::bytes).sum::<usize>() + levels.bytes()) as u64;
        stats.elapsed = start.elapsed();
        Raw { stats, stop, found, levels, level_starts, graph, coverage }
    }

    /// Verdicts and traces (rebuilt outside the pool: actions need not be `Send`).
    fn finish(&self, raw: Raw, findings: Vec<LiveResult>) -> Outcome<M> {
        let model = self.model;
        let inits = model.init_states();
        let complete = raw.stop == StopReason::Exhausted;
        let liveness = self.live_outcomes(&raw, &inits, findings);
        let properties = model
            .properties()
            .into_iter()
            .zip(raw.found)
            .map(|(p, hit)| {
                let verdict = Verdict::of(&p.expectation, hit.is_some(), complete);
                PropertyOutcome {
                    name: p.name,
                    expectation: p.expectation,
                    verdict,
                    discovery: hit.map(|(d, pos)| {
                        let (init, steps) = raw.levels.path_to(d, pos);
                        replay(model, &inits, init, &steps)
                    }),
                    cycle_start: None,
                    note: String::new(),
                }
            })
            .collect();
        Outcome { stats: raw.stats, stop: raw.stop, properties, liveness, coverage: raw.coverage }
    }

    /// Phase A for one sub-chunk of the frontier.
    fn expand(
        &self,
        sub: &mut Sub<M::State, M::Action>,
        chunk: &[M::State],
        props: &[Property<M>],
        active: &[usize],
        expand: bool,
        recording: bool,
    ) {
        let model = self.model;
        let live = self.live.as_ref().filter(|_| recording);
        // At the depth bound nothing is counted (as `generated_states`).
        let cov = self.coverage.filter(|_| expand).map(|(_, f)| f);
        sub.acts.clear();
        sub.rec.clear();
        sub.succ.clear();
        sub.origin.clear();
        sub.fps.clear();
        sub.generated = 0;
        sub.first_hit.clear();
        sub.first_hit.resize(active.len(), None);
        let mut actions = Vec::new();
        for (j, s) in chunk.iter().enumerate() {
            for (slot, &pi) in active.iter().enumerate() {
                if sub.first_hit[slot].is_none() && decides(model, &props[pi], s) {
                    sub.first_hit[slot] = Some(j as u32);
                }
            }
            let before = sub.fps.len();
            if let Some(l) = live {
                sub.rec.bits.push(live_bits(model, l, s));
            }
            model.actions(s, &mut actions);
            for (a, action) in actions.drain(..).enumerate() {
                let class =
                    live.map(|l| (Fairness::encode((l.fairness)(model, s, &action)), allowed_bits(model, l, &action)));
                let kept = cov.map(|_| action.clone());
                let Some(n) = model.next_state(s, action) else {
                    continue;
                };
                if !model.within_boundary(&n) {
                    continue;
                }
                if let (Some(count), Some(a)) = (cov, kept) {
                    count(model, s, &a, &n, &mut sub.cov_generated);
                    sub.acts.push(a);
                }
                if let Some((c, al)) = class {
                    sub.rec.class.push(c);
                    sub.rec.allowed.push(al);
                }
                sub.fps.push(self.fp(&n));
                if expand {
                    sub.origin.push((j as u32, a as u32));
                    sub.succ.push(n);
                }
            }
            if live.is_some() {
                sub.rec.count.push((sub.fps.len() - before) as u32);
            }
        }
        // At the depth bound successors are only probed (were any cut off?), not counted.
        sub.generated = if expand { sub.fps.len() as u64 } else { 0 };

        // Stable counting sort of the successors by shard.
        let offsets = &mut sub.offsets;
        offsets.iter_mut().for_each(|o| *o = 0);
        for &fp in &sub.fps {
            offsets[shard_of(fp) + 1] += 1;
        }
        for s in 0..SHARDS {
            offsets[s + 1] += offsets[s];
        }
        sub.sorted.clear();
        sub.sorted.resize(sub.fps.len(), (0, 0));
        let mut cursor: Vec<u32> = offsets[..SHARDS].to_vec();
        for (i, &fp) in sub.fps.iter().enumerate() {
            let c = &mut cursor[shard_of(fp)];
            sub.sorted[*c as usize] = (fp, i as u32);
            *c += 1;
        }
        sub.is_new.clear();
        sub.is_new.resize_with(sub.fps.len(), || AtomicBool::new(false));
    }

    /// Phase C for one sub-chunk: move the new successors out, in order.
    fn collect_new(&self, sub: &mut Sub<M::State, M::Action>, chunk: &[M::State], recording: bool) {
        sub.next_action.clear();
        sub.children.clear();
        sub.children.resize(chunk.len(), 0);
        let cov = self.coverage.map(|(_, f)| f);
        for (i, (((s, &(j, a)), new), &fp)) in
            sub.succ.drain(..).zip(&sub.origin).zip(&sub.is_new).zip(&sub.fps).enumerate()
        {
            if new.load(Relaxed) {
                if recording {
                    sub.rec.new_fp.push(fp);
                }
                if let Some(count) = cov {
                    count(self.model, &chunk[j as usize], &sub.acts[i], &s, &mut sub.cov_distinct);
                }
                sub.children[j as usize] += 1;
                sub.next_action.push(a);
                sub.next.push(s);
            }
        }
    }
}

/// P/Q bits of every liveness property at `s` (bit 2i: P of property i, 2i + 1: Q).
fn live_bits<M: Model>(model: &M, l: &LiveCfg<M>, s: &M::State) -> u16 {
    l.props.iter().enumerate().fold(0, |acc, (i, p)| {
        let (pp, qq) = match &p.kind {
            Liveness::LeadsTo { p, q } | Liveness::Possibility { p, q, .. } => (p(model, s), q(model, s)),
            Liveness::Deadlock { end } => (end(model, s), false),
        };
        acc | u16::from(pp) << (2 * i) | u16::from(qq) << (2 * i + 1)
    })
}

/// Bit i set if property i allows `action` (leads-to properties allow everything).
fn allowed_bits<M: Model>(model: &M, l: &LiveCfg<M>, action: &M::Action) -> u8 {
    l.props.iter().enumerate().fold(0, |acc, (i, p)| match &p.kind {
        Liveness::Possibility { allowed, .. } if !allowed(model, action) => acc,
        _ => acc | 1 << i,
    })
}

/// What the graph checks found for one liveness property.
enum LiveResult {
    Holds,
    Found(Finding),
    Unknown,
    Unchecked,
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    /// Builds the graph (after an exhausted search) and checks every liveness property.
    fn check_liveness(&self, raw: &mut Raw) -> Vec<LiveResult> {
        let Some(l) = &self.live else { return Vec::new() };
        if self.symmetry.is_some() || self.store != Store::Exact {
            return l.props.iter().map(|_| LiveResult::Unchecked).collect();
        }
        let rec = raw.graph.take().expect("recording");
        if raw.stop != StopReason::Exhausted {
            raw.stats.graph_bytes = rec.peak_bytes as u64;
            return l.props.iter().map(|_| LiveResult::Unknown).collect();
        }
        let start = Instant::now();
        let (g, peak) = rec.finish();
        let n = g.len();
        raw.stats.graph_bytes = peak.max(g.bytes() + crate::liveness::check_bytes(n)) as u64;
        raw.stats.graph_kept_bytes = g.bytes() as u64;
        let out = l
            .props
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let f = match p.kind {
                    Liveness::LeadsTo { .. } => crate::liveness::leads_to(&g, i),
                    Liveness::Possibility { .. } => crate::liveness::possibility(&g, i),
                    Liveness::Deadlock { .. } => crate::liveness::deadlock(&g, i),
                };
                f.map_or(LiveResult::Holds, |f| LiveResult::Found(f.with_ordinals(&g)))
            })
            .collect();
        raw.stats.liveness_elapsed = start.elapsed();
        raw.stats.peak_rss_bytes = raw.stats.peak_rss_bytes.max(sys::rss_bytes());
        out
    }

    fn live_outcomes(&self, raw: &Raw, inits: &[M::State], findings: Vec<LiveResult>) -> Vec<PropertyOutcome<M>> {
        let Some(l) = &self.live else { return Vec::new() };
        l.props
            .iter()
            .zip(findings)
            .map(|(p, r)| {
                let mut o = PropertyOutcome {
                    name: p.name,
                    expectation: Expectation::Eventually,
                    verdict: Verdict::Holds,
                    discovery: None,
                    cycle_start: None,
                    note: String::new(),
                };
                match r {
                    LiveResult::Holds => {}
                    LiveResult::Unknown => o.verdict = Verdict::Incomplete,
                    LiveResult::Unchecked => o.verdict = Verdict::Unchecked,
                    LiveResult::Found(f) => {
                        let idx = f.state as u64;
                        let d = raw.level_starts.partition_point(|&s| s <= idx) - 1;
                        let (init, steps) = raw.levels.path_to(d, (idx - raw.level_starts[d]) as usize);
                        let mut t = replay(self.model, inits, init, &steps);
                        let prefix = t.actions.len();
                        extend_by_ordinals(self.model, &mut t, &f.edges);
                        o.verdict = Verdict::Violated;
                        o.cycle_start = f.cycle_start.map(|c| prefix + c);
                        o.note = f.note;
                        o.discovery = Some(t);
                    }
                }
                o
            })
            .collect()
    }
}

/// Follows successor ordinals (the k-th successor within the boundary, the order the engine
/// recorded edges in) from the last state of `t`.
fn extend_by_ordinals<M: Model>(model: &M, t: &mut Discovery<M>, ordinals: &[usize])
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut buf = Vec::new();
    for &k in ordinals {
        let s = t.states.last().expect("non-empty").clone();
        buf.clear();
        model.actions(&s, &mut buf);
        let (a, n) = buf
            .drain(..)
            .filter_map(|a| model.next_state(&s, a.clone()).map(|n| (a, n)))
            .filter(|(_, n)| model.within_boundary(n))
            .nth(k)
            .expect("model is not deterministic: recorded edge is missing on replay");
        t.actions.push(a);
        t.states.push(n);
    }
}

/// Re-executes action indices from an initial state. The engine's frontier states were
/// produced exactly this way, so this yields the real states it saw.
fn replay<M: Model>(model: &M, inits: &[M::State], init: usize, steps: &[usize]) -> Discovery<M>
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut states = vec![inits[init].clone()];
    let mut actions = Vec::with_capacity(steps.len());
    let mut buf = Vec::new();
    for &a in steps {
        let s = states.last().expect("non-empty");
        buf.clear();
        model.actions(s, &mut buf);
        let action = buf[a].clone();
        let n =
            model.next_state(s, action.clone()).expect("model is not deterministic: replayed action has no successor");
        actions.push(action);
        states.push(n);
    }
    Discovery { init_index: init, actions, states }
}
