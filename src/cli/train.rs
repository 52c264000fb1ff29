//! `apprentice train` and `apprentice eval`: learn a policy from demonstrations, and measure it.

use super::output::{json_line, progress};
use crate::learn::artifact::PolicyArtifact;
use crate::learn::device::{DeviceChoice, select_device};
use crate::learn::eval::evaluate;
use crate::learn::metrics;
use crate::learn::registry::{self, Entry};
use crate::learn::run::{self, RunConfig};
use crate::learn::sink::{self, Next, RunSink};
use crate::learn::trainer::{Command, Event, Trainer};
use crate::sim::{Policy, ScenarioEnv};
use anyhow::{Context, bail};
use clap::{ArgMatches, Args, FromArgMatches};
use std::path::PathBuf;

/// `apprentice train <algorithm>`: one subcommand per entry of the algorithm registry.
#[derive(Debug)]
pub struct Train {
    pub entry: &'static Entry,
    pub args: TrainArgs,
}

/// The subcommand's help: the entry's summary and what it learns from.
fn about(entry: &Entry) -> String {
    let n = entry.needs;
    let from = match (n.demos, n.reward, n.expert) {
        (true, _, true) => "from --demos and the scenario's scripted expert",
        (true, true, _) => "from --demos and the scenario's reward",
        (true, false, _) => "from --demos",
        (false, _, _) => "from the scenario's reward",
    };
    let init = if n.init { "; --init RUN starts from a pretrained policy" } else { "" };
    let reward = if n.learned_reward { "; --reward RUN optimizes a run's learned reward instead" } else { "" };
    format!("{} (learns {from}{init}{reward})", entry.summary)
}

impl FromArgMatches for Train {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Train, clap::Error> {
        let (name, sub) =
            matches.subcommand().ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingSubcommand))?;
        let entry = registry::entry(name).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
        Ok(Train { entry, args: TrainArgs::from_arg_matches(sub)? })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Train::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Subcommand for Train {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        registry::ALGORITHMS.iter().fold(cmd.subcommand_required(true), |cmd, e| {
            let sub = clap::Command::new(e.name).about(about(e)).visible_aliases(registry::aliases_of(e.name));
            cmd.subcommand(TrainArgs::augment_args(sub))
        })
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Train::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        registry::entry(name).is_some()
    }
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Built-in name or path of a `.ron` scenario (over the `--config` file's).
    #[arg(long, required_unless_present_any = ["resume", "config"])]
    scenario: Option<String>,
    /// Dataset directory (behaviour cloning, DAgger and the hybrids).
    #[arg(long)]
    demos: Option<PathBuf>,
    /// Start the actor from this run's policy (pretraining, e.g. BC, then RL finetuning).
    #[arg(long, value_name = "RUN")]
    init: Option<PathBuf>,
    /// Optimize this run's learned reward (from gail, airl or gcl) instead of the scenario's;
    /// evaluation still reports the scenario's return.
    #[arg(long, value_name = "RUN")]
    reward: Option<PathBuf>,
    /// Who labels states (DAgger) and sets evaluation's expert fraction: the scenario's
    /// scripted expert, or the sampling planner on the true simulator (any scenario).
    #[arg(long, value_enum)]
    expert: Option<ExpertChoice>,
    /// Run directory to write.
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// A config.toml to start from: a previous run's, or any part of one (say a
    /// `[hyperparameters]` table with the values to change; the rest keep their defaults).
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
    /// seeded episodes (from seed 2,000,000, clear of `eval`'s), between steps (not counted
    /// in `time/seconds`); logged as `eval/*`.
    #[arg(long, value_name = "K", default_value_t = 0)]
    eval_every: usize,
    #[arg(long, default_value_t = 10, value_parser = super::output::at_least_one)]
    eval_episodes: usize,
    /// Stop as soon as an evaluation's mean return reaches R, and report the environment
    /// steps and training seconds it took (needs `--eval-every`).
    #[arg(long, value_name = "R", requires = "eval_every", allow_negative_numbers = true)]
    solve_at: Option<f64>,
    /// Print the final report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpertChoice {
    Scripted,
    Planner,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Safetensors,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Run directory, or `planner` for the sampling planner on the true simulator (give
    /// `--scenario`).
    #[arg(long)]
    policy: PathBuf,
    /// Scenario to evaluate on (default: the run's).
    #[arg(long)]
    scenario: Option<String>,
    #[arg(long, default_value_t = 50, value_parser = super::output::at_least_one)]
    episodes: usize,
    /// Episode k starts from seed `seed + k` (the default keeps clear of demo seeds).
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    /// Sample actions from the policy's distribution instead of taking its mode.
    #[arg(long)]
    sample: bool,
    /// Also write the policy's episodes (the same seeds, every state labelled by the scripted
    /// expert) as a dataset here, to replay, inspect or export like demonstrations.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
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
            Some(path) => run::config_from_file(path, algorithm, args.scenario.as_deref())?,
            None => {
                let scenario = args.scenario.as_deref().expect("clap requires --scenario or --config");
                RunConfig::new(algorithm, scenario, PathBuf::new())?
            }
        };
        if let Some(demos) = &args.demos {
            base.demos = demos.clone();
        }
        if args.init.is_some() {
            base.init = args.init.clone();
        }
        if args.reward.is_some() {
            base.reward = args.reward.clone();
        }
        if let Some(expert) = args.expert {
            base.planner_expert = expert == ExpertChoice::Planner;
        }
        (base, out)
    };
    if config.algorithm != algorithm {
        bail!("{} is a {} run, not {algorithm}", out.display(), config.algorithm);
    }
    if config.uses_demos() && config.demos.as_os_str().is_empty() {
        bail!("{algorithm} learns from demonstrations: give their dataset directory with --demos");
    }
    if let Some(set) = config.apply(&args.set)?.first() {
        bail!("--set {set}: no such hyperparameter (known: {})", config.field_names().join(", "));
    }
    Ok((config, out))
}

pub fn train(command: Train) -> anyhow::Result<()> {
    let Train { entry, args } = command;
    let algorithm = entry.name;
    if args.resume.is_some() && !entry.needs.resume {
        bail!("{algorithm} runs cannot be resumed (--resume); start a new run");
    }
    let (mut config, out) = run_config(algorithm, &args)?;
    let env = config.env()?;
    // An algorithm that needs demonstrations gets them; another takes them only when given.
    let with_demos = config.uses_demos() || !config.demos.as_os_str().is_empty();
    let episodes = if with_demos { demonstrations(&mut config, &env)? } else { Vec::new() };
    let count = episodes.len();
    let device = select_device(args.device)?;
    eprintln!("device: {}", device.description);
    let resumed = match &args.resume {
        Some(dir) => Some(metrics::last_row(&dir.join("metrics.csv"))?),
        None => None,
    };
    let mut sink = RunSink::create(&out, &config, &env, resumed.is_some())?;
    if let Some(target) = args.solve_at {
        sink = sink.solve_at(target, &config);
    }
    sink.export = matches!(args.export, Some(ExportFormat::Safetensors));
    let budget = (entry.budget)(&config.hyperparameters)?;
    let bar = progress(budget.total as u64, &format!("train {algorithm}"));
    let make = {
        let (config, env, out) = (config.clone(), env.fork(), out.clone());
        move || run::algorithm(&config, &env, episodes, &device.device, &out, resumed)
    };
    let evaluation = (args.eval_every > 0).then(|| (args.eval_every, sink::evaluation(&env, args.eval_episodes)));
    let trainer = Trainer::spawn_evaluated(make, 1, evaluation);
    let headline = entry.headline();
    let mut reached = Reached::new(headline);
    while let Some(event) = trainer.next_event() {
        if let Event::Metrics(m) = &event {
            bar.set_position(budget.position(m.step, |name| m.value(name)) as u64);
            bar.set_message(format!("train {algorithm}: {headline} {:.4}", m.value(headline)));
            reached.take(m);
        }
        match sink.handle(&event)? {
            Next::Continue => {}
            Next::Stop => trainer.send(Command::Stop),
            Next::Finished(_) => break,
            Next::Failed(e) => {
                bar.finish_and_clear();
                bail!("{e} (the last good checkpoint, if any, stays in {})", out.display());
            }
        }
    }
    bar.finish_and_clear();
    if let Some(path) = &sink.exported {
        eprintln!("exported {}", path.display());
    }
    let on = if count > 0 { format!(" on {count} demonstration episodes") } else { String::new() };
    eprintln!("trained {algorithm}{on} {reached}; run saved in {}", out.display());
    if let Some(s) = sink.solved {
        if args.json {
            json_line(&s)?;
        } else if s.solved {
            println!(
                "solved: eval return {:.1} at step {} after {:.2} s of training",
                s.eval_return_mean, s.step, s.seconds
            );
        } else {
            println!("not solved within the budget");
        }
    }
    Ok(())
}

/// What a run's closing line reports: its training time and the latest value of its
/// returns (evaluated, then in its own rollouts) and of its headline metric.
struct Reached {
    latest: Vec<(&'static str, f64)>,
    seconds: f64,
}

impl Reached {
    fn new(headline: &'static str) -> Reached {
        let mut names = vec!["eval/return_mean", "rollout/return_mean"];
        if !names.contains(&headline) {
            names.push(headline);
        }
        Reached { latest: names.into_iter().map(|name| (name, f64::NAN)).collect(), seconds: 0.0 }
    }

    fn take(&mut self, row: &crate::learn::trainer::Metrics) {
        let finite = |name: &str| Some(row.value(name)).filter(|v| v.is_finite());
        for (name, value) in &mut self.latest {
            *value = finite(name).unwrap_or(*value);
        }
        self.seconds = finite("time/seconds").unwrap_or(self.seconds);
    }
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.latest.iter().filter(|(_, v)| v.is_finite());
        let values: Vec<String> =
            shown.map(|(n, v)| format!("{n} {v:.*}", if n.contains("return") { 1 } else { 4 })).collect();
        write!(f, "in {:.1} s ({})", self.seconds, values.join(", "))
    }
}

/// The run's demonstration episodes (those the dataset's curation includes), checked
/// against the scenario; the config records which.
fn demonstrations(config: &mut RunConfig, env: &ScenarioEnv) -> anyhow::Result<Vec<crate::data::Episode>> {
    let loaded = run::demonstrations(config, env)?;
    loaded.notes.iter().for_each(|m| eprintln!("warning: {m}"));
    Ok(loaded.episodes)
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let (env, policy) = evaluated(&args.policy, args.scenario.as_deref(), args.sample)?;
    let bar = progress(args.episodes as u64, "eval");
    let report = evaluate_loaded(&args.policy, &env, &*policy, args.episodes, args.seed, &|| bar.inc(1));
    bar.finish_and_clear();
    let report = report?;
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
        if !report.failed_seeds.is_empty() {
            // A few seeds to replay; all of them are in --json.
            let shown: Vec<String> = report.failed_seeds.iter().take(8).map(u64::to_string).collect();
            let more = if report.failed_seeds.len() > shown.len() { ", … (all in --json)" } else { "" };
            let (failed, of) = (report.failed_seeds.len(), report.episodes);
            println!("  failed {failed} of {of} episodes, from seeds {}{more}", shown.join(", "));
        }
    }
    if let Some(out) = &args.record {
        record(&args, &env, &*policy, out)?;
    }
    Ok(())
}

/// Records the evaluated policy's episodes into the dataset `out`.
fn record(
    args: &EvalArgs,
    env: &ScenarioEnv,
    policy: &dyn PolicyArtifact,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let dataset = super::demos::open(out)?;
    let bar = progress(args.episodes as u64, "record");
    let device = format!("policy {}", args.policy.display());
    let make = || policy.boxed() as Box<dyn Policy>;
    let ids = crate::data::ops::record_policy(env, &make, &device, args.episodes, args.seed, &dataset, &|| bar.inc(1));
    bar.finish_and_clear();
    eprintln!("wrote {} episodes to {}", ids?.len(), out.display());
    Ok(())
}

/// The scenario (`scenario`, or the run's) and the loaded policy of the run in `dir`, sampling
/// from its distribution with `sample`.
fn evaluated(
    dir: &std::path::Path,
    scenario: Option<&str>,
    sample: bool,
) -> anyhow::Result<(ScenarioEnv, Box<dyn PolicyArtifact>)> {
    let config = run::load_config(dir);
    let scenario = match (scenario, &config) {
        (Some(s), _) => s.to_string(),
        (None, config) => config.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?.scenario.clone(),
    };
    let env = ScenarioEnv::load(&scenario)?;
    // The run's expert is evaluation's reference too.
    let env = if config.is_ok_and(|c| c.planner_expert) { env.with_planner_expert() } else { env };
    let mut policy = run::load_policy(dir, &env)?;
    policy.set_sampling(sample);
    Ok((env, policy))
}

/// Evaluates the policy of the run in `dir` (or the planner, `planner`) on `episodes` seeded
/// episodes of `scenario` (default: the run's) against the run's expert and random play.
pub fn evaluate_run(
    dir: &std::path::Path,
    scenario: Option<&str>,
    episodes: usize,
    seed: u64,
    sample: bool,
    on_episode: &(dyn Fn() + Sync),
) -> anyhow::Result<crate::learn::eval::EvalReport> {
    let (env, policy) = evaluated(dir, scenario, sample)?;
    evaluate_loaded(dir, &env, &*policy, episodes, seed, on_episode)
}

/// Evaluates a loaded `policy` (of the run in `dir`) on `env`.
fn evaluate_loaded(
    dir: &std::path::Path,
    env: &ScenarioEnv,
    policy: &dyn PolicyArtifact,
    episodes: usize,
    seed: u64,
    on_episode: &(dyn Fn() + Sync),
) -> anyhow::Result<crate::learn::eval::EvalReport> {
    let report = evaluate(env, &|| policy.boxed() as Box<dyn Policy>, episodes, seed, on_episode);
    report.with_context(|| format!("evaluating the policy of run {}", dir.display()))
}
