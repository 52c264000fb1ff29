//! `apprentice bench`: speed measurements (release builds give the numbers worth quoting).

use super::output::{json_line, progress};
use crate::data::ops::{Generator, record_episode};
use crate::learn::bc::{BcConfig, BcTrainer};
use crate::learn::device::{DeviceChoice, select_device};
use crate::sim::{Env, ScenarioEnv, VecEnv};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Environment steps per second of a VecEnv under random actions.
    Sim(SimArgs),
    /// Behaviour-cloning samples per second (8-64-64-2 MLP, Adam, MSE) at batch 64, 256 and
    /// 4096, and the latency of acting on one observation.
    Train(TrainArgs),
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
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Environments stepped in parallel.
    #[arg(long, default_value_t = 1)]
    envs: usize,
    /// Total environment steps (over all environments).
    #[arg(long, default_value_t = 200_000)]
    steps: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    json: bool,
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
        Bench::Train(args) => train(args),
        #[cfg(feature = "gui")]
        Bench::App(args) => super::app::bench(args),
    }
}

fn sim(args: SimArgs) -> anyhow::Result<()> {
    let env = ScenarioEnv::load(&args.scenario)?;
    let space = env.action_space().clone();
    let name = env.scenario().name.clone();
    let mut vec_env = VecEnv::new(env, args.envs, args.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let rounds = args.steps.div_ceil(vec_env.len() as u64);
    let bar = progress(rounds, &format!("bench sim {name}"));
    vec_env.reset();
    // Warm-up, untimed: first touches of fresh worlds fault in pages and fill caches.
    for _ in 0..(rounds / 10).min(1000) {
        let actions: Vec<_> = (0..vec_env.len()).map(|_| space.sample(&mut rng)).collect();
        vec_env.step(&actions)?;
    }
    let start = Instant::now();
    for round in 0..rounds {
        let actions: Vec<_> = (0..vec_env.len()).map(|_| space.sample(&mut rng)).collect();
        vec_env.step(&actions)?;
        if round % 1024 == 0 {
            bar.set_position(round);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let steps = rounds * vec_env.len() as u64;
    let result = SimResult {
        scenario: name,
        envs: vec_env.len(),
        steps,
        threads: std::thread::available_parallelism().map_or(1, |c| c.get()).min(vec_env.len()),
        seconds,
        steps_per_sec: steps as f64 / seconds,
    };
    if args.json {
        json_line(&result)?;
    } else {
        println!(
            "{}: {} envs, {} steps in {:.2} s: {:.0} steps/s",
            result.scenario, result.envs, steps, seconds, result.steps_per_sec
        );
    }
    Ok(())
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
    let episodes: Vec<_> =
        (0..400).map(|seed| record_episode(&mut env, &expert, Generator::Scripted, seed, 0.3)).collect();
    let mut last_policy = None;
    for batch in [64, 256, 4096] {
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
    let mut policy = last_policy.expect("three batch sizes ran");
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
