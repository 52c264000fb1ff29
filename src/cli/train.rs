//! `apprentice train` and `apprentice eval`: learn a policy from demonstrations, and measure it.

use super::output::{json_line, progress};
use crate::data::Dataset;
use crate::learn::bc::{self, BcConfig};
use crate::learn::dagger::{self, DaggerConfig};
use crate::learn::eval::evaluate;
use crate::learn::run::{self, RunConfig};
use crate::learn::{field_names, overrides};
use crate::sim::{Policy, ScenarioEnv};
use anyhow::bail;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum Train {
    /// Behaviour cloning from a demonstration dataset.
    Bc(TrainArgs),
    /// DAgger: behaviour cloning, then rounds of expert-labeled rollouts of the learner.
    /// The aggregated data is written to RUN/dataset.
    Dagger(TrainArgs),
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
    let (algorithm, args) = match command {
        Train::Bc(args) => ("bc", args),
        Train::Dagger(args) => ("dagger", args),
    };
    let base = match &args.config {
        Some(path) => run::load_config(path.parent().unwrap_or(Path::new(".")))
            .or_else(|_| -> anyhow::Result<RunConfig> { Ok(toml::from_str(&std::fs::read_to_string(path)?)?) })?,
        None => RunConfig {
            algorithm: algorithm.into(),
            scenario: args.scenario.clone(),
            demos: args.demos.clone(),
            bc: BcConfig::default(),
            dagger: (algorithm == "dagger").then(DaggerConfig::default),
        },
    };
    let (bc_config, rest) = overrides(&base.bc, &args.set).map_err(anyhow::Error::msg)?;
    let dagger_base = base.dagger.clone().unwrap_or_default();
    let (dagger_config, unknown) = overrides(&dagger_base, &rest).map_err(anyhow::Error::msg)?;
    if let Some(set) = unknown.first() {
        let mut known = field_names(&bc_config);
        if algorithm == "dagger" {
            known.extend(field_names(&dagger_config));
        }
        bail!("--set {set}: no such hyperparameter (known: {})", known.join(", "));
    }
    let env = ScenarioEnv::load(&args.scenario)?;
    let (dataset, recovered) = Dataset::existing(&args.demos)?;
    recovered.iter().for_each(|m| eprintln!("{m}"));
    let loaded = dataset.load(Some(&env))?;
    if let Some(w) = loaded.warning() {
        eprintln!("warning: {w}");
    }
    let episodes: Vec<_> = loaded.episodes.into_iter().map(|e| e.episode).collect();
    let count = episodes.len();
    let (policy, metrics) = if algorithm == "dagger" {
        let bar = progress(dagger_config.rounds as u64 + 1, "train dagger");
        let (policy, data, rounds) = dagger::train(&env, episodes, &bc_config, &dagger_config, &mut |r| {
            bar.set_position(r.round as u64 + 1);
            bar.set_message(format!("train dagger: {} episodes, val/loss {:.4}", r.episodes, r.val_loss));
        })?;
        bar.finish_and_clear();
        let (aggregated, _) = Dataset::open(&args.out.join("dataset"))?;
        aggregated.append(&data[count..])?;
        eprintln!("aggregated {} new expert-labeled episodes into {}", data.len() - count, aggregated.dir.display());
        (policy, run::round_csv(&rounds))
    } else {
        let bar = progress(bc_config.epochs as u64, "train bc");
        let (policy, log) = bc::train(&env, &episodes, &bc_config, &mut |l| {
            bar.set_position(l.epoch as u64 + 1);
            bar.set_message(format!("train bc: val/loss {:.4}", l.val_loss));
        })?;
        bar.finish_and_clear();
        (policy, run::epoch_csv(&log))
    };
    let dagger = (algorithm == "dagger").then_some(dagger_config);
    let run_config =
        RunConfig { algorithm: algorithm.into(), scenario: args.scenario, demos: args.demos, bc: bc_config, dagger };
    run::save(&args.out, &run_config, &env, &policy, &metrics)?;
    eprintln!("trained {algorithm} on {count} demonstration episodes; run saved in {}", args.out.display());
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
