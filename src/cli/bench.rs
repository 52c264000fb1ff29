//! `apprentice bench`: speed measurements (release builds give the numbers worth quoting).

use super::output::{json_line, progress};
use crate::sim::{Env, ScenarioEnv, VecEnv};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Environment steps per second of a VecEnv under random actions.
    Sim(SimArgs),
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
