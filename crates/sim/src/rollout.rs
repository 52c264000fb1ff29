//! Seeded evaluation: run a policy for N episodes and summarize returns and successes.

use super::env::Env;
use super::policy::Policy;
use super::scenario_env::ScenarioEnv;
use super::space::ActionMismatch;
use rayon::prelude::*;
use serde::Serialize;

/// The outcome of one episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeResult {
    pub seed: u64,
    pub ret: f32,
    pub length: u32,
    pub success: bool,
}

/// Mean/std return, success rate and mean length over episodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub episodes: usize,
    pub return_mean: f64,
    pub return_std: f64,
    pub success_rate: f64,
    pub length_mean: f64,
}

/// A policy chose an action the scenario cannot take, such as a NaN from diverged weights:
/// the episode stops there and the caller says whose policy it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "at step {step} of the episode from seed {seed}, the policy acted outside the action space ({source}); its weights may hold NaN or infinite values"
)]
pub struct ActError {
    pub seed: u64,
    pub step: u32,
    #[source]
    pub source: ActionMismatch,
}

/// Runs one episode from `seed` to its end.
pub fn episode(env: &mut ScenarioEnv, policy: &mut dyn Policy, seed: u64) -> Result<EpisodeResult, ActError> {
    policy.reset(seed);
    let mut obs = env.reset(seed);
    let (mut ret, mut length, mut success) = (0.0, 0, false);
    loop {
        let action = policy.act(env, &obs);
        let step = env.step(&action).map_err(|source| ActError { seed, step: length, source })?;
        ret += step.reward;
        length += 1;
        success |= step.success;
        if step.done() {
            return Ok(EpisodeResult { seed, ret, length, success });
        }
        obs = step.obs;
    }
}

/// Runs episodes with seeds `seed, seed+1, ...` in parallel; results come back in seed order.
/// `make_policy` builds a fresh policy per episode; `on_episode` is called as each one ends.
/// The first action outside the action space is the error.
pub fn rollouts(
    env: &ScenarioEnv,
    make_policy: &(dyn Fn() -> Box<dyn Policy> + Sync),
    episodes: usize,
    seed: u64,
    on_episode: &(dyn Fn(&EpisodeResult) + Sync),
) -> Result<Vec<EpisodeResult>, ActError> {
    (0..episodes as u64)
        .into_par_iter()
        .map_init(
            || (env.fork(), make_policy()),
            |(env, policy), k| {
                let result = episode(env, policy.as_mut(), seed + k)?;
                on_episode(&result);
                Ok(result)
            },
        )
        .collect()
}

pub fn summarize(results: &[EpisodeResult]) -> Summary {
    let n = results.len().max(1) as f64;
    let mean = results.iter().map(|r| r.ret as f64).sum::<f64>() / n;
    let var = results.iter().map(|r| (r.ret as f64 - mean).powi(2)).sum::<f64>() / n;
    Summary {
        episodes: results.len(),
        return_mean: mean,
        return_std: var.sqrt(),
        success_rate: results.iter().filter(|r| r.success).count() as f64 / n,
        length_mean: results.iter().map(|r| r.length as f64).sum::<f64>() / n,
    }
}
