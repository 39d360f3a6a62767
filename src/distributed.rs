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

    pub fn start(resume_from: Option<&std::path::Path>) -> anyhow::Result<()> {
        let (u, c) = klp_checker::dist::init().map_err(|e| anyhow::anyhow!("--distributed: {e}"))?;
        super::on_sigterm(c.rank, c.size, resume_from);
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
    pub fn start(_: Option<&std::path::Path>) -> anyhow::Result<()> {
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
        imp::start(a.checkpoint.as_deref().or(a.resume.as_deref()))?;
    }
    Ok(())
}

/// True on the ranks other than 0 of a distributed run: they print and write nothing.
pub fn follower() -> bool {
    imp::rank().is_some_and(|r| r != 0)
}

/// What a rank says when it is ended by SIGTERM (built once, written by the handler).
static ON_SIGTERM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

extern "C" fn sigterm(_: libc::c_int) {
    if let Some(m) = ON_SIGTERM.get() {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the message was built before the
        // handler was installed and is never changed.
        unsafe {
            libc::write(2, m.as_ptr().cast(), m.len());
        }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(128 + libc::SIGTERM) }
}

/// When a rank dies (killed, out of memory, its node lost), Open MPI ends the job by sending
/// SIGTERM to the other ranks, and the run cannot go on without the lost rank's states. Each
/// surviving rank then says so on stderr, with the command that resumes the last checkpoint
/// (or that there is none), and exits with 143; mpirun itself names the rank that died and
/// exits non-zero.
#[cfg_attr(not(feature = "distributed"), allow(dead_code))]
fn on_sigterm(rank: usize, ranks: usize, resume_from: Option<&std::path::Path>) {
    let args = crate::check::args_without_resume(std::env::args());
    let then = match resume_from {
        Some(dir) => format!(
            "the last checkpoint in {} resumes it (a level boundary; same rank count):\n  mpirun -n {ranks} {} --resume {}",
            dir.display(),
            args.join(" "),
            dir.display()
        ),
        None => "there is no checkpoint (--checkpoint DIR was not given): the run starts over".to_string(),
    };
    let msg = format!(
        "klpcheck: rank {rank} of {ranks} was ended by SIGTERM: the MPI job is being torn down (a rank was lost, or \
         the job was cancelled); {then}\n"
    );
    if ON_SIGTERM.set(msg.into_bytes()).is_ok() {
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe {
            libc::signal(libc::SIGTERM, sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
}
