//! `apprentice bench`: speed measurements (release builds give the numbers worth quoting).

use super::output::{json_line, progress};
use crate::data::ops::{Generator, record_episode};
use crate::learn::bc::{BcConfig, BcTrainer};
use crate::learn::device::{DeviceChoice, select_device};
use crate::sim::{Env, ScenarioEnv, VecEnv};
use anyhow::Context;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Environment steps per second of a VecEnv under random actions.
    Sim(SimArgs),
    /// How many times faster N environments step than one: runs of one and of N alternate,
    /// so a machine whose speed drifts slows both alike; medians and the spread of the pairs.
    /// Each pair also times the ceiling: the same environments split over the same threads,
    /// which step their shares without ever waiting for each other.
    Scaling(ScalingArgs),
    /// Behaviour-cloning samples per second (8-64-64-2 MLP, Adam, MSE) at batch 64, 256 and
    /// 4096, and the latency of acting on one observation.
    Train(TrainArgs),
    /// How long a run's policy (any kind) takes to choose one action, acting through whole
    /// episodes of its scenario: a chunked policy's sampling is amortized over its chunk.
    Policy(PolicyArgs),
    /// How long the sampling planner (MPC on the true simulator) takes per action on one
    /// core, and how well it does, over whole episodes.
    Planner(PlannerArgs),
    /// Frame rate of the app's real window while the expert drives and a BC run trains
    /// (needs a display; `xvfb-run` provides one).
    #[cfg(feature = "gui")]
    App(super::app::BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// auto (a real GPU if there is one, else the CPU), gpu (wgpu) or cpu (flex).
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Seconds of training measured per batch size.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Batch sizes to measure, in order (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "64,256,4096")]
    batches: Vec<usize>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// The run directory whose policy to time.
    #[arg(long)]
    policy: PathBuf,
    /// Actions timed (after a warm-up episode).
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PolicyResult {
    kind: String,
    scenario: String,
    steps: usize,
    /// Mean wall-clock time of one action, physics excluded.
    ms_per_action: f64,
    /// The slowest action (a chunk being sampled).
    ms_max: f64,
    /// The scenario's control period, for comparison.
    control_period_ms: f64,
}

/// Times `act` on the states of episodes the policy itself drives.
fn policy(args: PolicyArgs) -> anyhow::Result<()> {
    let config = crate::learn::run::load_config(&args.policy)?;
    let mut env = ScenarioEnv::load(&config.scenario)?;
    let mut policy = crate::learn::run::load_policy(&args.policy, &env)?;
    let (mut timed, mut total, mut slowest, mut seed) = (0usize, 0.0f64, 0.0f64, 0u64);
    let warm_up = env.scenario().max_steps as usize;
    let mut taken = 0usize;
    let bar = progress(args.steps as u64, "bench policy");
    while timed < args.steps {
        let mut obs = env.reset(seed);
        policy.reset(seed);
        seed += 1;
        loop {
            let start = Instant::now();
            let action = policy.act_obs(&obs);
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            taken += 1;
            if taken > warm_up {
                (timed, total, slowest) = (timed + 1, total + ms, slowest.max(ms));
                bar.set_position(timed as u64);
            }
            let step = env.step(&action)?;
            if step.done() || timed >= args.steps {
                break;
            }
            obs = step.obs;
        }
    }
    bar.finish_and_clear();
    let result = PolicyResult {
        kind: policy.kind().into(),
        scenario: env.scenario().name.clone(),
        steps: timed,
        ms_per_action: total / timed.max(1) as f64,
        ms_max: slowest,
        control_period_ms: env.scenario().timestep as f64 * 1000.0,
    };
    report(&result, args.json, || {
        format!(
            "{} policy on {}: {:.3} ms per action (slowest {:.3} ms) over {} actions; control period {:.0} ms",
            result.kind, result.scenario, result.ms_per_action, result.ms_max, result.steps, result.control_period_ms
        )
    })
}

#[derive(Debug, clap::Args)]
pub struct PlannerArgs {
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value_t = 5, value_parser = super::output::at_least_one)]
    episodes: usize,
    /// Episode k starts from seed `seed + k`.
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    /// Override one planner setting, e.g. `--set samples=64` (default: the scenario's
    /// `Planner(...)`, or the planner's defaults).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PlannerResult {
    scenario: String,
    planner: crate::sim::planner::PlannerConfig,
    /// Simulated steps per action: samples × iterations × horizon (fewer where rollouts end).
    budget_steps: usize,
    actions: usize,
    ms_per_action: f64,
    ms_max: f64,
    control_period_ms: f64,
    return_mean: f64,
    success_rate: f64,
}

/// The planner's settings for `env` (its `Planner(...)`, or the defaults) with `--set` overrides.
fn planner_config(env: &ScenarioEnv, set: &[String]) -> anyhow::Result<crate::sim::planner::PlannerConfig> {
    let mut table = toml::Table::try_from(env.scenario().planner_settings())?;
    for kv in set {
        let (key, value) = kv.split_once('=').with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
        if !table.contains_key(key) {
            let known: Vec<&String> = table.keys().collect();
            anyhow::bail!("--set {kv}: the planner has no setting `{key}` (known: {known:?})");
        }
        // A TOML value (number, boolean), or else the text itself (`method=cem`).
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}")).ok().and_then(|mut t| t.remove("v"));
        table.insert(key.to_string(), parsed.unwrap_or_else(|| toml::Value::String(value.to_string())));
    }
    table.try_into().map_err(|e| anyhow::anyhow!("--set: {e}"))
}

/// Times the planner driving whole episodes, on this thread (one core).
fn planner(args: PlannerArgs) -> anyhow::Result<()> {
    use crate::sim::Policy;
    use crate::sim::planner::Planner;
    let mut env = ScenarioEnv::load(&args.scenario)?;
    let config = planner_config(&env, &args.set)?;
    let mut planner = Planner::new(config.clone());
    let (mut actions, mut total, mut slowest, mut returns, mut successes) = (0usize, 0.0f64, 0.0f64, 0.0f64, 0usize);
    let bar = progress(args.episodes as u64, "bench planner");
    for k in 0..args.episodes as u64 {
        let mut obs = env.reset(args.seed + k);
        planner.reset(args.seed + k);
        let mut success = false;
        loop {
            let start = Instant::now();
            let action = planner.act(&env, &obs);
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            (actions, total, slowest) = (actions + 1, total + ms, slowest.max(ms));
            let step = env.step(&action)?;
            returns += step.reward as f64;
            success |= step.success;
            if step.done() {
                break;
            }
            obs = step.obs;
        }
        successes += usize::from(success);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let episodes = args.episodes as f64;
    let result = PlannerResult {
        scenario: env.scenario().name.clone(),
        budget_steps: config.samples * config.iterations * config.horizon,
        planner: config,
        actions,
        ms_per_action: total / actions.max(1) as f64,
        ms_max: slowest,
        control_period_ms: env.scenario().timestep as f64 * 1000.0,
        return_mean: returns / episodes,
        success_rate: successes as f64 / episodes,
    };
    report(&result, args.json, || {
        format!(
            "planner on {}: {:.2} ms per action (slowest {:.2} ms, {} simulated steps each), return {:.1}, success {:.0}% over {} episodes",
            result.scenario,
            result.ms_per_action,
            result.ms_max,
            result.budget_steps,
            result.return_mean,
            result.success_rate * 100.0,
            args.episodes
        )
    })
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Environments stepped in parallel.
    #[arg(long, default_value_t = 1, value_parser = super::output::at_least_one)]
    envs: usize,
    /// Total environment steps (over all environments).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScalingArgs {
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Environments of the parallel runs.
    #[arg(long, default_value_t = 64, value_parser = super::output::at_least_one)]
    envs: usize,
    /// Environment steps per run.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,
    /// Runs of each kind.
    #[arg(long, default_value_t = 10, value_parser = super::output::at_least_one)]
    pairs: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ScalingResult {
    scenario: String,
    envs: usize,
    pairs: usize,
    /// Threads the parallel runs step on (one per core, at most one per environment).
    threads: usize,
    /// Medians over the runs.
    single_steps_per_sec: f64,
    parallel_steps_per_sec: f64,
    /// Median, lowest and highest of the pairs' ratios (parallel / single).
    speedup: f64,
    speedup_min: f64,
    speedup_max: f64,
    /// Median over the runs of the same environments split over the same threads, each thread
    /// stepping its share on its own without ever waiting for the others.
    unsynchronized_steps_per_sec: f64,
    /// Median ratio unsynchronized / single: what this machine gives for this work when no
    /// thread waits, the ceiling for `VecEnv`'s lockstep rounds.
    ceiling: f64,
    /// speedup / ceiling: the share of the machine's ceiling that `VecEnv` reaches.
    efficiency: f64,
}

#[derive(Serialize)]
struct SimResult {
    scenario: String,
    envs: usize,
    steps: u64,
    threads: usize,
    seconds: f64,
    steps_per_sec: f64,
}

pub fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Sim(args) => sim(args),
        Bench::Scaling(args) => scaling(args),
        Bench::Train(args) => train(args),
        Bench::Policy(args) => policy(args),
        Bench::Planner(args) => planner(args),
        #[cfg(feature = "gui")]
        Bench::App(args) => super::app::bench(args),
    }
}

fn sim(args: SimArgs) -> anyhow::Result<()> {
    let env = ScenarioEnv::load(&args.scenario)?;
    let name = env.scenario().name.clone();
    let (steps, seconds) = time_steps(
        VecEnv::new(env, args.envs, args.seed),
        args.steps,
        args.seed,
        progress(0, &format!("bench sim {name}")),
        None,
    )?;
    let result = SimResult {
        scenario: name,
        envs: args.envs,
        steps,
        threads: stepping_threads(args.envs),
        seconds,
        steps_per_sec: steps as f64 / seconds,
    };
    report(&result, args.json, || {
        format!(
            "{}: {} envs, {} steps in {:.2} s: {:.0} steps/s",
            result.scenario, result.envs, steps, seconds, result.steps_per_sec
        )
    })
}

fn scaling(args: ScalingArgs) -> anyhow::Result<()> {
    let env = ScenarioEnv::load(&args.scenario)?;
    let name = env.scenario().name.clone();
    let pairs = args.pairs;
    let threads = stepping_threads(args.envs);
    let (mut single, mut parallel, mut unsynchronized) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratios, mut ceilings) = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        let label = |what: String| format!("bench scaling {name}: pair {}/{pairs}, {what}", pair + 1);
        let speed = |n: usize| -> anyhow::Result<f64> {
            let bar = progress(0, &label(format!("{n} envs")));
            let (steps, seconds) =
                time_steps(VecEnv::new(env.clone(), n, args.seed), args.steps, args.seed, bar, None)?;
            Ok(steps as f64 / seconds)
        };
        let (one, many) = (speed(1)?, speed(args.envs)?);
        let apart = unsynchronized_speed(&env, &args, threads, &label(format!("{} envs, unsynchronized", args.envs)))?;
        single.push(one);
        parallel.push(many);
        unsynchronized.push(apart);
        ratios.push(many / one);
        ceilings.push(apart / one);
    }
    let (speedup, ceiling) = (median(&mut ratios), median(&mut ceilings));
    let result = ScalingResult {
        scenario: name,
        envs: args.envs,
        pairs,
        threads,
        single_steps_per_sec: median(&mut single),
        parallel_steps_per_sec: median(&mut parallel),
        speedup,
        speedup_min: ratios[0],
        speedup_max: ratios[pairs - 1],
        unsynchronized_steps_per_sec: median(&mut unsynchronized),
        ceiling,
        efficiency: speedup / ceiling,
    };
    report(&result, args.json, || {
        format!(
            "{}: 1 env {:.0} steps/s, {} envs {:.0} steps/s (medians): {:.2}× (pairs {:.2}–{:.2}×); \
             the same split over {} threads that never wait: {:.2}×, so the lockstep keeps {:.0}% of that",
            result.scenario,
            result.single_steps_per_sec,
            result.envs,
            result.parallel_steps_per_sec,
            result.speedup,
            result.speedup_min,
            result.speedup_max,
            result.threads,
            result.ceiling,
            100.0 * result.efficiency
        )
    })
}

/// The run's environments split over `threads` threads that never wait for each other:
/// each steps its share on its own, started together; all their steps over the slowest
/// thread's time.
fn unsynchronized_speed(env: &ScenarioEnv, args: &ScalingArgs, threads: usize, label: &str) -> anyhow::Result<f64> {
    let share = |t: usize| args.envs * t / threads;
    let start_line = Barrier::new(threads);
    let runs = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..threads)
            .map(|t| {
                // One bar for all: the threads run side by side at about the same pace.
                let bar = if t == 0 { progress(0, label) } else { ProgressBar::hidden() };
                let envs = VecEnv::with_threads(env.fork(), share(t + 1) - share(t), args.seed + t as u64, 1);
                let start_line = &start_line;
                let steps = args.steps / threads as u64;
                scope.spawn(move || time_steps(envs, steps, args.seed + t as u64, bar, Some(start_line)))
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<anyhow::Result<Vec<(u64, f64)>>>()
    })?;
    let steps: u64 = runs.iter().map(|(steps, _)| steps).sum();
    Ok(steps as f64 / runs.iter().map(|&(_, seconds)| seconds).fold(0.0, f64::max))
}

/// Threads a `VecEnv` of `envs` (at least 1, as clap checks) environments steps on: one per
/// core, at most one per environment.
fn stepping_threads(envs: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get()).min(envs)
}

/// Middle value (sorts `values`).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Steps `vec_env` under random actions for about `steps` steps in all, after an untimed
/// warm-up (first touches of fresh worlds fault in pages and fill caches); returns the steps
/// taken and the seconds they took. `bar` shows the timed rounds; the clock starts when
/// every thread waiting at `start_line` has warmed up.
fn time_steps(
    mut vec_env: VecEnv,
    steps: u64,
    seed: u64,
    bar: ProgressBar,
    start_line: Option<&Barrier>,
) -> anyhow::Result<(u64, f64)> {
    let (space, envs) = (vec_env.action_space().clone(), vec_env.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rounds = steps.div_ceil(envs as u64);
    bar.set_length(rounds);
    vec_env.reset();
    let mut actions = Vec::with_capacity(envs);
    let mut round = |rng: &mut ChaCha8Rng| -> anyhow::Result<()> {
        actions.clear();
        actions.extend((0..envs).map(|_| space.sample(rng)));
        vec_env.step(&actions)?;
        Ok(())
    };
    let warm_up = (0..(rounds / 10).min(1000)).try_for_each(|_| round(&mut rng));
    // Reached even when the warm-up failed, so the other threads are not left waiting.
    if let Some(line) = start_line {
        line.wait();
    }
    warm_up?;
    let start = Instant::now();
    for r in 0..rounds {
        round(&mut rng)?;
        if r % 1024 == 0 {
            bar.set_position(r);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok((rounds * envs as u64, seconds))
}

#[derive(Serialize)]
struct TrainResult {
    device: String,
    batch: usize,
    samples: usize,
    seconds: f64,
    samples_per_sec: f64,
}

#[derive(Serialize)]
struct ActResult {
    device: String,
    act_latency_us: f64,
}

/// The whole behaviour-cloning pipeline (minibatch gathering from the dataset, normalized
/// inputs, Adam, the loss read back for logging, a validation pass per epoch) on `reacher`
/// demonstrations: 8 observations, 2 actions.
fn train(args: TrainArgs) -> anyhow::Result<()> {
    let selected = select_device(args.device)?;
    eprintln!("device: {}", selected.description);
    let mut env = ScenarioEnv::load("reacher")?;
    let expert = env.scenario().expert.clone().ok_or_else(|| anyhow::anyhow!("reacher has no expert"))?;
    let episodes: Vec<_> = (0..400)
        .map(|seed| record_episode(&mut env, &expert, Generator::Scripted, seed, 0.3))
        .collect::<Result<_, _>>()?;
    let mut last_policy = None;
    for &batch in &args.batches {
        let mut config =
            BcConfig { batch_size: batch, epochs: usize::MAX, patience: usize::MAX, ..BcConfig::default() };
        config.policy.hidden = vec![64, 64];
        let mut trainer = BcTrainer::new(&env, &episodes, &config, &selected.device)?;
        trainer.epoch()?; // warm-up: allocations, kernel compilation on a GPU
        let bar = progress(0, &format!("bench train batch {batch}"));
        let (start, mut samples) = (Instant::now(), 0);
        while start.elapsed().as_secs_f64() < args.seconds {
            trainer.epoch()?;
            samples += trainer.train_len();
            bar.tick();
        }
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let result = TrainResult {
            device: selected.description.clone(),
            batch,
            samples,
            seconds,
            samples_per_sec: samples as f64 / seconds,
        };
        report(&result, args.json, || format!("batch {batch}: {:.0} samples/s", result.samples_per_sec))?;
        last_policy = Some(trainer.policy());
    }
    let mut policy = last_policy.ok_or_else(|| anyhow::anyhow!("--batches: give at least one batch size"))?;
    let obs = env.reset(0);
    let calls = 20_000;
    for _ in 0..1000 {
        policy.act(&obs);
    }
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(policy.act(std::hint::black_box(&obs)));
    }
    let result =
        ActResult { device: selected.description, act_latency_us: start.elapsed().as_secs_f64() * 1e6 / calls as f64 };
    report(&result, args.json, || format!("act on one observation: {:.1} µs", result.act_latency_us))
}

fn report<T: Serialize>(result: &T, json: bool, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        json_line(result)
    } else {
        println!("{}", text());
        Ok(())
    }
}
