//! Deadlock and possibility properties in a distributed run (issue 19.3); leads-to stays
//! unchecked (README "Distributed runs on MPI" says what OWCTY or MAP would take).
//!
//! * Deadlock: a state without a successor within the boundary whose `end` predicate is false.
//!   Known when the state is expanded, so each rank keeps the smallest BFS index of such a
//!   state it owns and the ranks take the minimum: the single-process engine's choice (the
//!   first such state in BFS order, `liveness::deadlock`).
//! * Possibility `AG (P -> EF Q)` over allowed steps: backward reachability from the `Q`
//!   states. During the search every rank sends each edge it generates, as (target
//!   fingerprint, source fingerprint, allowed mask), to the target's owner (one more
//!   `Alltoallv` per batch), so each rank holds the reverse edges of the states it owns.
//!   After an exhausted search the `Q` states are marked and the marks travel backwards in
//!   rounds: each rank sends, for the states newly marked in the last round, a mark to the
//!   owner of each allowed predecessor; the rounds end when no rank has a new mark (`Allreduce`).
//!   A `P` state left unmarked cannot reach `Q`; the one with the smallest BFS index is the
//!   counterexample, its path rebuilt from the parent logs: the single-process engine's choice
//!   (`liveness::possibility`: the first unmarked `P` state in BFS order). Every possibility
//!   property travels in the same rounds, one bit each.
//!
//! Memory: 24 bytes per edge with an allowed step (not a self-loop) at its target's owner, and
//! 24 per `P` state and 16 per `Q` state at their owner; nothing when the run has no possibility property. Not checkpointed: a resumed
//! run reports these properties unchecked.

use std::hash::Hash;
use std::io;

use rustc_hash::FxHashMap;
use serde::{de::DeserializeOwned, Serialize};
use stateright::Model;

use super::comm::{put, Comm};
use super::logs::Logs;
use super::owner;
use crate::bfs::{replay, Config, VACUOUS};
use crate::liveness::{Liveness, DEADLOCK_NOTE, POSSIBILITY_NOTE};
use crate::outcome::*;

/// Bytes of a reverse edge on the wire: target and source fingerprints, allowed mask.
const EDGE: usize = 8 + 8 + 1;
/// Bytes of a mark on the wire: fingerprint and mask.
const MARK: usize = 8 + 1;
/// States whose marks one round sends at most per rank (bounds the messages: MPI counts are
/// 32-bit).
const ROUND: usize = 1 << 22;

/// Which liveness properties a distributed run checks, as bit masks over their indices.
#[derive(Clone, Copy, Default)]
pub(super) struct Kinds {
    pub(super) possibility: u8,
    pub(super) deadlock: u8,
}

impl Kinds {
    pub(super) fn of<M: Model>(props: &[crate::liveness::LiveProperty<M>]) -> Self {
        let mut k = Kinds::default();
        for (i, p) in props.iter().enumerate() {
            match p.kind {
                Liveness::Possibility { .. } => k.possibility |= 1 << i,
                Liveness::Deadlock { .. } => k.deadlock |= 1 << i,
                Liveness::LeadsTo { .. } => {}
            }
        }
        k
    }
}

/// What expanding one sub-chunk contributes.
#[derive(Default)]
pub(super) struct PartLive {
    /// (target fingerprint, source fingerprint, allowed mask) of each allowed edge.
    pub(super) edges: Vec<(u64, u64, u8)>,
    /// (fingerprint, BFS index, `P` mask) of each possibility `P` state, and (fingerprint,
    /// `Q` mask) of each `Q` state.
    pub(super) p: Vec<(u64, u64, u8)>,
    pub(super) q: Vec<(u64, u8)>,
    /// Per deadlock property (by index): the smallest BFS index of a deadlock state.
    pub(super) dead: [u64; 8],
}

impl PartLive {
    pub(super) fn new() -> Self {
        PartLive { dead: [u64::MAX; 8], ..PartLive::default() }
    }
}

/// One rank's share of the liveness data, gathered during the search.
#[derive(Default)]
pub(super) struct Acc {
    rev: Vec<(u64, u64, u8)>,
    p: Vec<(u64, u64, u8)>,
    q: Vec<(u64, u8)>,
    dead: Option<[u64; 8]>,
}

impl Acc {
    /// Adds a batch's parts: `P`/`Q` states and deadlocks kept here, edges sent to the owners
    /// of their targets (every rank calls this once per batch when `kinds.possibility != 0`).
    pub(super) fn add<'a>(
        &mut self,
        comm: &Comm,
        kinds: Kinds,
        parts: impl Iterator<Item = &'a mut PartLive>,
    ) -> io::Result<()> {
        let mut to = vec![Vec::new(); comm.size];
        let dead = self.dead.get_or_insert([u64::MAX; 8]);
        for part in parts {
            for (d, x) in dead.iter_mut().zip(&part.dead) {
                *d = (*d).min(*x);
            }
            self.p.append(&mut part.p);
            self.q.append(&mut part.q);
            for &(t, s, m) in &part.edges {
                let out = &mut to[owner(t, comm.size)];
                put(out, t);
                put(out, s);
                out.push(m);
            }
            part.edges = Vec::new();
        }
        if kinds.possibility == 0 {
            return Ok(());
        }
        let got = comm.exchange(to)?;
        for r in got.buf.chunks_exact(EDGE) {
            let word = |i: usize| u64::from_le_bytes(r[i..i + 8].try_into().expect("8 bytes"));
            self.rev.push((word(0), word(8), r[16]));
        }
        Ok(())
    }

    /// Per liveness property (in `props` order): `Some(Some(idx))` violated first at BFS
    /// index `idx`, `Some(None)` holds, `None` not checked here (leads-to). `vacuous` is set
    /// for a possibility property no reachable state satisfies `P` of.
    fn decide(mut self, comm: &Comm, kinds: Kinds, n: usize) -> io::Result<(Vec<Option<Option<u64>>>, u8)> {
        let mut first = [u64::MAX; 8];
        let dead = comm.min(&self.dead.unwrap_or([u64::MAX; 8]));
        let mut p_seen = [0u64; 8];
        if kinds.possibility != 0 {
            let marked = self.propagate(comm, kinds.possibility)?;
            for &(fp, idx, m) in &self.p {
                let have = marked.get(&fp).copied().unwrap_or(0);
                for (i, f) in first.iter_mut().enumerate() {
                    if m & 1 << i != 0 {
                        p_seen[i] += 1;
                        if have & 1 << i == 0 {
                            *f = (*f).min(idx);
                        }
                    }
                }
            }
        }
        let first = comm.min(&first);
        let p_seen = comm.sum(&p_seen);
        let mut vacuous = 0u8;
        let out = (0..n)
            .map(|i| {
                let bit = 1u8 << i;
                let hit = if kinds.deadlock & bit != 0 {
                    dead[i]
                } else if kinds.possibility & bit != 0 {
                    if p_seen[i] == 0 {
                        vacuous |= bit;
                    }
                    first[i]
                } else {
                    return None;
                };
                Some((hit != u64::MAX).then_some(hit))
            })
            .collect();
        Ok((out, vacuous))
    }

    /// Marks, per owned state, the possibility properties (bits of `mask`) whose `Q` it reaches
    /// over allowed steps: the `Q` states, then backwards over the reverse edges in rounds
    /// until no rank marks a state.
    fn propagate(&mut self, comm: &Comm, mask: u8) -> io::Result<FxHashMap<u64, u8>> {
        self.rev.sort_unstable();
        self.rev.dedup_by(|b, a| {
            let same = (a.0, a.1) == (b.0, b.1);
            if same {
                a.2 |= b.2;
            }
            same
        });
        self.rev.shrink_to_fit();
        let mut marked: FxHashMap<u64, u8> = FxHashMap::default();
        let mut work: Vec<(u64, u8)> = Vec::new();
        for &(fp, m) in &self.q {
            let m = m & mask;
            let had = marked.entry(fp).or_insert(0);
            if m & !*had != 0 {
                *had |= m;
                work.push((fp, m));
            }
        }
        loop {
            if comm.sum(&[work.len() as u64])[0] == 0 {
                return Ok(marked);
            }
            let take = work.len().min(ROUND);
            let mut to = vec![Vec::new(); comm.size];
            for (fp, m) in work.drain(work.len() - take..) {
                let from = self.rev.partition_point(|e| e.0 < fp);
                for &(_, src, a) in self.rev[from..].iter().take_while(|e| e.0 == fp) {
                    let x = m & a;
                    if x != 0 {
                        let out = &mut to[owner(src, comm.size)];
                        put(out, src);
                        out.push(x);
                    }
                }
            }
            let got = comm.exchange(to)?;
            for r in got.buf.chunks_exact(MARK) {
                let fp = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
                let had = marked.entry(fp).or_insert(0);
                let new = r[8] & !*had;
                if new != 0 {
                    *had |= new;
                    work.push((fp, new));
                }
            }
        }
    }
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Records what state `s` (fingerprint `fp`, BFS index `idx`) contributes: its `P` and `Q`
    /// bits; the caller adds its edges with [`Config::live_edge`] and then calls
    /// [`Config::live_end`] with their count.
    pub(super) fn live_state(&self, kinds: Kinds, out: &mut PartLive, s: &M::State, fp: u64, idx: u64) -> u16 {
        let Some(l) = &self.live else { return 0 };
        // No atomic sections here (they serve the exact possibility check under symmetry,
        // which a distributed run does not make).
        let bits = crate::bfs::live_bits(self.model, l, s, false);
        let (mut p, mut q) = (0u8, 0u8);
        for i in 0..l.props.len() {
            p |= u8::from(bits >> (2 * i) & 1 != 0) << i;
            q |= u8::from(bits >> (2 * i + 1) & 1 != 0) << i;
        }
        if p & kinds.possibility != 0 {
            out.p.push((fp, idx, p & kinds.possibility));
        }
        if q & kinds.possibility != 0 {
            out.q.push((fp, q & kinds.possibility));
        }
        bits
    }

    /// The possibility properties that allow `action` (a mask; taken before `next_state`
    /// consumes the action).
    pub(super) fn live_allowed(&self, kinds: Kinds, action: &M::Action) -> u8 {
        match &self.live {
            // Bit i for property i (the graph's allowed byte packs its bits differently:
            // `atomic::Layout`).
            Some(l) if kinds.possibility != 0 => l.props.iter().enumerate().fold(0, |acc, (i, p)| match &p.kind {
                Liveness::Possibility { allowed, .. }
                    if kinds.possibility & 1 << i != 0 && allowed(self.model, action) =>
                {
                    acc | 1 << i
                }
                _ => acc,
            }),
            _ => 0,
        }
    }

    /// An edge from the state of fingerprint `src` to `to` that the properties of `allowed`
    /// allow (a self-loop reaches nothing new).
    pub(super) fn live_edge(out: &mut PartLive, src: u64, to: u64, allowed: u8) {
        if allowed != 0 && src != to {
            out.edges.push((to, src, allowed));
        }
    }

    /// After a state's edges: with none, a deadlock for each deadlock property whose `end`
    /// (its `P` bit in `bits`) is false.
    pub(super) fn live_end(&self, kinds: Kinds, out: &mut PartLive, bits: u16, edges: usize, idx: u64) {
        if edges > 0 {
            return;
        }
        for i in 0..8 {
            if kinds.deadlock & 1 << i != 0 && bits >> (2 * i) & 1 == 0 {
                out.dead[i] = out.dead[i].min(idx);
            }
        }
    }

    /// The liveness outcomes of a distributed run, every rank alike: deadlock and possibility
    /// decided when the search was exhausted (`Incomplete` otherwise), leads-to unchecked.
    pub(super) fn live_outcomes_dist(
        &self,
        comm: &Comm,
        acc: Acc,
        logs: &Logs,
        level_starts: &[u64],
        stop: StopReason,
        inits: &[M::State],
    ) -> io::Result<Vec<PropertyOutcome<M>>> {
        let Some(l) = &self.live else { return Ok(Vec::new()) };
        let kinds = Kinds::of(&l.props);
        let resumed = self.resume.is_some();
        let complete = stop == StopReason::Exhausted;
        let (found, vacuous) =
            if complete && !resumed { acc.decide(comm, kinds, l.props.len())? } else { (vec![None; l.props.len()], 0) };
        let mut out = Vec::new();
        for (i, (p, f)) in l.props.iter().zip(found).enumerate() {
            let mut o = PropertyOutcome::liveness_holds(p.name);
            let leads_to = matches!(p.kind, Liveness::LeadsTo { .. });
            match f {
                _ if leads_to => {
                    o.verdict = Verdict::Unchecked;
                    o.note = "leads-to is not checked in a distributed run yet (a single-process run checks it)".into();
                }
                _ if !complete => o.verdict = Verdict::Incomplete,
                None => {
                    o.verdict = Verdict::Unchecked;
                    o.note = "not checked in a resumed distributed run (its edges are not checkpointed)".into();
                }
                Some(None) => {
                    if vacuous & 1 << i != 0 && self.symmetry.is_some() {
                        o.note = VACUOUS.to_string();
                    }
                }
                Some(Some(idx)) => {
                    let d = level_starts.partition_point(|&s| s <= idx) - 1;
                    let (init, steps) = logs.path_to(comm, d, idx)?;
                    o.verdict = Verdict::Violated;
                    o.discovery = Some(replay(self.model, inits, init, &steps));
                    o.note = match p.kind {
                        Liveness::Deadlock { .. } => DEADLOCK_NOTE,
                        _ => POSSIBILITY_NOTE,
                    }
                    .to_string();
                }
            }
            out.push(o);
        }
        Ok(out)
    }
}
