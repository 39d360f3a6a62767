//! `klpcheck`: model checking the Linux livepatch consistency model.
//!
//! Exit codes: 0 every property holds (complete search), 1 a property is violated,
//! 2 bad input or usage, 3 the search was incomplete (a limit was hit).

mod bench;
mod check;
mod ci;
mod cli;
mod compare;
mod engine;
mod expectations;
mod explore;
mod junit;
mod list;
mod render;
mod replay;
mod run;
mod run_one;
mod scenarios;
mod variants;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
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
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("klpcheck: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
