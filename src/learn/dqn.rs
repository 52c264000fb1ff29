//! Deep Q-learning (Mnih et al. 2015) for discrete actions: act ε-greedily, store every
//! transition in a replay buffer, and regress Q(s, a) onto r + γ·Q_target(s', a*) with a
//! periodically copied target network; double Q (van Hasselt et al. 2016) picks a* with the
//! online network. The Q-network is a categorical policy network whose logits are read as
//! Q-values, so its mode is the greedy action and `eval` and the app take a DQN run as is.

use super::bc::TrainError;
use super::floats;
use super::buffer::{Batch, ReplayBuffer};
use super::policy::{Layout, MlpPolicy, Normalizer, PolicyConfig, PolicyNet};
use super::trainer::{Algorithm, Metrics};
use crate::sim::{Action, Env, ScenarioEnv, Space, VecEnv};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// DQN's hyperparameters (defaults: RL-Zoo's CartPole settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DqnConfig {
    /// The Q-network (its categorical head's logits are the Q-values).
    pub policy: PolicyConfig,
    /// Environment steps to train for.
    pub total_steps: usize,
    /// Transitions the replay buffer keeps.
    pub buffer_size: usize,
    /// Environment steps of exploration before the first gradient step.
    pub learning_starts: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Environment steps between training phases.
    pub train_every: usize,
    /// Gradient steps in each training phase.
    pub gradient_steps: usize,
    /// Environment steps between copies of the online network into the target network.
    pub target_update_every: usize,
    /// Fraction of `total_steps` over which ε falls from `epsilon_start` to `epsilon_end`.
    pub exploration_fraction: f64,
    /// Probability of a random action at the start.
    pub epsilon_start: f64,
    /// Probability of a random action after the exploration phase.
    pub epsilon_end: f64,
    /// Choose the next action with the online network, value it with the target network.
    pub double_q: bool,
    /// Gradients are rescaled to at most this norm.
    pub max_grad_norm: f64,
    /// Seed of the environment, the initialization, exploration and sampling.
    pub seed: u64,
}

impl Default for DqnConfig {
    fn default() -> DqnConfig {
        DqnConfig {
            policy: PolicyConfig { hidden: vec![256, 256], ..PolicyConfig::default() },
            total_steps: 50_000,
            buffer_size: 100_000,
            learning_starts: 1_000,
            batch_size: 64,
            lr: 2.3e-3,
            gamma: 0.99,
            train_every: 256,
            gradient_steps: 128,
            target_update_every: 10,
            exploration_fraction: 0.16,
            epsilon_start: 1.0,
            epsilon_end: 0.04,
            double_q: true,
            max_grad_norm: 10.0,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while DQN runs.
pub const LIVE: [&str; 6] = ["lr", "gradient_steps", "train_every", "target_update_every", "epsilon_end", "total_steps"];

/// The regression targets r + γ·(1 − terminated)·Q_next, per row.
pub fn td_targets(rewards: &[f32], terminated: &[f32], next_q: &[f32], gamma: f32) -> Vec<f32> {
    rewards.iter().zip(terminated).zip(next_q).map(|((r, t), q)| r + gamma * (1.0 - t) * q).collect()
}

/// Huber loss (δ = 1), averaged: ½d² for |d| ≤ 1, |d| − ½ beyond. `d`: [batch].
pub fn huber(d: Tensor<1>) -> Tensor<1> {
    let a = d.abs();
    let inner = a.clone().clamp_max(1.0);
    (inner.clone().square() * 0.5 + (a - inner)).mean()
}

pub struct DqnTrainer {
    pub config: DqnConfig,
    space: Space,
    actions: usize,
    obs_dim: usize,
    env: VecEnv,
    obs: Vec<f32>,
    buffer: ReplayBuffer,
    online: PolicyNet,
    target: PolicyNet,
    optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    episode_return: f32,
    env_steps: usize,
    updates: usize,
}

impl DqnTrainer {
    pub fn new(env: &ScenarioEnv, config: &DqnConfig, device: &Device) -> Result<DqnTrainer, TrainError> {
        let space = env.action_space().clone();
        let actions = match config.policy.layout(&space) {
            Layout::Categorical { sizes } if sizes.len() == 1 => sizes[0],
            _ => return Err(TrainError::Config("DQN needs a discrete action space".into())),
        };
        if config.policy.history > 1 {
            return Err(TrainError::Config("DQN acts on single observations (policy.history = 1)".into()));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        autodiff.seed(config.seed);
        let online = config.policy.build(obs_dim, &space, &autodiff);
        let mut vec_env = VecEnv::new(env.fork(), 1, config.seed);
        let obs = vec_env.reset().remove(0);
        let clipping = GradientClippingConfig::Norm(config.max_grad_norm as f32);
        Ok(DqnTrainer {
            config: config.clone(),
            space,
            actions,
            obs_dim,
            env: vec_env,
            obs,
            buffer: ReplayBuffer::new(config.buffer_size, obs_dim, 1),
            target: online.valid(),
            online,
            optimizer: AdamConfig::new().with_grad_clipping(Some(clipping)).init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0xD1B5_4A32_D192_ED03),
            episode_return: 0.0,
            env_steps: 0,
            updates: 0,
        })
    }

    /// The greedy policy of the current Q-network.
    pub fn policy(&self) -> MlpPolicy {
        let identity = Normalizer { mean: vec![0.0; self.obs_dim], std: vec![1.0; self.obs_dim] };
        MlpPolicy::new(self.online.valid(), self.config.policy.clone(), identity, self.space.clone(), self.inference.clone())
    }

    /// ε after `env_steps`: linear from `epsilon_start` to `epsilon_end`, then constant.
    pub fn epsilon(&self) -> f64 {
        let span = (self.config.exploration_fraction * self.config.total_steps as f64).max(1.0);
        let t = (self.env_steps as f64 / span).min(1.0);
        self.config.epsilon_start + (self.config.epsilon_end - self.config.epsilon_start) * t
    }

    /// Takes `steps` ε-greedy environment steps into the buffer; returns finished episodes' returns.
    fn collect(&mut self, steps: usize) -> Result<Vec<f32>, TrainError> {
        // The online network does not change while collecting.
        let greedy = self.online.valid();
        let mut finished = Vec::new();
        for _ in 0..steps {
            let choice = if self.rng.random::<f64>() < self.epsilon() {
                self.rng.random_range(0..self.actions)
            } else {
                match greedy.decide(&self.obs, &self.inference, None) {
                    Action::Discrete(c) => c,
                    other => unreachable!("a categorical head over one dimension gives {other:?}"),
                }
            };
            let step = self.env.step(&[Action::Discrete(choice)]).map_err(|e| TrainError::Config(e.to_string()))?.remove(0);
            // After an episode ends, `step.obs` is the next episode's first observation.
            let next = step.final_obs.as_deref().unwrap_or(&step.obs);
            self.buffer.push(&self.obs, &[choice as f32], step.reward, next, step.terminated);
            self.episode_return += step.reward;
            if step.terminated || step.truncated {
                finished.push(std::mem::take(&mut self.episode_return));
            }
            self.obs = step.obs;
            self.env_steps += 1;
            if self.env_steps % self.config.target_update_every.max(1) == 0 {
                self.target = self.online.valid();
            }
        }
        Ok(finished)
    }

    fn tensor(&self, data: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
        let width = data.len() / rows.max(1);
        Tensor::<2>::from_data(TensorData::new(data, [rows, width]), device)
    }

    /// Q-values of the next states under the target network, of the action double Q picks.
    fn next_values(&self, batch: &Batch, rows: usize) -> Vec<f32> {
        let next = self.tensor(batch.next_obs.clone(), rows, &self.inference);
        let q_target = self.target.outputs(next.clone());
        let chosen = if self.config.double_q {
            self.online.valid().outputs(next).argmax(1)
        } else {
            q_target.clone().argmax(1)
        };
        floats(q_target.gather(1, chosen).reshape([rows]))
    }

    /// One gradient step on a sampled minibatch; returns its loss when `log`.
    fn learn(&mut self, log: bool) -> Option<f64> {
        let rows = self.config.batch_size.max(1);
        let batch = self.buffer.sample(rows, &mut self.rng);
        let targets = td_targets(&batch.rewards, &batch.terminated, &self.next_values(&batch, rows), self.config.gamma as f32);
        let chosen: Vec<i64> = batch.actions.iter().map(|&a| a as i64).collect();
        let chosen = Tensor::<2, Int>::from_data(TensorData::new(chosen, [rows, 1]), &self.device);
        let q = self.online.outputs(self.tensor(batch.obs, rows, &self.device)).gather(1, chosen).reshape([rows]);
        let loss = huber(q - Tensor::<1>::from_data(TensorData::new(targets, [rows]), &self.device));
        let value = log.then(|| floats(loss.clone().inner()).first().copied().unwrap_or(f32::NAN) as f64);
        let grads = GradientsParams::from_grads(loss.backward(), &self.online);
        self.online = self.optimizer.step(self.config.lr, self.online.clone(), grads);
        value
    }

    /// One unit: `train_every` environment steps, then `gradient_steps` steps once the
    /// buffer has `learning_starts` transitions.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let steps = self.config.train_every.max(1);
        if self.env_steps + steps > self.config.total_steps {
            return Ok(None);
        }
        let finished = self.collect(steps)?;
        let mut loss = f64::NAN;
        if self.env_steps >= self.config.learning_starts {
            let n = self.config.gradient_steps;
            for k in 0..n {
                if let Some(l) = self.learn(k + 1 == n) {
                    loss = l;
                }
            }
            if !loss.is_finite() && n > 0 {
                return Err(TrainError::Diverged(loss, self.updates));
            }
        }
        self.updates += 1;
        let mean = finished.iter().sum::<f32>() as f64 / finished.len() as f64;
        let values = vec![
            ("update", self.updates as f64),
            ("train/loss", loss),
            ("train/epsilon", self.epsilon()),
            // NaN when no episode ended in these steps (the column exists from the first row).
            ("rollout/return_mean", if finished.is_empty() { f64::NAN } else { mean }),
        ];
        Ok(Some(Metrics { step: self.env_steps, values }))
    }
}

impl Algorithm for DqnTrainer {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        self.update()
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    fn policy(&self) -> Option<MlpPolicy> {
        Some(DqnTrainer::policy(self))
    }

    fn step(&self) -> usize {
        self.env_steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn td_targets_bootstrap_only_where_the_episode_did_not_end() {
        // 1 + 0.9·5 = 5.5; terminated: just the reward.
        assert_eq!(td_targets(&[1.0, 1.0], &[0.0, 1.0], &[5.0, 5.0], 0.9), [5.5, 1.0]);
    }

    #[test]
    fn huber_is_quadratic_near_zero_and_linear_beyond_one() {
        let d = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, -2.0, 3.0], [3]), &Device::flex());
        // ½·0.25, 2 − ½, 3 − ½ → mean (0.125 + 1.5 + 2.5) / 3.
        let loss = floats(huber(d))[0];
        assert!((loss - 4.125 / 3.0).abs() < 1e-6, "{loss}");
    }
}
