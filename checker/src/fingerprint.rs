//! 64-bit state fingerprints in one hashing pass.
//!
//! Why: `derive(Hash)` hands a state to the hasher one field at a time: a discriminant, a
//! length, a byte, a bool. ahash mixes every such write on arrival (a folded multiply each),
//! and on the kernel model a state is a few hundred of them. `perf` on the default scenario
//! (`--threads 1`) put 28% of the search in `hash_one`, `SmallVec::hash` and `hash_slice`.
//! Here the writes only append to a buffer on the stack, the fixed-width integers the derive
//! uses for lengths and enum tags (8-byte `usize`/`isize`) shrunk to LEB128 varints (one byte
//! for small values, and still self-delimiting, so distinct write sequences stay distinct byte
//! strings), and the buffer goes through ahash's bulk path once. States larger than the buffer
//! are hashed a buffer at a time, so any `Hash` type works.
//!
//! Small states (the toy's 16 bytes) pay for the buffer, not for the bytes: the buffer is left
//! uninitialised (zeroing its 256 bytes was a third of `fingerprint`'s cost on the toy, perf at
//! toy N=6, 1 thread) and `finish` is inlined, so a state hashed in one write goes through
//! ahash's short-input path with no call. The fingerprints are the same as before.

use std::hash::{BuildHasher, Hash, Hasher};
use std::mem::MaybeUninit;

use ahash::AHasher;

/// Fixed seeds, so a fingerprint is the same in every run of one build.
const SEEDS: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

/// Bytes buffered before they are mixed (a kernel-model state takes about a hundred).
const BUF: usize = 256;
/// The longest single write: a 64-bit varint (10 bytes) or a `u128`.
const MAX_WRITE: usize = 16;

/// 64-bit fingerprint of a value; never 0 (0 marks an empty slot).
#[inline(always)]
pub fn fingerprint<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = Flat { buf: [MaybeUninit::uninit(); BUF], len: 0, bulk: None };
    v.hash(&mut h);
    h.finish().max(1)
}

/// 64-bit fingerprint of a packed state (`Bfs::pack`): its identifying bytes in one pass of
/// ahash's bulk path; never 0.
#[inline]
pub fn fingerprint_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEEDS.build_hasher();
    h.write(bytes);
    h.finish().max(1)
}

/// A hasher that buffers the byte stream and hashes it in one pass at `finish`.
struct Flat {
    /// `buf[..len]` is written; the rest is never read.
    buf: [MaybeUninit<u8>; BUF],
    len: usize,
    /// The state of the bulk hash once the stream outgrew the buffer.
    bulk: Option<AHasher>,
}

impl Flat {
    /// The bytes written since the last flush.
    #[inline(always)]
    fn filled(&self) -> &[u8] {
        // SAFETY: `buf[..len]` was written (every write copies into `buf` at `len` before it
        // advances `len`), and `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// Copies `bytes` into the buffer at `len` (the caller checked that they fit).
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        let dst = &mut self.buf[self.len..end];
        // SAFETY: `dst` is `bytes.len()` bytes of `buf` (bounds checked above), `MaybeUninit<u8>`
        // has the layout of `u8`, and a borrowed input cannot overlap our own buffer.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), bytes.len()) };
        self.len = end;
    }

    #[inline]
    fn put_byte(&mut self, b: u8) {
        self.buf[self.len].write(b);
        self.len += 1;
    }

    /// Mixes the buffered bytes into the bulk hash and empties the buffer.
    #[cold]
    fn flush(&mut self) {
        let mut h = self.bulk.take().unwrap_or_else(|| SEEDS.build_hasher());
        h.write(self.filled());
        self.bulk = Some(h);
        self.len = 0;
    }

    #[inline]
    fn room(&mut self) {
        if self.len + MAX_WRITE > BUF {
            self.flush();
        }
    }

    #[inline]
    fn varint(&mut self, mut v: u64) {
        self.room();
        while v >= 0x80 {
            self.put_byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.put_byte(v as u8);
    }
}

impl Hasher for Flat {
    #[inline(always)]
    fn finish(&self) -> u64 {
        let mut h = match &self.bulk {
            None => SEEDS.build_hasher(),
            Some(b) => b.clone(),
        };
        h.write(self.filled());
        h.finish()
    }

    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() <= BUF {
            self.put(bytes);
        } else {
            self.flush();
            if bytes.len() <= BUF {
                self.put(bytes);
            } else {
                self.bulk.as_mut().expect("flushed").write(bytes);
            }
        }
    }

    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.room();
        self.put_byte(v);
    }

    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.varint(v.into());
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.varint(v.into());
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.varint(v);
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.varint(v as u64);
    }

    #[inline]
    fn write_isize(&mut self, v: isize) {
        // Zigzag: small negative numbers stay short too.
        self.varint(((v << 1) ^ (v >> (isize::BITS - 1))) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_equal_fingerprints_and_long_values_work() {
        let long: Vec<u64> = (0..1000).collect();
        assert_eq!(fingerprint(&long), fingerprint(&long.clone()));
        let mut other = long.clone();
        other[999] = 0;
        assert_ne!(fingerprint(&long), fingerprint(&other));
        let bytes = vec![7u8; 10_000];
        assert_ne!(fingerprint(&bytes), fingerprint(&bytes[1..]));
    }

    #[test]
    fn varints_keep_fields_apart() {
        // The same bytes split differently between fields must not collide.
        assert_ne!(fingerprint(&(vec![1u8, 2], vec![3u8])), fingerprint(&(vec![1u8], vec![2u8, 3])));
        assert_ne!(fingerprint(&(300usize, 1u8)), fingerprint(&(44usize, 2u8, 1u8)));
        assert_ne!(fingerprint(&-1isize), fingerprint(&1isize));
        assert_ne!(fingerprint(&Some(0u8)), fingerprint(&None::<u8>));
    }
}
