//! TD3+BC (Fujimoto & Gu 2021), the minimalist offline RL of Sigaud's survey: TD3 trained on
//! a fixed dataset, its actor loss −λ·Q(s, π(s)) + (π(s) − a)² pulled towards the dataset's
//! actions so it cannot exploit the critic's errors on actions the data never tried. λ =
//! α / mean|Q| makes the trade-off independent of the reward's scale.

use super::batch::{floats, matrix, vector};
use super::critic::{TwinQ, polyak};
use super::error::TrainError;
use super::offline::Dataset;
use super::optim::FlushedStep;
use super::policy::{Head, Layout, MlpPolicy, PolicyConfig, PolicyNet};
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::td3::smoothed_action;
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use data::Episode;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::ScenarioEnv;

/// TD3+BC's hyperparameters (the paper's, with smaller networks for the CPU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Td3BcConfig {
    /// The actor's network (a `tanh_gaussian` head, acting by its mean).
    pub policy: PolicyConfig,
    /// Widths of each Q-network's hidden layers.
    pub critic_hidden: Vec<usize>,
    /// Gradient steps to train for.
    pub gradient_steps: usize,
    /// Gradient steps per log row.
    pub log_every: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Adam learning rate of the actor and the critics.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Polyak factor of the target networks' soft updates.
    pub tau: f64,
    /// Standard deviation of the target policy's smoothing noise.
    pub target_noise: f64,
    /// The smoothing noise is clipped to ± this.
    pub noise_clip: f64,
    /// Critic steps per actor (and target) step.
    pub policy_delay: usize,
    /// α: the weight of the value term against the behaviour-cloning term.
    pub alpha: f64,
    /// Seed of the initialization and the minibatches.
    pub seed: u64,
}

impl Default for Td3BcConfig {
    fn default() -> Td3BcConfig {
        Td3BcConfig {
            policy: PolicyConfig { hidden: vec![64, 64], head: Head::TanhGaussian, ..PolicyConfig::default() },
            critic_hidden: vec![64, 64],
            gradient_steps: 10_000,
            log_every: 500,
            batch_size: 256,
            lr: 1e-3,
            gamma: 0.99,
            tau: 0.005,
            target_noise: 0.2,
            noise_clip: 0.5,
            policy_delay: 2,
            alpha: 2.5,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while TD3+BC runs.
pub const LIVE: [&str; 3] = ["lr", "alpha", "gradient_steps"];

pub struct Td3BcTrainer {
    pub config: Td3BcConfig,
    data: Dataset,
    actor: PolicyNet,
    actor_target: PolicyNet,
    critic: TwinQ,
    critic_target: TwinQ,
    actor_optimizer: ModuleOptimizer,
    critic_optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    steps: usize,
}

impl Td3BcTrainer {
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &Td3BcConfig,
        device: &Device,
    ) -> Result<Td3BcTrainer, TrainError> {
        let data = Dataset::new(env, episodes, config.gamma as f32, "TD3+BC")?;
        if !matches!(config.policy.layout(&data.space), Layout::Gaussian { tanh: true, .. })
            || !config.policy.single_step()
        {
            return Err(TrainError::Config(
                "TD3+BC's actor is a tanh_gaussian head's mean on single observations".into(),
            ));
        }
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let actor = config.policy.build(data.obs_dim, &data.space, &autodiff);
        let critic = TwinQ::new(data.obs_dim, data.dims, &config.critic_hidden, config.policy.activation, &autodiff);
        Ok(Td3BcTrainer {
            config: config.clone(),
            data,
            actor_target: actor.valid(),
            actor,
            critic_target: critic.valid(),
            critic,
            actor_optimizer: AdamConfig::new().init(),
            critic_optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x7D3B_C7D3_BC7D_3BC7),
            steps: 0,
        })
    }

    pub fn policy(&self) -> MlpPolicy {
        self.data.policy(self.actor.valid(), &self.config.policy, &self.inference)
    }

    /// One critic step and, every `policy_delay`-th, an actor step; returns (critic loss,
    /// actor's value term, BC term) when `log`.
    fn learn(&mut self, log: bool) -> Option<(f64, f64, f64)> {
        let batch = self.data.buffer.sample(self.config.batch_size.max(1), &mut self.rng);
        let b = batch.len();
        let next = matrix(batch.next_obs.clone(), b, &self.inference);
        let noise = (self.config.target_noise, self.config.noise_clip);
        let next_action =
            smoothed_action(&self.actor_target, next.clone(), self.data.dims, noise, &mut self.rng, &self.inference);
        let y = vector(
            batch.targets(&floats(self.critic_target.min(next, next_action)), self.config.gamma as f32),
            &self.device,
        );
        let obs = matrix(batch.obs, b, &self.device);
        let actions = matrix(batch.actions, b, &self.device);
        let (q1, q2) = self.critic.forward(obs.clone(), actions.clone());
        let critic_loss = (q1 - y.clone()).square().mean() + (q2 - y).square().mean();
        let critic_value = log.then(|| floats(critic_loss.clone().inner())[0] as f64);
        let grads = GradientsParams::from_grads(critic_loss.backward(), &self.critic);
        self.critic = self.critic_optimizer.step_flushed(self.config.lr, self.critic.clone(), grads);
        self.steps += 1;
        if !self.steps.is_multiple_of(self.config.policy_delay.max(1)) {
            return critic_value.map(|c| (c, f64::NAN, f64::NAN));
        }
        let pi = self.actor.mean_action(obs.clone()).expect("a Gaussian head");
        let q = self.critic.forward(obs, pi.clone()).0;
        let lambda = self.config.alpha / floats(q.clone().inner().abs().mean())[0].max(1e-6) as f64;
        let value_term = q.mean().neg() * lambda;
        let bc_term = (pi - actions).square().sum_dim(1).mean();
        let logged =
            log.then(|| (floats(value_term.clone().inner())[0] as f64, floats(bc_term.clone().inner())[0] as f64));
        let grads = GradientsParams::from_grads((value_term + bc_term).backward(), &self.actor);
        self.actor = self.actor_optimizer.step_flushed(self.config.lr, self.actor.clone(), grads);
        self.actor_target = polyak(self.actor_target.clone(), &self.actor.valid(), self.config.tau);
        self.critic_target = polyak(self.critic_target.clone(), &self.critic.valid(), self.config.tau);
        critic_value.map(|c| (c, logged.map_or(f64::NAN, |l| l.0), logged.map_or(f64::NAN, |l| l.1)))
    }

    /// `log_every` gradient steps.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let steps = self.config.log_every.max(1);
        if self.steps + steps > self.config.gradient_steps {
            return Ok(None);
        }
        let mut logged = (f64::NAN, f64::NAN, f64::NAN);
        for k in 0..steps {
            if let Some(l) = self.learn(k + self.config.policy_delay.max(1) >= steps) {
                logged = (l.0, if l.1.is_nan() { logged.1 } else { l.1 }, if l.2.is_nan() { logged.2 } else { l.2 });
            }
        }
        if !logged.0.is_finite() {
            return Err(TrainError::diverged(logged.0, "gradient step", self.steps));
        }
        let values =
            vec![("train/critic_loss", logged.0), ("train/actor_value", logged.1), ("train/bc_loss", logged.2)];
        Ok(Some(Metrics { step: self.steps, values }))
    }
}

impl_algorithm!(Td3BcTrainer, LIVE, |t| t.steps, artifacts: |t| vec![crate::artifact::critic("twin_q", t.critic.valid(), &t.config)]);

/// TD3+BC in the registry.
pub const ENTRY: Entry = Entry {
    name: "td3_bc",
    summary: "TD3+BC: offline TD3 whose actor is pulled towards the dataset's actions",
    preset_of: None,
    needs: Needs::OFFLINE,
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[
        Plot::steps("Critic", Unit::GradientSteps, &["train/critic_loss"]),
        Plot::steps("Actor", Unit::GradientSteps, &["train/actor_value", "train/bc_loss"]),
    ],
    config: ConfigType::of::<Td3BcConfig>(defaults_of::<Td3BcConfig>),
    budget: |t| Ok(Budget::steps(typed::<Td3BcConfig>(t)?.gradient_steps)),
    build: |t, cx| Ok(Box::new(Td3BcTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?)),
};
