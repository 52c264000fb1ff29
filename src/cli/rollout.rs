//! `apprentice rollout`: run the scripted expert, the sampling planner or random play for N
//! seeded episodes.

use super::output::{json_line, progress};
use crate::sim::rollout::{rollouts, summarize};
use crate::sim::{Policy, RandomPolicy, ScenarioEnv};
use anyhow::Context;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Built-in scenario name or path to a .ron file.
    #[arg(long, default_value = "cartpole")]
    scenario: String,
    /// Who drives.
    #[arg(long, value_enum, default_value = "expert")]
    policy: Driver,
    #[arg(long, default_value_t = 100, value_parser = super::output::at_least_one)]
    episodes: usize,
    /// Episode k starts from seed `seed + k`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object per episode, then the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Driver {
    /// The scenario's expert (scripted, or the `Planner(...)` it names).
    Expert,
    /// The sampling planner on the true simulator (the scenario's `Planner(...)` settings, or the defaults).
    Planner,
    Random,
}

impl Args {
    /// What `apprentice` with no command runs in a build without the app.
    #[cfg(not(feature = "gui"))]
    pub fn default_demo() -> Args {
        Args { scenario: "cartpole".into(), policy: Driver::Expert, episodes: 20, seed: 0, json: false }
    }
}

#[derive(Serialize)]
struct Final<'a> {
    scenario: &'a str,
    policy: &'a str,
    #[serde(flatten)]
    summary: crate::sim::rollout::Summary,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut env = ScenarioEnv::load(&args.scenario)?;
    if let Driver::Planner = args.policy {
        env = env.with_planner_expert();
    }
    let name = env.scenario().name.clone();
    let make_policy: Box<dyn Fn() -> Box<dyn Policy> + Sync> = match args.policy {
        Driver::Expert | Driver::Planner => {
            let spec = env.scenario().expert.clone().with_context(|| format!("scenario `{name}` names no expert"))?;
            Box::new(move || spec.policy())
        }
        Driver::Random => Box::new(|| Box::new(RandomPolicy::new(0)) as Box<dyn Policy>),
    };
    let bar = progress(args.episodes as u64, &format!("{name} {:?}", args.policy).to_lowercase());
    let results = rollouts(&env, &make_policy, args.episodes, args.seed, &|_| bar.inc(1))?;
    bar.finish_and_clear();
    let summary = summarize(&results);
    if args.json {
        for r in &results {
            json_line(r)?;
        }
        let policy = format!("{:?}", args.policy).to_lowercase();
        json_line(&Final { scenario: &name, policy: &policy, summary })?;
    } else {
        println!(
            "{name}: {} episodes, return {:.2} ± {:.2}, success {:.0}%, length {:.1}",
            summary.episodes,
            summary.return_mean,
            summary.return_std,
            summary.success_rate * 100.0,
            summary.length_mean
        );
    }
    Ok(())
}
