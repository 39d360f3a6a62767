//! The visited set: 64-bit fingerprints only, split into shards ([`Store::Exact`]; the other
//! kind, [`Store::Bitstate`], lives in `bitstate.rs`).
//!
//! Why this shape:
//! * A slot is one `u64` (0 = empty; fingerprints are never 0), so the set costs
//!   `8 / load` bytes per state. Parent links live elsewhere (`parents.rs`, ~2 B/state).
//!   When the liveness graph is recorded, a `u32` BFS index sits beside every slot
//!   (`12 / load` B/state), so that edges are recorded as indices (`graph.rs`).
//! * Shards grow by 1.25x at 90 % load (not 2x at 50 %), so the load stays between 0.72 and
//!   0.9: 8.9-11.1 B/state (indexed 13.3-16.7). Why so full: the table is most of what a
//!   search without liveness holds (issue 16: 20 B/state in all); at 1.5x and 85 % it was
//!   9.4-14 (indexed 14-21), 12.9 (19.4) on `large`. The price is longer probes for new states
//!   (linear probing at 0.9 scans about 6 cache lines for a miss, about one for a hit; five in
//!   six candidates are hits on the kernel model, eleven in twelve on the toy). Measured on the
//!   toy (N=6, 2 threads, phase B thread CPU under load 10-16): 5.5-5.9 s against 3.9-4.2 s
//!   at 1.5x and 85 %, which is most of the toy's 5.07 -> 5.97 s (bench.py) since the change;
//!   prefetching a second line per probe (`prefetch`) wins back about a fifth of that.
//!   Growth is per shard, one shard (1/16 of the
//!   table) at a time per thread, so the old and new copies overlap only for that shard.
//!   Non-power-of-two sizes are fine because the home slot is found by "fastrange"
//!   (`(low32 * len) >> 32`) instead of a mask.
//! * The shard is picked from the middle bits (32..), the home slot from the low 32 bits, so
//!   the two are independent (a map sharded by its top bits clashes with hashbrown, which
//!   takes its control tags from them; we have no tags, but keep the bits disjoint all the
//!   same).
//! * One shard is only ever touched by one rayon task at a time (the engine hands out
//!   `&mut Shard`), so there are no locks. 16 shards are enough for phase-B parallelism on
//!   a few cores, and keep each shard large enough (8 MB at toy N=6) for 2 MiB huge pages.
//! * Lookups are DRAM-latency bound (a 100+ MB table, random probes): the engine prefetches
//!   slots a few candidates ahead and large shards are mapped with MADV_HUGEPAGE. Measured at
//!   toy N=6, 1 thread: phase B 8.1 s -> 4.7 s, total 14.5 s -> 9.4 s.

use crate::bitstate::{BitShard, BitstateStats};

/// log2 of the number of shards.
pub(crate) const SHARD_BITS: u32 = 4;
/// Number of shards.
pub(crate) const SHARDS: usize = 1 << SHARD_BITS;

/// Which shard a fingerprint belongs to.
#[inline]
pub(crate) fn shard_of(fp: u64) -> usize {
    ((fp >> 32) as usize) & (SHARDS - 1)
}

/// Which visited set the engine keeps (`Bfs::store`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Store {
    /// Every 64-bit fingerprint, exactly (this file): a complete search proves properties.
    #[default]
    Exact,
    /// SPIN's bitstate hashing (`bitstate.rs`): `bits` bits in all, `hashes` set per state.
    /// Far less memory per state, but states may be dropped: the search is never complete.
    Bitstate { bits: u64, hashes: u32 },
}

/// One shard of the visited set, of the kind [`Store`] names. The engine calls these four
/// methods only, so a new kind of store is a new arm here.
pub(crate) enum Shard {
    Exact(ExactShard),
    Bits(BitShard),
}

impl Shard {
    /// `indexed`: also keep each state's BFS index (exact store only; the liveness graph
    /// records its edges as indices, see `graph.rs`).
    pub(crate) fn new(store: Store, indexed: bool) -> Self {
        match store {
            Store::Exact => Shard::Exact(ExactShard::new(indexed)),
            Store::Bitstate { bits, hashes } => Shard::Bits(BitShard::new(bits.div_ceil(SHARDS as u64), hashes)),
        }
    }

    /// Inserts `fp` (non-zero); true if it was not present (bitstate: as far as its bits tell).
    #[inline]
    pub(crate) fn insert(&mut self, fp: u64) -> bool {
        match self {
            Shard::Exact(s) => s.insert(fp),
            Shard::Bits(s) => s.insert(fp),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, fp: u64) -> bool {
        match self {
            Shard::Exact(s) => s.contains(fp),
            Shard::Bits(s) => s.contains(fp),
        }
    }

    /// Hints the CPU to fetch where `fp` will be looked up (see [`ExactShard::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self, fp: u64) {
        let p = match self {
            Shard::Exact(s) => return s.prefetch(fp),
            Shard::Bits(s) => s.first_word(fp),
        };
        prefetch(p);
    }

    /// Heap bytes held by this shard.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Shard::Exact(s) => s.bytes(),
            Shard::Bits(s) => s.bytes(),
        }
    }

    /// The words as they are (checkpoints write them out), the BFS indices beside them (empty
    /// unless indexed) and the number of states stored.
    pub(crate) fn raw(&self) -> (&[u64], &[u32], usize) {
        match self {
            Shard::Exact(s) => s.raw(),
            Shard::Bits(s) => (&s.words, &[], s.len as usize),
        }
    }

    /// A shard of kind `store` from [`raw`](Shard::raw)'s words (read back from a checkpoint
    /// whose engine identity names the same store).
    pub(crate) fn from_raw(store: Store, raw: &[u64], index: Vec<u32>, len: usize) -> Self {
        match store {
            Store::Exact => Shard::Exact(ExactShard::from_raw(raw, index, len)),
            Store::Bitstate { hashes, .. } => Shard::Bits(BitShard::from_raw(raw, hashes, len as u64)),
        }
    }

    /// The indexed exact shard (the engine asks only when it records the graph).
    pub(crate) fn indexed(&mut self) -> &mut ExactShard {
        match self {
            Shard::Exact(s) if !s.index.is_empty() => s,
            _ => panic!("the liveness graph is recorded only with an indexed exact store"),
        }
    }
}

/// What a finished search reports about its store: `None` for the exact set.
pub(crate) fn bitstate_stats(shards: &[Shard], store: Store) -> Option<BitstateStats> {
    let Store::Bitstate { hashes, .. } = store else { return None };
    let (mut bits, mut stored) = (0, 0);
    for s in shards {
        if let Shard::Bits(b) = s {
            bits += b.bits();
            stored += b.len;
        }
    }
    Some(BitstateStats { bits, hashes, stored })
}

/// One shard of the exact set: an open-addressing, linear-probing set of non-zero `u64`.
///
/// Indexed (liveness runs), each slot also has a `u32` beside it in `index`: the state's BFS
/// index, so that an edge is recorded as the index of its target the moment phase B looks the
/// target up (no fingerprint per edge, no fingerprint-to-index map after the search: that map
/// and the per-edge fingerprints were the peak of a liveness run). A state inserted in the
/// current batch holds a provisional value (`graph::PENDING` set) until phase C has numbered
/// the batch's new states; [`set_index`](ExactShard::set_index) then writes the real one.
pub(crate) struct ExactShard {
    slots: Slots,
    /// Empty unless indexed; else as long as `slots`.
    index: Vec<u32>,
    len: usize,
}

impl ExactShard {
    const MIN_SLOTS: usize = 16;

    pub(crate) fn new(indexed: bool) -> Self {
        let index = if indexed { vec![0; Self::MIN_SLOTS] } else { Vec::new() };
        ExactShard { slots: Slots::zeroed(Self::MIN_SLOTS), index, len: 0 }
    }

    fn must_grow(&self, extra: usize) -> bool {
        (self.len + extra) * 10 > self.slots.len() * 9
    }

    /// Grows now so that `extra` more insertions move no slot (the positions
    /// [`insert_indexed`](ExactShard::insert_indexed) returns stay valid for the batch).
    pub(crate) fn reserve(&mut self, extra: usize) {
        while self.must_grow(extra) {
            self.grow();
        }
    }

    /// Looks `fp` up in an indexed shard: `Ok(index)` if present, else inserts it with
    /// `value` as its index and returns `Err(slot)`. Call [`reserve`](ExactShard::reserve)
    /// for the batch first: this never grows.
    #[inline]
    pub(crate) fn insert_indexed(&mut self, fp: u64, value: u32) -> Result<u32, usize> {
        debug_assert!(!self.must_grow(1), "reserve before inserting");
        match self.find(fp) {
            Ok(i) => Ok(self.index[i]),
            Err(i) => {
                self.slots[i] = fp;
                self.index[i] = value;
                self.len += 1;
                Err(i)
            }
        }
    }

    /// The index stored for `fp`, if present.
    #[inline]
    pub(crate) fn get_index(&self, fp: u64) -> Option<u32> {
        self.find(fp).ok().map(|i| self.index[i])
    }

    /// Sets the index of the state in `slot` (a position `insert_indexed` returned).
    pub(crate) fn set_index(&mut self, slot: usize, value: u32) {
        self.index[slot] = value;
    }

    /// Linear probing from `fp`'s home slot: `Ok(slot)` holding `fp`, or `Err(slot)`, the
    /// empty slot where it would go (the table always has one: `must_grow` keeps load < 1).
    #[inline]
    fn find(&self, fp: u64) -> Result<usize, usize> {
        let n = self.slots.len();
        let mut i = Self::home(fp, n);
        loop {
            match self.slots[i] {
                s if s == fp => return Ok(i),
                0 => return Err(i),
                _ => {}
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    #[inline]
    fn home(fp: u64, n: usize) -> usize {
        (((fp & 0xffff_ffff) * n as u64) >> 32) as usize
    }

    /// Inserts `fp` (must be non-zero); true if it was not present.
    #[inline]
    pub(crate) fn insert(&mut self, fp: u64) -> bool {
        debug_assert_ne!(fp, 0);
        if self.must_grow(1) {
            self.grow();
        }
        match self.find(fp) {
            Ok(_) => false,
            Err(i) => {
                self.slots[i] = fp;
                self.len += 1;
                true
            }
        }
    }

    /// Hints the CPU to fetch `fp`'s home slot (and its BFS index, if indexed). Phase B
    /// prefetches a few candidates ahead: the table is far larger than the caches, so each
    /// lookup is otherwise a full DRAM round trip (measured: 8.1 s of 14.5 s at toy N=6 before
    /// prefetching).
    ///
    /// Also the next cache line (the slot 7 past home: the next line unless home starts its
    /// line): at loads up to 0.9 a probe runs past its home's line often enough (simulated: a
    /// hit reads 1.16-1.57 lines, a miss 1.7-7.2, from load 0.72 to 0.9) that waiting for that
    /// second line showed in phase B (toy N=6, 2 threads, thread CPU under load: 5.6-6.1 s ->
    /// 5.3-5.4 s for one line more).
    #[inline]
    pub(crate) fn prefetch(&self, fp: u64) {
        let home = Self::home(fp, self.slots.len());
        prefetch(self.slots.as_ptr().wrapping_add(home));
        prefetch(self.slots.as_ptr().wrapping_add(home + 7));
        if !self.index.is_empty() {
            prefetch(self.index.as_ptr().wrapping_add(home));
        }
    }

    /// True if `fp` is present (no insertion).
    #[inline]
    pub(crate) fn contains(&self, fp: u64) -> bool {
        self.find(fp).is_ok()
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 5 / 4;
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(n));
        let indexed = !self.index.is_empty();
        let old_index = std::mem::replace(&mut self.index, if indexed { vec![0; n] } else { Vec::new() });
        for (j, &fp) in old.iter().enumerate().filter(|&(_, &f)| f != 0) {
            let mut i = Self::home(fp, n);
            while self.slots[i] != 0 {
                i += 1;
                if i == n {
                    i = 0;
                }
            }
            self.slots[i] = fp;
            if indexed {
                self.index[i] = old_index[j];
            }
        }
    }

    /// Heap bytes held by this shard.
    pub(crate) fn bytes(&self) -> usize {
        self.slots.len() * 8 + self.index.capacity() * 4
    }

    /// The slots and indices as they are (checkpoints write them out) and the number of
    /// fingerprints.
    pub(crate) fn raw(&self) -> (&[u64], &[u32], usize) {
        (&self.slots, &self.index, self.len)
    }

    /// A shard from [`raw`](ExactShard::raw)'s slots (read back from a checkpoint).
    pub(crate) fn from_raw(raw: &[u64], mut index: Vec<u32>, len: usize) -> Self {
        let n = raw.len().max(Self::MIN_SLOTS);
        let mut slots = Slots::zeroed(n);
        slots[..raw.len()].copy_from_slice(raw);
        if !index.is_empty() {
            index.resize(n, 0);
        }
        ExactShard { slots, index, len }
    }
}

/// Drops phase B's candidates that repeat a recent candidate of the same batch and shard,
/// before they reach the table; keeps the order of the others.
///
/// Why: most successors are states already seen (eleven in twelve on the toy), and many
/// were first generated a moment before, in the same batch: siblings close diamonds (task 1
/// steps then task 2, or task 2 then task 1), and siblings sit side by side in the frontier.
/// A table lookup is a DRAM round trip; this is a look in a small direct-mapped cache of the
/// last fingerprints met (`RECENT` slots, 32 KB: in L1/L2), without a branch per candidate.
/// It is lossy (a newer fingerprint evicts an older one, whose repeats then go to the table,
/// which answers "seen"), never wrong: a fingerprint in the cache is an earlier candidate of
/// this call, which the table holds (or will, inserted first in order) by the time its repeat
/// would be looked up, so the repeat is not new. The result is the table's own.
///
/// Measured (toy N=6, 1 thread, under load): an exact set per shard (or per thread) sized to
/// the batch caught more repeats but cost as much as the lookups it saved: its random loads
/// missed the caches and its keep-or-drop branch mispredicted.
pub(crate) fn drop_recent_repeats<T: Copy>(cands: &mut Vec<T>, fp: impl Fn(&T) -> u64) {
    const RECENT: usize = 4096;
    let mut recent = [0u64; RECENT];
    let mut kept = 0;
    for r in 0..cands.len() {
        let c = cands[r];
        let f = fp(&c);
        let slot = &mut recent[(f ^ (f >> 40)) as usize & (RECENT - 1)];
        let repeat = *slot == f;
        *slot = f;
        cands[kept] = c;
        kept += usize::from(!repeat);
    }
    cands.truncate(kept);
}

/// Hints the CPU to fetch the cache line at `p`.
#[inline]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Element types whose all-zero bit pattern is a valid value (what a fresh mapping holds).
pub(crate) trait Zeroable: Copy + Default + 'static {}
impl Zeroable for u8 {}
impl Zeroable for u16 {}
impl Zeroable for u32 {}
impl Zeroable for u64 {}

/// Zeroed slot storage. Large tables are anonymous mappings advised for transparent huge
/// pages: with 4 KiB pages nearly every probe into a 100+ MB table also misses the TLB.
/// Mappings are unmapped when dropped (growth, or the end of the search), so RSS follows the
/// live data: the allocator keeps no freed pages (mimalloc, the binary's, holds freed memory
/// until a later allocation on the same thread purges it, which after the search may never
/// come). The liveness graph keeps its chunks here too (`graph.rs`).
pub(crate) enum Slots<T: Zeroable = u64> {
    Heap(Vec<T>),
    #[cfg(target_os = "linux")]
    Mapped(&'static mut [T]),
}

impl<T: Zeroable> Slots<T> {
    /// Tables of at least this many bytes are mapped.
    pub(crate) const MAP_BYTES: usize = 1 << 20;

    pub(crate) fn zeroed(n: usize) -> Self {
        let size = std::mem::size_of::<T>();
        #[cfg(target_os = "linux")]
        if n * size >= Self::MAP_BYTES {
            // SAFETY: a fresh private anonymous mapping (zero-filled by the kernel, and zero is
            // a valid `T`: `Zeroable`), trimmed to a 2 MiB-aligned start so that huge pages can
            // back all of it; owned by this value alone and unmapped in Drop.
            unsafe {
                const HUGE: usize = 2 << 20;
                let bytes = n * size;
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    bytes + HUGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if p != libc::MAP_FAILED {
                    let start = (p as usize).next_multiple_of(HUGE);
                    let end = (start + bytes).next_multiple_of(4096);
                    if start > p as usize {
                        libc::munmap(p, start - p as usize);
                    }
                    if p as usize + bytes + HUGE > end {
                        libc::munmap(end as *mut libc::c_void, p as usize + bytes + HUGE - end);
                    }
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                    return Slots::Mapped(std::slice::from_raw_parts_mut(start as *mut T, n));
                }
            }
        }
        Slots::Heap(vec![T::default(); n])
    }
}

impl<T: Zeroable> std::ops::Deref for Slots<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Slots::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped(s) => s,
        }
    }
}

impl<T: Zeroable> std::ops::DerefMut for Slots<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Slots::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped(s) => s,
        }
    }
}

impl<T: Zeroable> Drop for Slots<T> {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Slots::Mapped(s) = self {
            // SAFETY: the mapping was created in `zeroed` with exactly this length.
            unsafe {
                libc::munmap(s.as_mut_ptr().cast(), std::mem::size_of_val(*s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_and_grow() {
        let mut s = ExactShard::new(false);
        for k in 1..10_000u64 {
            let fp = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            assert!(s.insert(fp));
            assert!(!s.insert(fp));
        }
        assert_eq!(s.len, 9_999);
        for k in 1..10_000u64 {
            assert!(s.contains(k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1));
        }
        assert!(!s.contains(2));
        let load = s.len as f64 / s.slots.len() as f64;
        assert!((0.7..=0.9).contains(&load), "load {load}");
    }

    #[test]
    fn drop_recent_repeats_keeps_first_occurrences_in_order() {
        let fp = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        // (fingerprint, position): repeats right after, and far after (past what the cache
        // may hold: those may stay, the table then answers "seen").
        let mut cands: Vec<(u64, u32)> = Vec::new();
        for k in 0..20_000u64 {
            cands.push((fp(k), cands.len() as u32));
            if k % 3 == 0 {
                cands.push((fp(k), cands.len() as u32));
            }
            if k % 7 == 0 && k >= 10_000 {
                cands.push((fp(k - 10_000), cands.len() as u32));
            }
        }
        let all = cands.clone();
        drop_recent_repeats(&mut cands, |&(f, _)| f);
        // Every fingerprint keeps its first candidate; positions stay in order.
        let mut first = std::collections::HashMap::new();
        for &(f, p) in &all {
            first.entry(f).or_insert(p);
        }
        let kept: std::collections::HashSet<u32> = cands.iter().map(|&(_, p)| p).collect();
        assert!(first.values().all(|p| kept.contains(p)));
        assert!(cands.windows(2).all(|w| w[0].1 < w[1].1));
        // The adjacent repeats (every third) are all dropped.
        assert_eq!(cands.len(), 20_000 + cands.iter().filter(|&&(f, p)| first[&f] != p).count());
        assert!(all.len() - cands.len() >= 6_667, "dropped {}", all.len() - cands.len());
    }
}
