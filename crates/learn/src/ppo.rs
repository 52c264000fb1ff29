//! Proximal policy optimization (Schulman et al. 2017), the actor-critic workhorse of Levine & Finn's deep RL tutorial:
//! collect a rollout from vectorized environments, estimate advantages with GAE, then take
//! several epochs of minibatch steps on the clipped surrogate objective, a value loss and
//! an entropy bonus. Discrete actions get a categorical head, continuous ones a Gaussian
//! with one learned log-std per dimension.
//!
//! With demonstrations and `bc_weight`, every minibatch step also lowers the demonstrated
//! actions' negative log-likelihood, weighted by `bc_weight·bc_decay^update` (DAPG, Rajeswaran
//! et al. 2018); with `--init`, the actor starts from a pretrained policy and keeps its
//! observation normalizer.

use super::batch::{floats, push_target, scalar};
use super::error::TrainError;
use super::optim::FlushedStep;
use super::policy::{
    Activation, Head, Layout, Mlp, MlpPolicy, Normalizer, PolicyConfig, PolicyNet, Target, unscale_action,
};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, table, typed};
use super::reward::{RewardModel, Transition};
use super::rl::Pretrained;
use super::trainer::{Metrics, impl_algorithm};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::Episode;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space, VecEnv};

/// PPO's hyperparameters (defaults: RL-Zoo's CartPole settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// The actor's network and head (continuous actions need a `gaussian` head).
    pub policy: PolicyConfig,
    /// Widths of the value network's hidden layers.
    pub value_hidden: Vec<usize>,
    /// Environment steps to train for, over all environments.
    pub total_steps: usize,
    /// Environments stepped in parallel.
    pub envs: usize,
    /// Steps per environment in each rollout.
    pub rollout_steps: usize,
    /// Passes over each rollout.
    pub epochs: usize,
    /// Minibatches each pass is split into.
    pub minibatches: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Decay the learning rate linearly to zero over `total_steps`.
    pub anneal_lr: bool,
    /// Discount factor.
    pub gamma: f64,
    /// GAE's λ: 0 uses one-step TD errors, 1 Monte-Carlo returns.
    pub gae_lambda: f64,
    /// The probability ratio is clipped to [1 − clip, 1 + clip].
    pub clip: f64,
    /// Weight of the value loss.
    pub value_coef: f64,
    /// Weight of the entropy bonus.
    pub entropy_coef: f64,
    /// Gradients are rescaled to at most this global norm.
    pub max_grad_norm: f64,
    /// Standardize advantages within each minibatch.
    pub normalize_advantages: bool,
    /// Standardize observations with running statistics (saved with the policy).
    pub normalize_obs: bool,
    /// Train the critic on returns standardized by running statistics, so the value loss stays
    /// near 1 whatever the reward's scale (pendulum's returns reach −1,000; unscaled, the value
    /// loss swamps the policy's and the run diverges).
    pub normalize_values: bool,
    /// Weight of the behaviour-cloning term on the demonstrations (DAPG; 0: none).
    pub bc_weight: f64,
    /// The BC weight is multiplied by this after every update.
    pub bc_decay: f64,
    /// Seed of the environments, the initialization and the sampling.
    pub seed: u64,
}

impl Default for PpoConfig {
    fn default() -> PpoConfig {
        PpoConfig {
            policy: PolicyConfig {
                hidden: vec![64, 64],
                // ReLU, not SB3's tanh: Burn flex's tanh is a scalar libm call per element
                // and took 60% of PPO's time (perf); ReLU learns cartpole as well.
                activation: Activation::Relu,
                head: Head::Gaussian,
                state_dependent_std: false,
                ..PolicyConfig::default()
            },
            value_hidden: vec![64, 64],
            total_steps: 100_000,
            envs: 8,
            rollout_steps: 32,
            epochs: 20,
            minibatches: 1,
            lr: 1e-3,
            anneal_lr: true,
            gamma: 0.98,
            gae_lambda: 0.8,
            clip: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.0,
            max_grad_norm: 0.5,
            normalize_advantages: true,
            normalize_obs: false,
            normalize_values: false,
            bc_weight: 0.0,
            bc_decay: 1.0,
            seed: 0,
        }
    }
}

impl PpoConfig {
    /// The defaults for continuous actions, from RL-Zoo's continuous-control settings: longer
    /// rollouts cut into minibatches of 64, GAE's λ = 0.95, standardized observations and
    /// value targets.
    pub fn continuous() -> PpoConfig {
        PpoConfig {
            envs: 4,
            rollout_steps: 1024,
            epochs: 10,
            minibatches: 64,
            // RL-Zoo's pendulum rate (1e-3) reached −107 at 65k steps here, then collapsed to
            // −1,250; 3e-4 (its MuJoCo rate) reached −99 and stayed.
            lr: 3e-4,
            gamma: 0.95,
            gae_lambda: 0.95,
            normalize_obs: true,
            normalize_values: true,
            ..PpoConfig::default()
        }
    }

    /// DAPG: PPO plus a behaviour-cloning term that starts at 0.5 and decays by 5% per update
    /// (on cartpole with 5 demos, 0.5 beat PPO on 4 seeds of 4 at 5k steps; 0.1 was erratic).
    pub fn dapg() -> PpoConfig {
        PpoConfig { bc_weight: 0.5, bc_decay: 0.95, ..PpoConfig::default() }
    }
}

/// Hyperparameters that can change while PPO runs.
pub const LIVE: [&str; 9] =
    ["lr", "epochs", "clip", "entropy_coef", "value_coef", "total_steps", "anneal_lr", "bc_weight", "bc_decay"];

/// Generalized advantage estimation for one environment's rollout. `rewards[t]` already
/// includes the discounted value of the last state of an episode cut by the step limit;
/// `ends[t]`: an episode ended at step t (nothing is bootstrapped across it); `last_value`:
/// the value of the state after the rollout. Returns (advantages, returns).
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    ends: &[bool],
    last_value: f32,
    gamma: f32,
    lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut advantages = vec![0.0; n];
    let mut next = 0.0;
    for t in (0..n).rev() {
        let keep = if ends[t] { 0.0 } else { 1.0 };
        let next_value = if t + 1 < n { values[t + 1] } else { last_value };
        let delta = rewards[t] + gamma * keep * next_value - values[t];
        next = delta + gamma * lambda * keep * next;
        advantages[t] = next;
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

/// The clipped surrogate loss, averaged over the batch: −E[min(r·A, clip(r, 1−ε, 1+ε)·A)]
/// with r = exp(logp − old_logp). All inputs [batch].
pub fn clipped_loss(logp: Tensor<1>, old_logp: Tensor<1>, advantages: Tensor<1>, clip: f64) -> Tensor<1> {
    let ratio = (logp - old_logp).exp();
    let unclipped = ratio.clone() * advantages.clone();
    let clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages;
    unclipped.min_pair(clipped).mean().neg()
}

/// A continuous action clamped to [-1, 1] (others as they are).
pub(crate) fn clamp_action(action: Action) -> Action {
    match action {
        Action::Continuous(v) => Action::Continuous(v.into_iter().map(|x| x.clamp(-1.0, 1.0)).collect()),
        other => other,
    }
}

/// Observation statistics updated as data arrives (Welford), for `normalize_obs`.
#[derive(Debug, Clone)]
struct RunningStats {
    count: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl RunningStats {
    fn new(dim: usize) -> RunningStats {
        RunningStats { count: 0.0, mean: vec![0.0; dim], m2: vec![0.0; dim] }
    }

    fn add(&mut self, x: &[f32]) {
        self.count += 1.0;
        for (k, &v) in x.iter().enumerate() {
            let d = v as f64 - self.mean[k];
            self.mean[k] += d / self.count;
            self.m2[k] += d * (v as f64 - self.mean[k]);
        }
    }

    fn normalizer(&self) -> Normalizer {
        if self.count == 0.0 {
            return Normalizer { mean: vec![0.0; self.mean.len()], std: vec![1.0; self.mean.len()] };
        }
        let std = self.m2.iter().map(|m| ((m / self.count.max(1.0)).sqrt() as f32).max(1e-3)).collect();
        Normalizer { mean: self.mean.iter().map(|&m| m as f32).collect(), std }
    }
}

/// The actor (a policy network with its head) and the critic, trained by one optimizer.
#[derive(Module, Debug)]
pub struct ActorCritic {
    pub actor: PolicyNet,
    /// State value: [batch, obs] → [batch, 1].
    pub critic: Mlp,
}

/// One rollout, time-major (row t·envs + i is environment i at step t).
pub struct Rollout {
    /// Observations as the actor saw them (normalized).
    pub(crate) obs: Vec<f32>,
    /// Scaled continuous actions, or class indices.
    floats: Vec<f32>,
    classes: Vec<i64>,
    /// The reward of each row: the scenario's, until a learned reward relabels them.
    pub rewards: Vec<f32>,
    ends: Vec<bool>,
    /// Rows whose episode ended inside the task (not cut by the step limit).
    pub terminated: Vec<bool>,
    /// Truncated episodes' last observations, to bootstrap from: (row, observation).
    cut: Vec<(usize, Vec<f32>)>,
    /// Each row's raw observation, action and next observation (the episode's last one at
    /// its end), for a learned reward to score.
    pub raw: Vec<(Vec<f32>, Action, Vec<f32>)>,
}

impl Rollout {
    /// The rows as transitions.
    pub fn transitions(&self) -> Vec<Transition<'_>> {
        self.raw.iter().map(|(obs, action, next)| Transition { obs, action, next }).collect()
    }

    /// Replaces the rewards with learned ones, each terminal row's gaining γ·`terminal_value`
    /// (the learned return after the end, see `RewardModel::absorbing_value`).
    pub fn relabel(&mut self, rewards: Vec<f32>, terminal_value: f32, gamma: f32) {
        self.rewards = rewards;
        for (r, &end) in self.rewards.iter_mut().zip(&self.terminated) {
            if end {
                *r += gamma * terminal_value;
            }
        }
    }
}

/// Demonstrated steps for the BC term: raw observations, and scaled actions or class indices.
#[derive(Default)]
struct Demos {
    obs: Vec<Vec<f32>>,
    floats: Vec<f32>,
    classes: Vec<i64>,
}

/// PPO as a sequence of updates (one rollout and its epochs each) a trainer thread can pause,
/// tune and snapshot between.
pub struct PpoTrainer {
    pub config: PpoConfig,
    space: Space,
    pub(crate) obs_dim: usize,
    envs: VecEnv,
    /// The environments' current observations (raw).
    obs: Vec<Vec<f32>>,
    stats: RunningStats,
    /// Statistics of the value targets (`normalize_values`): the critic predicts standardized returns.
    returns: RunningStats,
    /// A pretrained policy's normalizer, used instead of running statistics.
    fixed: Option<Normalizer>,
    demos: Demos,
    pub(crate) model: ActorCritic,
    optimizer: ModuleOptimizer,
    pub(crate) device: Device,
    pub(crate) inference: Device,
    rng: ChaCha8Rng,
    episode_returns: Vec<f32>,
    /// A learned reward (`--reward RUN`) that replaces the scenario's in every rollout.
    learned: Option<RewardModel>,
    env_steps: usize,
    pub(crate) updates: usize,
}

impl PpoTrainer {
    pub fn new(env: &ScenarioEnv, config: &PpoConfig, device: &Device) -> Result<PpoTrainer, TrainError> {
        PpoTrainer::with_demos(env, config, &[], None, device)
    }

    /// PPO with a BC term on `demos` (DAPG) when `bc_weight` > 0, starting from `init` if given.
    pub fn with_demos(
        env: &ScenarioEnv,
        config: &PpoConfig,
        demos: &[Episode],
        init: Option<&Pretrained>,
        device: &Device,
    ) -> Result<PpoTrainer, TrainError> {
        let space = env.action_space().clone();
        let config =
            &PpoConfig { policy: init.map_or(config.policy.clone(), |p| p.policy.config.clone()), ..config.clone() };
        let layout = config.policy.layout(&space);
        if !matches!(layout, Layout::Categorical { .. } | Layout::Gaussian { tanh: false, .. }) {
            return Err(TrainError::Config(format!(
                "PPO needs a categorical (discrete actions) or `gaussian` head, not {:?}{}",
                config.policy.head,
                if init.is_some() { "; pretrain with --set policy.head=gaussian" } else { "" }
            )));
        }
        if config.bc_weight > 0.0 && demos.is_empty() {
            return Err(TrainError::NoData("bc_weight learns from demonstrations: give --demos".into()));
        }
        if !config.policy.single_step() {
            return Err(TrainError::Config(
                "PPO acts on single observations (policy.history = 1, policy.kind = \"mlp\")".into(),
            ));
        }
        if config.envs == 0 || config.rollout_steps == 0 || config.minibatches == 0 {
            return Err(TrainError::Config("envs, rollout_steps and minibatches must be at least 1".into()));
        }
        let rollout = config.envs * config.rollout_steps;
        if config.total_steps < rollout {
            return Err(TrainError::Config(format!(
                "total_steps = {} is less than one rollout (envs {} × rollout_steps {} = {rollout}): \
                 no update would run",
                config.total_steps, config.envs, config.rollout_steps
            )));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let model = ActorCritic {
            actor: match init {
                Some(p) => p.net(&autodiff)?,
                None => config.policy.build(obs_dim, &space, &autodiff),
            },
            critic: Mlp::new(obs_dim, &config.value_hidden, 1, config.policy.activation, false, &autodiff),
        };
        let mut envs = VecEnv::new(env.fork(), config.envs, config.seed);
        let obs = envs.reset();
        let mut stats = RunningStats::new(obs_dim);
        if config.normalize_obs {
            obs.iter().for_each(|o| stats.add(o));
        }
        let clipping = GradientClippingConfig::Norm(config.max_grad_norm as f32);
        Ok(PpoTrainer {
            config: config.clone(),
            demos: demo_rows(demos, &space),
            space,
            obs_dim,
            envs,
            episode_returns: vec![0.0; obs.len()],
            obs,
            stats,
            returns: RunningStats::new(1),
            fixed: init.map(|p| p.policy.normalizer.clone()),
            model,
            optimizer: AdamConfig::new().with_grad_clipping(Some(clipping)).init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x9E37_79B9_7F4A_7C15),
            learned: None,
            env_steps: 0,
            updates: 0,
        })
    }

    /// Optimizes `reward` instead of the scenario's reward (evaluation still reports the
    /// scenario's return, and so does `rollout/return_mean`).
    pub fn with_reward(mut self, reward: Option<RewardModel>) -> PpoTrainer {
        self.learned = reward;
        self
    }

    /// The trainer's random source (shuffles, sampling).
    pub(crate) fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Environment steps taken so far.
    pub fn env_steps(&self) -> usize {
        self.env_steps
    }

    /// The normalizer the actor sees observations through (identity without `normalize_obs`).
    fn normalizer(&self) -> Normalizer {
        if let Some(fixed) = &self.fixed {
            fixed.clone()
        } else if self.config.normalize_obs {
            self.stats.normalizer()
        } else {
            Normalizer { mean: vec![0.0; self.obs_dim], std: vec![1.0; self.obs_dim] }
        }
    }

    /// The current actor as a policy that acts by its distribution's mode.
    pub fn policy(&self) -> MlpPolicy {
        MlpPolicy::new(
            self.model.actor.valid(),
            self.config.policy.clone(),
            self.normalizer(),
            self.space.clone(),
            self.inference.clone(),
        )
    }

    /// Steps the environments `rollout_steps` times with actions sampled from the actor;
    /// returns the rollout and the (scenario) returns of the episodes that finished in it.
    pub fn collect(&mut self) -> Result<(Rollout, Vec<f32>), TrainError> {
        let (n, steps) = (self.obs.len(), self.config.rollout_steps);
        let actor = self.model.actor.valid();
        let mut r = Rollout {
            obs: Vec::with_capacity(n * steps * self.obs_dim),
            floats: Vec::new(),
            classes: Vec::new(),
            rewards: Vec::with_capacity(n * steps),
            ends: Vec::with_capacity(n * steps),
            terminated: Vec::with_capacity(n * steps),
            cut: Vec::new(),
            raw: Vec::with_capacity(n * steps),
        };
        let mut finished = Vec::new();
        for _ in 0..steps {
            let normalizer = self.normalizer();
            let mut actions = Vec::with_capacity(n);
            for obs in &self.obs {
                let x: Vec<f32> = normalizer.apply(obs).collect();
                // The unclamped sample is what the ratio is computed on; the environment gets it clamped.
                let drawn = actor.draw(&x, &self.inference, Some(&mut self.rng));
                push_target(&drawn, None, &mut r.floats, &mut r.classes);
                r.obs.extend(x);
                actions.push(unscale_action(&self.space, clamp_action(drawn)));
            }
            let results = self.envs.step(&actions).map_err(|e| TrainError::Config(e.to_string()))?;
            for (i, step) in results.iter().enumerate() {
                let row = r.rewards.len();
                self.episode_returns[i] += step.reward;
                r.rewards.push(step.reward);
                r.ends.push(step.terminated || step.truncated);
                r.terminated.push(step.terminated);
                let next = step.final_obs.as_ref().unwrap_or(&step.obs).clone();
                r.raw.push((self.obs[i].clone(), actions[i].clone(), next));
                if step.terminated || step.truncated {
                    finished.push(std::mem::take(&mut self.episode_returns[i]));
                }
                if let (true, false, Some(last)) = (step.truncated, step.terminated, &step.final_obs) {
                    r.cut.push((row, normalizer.apply(last).collect()));
                }
                if self.config.normalize_obs {
                    self.stats.add(&step.obs);
                }
                self.obs[i].clone_from(&step.obs);
            }
        }
        self.env_steps += n * steps;
        Ok((r, finished))
    }

    /// Values of `rows` observations (already normalized), [rows], in the reward's units.
    fn values(&self, flat: Vec<f32>, rows: usize) -> Vec<f32> {
        if rows == 0 {
            return Vec::new();
        }
        let x = Tensor::<2>::from_data(TensorData::new(flat, [rows, self.obs_dim]), &self.inference);
        let scale = self.value_scale();
        floats(self.model.critic.valid().forward(x).reshape([rows]))
            .into_iter()
            .map(|v| v * scale.std[0] + scale.mean[0])
            .collect()
    }

    /// What the critic's outputs are standardized by (identity without `normalize_values`).
    fn value_scale(&self) -> Normalizer {
        if self.config.normalize_values { self.returns.normalizer() } else { RunningStats::new(1).normalizer() }
    }

    /// Advantages and the critic's targets of a rollout, per row: the returns, standardized
    /// with `normalize_values` (whose statistics they update first).
    pub(crate) fn value_targets(&mut self, r: &mut Rollout) -> (Vec<f32>, Vec<f32>) {
        let (advantages, mut returns) = self.targets(r);
        if self.config.normalize_values {
            returns.iter().for_each(|g| self.returns.add(&[*g]));
            let scale = self.value_scale();
            returns.iter_mut().for_each(|g| *g = (*g - scale.mean[0]) / scale.std[0]);
        }
        (advantages, returns)
    }

    /// Advantages and returns of a rollout, per row.
    fn targets(&self, r: &mut Rollout) -> (Vec<f32>, Vec<f32>) {
        let n = self.obs.len();
        let rows = r.rewards.len();
        let gamma = self.config.gamma as f32;
        let values = self.values(r.obs.clone(), rows);
        // An episode cut by the step limit did not end in the task: its last state's value
        // stands in for the rewards it would have gone on to collect.
        let cut_values = self.values(r.cut.iter().flat_map(|(_, o)| o.clone()).collect(), r.cut.len());
        for ((row, _), v) in r.cut.iter().zip(cut_values) {
            r.rewards[*row] += gamma * v;
        }
        let normalizer = self.normalizer();
        let last = self.values(self.obs.iter().flat_map(|o| normalizer.apply(o).collect::<Vec<_>>()).collect(), n);
        let (mut advantages, mut returns) = (vec![0.0; rows], vec![0.0; rows]);
        for i in 0..n {
            let column = |v: &[f32]| v.iter().skip(i).step_by(n).copied().collect::<Vec<_>>();
            let ends: Vec<bool> = r.ends.iter().skip(i).step_by(n).copied().collect();
            let (a, g) =
                gae(&column(&r.rewards), &column(&values), &ends, last[i], gamma, self.config.gae_lambda as f32);
            for (t, (a, g)) in a.into_iter().zip(g).enumerate() {
                advantages[t * n + i] = a;
                returns[t * n + i] = g;
            }
        }
        (advantages, returns)
    }

    /// What the actor is scored on at `rows` of a rollout: the actions taken.
    pub(crate) fn target(&self, r: &Rollout, rows: &[usize], device: &Device) -> Target {
        let b = rows.len();
        if r.classes.is_empty() {
            let d = r.floats.len() / r.rewards.len();
            let y = rows.iter().flat_map(|&i| r.floats[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Continuous(Tensor::<2>::from_data(TensorData::new(y, [b, d]), device))
        } else {
            let d = r.classes.len() / r.rewards.len();
            let y: Vec<i64> = rows.iter().flat_map(|&i| r.classes[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(y, [b, d]), device))
        }
    }

    /// Whether another rollout fits the budget (a bound: none starts that would pass it).
    pub fn has_budget(&self) -> bool {
        self.env_steps + self.obs.len() * self.config.rollout_steps <= self.config.total_steps
    }

    /// One update: a rollout (its rewards the learned reward's, with `--reward`), then learning from it.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if !self.has_budget() {
            return Ok(None);
        }
        let (mut rollout, finished) = self.collect()?;
        let mut learned_mean = None;
        if let Some(model) = &self.learned {
            let rewards = model.score(&rollout.transitions());
            learned_mean = Some(rewards.iter().sum::<f32>() as f64 / rewards.len().max(1) as f64);
            let gamma = self.config.gamma as f32;
            rollout.relabel(rewards, model.absorbing_value(gamma), gamma);
        }
        let mut metrics = self.learn(rollout, &finished)?;
        if let Some(mean) = learned_mean {
            metrics.values.push(("rollout/learned_reward_mean", mean));
        }
        Ok(Some(metrics))
    }

    /// Learns from a rollout: its advantages, then `epochs` passes of minibatch steps.
    /// `finished` are the returns of the episodes that ended in it.
    pub fn learn(&mut self, mut rollout: Rollout, finished: &[f32]) -> Result<Metrics, TrainError> {
        let (advantages, returns) = self.value_targets(&mut rollout);
        let rows = rollout.rewards.len();
        let all: Vec<usize> = (0..rows).collect();
        let x_all = Tensor::<2>::from_data(TensorData::new(rollout.obs.clone(), [rows, self.obs_dim]), &self.inference);
        let old_logp = floats(self.model.actor.valid().nll(x_all, &self.target(&rollout, &all, &self.inference)).neg());
        let lr = if self.config.anneal_lr {
            self.config.lr * (1.0 - self.updates as f64 * rows as f64 / self.config.total_steps.max(1) as f64).max(0.02)
        } else {
            self.config.lr
        };
        let mut order = all;
        let size = rows.div_ceil(self.config.minibatches);
        let mut last = None;
        for epoch in 0..self.config.epochs {
            order.shuffle(&mut self.rng);
            let chunks = order.chunks(size).count();
            for (k, batch) in order.chunks(size).enumerate() {
                // Reading losses back costs a sync: only the last step of an update is logged.
                let log = epoch + 1 == self.config.epochs && k + 1 == chunks;
                last = self.step(&rollout, batch, &advantages, &returns, &old_logp, lr, log)?.or(last);
            }
        }
        self.updates += 1;
        let (policy_loss, value_loss, entropy, kl) = last.unwrap_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN));
        if !(policy_loss.is_finite() && value_loss.is_finite()) && self.config.epochs > 0 {
            return Err(TrainError::diverged(policy_loss + value_loss, "update", self.updates));
        }
        let mut values: Vec<(&'static str, f64)> = vec![
            ("update", self.updates as f64),
            ("train/policy_loss", policy_loss),
            ("train/value_loss", value_loss),
            ("train/entropy", entropy),
            ("train/approx_kl", kl),
            ("train/lr", lr),
        ];
        // NaN when no episode ended in this rollout (the column exists from the first row).
        let mean = finished.iter().sum::<f32>() as f64 / finished.len() as f64;
        values.push(("rollout/return_mean", if finished.is_empty() { f64::NAN } else { mean }));
        Ok(Metrics { step: self.env_steps, values })
    }

    /// One gradient step on a minibatch; with `log`, returns its policy loss, value loss,
    /// entropy and approximate KL from the rollout's policy.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        r: &Rollout,
        batch: &[usize],
        advantages: &[f32],
        returns: &[f32],
        old_logp: &[f32],
        lr: f64,
        log: bool,
    ) -> Result<Option<(f64, f64, f64, f64)>, TrainError> {
        let b = batch.len();
        let device = &self.device;
        let pick = |v: &[f32]| -> Tensor<1> {
            Tensor::<1>::from_data(TensorData::new(batch.iter().map(|&i| v[i]).collect::<Vec<_>>(), [b]), device)
        };
        let obs: Vec<f32> =
            batch.iter().flat_map(|&i| r.obs[i * self.obs_dim..(i + 1) * self.obs_dim].iter().copied()).collect();
        let x = Tensor::<2>::from_data(TensorData::new(obs, [b, self.obs_dim]), device);
        let mut adv: Vec<f32> = batch.iter().map(|&i| advantages[i]).collect();
        if self.config.normalize_advantages && b > 1 {
            super::batch::standardize(&mut adv, b);
        }
        let adv = Tensor::<1>::from_data(TensorData::new(adv, [b]), device);
        let logp = self.model.actor.nll(x.clone(), &self.target(r, batch, device)).neg();
        let old = pick(old_logp);
        let policy_loss = clipped_loss(logp.clone(), old.clone(), adv, self.config.clip);
        let value = self.model.critic.forward(x.clone()).reshape([b]);
        let value_loss = (value - pick(returns)).square().mean();
        let mut loss = policy_loss.clone() + value_loss.clone() * self.config.value_coef;
        let entropy = self.model.actor.entropy(x);
        if let (Some(entropy), true) = (&entropy, self.config.entropy_coef != 0.0) {
            loss = loss - entropy.clone().mean() * self.config.entropy_coef;
        }
        let bc_weight = self.config.bc_weight * self.config.bc_decay.powi(self.updates as i32);
        if bc_weight > 0.0 && !self.demos.obs.is_empty() {
            loss = loss + self.bc_loss(b) * bc_weight;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step_flushed(lr, self.model.clone(), grads);
        Ok(log.then(|| {
            (
                scalar(policy_loss.inner()),
                scalar(value_loss.inner()),
                entropy.map_or(f64::NAN, |e| scalar(e.mean().inner())),
                scalar((old - logp).mean().inner()),
            )
        }))
    }
}

impl PpoTrainer {
    /// Mean negative log-likelihood of `rows` demonstrated steps drawn at random (DAPG's term).
    fn bc_loss(&mut self, rows: usize) -> Tensor<1> {
        use rand::Rng;
        let picks: Vec<usize> = (0..rows).map(|_| self.rng.random_range(0..self.demos.obs.len())).collect();
        let normalizer = self.normalizer();
        let obs: Vec<f32> =
            picks.iter().flat_map(|&i| normalizer.apply(&self.demos.obs[i]).collect::<Vec<_>>()).collect();
        let x = Tensor::<2>::from_data(TensorData::new(obs, [rows, self.obs_dim]), &self.device);
        let target = if self.demos.classes.is_empty() {
            let d = self.demos.floats.len() / self.demos.obs.len();
            let y = picks.iter().flat_map(|&i| self.demos.floats[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Continuous(Tensor::<2>::from_data(TensorData::new(y, [rows, d]), &self.device))
        } else {
            let d = self.demos.classes.len() / self.demos.obs.len();
            let y: Vec<i64> =
                picks.iter().flat_map(|&i| self.demos.classes[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(y, [rows, d]), &self.device))
        };
        self.model.actor.nll(x, &target).mean()
    }
}

/// Every demonstrated step, as the BC term reads them.
fn demo_rows(episodes: &[Episode], space: &Space) -> Demos {
    let mut demos = Demos::default();
    for step in episodes.iter().flat_map(|e| &e.steps) {
        demos.obs.push(step.obs.clone());
        push_target(&step.action, Some(space), &mut demos.floats, &mut demos.classes);
    }
    demos
}

impl_algorithm!(PpoTrainer, LIVE, |t| t.env_steps, artifacts: |t| vec![crate::artifact::critic("value_mlp", t.model.critic.valid(), &t.config)]);

/// PPO in the registry.
pub const ENTRY: Entry = Entry {
    name: "ppo",
    summary: "Proximal policy optimization: clipped policy gradient on vectorized rollouts",
    preset_of: None,
    needs: Needs {
        demos: false,
        expert: false,
        reward: true,
        actions: Actions::Any,
        init: true,
        resume: false,
        learned_reward: true,
    },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Losses", Unit::EnvSteps, &["train/policy_loss", "train/value_loss"]),
        Plot::steps("Policy", Unit::EnvSteps, &["train/entropy", "train/approx_kl"]),
    ],
    config: ConfigType::of::<PpoConfig>(defaults_of::<PpoConfig>).with_continuous(|| table(&PpoConfig::continuous())),
    budget: |t| Ok(Budget::steps(typed::<PpoConfig>(t)?.total_steps)),
    build: |t, cx| {
        let trainer = PpoTrainer::with_demos(cx.env, &typed(t)?, &cx.demos, cx.init, cx.device)?;
        Ok(Box::new(trainer.with_reward(cx.reward)))
    },
};

/// DAPG: PPO with a decaying behaviour-cloning term on the demonstrations.
pub const DAPG: Entry = Entry {
    name: "dapg",
    summary: "DAPG: PPO plus a decaying behaviour-cloning term on the demonstrations",
    preset_of: Some("ppo"),
    needs: Needs { demos: true, ..ENTRY.needs },
    config: ConfigType::of::<PpoConfig>(|| table(&PpoConfig::dapg())),
    ..ENTRY
};

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(v: &[f32]) -> Tensor<1> {
        Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5), "{a:?} != {b:?}");
    }

    #[test]
    fn gae_matches_hand_computed_advantages_and_stops_at_episode_ends() {
        let (rewards, values) = ([1.0, 1.0, 1.0], [0.5, 0.4, 0.3]);
        // δ₂ = 1 − 0.3 (ended: no bootstrap); δ₁ = 1 + 0.9·0.3 − 0.4; δ₀ = 1 + 0.9·0.4 − 0.5;
        // A_t = δ_t + 0.9·0.8·A_{t+1}.
        let (a, g) = gae(&rewards, &values, &[false, false, true], 9.0, 0.9, 0.8);
        close(&a, &[1.84928, 1.374, 0.7]);
        close(&g, &[2.34928, 1.774, 1.0]);
        // Not ended: the value after the rollout (9) is bootstrapped.
        let (a, _) = gae(&rewards, &values, &[false, false, false], 9.0, 0.9, 0.8);
        close(&a, &[6.04832, 7.206, 8.8]);
    }

    #[test]
    fn clipped_loss_takes_the_pessimistic_side_of_the_clip() {
        let logp = tensor(&[1.5f32.ln(), 0.5f32.ln(), 1.1f32.ln(), 0.5f32.ln()]);
        let advantages = tensor(&[1.0, 1.0, -2.0, -1.0]);
        // Ratios 1.5, 0.5, 1.1, 0.5 → min(rA, clip(r)A) = 1.2, 0.5, −2.2, −0.8.
        let loss = clipped_loss(logp, tensor(&[0.0; 4]), advantages, 0.2);
        close(&floats(loss), &[-(1.2 + 0.5 - 2.2 - 0.8) / 4.0]);
    }

    #[test]
    fn entropy_of_a_fresh_head_is_its_closed_form() {
        let device = Device::flex();
        let config = PpoConfig::default().policy;
        let x = Tensor::<2>::zeros([2, 4], &device);
        // Categorical with equal logits would be ln 2; a fresh network is close to it.
        let discrete = config.build(4, &Space::Discrete { n: 2 }, &device);
        let h = floats(discrete.entropy(x.clone()).unwrap());
        assert!(h.iter().all(|h| *h > 0.5 && *h <= 2f32.ln() + 1e-6), "{h:?}");
        // Gaussian with log σ = −0.5 in each of 2 dimensions: 2 · (−0.5 + ½ + ½ ln 2π).
        let space = Space::Box { low: vec![-1.0; 2], high: vec![1.0; 2] };
        let gaussian = config.build(4, &space, &device);
        close(&floats(gaussian.entropy(x).unwrap()), &[2.0 * 0.918_938_5; 2]);
    }
}
