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
use crate::outcome::*;
use crate::parents::{ByteLog, Levels};
use crate::sys;
use crate::table::{shard_of, Shard, SHARDS};

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

/// A canonicaliser for symmetry reduction: maps a state to its orbit's representative.
pub type Canonicalise<S> = fn(&S) -> S;

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

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
    symmetry: Option<Canonicalise<M::State>>,
    progress_interval: Duration,
    finish_when: FinishWhen,
}

/// What the search hands back before traces are rebuilt.
struct Raw {
    stats: Stats,
    stop: StopReason,
    found: Vec<Option<(usize, usize)>>,
    levels: Levels,
}

/// Reusable buffers of one sub-chunk.
struct Sub<S> {
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
}

impl<S> Sub<S> {
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
    M::Action: Clone,
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
    pub fn symmetry(mut self, canon: Canonicalise<M::State>) -> Self {
        self.cfg.symmetry = Some(canon);
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
        cfg.finish(raw)
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone,
{
    fn fp(&self, s: &M::State) -> u64 {
        match self.symmetry {
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
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new()).collect();
        let mut levels = Levels::default();

        let inits = model.init_states();
        let mut frontier = Segments::new(BATCH);
        let mut init_log = ByteLog::default();
        for (i, s) in inits.iter().enumerate() {
            if !model.within_boundary(s) {
                continue;
            }
            stats.generated_states += 1;
            let fp = self.fp(s);
            if shards[shard_of(fp)].insert(fp) {
                frontier.push(s.clone());
                init_log.push(i as u32);
            }
        }
        stats.unique_states = frontier.len() as u64;
        levels.action.push(init_log);

        let mut subs: Vec<Sub<M::State>> = (0..BATCH_SUBS).map(|_| Sub::new()).collect();
        let mut last_progress = Instant::now();
        let mut depth = 0usize;
        let stop = 'levels: loop {
            if frontier.is_empty() {
                break StopReason::Exhausted;
            }
            stats.max_depth = depth;
            let expand = self.max_depth.is_none_or(|m| depth < m);
            let would_grow = AtomicBool::new(false);
            let mut next = Segments::new(BATCH);
            let mut next_log = ByteLog::default();
            let mut children_log = ByteLog::default();
            let level = std::mem::replace(&mut frontier, Segments::new(BATCH));
            for (b, batch) in level.into_segments().into_iter().enumerate() {
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
                    .for_each(|(sub, chunk)| self.expand(sub, chunk, &props, &active, expand));
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
                let subs_ref: &[Sub<M::State>] = used;
                let would_grow = &would_grow;
                shards.par_iter_mut().enumerate().for_each_init(Vec::new, |cands, (s, shard)| {
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
                        Self::collect_new(sub, chunk.len());
                    });
                    for sub in used.iter_mut() {
                        stats.unique_states += sub.next.len() as u64;
                        next.append(&mut sub.next);
                        next_log.extend(&sub.next_action);
                        children_log.extend(&sub.children);
                    }
                }

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
            levels.children.push(children_log);
            levels.action.push(next_log);
            frontier = next;
            depth += 1;
        };

        stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
        stats.visited_bytes = (shards.iter().map(Shard::bytes).sum::<usize>() + levels.bytes()) as u64;
        stats.elapsed = start.elapsed();
        Raw { stats, stop, found, levels }
    }

    /// Verdicts and traces (rebuilt outside the pool: actions need not be `Send`).
    fn finish(&self, raw: Raw) -> Outcome<M> {
        let model = self.model;
        let inits = model.init_states();
        let complete = raw.stop == StopReason::Exhausted;
        let properties = model
            .properties()
            .into_iter()
            .zip(raw.found)
            .map(|(p, hit)| {
                let verdict = match (&p.expectation, hit.is_some(), complete) {
                    (Expectation::Eventually, _, _) => Verdict::Unchecked,
                    (Expectation::Always, true, _) => Verdict::Violated,
                    (Expectation::Sometimes, true, _) => Verdict::Found,
                    (_, false, false) => Verdict::Unknown,
                    (Expectation::Always, false, true) => Verdict::Holds,
                    (Expectation::Sometimes, false, true) => Verdict::NotFound,
                };
                PropertyOutcome {
                    name: p.name,
                    expectation: p.expectation,
                    verdict,
                    trace: hit.map(|(d, pos)| {
                        let (init, steps) = raw.levels.path_to(d, pos);
                        replay(model, &inits, init, &steps)
                    }),
                }
            })
            .collect();
        Outcome { stats: raw.stats, stop: raw.stop, properties }
    }

    /// Phase A for one sub-chunk of the frontier.
    fn expand(
        &self,
        sub: &mut Sub<M::State>,
        chunk: &[M::State],
        props: &[Property<M>],
        active: &[usize],
        expand: bool,
    ) {
        let model = self.model;
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
            model.actions(s, &mut actions);
            for (a, action) in actions.drain(..).enumerate() {
                let Some(n) = model.next_state(s, action) else {
                    continue;
                };
                if !model.within_boundary(&n) {
                    continue;
                }
                sub.fps.push(self.fp(&n));
                if expand {
                    sub.origin.push((j as u32, a as u32));
                    sub.succ.push(n);
                }
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
    fn collect_new(sub: &mut Sub<M::State>, chunk_len: usize) {
        sub.next_action.clear();
        sub.children.clear();
        sub.children.resize(chunk_len, 0);
        for ((s, &(j, a)), new) in sub.succ.drain(..).zip(&sub.origin).zip(&sub.is_new) {
            if new.load(Relaxed) {
                sub.children[j as usize] += 1;
                sub.next_action.push(a);
                sub.next.push(s);
            }
        }
    }
}

/// Re-executes action indices from an initial state. The engine's frontier states were
/// produced exactly this way, so this yields the real states it saw.
fn replay<M: Model>(model: &M, inits: &[M::State], init: usize, steps: &[usize]) -> Trace<M>
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
    Trace { init_index: init, actions, states }
}
