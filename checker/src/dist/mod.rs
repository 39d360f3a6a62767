//! Distributed exploration on MPI (cargo feature `distributed`, issue 19): the same BFS as
//! `bfs.rs`, its states partitioned over the ranks of an MPI job by fingerprint.
//!
//! The scheme is the one every distributed explicit-state checker that reached 10^10 states
//! uses (Parallel and Eddy Murphi, PReach, DiVinE, LTSmin's `pins2lts-dist`): each state is
//! owned by the rank its fingerprint hashes to ([`owner`], bits the local table does not use),
//! successors go to their owner in batches, and the ranks agree on when a level ends. One rank
//! per node, rayon threads inside it; MPI is called from the main thread only
//! (`MPI_THREAD_FUNNELED`).
//!
//! Per level (`search.rs`), every rank runs the same number of batches (the largest frontier
//! decides). Per batch: limits combined with `Allreduce` (any rank's limit stops all of them),
//! expansion on the pool, then one `Alltoall` of byte counts and one `Alltoallv` of the
//! successors, each as (fingerprint, parent's global BFS index, action index, state bytes).
//! States travel, wait and form the frontier in the model's packed encoding (`front.rs`;
//! CBOR for a model without one), in flat per-batch and per-shard buffers. Before the
//! exchange, the batch's successors are sorted by (fingerprint, parent, action) and only the
//! first of each state is sent (the others cannot win). The owner keeps, per fingerprint new
//! in this level, the candidate with the smallest (parent index, action index) key. At the
//! level's end `number.rs` gives the winners their global BFS indices: exactly the numbering
//! of the single-process engine, so counts, verdicts and counterexamples are byte-identical to
//! it for any number of ranks. Each rank logs its states' parents in 12 bytes a state, in
//! memory or on disk (`logs.rs`), and checkpoints at level boundaries (`checkpoint.rs`).
//!
//! Deadlock and possibility properties are checked too (`live.rs`: backward reachability over
//! reverse edges kept at their targets' owners). Not yet distributed: leads-to (reported
//! unchecked), coverage and bitstate (refused). Open MPI ends the whole job when a rank dies;
//! the last checkpoint resumes it.

mod checkpoint;
mod comm;
mod front;
mod live;
mod logs;
mod number;
mod search;

pub use comm::Comm;
pub use mpi::environment::Universe;

/// The rank that owns a fingerprint: bits 40..64 (the visited set uses bits 0..32 for the slot
/// and 32..36 for the shard, `table.rs`), scaled to `ranks` by a multiply-shift.
#[inline]
pub fn owner(fp: u64, ranks: usize) -> usize {
    (((fp >> 40) * ranks as u64) >> 24) as usize
}

/// Starts MPI with `MPI_THREAD_FUNNELED` (rayon threads never call MPI) and runs the self-test
/// of every collective the search relies on ([`Comm::self_test`]). Keep the returned universe
/// alive for the whole run: dropping it finalises MPI.
pub fn init() -> Result<(Universe, Comm), String> {
    // A rank waiting in a collective yields its core instead of spinning on it (Open MPI spins
    // by default): with more ranks than cores, or ranks beside other work, the spinning rank
    // took the CPU the rank it waits for needed. Set before MPI_Init, unless the user chose.
    const YIELD: &str = "OMPI_MCA_mpi_yield_when_idle";
    if std::env::var_os(YIELD).is_none() {
        std::env::set_var(YIELD, "1");
    }
    let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Funneled)
        .ok_or("MPI was initialised already or could not be initialised")?;
    if threading < mpi::Threading::Funneled {
        return Err(format!("the MPI library provides {threading:?} threading; klpcheck needs Funneled"));
    }
    let comm = Comm::world();
    comm.self_test()?;
    Ok((universe, comm))
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn owner_covers_every_rank_and_stays_in_range() {
        for ranks in 1..=5 {
            let mut seen = vec![false; ranks];
            for i in 0..10_000u64 {
                let fp = crate::fingerprint(&i);
                let r = owner(fp, ranks);
                assert!(r < ranks);
                seen[r] = true;
            }
            assert!(seen.iter().all(|&s| s), "{ranks} ranks: {seen:?}");
        }
        assert_eq!(owner(u64::MAX, 3), 2);
        assert_eq!(owner(1, 3), 0);
    }
}
