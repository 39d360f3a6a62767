//! Bitstate hashing (SPIN's "supertrace"): the visited set as a bit array, for state spaces
//! whose fingerprints do not fit in memory.
//!
//! A state is "seen" when all `k` bits its fingerprint addresses are set. Two different states
//! can address the same `k` bits, so a new state may be taken for a seen one and dropped with
//! everything only it leads to: the search then under-approximates the state space. It never
//! invents states, so a counterexample it finds is real; what it cannot do is prove that none
//! exists. The engine reports such a search as [`StopReason::Bitstate`](crate::StopReason),
//! never as exhausted.
//!
//! The `k` bit positions come from the 64-bit fingerprint by *enhanced double hashing*
//! (Dillinger and Manolios, "Bloom filters in probabilistic verification", FMCAD 2004):
//! `x_i = h1 + i*h2 + (i^3 - i)/6 (mod m)`, with `h1` and `h2` two mixes of the fingerprint
//! (one of it, one of it xor a constant). Kirsch and Mitzenmacher ("Less hashing, same performance", ESA 2006) show that
//! `k` positions drawn this way give a Bloom filter the false-positive rate of `k` independent
//! hash functions, asymptotically; the cubic term (Dillinger and Manolios) removes the
//! clustering plain double hashing shows when `h2` is small modulo `m`. SPIN derives its `-k`
//! positions the same way (`bstore_mod()` in Spin's Src/pangen1.h, "x = (x + K2 + i)" since
//! 5.1.1). `h1` and `h2` are independent enough because the fingerprint is first passed through
//! a 64-bit finaliser with full avalanche (each input bit flips each output bit with
//! probability about 1/2): the mixes of two inputs that differ in many bits (the xor constant)
//! are close to independent uniform values, and independent of the fingerprint bits that chose
//! the shard (`table::shard_of`). The one dependence left is the fingerprint itself: two states with one
//! 64-bit fingerprint share all `k` positions, a 2^-64 chance per pair, far below bitstate's
//! own omission rate.

use crate::table::Slots;

/// SPIN's default number of bits set per state (`-k3`).
pub const DEFAULT_HASHES: u32 = 3;
/// Default table size: 2^31 bits (256 MiB).
pub const DEFAULT_BITS: u64 = 1 << 31;

/// One shard's bit array (the engine keeps one per shard, as for the exact set).
pub(crate) struct BitShard {
    pub(crate) words: Slots,
    /// Bits in this shard (a multiple of 64).
    bits: u64,
    hashes: u32,
    /// States stored (insertions that set at least one bit).
    pub(crate) len: u64,
}

/// A full-avalanche 64-bit mix (the finaliser of SplitMix64 / MurmurHash3's fmix64 family).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl BitShard {
    pub(crate) fn new(bits: u64, hashes: u32) -> Self {
        let bits = bits.max(64).next_multiple_of(64);
        BitShard { words: Slots::zeroed((bits / 64) as usize), bits, hashes, len: 0 }
    }

    /// A shard from the words a checkpoint wrote (`Shard::raw`).
    pub(crate) fn from_raw(raw: &[u64], hashes: u32, len: u64) -> Self {
        let mut words = Slots::zeroed(raw.len());
        words.copy_from_slice(raw);
        BitShard { words, bits: raw.len() as u64 * 64, hashes, len }
    }

    /// The bit positions of `fp`, in order: enhanced double hashing modulo the shard's bits.
    #[inline]
    fn positions(&self, fp: u64) -> impl Iterator<Item = u64> {
        let m = self.bits;
        let (mut x, mut y) = (mix(fp) % m, mix(fp ^ 0x6a09_e667_f3bc_c909) % m);
        (0..u64::from(self.hashes)).map(move |i| {
            let pos = x;
            x = (x + y) % m;
            y = (y + i + 1) % m;
            pos
        })
    }

    /// Sets `fp`'s bits; true if at least one was clear (a new state, as far as bits can tell).
    #[inline]
    pub(crate) fn insert(&mut self, fp: u64) -> bool {
        let mut new = false;
        for p in self.positions(fp) {
            let (w, b) = ((p / 64) as usize, 1u64 << (p % 64));
            new |= self.words[w] & b == 0;
            self.words[w] |= b;
        }
        self.len += u64::from(new);
        new
    }

    /// True if all of `fp`'s bits are set.
    #[inline]
    pub(crate) fn contains(&self, fp: u64) -> bool {
        self.positions(fp).all(|p| self.words[(p / 64) as usize] & (1u64 << (p % 64)) != 0)
    }

    /// The word of `fp`'s first bit (phase B prefetches it, as it prefetches exact slots).
    #[inline]
    pub(crate) fn first_word(&self, fp: u64) -> *const u64 {
        let p = self.positions(fp).next().unwrap_or(0);
        self.words.as_ptr().wrapping_add((p / 64) as usize)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    pub(crate) fn bits(&self) -> u64 {
        self.bits
    }
}

/// What a bitstate search reports, in SPIN's terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BitstateStats {
    /// Bits in the table (all shards).
    pub bits: u64,
    /// Bits set per state (SPIN's `-k`).
    pub hashes: u32,
    /// States stored.
    pub stored: u64,
}

impl BitstateStats {
    /// SPIN's hash factor: bits in the table per state stored ("best if > 100.", printed by
    /// Spin's generated verifier, Src/pangen1.h: `udmem * 8.0 / nstates`).
    pub fn hash_factor(&self) -> f64 {
        self.bits as f64 / self.stored.max(1) as f64
    }

    /// Probability that a new state is taken for a seen one once `n` states are stored: all
    /// its `k` bits already set. The Bloom-filter estimate Holzmann uses for bitstate hashing
    /// ("An analysis of bitstate hashing", Formal Methods in System Design 13(3), 1998; Spin
    /// book, ch. 9): a bit is still clear after `k*n` random settings with probability
    /// `(1 - 1/m)^(k*n) ~ exp(-k*n/m)`, so `p(n) = (1 - exp(-k*n/m))^k`.
    pub fn omission_probability(&self, n: u64) -> f64 {
        omission(self.bits as f64, self.hashes, n as f64)
    }

    /// Expected fraction of the states met that were stored: the `i`-th state is stored when
    /// `i` are in the table, and before it an expected `p(i) / (1 - p(i))` new states were
    /// dropped (a geometric number of tries), so `coverage = n / (n + sum p(i)/(1-p(i)))`.
    /// It counts only the states dropped at the table, not those reachable only through them
    /// (which the search never met): the true coverage may be lower.
    pub fn coverage(&self) -> f64 {
        let n = self.stored;
        if n == 0 {
            return 1.0;
        }
        // Exact sum up to a million terms; beyond, a midpoint sum over a million strata.
        const STEPS: u64 = 1_000_000;
        let m = self.bits as f64;
        let term = |i: f64| {
            let p = omission(m, self.hashes, i).min(1.0 - 1e-15);
            p / (1.0 - p)
        };
        let dropped: f64 = if n <= STEPS {
            (0..n).map(|i| term(i as f64)).sum()
        } else {
            let w = n as f64 / STEPS as f64;
            (0..STEPS).map(|j| term((j as f64 + 0.5) * w) * w).sum()
        };
        n as f64 / (n as f64 + dropped)
    }
}

fn omission(m: f64, k: u32, n: f64) -> f64 {
    (1.0 - (-(f64::from(k)) * n / m).exp()).powi(k as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// Values worked by hand (calculator): m = 1024 bits, k = 3, n = 100:
    /// k*n/m = 0.29296875, exp(-0.29296875) = 0.746046, 1 - that = 0.253954, cubed = 0.016378.
    #[test]
    fn omission_probability_by_hand() {
        let s = BitstateStats { bits: 1024, hashes: 3, stored: 100 };
        assert!(close(s.omission_probability(100), 0.016378, 1e-4), "{}", s.omission_probability(100));
        assert!(close(s.hash_factor(), 10.24, 1e-12));
        assert_eq!(s.omission_probability(0), 0.0);
        // k = 1, m = 2^20, n = 2^10: 1 - exp(-2^-10) = 9.7609e-4.
        let s = BitstateStats { bits: 1 << 20, hashes: 1, stored: 1 << 10 };
        assert!(close(s.omission_probability(1 << 10), 9.7609e-4, 1e-4));
    }

    /// m = 8, k = 1, n = 2: p(0) = 0, p(1) = 1 - exp(-1/8) = 0.117503; dropped = 0.117503 /
    /// 0.882497 = 0.133148; coverage = 2 / 2.133148 = 0.937581.
    #[test]
    fn coverage_by_hand() {
        let s = BitstateStats { bits: 8, hashes: 1, stored: 2 };
        assert!(close(s.coverage(), 0.937581, 1e-5), "{}", s.coverage());
        // A hash factor in the millions: nothing lost to 1e-6.
        let s = BitstateStats { bits: 1 << 32, hashes: 3, stored: 1000 };
        assert!(s.coverage() > 1.0 - 1e-6);
        // The midpoint sum agrees with the exact one near the switch-over.
        let a = BitstateStats { bits: 1 << 22, hashes: 3, stored: 1_000_000 }.coverage();
        let b = BitstateStats { bits: 1 << 22, hashes: 3, stored: 1_000_001 }.coverage();
        assert!(close(a, b, 1e-4), "{a} {b}");
        assert!(a < 0.99, "{a}");
    }

    #[test]
    fn bits_insert_and_contain() {
        let mut s = BitShard::new(1 << 16, 3);
        for k in 1..1000u64 {
            s.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        for k in 1..1000u64 {
            assert!(s.contains(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        }
        // Hash factor 65: an omission rate near (1 - e^(-3/65))^3 ~ 9e-5; nearly all stored.
        assert!(s.len >= 995, "{}", s.len);
        let absent = (5000..6000u64).filter(|k| s.contains(k.wrapping_mul(0x9E37_79B9_7F4A_7C15))).count();
        assert!(absent <= 5, "{absent} false positives in 1000");
    }
}
