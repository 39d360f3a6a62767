//! One BFS level of full states, kept as fixed-size segments (one per batch).
//!
//! Why: a single `Vec` for the next level doubles while it grows (up to 2x slack) and the
//! current level stays allocated until the level ends. Segments of exactly one batch need
//! no slack, and each is dropped as soon as its batch is expanded, so the two levels
//! overlap in memory only partly; equal-sized blocks are also easy to reuse: a segment whose
//! batch was expanded is handed back (`recycle`) and filled again by the next level, instead
//! of going back to the allocator (which may return its pages to the kernel, to be faulted in
//! and zeroed again a moment later).
//!
//! Packed (`Bfs::pack`, in memory only): a segment is then one byte arena of the model's
//! encodings, with the offset of every sub-chunk's first state ([`PackedSeg`]), instead of a
//! `Vec` of full states: on the kernel model about 40 bytes a state instead of a kilobyte.
//! Phase A decodes a sub-chunk just before it expands it.
//!
//! With disk spill (`Bfs::spill`) every full segment is written to the level's file as soon as
//! it fills (frames of one sub-chunk, `codec.rs`) and its memory reused: a level then holds one
//! partial segment in RAM, and is read back one batch at a time ([`Level`]). Batches read back
//! are exactly the segments written, so batch boundaries, and with them every result, are the
//! same as in memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use crate::codec::{self, Codec};

pub(crate) struct Segments<S> {
    segs: Vec<Vec<S>>,
    cap: usize,
    len: usize,
    /// Empty segments with capacity `cap`, reused before allocating.
    spare: Vec<Vec<S>>,
    disk: Option<Disk<S>>,
    /// Set when the level is packed: its segments (`segs` stays empty).
    packed: Option<Packed>,
}

/// The segments of a packed level.
struct Packed {
    segs: Vec<PackedSeg>,
    /// States per sub-chunk (the unit phase A decodes).
    sub: usize,
    /// Arenas of expanded batches, reused.
    spare: Vec<PackedSeg>,
}

/// Up to `cap` packed states: their bytes back to back, and where each sub-chunk starts.
#[derive(Default)]
pub(crate) struct PackedSeg {
    bytes: Vec<u8>,
    /// Byte offset of the first state of each sub-chunk.
    subs: Vec<u32>,
    len: usize,
}

impl PackedSeg {
    /// The sub-chunks: their bytes and how many states each holds.
    pub(crate) fn sub_chunks(&self, sub: usize) -> Vec<(&[u8], usize)> {
        let ends = self.subs.iter().skip(1).map(|&e| e as usize).chain([self.bytes.len()]);
        self.subs
            .iter()
            .zip(ends)
            .enumerate()
            .map(|(k, (&a, b))| (&self.bytes[a as usize..b], sub.min(self.len - k * sub)))
            .collect()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.subs.clear();
        self.len = 0;
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.capacity() + 4 * self.subs.capacity()
    }
}

/// States a phase-A sub-chunk packed: their bytes back to back and where each ends.
#[derive(Default)]
pub(crate) struct PackedRun {
    pub(crate) bytes: Vec<u8>,
    pub(crate) ends: Vec<u32>,
}

impl PackedRun {
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Ends the state whose bytes were appended since the previous one ended.
    pub(crate) fn close(&mut self) {
        self.ends.push(self.bytes.len() as u32);
    }

    /// Keeps the states for which `keep(i)` is true, in order, moving their bytes down.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let (mut from, mut to, mut kept) = (0usize, 0usize, 0usize);
        for i in 0..self.ends.len() {
            let end = self.ends[i] as usize;
            if keep(i) {
                self.bytes.copy_within(from..end, to);
                to += end - from;
                self.ends[kept] = to as u32;
                kept += 1;
            }
            from = end;
        }
        self.bytes.truncate(to);
        self.ends.truncate(kept);
    }
}

/// One batch of a level being expanded.
pub(crate) enum Batch<S> {
    Full(Vec<S>),
    Packed(PackedSeg),
}

/// The file a spilled level goes to.
struct Disk<S> {
    path: PathBuf,
    /// `None` once sealed (every state written, the file complete).
    w: Option<BufWriter<File>>,
    codec: Codec<S>,
    /// States per frame (one sub-chunk).
    frame: usize,
}

/// Spare segments kept at most (one batch is expanded, then its segment refills the next
/// level, so a few cover the steady state).
const MAX_SPARE: usize = 4;

impl<S> Segments<S> {
    pub(crate) fn new(cap: usize) -> Self {
        Segments { segs: Vec::new(), cap, len: 0, spare: Vec::new(), disk: None, packed: None }
    }

    /// An empty packed level (in memory) of segments of `cap` states, sub-chunks of `sub`.
    pub(crate) fn packed(cap: usize, sub: usize) -> Self {
        let mut s = Segments::new(cap);
        s.packed = Some(Packed { segs: Vec::new(), sub, spare: Vec::new() });
        s
    }

    pub(crate) fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// Takes back an expanded batch's segment for reuse.
    pub(crate) fn recycle(&mut self, batch: Batch<S>) {
        match batch {
            Batch::Full(seg) => self.recycle_full(seg),
            Batch::Packed(mut seg) => {
                if let Some(p) = self.packed.as_mut().filter(|p| p.spare.len() < MAX_SPARE) {
                    seg.clear();
                    p.spare.push(seg);
                }
            }
        }
    }

    fn recycle_full(&mut self, mut seg: Vec<S>) {
        seg.clear();
        if seg.capacity() == self.cap && self.spare.len() < MAX_SPARE {
            self.spare.push(seg);
        }
    }

    /// Appends the states of `runs` in order (a packed level).
    pub(crate) fn append_packed(&mut self, runs: &[&PackedRun]) {
        let (cap, p) = (self.cap, self.packed.as_mut().expect("a packed level"));
        for run in runs {
            let mut from = 0usize;
            for &end in &run.ends {
                let end = end as usize;
                if p.segs.last().is_none_or(|seg| seg.len == cap) {
                    if let Some(full) = p.segs.last_mut() {
                        // Its arena grew by doubling: give the slack back before the level
                        // waits for its turn.
                        full.bytes.shrink_to_fit();
                    }
                    let seg = p.spare.pop().unwrap_or_default();
                    p.segs.push(seg);
                }
                let seg = p.segs.last_mut().expect("pushed");
                if seg.len % p.sub == 0 {
                    seg.subs.push(seg.bytes.len() as u32);
                }
                seg.bytes.extend_from_slice(&run.bytes[from..end]);
                seg.len += 1;
                from = end;
            }
            self.len += run.ends.len();
        }
    }

    /// Bytes the level's segments hold (allocated capacity).
    pub(crate) fn bytes(&self) -> usize {
        let full = (self.segs.len() + self.spare.len()) * self.cap * std::mem::size_of::<S>();
        full + self.packed.as_ref().map_or(0, |p| p.segs.iter().chain(&p.spare).map(PackedSeg::bytes).sum())
    }

    pub(crate) fn push(&mut self, s: S) {
        assert!(self.packed.is_none(), "a packed level takes packed states");
        match self.segs.last_mut() {
            Some(last) if last.len() < self.cap => last.push(s),
            _ => {
                let mut seg = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.cap));
                seg.push(s);
                self.segs.push(seg);
            }
        }
        self.len += 1;
    }

    /// Moves all of `v` to the end (leaves `v` empty, with its capacity).
    pub(crate) fn append(&mut self, v: &mut Vec<S>) {
        let mut rest = v.drain(..);
        while rest.len() > 0 {
            if self.segs.last().is_none_or(|last| last.len() == self.cap) {
                let seg = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.cap));
                self.segs.push(seg);
            }
            let last = self.segs.last_mut().expect("pushed");
            let n = (self.cap - last.len()).min(rest.len());
            last.extend(rest.by_ref().take(n));
            self.len += n;
        }
    }

    /// [`append`](Segments::append) of several vectors in order, moving their states in
    /// parallel (rayon): each vector gets its own run of slots, reserved first. Why: the next
    /// level's states are moved once per batch, and done one after the other on the driving
    /// thread these moves, with the page faults of fresh segments, were a serial part of every
    /// batch that kept two threads from going twice as fast.
    pub(crate) fn append_all(&mut self, parts: &mut [&mut Vec<S>])
    where
        S: Send,
    {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        // Reserve: enough segments to hold `total` more states.
        let mut room = self.segs.last().map_or(0, |last| self.cap - last.len());
        while room < total {
            let seg = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.cap));
            self.segs.push(seg);
            room += self.cap;
        }
        // The free slots, in order, cut into one run of pieces per part.
        let first = self.segs.iter().position(|seg| seg.len() < self.cap).unwrap_or(self.segs.len());
        let mut filled = vec![0usize; self.segs.len() - first];
        let mut free = self.segs[first..].iter_mut().map(|seg| seg.spare_capacity_mut());
        let mut cur: &mut [std::mem::MaybeUninit<S>] = &mut [];
        let mut seg_at = 0usize;
        let mut jobs = Vec::with_capacity(parts.len());
        for part in parts.iter_mut() {
            let mut pieces = Vec::new();
            let mut want = part.len();
            while want > 0 {
                if cur.is_empty() {
                    cur = free.next().expect("reserved above");
                    seg_at += 1;
                }
                let n = want.min(cur.len());
                let (piece, rest) = std::mem::take(&mut cur).split_at_mut(n);
                cur = rest;
                filled[seg_at - 1] += n;
                pieces.push(piece);
                want -= n;
            }
            jobs.push((&mut **part, pieces));
        }
        use rayon::prelude::*;
        jobs.par_iter_mut().for_each(|(part, pieces)| {
            let mut src = part.drain(..);
            for piece in pieces.iter_mut() {
                for slot in piece.iter_mut() {
                    slot.write(src.next().expect("pieces cover the part exactly"));
                }
            }
        });
        drop(jobs);
        for (seg, n) in self.segs[first..].iter_mut().zip(filled) {
            // SAFETY: the `n` slots after `seg.len()` were written above (the pieces of this
            // segment cover them exactly, in order, and every piece was filled).
            unsafe { seg.set_len(seg.len() + n) };
        }
        self.len += total;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segments (every one but the last holds exactly `cap` states) and the spare ones.
    #[cfg(test)]
    pub(crate) fn into_parts(self) -> (Vec<Vec<S>>, Vec<Vec<S>>) {
        (self.segs, self.spare)
    }

    /// The segments held in memory (all of them unless spilled).
    pub(crate) fn segments(&self) -> &[Vec<S>] {
        &self.segs
    }

    /// The level's file, if it is spilled.
    pub(crate) fn file(&self) -> Option<&Path> {
        self.disk.as_ref().map(|d| d.path.as_path())
    }

    /// Adds spare segments (from the previous level) for reuse.
    pub(crate) fn adopt_spare(&mut self, spare: Vec<Vec<S>>) {
        for seg in spare {
            self.recycle_full(seg);
        }
    }
}

impl<S: Send + Sync> Segments<S> {
    /// An empty level that spills to `path` (created now).
    pub(crate) fn on_disk(cap: usize, path: PathBuf, codec: Codec<S>, frame: usize) -> io::Result<Self> {
        let w = Some(codec::create(&path)?);
        let mut s = Segments::new(cap);
        s.disk = Some(Disk { path, w, codec, frame });
        Ok(s)
    }

    /// A complete level of `len` states already in the file `path` (written by [`seal`]).
    ///
    /// [`seal`]: Segments::seal
    pub(crate) fn from_file(cap: usize, path: PathBuf, len: usize, codec: Codec<S>, frame: usize) -> Self {
        let mut s = Segments::new(cap);
        s.len = len;
        s.disk = Some(Disk { path, w: None, codec, frame });
        s
    }

    /// Writes the full segments out (spilled levels only; call after appending).
    pub(crate) fn spill_full(&mut self) -> io::Result<()> {
        while self.disk.is_some() && self.segs.first().is_some_and(|s| s.len() == self.cap) {
            let seg = self.segs.remove(0);
            let d = self.disk.as_mut().expect("checked");
            let w = d.w.as_mut().expect("a sealed level gets no states");
            d.codec.write(w, &seg, d.frame).map_err(|e| codec::with_path(e, &d.path))?;
            self.recycle_full(seg);
        }
        Ok(())
    }

    /// Writes the last, partial segment out and completes the file (no-op in memory or when
    /// sealed already). No state may be added afterwards.
    pub(crate) fn seal(&mut self) -> io::Result<()> {
        let Some(d) = self.disk.as_mut() else { return Ok(()) };
        let Some(mut w) = d.w.take() else { return Ok(()) };
        for seg in self.segs.drain(..) {
            d.codec.write(&mut w, &seg, d.frame).map_err(|e| codec::with_path(e, &d.path))?;
        }
        w.into_inner().map_err(|e| codec::with_path(e.into_error(), &d.path))?;
        Ok(())
    }

    /// The level, to be expanded batch by batch, and the spare segments.
    pub(crate) fn into_level(mut self) -> io::Result<(Level<S>, Vec<Vec<S>>)> {
        self.seal()?;
        let spare = std::mem::take(&mut self.spare);
        let level = match (self.disk.take(), self.packed.take()) {
            (_, Some(p)) => {
                let mut segs = p.segs;
                if let Some(last) = segs.last_mut() {
                    last.bytes.shrink_to_fit();
                }
                Level::Packed(segs.into_iter())
            }
            (None, None) => Level::Memory(std::mem::take(&mut self.segs).into_iter()),
            (Some(d), None) => {
                Level::Disk { r: codec::open(&d.path)?, path: d.path, codec: d.codec, cap: self.cap, frame: d.frame }
            }
        };
        Ok((level, spare))
    }
}

/// A level being expanded: its batches, in order.
pub(crate) enum Level<S> {
    Memory(std::vec::IntoIter<Vec<S>>),
    Packed(std::vec::IntoIter<PackedSeg>),
    /// Read back from its file, which is removed when the level is dropped.
    Disk {
        r: BufReader<File>,
        path: PathBuf,
        codec: Codec<S>,
        cap: usize,
        frame: usize,
    },
}

impl<S: Send + Sync> Level<S> {
    pub(crate) fn next_batch(&mut self) -> io::Result<Option<Batch<S>>> {
        match self {
            Level::Memory(it) => Ok(it.next().map(Batch::Full)),
            Level::Packed(it) => Ok(it.next().map(Batch::Packed)),
            Level::Disk { r, path, codec, cap, frame } => {
                let batch = codec.read(r, *cap, *frame).map_err(|e| codec::with_path(e, path))?;
                Ok((!batch.is_empty()).then_some(Batch::Full(batch)))
            }
        }
    }

    /// Bytes the batches not yet expanded hold in memory.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Level::Memory(it) => it.as_slice().iter().map(|v| v.capacity() * std::mem::size_of::<S>()).sum(),
            Level::Packed(it) => it.as_slice().iter().map(PackedSeg::bytes).sum(),
            Level::Disk { .. } => 0,
        }
    }
}

impl<S> Drop for Level<S> {
    fn drop(&mut self) {
        if let Level::Disk { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_segments_are_refilled_empty() {
        let mut f = Segments::new(2);
        let mut old = Vec::with_capacity(2);
        old.extend([9, 9]);
        let ptr = old.as_ptr();
        f.recycle(Batch::Full(old));
        f.push(1);
        let (segs, spare) = f.into_parts();
        assert_eq!(segs, vec![vec![1]]);
        assert_eq!(segs[0].as_ptr(), ptr, "the recycled allocation is reused");
        assert!(spare.is_empty());
    }

    #[test]
    fn append_all_fills_in_order_across_segments() {
        let mut f = Segments::new(3);
        f.push(100);
        let (mut a, mut b, mut c): (Vec<i32>, Vec<i32>, Vec<i32>) = ((0..4).collect(), vec![], (4..9).collect());
        f.append_all(&mut [&mut a, &mut b, &mut c]);
        assert!(a.is_empty() && c.is_empty());
        assert_eq!(f.len(), 10);
        f.append_all(&mut [&mut vec![9]]);
        assert_eq!(f.into_parts().0, vec![vec![100, 0, 1], vec![2, 3, 4], vec![5, 6, 7], vec![8, 9]]);
    }

    #[test]
    fn packed_runs_fill_segments_and_sub_chunks_in_order() {
        // Each state is one byte (its number); 3 per segment, sub-chunks of 2.
        let mut f = Segments::<()>::packed(3, 2);
        let mut a = PackedRun::default();
        for i in 0..5u8 {
            a.bytes.extend(std::iter::repeat_n(i, 1 + i as usize % 2));
            a.close();
        }
        a.retain(|i| i != 1);
        assert_eq!((a.bytes.as_slice(), a.ends.as_slice()), (&[0, 2, 3, 3, 4][..], &[1, 2, 4, 5][..]));
        let mut b = PackedRun::default();
        b.bytes.push(9);
        b.close();
        f.append_packed(&[&a, &b]);
        assert_eq!(f.len(), 5);
        let (mut level, _) = f.into_level().unwrap();
        let mut segs = Vec::new();
        while let Some(batch) = level.next_batch().unwrap() {
            let Batch::Packed(seg) = batch else { panic!("a packed level") };
            segs.push(seg);
        }
        let chunks: Vec<Vec<(&[u8], usize)>> = segs.iter().map(|s| s.sub_chunks(2)).collect();
        assert_eq!(chunks, vec![vec![(&[0, 2][..], 2), (&[3, 3][..], 1)], vec![(&[4, 9][..], 2)]]);
    }

    #[test]
    fn segments_are_full_except_the_last() {
        let mut f = Segments::new(3);
        f.append(&mut (0..7).collect());
        assert_eq!(f.len(), 7);
        assert_eq!(f.into_parts().0, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    }
}
