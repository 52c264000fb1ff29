//! DAgger (Ross, Gordon & Bagnell 2011) with the scripted expert as labeler: train, let a
//! β-mixture of expert and policy drive, have the expert label every state visited,
//! aggregate, retrain. The policy learns to recover from its own mistakes, which plain
//! behaviour cloning never sees (the seeds' compounding-error argument).

use super::bc::{self, BcConfig, TrainError};
use super::policy::MlpPolicy;
use crate::data::ops::record_labeled;
use crate::data::{Episode, Source};
use crate::sim::ScenarioEnv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// DAgger hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// DAgger as a sequence of rounds (round 0 is the initial behaviour cloning), so a trainer
/// thread can stop and snapshot between them.
pub struct DaggerTrainer {
    env: ScenarioEnv,
    pub bc_config: BcConfig,
    pub config: DaggerConfig,
    /// The aggregated dataset: demonstrations first, then every round's episodes.
    pub data: Vec<Episode>,
    policy: Option<MlpPolicy>,
    beta: f64,
    step: usize,
    pub log: Vec<RoundLog>,
    /// Called with each round's new episodes (the CLI appends them to RUN/dataset).
    on_new: OnNewEpisodes,
}

/// Receives each round's new episodes; an error stops the run.
pub type OnNewEpisodes = Box<dyn FnMut(&[Episode]) -> Result<(), String> + Send>;

impl DaggerTrainer {
    pub fn new(
        env: &ScenarioEnv,
        demos: Vec<Episode>,
        bc_config: &BcConfig,
        config: &DaggerConfig,
        on_new: OnNewEpisodes,
    ) -> Result<DaggerTrainer, TrainError> {
        if env.scenario().expert.is_none() {
            return Err(TrainError::NoData(format!(
                "scenario `{}` has no scripted expert to label states",
                env.scenario().name
            )));
        }
        Ok(DaggerTrainer {
            env: env.fork(),
            bc_config: bc_config.clone(),
            config: config.clone(),
            data: demos,
            policy: None,
            beta: config.beta,
            step: 0,
            log: Vec::new(),
            on_new,
        })
    }

    /// Runs the next round; `None` after the last.
    pub fn round(&mut self) -> Result<Option<RoundLog>, TrainError> {
        let round = self.log.len();
        if round > self.config.rounds {
            return Ok(None);
        }
        let (beta, rollout_return) = match &self.policy {
            None => (1.0, f64::NAN),
            Some(policy) => {
                let seed = self.config.seed + (round * self.config.episodes_per_round) as u64;
                let fresh = collect(&self.env, policy, self.beta, self.config.episodes_per_round, seed);
                let mean = fresh.iter().map(|e| e.ret() as f64).sum::<f64>() / fresh.len().max(1) as f64;
                (self.on_new)(&fresh).map_err(TrainError::Save)?;
                self.data.extend(fresh);
                let beta = self.beta;
                self.beta *= self.config.beta_decay;
                (beta, mean)
            }
        };
        let (policy, epochs) = bc::train(&self.env, &self.data, &self.bc_config, &mut |_| {})?;
        self.step += epochs.last().map_or(0, |e| e.step);
        self.policy = Some(policy);
        let val_loss = epochs.last().map_or(f64::NAN, |l| l.val_loss);
        let entry = RoundLog { round, beta, episodes: self.data.len(), rollout_return, val_loss };
        self.log.push(entry.clone());
        Ok(Some(entry))
    }

    /// The latest round's policy (`None` before round 0 has run).
    pub fn policy(&self) -> Option<MlpPolicy> {
        self.policy.clone()
    }
}

/// Hyperparameters that can change while DAgger runs (the later rounds use them).
pub const LIVE: [&str; 9] =
    ["lr", "batch_size", "epochs", "patience", "rounds", "episodes_per_round", "beta", "beta_decay", "seed"];

impl super::trainer::Algorithm for DaggerTrainer {
    fn advance(&mut self) -> Result<Option<super::trainer::Metrics>, TrainError> {
        Ok(self.round()?.map(|r| super::trainer::Metrics {
            step: self.step,
            values: vec![
                ("round", r.round as f64),
                ("dagger/beta", r.beta),
                ("dagger/episodes", r.episodes as f64),
                ("rollout/return_mean", r.rollout_return),
                ("val/loss", r.val_loss),
            ],
        }))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "rounds" | "episodes_per_round" | "beta_decay" | "seed" => {
                super::set_live(&mut self.config, key, value, &LIVE)
            }
            "beta" => {
                super::set_live(&mut self.config, key, value, &LIVE)?;
                self.beta = self.config.beta;
                Ok(())
            }
            _ if bc::LIVE.contains(&key) => super::set_live(&mut self.bc_config, key, value, &bc::LIVE),
            _ => Err(format!("`{key}` cannot change during a run (live: {})", LIVE.join(", "))),
        }
    }

    fn policy(&self) -> Option<MlpPolicy> {
        self.policy.clone()
    }

    fn step(&self) -> usize {
        self.step
    }
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
    let mut trainer = DaggerTrainer::new(env, demos, bc_config, config, Box::new(|_| Ok(())))?;
    while let Some(entry) = trainer.round()? {
        on_round(&entry);
    }
    let policy = trainer.policy.expect("round 0 always runs");
    Ok((policy, trainer.data, trainer.log))
}
