//! The `apprentice` binary: parses the command line and runs the chosen command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match apprentice::cli::run(apprentice::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
