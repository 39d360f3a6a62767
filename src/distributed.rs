//! `check --distributed` and `ci --distributed`: one rank of an MPI job (`mpirun -n N klpcheck
//! check ... --distributed`, or `srun`), built with the cargo feature `distributed` (README
//! "Distributed runs"; klp_checker::dist for the algorithm). Every rank explores its part of
//! the state space and computes the same result; rank 0 alone prints it, writes the traces and
//! says an error every rank met; a rank prints an error itself only when it met it alone.

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

    pub fn ranks() -> Option<usize> {
        MPI.with(|m| m.borrow().as_ref().map(|(_, c)| c.size))
    }

    pub fn try_run<'a>(
        b: klp_checker::Bfs<'a, klp_model::KlpSystem>,
    ) -> std::io::Result<klp_checker::Outcome<klp_model::KlpSystem>> {
        MPI.with(|m| match m.borrow().as_ref() {
            Some((_, comm)) => b.run_distributed(comm),
            None => b.try_run(),
        })
    }

    /// Waits for every rank (rank 0 has reported by then), then finalises MPI. Before that
    /// the ranks compare their errors: rank 0 prints its own, another rank prints its error
    /// only if rank 0 has another one or none; every error comes back [`super::Quiet`].
    /// The errors are printed before the barrier: once one rank has left with exit 2, mpirun
    /// ends the job, and a rank that had yet to print would be killed first.
    pub fn finish(r: anyhow::Result<u8>) -> anyhow::Result<u8> {
        MPI.with(|m| {
            let Some((universe, comm)) = m.borrow_mut().take() else { return r };
            let hash = match &r {
                Ok(_) => 0,
                Err(e) => 1 | klp_checker::fingerprint(&format!("{e:#}")),
            };
            let all = comm.gather(hash);
            let r = r.map_err(|e| {
                if comm.rank == 0 || all[comm.rank] != all[0] {
                    super::print_error(&e);
                }
                anyhow::Error::new(super::Quiet)
            });
            comm.barrier();
            drop(universe);
            r
        })
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

    pub fn ranks() -> Option<usize> {
        None
    }

    pub fn try_run<'a>(
        b: klp_checker::Bfs<'a, klp_model::KlpSystem>,
    ) -> std::io::Result<klp_checker::Outcome<klp_model::KlpSystem>> {
        b.try_run()
    }

    pub fn finish(r: anyhow::Result<u8>) -> anyhow::Result<u8> {
        r
    }
}

pub use imp::{finish, try_run};

/// An error [`finish`] has printed already (or left to rank 0): `main` exits with its code
/// (2) without printing it again.
#[derive(Debug)]
pub struct Quiet;

impl std::fmt::Display for Quiet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an error that rank 0 reports")
    }
}

impl std::error::Error for Quiet {}

/// How klpcheck prints an error it ends with.
pub fn print_error(e: &anyhow::Error) {
    eprintln!("klpcheck: error: {e:#}");
}

/// How long a rank other than 0 that met an error before MPI started waits before it prints
/// it and leaves. Every rank parses the same input, so rank 0 has almost always met the same
/// error: it prints it and exits with 2 in the meantime, and mpirun ends this rank before it
/// prints a copy. A rank that leaves at once would instead end the job before rank 0 printed.
/// Waiting on MPI instead would hang the job when this rank alone met the error.
const FOLLOWER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Prints an error met before MPI started (bad input): at once on rank 0 and outside an MPI
/// job, after [`FOLLOWER_GRACE`] on the other ranks, naming the rank.
pub fn print_error_before_mpi(e: &anyhow::Error) {
    match launcher_rank() {
        Some(rank) if rank != 0 => {
            std::thread::sleep(FOLLOWER_GRACE);
            eprintln!("klpcheck: error: rank {rank}: {e:#}");
        }
        _ => print_error(e),
    }
}

/// This process's rank as the MPI launcher gives it in the environment (Open MPI, MPICH's
/// Hydra, PMIx, Slurm), before MPI is initialised: errors met before then (bad input, the same
/// on every rank) are printed by rank 0 alone.
pub fn launcher_rank() -> Option<usize> {
    ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// The command that launched this job, to be put before klpcheck's arguments in a hint:
/// `srun -n N` under Slurm, `mpirun -n N` otherwise.
pub fn launcher(ranks: usize) -> String {
    let tool = if std::env::var_os("SLURM_STEP_ID").is_some() { "srun" } else { "mpirun" };
    format!("{tool} -n {ranks}")
}

/// The number of ranks of this job, if it is in a distributed run.
pub fn ranks() -> Option<usize> {
    imp::ranks()
}

/// True in a distributed run (MPI started by `--distributed`).
pub fn active() -> bool {
    imp::rank().is_some()
}

/// Set once MPI was started (it stays set after [`finish`]).
static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once this process joined an MPI job (its errors were compared by [`finish`]).
pub fn started() -> bool {
    STARTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Joins the MPI job for `ci --distributed`.
pub fn start_ci(a: &crate::cli::CiArgs) -> Result<()> {
    if a.distributed {
        imp::start(None)?;
        STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

/// Joins the MPI job when `--distributed` is given (after checking the options it supports).
pub fn start(a: &CheckArgs) -> Result<()> {
    if a.distributed {
        refuse(a)?;
        imp::start(a.checkpoint.as_deref().or(a.resume.as_deref()))?;
        STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
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
            "the last checkpoint in {} resumes it (a level boundary; same rank count):\n  {} {} --resume {}",
            dir.display(),
            launcher(ranks),
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
