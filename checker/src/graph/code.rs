//! The bit code of the graph's stream: every number (a state's signature number, an edge's
//! zigzag distance to its reference target) is written as its bit length ("bucket", 0 for 0)
//! in a prefix code, then the bits below its leading one.
//!
//! Why: as byte varints the distances took 2.47 bytes per edge on `large`, a third of them
//! 4-5 bytes (edges into earlier levels, 2^20 to 2^25 states away), and a distance of one
//! state a whole byte. The buckets are few and skewed, so a prefix code over them costs 2-4
//! bits where a varint spends 1 bit per 7 on its continuation and a byte at the least.
//! The codes are fixed (lengths measured on `default` and `large`): the stream is encoded in
//! parallel sub-chunks as it is recorded, so a code learned from the data would have to be
//! known before the first one. A model with other distances costs more bits, never a wrong
//! answer.

use super::{Chunked, Slots, CHUNK};

/// Bucket code lengths of signature numbers (numbered in order of first use: on `default`
/// 3,478 of them, on `large` 7,966) and of the edges' zigzag distances (the module doc): Huffman
/// codes limited to 12 bits for `default`'s buckets blended with them shifted as `large`
/// shifts them (its far edges two to three bits longer, its signature numbers one). On
/// `default`'s stream: 1.42 bytes per signature number and 1.87 per edge (the distances and a
/// state's padding to a byte), against 1.83 and 2.04 as varints.
pub(super) const SIG_LENS: [u8; 65] = lens(&[12, 12, 12, 11, 9, 6, 5, 4, 4, 3, 2, 2, 3, 4], 12, 12);
pub(super) const DIST_LENS: [u8; 65] =
    lens(&[5, 6, 2, 4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 7, 5, 5, 5, 4, 4, 5, 4, 4, 5, 6], 12, 11);

/// Code lengths: `head` for the first buckets, then `tail` up to bucket 54 and `last` for
/// buckets 55-64 (what the length-limited Huffman code gave the numbers never seen; every
/// bucket has a code, so any number can be written).
const fn lens(head: &[u8], tail: u8, last: u8) -> [u8; 65] {
    let mut l = [0u8; 65];
    let mut b = 0;
    while b < 65 {
        l[b] = if b < head.len() {
            head[b]
        } else if b < 55 {
            tail
        } else {
            last
        };
        b += 1;
    }
    l
}

/// Buckets: bit lengths 0..=64 of a `u64`.
const BUCKETS: usize = 65;
/// Longest code: a lookup of this many bits decodes a bucket.
const MAX_LEN: u32 = 12;

/// One prefix code over the buckets, for writing and for reading.
pub(super) struct Code {
    /// Per bucket: the code's bits in stream order (first bit lowest) and its length.
    put: [(u16, u8); BUCKETS],
    /// Per value of the next [`MAX_LEN`] stream bits: the bucket and its code length.
    get: Box<[(u8, u8); 1 << MAX_LEN]>,
}

impl Code {
    /// The canonical prefix code with these code lengths per bucket (0: never occurs; Kraft's
    /// sum must be exactly one).
    pub(super) fn new(lens: &[u8; BUCKETS]) -> Self {
        let mut put = [(0u16, 0u8); BUCKETS];
        let mut get = Box::new([(0u8, 0u8); 1 << MAX_LEN]);
        let mut code = 0u32;
        let mut kraft = 0u64;
        for len in 1..=MAX_LEN as u8 {
            for (b, &l) in lens.iter().enumerate() {
                if l != len {
                    continue;
                }
                // Canonical codes are read first bit first: the stream holds them reversed.
                let rev = code.reverse_bits() >> (32 - u32::from(len));
                put[b] = (rev as u16, len);
                for hi in 0..1u32 << (MAX_LEN - u32::from(len)) {
                    get[(rev | hi << len) as usize] = (b as u8, len);
                }
                code += 1;
                kraft += 1 << (MAX_LEN - u32::from(len));
            }
            code <<= 1;
        }
        assert_eq!(kraft, 1 << MAX_LEN, "code lengths must make a complete prefix code");
        assert!(lens.iter().all(|&l| u32::from(l) <= MAX_LEN));
        Code { put, get }
    }
}

/// Bit length of `z` (0 for 0).
#[inline]
fn bucket(z: u64) -> usize {
    (64 - z.leading_zeros()) as usize
}

/// Writes numbers into bytes, first bit lowest.
#[derive(Default)]
pub(super) struct BitWriter {
    acc: u64,
    n: u32,
}

impl BitWriter {
    #[inline]
    fn bits(&mut self, out: &mut Vec<u8>, v: u64, len: u32) {
        debug_assert!(len <= 32 && self.n < 8);
        self.acc |= (v & ((1u64 << len) - 1)) << self.n;
        self.n += len;
        while self.n >= 8 {
            out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Writes `z` in `code`.
    #[inline]
    pub(super) fn put(&mut self, out: &mut Vec<u8>, code: &Code, z: u64) {
        let b = bucket(z);
        let (c, l) = code.put[b];
        assert!(l != 0, "bucket {b} has no code");
        self.bits(out, u64::from(c), u32::from(l));
        if b >= 2 {
            let raw = b as u32 - 1;
            self.bits(out, z, raw.min(32));
            if raw > 32 {
                self.bits(out, z >> 32, raw - 32);
            }
        }
    }

    /// Bits written since `out` was `at` bytes long.
    pub(super) fn written(&self, at: usize, out: &[u8]) -> u64 {
        ((out.len() - at) * 8) as u64 + u64::from(self.n)
    }

    /// Pads to a byte boundary (where a block starts).
    pub(super) fn flush(&mut self, out: &mut Vec<u8>) {
        if self.n > 0 {
            out.push(self.acc as u8);
        }
        *self = BitWriter::default();
    }
}

/// Where a [`BitReader`] reads its bytes from (zeros past the end).
pub(super) trait Bytes {
    /// The next 8 bytes as a little-endian word, if that many are at hand in one piece.
    fn peek8(&self) -> Option<u64>;
    /// Passes over `n` bytes of those [`peek8`](Bytes::peek8) returned.
    fn advance(&mut self, n: usize);
    fn next_byte(&mut self) -> u8;
}

/// Reads what a [`BitWriter`] wrote.
pub(super) struct BitReader {
    acc: u64,
    n: u32,
    /// Bits consumed since the reader started.
    pub(super) used: u64,
}

impl BitReader {
    pub(super) fn new() -> Self {
        BitReader { acc: 0, n: 0, used: 0 }
    }

    /// Tops the word up to 57 bits or more: 8 bytes in one load where the chunk has them
    /// (the bytes above the whole ones it takes are the next ones anyway: or-ing them in again
    /// changes nothing).
    #[inline(always)]
    fn fill(&mut self, src: &mut impl Bytes) {
        if self.n <= 48 {
            if let Some(w) = src.peek8() {
                self.acc |= w << self.n;
                let k = (63 - self.n) / 8;
                src.advance(k as usize);
                self.n += 8 * k;
            }
        }
        while self.n <= 56 {
            self.acc |= u64::from(src.next_byte()) << self.n;
            self.n += 8;
        }
    }

    #[inline(always)]
    fn take(&mut self, len: u32) -> u64 {
        let v = self.acc & ((1u64 << len) - 1);
        self.acc >>= len;
        self.n -= len;
        self.used += u64::from(len);
        v
    }

    /// Reads a number written in `code` (always inlined: `perf` of a 1-thread `default` run
    /// found it a call of its own, 10 % of the run's CPU time).
    #[inline(always)]
    pub(super) fn get(&mut self, src: &mut impl Bytes, code: &Code) -> u64 {
        if self.n < MAX_LEN + 32 {
            self.fill(src);
        }
        let (b, l) = code.get[(self.acc & ((1 << MAX_LEN) - 1)) as usize];
        self.take(u32::from(l));
        match b {
            0 => 0,
            1 => 1,
            b => {
                let raw = u32::from(b) - 1;
                if raw <= 32 {
                    if self.n < raw {
                        self.fill(src);
                    }
                    1 << raw | self.take(raw)
                } else {
                    self.fill(src);
                    let lo = self.take(32);
                    self.fill(src);
                    1 << raw | self.take(raw - 32) << 32 | lo
                }
            }
        }
    }
}

/// Reads the stream, a chunk's slice at a time (a byte costs a bounds check, not
/// a division and two lookups: the liveness passes decode every state they visit).
pub(super) struct Reader<'g> {
    chunks: &'g [Slots<u8>],
    /// The rest of the current chunk.
    cur: &'g [u8],
    k: usize,
}

impl<'g> Reader<'g> {
    pub(super) fn at(stream: &'g Chunked<u8>, pos: u64) -> Self {
        let (k, i) = ((pos / CHUNK as u64) as usize, (pos % CHUNK as u64) as usize);
        let cur = stream.chunks.get(k).map_or(&[][..], |c| &c[i..]);
        Reader { chunks: &stream.chunks, cur, k }
    }
}

impl Bytes for Reader<'_> {
    #[inline]
    fn peek8(&self) -> Option<u64> {
        self.cur.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    #[inline]
    fn advance(&mut self, n: usize) {
        self.cur = &self.cur[n..];
    }

    /// The next byte; zeros past the last chunk (a [`BitReader`] reads a few bytes ahead).
    #[inline]
    fn next_byte(&mut self) -> u8 {
        if self.cur.is_empty() {
            if self.k + 1 >= self.chunks.len() {
                return 0;
            }
            self.k += 1;
            self.cur = &self.chunks[self.k];
        }
        let b = self.cur[0];
        self.cur = &self.cur[1..];
        b
    }
}

/// Reads one state's numbers from the bit stream, each state starting at a byte.
pub(super) struct StateReader<'r, 'g> {
    r: &'r mut Reader<'g>,
    bits: BitReader,
}

impl<'r, 'g> StateReader<'r, 'g> {
    pub(super) fn new(r: &'r mut Reader<'g>) -> Self {
        StateReader { r, bits: BitReader::new() }
    }

    #[inline(always)]
    pub(super) fn get(&mut self, code: &Code) -> u64 {
        self.bits.get(self.r, code)
    }

    /// Bytes the state took (its bits rounded up to a byte).
    pub(super) fn bytes(&self) -> u64 {
        self.bits.used.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slice<'a>(&'a [u8]);

    impl Bytes for Slice<'_> {
        fn peek8(&self) -> Option<u64> {
            self.0.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        }
        fn advance(&mut self, n: usize) {
            self.0 = &self.0[n..];
        }
        fn next_byte(&mut self) -> u8 {
            let b = self.0.first().copied().unwrap_or(0);
            self.0 = self.0.get(1..).unwrap_or(&[]);
            b
        }
    }

    #[test]
    fn numbers_round_trip_in_any_code() {
        let mut lens = [0u8; BUCKETS];
        // 1/2 + 1/4 + ... + two of 1/2^12, then buckets with no code never written.
        for (b, l) in lens.iter_mut().enumerate().take(12) {
            *l = b as u8 + 1;
        }
        lens[64] = 12;
        let code = Code::new(&lens);
        let vals: Vec<u64> = vec![0, 1, 2, 3, 5, 100, 2047, 1024, u64::MAX, 1 << 63, (1 << 40) + 17, 7];
        let (mut w, mut out) = (BitWriter::default(), Vec::new());
        let ok: Vec<u64> = vals.iter().copied().filter(|&z| lens[bucket(z)] != 0).collect();
        for &z in &ok {
            w.put(&mut out, &code, z);
        }
        w.flush(&mut out);
        let mut src = Slice(&out);
        let mut r = BitReader::new();
        let got: Vec<u64> = ok.iter().map(|_| r.get(&mut src, &code)).collect();
        assert_eq!(got, ok);
        assert!(ok.contains(&u64::MAX) && ok.contains(&1024));
    }
}
