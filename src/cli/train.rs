//! `apprentice train` and `apprentice eval`: learn a policy from demonstrations, and measure it.

use super::output::{json_line, progress};
use crate::data::Dataset;
use crate::learn::device::{DeviceChoice, select_device};
use crate::learn::eval::evaluate;
use crate::learn::metrics::{self, MetricsWriter};
use crate::learn::rl::RlConfig;
use crate::learn::run::{self, RunConfig};
use crate::learn::policy::MlpPolicy;
use crate::learn::trainer::{Command, Evaluation, Event, Trainer};
use crate::sim::rollout::{rollouts, summarize};
use crate::sim::{Policy, ScenarioEnv};
use anyhow::bail;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum Train {
    /// Behaviour cloning from a demonstration dataset.
    Bc(TrainArgs),
    /// DAgger: behaviour cloning, then rounds of expert-labeled rollouts of the learner.
    /// The aggregated data is written to RUN/dataset.
    Dagger(TrainArgs),
    /// REINFORCE: policy gradient on reward-to-go with a learned baseline, from reward.
    Reinforce(TrainArgs),
    /// Proximal policy optimization: learns from the scenario's reward, no demonstrations
    /// (`--init RUN` finetunes a pretrained policy).
    Ppo(TrainArgs),
    /// Deep Q-learning (double Q, replay buffer, target network) for discrete actions, from reward.
    Dqn(TrainArgs),
    /// Soft actor-critic for continuous actions, from reward (`--init RUN` finetunes a
    /// pretrained tanh-Gaussian policy).
    Sac(TrainArgs),
    /// TD3 (twin critics, delayed deterministic actor, target smoothing) for continuous actions.
    Td3(TrainArgs),
    /// DAPG: PPO plus a decaying behaviour-cloning term on the demonstrations.
    Dapg(TrainArgs),
    /// SACfD: SAC with demonstrations in every replay batch.
    Sacfd(TrainArgs),
    /// DQfD: DQN with demonstrations, pretraining on them, a large-margin loss and n-step returns.
    Dqfd(TrainArgs),
    /// Advantage-weighted regression: offline RL on the demonstrations' rewards.
    Awr(TrainArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[arg(long, required_unless_present = "resume")]
    scenario: Option<String>,
    /// Dataset directory (behaviour cloning, DAgger and the hybrids).
    #[arg(long)]
    demos: Option<PathBuf>,
    /// Start the actor from this run's policy (pretraining, e.g. BC, then RL finetuning).
    #[arg(long, value_name = "RUN")]
    init: Option<PathBuf>,
    /// Run directory to write.
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// A config.toml to start from (for example a previous run's).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one hyperparameter, e.g. `--set lr=0.0003 --set policy.hidden=[128,128]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// auto (a real GPU if there is one, else the CPU), gpu (wgpu) or cpu (flex).
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Continue the behaviour-cloning run in this directory from its last checkpoint
    /// (its config, demos and metrics; `--set epochs=N` to train longer).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["scenario", "demos", "out", "config"])]
    resume: Option<PathBuf>,
    /// Also write the final policy for other tools: `safetensors` writes RUN/export.safetensors
    /// (weights, with the architecture and normalizer as JSON metadata).
    #[arg(long, value_name = "FORMAT")]
    export: Option<ExportFormat>,
    /// Evaluate the policy every K log steps (epochs, rounds, updates) on `--eval-episodes`
    /// seeded episodes, between steps (not counted in `time/seconds`); logged as `eval/*`.
    #[arg(long, value_name = "K", default_value_t = 0)]
    eval_every: usize,
    #[arg(long, default_value_t = 10)]
    eval_episodes: usize,
    /// Stop as soon as an evaluation's mean return reaches R, and report the environment
    /// steps and training seconds it took (needs `--eval-every`).
    #[arg(long, value_name = "R", requires = "eval_every", allow_negative_numbers = true)]
    solve_at: Option<f64>,
    /// Print the final report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// How a run with `--solve-at` ended.
#[derive(Debug, serde::Serialize)]
struct Solved {
    algorithm: String,
    scenario: String,
    solved: bool,
    /// The log step of the solving evaluation (environment steps for RL algorithms).
    step: usize,
    /// Training time up to it.
    seconds: f64,
    eval_return_mean: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Safetensors,
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
    /// Sample actions from the policy's distribution instead of taking its mode.
    #[arg(long)]
    sample: bool,
    #[arg(long)]
    json: bool,
}

/// The run's configuration: a resumed run's own, a given file, or the defaults, with `--set`.
fn run_config(algorithm: &str, args: &TrainArgs) -> anyhow::Result<(RunConfig, PathBuf)> {
    let (mut config, out) = if let Some(dir) = &args.resume {
        (run::load_config(dir)?, dir.clone())
    } else {
        let out = args.out.clone().expect("clap requires --out without --resume");
        let mut base = match &args.config {
            Some(path) => toml::from_str(&std::fs::read_to_string(path)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            None => {
                let scenario = args.scenario.clone().expect("clap requires --scenario");
                RunConfig::new(algorithm, &scenario, PathBuf::new()).map_err(anyhow::Error::msg)?
            }
        };
        if let Some(demos) = &args.demos {
            base.demos = demos.clone();
        }
        if args.init.is_some() {
            base.init = args.init.clone();
        }
        (base, out)
    };
    if config.algorithm != algorithm {
        bail!("{} is a {} run, not {algorithm}", out.display(), config.algorithm);
    }
    if config.uses_demos() && config.demos.as_os_str().is_empty() {
        bail!("{algorithm} learns from demonstrations: give their dataset directory with --demos");
    }
    if let Some(set) = config.apply(&args.set).map_err(anyhow::Error::msg)?.first() {
        bail!("--set {set}: no such hyperparameter (known: {})", config.field_names().join(", "));
    }
    Ok((config, out))
}

pub fn train(command: Train) -> anyhow::Result<()> {
    let (algorithm, args) = match command {
        Train::Bc(args) => ("bc", args),
        Train::Dagger(args) => ("dagger", args),
        Train::Reinforce(args) => ("reinforce", args),
        Train::Ppo(args) => ("ppo", args),
        Train::Dqn(args) => ("dqn", args),
        Train::Sac(args) => ("sac", args),
        Train::Td3(args) => ("td3", args),
        Train::Dapg(args) => ("dapg", args),
        Train::Sacfd(args) => ("sacfd", args),
        Train::Dqfd(args) => ("dqfd", args),
        Train::Awr(args) => ("awr", args),
    };
    if args.resume.is_some() && algorithm != "bc" {
        bail!("--resume continues behaviour-cloning runs; a DAgger run restarts from its RUN/dataset");
    }
    let (config, out) = run_config(algorithm, &args)?;
    let env = ScenarioEnv::load(&config.scenario)?;
    // The hybrids need demonstrations; a pure RL run takes them only when given.
    let with_demos = config.uses_demos() || !config.demos.as_os_str().is_empty();
    let episodes = if with_demos { demonstrations(&config, &env)? } else { Vec::new() };
    let count = episodes.len();
    let device = select_device(args.device)?;
    eprintln!("device: {}", device.description);
    run::save_config(&out, &config)?;
    let metrics_path = out.join("metrics.csv");
    let resumed = match &args.resume {
        Some(_) => Some(metrics::last_row(&metrics_path)?),
        None => {
            // A fresh run starts a fresh log.
            let _ = std::fs::remove_file(&metrics_path);
            None
        }
    };
    let mut metrics = MetricsWriter::open(&metrics_path)?;
    // Progress in the algorithm's own units; RL counts environment steps (its log step).
    let (units, unit, shown) = match (&config.dagger, &config.rl) {
        (_, Some(RlConfig::Awr(a))) => (a.iterations as u64, "iteration", "train/policy_loss"),
        (_, Some(rl)) => (rl.total_steps() as u64, "", "rollout/return_mean"),
        (Some(d), _) => (d.rounds as u64 + 1, "round", "val/loss"),
        _ => (config.bc.epochs as u64, "epoch", "val/loss"),
    };
    let bar = progress(units, &format!("train {algorithm}"));
    let make = {
        let (config, env, out) = (config.clone(), env.fork(), out.clone());
        move || run::algorithm(&config, &env, episodes, &device.device, &out, resumed)
    };
    let evaluation = (args.eval_every > 0).then(|| (args.eval_every, evaluation(&env, args.eval_episodes)));
    let trainer = Trainer::spawn_evaluated(make, 1, evaluation);
    let mut solved = args.solve_at.map(|_| Solved {
        algorithm: algorithm.into(),
        scenario: config.scenario.clone(),
        solved: false,
        step: 0,
        seconds: f64::NAN,
        eval_return_mean: f64::NAN,
    });
    let mut kept = None;
    while let Some(event) = trainer.next_event() {
        match event {
            Event::Metrics(m) => {
                metrics.write(&m)?;
                let value = |name| m.values.iter().find(|(n, _)| *n == name).map_or(f64::NAN, |(_, v)| *v);
                if let (Some(target), Some(s)) = (args.solve_at, &mut solved)
                    && !s.solved
                {
                    // Until solved, the report follows the run (its end if it never is).
                    let eval = value("eval/return_mean");
                    (s.step, s.seconds) = (m.step, value("time/seconds"));
                    if eval.is_finite() {
                        s.eval_return_mean = eval;
                    }
                    if eval >= target {
                        s.solved = true;
                        trainer.send(Command::Stop);
                    }
                }
                bar.set_position(if unit.is_empty() { m.step as u64 } else { value(unit) as u64 + 1 });
                bar.set_message(format!("train {algorithm}: {shown} {:.4}", value(shown)));
            }
            Event::Changed { key, value, .. } => metrics.note(format!("{key}={value}")),
            Event::Snapshot { step, policy } => {
                run::save_policy(&out, &env, &policy)?;
                // The snapshot right after the solving evaluation is the policy it evaluated.
                if solved.as_ref().is_some_and(|s| s.solved && s.step == step) && kept.is_none() {
                    kept = Some(policy);
                }
            }
            Event::Finished { policy } => {
                // A solved run keeps the policy that solved it, not the one the stop found.
                if let Some(policy) = kept.take().or(policy) {
                    run::save_policy(&out, &env, &policy)?;
                    if let Some(ExportFormat::Safetensors) = args.export {
                        eprintln!("exported {}", run::export_safetensors(&out, &env, &policy)?.display());
                    }
                }
                break;
            }
            Event::Error(e) => {
                bar.finish_and_clear();
                bail!("{e} (the last good checkpoint, if any, stays in {})", out.display());
            }
            Event::Refused { .. } | Event::Paused | Event::Resumed => {}
        }
    }
    bar.finish_and_clear();
    if count > 0 {
        eprintln!("trained {algorithm} on {count} demonstration episodes; run saved in {}", out.display());
    } else {
        eprintln!("trained {algorithm}; run saved in {}", out.display());
    }
    if let Some(s) = solved {
        if args.json {
            json_line(&s)?;
        } else if s.solved {
            println!("solved: eval return {:.1} at step {} after {:.2} s of training", s.eval_return_mean, s.step, s.seconds);
        } else {
            println!("not solved within the budget");
        }
    }
    Ok(())
}

/// Mean return and success rate of a policy on `episodes` seeded episodes (seeds clear of
/// demonstration seeds), run between training steps.
fn evaluation(env: &ScenarioEnv, episodes: usize) -> Evaluation {
    let env = env.fork();
    Box::new(move |policy: &MlpPolicy| {
        let stats = rollouts(&env, &|| Box::new(policy.clone()) as Box<dyn Policy>, episodes, 1_000_000, &|_| {});
        let summary = summarize(&stats);
        (summary.return_mean, summary.success_rate)
    })
}

/// The run's demonstration episodes, checked against the scenario.
fn demonstrations(config: &RunConfig, env: &ScenarioEnv) -> anyhow::Result<Vec<crate::data::Episode>> {
    let (dataset, recovered) = Dataset::existing(&config.demos)?;
    recovered.iter().for_each(|m| eprintln!("{m}"));
    let loaded = dataset.load(Some(env))?;
    if let Some(w) = loaded.warning() {
        eprintln!("warning: {w}");
    }
    Ok(loaded.episodes.into_iter().map(|e| e.episode).collect())
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let scenario = match args.scenario {
        Some(s) => s,
        None => run::load_config(&args.policy)?.scenario,
    };
    let env = ScenarioEnv::load(&scenario)?;
    let mut policy = run::load_policy(&args.policy, &env)?;
    policy.sampling = args.sample;
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
