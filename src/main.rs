//! `klpcheck`: model checking the Linux livepatch consistency model.
//!
//! Exit codes: 0 every property holds (complete search), 1 a property is violated,
//! 2 bad input or usage, 3 the search was incomplete (a limit was hit).

mod bench;
mod check;
mod ci;
mod cli;
mod compare;
mod coverage;
mod distributed;
mod engine;
mod expectations;
mod explore;
mod json;
mod junit;
mod lasso;
mod list;
mod progress;
mod render;
mod replay;
mod report;
mod run;
mod scenarios;
mod select;
mod shipped;
mod simulate;
mod target;
mod validate;
mod variants;

use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// mimalloc instead of glibc's malloc: exploring clones and drops several small vectors per
/// successor, and glibc spent about three quarters of a one-thread run on the default scenario
/// in malloc/free (unlink_chunk, malloc_consolidate; measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, mimalloc.h, v2 and v3
/// alike; libmimalloc-sys does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's `mi_option_arena_eager_commit` (as [`MI_OPTION_PURGE_DELAY`]).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Arenas are committed as they are used, unless `MIMALLOC_ARENA_EAGER_COMMIT` says otherwise.
/// Why: an arena mimalloc commits whole on reserving it (its default on Linux) is purged by
/// resetting pages, which the kernel takes back only under memory pressure, so memory the
/// search freed stayed in its RSS (`large`: 1.44 GB against 1.36 GB with the environment
/// variable in session 13). Why before `main`: mimalloc reserves its first arena (1 GiB) at
/// the first allocation, which the Rust runtime makes before `main`; an ELF constructor runs
/// before it. `mi_option_set_default` leaves a value the environment gave alone, whether
/// mimalloc read the environment before this runs or reads it after.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static ARENAS_COMMIT_ON_USE: extern "C" fn() = arenas_commit_on_use;

#[cfg(target_os = "linux")]
extern "C" fn arenas_commit_on_use() {
    // SAFETY: sets an option's default value (a plain store, valid before mimalloc's own
    // initialisation); mimalloc reads it when it reserves an arena.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

/// Memory the program frees goes back to the kernel at once (mimalloc v3 keeps it a second),
/// unless `MIMALLOC_PURGE_DELAY` says otherwise. Why: a search frees and allocates its batch
/// buffers all the time, and the run's peak is at the end of the search (issue 16): on
/// `default`, 304 MB peak against 318 MB with the delay (the same CPU time). Arenas are
/// committed on use as well ([`ARENAS_COMMIT_ON_USE`]: 269 MB).
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an option's value; mimalloc reads it at each purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

/// Raised by the first Ctrl-C (SIGINT): the engine stops between batches and `check` reports
/// what it has (statistics, counterexamples found so far, "incomplete", exit code 3).
pub fn interrupted() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// First SIGINT: raise [`interrupted`]. A second one exits at once (130, as the shell does).
fn install_sigint_handler() {
    let flag = interrupted();
    let res = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        // Under mpirun every rank gets the signal: rank 0 says it.
        if distributed::launcher_rank().unwrap_or(0) == 0 {
            eprintln!("\nklpcheck: interrupted, finishing the current batch (Ctrl-C again to quit at once)");
        }
    });
    if let Err(e) = res {
        eprintln!("klpcheck: warning: no Ctrl-C handler: {e}");
    }
}

/// `klpcheck ... | head`: a reader that closes the pipe early ends klpcheck quietly by SIGPIPE
/// (shell status 141), as it ends `cat` or `grep`, instead of a panic in `println!` (Rust
/// ignores SIGPIPE by default). Not for `explore`, whose web server writes to sockets.
fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL, before any thread of ours writes.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    install_sigint_handler();
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !matches!(args.command, cli::Command::Explore(_)) {
        default_sigpipe();
    }
    let result = match &args.command {
        cli::Command::Check(a) => check::run(a),
        cli::Command::Replay(a) => replay::run(a),
        cli::Command::List(a) => list::run(a),
        cli::Command::Explore(a) => explore::run(a),
        cli::Command::Bench(a) => match bench::run(a) {
            Ok(c) => Ok(c as u8),
            Err(e) => Err(e),
        },
        cli::Command::Run(a) => run::run(a),
        cli::Command::Render(a) => render::run(a),
        cli::Command::Compare(a) => compare::run(a),
        cli::Command::Ci(a) => ci::run(a),
        cli::Command::Simulate(a) => simulate::run(a),
        cli::Command::Validate(a) => validate::run(a),
        cli::Command::Diagnose(a) => validate::run_diagnose(a),
        cli::Command::Schema(a) => {
            if a.markdown {
                print!("{}", klp_model::scenario::schema::reference_markdown());
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&klp_model::scenario::schema::json_schema()).unwrap_or_default()
                );
            }
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // In a distributed run, `distributed::finish` has printed the error already (on
        // rank 0 alone when every rank met it).
        Err(e) if e.downcast_ref::<distributed::Quiet>().is_some() => ExitCode::from(2),
        Err(e) => {
            let distributed = match &args.command {
                cli::Command::Check(a) => a.distributed,
                cli::Command::Ci(a) => a.distributed,
                _ => false,
            };
            if distributed && !distributed::started() {
                distributed::print_error_before_mpi(&e);
            } else {
                distributed::print_error(&e);
            }
            ExitCode::from(2)
        }
    }
}
