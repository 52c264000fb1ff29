//! DAgger (Ross, Gordon & Bagnell 2011) with the scripted expert as labeler: train, let a
//! β-mixture of expert and policy drive, have the expert label every state visited,
//! aggregate, retrain. The policy learns to recover from its own mistakes, which plain
//! behaviour cloning never sees (the seeds' compounding-error argument).

use super::bc::{self, BcConfig, EpochLog, TrainError};
use super::policy::MlpPolicy;
use crate::data::ops::record_labeled;
use crate::data::{Episode, Source};
use crate::sim::ScenarioEnv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// DAgger hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaggerConfig {
    /// Data-aggregation rounds after the initial behaviour cloning.
    pub rounds: usize,
    /// Episodes collected per round.
    pub episodes_per_round: usize,
    /// Probability that the expert, not the policy, drives a step in round 1.
    pub beta: f64,
    /// β is multiplied by this after every round (β_i = β·decay^(i−1)).
    pub beta_decay: f64,
    /// Seed of the rollouts (episode seeds and the mixture's coin flips).
    pub seed: u64,
}

impl Default for DaggerConfig {
    fn default() -> DaggerConfig {
        DaggerConfig { rounds: 5, episodes_per_round: 20, beta: 0.5, beta_decay: 0.5, seed: 1_000 }
    }
}

/// What one round did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundLog {
    pub round: usize,
    pub beta: f64,
    /// Episodes in the aggregated dataset after this round.
    pub episodes: usize,
    /// Mean return of the mixture's rollouts this round.
    pub rollout_return: f64,
    pub val_loss: f64,
}

/// Episodes driven by the β-mixture, every state labeled by the expert.
fn collect(env: &ScenarioEnv, policy: &MlpPolicy, beta: f64, count: usize, seed: u64) -> Vec<Episode> {
    let expert = env.scenario().expert.clone().expect("checked by train");
    (0..count as u64)
        .into_par_iter()
        .map_init(
            || (env.fork(), policy.clone()),
            |(env, policy), k| {
                let mut coin = ChaCha8Rng::seed_from_u64(seed + k);
                record_labeled(env, &expert, seed + k, "dagger", &mut |_, obs, label| {
                    if coin.random::<f64>() < beta {
                        (label.clone(), Source::Expert)
                    } else {
                        (policy.act(obs), Source::Policy)
                    }
                })
            },
        )
        .collect()
}

/// Runs behaviour cloning on `demos`, then `rounds` of DAgger; returns the final policy,
/// the aggregated dataset and the log.
pub fn train(
    env: &ScenarioEnv,
    demos: Vec<Episode>,
    bc_config: &BcConfig,
    config: &DaggerConfig,
    on_round: &mut dyn FnMut(&RoundLog),
) -> Result<(MlpPolicy, Vec<Episode>, Vec<RoundLog>), TrainError> {
    if env.scenario().expert.is_none() {
        return Err(TrainError::NoData(format!(
            "scenario `{}` has no scripted expert to label states",
            env.scenario().name
        )));
    }
    let mut data = demos;
    let last_val = |log: &[EpochLog]| log.last().map_or(f64::NAN, |l| l.val_loss);
    let (mut policy, epochs) = bc::train(env, &data, bc_config, &mut |_| {})?;
    let mut log = vec![RoundLog {
        round: 0,
        beta: 1.0,
        episodes: data.len(),
        rollout_return: f64::NAN,
        val_loss: last_val(&epochs),
    }];
    on_round(&log[0]);
    let mut beta = config.beta;
    for round in 1..=config.rounds {
        let seed = config.seed + (round * config.episodes_per_round) as u64;
        let fresh = collect(env, &policy, beta, config.episodes_per_round, seed);
        let rollout_return = fresh.iter().map(|e| e.ret() as f64).sum::<f64>() / fresh.len().max(1) as f64;
        data.extend(fresh);
        let (next, epochs) = bc::train(env, &data, bc_config, &mut |_| {})?;
        policy = next;
        let entry = RoundLog { round, beta, episodes: data.len(), rollout_return, val_loss: last_val(&epochs) };
        on_round(&entry);
        log.push(entry);
        beta *= config.beta_decay;
    }
    Ok((policy, data, log))
}
