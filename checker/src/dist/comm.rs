//! The few MPI collectives the distributed search uses, over `u64` words and byte messages.
//!
//! Two traps met with the prototype (issue 19) are handled here, once:
//! * an empty `Vec<u8>` points at address 0x1, which Open MPI reads as `MPI_IN_PLACE`
//!   (`Alltoallv` then fails on the other ranks with `MPI_ERR_TRUNCATE`): a buffer handed to
//!   MPI is never empty (a 1-byte dummy, with all counts 0);
//! * Debian's MPICH 4.0.2 computes `MPI_MIN`/`MPI_MAX` on unsigned 64-bit values as signed
//!   (pmodels/mpich#6083): [`Comm::self_test`] checks every reduction at start-up with values
//!   at and around `u64::MIN` and `u64::MAX` and refuses to run on a library that gets one wrong.

use std::io;
use std::ops::Range;

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Count;

/// The job's communicator, with this process's rank and the number of ranks.
pub struct Comm {
    world: SimpleCommunicator,
    pub rank: usize,
    pub size: usize,
}

/// What one `Alltoallv` delivered: `buf[from[r].clone()]` came from rank `r`.
pub(crate) struct Received {
    pub(crate) buf: Vec<u8>,
    pub(crate) from: Vec<Range<usize>>,
}

impl Received {
    pub(crate) fn part(&self, r: usize) -> &[u8] {
        &self.buf[self.from[r].clone()]
    }
}

impl Comm {
    /// `MPI_COMM_WORLD` (MPI must be initialised: [`super::init`]).
    pub fn world() -> Self {
        let world = SimpleCommunicator::world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Comm { world, rank, size }
    }

    fn reduce(&self, v: &[u64], op: SystemOperation) -> Vec<u64> {
        let mut out = vec![0u64; v.len()];
        self.world.all_reduce_into(v, &mut out[..], op);
        out
    }

    /// Element-wise minimum over the ranks.
    pub fn min(&self, v: &[u64]) -> Vec<u64> {
        self.reduce(v, SystemOperation::min())
    }

    /// Element-wise maximum over the ranks.
    pub fn max(&self, v: &[u64]) -> Vec<u64> {
        self.reduce(v, SystemOperation::max())
    }

    /// Element-wise sum over the ranks.
    pub fn sum(&self, v: &[u64]) -> Vec<u64> {
        self.reduce(v, SystemOperation::sum())
    }

    /// Waits until every rank called it.
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Every rank's `v`, in rank order.
    pub fn gather(&self, v: u64) -> Vec<u64> {
        let mut out = vec![0u64; self.size];
        self.world.all_gather_into(&v, &mut out[..]);
        out
    }

    /// Sends `to[r]` to rank `r` and returns what every rank sent here: one `Alltoall` of the
    /// byte counts, one `Alltoallv` of the bytes.
    pub(crate) fn exchange(&self, to: Vec<Vec<u8>>) -> io::Result<Received> {
        debug_assert_eq!(to.len(), self.size);
        let count = |n: usize| {
            Count::try_from(n).map_err(|_| {
                io::Error::other(format!("an MPI message of {n} bytes is over the 2 GiB an MPI count can say"))
            })
        };
        let counts: Vec<Count> = to.iter().map(|b| count(b.len())).collect::<io::Result<_>>()?;
        let displs = displacements(&counts).map_err(|n| count(n as usize).unwrap_err())?;
        let mut send: Vec<u8> = Vec::with_capacity(to.iter().map(Vec::len).sum::<usize>().max(1));
        for b in to {
            send.extend_from_slice(&b);
        }
        if send.is_empty() {
            send.push(0); // never an empty buffer (0x1 = MPI_IN_PLACE for Open MPI)
        }
        let mut recv_counts = vec![0 as Count; self.size];
        self.world.all_to_all_into(&counts[..], &mut recv_counts[..]);
        let recv_displs = displacements(&recv_counts).map_err(|n| count(n as usize).unwrap_err())?;
        let total: usize = recv_counts.iter().map(|&c| c as usize).sum();
        let mut buf = vec![0u8; total.max(1)];
        {
            let s = Partition::new(&send[..], &counts[..], &displs[..]);
            let mut r = PartitionMut::new(&mut buf[..], &recv_counts[..], &recv_displs[..]);
            self.world.all_to_all_varcount_into(&s, &mut r);
        }
        buf.truncate(total);
        let from = recv_counts.iter().zip(&recv_displs).map(|(&c, &d)| d as usize..(d + c) as usize).collect();
        Ok(Received { buf, from })
    }

    /// Checks at start-up every reduction and exchange the search relies on, with values at the
    /// edges of `u64` (a library that reduces unsigned values as signed fails here, not in the
    /// middle of a run with a wrong count) and with empty messages.
    pub fn self_test(&self) -> Result<(), String> {
        let (r, n) = (self.rank as u64, self.size as u64);
        let v = [r, u64::MAX - r, (1 << 63) + r, (1 << 63) - 1 - r, r * 1_000_000_007];
        let want_min = [0, u64::MAX - (n - 1), 1 << 63, (1 << 63) - n, 0];
        let want_max = [n - 1, u64::MAX, (1 << 63) + n - 1, (1 << 63) - 1, (n - 1) * 1_000_000_007];
        let fail = |what: &str, got: &[u64], want: &[u64]| {
            Err(format!("MPI self-test: {what} over {n} ranks gave {got:?}, expected {want:?} (an MPI library that reduces unsigned 64-bit values as signed, like MPICH 4.0.2, pmodels/mpich#6083?)"))
        };
        let got = self.min(&v);
        if got != want_min {
            return fail("MPI_MIN on u64", &got, &want_min);
        }
        let got = self.max(&v);
        if got != want_max {
            return fail("MPI_MAX on u64", &got, &want_max);
        }
        let s = [1u64, r, u64::MAX / n];
        let want_sum = [n, n * (n - 1) / 2, (u64::MAX / n) * n];
        let got = self.sum(&s);
        if got != want_sum {
            return fail("MPI_SUM on u64", &got, &want_sum);
        }
        let got = self.gather(u64::MAX - r);
        let want: Vec<u64> = (0..n).map(|i| u64::MAX - i).collect();
        if got != want {
            return fail("MPI_Allgather of u64", &got, &want);
        }
        // Rank r sends r bytes of value r to every rank (rank 0 sends nothing at all), and
        // nothing to itself when it is the last one.
        let to: Vec<Vec<u8>> = (0..self.size)
            .map(|d| if d + 1 == self.size && d == self.rank { Vec::new() } else { vec![r as u8; r as usize] })
            .collect();
        let got = self.exchange(to).map_err(|e| format!("MPI self-test: Alltoallv: {e}"))?;
        for src in 0..self.size {
            let want = if self.rank + 1 == self.size && src == self.rank { Vec::new() } else { vec![src as u8; src] };
            if got.part(src) != want {
                return Err(format!(
                    "MPI self-test: Alltoallv delivered {:?} from rank {src} to rank {}, expected {want:?}",
                    got.part(src),
                    self.rank
                ));
            }
        }
        Ok(())
    }
}

/// Exclusive prefix sums of `counts`; `Err(total)` if one overflows an MPI count.
fn displacements(counts: &[Count]) -> Result<Vec<Count>, i64> {
    let mut acc = 0i64;
    let mut out = Vec::with_capacity(counts.len());
    for &c in counts {
        out.push(Count::try_from(acc).map_err(|_| acc)?);
        acc += i64::from(c);
    }
    Count::try_from(acc).map_err(|_| acc)?;
    Ok(out)
}

/// Little-endian `u64` words to and from message bytes.
pub(crate) fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn words(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
    b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
}
