//! `apprentice train` and `apprentice eval`: learn a policy from demonstrations, and measure it.

use super::output::{json_line, progress};
use crate::data::Dataset;
use crate::learn::bc::{self, BcConfig};
use crate::learn::eval::evaluate;
use crate::learn::run::{self, RunConfig};
use crate::sim::{Policy, ScenarioEnv};
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum Train {
    /// Behaviour cloning from a demonstration dataset.
    Bc(TrainArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[arg(long)]
    scenario: String,
    /// Dataset directory.
    #[arg(long)]
    demos: PathBuf,
    /// Run directory to write.
    #[arg(long)]
    out: PathBuf,
    /// A config.toml to start from (for example a previous run's).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one hyperparameter, e.g. `--set lr=0.0003 --set hidden=[128,128]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Run directory.
    #[arg(long)]
    policy: PathBuf,
    /// Scenario to evaluate on (default: the run's).
    #[arg(long)]
    scenario: Option<String>,
    #[arg(long, default_value_t = 50)]
    episodes: usize,
    /// Episode k starts from seed `seed + k` (the default keeps clear of demo seeds).
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

pub fn train(command: Train) -> anyhow::Result<()> {
    let Train::Bc(args) = command;
    let base = match &args.config {
        Some(path) => run::load_config(path.parent().unwrap_or(Path::new(".")))
            .map(|c| c.bc)
            .or_else(|_| -> anyhow::Result<BcConfig> { Ok(toml::from_str(&std::fs::read_to_string(path)?)?) })?,
        None => BcConfig::default(),
    };
    let config = base.with_overrides(&args.set).map_err(anyhow::Error::msg)?;
    let env = ScenarioEnv::load(&args.scenario)?;
    let (dataset, recovered) = Dataset::existing(&args.demos)?;
    recovered.iter().for_each(|m| eprintln!("{m}"));
    let loaded = dataset.load(Some(&env))?;
    if let Some(w) = loaded.warning() {
        eprintln!("warning: {w}");
    }
    let episodes: Vec<_> = loaded.episodes.into_iter().map(|e| e.episode).collect();
    let bar = progress(config.epochs as u64, "train bc");
    let (policy, log) = bc::train(&env, &episodes, &config, &mut |l| {
        bar.set_position(l.epoch as u64 + 1);
        bar.set_message(format!("train bc: val/loss {:.4}", l.val_loss));
    })?;
    bar.finish_and_clear();
    let run_config = RunConfig { algorithm: "bc".into(), scenario: args.scenario, demos: args.demos, bc: config };
    run::save(&args.out, &run_config, &env, &policy, &log)?;
    let last = log.last().context("training ran no epoch")?;
    eprintln!(
        "trained on {} episodes for {} epochs (val/loss {:.4}); run saved in {}",
        episodes.len(),
        log.len(),
        last.val_loss,
        args.out.display()
    );
    Ok(())
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let scenario = match args.scenario {
        Some(s) => s,
        None => run::load_config(&args.policy)?.scenario,
    };
    let env = ScenarioEnv::load(&scenario)?;
    let policy = run::load_policy(&args.policy, &env)?;
    let bar = progress(args.episodes as u64, "eval");
    let report =
        evaluate(&env, &|| Box::new(policy.clone()) as Box<dyn Policy>, args.episodes, args.seed, &|| bar.inc(1));
    bar.finish_and_clear();
    if args.json {
        json_line(&report)?;
    } else {
        println!(
            "{}: return {:.2} ± {:.2}, success {:.0}%, expert fraction {:.3} (expert {:.2}, random {:.2})",
            args.policy.display(),
            report.return_mean,
            report.return_std,
            report.success_rate * 100.0,
            report.expert_fraction,
            report.expert_return_mean,
            report.random_return_mean
        );
    }
    Ok(())
}
