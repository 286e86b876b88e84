//! The `rampart` binary: parses the command line and runs one command.
//!
//! Exit codes: 0 success; 1 a command failed (the error chain is printed);
//! 2 bad usage (clap's own).

mod cli;
mod cmd;
mod logging;
mod settings;
mod startup;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    startup::harden();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rampart: {error:#}");
            ExitCode::FAILURE
        }
    }
}
