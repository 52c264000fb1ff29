//! `apprentice app` (and plain `apprentice`): open the desktop app; `apprentice bench app`:
//! its frame rate with a trainer running.

use super::output::parse_size;
use crate::app::{self, Autopilot, Driver, Options};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Pilot {
    Human,
    Expert,
    Policy,
}

impl From<Pilot> for Driver {
    fn from(p: Pilot) -> Driver {
        match p {
            Pilot::Human => Driver::Human,
            Pilot::Expert => Driver::Expert,
            Pilot::Policy => Driver::Policy,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Built-in scenario name or path to a .ron file.
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Dataset directory to record into and train from (default: the user data directory's
    /// `<scenario>/demos`, seeded with the bundled demos on first use).
    #[arg(long)]
    demos: Option<PathBuf>,
    /// Run directory of a trained policy to load, or `planner` for the sampling planner on
    /// the true simulator (the scene then draws its candidates, elites and plan).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Run directory of a second policy (or `planner`) to compare side by side with the
    /// first (split view).
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Who drives from the start (unattended runs: expert or policy).
    #[arg(long, value_enum)]
    autopilot: Option<Pilot>,
    /// Render this many frames, then take the screenshot and/or exit.
    #[arg(long)]
    frames: Option<u32>,
    /// Save a PNG of the window after `--frames` frames.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Quit after `--frames` frames (and the screenshot).
    #[arg(long)]
    exit: bool,
    /// Start training on the dataset at launch.
    #[arg(long)]
    train: bool,
    /// The algorithm the Train tab starts with (`apprentice train --help` lists them).
    #[arg(long, default_value = "bc")]
    algorithm: String,
    /// Window size in logical pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x760", value_parser = parse_size)]
    size: (u32, u32),
}

impl Args {
    /// `apprentice` with no command: the app on cartpole.
    pub fn first_run() -> Args {
        Args {
            scenario: "cartpole".into(),
            demos: None,
            policy: None,
            compare: None,
            autopilot: None,
            frames: None,
            screenshot: None,
            exit: false,
            train: false,
            algorithm: "bc".into(),
            size: (1280, 760),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut options = Options::new(&args.scenario);
    options.demos = args.demos;
    options.policy = args.policy;
    options.compare = args.compare;
    options.size = args.size;
    options.train = args.train;
    options.algorithm = args.algorithm;
    if let Some(pilot) = args.autopilot {
        options.driver = pilot.into();
    }
    if args.frames.is_some() || args.screenshot.is_some() || args.exit {
        options.autopilot = Some(Autopilot {
            frames: args.frames.unwrap_or(120),
            screenshot: args.screenshot,
            exit: args.exit,
            report: None,
        });
    }
    app::run(options)
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Frames measured (after a short warm-up).
    #[arg(long, default_value_t = 600)]
    frames: u32,
    /// Dataset to train on while measuring (default: the bundled demos).
    #[arg(long)]
    demos: Option<PathBuf>,
    /// A run whose policy drives while measuring, instead of the expert (any policy kind).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x760", value_parser = parse_size)]
    size: (u32, u32),
    /// One JSON object: fps_mean, frame_ms_mean, frame_ms_p95.
    #[arg(long)]
    json: bool,
}

/// The benchmark's runs (and default demos) go to a scratch directory, never to user data.
fn scratch_home() -> PathBuf {
    std::env::temp_dir().join(format!("apprentice-bench-app-{}", std::process::id()))
}

/// Frame times of the real window while the expert (or `--policy`) drives and a BC run trains.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let mut options = Options::new(&args.scenario);
    let demos = args.demos.unwrap_or_else(|| scratch_home().join("demos"));
    if !demos.exists() {
        let (from, _) = crate::data::Dataset::existing(&app::bundled(&args.scenario).join("demos"))?;
        let (to, _) = crate::data::Dataset::open(&demos)?;
        to.append(&from.load(None)?.episodes.into_iter().map(|f| f.episode).collect::<Vec<_>>())?;
    }
    options.demos = Some(demos);
    options.driver = if args.policy.is_some() { Driver::Policy } else { Driver::Expert };
    options.keep_policy = args.policy.is_some();
    options.policy = args.policy;
    options.train = true;
    options.size = args.size;
    options.home = Some(scratch_home());
    options.autopilot =
        Some(Autopilot { frames: args.frames + 30, screenshot: None, exit: true, report: Some(args.json) });
    app::run(options)
}
