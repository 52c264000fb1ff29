//! Twin delayed DDPG (Fujimoto et al. 2018) for continuous actions: a deterministic actor
//! maximizes Q1(s, π(s)), twin critics regress onto r + γ·min Q_target(s', π_target(s') + ε)
//! with clipped noise ε smoothing the target, and the actor and the targets update only every
//! `policy_delay` critic steps. The actor is a tanh-Gaussian head's mean, tanh(μ) (its std
//! output is unused), so a TD3 run saves, evaluates and loads like any other policy.

use super::batch::{floats, matrix, vector};
use super::critic::{TwinQ, polyak};
use super::error::TrainError;
use super::offpolicy::{Explorer, action_dims, identity, mean_or_nan, normal};
use super::optim::FlushedStep;
use super::policy::{Head, Layout, MlpPolicy, PolicyConfig, PolicyNet};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv, Space};

/// TD3's hyperparameters (defaults: the paper's, with RL-Zoo's Pendulum budget and, as SAC,
/// 64-unit layers for speed on the CPU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Td3Config {
    /// The actor's network (a `tanh_gaussian` head, acting by its mean).
    pub policy: PolicyConfig,
    /// Widths of each Q-network's hidden layers.
    pub critic_hidden: Vec<usize>,
    /// Environment steps to train for.
    pub total_steps: usize,
    /// Environment steps per log row.
    pub log_every: usize,
    /// Transitions the replay buffer keeps.
    pub buffer_size: usize,
    /// Environment steps of uniformly random actions before learning starts.
    pub learning_starts: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Adam learning rate of the actor and the critics.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Polyak factor of the target networks' soft updates.
    pub tau: f64,
    /// Standard deviation of the Gaussian exploration noise (actions scaled to [-1, 1]).
    pub exploration_noise: f64,
    /// Standard deviation of the target policy's smoothing noise.
    pub target_noise: f64,
    /// The smoothing noise is clipped to ± this.
    pub noise_clip: f64,
    /// Critic steps per actor (and target) step.
    pub policy_delay: usize,
    /// Seed of the environment, the initialization, exploration and sampling.
    pub seed: u64,
}

impl Default for Td3Config {
    fn default() -> Td3Config {
        Td3Config {
            policy: PolicyConfig { hidden: vec![64, 64], head: Head::TanhGaussian, ..PolicyConfig::default() },
            critic_hidden: vec![64, 64],
            total_steps: 20_000,
            log_every: 500,
            buffer_size: 1_000_000,
            learning_starts: 1_000,
            batch_size: 256,
            lr: 1e-3,
            gamma: 0.98,
            tau: 0.005,
            exploration_noise: 0.1,
            target_noise: 0.2,
            noise_clip: 0.5,
            policy_delay: 2,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while TD3 runs.
pub const LIVE: [&str; 4] = ["lr", "exploration_noise", "policy_delay", "total_steps"];

pub struct Td3Trainer {
    pub config: Td3Config,
    space: Space,
    dims: usize,
    explorer: Explorer,
    actor: PolicyNet,
    actor_target: PolicyNet,
    critic: TwinQ,
    critic_target: TwinQ,
    actor_optimizer: ModuleOptimizer,
    critic_optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    gradient_steps: usize,
}

impl Td3Trainer {
    pub fn new(env: &ScenarioEnv, config: &Td3Config, device: &Device) -> Result<Td3Trainer, TrainError> {
        let space = env.action_space().clone();
        let dims = action_dims(&space);
        if dims == 0 {
            return Err(TrainError::Config(
                "TD3 needs continuous (Box) actions; use DQN or PPO for discrete ones".into(),
            ));
        }
        if !matches!(config.policy.layout(&space), Layout::Gaussian { tanh: true, .. }) || !config.policy.single_step()
        {
            return Err(TrainError::Config("TD3's actor is a tanh_gaussian head's mean on single observations".into()));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let actor = config.policy.build(obs_dim, &space, &autodiff);
        let critic = TwinQ::new(obs_dim, dims, &config.critic_hidden, config.policy.activation, &autodiff);
        Ok(Td3Trainer {
            config: config.clone(),
            dims,
            explorer: Explorer::new(env, identity(obs_dim), config.buffer_size, config.seed),
            actor_target: actor.valid(),
            actor,
            critic_target: critic.valid(),
            critic,
            actor_optimizer: AdamConfig::new().init(),
            critic_optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x7D37_7D37_7D37_7D37),
            gradient_steps: 0,
            space,
        })
    }

    /// The current actor as a policy.
    pub fn policy(&self) -> MlpPolicy {
        let normalizer = self.explorer.normalizer.clone();
        MlpPolicy::new(
            self.actor.valid(),
            self.config.policy.clone(),
            normalizer,
            self.space.clone(),
            self.inference.clone(),
        )
    }

    /// Uniform before learning starts, then the actor's action plus Gaussian noise, clipped.
    fn explore(&mut self) -> Vec<f32> {
        if self.explorer.env_steps < self.config.learning_starts {
            return self.explorer.random_action(&mut self.rng);
        }
        let x = matrix(self.explorer.obs.clone(), 1, &self.inference);
        let mean = floats(self.actor.valid().mean_action(x).expect("a Gaussian head").reshape([self.dims]));
        let noise = normal(&mut self.rng, self.dims, self.config.exploration_noise as f32);
        mean.iter().zip(noise).map(|(a, n)| (a + n).clamp(-1.0, 1.0)).collect()
    }

    /// One critic step; every `policy_delay`-th also an actor step and target updates.
    /// Returns (critic loss, actor loss) when `log`.
    fn learn(&mut self, log: bool) -> Option<(f64, f64)> {
        let batch = self.explorer.buffer.sample(self.config.batch_size.max(1), &mut self.rng);
        let b = batch.len();
        let next = matrix(batch.next_obs.clone(), b, &self.inference);
        let noise = (self.config.target_noise, self.config.noise_clip);
        let next_action =
            smoothed_action(&self.actor_target, next.clone(), self.dims, noise, &mut self.rng, &self.inference);
        let min_q_next = floats(self.critic_target.min(next, next_action));
        let y = vector(batch.targets(&min_q_next, self.config.gamma as f32), &self.device);
        let obs = matrix(batch.obs, b, &self.device);
        let (q1, q2) = self.critic.forward(obs.clone(), matrix(batch.actions, b, &self.device));
        let critic_loss = (q1 - y.clone()).square().mean() + (q2 - y).square().mean();
        let critic_value = log.then(|| floats(critic_loss.clone().inner())[0] as f64);
        let grads = GradientsParams::from_grads(critic_loss.backward(), &self.critic);
        self.critic = self.critic_optimizer.step_flushed(self.config.lr, self.critic.clone(), grads);
        self.gradient_steps += 1;
        if !self.gradient_steps.is_multiple_of(self.config.policy_delay.max(1)) {
            return critic_value.map(|c| (c, f64::NAN));
        }
        let action = self.actor.mean_action(obs.clone()).expect("a Gaussian head");
        let actor_loss = self.critic.forward(obs, action).0.mean().neg();
        let actor_value = log.then(|| floats(actor_loss.clone().inner())[0] as f64);
        let grads = GradientsParams::from_grads(actor_loss.backward(), &self.actor);
        self.actor = self.actor_optimizer.step_flushed(self.config.lr, self.actor.clone(), grads);
        self.actor_target = polyak(self.actor_target.clone(), &self.actor.valid(), self.config.tau);
        self.critic_target = polyak(self.critic_target.clone(), &self.critic.valid(), self.config.tau);
        critic_value.map(|c| (c, actor_value.unwrap_or(f64::NAN)))
    }

    /// One unit: `log_every` environment steps, each followed by a gradient step once
    /// learning has started.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let steps = self.config.log_every.max(1);
        if self.explorer.env_steps + steps > self.config.total_steps {
            return Ok(None);
        }
        let mut finished = Vec::new();
        let mut losses = (f64::NAN, f64::NAN);
        for k in 0..steps {
            let action = self.explore();
            finished.extend(self.explorer.step(action)?);
            if self.explorer.env_steps >= self.config.learning_starts.max(1) {
                // The last `policy_delay` steps log, so one of them has an actor step.
                let log = k + self.config.policy_delay.max(1) >= steps;
                if let Some((critic, actor)) = self.learn(log) {
                    losses = (critic, if actor.is_nan() { losses.1 } else { actor });
                }
            }
        }
        if losses.0.is_infinite() || (losses.0.is_nan() && self.gradient_steps > 0) {
            return Err(TrainError::diverged(losses.0, "environment step", self.explorer.env_steps));
        }
        let values = vec![
            ("gradient_step", self.gradient_steps as f64),
            ("train/critic_loss", losses.0),
            ("train/actor_loss", losses.1),
            ("rollout/return_mean", mean_or_nan(&finished)),
        ];
        Ok(Some(Metrics { step: self.explorer.env_steps, values }))
    }
}

impl_algorithm!(Td3Trainer, LIVE, |t| t.explorer.env_steps, artifacts: |t| vec![crate::artifact::critic("twin_q", t.critic.valid(), &t.config)]);

/// Target policy smoothing: the target actor's action at `next` plus Gaussian noise of standard
/// deviation `noise.0` clipped to ±`noise.1`, kept in [−1, 1]. TD3's and TD3+BC's targets.
pub(crate) fn smoothed_action(
    actor: &PolicyNet,
    next: Tensor<2>,
    dims: usize,
    noise: (f64, f64),
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Tensor<2> {
    let (rows, clip) = (next.dims()[0], noise.1 as f32);
    let smoothing: Vec<f32> =
        normal(rng, rows * dims, noise.0 as f32).into_iter().map(|e| e.clamp(-clip, clip)).collect();
    (actor.mean_action(next).expect("a Gaussian head") + matrix(smoothing, rows, device)).clamp(-1.0, 1.0)
}

/// TD3 in the registry.
pub const ENTRY: Entry = Entry {
    name: "td3",
    summary: "TD3: twin Q, delayed deterministic actor, target smoothing",
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
    ],
    config: ConfigType::of::<Td3Config>(defaults_of::<Td3Config>),
    budget: |t| Ok(Budget::steps(typed::<Td3Config>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(Td3Trainer::new(cx.env, &typed(t)?, cx.device)?)),
};
