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
        quiet_gpu_probes_without_a_session();
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

/// Mesa's Vulkan device-select layer asks the Wayland session which GPU drives the display
/// whenever wgpu looks for adapters; with no session (a server, a container, ssh) libwayland
/// prints "error: XDG_RUNTIME_DIR is invalid or not set" twice on a run that is fine. A
/// headless command has no display to choose a GPU by, so the layer is switched off there.
fn quiet_gpu_probes_without_a_session() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: still single-threaded: no thread has started that could read the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
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
