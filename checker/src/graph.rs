//! The explored graph, kept for liveness checking.
//!
//! Why this shape: stateright's `eventually` looks at terminal states only (no cycles, no
//! fairness). Leads-to under fairness and possibility need the whole graph: per state its
//! successors, and per edge its fairness class. States are numbered in BFS order (the order
//! the engine stores them, identical for any thread count),
//! so state `i` of the graph is the state `Levels::path_to` rebuilds for the same index.
//!
//! While the BFS runs, an edge is recorded as the 64-bit fingerprint of its target (the
//! target's index is not known yet: it is given in phase C of a later batch). Once the
//! search is exhausted, [`Recorder::finish`] sorts the states' fingerprints and turns every
//! edge into a `u32` index by binary search (in parallel; the result does not depend on the
//! thread count). Per state: its first-edge offset (`u64`), its fingerprint during the BFS
//! (`u64`), two bits per liveness property (`u16`); per edge: the target (`u64` during the
//! BFS, `u32` after), the fairness class (`u16`), and one byte of "allowed" bits when a
//! possibility property has an edge filter.

use rayon::prelude::*;

/// Fairness of one edge's action. Class ids are 1..=0x7fff; edges of the same class form
/// one fairness constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fairness {
    /// Weak fairness: if the class is enabled continuously from some point on, one of its
    /// edges is eventually taken.
    Weak(u16),
    /// Strong fairness: if the class is enabled infinitely often, one of its edges is taken
    /// infinitely often.
    Strong(u16),
}

/// Class byte pair stored per edge: 0 = not fair, else the id with bit 15 set for strong.
pub(crate) const STRONG_BIT: u16 = 0x8000;

impl Fairness {
    pub(crate) fn encode(f: Option<Fairness>) -> u16 {
        match f {
            None => 0,
            Some(Fairness::Weak(c)) => {
                assert!((1..STRONG_BIT).contains(&c), "fairness class {c} out of 1..=0x7fff");
                c
            }
            Some(Fairness::Strong(c)) => {
                assert!((1..STRONG_BIT).contains(&c), "fairness class {c} out of 1..=0x7fff");
                c | STRONG_BIT
            }
        }
    }
}

/// What phase A records for one frontier state and its successors.
#[derive(Default)]
pub(crate) struct SubRecord {
    /// Per frontier state: number of successor edges.
    pub(crate) count: Vec<u32>,
    /// Per frontier state: P/Q bits of the liveness properties.
    pub(crate) bits: Vec<u16>,
    /// Per edge (in (position, action) order): encoded fairness class.
    pub(crate) class: Vec<u16>,
    /// Per edge: bit i set if possibility property i allows the edge.
    pub(crate) allowed: Vec<u8>,
    /// Fingerprints of the new successors, in phase-C order.
    pub(crate) new_fp: Vec<u64>,
}

impl SubRecord {
    pub(crate) fn clear(&mut self) {
        self.count.clear();
        self.bits.clear();
        self.class.clear();
        self.allowed.clear();
        self.new_fp.clear();
    }
}

/// The graph being recorded during the BFS.
pub(crate) struct Recorder {
    offsets: Vec<u64>,
    bits: Vec<u16>,
    target_fp: Vec<u64>,
    class: Vec<u16>,
    allowed: Vec<u8>,
    state_fp: Vec<u64>,
    with_allowed: bool,
    /// Largest number of bytes held at once (sampled after each batch and in `finish`).
    pub(crate) peak_bytes: usize,
}

impl Recorder {
    pub(crate) fn new(with_allowed: bool) -> Self {
        Recorder {
            offsets: vec![0],
            bits: Vec::new(),
            target_fp: Vec::new(),
            class: Vec::new(),
            allowed: Vec::new(),
            state_fp: Vec::new(),
            with_allowed,
            peak_bytes: 0,
        }
    }

    /// A state was stored (initial state, or a new successor in phase-C order).
    pub(crate) fn stored(&mut self, fp: u64) {
        self.state_fp.push(fp);
    }

    /// Appends the records of one expanded sub-chunk (frontier states in order). `fps` are
    /// the successor fingerprints phase A computed, in the same edge order.
    pub(crate) fn expanded(&mut self, rec: &SubRecord, fps: &[u64]) {
        let mut off = *self.offsets.last().expect("offsets start with 0");
        for &c in &rec.count {
            off += u64::from(c);
            self.offsets.push(off);
        }
        self.bits.extend_from_slice(&rec.bits);
        self.target_fp.extend_from_slice(fps);
        self.class.extend_from_slice(&rec.class);
        if self.with_allowed {
            self.allowed.extend_from_slice(&rec.allowed);
        }
        self.state_fp.extend_from_slice(&rec.new_fp);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.offsets.capacity() * 8
            + self.bits.capacity() * 2
            + self.target_fp.capacity() * 8
            + self.class.capacity() * 2
            + self.allowed.capacity()
            + self.state_fp.capacity() * 8
    }

    pub(crate) fn sample(&mut self) {
        self.peak_bytes = self.peak_bytes.max(self.bytes());
    }

    /// Writes the graph recorded so far (checkpoints).
    pub(crate) fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        use crate::codec::write_vec;
        w.write_all(&[u8::from(self.with_allowed)])?;
        w.write_all(&(self.peak_bytes as u64).to_le_bytes())?;
        write_vec(w, &self.offsets)?;
        write_vec(w, &self.bits)?;
        write_vec(w, &self.target_fp)?;
        write_vec(w, &self.class)?;
        write_vec(w, &self.allowed)?;
        write_vec(w, &self.state_fp)
    }

    pub(crate) fn read_from(r: &mut impl std::io::Read) -> std::io::Result<Self> {
        use crate::codec::{read_u64, read_vec};
        let mut flag = [0u8];
        r.read_exact(&mut flag)?;
        let peak_bytes = read_u64(r)? as usize;
        Ok(Recorder {
            with_allowed: flag[0] != 0,
            peak_bytes,
            offsets: read_vec(r)?,
            bits: read_vec(r)?,
            target_fp: read_vec(r)?,
            class: read_vec(r)?,
            allowed: read_vec(r)?,
            state_fp: read_vec(r)?,
        })
    }

    /// Turns target fingerprints into state indices. Only valid after an exhausted search
    /// (every target was stored).
    pub(crate) fn finish(mut self) -> (Graph, usize) {
        self.sample();
        let n = self.state_fp.len();
        assert_eq!(self.offsets.len(), n + 1, "every stored state must have been expanded");
        let index = FpIndex::new(&self.state_fp);
        self.state_fp = Vec::new();
        let during = self.bytes() + index.bytes();
        let succ: Vec<u32> = self.target_fp.par_iter().map(|&fp| index.get(fp)).collect();
        let peak = self.peak_bytes.max(during + succ.capacity() * 4);
        let g = Graph { offsets: self.offsets, succ, class: self.class, allowed: self.allowed, bits: self.bits };
        (g, peak)
    }
}

/// Fingerprint -> BFS index, open addressing with linear probing at load <= 0.5 (one
/// 16-byte slot per probe: a lookup is about one cache miss, unlike a binary search).
struct FpIndex {
    slots: Vec<(u64, u32)>,
}

impl FpIndex {
    fn new(fps: &[u64]) -> Self {
        let n = (fps.len() * 2).max(16);
        let mut slots = vec![(0u64, 0u32); n];
        for (i, &fp) in fps.iter().enumerate() {
            let mut h = Self::home(fp, n);
            while slots[h].0 != 0 {
                h = if h + 1 == n { 0 } else { h + 1 };
            }
            slots[h] = (fp, i as u32);
        }
        FpIndex { slots }
    }

    fn home(fp: u64, n: usize) -> usize {
        (((fp & 0xffff_ffff) * n as u64) >> 32) as usize
    }

    fn get(&self, fp: u64) -> u32 {
        let n = self.slots.len();
        let mut h = Self::home(fp, n);
        loop {
            let (f, i) = self.slots[h];
            if f == fp {
                return i;
            }
            assert_ne!(f, 0, "edge to a state that was not stored");
            h = if h + 1 == n { 0 } else { h + 1 };
        }
    }

    fn bytes(&self) -> usize {
        self.slots.capacity() * 16
    }
}

/// The explored graph in compressed sparse rows, states in BFS order.
pub(crate) struct Graph {
    /// Edges of state `v` are `offsets[v]..offsets[v + 1]`.
    pub(crate) offsets: Vec<u64>,
    pub(crate) succ: Vec<u32>,
    pub(crate) class: Vec<u16>,
    /// Empty when no property filters edges.
    pub(crate) allowed: Vec<u8>,
    pub(crate) bits: Vec<u16>,
}

impl Graph {
    pub(crate) fn len(&self) -> usize {
        self.bits.len()
    }

    pub(crate) fn edges(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize
    }

    pub(crate) fn bytes(&self) -> usize {
        self.offsets.capacity() * 8
            + self.succ.capacity() * 4
            + self.class.capacity() * 2
            + self.allowed.capacity()
            + self.bits.capacity() * 2
    }

    /// P bit of property `i` at `v`.
    pub(crate) fn p(&self, i: usize, v: u32) -> bool {
        self.bits[v as usize] & (1 << (2 * i)) != 0
    }

    /// Q bit of property `i` at `v`.
    pub(crate) fn q(&self, i: usize, v: u32) -> bool {
        self.bits[v as usize] & (1 << (2 * i + 1)) != 0
    }
}
