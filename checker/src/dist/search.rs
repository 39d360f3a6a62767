//! One rank's part of a distributed run: the levels, the batches, the exchanges (see `mod.rs`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use rayon::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use stateright::{Expectation, Model, Property};

use super::comm::{put, Comm};
use super::number::{number, Win};
use super::owner;
use crate::bfs::{decides, replay, Bfs, Config, BATCH, SUB};
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

/// Per level, the states this rank owns: global BFS index (ascending), parent's global index,
/// action index (level 0: index into `Model::init_states`). Append-only; 20 bytes per state.
#[derive(Default)]
struct Logs {
    own: Vec<Vec<u64>>,
    parent: Vec<Vec<u64>>,
    action: Vec<Vec<u32>>,
}

impl Logs {
    fn bytes(&self) -> usize {
        self.own.iter().chain(&self.parent).map(|v| v.capacity() * 8).sum::<usize>()
            + self.action.iter().map(|v| v.capacity() * 4).sum::<usize>()
    }

    /// (parent, action) of state `idx` of level `d` if this rank owns it.
    fn lookup(&self, d: usize, idx: u64) -> Option<(u64, u32)> {
        let i = self.own[d].binary_search(&idx).ok()?;
        Some((self.parent[d][i], self.action[d][i]))
    }

    /// (init index, action indices) leading to state `idx` of level `depth`: a walk back, one
    /// `Allreduce` per level (the owner of each state answers, the others say `u64::MAX`).
    fn path_to(&self, comm: &Comm, depth: usize, mut idx: u64) -> (usize, Vec<usize>) {
        let mut steps = Vec::with_capacity(depth);
        for d in (0..=depth).rev() {
            let here = self.lookup(d, idx).map_or([u64::MAX; 2], |(p, a)| [p, u64::from(a)]);
            let got = comm.min(&here);
            assert!(got[1] != u64::MAX, "state {idx} of level {d} has no owner");
            if d == 0 {
                steps.reverse();
                return (got[1] as usize, steps);
            }
            steps.push(got[1] as usize);
            idx = got[0];
        }
        unreachable!()
    }
}

/// What the expansion of one sub-chunk generated and found.
struct Part<S> {
    /// (fingerprint, parent index, action, successor; `None` at the depth bound, where
    /// successors are only probed), in (parent, action) order.
    succ: Vec<(u64, u64, u32, Option<S>)>,
    generated: u64,
    /// Per active property: the smallest index of a state that decides it (`u64::MAX`: none).
    hits: Vec<u64>,
}

/// A received successor: (fingerprint, parent index, action, sending rank, byte range).
type Cand = (u64, u64, u32, u32, usize, usize);

/// A candidate's state: still in memory (this rank generated it) or as received (CBOR).
enum Payload<S> {
    /// Boxed: candidates move (map entries, sorts), a kernel-model state is large.
    State(Box<S>),
    Cbor(Vec<u8>),
}

impl<'a, M> Bfs<'a, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Runs the search as one rank of an MPI job (every rank calls it with the same model and
    /// options; MPI initialised by [`crate::dist::init`]). Every rank returns the same outcome:
    /// counts, verdicts and traces equal to [`Bfs::run`]'s when the search is complete. Limits
    /// stop every rank at the same batch; `finish_when` is applied at level ends. Liveness
    /// properties are reported [`Verdict::Unchecked`]; coverage, bitstate, spill, checkpoints
    /// and resume are refused ([`io::ErrorKind::Unsupported`]).
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
        if cfg.spill.is_some() || cfg.checkpoint.is_some() || cfg.resume.is_some() {
            return refuse("disk spill, checkpointing or resume");
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .build()
            .expect("cannot build the rayon thread pool");
        let (mut stats, stop, found, logs) = cfg.search_distributed(comm, &pool, &mut self.progress)?;
        stats.threads = pool.current_num_threads();
        let model = cfg.model;
        let inits = model.init_states();
        let complete = stop == StopReason::Exhausted;
        let properties = model
            .properties()
            .into_iter()
            .zip(found)
            .map(|(p, hit)| PropertyOutcome {
                name: p.name,
                verdict: Verdict::of(&p.expectation, hit.is_some(), complete),
                expectation: p.expectation,
                discovery: hit.map(|(d, idx)| {
                    let (init, steps) = logs.path_to(comm, d, idx);
                    replay(model, &inits, init, &steps)
                }),
                cycle_start: None,
                note: String::new(),
                region: None,
            })
            .collect();
        let liveness = cfg.live.iter().flat_map(|l| &l.props).map(|p| PropertyOutcome {
            name: p.name,
            expectation: Expectation::Eventually,
            verdict: Verdict::Unchecked,
            discovery: None,
            cycle_start: None,
            note: "liveness is not checked in a distributed run yet (a single-process run checks it)".to_string(),
            region: None,
        });
        Ok(Outcome { stats, stop, properties, liveness: liveness.collect(), coverage: None })
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    #[allow(clippy::type_complexity)]
    fn search_distributed(
        &self,
        comm: &Comm,
        pool: &rayon::ThreadPool,
        progress: &mut Option<crate::bfs::ProgressFn<'_>>,
    ) -> io::Result<(Stats, StopReason, Vec<Option<(usize, u64)>>, Logs)> {
        let start_time = Instant::now();
        let model = self.model;
        let props = model.properties();
        let checked: Vec<usize> =
            (0..props.len()).filter(|&i| props[i].expectation != Expectation::Eventually).collect();
        let mut stats = Stats { peak_rss_bytes: sys::rss_bytes(), ..Stats::default() };
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new(self.store, false)).collect();
        let mut logs = Logs::default();
        let mut found: Vec<Option<(usize, u64)>> = vec![None; props.len()];

        // Level 0: every rank numbers the initial states alike, and keeps those it owns.
        let (mut frontier, mut own, mut act) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        let mut generated = 0u64;
        let mut scratch = Vec::new();
        for (i, s) in model.init_states().iter().enumerate() {
            if !model.within_boundary(s) {
                continue;
            }
            generated += u64::from(comm.rank == 0);
            let fp = self.fp(s, &mut scratch);
            if seen.insert(fp) {
                let idx = seen.len() as u64 - 1;
                if owner(fp, comm.size) == comm.rank {
                    shards[shard_of(fp)].insert(fp);
                    frontier.push((idx, s.clone()));
                    own.push(idx);
                    act.push(i as u32);
                }
            }
        }
        logs.own.push(own);
        logs.parent.push(vec![u64::MAX; act.len()]);
        logs.action.push(act);
        let (mut start, mut len) = (0u64, seen.len() as u64);
        drop(seen);
        stats.unique_states = len;
        let mut depth = 0usize;
        let mut last_progress = Instant::now();

        let stop = loop {
            if len == 0 {
                break StopReason::Exhausted;
            }
            stats.max_depth = depth;
            stats.level_sizes.push(len);
            let expand = self.max_depth.is_none_or(|m| depth < m);
            let active: Vec<usize> = checked.iter().copied().filter(|&i| found[i].is_none()).collect();
            let mut hits = vec![u64::MAX; active.len()];
            let mut pending: Vec<HashMap<u64, Win<Payload<M::State>>>> = (0..SHARDS).map(|_| HashMap::new()).collect();
            let would_grow = AtomicBool::new(false);
            let batches = comm.max(&[frontier.len().div_ceil(BATCH) as u64])[0] as usize;
            let mut limit = None;
            for b in 0..batches {
                stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
                let waiting = pending.iter().map(HashMap::len).sum::<usize>() as u64;
                let waiting = comm.sum(&[waiting])[0];
                let code = comm.min(&[self.limit_code(&stats, start_time, stats.unique_states + waiting)])[0];
                if code != NO_LIMIT {
                    limit = Some(LIMITS[code as usize]);
                    break;
                }
                let batch = &frontier[(b * BATCH).min(frontier.len())..((b + 1) * BATCH).min(frontier.len())];
                // `Comm` is not `Sync`: MPI stays on this thread (MPI_THREAD_FUNNELED).
                let (ranks, me) = (comm.size, comm.rank);
                let parts: Vec<Part<M::State>> = pool
                    .install(|| batch.par_chunks(SUB).map(|c| self.expand_dist(c, &props, &active, expand)).collect());
                // Only the first occurrence of a state in (parent, action) order can win: the
                // batch's duplicates (most successors) are neither encoded nor sent. Sorted as
                // small keys: a kernel-model state is large, and moving states was most of the
                // time (perf).
                let mut keys: Vec<(u64, u64, u32, u32, u32)> = Vec::new();
                let mut parts = parts;
                for (k, p) in parts.iter_mut().enumerate() {
                    generated += p.generated;
                    hits.iter_mut().zip(&p.hits).for_each(|(h, &x)| *h = (*h).min(x));
                    keys.extend(p.succ.iter().enumerate().map(|(i, &(fp, pa, a, _))| (fp, pa, a, k as u32, i as u32)));
                }
                pool.install(|| keys.par_sort_unstable());
                keys.dedup_by_key(|c| c.0);
                let (mut local, mut remote) = (Vec::new(), Vec::new());
                for &(fp, pa, a, k, i) in &keys {
                    let n = parts[k as usize].succ[i as usize].3.take();
                    if owner(fp, ranks) == me {
                        local.push((fp, pa, a, n.map(Box::new)));
                    } else {
                        remote.push((fp, pa, a, n));
                    }
                }
                drop((keys, parts));
                let to = pool.install(|| encode(&remote, ranks));
                drop(remote);
                let got = comm.exchange(to)?;
                let cands = candidates(&got.buf, &got.from)?;
                let mut mine: Vec<Vec<(u64, u64, u32, Option<Box<M::State>>)>> =
                    (0..SHARDS).map(|_| Vec::new()).collect();
                for c in local {
                    mine[shard_of(c.0)].push(c);
                }
                let buf = &got.buf;
                let would_grow = &would_grow;
                pool.install(|| {
                    let work = shards.par_iter_mut().zip(pending.par_iter_mut()).zip(cands.par_iter().zip(mine));
                    work.for_each(|((shard, pend), (cands, mine))| {
                        let remote = cands.iter().map(|&(fp, parent, action, src, lo, hi)| {
                            (fp, parent, action, src, Payload::Cbor(buf[lo..hi].to_vec()))
                        });
                        let local = mine.into_iter().map(|(fp, parent, action, s)| {
                            (fp, parent, action, me as u32, s.map_or(Payload::Cbor(Vec::new()), Payload::State))
                        });
                        for (fp, parent, action, src, payload) in remote.chain(local) {
                            if shard.contains(fp) {
                                continue;
                            }
                            if !expand {
                                would_grow.store(true, Relaxed);
                                continue;
                            }
                            let win = Win { fp, parent, action, src, payload };
                            match pend.entry(fp) {
                                Entry::Vacant(e) => {
                                    e.insert(win);
                                }
                                Entry::Occupied(mut e) if (parent, action) < (e.get().parent, e.get().action) => {
                                    e.insert(win);
                                }
                                Entry::Occupied(_) => {}
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
                            generated_states: generated,
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
                    found[pi] = Some((depth, hits[slot]));
                }
            }
            if let Some(r) = limit {
                break r;
            }
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
            let wins: Vec<Win<Payload<M::State>>> = pending.into_iter().flat_map(HashMap::into_values).collect();
            let (numbered, next_len) = number(comm, wins, start, len, start + len)?;
            let mut numbered = numbered;
            let states: Vec<M::State> = pool
                .install(|| {
                    numbered
                        .par_iter_mut()
                        .map(|(_, w)| match std::mem::replace(&mut w.payload, Payload::Cbor(Vec::new())) {
                            Payload::State(s) => Ok(*s),
                            Payload::Cbor(b) => ciborium::from_reader(&b[..]),
                        })
                        .collect::<Result<_, _>>()
                })
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("a received state: {e}")))?;
            let mut own = Vec::with_capacity(numbered.len());
            let mut parent = Vec::with_capacity(numbered.len());
            let mut action = Vec::with_capacity(numbered.len());
            for (idx, w) in &numbered {
                shards[shard_of(w.fp)].insert(w.fp);
                own.push(*idx);
                parent.push(w.parent);
                action.push(w.action);
            }
            frontier = own.iter().copied().zip(states).collect();
            logs.own.push(own);
            logs.parent.push(parent);
            logs.action.push(action);
            start += len;
            len = next_len;
            stats.unique_states += next_len;
            depth += 1;
        };

        stats.generated_states = comm.sum(&[generated])[0];
        stats.peak_rss_bytes = comm.max(&[stats.peak_rss_bytes.max(sys::rss_bytes())])[0];
        let visited = (shards.iter().map(Shard::bytes).sum::<usize>() + logs.bytes()) as u64;
        stats.visited_bytes = comm.sum(&[visited])[0];
        stats.elapsed = start_time.elapsed();
        Ok((stats, stop, found, logs))
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

    /// Evaluates the active properties on a sub-chunk of the frontier and generates its
    /// successors, in (index, action) order.
    fn expand_dist(
        &self,
        chunk: &[(u64, M::State)],
        props: &[Property<M>],
        active: &[usize],
        expand: bool,
    ) -> Part<M::State> {
        let model = self.model;
        let mut part = Part { succ: Vec::new(), generated: 0, hits: vec![u64::MAX; active.len()] };
        let mut actions = Vec::new();
        let mut scratch = Vec::new();
        for (idx, s) in chunk {
            for (slot, &pi) in active.iter().enumerate() {
                if part.hits[slot] == u64::MAX && decides(model, &props[pi], s) {
                    part.hits[slot] = *idx;
                }
            }
            model.actions(s, &mut actions);
            for (a, action) in actions.drain(..).enumerate() {
                let Some(n) = model.next_state(s, action) else { continue };
                if !model.within_boundary(&n) {
                    continue;
                }
                let fp = self.fp(&n, &mut scratch);
                part.succ.push((fp, *idx, a as u32, expand.then_some(n)));
            }
        }
        if expand {
            part.generated = part.succ.len() as u64;
        }
        part
    }
}

/// Encodes successors for their owners: per rank, records of fingerprint, parent index,
/// action, length and the state as CBOR (length 0 and no state at the depth bound).
fn encode<S: Serialize + Sync>(succ: &[(u64, u64, u32, Option<S>)], ranks: usize) -> Vec<Vec<u8>> {
    let parts: Vec<Vec<Vec<u8>>> = succ
        .par_chunks(SUB)
        .map(|chunk| {
            let mut to = vec![Vec::new(); ranks];
            for (fp, idx, a, n) in chunk {
                let out = &mut to[owner(*fp, ranks)];
                put(out, *fp);
                put(out, *idx);
                out.extend_from_slice(&a.to_le_bytes());
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                if let Some(n) = n {
                    ciborium::into_writer(n, &mut *out).expect("CBOR encoding into memory");
                    let len = (out.len() - at - 4) as u32;
                    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
                }
            }
            to
        })
        .collect();
    let mut to = vec![Vec::new(); ranks];
    for p in parts {
        to.iter_mut().zip(p).for_each(|(t, mut x)| t.append(&mut x));
    }
    to
}

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
