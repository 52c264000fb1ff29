//! Deep Q-learning (Mnih et al. 2015) for discrete actions: act ε-greedily, store every
//! transition in a replay buffer, and regress Q(s, a) onto r + γ·Q_target(s', a*) with a
//! periodically copied target network; double Q (van Hasselt et al. 2016) picks a* with the
//! online network. The Q-network is a categorical policy network whose logits are read as
//! Q-values, so its mode is the greedy action and `eval` and the app take a DQN run as is.
//!
//! DQfD (Hester et al. 2018) is this loop with demonstrations: they sit in a buffer of their
//! own that every batch draws `demo_ratio` of its rows from (and all of them during
//! `pretrain_steps` gradient steps before the first environment step), a large-margin loss
//! makes the demonstrated action's value exceed every other's by `margin`, and targets are
//! n-step returns. (The paper adds the n-step loss to a one-step loss; here the n-step
//! target replaces it.) Soft Q-learning (`soft_q`) is this loop with a temperature.

use super::batch::{floats, ints, matrix};
use super::buffer::{Batch, NStep, ReplayBuffer};
use super::error::TrainError;
use super::optim::FlushedStep;
use super::policy::{Layout, MlpPolicy, Normalizer, PolicyConfig, PolicyNet};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, table, typed};
use super::threads;
use super::trainer::{Metrics, impl_algorithm};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::Episode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space, VecEnv};

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
    /// Soft Q-learning's temperature α (0: the hard max of plain DQN). Above 0, targets use
    /// the soft value α·log Σ_a exp(Q(s′, a)/α) and actions are drawn from softmax(Q/α).
    pub temperature: f64,
    /// Rewards summed (discounted) before bootstrapping: n-step returns.
    pub n_step: usize,
    /// Fraction of each batch drawn from the demonstrations (DQfD).
    pub demo_ratio: f64,
    /// Gradient steps on the demonstrations alone before the first environment step.
    pub pretrain_steps: usize,
    /// Weight of the large-margin loss on demonstration rows.
    pub margin_weight: f64,
    /// How far the demonstrated action's value must exceed any other action's.
    pub margin: f64,
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
            temperature: 0.0,
            n_step: 1,
            demo_ratio: 0.0,
            pretrain_steps: 0,
            margin_weight: 0.0,
            margin: 0.8,
            seed: 0,
        }
    }
}

impl DqnConfig {
    /// DQfD: a quarter of every batch from the demonstrations, 1000 pretraining steps on
    /// them, the large-margin loss and 10-step returns.
    pub fn dqfd() -> DqnConfig {
        DqnConfig { demo_ratio: 0.25, pretrain_steps: 1_000, margin_weight: 1.0, n_step: 10, ..DqnConfig::default() }
    }
}

/// Hyperparameters that can change while DQN runs.
pub const LIVE: [&str; 8] = [
    "lr",
    "gradient_steps",
    "train_every",
    "target_update_every",
    "epsilon_end",
    "total_steps",
    "demo_ratio",
    "margin_weight",
];

/// DQfD's large-margin loss, averaged: max_a [Q(s, a) + margin·(a ≠ a_E)] − Q(s, a_E).
/// `q`: [batch, actions]; `expert`: the demonstrated actions, [batch, 1].
pub fn margin_loss(q: Tensor<2>, expert: Tensor<2, Int>, margin: f32) -> Tensor<1> {
    let [b, n] = q.dims();
    let chosen: Vec<i64> = ints(expert.clone());
    let margins: Vec<f32> =
        chosen.iter().flat_map(|&e| (0..n).map(move |a| if a as i64 == e { 0.0 } else { margin })).collect();
    let margins = matrix(margins, b, &q.device());
    let best = (q.clone() + margins).max_dim(1).reshape([b]);
    (best - q.gather(1, expert).reshape([b])).mean()
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
    /// Demonstrations as n-step transitions (empty without them).
    demos: ReplayBuffer,
    nstep: NStep,
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
        DqnTrainer::with_demos(env, config, &[], device)
    }

    /// DQN, or DQfD when `demos` are given and the config draws on them.
    pub fn with_demos(
        env: &ScenarioEnv,
        config: &DqnConfig,
        demos: &[Episode],
        device: &Device,
    ) -> Result<DqnTrainer, TrainError> {
        let space = env.action_space().clone();
        let actions = match config.policy.layout(&space) {
            Layout::Categorical { sizes } if sizes.len() == 1 => sizes[0],
            _ => return Err(TrainError::Config("DQN needs a discrete action space".into())),
        };
        if !config.policy.single_step() {
            return Err(TrainError::Config(
                "DQN acts on single observations (policy.history = 1, policy.kind = \"mlp\")".into(),
            ));
        }
        if (config.demo_ratio > 0.0 || config.pretrain_steps > 0) && demos.is_empty() {
            return Err(TrainError::NoData(
                "demo_ratio and pretrain_steps learn from demonstrations: give --demos".into(),
            ));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let online = config.policy.build(obs_dim, &space, &autodiff);
        let class = |a: &Action| match a {
            Action::Discrete(c) => vec![*c as f32],
            _ => vec![f32::NAN],
        };
        let gamma = config.gamma as f32;
        let demos = ReplayBuffer::from_episodes(demos, config.n_step, gamma, |o| o.to_vec(), class);
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
            demos,
            nstep: NStep::new(config.n_step, gamma),
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
        MlpPolicy::new(
            self.online.valid(),
            self.config.policy.clone(),
            identity,
            self.space.clone(),
            self.inference.clone(),
        )
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
            } else if self.config.temperature > 0.0 {
                let x = self.tensor(self.obs.clone(), 1, &self.inference);
                let q = floats(greedy.outputs(x).reshape([self.actions]));
                super::soft_q::boltzmann(&q, self.config.temperature as f32, &mut self.rng)
            } else {
                match greedy.decide(&self.obs, &self.inference, None) {
                    Action::Discrete(c) => c,
                    other => unreachable!("a categorical head over one dimension gives {other:?}"),
                }
            };
            let step = self
                .env
                .step(&[Action::Discrete(choice)])
                .map_err(|e| TrainError::Config(e.to_string()))?
                .get(0)
                .clone();
            // After an episode ends, `step.obs` is the next episode's first observation.
            let next = step.final_obs.as_deref().unwrap_or(&step.obs);
            let ended = step.terminated || step.truncated;
            for t in self.nstep.add(&self.obs, &[choice as f32], step.reward, next, step.terminated, ended) {
                self.buffer.insert(&t);
            }
            self.episode_return += step.reward;
            if ended {
                finished.push(std::mem::take(&mut self.episode_return));
            }
            self.obs = step.obs;
            self.env_steps += 1;
            if self.env_steps.is_multiple_of(self.config.target_update_every.max(1)) {
                self.target = self.online.valid();
            }
        }
        Ok(finished)
    }

    fn tensor(&self, data: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
        let width = data.len() / rows.max(1);
        Tensor::<2>::from_data(TensorData::new(data, [rows, width]), device)
    }

    /// Values of the next states under the target network: of the action double Q picks, or
    /// the soft value with a temperature.
    fn next_values(&self, batch: &Batch, rows: usize) -> Vec<f32> {
        let next = self.tensor(batch.next_obs.clone(), rows, &self.inference);
        let q_target = self.target.outputs(next.clone());
        if self.config.temperature > 0.0 {
            return floats(super::soft_q::soft_value(q_target, self.config.temperature as f32));
        }
        let chosen =
            if self.config.double_q { self.online.valid().outputs(next).argmax(1) } else { q_target.clone().argmax(1) };
        floats(q_target.gather(1, chosen).reshape([rows]))
    }

    /// A minibatch: `demo_ratio` of its rows (rounded) from the demonstrations, the rest
    /// from the agent's buffer (all from the demonstrations while it is empty). Demonstration
    /// rows come last; returns how many there are.
    fn sample(&mut self) -> (Batch, usize) {
        let size = self.config.batch_size.max(1);
        let from_demos = match (self.demos.is_empty(), self.buffer.is_empty()) {
            (true, _) => 0,
            (false, true) => size,
            (false, false) => ((size as f64 * self.config.demo_ratio).round() as usize).min(size),
        };
        let agent = self.buffer.sample(if self.buffer.is_empty() { 0 } else { size - from_demos }, &mut self.rng);
        if from_demos == 0 {
            return (agent, 0);
        }
        (agent.concat(self.demos.sample(from_demos, &mut self.rng)), from_demos)
    }

    /// One gradient step on a sampled minibatch; returns its loss when `log`.
    fn learn(&mut self, log: bool) -> Option<f64> {
        let (mut batch, from_demos) = self.sample();
        let rows = batch.len();
        // The next states' values and the online network's forward pass are independent:
        // side by side on two cores (the products are too small for Burn to split).
        let obs = self.tensor(std::mem::take(&mut batch.obs), rows, &self.device);
        let (next, q_all) = threads::side_by_side(|| self.next_values(&batch, rows), || self.online.outputs(obs));
        let targets = batch.targets(&next, self.config.gamma as f32);
        let chosen: Vec<i64> = batch.actions.iter().map(|&a| a as i64).collect();
        let chosen = Tensor::<2, Int>::from_data(TensorData::new(chosen, [rows, 1]), &self.device);
        let q = q_all.clone().gather(1, chosen.clone()).reshape([rows]);
        let mut loss = huber(q - Tensor::<1>::from_data(TensorData::new(targets, [rows]), &self.device));
        if from_demos > 0 && self.config.margin_weight > 0.0 {
            let at = rows - from_demos;
            let margin = margin_loss(
                q_all.narrow(0, at, from_demos),
                chosen.narrow(0, at, from_demos),
                self.config.margin as f32,
            );
            loss = loss + margin * self.config.margin_weight;
        }
        let value = log.then(|| floats(loss.clone().inner()).first().copied().unwrap_or(f32::NAN) as f64);
        let grads = GradientsParams::from_grads(loss.backward(), &self.online);
        self.online = self.optimizer.step_flushed(self.config.lr, self.online.clone(), grads);
        value
    }

    /// One unit: `train_every` environment steps, then `gradient_steps` steps once the
    /// buffer has `learning_starts` transitions.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let steps = self.config.train_every.max(1);
        if self.env_steps + steps > self.config.total_steps {
            return Ok(None);
        }
        if self.updates == 0 && !self.demos.is_empty() {
            // DQfD: learn the demonstrations' values before acting.
            for _ in 0..self.config.pretrain_steps {
                self.learn(false);
            }
        }
        let finished = self.collect(steps)?;
        let mut loss = f64::NAN;
        if self.env_steps >= self.config.learning_starts {
            let n = self.config.gradient_steps;
            // On rayon's pool with its other threads awake, so each step's `join` costs no wake-up.
            loss = threads::on_pool(|| (0..n).fold(f64::NAN, |loss, k| self.learn(k + 1 == n).unwrap_or(loss)));
            if !loss.is_finite() && n > 0 {
                return Err(TrainError::diverged(loss, "update", self.updates));
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

impl_algorithm!(DqnTrainer, LIVE, |t| t.env_steps, artifacts: |t| vec![crate::artifact::critic("q_network", t.online.valid(), &t.config)]);

/// DQN in the registry.
pub const ENTRY: Entry = Entry {
    name: "dqn",
    summary: "Deep Q-learning: double Q, replay buffer, target network",
    preset_of: None,
    needs: Needs { demos: false, expert: false, reward: true, actions: Actions::Discrete, init: false, resume: false, learned_reward: false },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("TD loss", Unit::EnvSteps, &["train/loss"]),
        Plot::steps("Exploration", Unit::EnvSteps, &["train/epsilon"]),
    ],
    config: ConfigType::of::<DqnConfig>(defaults_of::<DqnConfig>),
    budget: |t| Ok(Budget::steps(typed::<DqnConfig>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(DqnTrainer::with_demos(cx.env, &typed(t)?, &cx.demos, cx.device)?)),
};

/// DQfD: DQN with demonstrations, a large-margin loss and n-step returns.
pub const DQFD: Entry = Entry {
    name: "dqfd",
    summary: "DQfD: DQN with demonstrations, a large-margin loss and n-step returns",
    preset_of: Some("dqn"),
    needs: Needs { demos: true, ..ENTRY.needs },
    config: ConfigType::of::<DqnConfig>(|| table(&DqnConfig::dqfd())),
    ..ENTRY
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_loss_is_zero_only_when_the_demonstrated_action_leads_by_the_margin() {
        let device = Device::flex();
        let q = Tensor::<2>::from_floats([[1.0, 2.0, 0.0], [3.0, 1.0, 0.0]], &device);
        let expert = Tensor::<2, Int>::from_ints([[0], [0]], &device);
        // Row 1: max(1, 2 + 0.8, 0 + 0.8) − 1 = 1.8; row 2: max(3, 1.8, 0.8) − 3 = 0.
        let loss = floats(margin_loss(q, expert, 0.8))[0];
        assert!((loss - 0.9).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn huber_is_quadratic_near_zero_and_linear_beyond_one() {
        let d = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, -2.0, 3.0], [3]), &Device::flex());
        // ½·0.25, 2 − ½, 3 − ½ → mean (0.125 + 1.5 + 2.5) / 3.
        let loss = floats(huber(d))[0];
        assert!((loss - 4.125 / 3.0).abs() < 1e-6, "{loss}");
    }
}
