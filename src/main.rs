//! The `apprentice` binary: parses the command line and runs the chosen command.

use clap::Parser;
use std::process::ExitCode;

/// Environments stepped on several threads allocate and free observations across threads,
/// where glibc's allocator contends on its arena locks; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match apprentice::cli::run(apprentice::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
