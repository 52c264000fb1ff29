//! DAgger (Ross, Gordon & Bagnell 2011) with the scenario's expert as labeler (scripted, or
//! the sampling planner with `--expert planner`): train, let a β-mixture of expert and policy
//! drive, have the expert label every state visited, aggregate, retrain. The policy learns to recover from its own mistakes, which plain
//! behaviour cloning never sees (the compounding-error argument of Ross & Bagnell 2010, as Daumé's imitation-learning lecture tells it).

use super::bc::{self, BcConfig};
use super::error::TrainError;
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};

use super::policy::MlpPolicy;
use burn::prelude::Device;
use data::ops::record_labeled;
use data::staged::OrderedWriter;
use data::{Dataset, Episode, Source};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim::ScenarioEnv;

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
    /// The behaviour cloning every round runs on the aggregated data.
    pub bc: BcConfig,
}

impl Default for DaggerConfig {
    fn default() -> DaggerConfig {
        DaggerConfig {
            rounds: 5,
            episodes_per_round: 20,
            beta: 0.5,
            beta_decay: 0.5,
            seed: 1_000,
            bc: BcConfig::default(),
        }
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

/// Episodes driven by the β-mixture, every state labeled by the expert, in seed order; each
/// is appended to `save` (the run's aggregated dataset) as soon as it is done.
fn collect(
    env: &ScenarioEnv,
    policy: &MlpPolicy,
    beta: f64,
    count: usize,
    seed: u64,
    save: Option<&Dataset>,
) -> Result<Vec<Episode>, TrainError> {
    let expert = env.scenario().expert.clone().ok_or_else(|| no_expert(env))?;
    let writer = save.map(OrderedWriter::new).transpose()?;
    let episodes: Result<Vec<Episode>, TrainError> = (0..count)
        .into_par_iter()
        .map_init(
            || (env.fork(), policy.clone()),
            |(env, policy), k| {
                let episode_seed = seed + k as u64;
                let mut coin = ChaCha8Rng::seed_from_u64(episode_seed);
                // The policy sees every step of its episode, the expert's too, so a policy
                // with memory (history, transformer) acts on this episode's observations.
                policy.reset(episode_seed);
                let episode = record_labeled(env, &expert, episode_seed, "dagger", &mut |_, obs, label| {
                    let own = policy.act(obs);
                    if coin.random::<f64>() < beta { (label.clone(), Source::Expert) } else { (own, Source::Policy) }
                })?;
                if let Some(writer) = &writer {
                    writer.put(k, episode.clone())?;
                }
                Ok(episode)
            },
        )
        .collect();
    if let Some(writer) = writer {
        writer.finish()?;
    }
    episodes
}

fn no_expert(env: &ScenarioEnv) -> TrainError {
    TrainError::NoData(format!(
        "scenario `{}` has no scripted expert to label states (--expert planner labels them with the sampling planner)",
        env.scenario().name
    ))
}

/// DAgger as a sequence of rounds (round 0 is the initial behaviour cloning), so a trainer
/// thread can stop and snapshot between them.
pub struct DaggerTrainer {
    env: ScenarioEnv,
    pub config: DaggerConfig,
    /// The aggregated dataset: demonstrations first, then every round's episodes.
    pub data: Vec<Episode>,
    policy: Option<MlpPolicy>,
    beta: f64,
    step: usize,
    pub log: Vec<RoundLog>,
    /// Where each round's episodes are written as they finish (RUN/dataset).
    save: Option<Dataset>,
    /// Where behaviour cloning trains (`--device`).
    device: Device,
}

impl DaggerTrainer {
    pub fn new(
        env: &ScenarioEnv,
        demos: Vec<Episode>,
        config: &DaggerConfig,
        save: Option<Dataset>,
        device: &Device,
    ) -> Result<DaggerTrainer, TrainError> {
        if env.scenario().expert.is_none() {
            return Err(no_expert(env));
        }
        Ok(DaggerTrainer {
            env: env.fork(),
            config: config.clone(),
            data: demos,
            policy: None,
            beta: config.beta,
            step: 0,
            log: Vec::new(),
            save,
            device: device.clone(),
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
                let fresh =
                    collect(&self.env, policy, self.beta, self.config.episodes_per_round, seed, self.save.as_ref())?;
                let mean = fresh.iter().map(|e| e.ret() as f64).sum::<f64>() / fresh.len().max(1) as f64;
                self.data.extend(fresh);
                let beta = self.beta;
                self.beta *= self.config.beta_decay;
                (beta, mean)
            }
        };
        let (policy, epochs) = bc::train_on(&self.env, &self.data, &self.config.bc, &self.device, &mut |_| {})?;
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
pub const LIVE: [&str; 9] = [
    "rounds",
    "episodes_per_round",
    "beta",
    "beta_decay",
    "seed",
    "bc.lr",
    "bc.batch_size",
    "bc.epochs",
    "bc.patience",
];

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

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)?;
        if key == "beta" {
            self.beta = self.config.beta;
        }
        Ok(())
    }

    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        self.policy.clone().map(|p| Box::new(p) as Box<dyn crate::artifact::PolicyArtifact>)
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
    let config = DaggerConfig { bc: bc_config.clone(), ..config.clone() };
    let mut trainer = DaggerTrainer::new(env, demos, &config, None, &Device::flex())?;
    while let Some(entry) = trainer.round()? {
        on_round(&entry);
    }
    let policy = trainer.policy.expect("round 0 always runs");
    Ok((policy, trainer.data, trainer.log))
}

/// DAgger in the registry.
pub const ENTRY: Entry = Entry {
    name: "dagger",
    summary: "DAgger: behaviour cloning, then rounds where the policy drives and the scripted expert labels every state",
    preset_of: None,
    needs: Needs {
        demos: true,
        expert: true,
        reward: false,
        actions: Actions::Any,
        init: false,
        resume: false,
        learned_reward: false,
    },
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[
        Plot::against("Validation loss", "round", Unit::Rounds, &["val/loss"]),
        Plot::against("Rollouts", "round", Unit::Rounds, &["rollout/return_mean"]),
        Plot::against("Mixture", "round", Unit::Rounds, &["dagger/beta"]),
    ],
    config: ConfigType::of::<DaggerConfig>(defaults_of::<DaggerConfig>),
    budget: |t| Ok(Budget::indexed(typed::<DaggerConfig>(t)?.rounds + 1, "round")),
    build: |t, cx| {
        let (aggregated, _) = Dataset::open(&cx.out.join("dataset"))?;
        Ok(Box::new(DaggerTrainer::new(cx.env, cx.demos, &typed(t)?, Some(aggregated), cx.device)?))
    },
};
