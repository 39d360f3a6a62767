//! One run of the search: the levels, the batches, phases A to C (see `bfs.rs`).

use std::hash::Hash;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use rayon::prelude::*;
use stateright::{Expectation, Model, Property};

use super::live::{allowed_bits, inside, live_bits, replay, section_tag, LiveResult};
use super::profile::{Phase, Prof};
use super::resume::Snapshot;
use super::*;
use crate::checkpoint::SpillDir;
use crate::fingerprint::fingerprint_bytes;
use crate::frontier::{Batch, PackedRun, Segments};
use crate::graph::{pending, pending_parts, Encoded, Fairness, Graph, SubRecord, PENDING, SUCC_BITS};
use crate::outcome::*;
use crate::parents::ByteLog;
use crate::sys;
use crate::table::{bitstate_stats, drop_recent_repeats, shard_of, Shard, Store, SHARDS};

/// Reusable buffers of one sub-chunk.
struct Sub<S, A> {
    succ: Vec<S>,
    /// A packed frontier: the successors' bytes (`succ` then holds them only for coverage).
    packed: PackedRun,
    /// The encoding a fingerprint is taken of (`Bfs::pack`).
    scratch: Vec<u8>,
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
    /// How many frontier states this sub-chunk expanded.
    parents: usize,
    /// The actions of the state being expanded (kept for their capacity).
    actions: Vec<A>,
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
            packed: PackedRun::default(),
            scratch: Vec::new(),
            origin: Vec::new(),
            fps: Vec::new(),
            sorted: Vec::new(),
            offsets: vec![0; SHARDS + 1],
            is_new: Vec::new(),
            first_hit: Vec::new(),
            generated: 0,
            parents: 0,
            actions: Vec::new(),
            next_action: Vec::new(),
            children: Vec::new(),
            rec: SubRecord::default(),
            acts: Vec::new(),
            cov_generated: Vec::new(),
            cov_distinct: Vec::new(),
        }
    }
}

/// What phase A needs besides a sub-chunk (`Config::phase_a`).
struct PhaseA<'p, M: Model> {
    props: &'p [Property<M>],
    /// The properties not yet decided.
    active: &'p [usize],
    /// False at the depth bound: successors are only probed.
    expand: bool,
    /// Liveness properties, when the graph is recorded.
    live: Option<&'p LiveCfg<M>>,
    cov: Option<CoverageFn<M>>,
}

/// A successor: built in the reused buffer (`Bfs::step_into`), or returned by `next_state`.
enum Succ<'b, S> {
    Built(&'b S),
    Owned(S),
}

impl<S: Clone> Succ<'_, S> {
    fn get(&self) -> &S {
        match self {
            Succ::Built(s) => s,
            Succ::Owned(s) => s,
        }
    }
    fn into_owned(self) -> S {
        match self {
            Succ::Built(s) => s.clone(),
            Succ::Owned(s) => s,
        }
    }
}

/// True if `state` decides the property (a violation of `Always`, a witness of `Sometimes`).
pub(crate) fn decides<M: Model>(model: &M, p: &Property<M>, state: &M::State) -> bool {
    let holds = (p.condition)(model, state);
    match p.expectation {
        Expectation::Always => !holds,
        Expectation::Sometimes => holds,
        Expectation::Eventually => false,
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    /// Whether the search keeps the liveness graph: only with liveness properties, and only on
    /// the exact state space (a bitstate table drops states); otherwise liveness is reported
    /// unchecked (`check_liveness`). Under symmetry it is the quotient graph (`Bfs::liveness`).
    pub(super) fn records_graph(&self) -> bool {
        self.live.is_some() && self.store == Store::Exact
    }

    /// The fingerprint of `s` (of its representative under symmetry). Packing: of its
    /// identifying bytes, which are left in `scratch` (followed by the rest of its encoding).
    pub(crate) fn fp(&self, s: &M::State, scratch: &mut Vec<u8>) -> u64 {
        let canon;
        let s = match &self.symmetry {
            Some(c) if !self.canonical_successors => {
                canon = c(s);
                &canon
            }
            _ => s,
        };
        match &self.pack {
            Some(p) => {
                scratch.clear();
                let id = (p.encode)(self.model, s, scratch);
                fingerprint_bytes(&scratch[..id])
            }
            None => fingerprint(s),
        }
    }

    /// What phase A needs besides a sub-chunk.
    fn phase_a<'p>(
        &'p self,
        props: &'p [Property<M>],
        active: &'p [usize],
        expand: bool,
        recording: bool,
    ) -> PhaseA<'p, M> {
        PhaseA {
            props,
            active,
            expand,
            live: self.live.as_ref().filter(|_| recording),
            // At the depth bound nothing is counted (as `generated_states`).
            cov: self.coverage.filter(|_| expand).map(|(_, f)| f),
        }
    }

    /// Whether the frontier is packed: with `Bfs::pack`, in memory (spill files and checkpoints
    /// hold full states).
    pub(super) fn packs_frontier(&self) -> bool {
        self.pack.is_some() && self.codec.is_none()
    }

    /// An empty level in memory.
    pub(super) fn new_level(&self) -> Segments<M::State> {
        if self.packs_frontier() {
            Segments::packed(BATCH, SUB)
        } else {
            Segments::new(BATCH)
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

    pub(super) fn search(&self, progress: &mut Option<ProgressFn<'_>>) -> io::Result<Raw> {
        let start = Instant::now();
        let model = self.model;
        let props = model.properties();
        // Properties this engine checks; `Eventually` is reported as unchecked.
        let checked: Vec<usize> =
            (0..props.len()).filter(|&i| props[i].expectation != Expectation::Eventually).collect();
        let recording = self.records_graph();
        let spill = self.spill.as_deref().map(SpillDir::new).transpose()?;
        let mut stats = Stats { peak_rss_bytes: sys::rss_bytes(), ..Stats::default() };
        let Snapshot {
            mut found,
            mut shards,
            mut levels,
            mut level_starts,
            mut graph,
            mut coverage,
            mut frontier,
            mut depth,
        } = match &self.resume {
            Some(dir) => self.load(dir, spill.as_ref(), &props, &mut stats)?,
            None => self.fresh(&props, recording, &mut stats),
        };
        let (resumed_at, resumed_time) = (self.resume.as_ref().map(|_| depth), stats.elapsed);

        let mut subs: Vec<Sub<M::State, M::Action>> = (0..BATCH_SUBS).map(|_| Sub::new()).collect();
        // A packed level's sub-chunks, decoded for phase A.
        let mut unpacked: Vec<Vec<M::State>> = (0..BATCH_SUBS).map(|_| Vec::new()).collect();
        if let Some((n, _)) = self.coverage {
            for sub in &mut subs {
                sub.cov_generated = vec![0; n];
                sub.cov_distinct = vec![0; n];
            }
        }
        // Phase B's candidate list per shard, kept across batches instead of being allocated and
        // grown again in every batch (about 2 MB per batch at toy N=6): the allocator may hand
        // such blocks back to the kernel, and perf showed page faults zeroing fresh pages.
        // A candidate is (fingerprint, `graph::pending(sub-chunk, successor)`): 16 bytes, not 24
        // for a separate sub-chunk number (phase B writes, filters and reads the list once each).
        let mut cands: Vec<Vec<(u64, u32)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        // Liveness only: per shard, the slots phase B filled with a provisional index.
        let mut fixes: Vec<Vec<(usize, u32)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        // Liveness only: per sub-chunk, its records encoded for the graph.
        let mut encs: Vec<Encoded> = (0..BATCH_SUBS).map(|_| Encoded::default()).collect();
        let mut last_progress = Instant::now();
        let mut last_checkpoint = Instant::now();
        let mut prof = Prof::new(self.profile);
        prof.start_driver();
        let stop = 'levels: loop {
            let ts = prof.now();
            if frontier.is_empty() {
                break StopReason::Exhausted;
            }
            frontier.seal()?;
            if let Some((dir, every)) = &self.checkpoint {
                if last_checkpoint.elapsed() >= *every && resumed_at != Some(depth) {
                    let snap = Snapshot { found, shards, levels, level_starts, graph, coverage, frontier, depth };
                    let elapsed = resumed_time + start.elapsed();
                    let written = self.write_checkpoint(dir, &snap, &props, &stats, elapsed);
                    Snapshot { found, shards, levels, level_starts, graph, coverage, frontier, depth } = snap;
                    written?;
                    last_checkpoint = Instant::now();
                }
            }
            stats.max_depth = depth;
            level_starts.push(stats.unique_states - frontier.len() as u64);
            stats.level_sizes.push(frontier.len() as u64);
            let expand = self.max_depth.is_none_or(|m| depth < m);
            let would_grow = AtomicBool::new(false);
            let mut next = match &spill {
                Some(sp) => Segments::on_disk(BATCH, sp.frontier(depth + 1), self.codec.expect("spill"), SUB)?,
                None => self.new_level(),
            };
            let mut next_log = ByteLog::default();
            let mut children_log = ByteLog::default();
            let frontier_len = frontier.len();
            let (mut level, spare) = std::mem::replace(&mut frontier, Segments::new(BATCH)).into_level()?;
            stats.frontier_bytes = stats.frontier_bytes.max(level.bytes() as u64);
            next.adopt_spare(spare);
            prof.serial(Phase::Level, ts);
            let mut batches = 0..;
            loop {
                let ts = prof.now();
                let Some(batch) = level.next_batch()? else { break };
                let b = batches.next().expect("unbounded");
                let rss = sys::rss_bytes();
                if rss > stats.peak_rss_bytes {
                    let frontier_states = (frontier_len - b * BATCH + next.len()) as u64;
                    stats.memory_search = MemoryParts {
                        rss,
                        table: shards.iter().map(Shard::bytes).sum::<usize>() as u64,
                        parents: (levels.bytes() + next_log.bytes() + children_log.bytes()) as u64,
                        frontier_states,
                        frontier: (level.bytes() + next.bytes() + batch_bytes(&batch)) as u64,
                        graph: graph.as_ref().map_or(0, |g| g.bytes() as u64),
                        liveness: 0,
                    };
                }
                stats.peak_rss_bytes = stats.peak_rss_bytes.max(rss);
                if let Some(r) = self.limit_hit(&stats, start) {
                    break 'levels r;
                }
                let active: Vec<usize> = checked.iter().copied().filter(|&i| found[i].is_none()).collect();
                let parts = match &batch {
                    Batch::Full(_) => Vec::new(),
                    Batch::Packed(seg) => seg.sub_chunks(SUB),
                };
                let used = match &batch {
                    Batch::Full(states) => &mut subs[..states.len().div_ceil(SUB)],
                    Batch::Packed(_) => &mut subs[..parts.len()],
                };

                prof.serial(Phase::Bookkeeping, ts);

                // Phase A: properties, successors, fingerprints, shard buckets. A packed
                // sub-chunk is decoded by the task that expands it (in the same parallel region:
                // a region of its own cost a barrier per batch, and it ran on the driving
                // thread's clock as bookkeeping).
                let sec = prof.section();
                let (active, props) = (&active[..], &props[..]);
                let cx = &self.phase_a(props, active, expand, recording);
                match &batch {
                    Batch::Full(states) => used.par_iter_mut().zip(states.par_chunks(SUB)).for_each(|(sub, chunk)| {
                        sec.task(|| self.expand(sub, chunk, cx));
                    }),
                    Batch::Packed(_) => {
                        let (pack, model) = (self.pack.expect("a packed level"), self.model);
                        // Phase C needs the parents only to count coverage.
                        let lazy = self.decode_into.filter(|_| self.coverage.is_none());
                        let work = used.par_iter_mut().zip(unpacked.par_iter_mut()).zip(&parts);
                        work.for_each(|((sub, out), &(mut bytes, n))| {
                            sec.task(|| {
                                out.clear();
                                match lazy {
                                    Some(d) => self.expand_packed(sub, bytes, n, d, cx),
                                    None => {
                                        out.extend((0..n).map(|_| (pack.decode)(model, &mut bytes)));
                                        self.expand(sub, out, cx)
                                    }
                                }
                            });
                        });
                    }
                }
                prof.end(Phase::Expand, sec);
                let ts = prof.now();
                let chunks: Vec<&[M::State]> = match &batch {
                    Batch::Full(states) => states.chunks(SUB).collect(),
                    Batch::Packed(_) => unpacked[..parts.len()].iter().map(Vec::as_slice).collect(),
                };
                let base = b * BATCH;
                for (k, sub) in used.iter().enumerate() {
                    stats.generated_states += sub.generated;
                    for (slot, &pi) in active.iter().enumerate() {
                        if let (None, Some(j)) = (found[pi], sub.first_hit[slot]) {
                            found[pi] = Some((depth, base + k * SUB + j as usize));
                        }
                    }
                }

                prof.serial(Phase::Bookkeeping, ts);

                // Phase B: per shard, in (position, action) order.
                let subs_ref: &[Sub<M::State, M::Action>] = used;
                let would_grow = &would_grow;
                let shard_work = shards.par_iter_mut().zip(cands.par_iter_mut()).zip(fixes.par_iter_mut());
                let sec = prof.section();
                shard_work.enumerate().for_each(|(s, ((shard, cands), fix))| {
                    sec.task(|| {
                        cands.clear();
                        for (k, sub) in subs_ref.iter().enumerate() {
                            let range = sub.offsets[s] as usize..sub.offsets[s + 1] as usize;
                            // `end_expand` checked that every successor number fits.
                            let tag = pending(k, 0);
                            cands.extend(sub.sorted[range].iter().map(|&(fp, i)| (fp, tag | i)));
                        }
                        if recording {
                            record_targets(shard, cands, fix, subs_ref, expand, would_grow);
                            return;
                        }
                        // A repeat of an earlier candidate of this batch is not new whatever the
                        // table says: the recent ones are dropped before the lookups.
                        drop_recent_repeats(cands, |&(fp, _)| fp);
                        for (c, &(fp, tag)) in cands.iter().enumerate() {
                            if let Some(&(ahead, _)) = cands.get(c + PREFETCH) {
                                shard.prefetch(ahead);
                            }
                            if !expand {
                                if !shard.contains(fp) {
                                    would_grow.store(true, Relaxed);
                                }
                            } else if shard.insert(fp) {
                                let (k, i) = pending_parts(tag);
                                subs_ref[k].is_new[i].store(true, Relaxed);
                            }
                        }
                    })
                });
                prof.end(Phase::Insert, sec);

                // Phase C: keep the new successors in order, log parent links.
                if expand {
                    let sec = prof.section();
                    used.par_iter_mut().zip(&chunks).for_each(|(sub, chunk)| {
                        sec.task(|| self.collect_new(sub, chunk, recording));
                    });
                    prof.end(Phase::Collect, sec);
                    let ts = prof.now();
                    // Phase C numbered the batch's new states: the first BFS index of each
                    // sub-chunk's (the graph resolves provisional indices with them).
                    let mut bases = Vec::with_capacity(used.len());
                    for sub in used.iter() {
                        bases.push(stats.unique_states as u32);
                        stats.unique_states += sub.next_action.len() as u64;
                        next_log.extend(&sub.next_action);
                        children_log.extend(&sub.children);
                    }
                    // The new states move to the next level while the graph records the batch
                    // (one parallel region, not two: each region costs a barrier and the wait
                    // for sleeping threads to wake).
                    let packed = next.is_packed();
                    let mut succs: Vec<Vec<M::State>> = match packed {
                        true => Vec::new(),
                        false => used.iter_mut().map(|sub| std::mem::take(&mut sub.succ)).collect(),
                    };
                    prof.serial(Phase::Bookkeeping, ts);
                    let mut parts: Vec<&mut Vec<M::State>> = succs.iter_mut().collect();
                    let runs: Vec<&PackedRun> = match packed {
                        true => used.iter().map(|sub| &sub.packed).collect(),
                        false => Vec::new(),
                    };
                    let append = || match packed {
                        true => next.append_packed(&runs),
                        false => next.append_all(&mut parts),
                    };
                    match graph.as_mut() {
                        None => prof.opaque(Phase::Append, append),
                        Some(g) => {
                            let subs_ref: &[Sub<M::State, M::Action>] = used;
                            let resolve = |v: u32| {
                                if v & PENDING == 0 {
                                    return v;
                                }
                                let (k, i) = pending_parts(v);
                                bases[k] + subs_ref[k].rec.rank[i]
                            };
                            let fix = Some((&mut shards[..], &mut fixes[..]));
                            record_batch(g, subs_ref, &mut encs, &resolve, fix, append, &mut prof);
                        }
                    }
                    // Back to their sub-chunks, empty, keeping their capacity.
                    for (sub, v) in used.iter_mut().zip(succs) {
                        sub.succ = v;
                    }
                    next.spill_full()?;
                    if let Some(c) = coverage.as_mut() {
                        for sub in used.iter_mut() {
                            c.add(&mut sub.cov_generated, &mut sub.cov_distinct);
                        }
                    }
                } else if let Some(g) = graph.as_mut() {
                    // At the depth bound nothing is inserted: every target is an index already
                    // (or missing, and then the search is not exhausted and the graph unused).
                    record_batch(g, used, &mut encs, &|v| v, None, || {}, &mut prof);
                }
                let ts = prof.now();
                drop(chunks);
                let held = level.bytes() + next.bytes() + batch_bytes(&batch);
                stats.frontier_bytes = stats.frontier_bytes.max(held as u64);
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
                prof.serial(Phase::Bookkeeping, ts);
            }
            let ts = prof.now();
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
            if let Some(sp) = &spill {
                levels.spill(&sp.0)?;
            }
            frontier = next;
            depth += 1;
            prof.serial(Phase::Level, ts);
        };
        prof.end_driver(false);

        // Running out of states proves nothing when the store may have dropped some.
        let stop =
            if stop == StopReason::Exhausted && self.store != Store::Exact { StopReason::Bitstate } else { stop };
        stats.bitstate = bitstate_stats(&shards, self.store);
        stats.peak_rss_bytes = stats.peak_rss_bytes.max(sys::rss_bytes());
        stats.visited_bytes = (shards.iter().map(Shard::bytes).sum::<usize>() + levels.bytes()) as u64;
        // The visited set and the frontier go before spilled parent logs come back.
        drop((shards, frontier));
        levels.load()?;
        drop(spill);
        stats.elapsed = resumed_time + start.elapsed();
        Ok(Raw { stats, stop, found, levels, level_starts, graph, coverage, prof })
    }

    /// Verdicts and traces (rebuilt outside the pool: actions need not be `Send`).
    pub(super) fn finish(&self, raw: Raw, findings: Vec<LiveResult>) -> Outcome<M> {
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
                    region: None,
                }
            })
            .collect();
        Outcome { stats: raw.stats, stop: raw.stop, properties, liveness, coverage: raw.coverage }
    }

    /// Phase A for one sub-chunk of the frontier held as states.
    fn expand(&self, sub: &mut Sub<M::State, M::Action>, chunk: &[M::State], cx: &PhaseA<'_, M>) {
        self.begin_expand(sub, chunk.len(), cx);
        let mut buf = None;
        for (j, s) in chunk.iter().enumerate() {
            self.expand_one(sub, j, s, &mut buf, cx);
        }
        self.end_expand(sub, cx);
    }

    /// Phase A for one packed sub-chunk of `n` states, each decoded into one reused state just
    /// before it is expanded (`Bfs::decode_into`).
    fn expand_packed(
        &self,
        sub: &mut Sub<M::State, M::Action>,
        mut bytes: &[u8],
        n: usize,
        decode: DecodeIntoFn<M>,
        cx: &PhaseA<'_, M>,
    ) {
        let model = self.model;
        let pack = self.pack.expect("a packed level");
        self.begin_expand(sub, n, cx);
        let (mut cur, mut buf) = (None, None);
        for j in 0..n {
            let s = match &mut cur {
                Some(s) => {
                    decode(model, &mut bytes, s);
                    s
                }
                None => cur.insert((pack.decode)(model, &mut bytes)),
            };
            self.expand_one(sub, j, s, &mut buf, cx);
        }
        self.end_expand(sub, cx);
    }

    fn begin_expand(&self, sub: &mut Sub<M::State, M::Action>, parents: usize, cx: &PhaseA<'_, M>) {
        sub.acts.clear();
        sub.rec.clear();
        sub.succ.clear();
        sub.packed.clear();
        sub.origin.clear();
        sub.fps.clear();
        sub.generated = 0;
        sub.parents = parents;
        sub.first_hit.clear();
        sub.first_hit.resize(cx.active.len(), None);
    }

    /// Phase A for the `j`-th state of a sub-chunk: its properties, its successors (built in
    /// `buf` with `Bfs::step_into`) and their fingerprints.
    fn expand_one(
        &self,
        sub: &mut Sub<M::State, M::Action>,
        j: usize,
        s: &M::State,
        buf: &mut Option<M::State>,
        cx: &PhaseA<'_, M>,
    ) {
        let model = self.model;
        let (live, cov, expand) = (cx.live, cx.cov, cx.expand);
        let packed = self.packs_frontier();
        for (slot, &pi) in cx.active.iter().enumerate() {
            if sub.first_hit[slot].is_none() && decides(model, &cx.props[pi], s) {
                sub.first_hit[slot] = Some(j as u32);
            }
        }
        let (before, first_edge) = (sub.fps.len(), sub.rec.class.len());
        let within = live.is_some_and(|l| inside(model, l, s));
        if let Some(l) = live {
            sub.rec.bits.push(live_bits(model, l, s, within));
        }
        let mut actions = std::mem::take(&mut sub.actions);
        model.actions(s, &mut actions);
        for (a, action) in actions.drain(..).enumerate() {
            let class =
                live.map(|l| (Fairness::encode((l.fairness)(model, s, &action)), allowed_bits(model, l, &action)));
            let kept = cov.map(|_| action.clone());
            let tagged = live.filter(|l| l.sections.is_some()).map(|_| action.clone());
            let n = match self.step_into {
                Some(step) => {
                    let b = buf.get_or_insert_with(|| s.clone());
                    if !step(model, s, action, b) {
                        continue;
                    }
                    Succ::Built(b)
                }
                None => match model.next_state(s, action) {
                    Some(n) => Succ::Owned(n),
                    None => continue,
                },
            };
            if !model.within_boundary(n.get()) {
                continue;
            }
            if let (Some(count), Some(a)) = (cov, kept) {
                count(model, s, &a, n.get(), &mut sub.cov_generated);
                sub.acts.push(a);
            }
            if let Some((c, al)) = class {
                let tag = match (live, &tagged) {
                    (Some(l), Some(a)) => section_tag(model, l, s, within, a, n.get()),
                    _ => 0,
                };
                sub.rec.class.push(c);
                sub.rec.allowed.push(al | tag);
            }
            sub.fps.push(self.fp(n.get(), &mut sub.scratch));
            if expand {
                sub.origin.push((j as u32, a as u32));
                if packed {
                    match (&self.pack, &self.symmetry) {
                        // `scratch` holds the representative's encoding: the frontier keeps
                        // the state itself (the same, with `canonical_successors`).
                        (Some(p), Some(_)) if !self.canonical_successors => {
                            _ = (p.encode)(model, n.get(), &mut sub.packed.bytes)
                        }
                        _ => sub.packed.bytes.extend_from_slice(&sub.scratch),
                    }
                    sub.packed.close();
                    if cov.is_some() {
                        sub.succ.push(n.into_owned());
                    }
                } else {
                    sub.succ.push(n.into_owned());
                }
            }
        }
        sub.actions = actions;
        if let Some(l) = live {
            sub.rec.count.push((sub.fps.len() - before) as u32);
            if let (Some(f), Some(_)) = (l.quotient, &self.symmetry) {
                quotient_classes(model, f, s, &mut sub.rec.class[first_edge..]);
            }
        }
    }

    /// The end of phase A for one sub-chunk: its successors sorted by shard.
    fn end_expand(&self, sub: &mut Sub<M::State, M::Action>, cx: &PhaseA<'_, M>) {
        if cx.live.is_some() {
            sub.rec.size_targets();
        }
        // At the depth bound successors are only probed (were any cut off?), not counted.
        sub.generated = if cx.expand { sub.fps.len() as u64 } else { 0 };

        // Phase B names a successor by `graph::pending(sub-chunk, successor)`.
        assert!(
            sub.fps.len() <= 1 << SUCC_BITS,
            "{} successors in one sub-chunk: more than phase B can name",
            sub.fps.len()
        );

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

    /// Phase C for one sub-chunk: keep the new successors, in order.
    ///
    /// The successors stay where phase A put them: the duplicates (five in six on the kernel
    /// model) are dropped in place by `retain`, and what is left in `succ` goes to the next
    /// level (`Segments::append_all`), instead of moving every successor out one by one (perf:
    /// those moves of full states were about 8% of a run on the default scenario).
    fn collect_new(&self, sub: &mut Sub<M::State, M::Action>, chunk: &[M::State], recording: bool) {
        sub.next_action.clear();
        sub.children.clear();
        sub.children.resize(sub.parents, 0);
        let cov = self.coverage.map(|(_, f)| f);
        let mut kept = 0u32;
        for (i, (&(j, a), new)) in sub.origin.iter().zip(&sub.is_new).enumerate() {
            if new.load(Relaxed) {
                if recording {
                    sub.rec.rank[i] = kept;
                }
                if let Some(count) = cov {
                    count(self.model, &chunk[j as usize], &sub.acts[i], &sub.succ[i], &mut sub.cov_distinct);
                }
                sub.children[j as usize] += 1;
                sub.next_action.push(a);
                kept += 1;
            }
        }
        let is_new = &sub.is_new;
        sub.packed.retain(|i| is_new[i].load(Relaxed));
        let mut i = 0;
        sub.succ.retain(|_| {
            i += 1;
            is_new[i - 1].load(Relaxed)
        });
    }
}

/// Rewrites one state's encoded edge classes with the quotient fairness (`Bfs::quotient_fairness`).
fn quotient_classes<M: Model>(model: &M, f: crate::liveness::QuotientFairnessFn<M>, s: &M::State, classes: &mut [u16]) {
    let mut fair: Vec<Option<Fairness>> = classes.iter().map(|&c| Fairness::decode(c)).collect();
    f(model, s, &mut fair);
    for (c, n) in classes.iter_mut().zip(fair) {
        *c = Fairness::encode(n);
    }
}

/// Bytes a batch being expanded holds.
fn batch_bytes<S>(batch: &Batch<S>) -> usize {
    match batch {
        Batch::Full(states) => states.capacity() * std::mem::size_of::<S>(),
        Batch::Packed(seg) => seg.bytes(),
    }
}

/// The shards and, per shard, the slots phase B filled with a provisional index.
type ShardFixes<'a> = (&'a mut [Shard], &'a mut [Vec<(usize, u32)>]);

/// Adds a batch's expanded sub-chunks to the liveness graph: encoded in parallel, beside the
/// table's provisional indices being replaced (`fix`: the shards and their filled slots; `None`
/// at the depth bound) and beside `also` (the next level's moves), then appended in order.
/// `resolve` turns a target as phase B found it into its BFS index.
fn record_batch<S: Sync, A: Sync>(
    g: &mut Graph,
    subs: &[Sub<S, A>],
    encs: &mut [Encoded],
    resolve: &(impl Fn(u32) -> u32 + Sync),
    fix: Option<ShardFixes<'_>>,
    also: impl FnOnce() + Send,
    prof: &mut Prof,
) {
    let ts = prof.now();
    // Each sub-chunk's first state and the targets of the state before it (its references).
    let mut starts = Vec::with_capacity(subs.len());
    let mut first = g.len() as u32;
    let mut prev = g.last_targets().to_vec();
    for sub in subs {
        let next = sub.rec.last_targets(resolve);
        starts.push((first, std::mem::replace(&mut prev, next)));
        first += sub.rec.count.len() as u32;
    }
    prof.serial(Phase::Record, ts);
    let encs = &mut encs[..subs.len()];
    let graph: &Graph = g;
    let encode = || -> Vec<bool> {
        encs.par_iter_mut()
            .zip(subs)
            .zip(&starts)
            .map(|((enc, sub), (first, prev))| graph.encode(&sub.rec, *first, prev, resolve, enc))
            .collect()
    };
    let fix_all = || {
        let Some((shards, fixes)) = fix else { return };
        shards.par_iter_mut().zip(fixes.par_iter_mut()).for_each(|(shard, fix)| {
            let t = shard.indexed();
            for &(slot, v) in fix.iter() {
                t.set_index(slot, resolve(v));
            }
            fix.clear();
        })
    };
    let (ok, _) = prof.opaque(Phase::Record, || rayon::join(encode, || rayon::join(fix_all, also)));
    let ts = prof.now();
    if ok.contains(&false) {
        // A new fairness class or signature: the graph learns them in order, as a serial
        // encoding would have met them, and the sub-chunks that missed one are encoded again.
        // Only those sub-chunks are learned: one that encoded uses nothing new, so the new
        // ones are first met in the missed sub-chunks, in the same order (learning every
        // sub-chunk of the batch was most of the search's serial time: perf, issue 16.4).
        for (sub, &done) in subs.iter().zip(&ok) {
            if !done {
                g.learn(&sub.rec);
            }
        }
        prof.serial(Phase::Record, ts);
        let graph: &Graph = g;
        let again = encs.par_iter_mut().zip(subs).zip(&starts).zip(&ok).filter(|(_, &done)| !done);
        prof.opaque(Phase::Record, || {
            again.for_each(|(((enc, sub), (first, prev)), _)| {
                assert!(graph.encode(&sub.rec, *first, prev, resolve, enc), "the graph learned the batch");
            })
        });
    }
    let ts = prof.now();
    for (sub, enc) in subs.iter().zip(encs.iter()) {
        g.append(&sub.rec, enc);
    }
    prof.serial(Phase::Record, ts);
}

/// Phase B of one shard when the liveness graph is recorded: inserts the candidates in order and
/// writes each edge's target index (provisional for states new in this batch, `graph.rs`) into
/// its sub-chunk's record. At the depth bound only looks them up (`would_grow` if one is new).
fn record_targets<S, A>(
    shard: &mut Shard,
    cands: &[(u64, u32)],
    fix: &mut Vec<(usize, u32)>,
    subs: &[Sub<S, A>],
    expand: bool,
    would_grow: &AtomicBool,
) {
    let t = shard.indexed();
    if expand {
        t.reserve(cands.len());
    }
    for (c, &(fp, tag)) in cands.iter().enumerate() {
        if let Some(&(ahead, _)) = cands.get(c + PREFETCH) {
            t.prefetch(ahead);
        }
        let (k, i) = pending_parts(tag);
        let sub = &subs[k];
        let target = if !expand {
            t.get_index(fp).unwrap_or_else(|| {
                would_grow.store(true, Relaxed);
                u32::MAX
            })
        } else {
            match t.insert_indexed(fp, tag) {
                Ok(v) => v,
                Err(slot) => {
                    sub.is_new[i].store(true, Relaxed);
                    fix.push((slot, tag));
                    tag
                }
            }
        };
        sub.rec.target[i].store(target, Relaxed);
    }
}
