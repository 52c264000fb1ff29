//! REINFORCE (Williams 1992) with reward-to-go and a learned baseline, as Levine & Finn's deep RL
//! tutorial derives the policy gradient: sample whole episodes, weight each action's log-probability by the
//! discounted return that followed it minus the state's estimated value, and step up that
//! gradient. No clipping, no reuse of old samples: the plain estimator PPO improves on.

use super::batch::{floats, matrix, push_target, vector};
use super::error::TrainError;
use super::offpolicy::{identity, mean_or_nan};
use super::optim::FlushedStep;
use super::policy::{Head, Layout, Mlp, MlpPolicy, PolicyConfig, PolicyNet, Target, unscale_action};
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv, Space, VecEnv};

/// REINFORCE's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReinforceConfig {
    /// The policy's network and head (continuous actions need a `gaussian` head).
    pub policy: PolicyConfig,
    /// Widths of the baseline (value) network's hidden layers.
    pub value_hidden: Vec<usize>,
    /// Environment steps to train for.
    pub total_steps: usize,
    /// Whole episodes sampled per gradient step.
    pub episodes_per_update: usize,
    /// Adam learning rate of the policy and the baseline.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Subtract a learned state value from the reward-to-go (lower variance, same expectation).
    pub baseline: bool,
    /// Standardize the weights within each batch.
    pub normalize_advantages: bool,
    /// Seed of the environment, the initialization and the sampling.
    pub seed: u64,
}

impl Default for ReinforceConfig {
    fn default() -> ReinforceConfig {
        ReinforceConfig {
            policy: PolicyConfig {
                hidden: vec![64, 64],
                head: Head::Gaussian,
                state_dependent_std: false,
                ..PolicyConfig::default()
            },
            value_hidden: vec![64, 64],
            total_steps: 200_000,
            episodes_per_update: 8,
            lr: 3e-3,
            gamma: 0.99,
            baseline: true,
            normalize_advantages: true,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while REINFORCE runs.
pub const LIVE: [&str; 3] = ["lr", "episodes_per_update", "total_steps"];

/// Discounted reward-to-go of each step of one episode: G_t = r_t + γ·G_{t+1}, starting from
/// `tail` after the last step (the value of the state an episode was cut at; 0 if it ended).
pub fn reward_to_go(rewards: &[f32], gamma: f32, tail: f32) -> Vec<f32> {
    let mut out = vec![0.0; rewards.len()];
    let mut g = tail;
    for t in (0..rewards.len()).rev() {
        g = rewards[t] + gamma * g;
        out[t] = g;
    }
    out
}

/// The policy and its baseline, trained by one optimizer.
#[derive(Module, Debug)]
pub struct PolicyWithBaseline {
    pub policy: PolicyNet,
    /// State value: [batch, obs] → [batch, 1].
    pub baseline: Mlp,
}

/// The steps of a batch of whole episodes.
#[derive(Default, Clone)]
pub(crate) struct Episodes {
    pub(crate) obs: Vec<f32>,
    pub(crate) floats: Vec<f32>,
    pub(crate) classes: Vec<i64>,
    /// Each step's discounted reward-to-go.
    pub(crate) returns: Vec<f32>,
}

pub struct ReinforceTrainer {
    pub config: ReinforceConfig,
    space: Space,
    obs_dim: usize,
    env: VecEnv,
    obs: Vec<f32>,
    model: PolicyWithBaseline,
    optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    env_steps: usize,
    updates: usize,
}

impl ReinforceTrainer {
    pub fn new(env: &ScenarioEnv, config: &ReinforceConfig, device: &Device) -> Result<ReinforceTrainer, TrainError> {
        let space = env.action_space().clone();
        if !matches!(config.policy.layout(&space), Layout::Categorical { .. } | Layout::Gaussian { tanh: false, .. })
            || !config.policy.single_step()
        {
            return Err(TrainError::Config(
                "REINFORCE needs a categorical (discrete actions) or `gaussian` head on single observations".into(),
            ));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let model = PolicyWithBaseline {
            policy: config.policy.build(obs_dim, &space, &autodiff),
            baseline: Mlp::new(obs_dim, &config.value_hidden, 1, config.policy.activation, false, &autodiff),
        };
        let mut vec_env = VecEnv::new(env.fork(), 1, config.seed);
        let obs = vec_env.reset().remove(0);
        Ok(ReinforceTrainer {
            config: config.clone(),
            space,
            obs_dim,
            env: vec_env,
            obs,
            model,
            optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x4E1F_04CE_4E1F_04CE),
            env_steps: 0,
            updates: 0,
        })
    }

    pub fn policy(&self) -> MlpPolicy {
        let (net, config) = (self.model.policy.valid(), self.config.policy.clone());
        MlpPolicy::new(net, config, identity(self.obs_dim), self.space.clone(), self.inference.clone())
    }

    fn value(&self, obs: &[f32]) -> f32 {
        let x = matrix(obs.to_vec(), 1, &self.inference);
        floats(self.model.baseline.valid().forward(x).reshape([1]))[0]
    }

    /// Samples one whole episode into `batch`; returns its return.
    pub(crate) fn episode(&mut self, batch: &mut Episodes) -> Result<f32, TrainError> {
        let policy = self.model.policy.valid();
        let mut rewards = Vec::new();
        loop {
            let drawn = policy.draw(&self.obs, &self.inference, Some(&mut self.rng));
            push_target(&drawn, None, &mut batch.floats, &mut batch.classes);
            batch.obs.extend_from_slice(&self.obs);
            let step = self
                .env
                .step(&[unscale_action(&self.space, super::ppo::clamp_action(drawn))])
                .map_err(|e| TrainError::Config(e.to_string()))?
                .get(0)
                .clone();
            rewards.push(step.reward);
            self.env_steps += 1;
            self.obs = step.obs;
            if step.terminated || step.truncated {
                // An episode cut by the step limit would have gone on: its value stands in.
                let tail = match (&step.final_obs, step.terminated, self.config.baseline) {
                    (Some(last), false, true) => self.value(last),
                    _ => 0.0,
                };
                batch.returns.extend(reward_to_go(&rewards, self.config.gamma as f32, tail));
                return Ok(rewards.iter().sum());
            }
        }
    }

    /// One gradient step on `episodes_per_update` fresh episodes.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if self.env_steps >= self.config.total_steps {
            return Ok(None);
        }
        let (batch, finished) = self.sample()?;
        let rows = batch.returns.len();
        self.learn(&batch, None, rows, &finished).map(Some)
    }

    /// `episodes_per_update` fresh episodes, and their returns.
    pub(crate) fn sample(&mut self) -> Result<(Episodes, Vec<f32>), TrainError> {
        let mut batch = Episodes::default();
        let mut finished = Vec::new();
        for _ in 0..self.config.episodes_per_update.max(1) {
            finished.push(self.episode(&mut batch)?);
        }
        Ok((batch, finished))
    }

    /// Log-probabilities of the rows' actions under the current policy.
    pub(crate) fn log_probs(&self, batch: &Episodes) -> Vec<f32> {
        let rows = batch.returns.len();
        let x = matrix(batch.obs.clone(), rows, &self.inference);
        floats(self.model.policy.valid().nll(x, &target(batch, rows, &self.inference)).neg())
    }

    /// The gradient step on a batch: each row's log-probability weighted by its return less
    /// the baseline (standardized), times its `importance` weight when given. The baseline
    /// fits the first `own_rows` rows, the learner's own: it estimates the learner's value,
    /// not that of other data in the batch. `finished`: the returns of the learner's episodes.
    pub(crate) fn learn(
        &mut self,
        batch: &Episodes,
        importance: Option<Vec<f32>>,
        own_rows: usize,
        finished: &[f32],
    ) -> Result<Metrics, TrainError> {
        let rows = batch.returns.len();
        let x = matrix(batch.obs.clone(), rows, &self.device);
        let returns = vector(batch.returns.clone(), &self.device);
        let values = self.model.baseline.forward(x.clone()).reshape([rows]);
        let mut weights = batch.returns.clone();
        if self.config.baseline {
            let v = floats(values.clone().inner());
            weights.iter_mut().zip(v).for_each(|(w, v)| *w -= v);
        }
        let own = own_rows.clamp(1, rows);
        if self.config.normalize_advantages && own > 1 {
            // Standardized by the learner's own rows' statistics, so other data keeps its
            // advantage relative to what the learner does.
            super::batch::standardize(&mut weights, own);
        }
        if let Some(importance) = importance {
            weights.iter_mut().zip(importance).for_each(|(w, i)| *w *= i);
        }
        let target = target(batch, rows, &self.device);
        // The policy gradient's surrogate: −E[log π(a|s)·(G − b(s))]; nll is −log π.
        let policy_loss = (self.model.policy.nll(x, &target) * vector(weights, &self.device)).mean();
        let value_loss = (values - returns).narrow(0, 0, own).square().mean();
        let loss =
            if self.config.baseline { policy_loss.clone() + value_loss.clone() * 0.5 } else { policy_loss.clone() };
        let (pl, vl) = (floats(policy_loss.inner())[0] as f64, floats(value_loss.inner())[0] as f64);
        if !pl.is_finite() {
            return Err(TrainError::diverged(pl, "update", self.updates));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step_flushed(self.config.lr, self.model.clone(), grads);
        self.updates += 1;
        let values = vec![
            ("update", self.updates as f64),
            ("train/policy_loss", pl),
            ("train/value_loss", vl),
            ("rollout/return_mean", mean_or_nan(finished)),
        ];
        Ok(Metrics { step: self.env_steps, values })
    }

    /// Environment steps taken so far.
    pub fn env_steps(&self) -> usize {
        self.env_steps
    }
}

/// The rows' actions as the head's target.
fn target(batch: &Episodes, rows: usize, device: &Device) -> Target {
    if batch.classes.is_empty() {
        Target::Continuous(matrix(batch.floats.clone(), rows, device))
    } else {
        let d = batch.classes.len() / rows;
        Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(batch.classes.clone(), [rows, d]), device))
    }
}

impl_algorithm!(ReinforceTrainer, LIVE, |t| t.env_steps);

/// REINFORCE in the registry.
pub const ENTRY: Entry = Entry {
    name: "reinforce",
    summary: "REINFORCE: policy gradient on reward-to-go with a learned baseline",
    preset_of: None,
    needs: Needs::REWARD,
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[Plot::steps("Losses", Unit::EnvSteps, &["train/policy_loss", "train/value_loss"])],
    config: ConfigType::of::<ReinforceConfig>(defaults_of::<ReinforceConfig>),
    budget: |t| Ok(Budget::steps(typed::<ReinforceConfig>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(ReinforceTrainer::new(cx.env, &typed(t)?, cx.device)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_to_go_discounts_what_follows_and_starts_from_the_tail() {
        assert_eq!(reward_to_go(&[1.0, 1.0, 1.0], 0.5, 0.0), [1.75, 1.5, 1.0]);
        // A cut episode: the last state's value (4) is discounted in.
        assert_eq!(reward_to_go(&[1.0, 1.0], 0.5, 4.0), [2.5, 3.0]);
    }
}
