//! The explored graph, kept for liveness checking.
//!
//! Why this shape: stateright's `eventually` looks at terminal states only (no cycles, no
//! fairness). Leads-to under fairness and possibility need the whole graph: per state its
//! successors, and per edge its fairness class. States are numbered in BFS order (the order
//! the engine stores them, identical for any thread count),
//! so state `i` of the graph is the state `Levels::path_to` rebuilds for the same index.
//!
//! Why so compact (issue 16: `large` kept 159 bytes per state here): an edge is recorded as the
//! BFS index of its target, which phase B reads from the indexed visited set (`table.rs`) when
//! it looks the target up; no fingerprint per edge, and no fingerprint-to-index map after the
//! search. The graph is final when the search ends, and encoded as it is recorded:
//! * States come in blocks of [`BLOCK`]; where each block starts in the stream is kept in a
//!   `u16` per block and a `u64` per group of blocks ([`index::BlockIndex`]). Per state: the
//!   number of its signature, the sequence of its edges' (fairness class, allowed bits) pairs
//!   as palette codes, kept once per distinct sequence ([`index::Signatures`]; a model has few
//!   classes and its actions few patterns), which gives the out-degree too; then per edge one
//!   number holding the target's zigzag distance to a reference target. The numbers are
//!   written in a bit code ([`code`]: bit length in a prefix code, then the bits below the
//!   leading one), each state from a byte.
//! * The reference of edge `j` is edge `j` of the previous state of the block, else the
//!   previous edge of the same state (the state itself for the first edge). Why: consecutive
//!   states are mostly siblings, and the same action from siblings leads to states numbered
//!   close together (measured on the default scenario with blocks of 8: 1.9 bytes per target instead of 2.5
//!   against the previous edge alone). Reading a state decodes its block up to it; a
//!   [`Decoder`] keeps the blocks it read last, decoded as far as it got.
//! * Two bits per liveness property and state and three flags the passes ask of every state
//!   (no fair edge, an edge to itself, no edge), kept as a byte naming the state's pattern of
//!   bits ([`Bits`]).
//!
//! Everything is kept in fixed-size chunks: no vector doubles, so there is no slack and no
//! moment where the old and the new copy of a vector are both alive.
//!
//! The liveness passes read this stream as it is ([`Graph::decode`], [`Graph::scan`]): the
//! flat arrays they once read (4 bytes per state and 5 per edge, 41 bytes per state on `large`
//! against 21.7 here) made the liveness phase the run's peak, and once no pass decodes a
//! state twice per visit they were no faster (README "Liveness storage").

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use smallvec::SmallVec;

use crate::table::{Slots, Zeroable};

mod code;
mod index;

use code::{BitWriter, Code, Reader, StateReader, DIST_LENS, SIG_LENS};
use index::{BlockIndex, Signatures};

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
    /// The inverse of [`Fairness::encode`].
    pub(crate) fn decode(c: u16) -> Option<Fairness> {
        match c {
            0 => None,
            c if c & STRONG_BIT != 0 => Some(Fairness::Strong(c & !STRONG_BIT)),
            c => Some(Fairness::Weak(c)),
        }
    }

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

/// Set in the index a state gets in the table while its batch is being inserted: the rest
/// names the successor that inserted it (`pending`), whose BFS index phase C decides.
pub(crate) const PENDING: u32 = 1 << 31;
pub(crate) const SUCC_BITS: u32 = 26;

/// The provisional index of successor `i` of sub-chunk `k` of the current batch.
pub(crate) fn pending(k: usize, i: usize) -> u32 {
    assert!(k < 1 << (31 - SUCC_BITS) && i < 1 << SUCC_BITS, "sub-chunk {k} successor {i} out of range");
    PENDING | (k as u32) << SUCC_BITS | i as u32
}

/// The (sub-chunk, successor) a provisional index names.
pub(crate) fn pending_parts(v: u32) -> (usize, usize) {
    (((v & !PENDING) >> SUCC_BITS) as usize, (v & ((1 << SUCC_BITS) - 1)) as usize)
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
    /// Per edge: the target's index as phase B found it (maybe [`PENDING`]).
    pub(crate) target: Vec<AtomicU32>,
    /// Per edge that found a new state: its rank among this sub-chunk's new states.
    pub(crate) rank: Vec<u32>,
}

impl SubRecord {
    /// Empties the records for a sub-chunk of `edges` edges.
    pub(crate) fn clear(&mut self) {
        self.count.clear();
        self.bits.clear();
        self.class.clear();
        self.allowed.clear();
        self.target.clear();
        self.rank.clear();
    }

    /// Sizes the per-edge target slots once phase A knows the number of edges.
    pub(crate) fn size_targets(&mut self) {
        self.target.resize_with(self.class.len(), || AtomicU32::new(u32::MAX));
        self.rank.resize(self.class.len(), u32::MAX);
    }

    /// The targets of the last state, through `resolve` (the next sub-chunk's references).
    pub(crate) fn last_targets(&self, resolve: impl Fn(u32) -> u32) -> Vec<u32> {
        let c = self.count.last().map_or(0, |&c| c as usize);
        self.target[self.target.len() - c..].iter().map(|t| resolve(t.load(Relaxed))).collect()
    }
}

/// One sub-chunk's records encoded for the stream by [`Graph::encode`] (on any thread), for
/// [`Graph::append`] to add in order: why, the encoding is most of the cost of recording, and
/// done on the driving thread it was a serial part of every batch (issue 16.4).
#[derive(Default)]
pub(crate) struct Encoded {
    bytes: Vec<u8>,
    /// Offsets in `bytes` where a block starts.
    blocks: Vec<u32>,
    /// Targets of the last state (the references of the next sub-chunk's first state).
    last: Vec<u32>,
    /// Per state: its [`QUIESCENT`], [`SELF_LOOP`] and [`DEAD_END`] flags.
    flags: Vec<u32>,
    edges: u64,
    /// Bits of `bytes` that hold signature numbers.
    sig_bits: u64,
}

/// Elements per chunk of a [`Chunked`] vector: a chunk is 1-4 MiB, so each one is its own
/// mapping (`table::Slots`), given back to the kernel the moment it is dropped.
const CHUNK: usize = 1 << 20;

/// A vector in fixed chunks of [`CHUNK`] elements: growing never copies nor doubles, and
/// dropping a chunk (the stream while [`Graph::flatten`] decodes it) lowers RSS at once.
pub(crate) struct Chunked<T: Zeroable> {
    chunks: Vec<Slots<T>>,
    len: usize,
}

impl<T: Zeroable> Chunked<T> {
    fn new() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }

    fn push(&mut self, v: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Slots::zeroed(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk")[self.len % CHUNK] = v;
        self.len += 1;
    }

    fn extend(&mut self, mut vs: &[T]) {
        while !vs.is_empty() {
            if self.len.is_multiple_of(CHUNK) {
                self.chunks.push(Slots::zeroed(CHUNK));
            }
            let at = self.len % CHUNK;
            let n = (CHUNK - at).min(vs.len());
            self.chunks.last_mut().expect("a chunk")[at..at + n].copy_from_slice(&vs[..n]);
            self.len += n;
            vs = &vs[n..];
        }
    }

    #[inline]
    fn get(&self, i: usize) -> T {
        self.chunks[i / CHUNK][i % CHUNK]
    }

    /// Bytes in use (pages of a chunk past its last element are never touched, so never
    /// resident).
    fn bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>() + self.chunks.capacity() * std::mem::size_of::<Slots<T>>()
    }

    fn to_vec(&self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.len);
        for c in &self.chunks {
            let k = (self.len - v.len()).min(CHUNK);
            v.extend_from_slice(&c[..k]);
        }
        v
    }

    fn from_vec(v: &[T]) -> Self {
        let mut c = Chunked::new();
        c.extend(v);
        c
    }
}

/// The P/Q bits of every state (low 16 bits) and its [`QUIESCENT`], [`SELF_LOOP`] and
/// [`DEAD_END`] flags. Few patterns occur (15 of the 4,096 possible P/Q patterns on `large`),
/// so a state keeps one byte naming its pattern; past 256 patterns, the pattern itself.
enum Bits {
    Narrow { ids: Chunked<u8>, patterns: Vec<u32>, index: HashMap<u32, u8> },
    Wide(Chunked<u32>),
}

/// Flag of a state none of whose edges is fair (the run may stay there forever). Why recorded
/// with the state instead of read off its edges: the leads-to passes ask it of every state, and
/// a sequential scan of the stream per pass for these flags cost as much as a decode of the
/// whole graph (issue 16: the liveness phase halved).
pub(crate) const QUIESCENT: u32 = 1 << 16;
/// Flag of a state with an edge to itself.
pub(crate) const SELF_LOOP: u32 = 1 << 17;
/// Flag of a state with no edge at all (the deadlock check reads it: no pass over the stream).
pub(crate) const DEAD_END: u32 = 1 << 18;

impl Bits {
    fn new() -> Self {
        Bits::Narrow { ids: Chunked::new(), patterns: Vec::new(), index: HashMap::new() }
    }

    fn extend(&mut self, bits: impl IntoIterator<Item = u32>) {
        for b in bits {
            match self {
                Bits::Narrow { ids, patterns, index } => {
                    let id = match index.get(&b) {
                        Some(&id) => id,
                        None if patterns.len() < 256 => {
                            index.insert(b, patterns.len() as u8);
                            patterns.push(b);
                            (patterns.len() - 1) as u8
                        }
                        None => {
                            let mut wide = Chunked::new();
                            for v in 0..ids.len {
                                wide.push(patterns[ids.get(v) as usize]);
                            }
                            wide.push(b);
                            *self = Bits::Wide(wide);
                            continue;
                        }
                    };
                    ids.push(id);
                }
                Bits::Wide(w) => w.push(b),
            }
        }
    }

    #[inline]
    fn get(&self, v: usize) -> u32 {
        match self {
            Bits::Narrow { ids, patterns, .. } => patterns[ids.get(v) as usize],
            Bits::Wide(w) => w.get(v),
        }
    }

    fn len(&self) -> usize {
        match self {
            Bits::Narrow { ids, .. } => ids.len,
            Bits::Wide(w) => w.len,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Bits::Narrow { ids, patterns, .. } => ids.bytes() + patterns.capacity() * 4,
            Bits::Wide(w) => w.bytes(),
        }
    }

    fn to_vec(&self) -> Vec<u32> {
        (0..self.len()).map(|v| self.get(v)).collect()
    }
}

/// The explored graph (recorded during the BFS, complete once the search is exhausted), states
/// in BFS order.
pub(crate) struct Graph {
    /// Per state: P/Q bits of the liveness properties.
    bits: Bits,
    /// Where each block starts in `stream`.
    block: BlockIndex,
    stream: Chunked<u8>,
    /// Code -> (class, allowed bits), in order of first use.
    palette: Vec<(u16, u8)>,
    /// Its inverse (ahash: looked up once per edge recorded, and std's SipHash was 3 % of a
    /// run on the default scenario, perf).
    codes: HashMap<(u16, u8), u32, ahash::RandomState>,
    /// The sequences of codes states' edges have.
    sigs: Signatures,
    /// Bits of the stream that hold signature numbers (the rest: targets' distances).
    sig_bits: u64,
    /// The bit codes of signature numbers and of distances ([`code`]).
    sig_code: Code,
    dist_code: Code,
    /// Targets of the last state recorded (the references of the next one, if in its block).
    prev: Vec<u32>,
    with_allowed: bool,
    /// Largest number of bytes held at once (sampled after each batch).
    pub(crate) peak_bytes: usize,
    /// Edges recorded so far.
    edges: u64,
}

/// The recorder is the graph while it grows.
pub(crate) type Recorder = Graph;

/// States per block (see the module doc): a state is read by decoding its block up to it.
const BLOCK: usize = 4;

/// One edge: its source, its ordinal among the source's successors (the order the engine
/// generated them in, which replay follows), its target, class and allowed bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Edge {
    pub(crate) from: u32,
    pub(crate) ord: u32,
    pub(crate) to: u32,
    pub(crate) class: u16,
    pub(crate) allowed: u8,
}

/// The edges of one state, decoded.
pub(crate) type Edges = smallvec::IntoIter<[Edge; 8]>;

/// Decodes states' edges for [`Graph::decode`], keeping the blocks it decoded last.
///
/// Why a cache: reading state `v` decodes its block from the block's first state up to `v`
/// (2.5 states on average for one wanted), and a DFS asks for the siblings of a state (the
/// same block: they were found together) soon after it. Each cached block keeps its states
/// decoded so far and where the stream continues, so a later state of the block costs only
/// the states between, and an earlier one nothing. Direct-mapped by block number.
pub(crate) struct Decoder {
    blocks: Vec<Cached>,
}

/// One block's states decoded so far: state `j` of the block has the edges
/// `ends[j]..ends[j + 1]` of `to` and `codes`.
struct Cached {
    block: usize,
    /// States of the block decoded so far.
    done: usize,
    /// Where the stream continues after them.
    pos: u64,
    ends: [u32; BLOCK + 1],
    to: Vec<u32>,
    codes: Vec<u32>,
}

impl Default for Decoder {
    /// A decoder that keeps one block (the last one read): for reads in index order.
    fn default() -> Self {
        Decoder::with_blocks(1)
    }
}

impl Decoder {
    /// A decoder that keeps up to `n` blocks (a DFS over the graph: [`Decoder::for_dfs`]).
    pub(crate) fn with_blocks(n: usize) -> Self {
        let empty =
            || Cached { block: usize::MAX, done: 0, pos: 0, ends: [0; BLOCK + 1], to: Vec::new(), codes: Vec::new() };
        Decoder { blocks: (0..n.max(1)).map(|_| empty()).collect() }
    }

    /// The decoder of a pass that visits states in DFS order. Measured on `default` (2
    /// threads, load 12-16): the liveness passes took 4.0 s of thread CPU time against 4.3 s
    /// keeping one block.
    pub(crate) fn for_dfs() -> Self {
        Decoder::with_blocks(DFS_BLOCKS)
    }
}

/// Blocks a DFS pass's decoder keeps (about 100 bytes each).
const DFS_BLOCKS: usize = 256;

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

/// The flags a state keeps beside its P/Q bits ([`QUIESCENT`]): `to` are its edges' targets,
/// `unfair` says that none of them is fair.
fn state_flags(v: u32, to: &[u32], unfair: bool) -> u32 {
    let mut f = 0;
    if unfair {
        f |= QUIESCENT;
    }
    if to.contains(&v) {
        f |= SELF_LOOP;
    }
    if to.is_empty() {
        f |= DEAD_END;
    }
    f
}

/// The reference target of edge `j` (module doc).
#[inline]
fn reference(prev: &[u32], cur: &[u32], from: u32, j: usize) -> u32 {
    match prev.get(j) {
        Some(&t) => t,
        None if j == 0 => from,
        None => cur[j - 1],
    }
}

impl Graph {
    pub(crate) fn new(with_allowed: bool) -> Self {
        Graph {
            bits: Bits::new(),
            block: BlockIndex::new(),
            stream: Chunked::new(),
            palette: Vec::new(),
            codes: HashMap::default(),
            sigs: Signatures::new(),
            sig_bits: 0,
            sig_code: Code::new(&SIG_LENS),
            dist_code: Code::new(&DIST_LENS),
            prev: Vec::new(),
            with_allowed,
            peak_bytes: 0,
            edges: 0,
        }
    }

    /// The targets of the last state recorded (see [`Graph::encode`]).
    pub(crate) fn last_targets(&self) -> &[u32] {
        &self.prev
    }

    /// The (fairness class, allowed bits) pair of edge `k` of `rec` as the palette keys it
    /// (allowed bits only when the graph records them: `rec.allowed` is empty otherwise).
    fn pair(&self, rec: &SubRecord, k: usize) -> (u16, u8) {
        (rec.class[k], if self.with_allowed { rec.allowed[k] } else { 0 })
    }

    /// Adds the (class, allowed) pairs and the signatures of `rec` that the palette and the
    /// signatures lack, in order of first use (call for every sub-chunk of a batch, in order,
    /// when [`encode`](Graph::encode) missed one: they are then the ones of a serial encoding).
    pub(crate) fn learn(&mut self, rec: &SubRecord) {
        let mut sig: SmallVec<[u32; 16]> = SmallVec::new();
        let mut e = 0;
        for &c in &rec.count {
            sig.clear();
            for k in e..e + c as usize {
                let pair = self.pair(rec, k);
                let code = match self.codes.get(&pair) {
                    Some(&code) => code,
                    None => {
                        self.codes.insert(pair, self.palette.len() as u32);
                        self.palette.push(pair);
                        self.palette.len() as u32 - 1
                    }
                };
                sig.push(code);
            }
            self.sigs.learn(&sig);
            e += c as usize;
        }
    }

    /// Encodes the records of one expanded sub-chunk into `out`: its first state will be
    /// state `first`, `prev` holds the targets of state `first - 1` (what
    /// [`last_targets`](Graph::last_targets) or [`SubRecord::last_targets`] of the sub-chunk
    /// before returns), `resolve` turns a target as phase B found it into its BFS index. False
    /// if an edge's (class, allowed) pair is not in the palette yet, or a state's sequence of
    /// them not in the signatures ([`learn`](Graph::learn)).
    pub(crate) fn encode(
        &self,
        rec: &SubRecord,
        first: u32,
        prev: &[u32],
        resolve: impl Fn(u32) -> u32,
        out: &mut Encoded,
    ) -> bool {
        out.bytes.clear();
        out.blocks.clear();
        out.flags.clear();
        out.sig_bits = 0;
        let mut prev = prev.to_vec();
        let mut cur = std::mem::take(&mut out.last);
        let mut sig: SmallVec<[u32; 16]> = SmallVec::new();
        let mut e = 0;
        for (j, &c) in rec.count.iter().enumerate() {
            let from = first + j as u32;
            assert!(from < PENDING, "the liveness graph holds at most 2^31 states");
            if (from as usize).is_multiple_of(BLOCK) {
                out.blocks.push(out.bytes.len() as u32);
                prev.clear();
            }
            sig.clear();
            for k in e..e + c as usize {
                match self.codes.get(&self.pair(rec, k)) {
                    Some(&code) => sig.push(code),
                    None => {
                        out.last = cur;
                        return false;
                    }
                }
            }
            let Some(id) = self.sigs.id(&sig) else {
                out.last = cur;
                return false;
            };
            let mut w = BitWriter::default();
            let at = out.bytes.len();
            w.put(&mut out.bytes, &self.sig_code, u64::from(id));
            out.sig_bits += w.written(at, &out.bytes);
            cur.clear();
            for k in e..e + c as usize {
                let to = resolve(rec.target[k].load(Relaxed));
                let base = reference(&prev, &cur, from, cur.len());
                w.put(&mut out.bytes, &self.dist_code, zigzag(i64::from(to) - i64::from(base)));
                cur.push(to);
            }
            // A state starts at a byte: a block's states are read one after the other, and a
            // sub-chunk's bytes are appended as they are (about half a byte a state).
            w.flush(&mut out.bytes);
            out.flags.push(state_flags(from, &cur, rec.class[e..e + c as usize].iter().all(|&k| k == 0)));
            e += c as usize;
            std::mem::swap(&mut prev, &mut cur);
        }
        out.edges = e as u64;
        out.last = prev;
        true
    }

    /// Appends a sub-chunk [`encode`](Graph::encode)d for the states from `self.len()` on.
    pub(crate) fn append(&mut self, rec: &SubRecord, enc: &Encoded) {
        let at = self.stream.len as u64;
        for &b in &enc.blocks {
            self.block.push(at + u64::from(b));
        }
        self.edges += rec.count.iter().map(|&c| u64::from(c)).sum::<u64>();
        self.sig_bits += enc.sig_bits;
        self.bits.extend(rec.bits.iter().zip(&enc.flags).map(|(&b, &f)| u32::from(b) | f));
        self.stream.extend(&enc.bytes);
        self.prev.clone_from(&enc.last);
    }

    /// Appends the records of one expanded sub-chunk (frontier states in order) on this
    /// thread: [`learn`](Graph::learn), [`encode`](Graph::encode) and
    /// [`append`](Graph::append) in one.
    #[cfg(test)]
    pub(crate) fn expanded(&mut self, rec: &SubRecord, resolve: impl Fn(u32) -> u32) {
        self.learn(rec);
        let mut enc = Encoded::default();
        let prev = self.prev.clone();
        assert!(self.encode(rec, self.len() as u32, &prev, resolve, &mut enc), "learned");
        self.append(rec, &enc);
    }

    pub(crate) fn sample(&mut self) {
        self.peak_bytes = self.peak_bytes.max(self.bytes());
    }

    pub(crate) fn len(&self) -> usize {
        self.bits.len()
    }

    /// The targets of state `v`'s edges and their palette codes ([`Graph::class`]), in the
    /// order the engine generated them: decodes `v`'s block up to `v` into `d`'s buffers.
    pub(crate) fn decode<'d>(&self, v: u32, d: &'d mut Decoder) -> (&'d [u32], &'d [u32]) {
        let (b, j) = (v as usize / BLOCK, v as usize % BLOCK);
        let n = d.blocks.len();
        let c = &mut d.blocks[b % n];
        if c.block != b {
            c.block = b;
            c.done = 0;
            c.pos = self.block.get(b);
            c.to.clear();
            c.codes.clear();
        }
        if j >= c.done {
            let mut pos = c.pos;
            for k in c.done..=j {
                // The state before's targets (the references), empty for a block's first.
                let prev = if k == 0 { 0..0 } else { c.ends[k - 1] as usize..c.ends[k] as usize };
                let (sig, bytes) = self.read_state(pos, (b * BLOCK + k) as u32, &mut c.to, prev);
                c.codes.extend_from_slice(sig);
                c.ends[k + 1] = c.to.len() as u32;
                pos += bytes;
            }
            c.done = j + 1;
            c.pos = pos;
        }
        let (s, e) = (c.ends[j] as usize, c.ends[j + 1] as usize);
        (&c.to[s..e], &c.codes[s..e])
    }

    /// The (fairness class, allowed bits) of palette code `code`.
    #[inline]
    pub(crate) fn class(&self, code: u32) -> (u16, u8) {
        self.palette[code as usize]
    }

    /// Number of palette codes (codes are `0..codes()`).
    pub(crate) fn codes(&self) -> usize {
        self.palette.len()
    }

    /// The edges of state `v` (decodes its block up to it).
    pub(crate) fn edges(&self, v: u32) -> Edges {
        let mut d = Decoder::default();
        let (to, codes) = self.decode(v, &mut d);
        let out: smallvec::SmallVec<[Edge; 8]> = (to.iter().zip(codes).zip(0u32..))
            .map(|((&to, &code), ord)| {
                let (class, allowed) = self.class(code);
                Edge { from: v, ord, to, class, allowed }
            })
            .collect();
        out.into_iter()
    }

    /// Calls `f` with every state, its edges' targets and their palette codes, in index order
    /// (one sequential pass over the stream).
    #[cfg(test)]
    pub(crate) fn scan(&self, f: impl FnMut(u32, &[u32], &[u32])) {
        self.scan_n(self.len(), f)
    }

    /// [`scan`](Graph::scan) over the first `n` states.
    fn scan_n(&self, n: usize, mut f: impl FnMut(u32, &[u32], &[u32])) {
        let mut pos = 0;
        // The state before's targets, then this state's.
        let mut to = Vec::new();
        for v in 0..n as u32 {
            if (v as usize).is_multiple_of(BLOCK) {
                to.clear();
            }
            let p = to.len();
            let (sig, bytes) = self.read_state(pos, v, &mut to, 0..p);
            pos += bytes;
            f(v, &to[p..], sig);
            to.drain(..p);
        }
    }

    /// Reads state `from`, whose bits start at stream byte `pos`, and appends its edges'
    /// targets to `to`, where `to[prev]` are the targets of the state before it in its block
    /// (the references, module doc). Its signature (the edges' palette codes) and the bytes it
    /// took. The one decoder of a state, for [`Graph::decode`] and [`Graph::scan_n`].
    #[inline]
    fn read_state(&self, pos: u64, from: u32, to: &mut Vec<u32>, prev: std::ops::Range<usize>) -> (&[u32], u64) {
        // The bit reader reads ahead: each state starts a reader where its bits start.
        let mut rd = Reader::at(&self.stream, pos);
        let mut r = StateReader::new(&mut rd);
        let sig = self.sigs.get(r.get(&self.sig_code) as u32);
        let start = to.len();
        for e in 0..sig.len() {
            let z = r.get(&self.dist_code);
            let base = reference(&to[prev.clone()], &to[start..], from, e);
            to.push((i64::from(base) + unzigzag(z)) as u32);
        }
        (sig, r.bytes())
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bits.bytes() + self.block.bytes() + self.stream.bytes() + self.sigs.bytes()
    }

    /// What the graph holds, part by part (`KLPCHECK_PROFILE`).
    pub(crate) fn describe(&self) -> String {
        let n = self.len().max(1) as f64;
        let mb = |b: usize| b as f64 / 1e6;
        format!(
            "graph: {} states, {} edges, {} signatures, {} palette codes; bytes per state: {:.2} \
             (stream {:.2}: signature numbers {:.2}, targets and padding {:.3} per edge; block index {:.2}; \
             bits {:.2}; signatures {:.1} MB)",
            self.len(),
            self.edges,
            self.sigs.len(),
            self.palette.len(),
            self.bytes() as f64 / n,
            self.stream.len as f64 / n,
            self.sig_bits as f64 / 8.0 / n,
            (self.stream.len as f64 - self.sig_bits as f64 / 8.0) / self.edges.max(1) as f64,
            self.block.bytes() as f64 / n,
            self.bits.bytes() as f64 / n,
            mb(self.sigs.bytes()),
        )
    }

    /// Every bit recorded for `v` (the P/Q bits, and any the engine adds above them).
    pub(crate) fn state_bits(&self, v: u32) -> u16 {
        (self.bits.get(v as usize) & 0xffff) as u16
    }

    /// P bit of property `i` at `v`.
    pub(crate) fn p(&self, i: usize, v: u32) -> bool {
        self.bits.get(v as usize) & (1 << (2 * i)) != 0
    }

    /// Q bit of property `i` at `v`.
    pub(crate) fn q(&self, i: usize, v: u32) -> bool {
        self.bits.get(v as usize) & (1 << (2 * i + 1)) != 0
    }

    /// No fair step is enabled at `v` (none of its edges is fair).
    pub(crate) fn quiescent(&self, v: u32) -> bool {
        self.bits.get(v as usize) & QUIESCENT != 0
    }

    /// `v` has an edge to itself.
    pub(crate) fn self_loop(&self, v: u32) -> bool {
        self.bits.get(v as usize) & SELF_LOOP != 0
    }

    /// `v` has no edge at all.
    pub(crate) fn dead_end(&self, v: u32) -> bool {
        self.bits.get(v as usize) & DEAD_END != 0
    }

    /// Writes the graph recorded so far (checkpoints).
    pub(crate) fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        use crate::codec::write_vec;
        w.write_all(&[u8::from(self.with_allowed)])?;
        w.write_all(&(self.peak_bytes as u64).to_le_bytes())?;
        // The P/Q bits only: the flags are read off the stream again (`read_from`), so the
        // file keeps its shape.
        write_vec(w, &self.bits.to_vec().iter().map(|&b| b as u16).collect::<Vec<u16>>())?;
        self.block.write_to(w)?;
        write_vec(w, &self.stream.to_vec())?;
        write_vec(w, &self.palette.iter().map(|&(c, _)| c).collect::<Vec<_>>())?;
        write_vec(w, &self.palette.iter().map(|&(_, a)| a).collect::<Vec<_>>())?;
        self.sigs.write_to(w)?;
        write_vec(w, &self.prev)?;
        w.write_all(&self.edges.to_le_bytes())?;
        w.write_all(&self.sig_bits.to_le_bytes())
    }

    pub(crate) fn read_from(r: &mut impl std::io::Read) -> std::io::Result<Self> {
        use crate::codec::{read_u64, read_vec};
        let mut flag = [0u8];
        r.read_exact(&mut flag)?;
        let peak_bytes = read_u64(r)? as usize;
        let pq = read_vec::<u16>(r)?;
        let block = BlockIndex::read_from(r)?;
        let stream = Chunked::from_vec(&read_vec::<u8>(r)?);
        let classes = read_vec::<u16>(r)?;
        let allowed = read_vec::<u8>(r)?;
        let sigs = Signatures::read_from(r)?;
        let prev = read_vec(r)?;
        let edges = read_u64(r)?;
        let sig_bits = read_u64(r)?;
        let palette: Vec<(u16, u8)> = classes.into_iter().zip(allowed).collect();
        let codes = palette.iter().enumerate().map(|(i, &p)| (p, i as u32)).collect();
        let with_allowed = flag[0] != 0;
        let mut g = Graph {
            bits: Bits::new(),
            block,
            stream,
            palette,
            codes,
            sigs,
            sig_bits,
            sig_code: Code::new(&SIG_LENS),
            dist_code: Code::new(&DIST_LENS),
            prev,
            with_allowed,
            peak_bytes,
            edges,
        };
        let mut flags = Vec::with_capacity(pq.len());
        let unfair: Vec<bool> = g.palette.iter().map(|&(c, _)| c == 0).collect();
        g.scan_n(pq.len(), |v, to, codes| flags.push(state_flags(v, to, codes.iter().all(|&c| unfair[c as usize]))));
        g.bits.extend(pq.iter().zip(&flags).map(|(&b, &f)| u32::from(b) | f));
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(g: &mut Graph, bits: u16, edges: &[(u16, u8, u32)]) {
        let rec = SubRecord {
            count: vec![edges.len() as u32],
            bits: vec![bits],
            class: edges.iter().map(|e| e.0).collect(),
            allowed: edges.iter().map(|e| e.1).collect(),
            target: edges.iter().map(|e| AtomicU32::new(e.2)).collect(),
            rank: Vec::new(),
        };
        g.expanded(&rec, |t| t);
    }

    #[test]
    fn edges_decode_as_recorded() {
        let mut g = Graph::new(true);
        let far = 3_000_000_000u32 & !PENDING;
        record(&mut g, 1, &[(3, 1, 1), (0x8005, 0, 0), (3, 1, far), (3, 1, 2)]);
        record(&mut g, 2, &[]);
        record(&mut g, 3, &[(7, 3, 0)]);
        for v in 3..20 {
            record(&mut g, 0, &[(3, 1, v + 1), (3, 1, v / 2)]);
        }
        let got: Vec<(u32, u32, u16, u8)> =
            (0..3).flat_map(|v| g.edges(v)).map(|e| (e.from, e.to, e.class, e.allowed)).collect();
        assert_eq!(got, vec![(0, 1, 3, 1), (0, 0, 0x8005, 0), (0, far, 3, 1), (0, 2, 3, 1), (2, 0, 7, 3)]);
        assert_eq!(g.edges(1).len(), 0);
        for v in 3..20 {
            assert_eq!(g.edges(v).map(|e| e.to).collect::<Vec<_>>(), vec![v + 1, v / 2], "state {v}");
        }
        assert_eq!(g.edges(0).map(|e| e.ord).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert!(g.p(0, 0) && !g.q(0, 0) && g.q(0, 1) && g.p(0, 2) && g.q(0, 2));
        let flags = |g: &Graph, v| (g.quiescent(v), g.self_loop(v), g.dead_end(v));
        assert_eq!(flags(&g, 0), (false, true, false), "fair edges, one to itself");
        assert_eq!(flags(&g, 1), (true, false, true), "no edge");
        assert_eq!(flags(&g, 2), (false, false, false));
        record(&mut g, 0, &[(0, 0, 5), (0, 1, 9)]);
        assert_eq!(flags(&g, 20), (true, false, false), "unfair edges only");
        // A checkpoint keeps the P/Q bits and finds the flags again in the stream.
        let mut file = Vec::new();
        g.write_to(&mut file).unwrap();
        let back = Graph::read_from(&mut &file[..]).unwrap();
        assert_eq!(back.bits.to_vec(), g.bits.to_vec());
        assert_eq!(back.edges(20).map(|e| e.to).collect::<Vec<_>>(), vec![5, 9]);
    }

    #[test]
    fn scan_and_decode_agree_across_chunks() {
        // Enough states that the stream spans several chunks, with blocks across their seams.
        let mut g = Graph::new(true);
        let n = 300_000u32;
        let mut want = Vec::new();
        for v in 0..n {
            let edges: Vec<(u16, u8, u32)> = (0..v % 5 + 2)
                .map(|k| (k as u16 % 3, (k % 2) as u8, (v.wrapping_mul(2_654_435_761) + k * 1_001) % n))
                .collect();
            record(&mut g, (v % 4) as u16, &edges);
            want.push(edges);
        }
        assert!(g.stream.chunks.len() > 2, "the test spans several chunks");
        let mut seen = 0;
        g.scan(|v, to, codes| {
            let got: Vec<(u16, u8, u32)> =
                to.iter().zip(codes).map(|(&t, &c)| (g.class(c).0, g.class(c).1, t)).collect();
            assert_eq!(got, want[v as usize], "scan, state {v}");
            seen += 1;
        });
        assert_eq!(seen, n);
        let mut d = Decoder::default();
        for v in (0..n).step_by(7).chain([n - 1]) {
            let (to, _) = g.decode(v, &mut d);
            assert_eq!(to, want[v as usize].iter().map(|e| e.2).collect::<Vec<_>>(), "decode, state {v}");
        }
    }

    #[test]
    fn bits_past_256_patterns_widen() {
        let mut b = Bits::new();
        let want: Vec<u32> = (0..1_000u32).map(|v| v * 7 % 300).collect();
        b.extend(want[..200].iter().copied());
        assert!(matches!(b, Bits::Narrow { .. }), "200 states, 200 patterns: a byte each");
        b.extend(want[200..].iter().copied());
        assert!(matches!(b, Bits::Wide(_)), "300 patterns do not fit a byte");
        assert_eq!(b.to_vec(), want);
    }

    #[test]
    fn many_classes_round_trip() {
        let mut g = Graph::new(false);
        let edges: Vec<(u16, u8, u32)> = (1..400u16).map(|c| (c, 0, u32::from(c) % 7)).collect();
        record(&mut g, 0, &edges);
        let got: Vec<(u16, u32)> = g.edges(0).map(|e| (e.class, e.to)).collect();
        assert_eq!(got, edges.iter().map(|e| (e.0, e.2)).collect::<Vec<_>>());
    }

    #[test]
    fn pending_round_trips() {
        let v = pending(15, (1 << SUCC_BITS) - 1);
        assert!(v & PENDING != 0);
        assert_eq!(pending_parts(v), (15, (1 << SUCC_BITS) - 1));
    }
}
