//! Global BFS indices for the states new in a level: the single-process engine's numbering.
//!
//! `bfs/level.rs` numbers level d+1 in (parent's BFS index, action index) order: phase A
//! generates successors in (frontier position, action) order, phase B inserts them in that
//! order so the first occurrence of a fingerprint wins, and phase C appends the winners in
//! that order. So the index of a new state is the next level's start plus the number of new
//! states whose (parent, action) key is smaller. Each owner already holds, per new
//! fingerprint, the smallest key among all candidates of the level (`search.rs`); here the
//! ranks count, for every parent, how many of its successors won, and prefix-sum those counts
//! over the parent index range:
//! 1. each owner tells the parent's rank which (parent, action) keys won;
//! 2. the parent's rank sends (parent, children) to the rank holding that parent's block of
//!    the level's index range; each block owner prefix-sums its block, the block totals are
//!    `Allgather`ed, and the first child index of each parent goes back to its rank;
//! 3. the parent's rank numbers its winners (first child index + rank of the action among the
//!    parent's winning actions) and sends the indices back to the owners.
//!
//! Four `Alltoallv` per level, about 12-16 bytes per new state each way.

use std::io;

use super::comm::{put, words, Comm};

/// A successor that won its fingerprint in this level, at its owner.
pub(crate) struct Win<P> {
    pub(crate) fp: u64,
    /// The parent's global BFS index and the index of the action in `Model::actions`.
    pub(crate) parent: u64,
    pub(crate) action: u32,
    /// The rank that owns the parent (it sent the candidate).
    pub(crate) src: u32,
    /// The state (as it came: in memory or encoded).
    pub(crate) payload: P,
}

/// The winners with their global BFS indices, ascending.
pub(crate) type Numbered<P> = Vec<(u64, Win<P>)>;

/// Gives each winner its global BFS index (returned sorted by it) and returns the size of the
/// next level. `start..start + len` is the index range of the expanded level, whose next
/// level starts at `next`.
pub(crate) fn number<P>(
    comm: &Comm,
    mut wins: Vec<Win<P>>,
    start: u64,
    len: u64,
    next: u64,
) -> io::Result<(Numbered<P>, u64)> {
    let n = comm.size;
    // 1. Winning keys to the parents' ranks, in (rank, parent, action) order.
    wins.sort_unstable_by_key(|w| (w.src, w.parent, w.action));
    let mut to = vec![Vec::new(); n];
    for w in &wins {
        put(&mut to[w.src as usize], w.parent);
        put(&mut to[w.src as usize], u64::from(w.action));
    }
    let got = comm.exchange(to)?;
    // (parent, action, from rank, position in that rank's list)
    let mut keys: Vec<(u64, u64, u32, u32)> = Vec::new();
    for r in 0..n {
        let ws: Vec<u64> = words(got.part(r)).collect();
        for (i, pair) in ws.chunks_exact(2).enumerate() {
            keys.push((pair[0], pair[1], r as u32, i as u32));
        }
    }
    keys.sort_unstable();

    // 2. Children per parent to the block owners of the index range; first child indices back.
    let block = len.div_ceil(n as u64).max(1);
    let mut runs: Vec<(u64, u64)> = Vec::new(); // (parent, children), parents ascending
    for k in &keys {
        match runs.last_mut() {
            Some((p, c)) if *p == k.0 => *c += 1,
            _ => runs.push((k.0, 1)),
        }
    }
    let mut to = vec![Vec::new(); n];
    for &(p, c) in &runs {
        let b = ((p - start) / block) as usize;
        put(&mut to[b], p);
        put(&mut to[b], c);
    }
    let got = comm.exchange(to)?;
    let lo = start + block * comm.rank as u64;
    let hi = (lo + block).min(start + len).max(lo);
    let mut counts = vec![0u64; (hi - lo) as usize];
    for r in 0..n {
        let ws: Vec<u64> = words(got.part(r)).collect();
        for pair in ws.chunks_exact(2) {
            counts[(pair[0] - lo) as usize] = pair[1];
        }
    }
    let mut acc = 0u64;
    for c in counts.iter_mut() {
        let here = *c;
        *c = acc;
        acc += here;
    }
    let totals = comm.gather(acc);
    let offset: u64 = next + totals[..comm.rank].iter().sum::<u64>();
    let to = (0..n)
        .map(|r| {
            let mut b = Vec::new();
            let ws: Vec<u64> = words(got.part(r)).collect();
            for pair in ws.chunks_exact(2) {
                put(&mut b, offset + counts[(pair[0] - lo) as usize]);
            }
            b
        })
        .collect();
    drop(counts);
    let got = comm.exchange(to)?;
    // The replies come back in the order the (parent, children) pairs were sent: by block
    // owner, parents ascending within each.
    let mut cursor = vec![0usize; n];
    let replies: Vec<Vec<u64>> = (0..n).map(|r| words(got.part(r)).collect()).collect();
    let mut first = Vec::with_capacity(runs.len());
    for &(p, _) in &runs {
        let b = ((p - start) / block) as usize;
        first.push(replies[b][cursor[b]]);
        cursor[b] += 1;
    }

    // 3. Number the keys and send each index back to the owner that reported it.
    let mut lens = vec![0usize; n];
    keys.iter().for_each(|k| lens[k.2 as usize] += 1);
    let mut back: Vec<Vec<u64>> = lens.into_iter().map(|l| vec![0; l]).collect();
    let (mut run, mut k_in_run) = (0usize, 0u64);
    for (i, k) in keys.iter().enumerate() {
        if i > 0 && keys[i - 1].0 != k.0 {
            run += 1;
            k_in_run = 0;
        }
        back[k.2 as usize][k.3 as usize] = first[run] + k_in_run;
        k_in_run += 1;
    }
    let to = back
        .into_iter()
        .map(|v| {
            let mut b = Vec::with_capacity(v.len() * 8);
            v.into_iter().for_each(|x| put(&mut b, x));
            b
        })
        .collect();
    let got = comm.exchange(to)?;
    let mut cursor = vec![0usize; n];
    let replies: Vec<Vec<u64>> = (0..n).map(|r| words(got.part(r)).collect()).collect();
    let mut out: Numbered<P> = wins
        .into_iter()
        .map(|w| {
            let r = w.src as usize;
            let idx = replies[r][cursor[r]];
            cursor[r] += 1;
            (idx, w)
        })
        .collect();
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok((out, totals.iter().sum()))
}
