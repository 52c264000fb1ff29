//! The `apprentice` binary: parses the command line and runs the chosen command.

use clap::Parser;
use std::process::ExitCode;

/// Environments stepped on several threads allocate and free observations across threads,
/// where glibc's allocator contends on its arena locks; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = apprentice::cli::Cli::parse();
    if !cli.opens_app() {
        stop_quietly_on_closed_pipes();
    }
    match apprentice::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause left out where the message before it already
/// quotes it (errors that print their source, as `path: reason` does).
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

/// A command piped into `head` ends when the pipe closes, as Unix tools do, instead of
/// panicking on its next write (Rust ignores SIGPIPE unless told otherwise).
fn stop_quietly_on_closed_pipes() {
    #[cfg(unix)]
    // SAFETY: called at start-up, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
