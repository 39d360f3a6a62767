//! One rank's part of a distributed run: the levels, the batches, the exchanges (see `mod.rs`).

use std::hash::Hash;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{de::DeserializeOwned, Serialize};
use stateright::{Expectation, Model, Property};

use super::comm::{put, Comm};
use super::front::Front;
use super::live::{Acc, Kinds, PartLive};
use super::logs::{record, Logs, REC};
use super::number::{number, Win};
use super::owner;
use crate::bfs::{decides, replay, Bfs, Config, BATCH};
use crate::outcome::*;
use crate::sys;
use crate::table::{shard_of, Shard, Store, SHARDS};

/// Bytes of a successor record before its state: fingerprint, parent index, action, length.
const HEAD: usize = 8 + 8 + 4 + 4;

/// Why a rank wants to stop, as a number: the smallest over the ranks wins (the same order in
/// which the single-process engine tests its limits).
const LIMITS: [StopReason; 4] =
    [StopReason::Stopped, StopReason::Timeout, StopReason::MaxMemory, StopReason::MaxStates];
const NO_LIMIT: u64 = u64::MAX;

/// The search at a level boundary: everything one level hands the next (and a checkpoint
/// keeps, `checkpoint.rs`).
pub(super) struct At {
    pub(super) shards: Vec<Shard>,
    pub(super) logs: Logs,
    /// The level's states this rank owns.
    pub(super) front: Front,
    /// Per property: (level, global index) of the first state that decided it.
    pub(super) found: Vec<Option<(usize, u64)>>,
    /// The level's global index range.
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) depth: usize,
    /// Successors this rank generated (summed over the ranks at the end).
    pub(super) generated: u64,
    pub(super) level_starts: Vec<u64>,
    /// Deadlocks, `P`/`Q` states and reverse edges for the liveness checks (`live.rs`).
    pub(super) live: Acc,
}

/// What the expansion of one sub-chunk generated and found.
struct Part {
    /// (fingerprint, parent index, action, end of its bytes in `bytes`), in (parent, action)
    /// order; at the depth bound successors are only probed and have no bytes.
    succ: Vec<(u64, u64, u32, u32)>,
    bytes: Vec<u8>,
    generated: u64,
    /// Per active property: the smallest index of a state that decides it (`u64::MAX`: none).
    hits: Vec<u64>,
    live: PartLive,
}

/// The best candidate so far for a fingerprint new in this level, at its owner: the parent,
/// the action, the rank that sent it, and where its bytes are in the shard's arena.
#[derive(Clone, Copy)]
struct Slot {
    parent: u64,
    action: u32,
    src: u32,
    at: u64,
    len: u32,
}

/// One shard's candidates for the next level.
#[derive(Default)]
struct Pending {
    best: FxHashMap<u64, Slot>,
    /// The candidates' bytes (a replaced candidate's stay until the level ends).
    arena: Vec<u8>,
}

/// Where a winner's bytes are: (shard, offset, length).
type Loc = (u32, u64, u32);

impl<'a, M> Bfs<'a, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Runs the search as one rank of an MPI job (every rank calls it with the same model and
    /// options; MPI initialised by [`crate::dist::init`]). Every rank returns the same outcome:
    /// counts, verdicts and traces equal to [`Bfs::run`]'s when the search is complete. Limits
    /// stop every rank at the same batch; `finish_when` is applied at level ends. Deadlock and
    /// possibility properties are checked (`live.rs`), leads-to is reported
    /// [`Verdict::Unchecked`]; coverage and bitstate are refused
    /// ([`io::ErrorKind::Unsupported`]). `spill` keeps the parent logs on disk (the frontier
    /// stays in memory, packed); `checkpoint` and `resume` work per rank (`checkpoint.rs`).
    pub fn run_distributed(mut self, comm: &Comm) -> io::Result<Outcome<M>> {
        let cfg = &self.cfg;
        let refuse = |what: &str| {
            Err(io::Error::new(io::ErrorKind::Unsupported, format!("{what} is not supported in a distributed run yet")))
        };
        if cfg.coverage.is_some() {
            return refuse("coverage");
        }
        if cfg.store != Store::Exact {
            return refuse("a bitstate store");
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .build()
            .expect("cannot build the rayon thread pool");
        let (mut stats, stop, at) = cfg.search_distributed(comm, &pool, &mut self.progress)?;
        stats.threads = pool.current_num_threads();
        let model = cfg.model;
        let inits = model.init_states();
        let complete = stop == StopReason::Exhausted;
        let mut properties = Vec::new();
        for (p, hit) in model.properties().into_iter().zip(&at.found) {
            let discovery = match hit {
                Some((d, idx)) => {
                    let (init, steps) = at.logs.path_to(comm, *d, *idx)?;
                    Some(replay(model, &inits, init, &steps))
                }
                None => None,
            };
            properties.push(PropertyOutcome {
                name: p.name,
                verdict: Verdict::of(&p.expectation, hit.is_some(), complete),
                expectation: p.expectation,
                discovery,
                cycle_start: None,
                note: String::new(),
                region: None,
            });
        }
        let liveness = cfg.live_outcomes_dist(comm, at.live, &at.logs, &at.level_starts, stop, &inits)?;
        Ok(Outcome { stats, stop, properties, liveness, coverage: None })
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// A new parent log: in memory, or in the spill directory.
    pub(super) fn new_logs(&self, comm: &Comm) -> io::Result<Logs> {
        match &self.spill {
            Some(dir) => Logs::on_disk(dir, comm.rank),
            None => Ok(Logs::in_memory()),
        }
    }

    /// Level 0: every rank numbers the initial states alike, and keeps those it owns.
    fn dist_fresh(&self, comm: &Comm, found: usize) -> io::Result<At> {
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new(self.store, false)).collect();
        let mut front = Front::default();
        let (mut seen, mut scratch, mut bytes, mut recs) = (FxHashMap::default(), Vec::new(), Vec::new(), Vec::new());
        let mut generated = 0u64;
        for (i, s) in self.model.init_states().iter().enumerate() {
            if !self.model.within_boundary(s) {
                continue;
            }
            generated += u64::from(comm.rank == 0);
            let fp = self.fp(s, &mut scratch);
            let idx = seen.len() as u64;
            if seen.insert(fp, ()).is_none() && owner(fp, comm.size) == comm.rank {
                shards[shard_of(fp)].insert(fp);
                bytes.clear();
                self.put_state(s, &mut bytes);
                front.push(idx, &bytes);
                record(&mut recs, idx, None, i as u32)?;
            }
        }
        let mut logs = self.new_logs(comm)?;
        logs.push_level(&recs)?;
        let len = seen.len() as u64;
        Ok(At {
            shards,
            logs,
            front,
            found: vec![None; found],
            start: 0,
            len,
            depth: 0,
            generated,
            level_starts: Vec::new(),
            live: Acc::default(),
        })
    }

    fn search_distributed(
        &self,
        comm: &Comm,
        pool: &rayon::ThreadPool,
        progress: &mut Option<crate::bfs::ProgressFn<'_>>,
    ) -> io::Result<(Stats, StopReason, At)> {
        let start_time = Instant::now();
        let model = self.model;
        let props = model.properties();
        let checked: Vec<usize> =
            (0..props.len()).filter(|&i| props[i].expectation != Expectation::Eventually).collect();
        // Liveness data is gathered from the start only (it is not checkpointed).
        let kinds = match (&self.live, &self.resume) {
            (Some(l), None) => Kinds::of(&l.props),
            _ => Kinds::default(),
        };
        let tracked = kinds.possibility | kinds.deadlock != 0;
        let mut stats = Stats { peak_rss_bytes: sys::rss_bytes(), ..Stats::default() };
        let mut at = match &self.resume {
            Some(dir) => self.dist_load(comm, dir, &props, &mut stats)?,
            None => {
                let at = self.dist_fresh(comm, props.len());
                let at = comm.agree(at)?;
                stats.unique_states = at.len;
                at
            }
        };
        let (resumed_at, resumed_time) = (self.resume.as_ref().map(|_| at.depth), stats.elapsed);
        let mut last_progress = Instant::now();
        let mut last_checkpoint = Instant::now();

        let stop = loop {
            if at.len == 0 {
                break StopReason::Exhausted;
            }
            if let Some((dir, every)) = &self.checkpoint {
                // Rank 0's clock decides, so that every rank writes at the same level.
                let due = comm.max(&[u64::from(comm.rank == 0 && last_checkpoint.elapsed() >= *every)])[0] != 0;
                if due && resumed_at != Some(at.depth) {
                    let elapsed = resumed_time + start_time.elapsed();
                    self.dist_checkpoint(comm, dir, &at, &props, &stats, elapsed)?;
                    last_checkpoint = Instant::now();
                }
            }
            let depth = at.depth;
            stats.max_depth = depth;
            stats.frontier_bytes = stats.frontier_bytes.max(at.front.bytes() as u64);
            stats.level_sizes.push(at.len);
            at.level_starts.push(at.start);
            let expand = self.max_depth.is_none_or(|m| depth < m);
            let active: Vec<usize> = checked.iter().copied().filter(|&i| at.found[i].is_none()).collect();
            let mut hits = vec![u64::MAX; active.len()];
            let mut pending: Vec<Pending> = (0..SHARDS).map(|_| Pending::default()).collect();
            let would_grow = AtomicBool::new(false);
            let batches = comm.max(&[at.front.len().div_ceil(BATCH) as u64])[0] as usize;
            let mut limit = None;
            for b in 0..batches {
                stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
                let waiting = pending.iter().map(|p| p.best.len()).sum::<usize>() as u64;
                let waiting = comm.sum(&[waiting])[0];
                let code = comm.min(&[self.limit_code(&stats, start_time, stats.unique_states + waiting)])[0];
                if code != NO_LIMIT {
                    limit = Some(LIMITS[code as usize]);
                    break;
                }
                let chunks = at.front.sub_chunks(b * BATCH, (b + 1) * BATCH);
                // `Comm` is not `Sync`: MPI stays on this thread (MPI_THREAD_FUNNELED).
                let ranks = comm.size;
                let parts: io::Result<Vec<Part>> = pool.install(|| {
                    chunks
                        .par_iter()
                        .map(|&(ix, by)| self.expand_dist(ix, by, &props, &active, expand, kinds))
                        .collect()
                });
                // A rank that cannot go on says so before the exchange: every rank then stops
                // with an error instead of waiting for it in a collective.
                let mut parts = comm.agree(parts)?;
                if tracked {
                    at.live.add(comm, kinds, parts.iter_mut().map(|p| &mut p.live))?;
                }
                let to = pool.install(|| outgoing(&parts, ranks, &mut at.generated, &mut hits));
                drop(parts);
                let got = comm.exchange(to)?;
                let cands = candidates(&got.buf, &got.from)?;
                let buf = &got.buf;
                let would_grow = &would_grow;
                pool.install(|| {
                    let work = at.shards.par_iter_mut().zip(pending.par_iter_mut()).zip(cands.par_iter());
                    work.for_each(|((shard, pend), cands)| {
                        for &(fp, parent, action, src, lo, hi) in cands {
                            if shard.contains(fp) {
                                continue;
                            }
                            if !expand {
                                would_grow.store(true, Relaxed);
                                continue;
                            }
                            let better = pend.best.get(&fp).is_none_or(|s| (parent, action) < (s.parent, s.action));
                            if better {
                                let slot =
                                    Slot { parent, action, src, at: pend.arena.len() as u64, len: (hi - lo) as u32 };
                                pend.arena.extend_from_slice(&buf[lo..hi]);
                                pend.best.insert(fp, slot);
                            }
                        }
                    })
                });
                if let Some(cb) = progress.as_mut() {
                    if last_progress.elapsed() >= self.progress_interval {
                        last_progress = Instant::now();
                        let elapsed = start_time.elapsed();
                        let unique = stats.unique_states + waiting;
                        cb(&Progress {
                            unique_states: unique,
                            generated_states: at.generated,
                            depth,
                            elapsed,
                            states_per_sec: unique as f64 / elapsed.as_secs_f64().max(1e-9),
                            rss_bytes: sys::rss_bytes(),
                            level_sizes: stats.level_sizes.clone(),
                        });
                    }
                }
            }
            // The first state of the level (in BFS order) that decides each property.
            let hits = comm.min(&hits);
            for (slot, &pi) in active.iter().enumerate() {
                if hits[slot] != u64::MAX {
                    at.found[pi] = Some((depth, hits[slot]));
                }
            }
            if let Some(r) = limit {
                break r;
            }
            let found = &at.found;
            let violated = checked.iter().any(|&i| found[i].is_some() && props[i].expectation == Expectation::Always);
            let decided = !checked.is_empty() && checked.iter().all(|&i| found[i].is_some());
            match self.finish_when {
                FinishWhen::AnyViolation if violated => break StopReason::Finished,
                FinishWhen::AllDecided if decided => break StopReason::Finished,
                _ => {}
            }
            if !expand {
                let grow = comm.max(&[u64::from(would_grow.into_inner())])[0] != 0;
                break if grow { StopReason::MaxDepth } else { StopReason::Exhausted };
            }
            stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
            let next_len = self.next_level(comm, &mut at, pending)?;
            stats.unique_states += next_len;
        };

        stats.generated_states = comm.sum(&[at.generated])[0];
        // The job's memory: the sum of the ranks' peaks (levels end together, so the peaks
        // are close in time); a rank's own peak is what `max_memory` limits.
        stats.peak_rss_bytes = comm.sum(&[stats.peak_rss_bytes.max(sys::rss_bytes())])[0];
        let visited = (at.shards.iter().map(Shard::bytes).sum::<usize>() + at.logs.bytes()) as u64;
        stats.visited_bytes = comm.sum(&[visited])[0];
        stats.frontier_bytes = comm.max(&[stats.frontier_bytes])[0];
        stats.elapsed = resumed_time + start_time.elapsed();
        Ok((stats, stop, at))
    }

    /// Numbers the level's winners (`number.rs`), stores their fingerprints, logs their
    /// parents and makes them the frontier; returns the new level's size over all ranks.
    fn next_level(&self, comm: &Comm, at: &mut At, pending: Vec<Pending>) -> io::Result<u64> {
        // What the level-end peak holds is cut where it costs nothing: the expanded frontier
        // goes first, each shard's candidate map as soon as its winners are listed (the
        // arenas stay: the winners' bytes are there), and the new frontier is allocated once.
        at.front = Front::default();
        let mut wins: Vec<Win<Loc>> = Vec::with_capacity(pending.iter().map(|p| p.best.len()).sum());
        let mut arenas = Vec::with_capacity(pending.len());
        for (s, p) in pending.into_iter().enumerate() {
            wins.extend(p.best.into_iter().map(|(fp, w)| Win {
                fp,
                parent: w.parent,
                action: w.action,
                src: w.src,
                payload: (s as u32, w.at, w.len),
            }));
            arenas.push(p.arena);
        }
        let (start, len) = (at.start, at.len);
        let (numbered, next_len) = number(comm, wins, start, len, start + len)?;
        let bytes = numbered.iter().map(|(_, w)| w.payload.2 as usize).sum();
        let mut front = Front::with_capacity(numbered.len(), bytes);
        let mut recs = Vec::with_capacity(numbered.len() * REC);
        let mut failed = None;
        for (idx, w) in &numbered {
            at.shards[shard_of(w.fp)].insert(w.fp);
            let (s, a, n) = w.payload;
            front.push(*idx, &arenas[s as usize][a as usize..a as usize + n as usize]);
            if let Err(e) = record(&mut recs, *idx, Some(w.parent), w.action) {
                failed.get_or_insert(e);
            }
        }
        drop((numbered, arenas));
        let logged = match failed {
            Some(e) => Err(e),
            None => at.logs.push_level(&recs),
        };
        // Every rank goes on, or every rank stops with an error (no rank left in a collective).
        comm.agree(logged)?;
        at.front = front;
        at.start += len;
        at.len = next_len;
        at.depth += 1;
        Ok(next_len)
    }

    /// This rank's limit, as an index into [`LIMITS`] (or [`NO_LIMIT`]); `unique` counts the
    /// states found so far on all ranks.
    fn limit_code(&self, stats: &Stats, start: Instant, unique: u64) -> u64 {
        let hit = [
            self.stop.as_ref().is_some_and(|f| f.load(Relaxed)),
            self.timeout.is_some_and(|t| start.elapsed() >= t),
            self.max_memory.is_some_and(|m| stats.peak_rss_bytes > m),
            self.max_states.is_some_and(|m| unique >= m),
        ];
        hit.iter().position(|&h| h).map_or(NO_LIMIT, |i| i as u64)
    }

    /// Evaluates the active properties on a sub-chunk of the frontier (global indices `idx`,
    /// states `bytes`) and generates its successors, in (index, action) order.
    fn expand_dist(
        &self,
        idx: &[u64],
        mut bytes: &[u8],
        props: &[Property<M>],
        active: &[usize],
        expand: bool,
        kinds: Kinds,
    ) -> io::Result<Part> {
        let model = self.model;
        let mut part = Part {
            succ: Vec::new(),
            bytes: Vec::new(),
            generated: 0,
            hits: vec![u64::MAX; active.len()],
            live: PartLive::new(),
        };
        let mut actions = Vec::new();
        let mut scratch = Vec::new();
        let tracked = kinds.possibility | kinds.deadlock != 0;
        for &i in idx {
            let s = self.get_state(&mut bytes)?;
            for (slot, &pi) in active.iter().enumerate() {
                if part.hits[slot] == u64::MAX && decides(model, &props[pi], &s) {
                    part.hits[slot] = i;
                }
            }
            let own = if kinds.possibility != 0 { self.fp(&s, &mut scratch) } else { 0 };
            let bits = if tracked { self.live_state(kinds, &mut part.live, &s, own, i) } else { 0 };
            let before = part.succ.len();
            model.actions(&s, &mut actions);
            for (a, action) in actions.drain(..).enumerate() {
                let allowed = self.live_allowed(kinds, &action);
                let Some(n) = model.next_state(&s, action) else { continue };
                if !model.within_boundary(&n) {
                    continue;
                }
                let fp = self.fp(&n, &mut scratch);
                Self::live_edge(&mut part.live, own, fp, allowed);
                if expand {
                    self.put_successor(&n, &scratch, &mut part.bytes);
                }
                let end = u32::try_from(part.bytes.len()).map_err(|_| io::Error::other("a sub-chunk over 4 GiB"))?;
                part.succ.push((fp, i, a as u32, end));
            }
            if tracked {
                self.live_end(kinds, &mut part.live, bits, part.succ.len() - before, i);
            }
        }
        if expand {
            part.generated = part.succ.len() as u64;
        }
        Ok(part)
    }
}

/// The batch's successors for their owners (this rank too: the exchange copies its own part),
/// as records of fingerprint, parent index, action, length and state bytes (none at the depth
/// bound). Only the first occurrence of a state in (parent, action) order can win, so the
/// batch's duplicates (most successors) are not sent; sorted as small keys, not as records.
fn outgoing(parts: &[Part], ranks: usize, generated: &mut u64, hits: &mut [u64]) -> Vec<Vec<u8>> {
    let mut keys: Vec<(u64, u64, u32, u32, u32)> = Vec::with_capacity(parts.iter().map(|p| p.succ.len()).sum());
    for (k, p) in parts.iter().enumerate() {
        *generated += p.generated;
        hits.iter_mut().zip(&p.hits).for_each(|(h, &x)| *h = (*h).min(x));
        keys.extend(p.succ.iter().enumerate().map(|(i, &(fp, pa, a, _))| (fp, pa, a, k as u32, i as u32)));
    }
    keys.par_sort_unstable();
    keys.dedup_by_key(|c| c.0);
    let mut to = vec![Vec::new(); ranks];
    for &(fp, pa, a, k, i) in &keys {
        let p = &parts[k as usize];
        let lo = if i == 0 { 0 } else { p.succ[i as usize - 1].3 as usize };
        let hi = p.succ[i as usize].3 as usize;
        let out = &mut to[owner(fp, ranks)];
        put(out, fp);
        put(out, pa);
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&((hi - lo) as u32).to_le_bytes());
        out.extend_from_slice(&p.bytes[lo..hi]);
    }
    to
}

/// A received successor: (fingerprint, parent index, action, sending rank, byte range).
type Cand = (u64, u64, u32, u32, usize, usize);

/// Splits received successor records by shard of the visited set.
fn candidates(buf: &[u8], from: &[std::ops::Range<usize>]) -> io::Result<Vec<Vec<Cand>>> {
    let mut out: Vec<Vec<Cand>> = (0..SHARDS).map(|_| Vec::new()).collect();
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "a truncated successor record");
    for (src, r) in from.iter().enumerate() {
        let mut at = r.start;
        while at < r.end {
            let head = buf.get(at..at + HEAD).filter(|_| at + HEAD <= r.end).ok_or_else(bad)?;
            let u64_at = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
            let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
            let (fp, parent, action, len) = (u64_at(0), u64_at(8), u32_at(16), u32_at(20) as usize);
            let lo = at + HEAD;
            if lo + len > r.end {
                return Err(bad());
            }
            out[shard_of(fp)].push((fp, parent, action, src as u32, lo, lo + len));
            at = lo + len;
        }
    }
    Ok(out)
}
