//! The two tables the graph's stream refers to: where each block of states starts
//! ([`BlockIndex`]) and each state's sequence of edge palette codes ([`Signatures`]).

use std::collections::HashMap;
use std::io::{self, Read, Write};

use super::Chunked;
use crate::codec::{read_vec, write_vec};

/// Blocks per group of a [`BlockIndex`]: a group's blocks span at most 64 KiB of the stream
/// unless its states average more than 512 bytes (hundreds of edges each).
const GROUP: usize = 32;
/// The offset saying that the block's position is in [`BlockIndex::far`].
const FAR: u16 = u16::MAX;

/// The stream position of every block: per group of [`GROUP`] blocks a `u64` base, per block
/// a `u16` offset from it. Why: a `u32` per block of 4 states was a byte per state (4 % of
/// `large`'s graph); this is 0.53, and needs no 4 GiB wrap list.
pub(super) struct BlockIndex {
    /// Per group: the position of its first block.
    base: Chunked<u64>,
    /// Per block: its position minus its group's base, or [`FAR`].
    off: Chunked<u16>,
    /// The blocks whose offset does not fit a `u16`, and their positions.
    far: HashMap<usize, u64>,
}

impl BlockIndex {
    pub(super) fn new() -> Self {
        BlockIndex { base: Chunked::new(), off: Chunked::new(), far: HashMap::new() }
    }

    /// Adds the next block, starting at stream position `pos` (positions never decrease).
    pub(super) fn push(&mut self, pos: u64) {
        let b = self.off.len;
        if b.is_multiple_of(GROUP) {
            self.base.push(pos);
        }
        match u16::try_from(pos - self.base.get(b / GROUP)) {
            Ok(o) if o != FAR => self.off.push(o),
            _ => {
                self.far.insert(b, pos);
                self.off.push(FAR);
            }
        }
    }

    /// The stream position of block `b`.
    #[inline]
    pub(super) fn get(&self, b: usize) -> u64 {
        match self.off.get(b) {
            FAR => self.far[&b],
            o => self.base.get(b / GROUP) + u64::from(o),
        }
    }

    pub(super) fn bytes(&self) -> usize {
        self.base.bytes() + self.off.bytes() + self.far.capacity() * 16
    }

    pub(super) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        write_vec(w, &(0..self.off.len).map(|b| self.get(b)).collect::<Vec<u64>>())
    }

    pub(super) fn read_from(r: &mut impl Read) -> io::Result<Self> {
        let mut index = BlockIndex::new();
        read_vec::<u64>(r)?.into_iter().for_each(|p| index.push(p));
        Ok(index)
    }
}

/// Every state's sequence of edge palette codes (its signature), stored once: a state's entry
/// in the stream is its signature's number, which also gives its out-degree.
///
/// Why: a model's actions come in few patterns (7,966 distinct sequences over `large`'s 30.5 M
/// states), and the degree plus a 4-bit code beside every edge's distance cost about 4.7 bytes
/// per state there, a signature number one or two.
pub(super) struct Signatures {
    /// The codes of every signature, one after the other.
    codes: Vec<u32>,
    /// Signature `s` is `codes[ends[s]..ends[s + 1]]`.
    ends: Vec<u32>,
    ids: HashMap<Box<[u32]>, u32, ahash::RandomState>,
}

impl Signatures {
    pub(super) fn new() -> Self {
        Signatures { codes: Vec::new(), ends: vec![0], ids: HashMap::default() }
    }

    /// The number of signature `codes`, if known.
    #[inline]
    pub(super) fn id(&self, codes: &[u32]) -> Option<u32> {
        self.ids.get(codes).copied()
    }

    /// Numbers `codes` if it is new (in order of first use).
    pub(super) fn learn(&mut self, codes: &[u32]) {
        if !self.ids.contains_key(codes) {
            self.ids.insert(codes.into(), (self.ends.len() - 1) as u32);
            self.codes.extend_from_slice(codes);
            self.ends.push(self.codes.len() as u32);
        }
    }

    /// The codes of signature `s`.
    #[inline]
    pub(super) fn get(&self, s: u32) -> &[u32] {
        &self.codes[self.ends[s as usize] as usize..self.ends[s as usize + 1] as usize]
    }

    /// Number of signatures.
    pub(super) fn len(&self) -> usize {
        self.ends.len() - 1
    }

    /// Bytes held (the map's keys twice: the codes and their boxed copies).
    pub(super) fn bytes(&self) -> usize {
        (self.codes.capacity() + self.ends.capacity()) * 4 + self.ids.capacity() * 24 + self.codes.len() * 4
    }

    pub(super) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        write_vec(w, &self.codes)?;
        write_vec(w, &self.ends)
    }

    pub(super) fn read_from(r: &mut impl Read) -> io::Result<Self> {
        let codes = read_vec::<u32>(r)?;
        let ends = read_vec::<u32>(r)?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "graph signatures: bad offsets");
        if ends.first() != Some(&0) || ends.last().copied() != Some(codes.len() as u32) || !ends.is_sorted() {
            return Err(bad());
        }
        let mut s = Signatures::new();
        for w in ends.windows(2) {
            s.learn(&codes[w[0] as usize..w[1] as usize]);
        }
        if s.len() != ends.len() - 1 {
            return Err(bad());
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_positions_round_trip_with_far_offsets() {
        // Gaps past 64 KiB inside a group, and positions past 4 GiB.
        let pos: Vec<u64> =
            (0..200u64).map(|b| b * 90 + if b > 40 { 70_000 } else { 0 } + (b / 100) * (5 << 30)).collect();
        let mut index = BlockIndex::new();
        pos.iter().for_each(|&p| index.push(p));
        assert!(!index.far.is_empty(), "the test reaches the far map");
        assert_eq!((0..pos.len()).map(|b| index.get(b)).collect::<Vec<_>>(), pos);
        let mut file = Vec::new();
        index.write_to(&mut file).unwrap();
        let back = BlockIndex::read_from(&mut &file[..]).unwrap();
        assert_eq!((0..pos.len()).map(|b| back.get(b)).collect::<Vec<_>>(), pos);
    }

    #[test]
    fn signatures_are_numbered_in_order_of_first_use() {
        let mut s = Signatures::new();
        for codes in [&[1, 2][..], &[], &[1, 2], &[2, 1, 0]] {
            s.learn(codes);
        }
        assert_eq!(
            (s.len(), s.id(&[1, 2]), s.id(&[]), s.id(&[2, 1, 0]), s.id(&[2])),
            (3, Some(0), Some(1), Some(2), None)
        );
        assert_eq!(s.get(2), &[2, 1, 0]);
        let mut file = Vec::new();
        s.write_to(&mut file).unwrap();
        let back = Signatures::read_from(&mut &file[..]).unwrap();
        assert_eq!((0..3).map(|i| back.get(i).to_vec()).collect::<Vec<_>>(), vec![vec![1, 2], vec![], vec![2, 1, 0]]);
    }
}
