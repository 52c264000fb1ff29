//! Implicit Q-learning (Kostrikov et al. 2021), offline RL that never queries the critic on an
//! action outside the dataset: V(s) fits an upper expectile of Q(s, a) over the dataset's
//! actions (expectile τ: how close to their best), Q(s, a) regresses onto r + γ·V(s′), and the
//! policy is advantage-weighted behaviour cloning, weights exp(β·(Q(s, a) − V(s))) — AWR's
//! extraction on a value learned by TD instead of Monte-Carlo returns.

use super::batch::{floats, matrix, vector};
use super::critic::{TwinQ, polyak};
use super::error::TrainError;
use super::offline::{Dataset, expectile_loss, unit};
use super::optim::FlushedStep;
use super::policy::{Head, Mlp, MlpPolicy, PolicyConfig, PolicyNet, Target};
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use data::Episode;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::ScenarioEnv;

/// IQL's hyperparameters (the paper's locomotion settings, smaller networks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IqlConfig {
    /// The policy (a `gaussian` head, acting by its mean).
    pub policy: PolicyConfig,
    /// Widths of the Q- and value networks' hidden layers.
    pub critic_hidden: Vec<usize>,
    /// Gradient steps to train for.
    pub gradient_steps: usize,
    /// Gradient steps per log row.
    pub log_every: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Adam learning rate of every network.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Polyak factor of the target Q-networks.
    pub tau: f64,
    /// The expectile τ of Q that V fits (0.5: the mean, the behaviour's value; → 1: the best action's).
    pub expectile: f64,
    /// Inverse temperature β of the advantage weights exp(β·A).
    pub beta: f64,
    /// Advantage weights are clipped to at most this.
    pub max_weight: f64,
    /// Seed of the initialization and the minibatches.
    pub seed: u64,
}

impl Default for IqlConfig {
    fn default() -> IqlConfig {
        IqlConfig {
            policy: PolicyConfig { hidden: vec![64, 64], head: Head::Gaussian, ..PolicyConfig::default() },
            critic_hidden: vec![64, 64],
            gradient_steps: 10_000,
            log_every: 500,
            batch_size: 256,
            lr: 1e-3,
            gamma: 0.99,
            tau: 0.005,
            expectile: 0.7,
            // The paper's β = 3 assumes rewards rescaled to returns of ~1,000 in all; on the
            // mixed pendulum dataset (returns −120 to −1,500) it reached expert fraction
            // 0.18, β = 1 0.65, β = 0.3 0.99.
            beta: 0.3,
            max_weight: 100.0,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while IQL runs.
pub const LIVE: [&str; 4] = ["lr", "beta", "expectile", "gradient_steps"];

/// The critics and the state value, trained by one optimizer.
#[derive(Module, Debug)]
pub struct Critics {
    pub q: TwinQ,
    pub v: Mlp,
}

pub struct IqlTrainer {
    pub config: IqlConfig,
    data: Dataset,
    policy: PolicyNet,
    critics: Critics,
    q_target: TwinQ,
    policy_optimizer: ModuleOptimizer,
    critic_optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    steps: usize,
}

impl IqlTrainer {
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &IqlConfig,
        device: &Device,
    ) -> Result<IqlTrainer, TrainError> {
        let data = Dataset::new(env, episodes, config.gamma as f32, "IQL")?;
        if !config.policy.single_step() {
            return Err(TrainError::Config("IQL acts on single observations (policy.history = 1)".into()));
        }
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let (obs_dim, activation) = (data.obs_dim, config.policy.activation);
        let q = TwinQ::new(obs_dim, data.dims, &config.critic_hidden, activation, &autodiff);
        let v = Mlp::new(obs_dim, &config.critic_hidden, 1, activation, false, &autodiff);
        Ok(IqlTrainer {
            config: config.clone(),
            policy: config.policy.build(obs_dim, &data.space, &autodiff),
            q_target: q.valid(),
            critics: Critics { q, v },
            data,
            policy_optimizer: AdamConfig::new().init(),
            critic_optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x1F1_1F1),
            steps: 0,
        })
    }

    pub fn policy(&self) -> MlpPolicy {
        self.data.policy(self.policy.valid(), &self.config.policy, &self.inference)
    }

    /// One step of V, Q and the policy on a minibatch; returns (value loss, Q loss, policy
    /// loss, mean advantage).
    fn learn(&mut self) -> [f64; 4] {
        let batch = self.data.buffer.sample(self.config.batch_size.max(1), &mut self.rng);
        let b = batch.len();
        let (obs, actions) =
            (matrix(batch.obs.clone(), b, &self.device), matrix(batch.actions.clone(), b, &self.device));
        let q_old = self
            .q_target
            .min(matrix(batch.obs.clone(), b, &self.inference), matrix(batch.actions.clone(), b, &self.inference));
        let next_v =
            floats(self.critics.v.valid().forward(matrix(batch.next_obs.clone(), b, &self.inference)).reshape([b]));
        let y = vector(batch.targets(&next_v, self.config.gamma as f32), &self.device);
        // V: an upper expectile of the target critics' Q over the dataset's actions.
        let v = self.critics.v.forward(obs.clone()).reshape([b]);
        let q_old = floats(q_old);
        let advantage: Vec<f32> = q_old.iter().zip(floats(v.clone().inner())).map(|(q, v)| q - v).collect();
        let value_loss = expectile_loss(vector(q_old, &self.device) - v, self.config.expectile);
        let (q1, q2) = self.critics.q.forward(obs.clone(), actions.clone());
        let q_loss = (q1 - y.clone()).square().mean() + (q2 - y).square().mean();
        let losses = (floats(value_loss.clone().inner())[0] as f64, floats(q_loss.clone().inner())[0] as f64);
        let grads = GradientsParams::from_grads((value_loss + q_loss).backward(), &self.critics);
        self.critics = self.critic_optimizer.step_flushed(self.config.lr, self.critics.clone(), grads);
        self.q_target = polyak(self.q_target.clone(), &self.critics.q.valid(), self.config.tau);
        // The policy: behaviour cloning weighted by exp(β·A), clipped.
        let (beta, cap) = (self.config.beta as f32, self.config.max_weight as f32);
        let weights: Vec<f32> = advantage.iter().map(|a| (beta * a).exp().min(cap)).collect();
        let policy_loss = self.policy.loss(obs, &Target::Continuous(actions), Some(vector(weights, &self.device)));
        let policy_value = floats(policy_loss.clone().inner())[0] as f64;
        let grads = GradientsParams::from_grads(policy_loss.backward(), &self.policy);
        self.policy = self.policy_optimizer.step_flushed(self.config.lr, self.policy.clone(), grads);
        self.steps += 1;
        [losses.0, losses.1, policy_value, advantage.iter().sum::<f32>() as f64 / b as f64]
    }

    /// `log_every` gradient steps.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let (done, total, every) = (self.steps, self.config.gradient_steps, self.config.log_every);
        let Some([value, q, policy, advantage]) = unit(done, total, every, || self.learn())? else { return Ok(None) };
        let values = vec![
            ("train/value_loss", value),
            ("train/q_loss", q),
            ("train/policy_loss", policy),
            ("train/advantage_mean", advantage),
        ];
        Ok(Some(Metrics { step: self.steps, values }))
    }
}

impl_algorithm!(IqlTrainer, LIVE, |t| t.steps, artifacts: |t| vec![crate::artifact::critic("twin_q", t.critics.q.valid(), &t.config)]);

/// IQL in the registry.
pub const ENTRY: Entry = Entry {
    name: "iql",
    summary: "Implicit Q-learning: offline, an expectile value and advantage-weighted cloning",
    preset_of: None,
    needs: Needs::OFFLINE,
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[
        Plot::steps("Critics", Unit::GradientSteps, &["train/value_loss", "train/q_loss"]),
        Plot::steps("Policy", Unit::GradientSteps, &["train/policy_loss", "train/advantage_mean"]),
    ],
    config: ConfigType::of::<IqlConfig>(defaults_of::<IqlConfig>),
    budget: |t| Ok(Budget::steps(typed::<IqlConfig>(t)?.gradient_steps)),
    build: |t, cx| Ok(Box::new(IqlTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?)),
};
