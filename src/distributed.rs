//! `check --distributed`: one rank of an MPI job (`mpirun -n N klpcheck check ... --distributed`,
//! or `srun`), built with the cargo feature `distributed` (README "Distributed runs";
//! klp_checker::dist for the algorithm). Every rank explores its part of the state space and
//! computes the same result; rank 0 alone prints it and writes the traces.

use anyhow::Result;

use crate::cli::CheckArgs;

/// What `check --distributed` does not combine with yet, as an error naming the option.
fn refuse(a: &CheckArgs) -> Result<()> {
    let clash = [
        (a.engine == crate::cli::Engine::Stateright, "--engine stateright"),
        (a.coverage, "--coverage"),
        (a.estimate, "--estimate"),
        (a.store.store == crate::cli::StoreKind::Bitstate, "--store bitstate"),
        (a.spill.is_some(), "--spill"),
        (a.checkpoint.is_some(), "--checkpoint"),
        (a.resume.is_some(), "--resume"),
    ];
    if let Some((_, opt)) = clash.iter().find(|(on, _)| *on) {
        anyhow::bail!("--distributed: {opt} is not supported in a distributed run yet");
    }
    Ok(())
}

#[cfg(feature = "distributed")]
mod imp {
    use std::cell::RefCell;

    use klp_checker::dist::{Comm, Universe};

    thread_local! {
        /// The MPI universe and world of this process (MPI is called from this thread only).
        static MPI: RefCell<Option<(Universe, Comm)>> = const { RefCell::new(None) };
    }

    pub fn start() -> anyhow::Result<()> {
        let (u, c) = klp_checker::dist::init().map_err(|e| anyhow::anyhow!("--distributed: {e}"))?;
        MPI.with(|m| *m.borrow_mut() = Some((u, c)));
        Ok(())
    }

    /// This process's rank, if it is in a distributed run.
    pub fn rank() -> Option<usize> {
        MPI.with(|m| m.borrow().as_ref().map(|(_, c)| c.rank))
    }

    pub fn try_run<'a>(
        b: klp_checker::Bfs<'a, klp_model::KlpSystem>,
    ) -> std::io::Result<klp_checker::Outcome<klp_model::KlpSystem>> {
        MPI.with(|m| match m.borrow().as_ref() {
            Some((_, comm)) => b.run_distributed(comm),
            None => b.try_run(),
        })
    }

    /// Waits for every rank (rank 0 has reported by then), then finalises MPI.
    pub fn finish() {
        MPI.with(|m| {
            if let Some((universe, comm)) = m.borrow_mut().take() {
                comm.barrier();
                drop(universe);
            }
        });
    }
}

#[cfg(not(feature = "distributed"))]
mod imp {
    pub fn start() -> anyhow::Result<()> {
        anyhow::bail!(
            "--distributed: this klpcheck was built without MPI\n  hint: scripts/install-mpi.sh, then cargo build --release --features distributed"
        )
    }

    pub fn rank() -> Option<usize> {
        None
    }

    pub fn try_run<'a>(
        b: klp_checker::Bfs<'a, klp_model::KlpSystem>,
    ) -> std::io::Result<klp_checker::Outcome<klp_model::KlpSystem>> {
        b.try_run()
    }

    pub fn finish() {}
}

pub use imp::{finish, try_run};

/// Joins the MPI job when `--distributed` is given (after checking the options it supports).
pub fn start(a: &CheckArgs) -> Result<()> {
    if a.distributed {
        refuse(a)?;
        imp::start()?;
    }
    Ok(())
}

/// True on the ranks other than 0 of a distributed run: they print and write nothing.
pub fn follower() -> bool {
    imp::rank().is_some_and(|r| r != 0)
}
