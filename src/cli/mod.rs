//! Command-line interface: one file per subcommand group, all calling the library.

#[cfg(feature = "gui")]
mod app;
mod bench;
mod chart;
mod demos;
mod output;
mod plot;
mod rollout;
mod scenarios;
mod sweep;
mod train;

use clap::{Parser, Subcommand};

/// apprentice: drive 2D physics tasks, record demonstrations, train policies.
#[derive(Debug, Parser)]
#[command(name = "apprentice", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Whether the command opens the desktop app (rather than printing for a terminal or pipe).
    pub fn opens_app(&self) -> bool {
        #[cfg(feature = "gui")]
        return matches!(self.command, None | Some(Command::App(_)));
        #[cfg(not(feature = "gui"))]
        false
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop app (the default command).
    #[cfg(feature = "gui")]
    App(app::Args),
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
    /// Run a grid or random search over hyperparameters × seeds, in parallel processes;
    /// writes results.csv and sweep.png.
    Sweep(sweep::Args),
    /// Draw runs' learning curves (any metric; seeds merged into mean ± sd) into a PNG.
    Plot(plot::Args),
    /// Measure speed.
    #[command(subcommand)]
    Bench(bench::Bench),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        #[cfg(feature = "gui")]
        Some(Command::App(args)) => app::run(args),
        #[cfg(feature = "gui")]
        None => app::run(app::Args::first_run()),
        Some(Command::Scenarios(args)) => scenarios::run(args),
        Some(Command::Rollout(args)) => rollout::run(args),
        Some(Command::Demos(demos)) => demos::run(demos),
        Some(Command::Train(t)) => train::train(t),
        Some(Command::Eval(args)) => train::eval(args),
        Some(Command::Sweep(args)) => sweep::run(args),
        Some(Command::Plot(args)) => plot::run(args),
        Some(Command::Bench(bench)) => bench::run(bench),
        #[cfg(not(feature = "gui"))]
        None => {
            eprintln!(
                "apprentice: this build has no desktop app (built without the `gui` feature), so \
                 this runs a headless expert rollout on `cartpole` instead (see `apprentice --help`)."
            );
            rollout::run(rollout::Args::default_demo())
        }
    }
}
