//! Command-line interface: one file per subcommand group, all calling the library.

mod bench;
mod demos;
mod output;
mod rollout;
mod scenarios;
mod train;

use clap::{Parser, Subcommand};

/// apprentice: drive 2D physics tasks, record demonstrations, train policies.
#[derive(Debug, Parser)]
#[command(name = "apprentice", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List built-in scenarios (and the .ron files of a directory).
    Scenarios(scenarios::Args),
    /// Run a policy for N seeded episodes and report return and success statistics.
    Rollout(rollout::Args),
    /// Demonstration datasets: generate, info, trim, delete, merge, split, replay, export, import.
    #[command(subcommand)]
    Demos(demos::Demos),
    /// Train a policy.
    #[command(subcommand)]
    Train(train::Train),
    /// Evaluate a trained policy against the scripted expert on seeded episodes.
    Eval(train::EvalArgs),
    /// Measure speed.
    #[command(subcommand)]
    Bench(bench::Bench),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Scenarios(args)) => scenarios::run(args),
        Some(Command::Rollout(args)) => rollout::run(args),
        Some(Command::Demos(demos)) => demos::run(demos),
        Some(Command::Train(t)) => train::train(t),
        Some(Command::Eval(args)) => train::eval(args),
        Some(Command::Bench(bench)) => bench::run(bench),
        None => {
            eprintln!(
                "apprentice: the desktop app is not built yet, so this runs a headless expert \
                 rollout on `cartpole` instead (see `apprentice --help` for every command)."
            );
            rollout::run(rollout::Args::default_demo())
        }
    }
}
