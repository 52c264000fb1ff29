//! MBPO (Janner et al. 2019; Levine & Finn part 5, using a learned model to train a policy):
//! SAC whose batches are mostly transitions imagined by the probabilistic ensemble. The
//! model is refitted to every real transition every `model_every` steps; after each real
//! step, short rollouts of the current actor start from replayed real states and go
//! through a random member per step. Rollouts stay short, so the model's errors compound
//! for a few steps only (the reason to prefer this over backpropagating through long
//! imagined trajectories). The policy is SAC's actor, a network that acts in microseconds.

use super::buffer::ReplayBuffer;
use super::dynamics::{DynamicsConfig, DynamicsModel, DynamicsTrainer, Sample};
use super::error::TrainError;
use super::offpolicy::action_dims;
use super::policy::{MlpPolicy, unscale_action};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::sac::{Imagined, SacConfig, SacTrainer};
use super::trainer::{Metrics, impl_algorithm};
use burn::prelude::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};
use std::sync::Arc;

/// MBPO's budget, model, rollouts and SAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MbpoConfig {
    /// Environment steps to train for (SAC's own `total_steps` is replaced by it).
    pub total_steps: usize,
    /// Environment steps between refits of the model, each from fresh weights on every real
    /// transition; the first fit is at SAC's `learning_starts`.
    pub model_every: usize,
    /// Model rollouts started from replayed real states after each environment step.
    pub rollouts: usize,
    /// Steps of each model rollout.
    pub rollout_length: usize,
    /// Imagined transitions kept, the oldest overwritten first.
    pub imagined_size: usize,
    /// Fraction of each SAC batch drawn from the real transitions (the rest are imagined).
    pub real_ratio: f64,
    /// The ensemble; `epochs` are passes over the real transitions at each refit.
    pub dynamics: DynamicsConfig,
    /// The learner (`gradient_steps` per environment step: MBPO's many updates per real step).
    pub sac: SacConfig,
    /// Seed of everything (replaces SAC's and the model's own).
    pub seed: u64,
}

impl Default for MbpoConfig {
    fn default() -> MbpoConfig {
        MbpoConfig {
            total_steps: 1500,
            model_every: 250,
            rollouts: 200,
            rollout_length: 3,
            imagined_size: 150_000,
            real_ratio: 0.05,
            dynamics: DynamicsConfig { hidden: vec![64, 64], val_fraction: 0.0, epochs: 40, ..DynamicsConfig::default() },
            sac: SacConfig { learning_starts: 250, log_every: 250, gradient_steps: 20, ..SacConfig::default() },
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while MBPO runs.
pub const LIVE: [&str; 4] = ["rollouts", "rollout_length", "real_ratio", "total_steps"];

/// The model's side of MBPO: the latest ensemble.
struct ModelRollouts {
    env: ScenarioEnv,
    space: Space,
    model: Option<Arc<DynamicsModel>>,
    /// The last refit's final loss.
    loss: f64,
    rng: ChaCha8Rng,
    device: Device,
}

/// SAC learning from a model's rollouts.
pub struct MbpoTrainer {
    pub config: MbpoConfig,
    sac: SacTrainer,
    rollouts: ModelRollouts,
}

impl MbpoTrainer {
    pub fn new(env: &ScenarioEnv, config: &MbpoConfig, device: &Device) -> Result<MbpoTrainer, TrainError> {
        if config.model_every == 0 {
            return Err(TrainError::Config("model_every must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&config.real_ratio) {
            return Err(TrainError::Config(format!("real_ratio must be within [0, 1], not {}", config.real_ratio)));
        }
        let seed = config.seed;
        let sac = SacConfig { total_steps: config.total_steps, seed, demo_ratio: 0.0, bc_weight: 0.0, ..config.sac.clone() };
        let mut sac = SacTrainer::new(env, &sac, &[], None, device)?;
        let dims = action_dims(env.action_space());
        let buffer = ReplayBuffer::new(config.imagined_size, env.observation_space().dim(), dims);
        sac.imagined = Some(Imagined { buffer, real_ratio: config.real_ratio });
        let rollouts = ModelRollouts {
            env: env.clone(),
            space: env.action_space().clone(),
            model: None,
            loss: f64::NAN,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4D42_504F),
            device: device.clone(),
        };
        Ok(MbpoTrainer { config: config.clone(), sac, rollouts })
    }

    pub fn policy(&self) -> MlpPolicy {
        self.sac.policy()
    }

    /// The latest model (none before the first fit).
    pub fn model(&self) -> Option<Arc<DynamicsModel>> {
        self.rollouts.model.clone()
    }

    /// One unit: SAC's, with the model refitted and imagining after every real step.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        // Live settings reach SAC here.
        self.sac.config.total_steps = self.config.total_steps;
        if let Some(imagined) = &mut self.sac.imagined {
            imagined.real_ratio = self.config.real_ratio;
        }
        let (config, rollouts) = (&self.config, &mut self.rollouts);
        let Some(mut metrics) = self.sac.update_with(&mut |sac| rollouts.after_step(config, sac))? else {
            return Ok(None);
        };
        let imagined = self.sac.imagined.as_ref().map_or(0, |i| i.buffer.len());
        metrics.values.push(("train/model_loss", self.rollouts.loss));
        metrics.values.push(("data/imagined", imagined as f64));
        Ok(Some(metrics))
    }
}

impl ModelRollouts {
    /// After each real step: refit when one is due, then imagine from replayed states.
    fn after_step(&mut self, config: &MbpoConfig, sac: &mut SacTrainer) -> Result<(), TrainError> {
        let (steps, starts) = (sac.env_steps(), sac.config.learning_starts.max(1));
        if steps >= starts && (steps - starts) % config.model_every == 0 {
            self.refit(config, sac)?;
        }
        if self.model.is_some() {
            self.imagine(config, sac);
        }
        Ok(())
    }

    /// Fits a fresh ensemble to every real transition.
    fn refit(&mut self, config: &MbpoConfig, sac: &SacTrainer) -> Result<(), TrainError> {
        let batch = sac.replay().all();
        let raw = sac.raw(&batch);
        let rows: Vec<Sample> = raw
            .iter()
            .enumerate()
            .map(|(k, (obs, action, next))| Sample {
                obs,
                action,
                next,
                reward: batch.rewards[k],
                terminated: batch.terminated[k] > 0.0,
            })
            .collect();
        let dynamics = DynamicsConfig { seed: config.seed.wrapping_add(sac.env_steps() as u64), ..config.dynamics.clone() };
        let rng = ChaCha8Rng::seed_from_u64(dynamics.seed);
        let mut fit = DynamicsTrainer::from_samples(&self.env, &rows, Vec::new(), &dynamics, &self.device, rng)?;
        self.loss = fit.fit()?;
        self.model = Some(Arc::new(fit.model()));
        Ok(())
    }

    /// `rollouts` rollouts of the actor through the model, `rollout_length` steps each
    /// (a rollout stops where the model says the episode probably ended), stored as SAC's
    /// transitions.
    fn imagine(&mut self, config: &MbpoConfig, sac: &mut SacTrainer) {
        let (Some(model), n) = (self.model.clone(), config.rollouts) else { return };
        if n == 0 {
            return;
        }
        let normalizer = sac.normalizer().clone();
        let d = normalizer.mean.len();
        let dims = action_dims(&self.space);
        let start = sac.replay().sample(n, &mut self.rng);
        // Raw (environment) states; the actor reads them normalized.
        let mut states = normalizer.invert(&start.obs);
        let mut stored = Vec::new();
        for _ in 0..config.rollout_length {
            let rows = states.len() / d;
            if rows == 0 {
                break;
            }
            let obs: Vec<f32> = states.chunks_exact(d).flat_map(|s| normalizer.apply(s).collect::<Vec<_>>()).collect();
            let scaled = sac.sample_actions(&obs, rows);
            let actions: Vec<Action> =
                scaled.chunks_exact(dims).map(|a| unscale_action(&self.space, Action::Continuous(a.to_vec()))).collect();
            let (next, rewards, ends) = model.sample_step(&states, &actions, &mut self.rng);
            let mut alive = Vec::new();
            for i in 0..rows {
                let next_obs: Vec<f32> = normalizer.apply(&next[i * d..(i + 1) * d]).collect();
                let ended = ends[i] > 0.5;
                stored.push((obs[i * d..(i + 1) * d].to_vec(), scaled[i * dims..(i + 1) * dims].to_vec(), rewards[i], next_obs, ended));
                if !ended {
                    alive.extend_from_slice(&next[i * d..(i + 1) * d]);
                }
            }
            states = alive;
        }
        let imagined = sac.imagined.as_mut().expect("MBPO's SAC has an imagined buffer");
        for (obs, action, reward, next, ended) in stored {
            imagined.buffer.push(&obs, &action, reward, &next, ended);
        }
    }
}

impl_algorithm!(MbpoTrainer, LIVE, |t| t.sac.env_steps(), artifacts: |t| {
    let mut artifacts = crate::trainer::Algorithm::artifacts(&t.sac);
    artifacts.extend(t.model().map(|m| m as Arc<dyn crate::artifact::Artifact>));
    artifacts
});

/// MBPO in the registry.
pub const ENTRY: Entry = Entry {
    name: "mbpo",
    summary: "MBPO: SAC trained mostly on short rollouts of a learned probabilistic ensemble",
    preset_of: None,
    needs: Needs {
        demos: false,
        expert: false,
        reward: true,
        actions: Actions::Continuous,
        init: false,
        resume: false,
        learned_reward: false,
    },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Critic", Unit::EnvSteps, &["train/critic_loss"]),
        Plot::steps("Actor", Unit::EnvSteps, &["train/actor_loss"]),
        Plot::steps("Model", Unit::EnvSteps, &["train/model_loss"]),
    ],
    config: ConfigType::of::<MbpoConfig>(defaults_of::<MbpoConfig>),
    budget: |t| Ok(Budget::steps(typed::<MbpoConfig>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(MbpoTrainer::new(cx.env, &typed(t)?, cx.device)?)),
};
