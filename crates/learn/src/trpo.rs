//! Trust region policy optimization (Schulman et al. 2015), the natural (covariant) policy
//! gradient of Levine & Finn's tutorial made safe by a constraint: maximize the importance-
//! weighted surrogate E[π(a|s)/π_old(a|s)·Â] subject to E[KL(π_old ‖ π)] ≤ δ.
//!
//! Each update solves F·s = g by conjugate gradient, where g is the surrogate's gradient and
//! F the Fisher information (the KL's Hessian at the old policy), scales s to the edge of the
//! trust region, √(2δ / sᵀFs), and backtracks along it until the KL holds and the surrogate
//! improves. Burn has no double backward, so F·v is a central difference of KL gradients,
//! (∇KL(θ + εv) − ∇KL(θ − εv)) / 2ε: exact for a quadratic KL and two backward passes per
//! conjugate-gradient iteration. The critic is fitted separately by Adam on the returns.
//!
//! Rollouts, GAE and the observation and value normalizers are PPO's (`PpoTrainer`): only the
//! policy step differs.

use super::batch::{matrix, scalar, vector};
use super::error::TrainError;
use super::flat::{axpy, dot, gradients, params, with_params};
use super::optim::FlushedStep;
use super::policy::{ActionDistribution, Head, MlpPolicy, PolicyConfig, PolicyNet, Target};
use super::ppo::{PpoConfig, PpoTrainer, Rollout};
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, table, typed};
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sim::ScenarioEnv;

/// TRPO's hyperparameters (defaults: sb3-contrib's, with more environments per rollout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrpoConfig {
    /// The policy's network and head (continuous actions need a `gaussian` head).
    pub policy: PolicyConfig,
    /// Widths of the value network's hidden layers.
    pub value_hidden: Vec<usize>,
    /// Environment steps to train for, over all environments.
    pub total_steps: usize,
    /// Environments stepped in parallel.
    pub envs: usize,
    /// Steps per environment in each rollout (one policy step per rollout).
    pub rollout_steps: usize,
    /// Discount factor.
    pub gamma: f64,
    /// GAE's λ.
    pub gae_lambda: f64,
    /// The trust region: the largest mean KL(π_old ‖ π) one update may move.
    pub max_kl: f64,
    /// Conjugate-gradient iterations solving F·s = g.
    pub cg_iterations: usize,
    /// Added to F's diagonal (F + d·I), which keeps the solve well posed.
    pub cg_damping: f64,
    /// Backtracking steps of the line search before the update is skipped.
    pub line_search_steps: usize,
    /// Each backtracking step multiplies the step by this.
    pub line_search_shrink: f64,
    /// The critic's Adam learning rate.
    pub value_lr: f64,
    /// Passes of the critic over each rollout.
    pub value_epochs: usize,
    /// Minibatches each critic pass is split into.
    pub value_minibatches: usize,
    /// Standardize observations with running statistics (saved with the policy).
    pub normalize_obs: bool,
    /// Train the critic on standardized returns.
    pub normalize_values: bool,
    /// Seed of the environments, the initialization and the sampling.
    pub seed: u64,
}

impl Default for TrpoConfig {
    fn default() -> TrpoConfig {
        TrpoConfig {
            policy: PolicyConfig { hidden: vec![64, 64], head: Head::Gaussian, ..PolicyConfig::default() },
            value_hidden: vec![64, 64],
            total_steps: 100_000,
            envs: 8,
            rollout_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            max_kl: 0.01,
            cg_iterations: 15,
            cg_damping: 0.1,
            line_search_steps: 10,
            line_search_shrink: 0.8,
            value_lr: 1e-3,
            value_epochs: 10,
            value_minibatches: 8,
            normalize_obs: false,
            normalize_values: false,
            seed: 0,
        }
    }
}

impl TrpoConfig {
    /// For continuous actions: standardized observations and value targets.
    pub fn continuous() -> TrpoConfig {
        TrpoConfig { normalize_obs: true, normalize_values: true, ..TrpoConfig::default() }
    }

    /// The PPO configuration whose rollouts and critic targets TRPO shares.
    fn rollouts(&self) -> PpoConfig {
        PpoConfig {
            policy: self.policy.clone(),
            value_hidden: self.value_hidden.clone(),
            total_steps: self.total_steps,
            envs: self.envs,
            rollout_steps: self.rollout_steps,
            gamma: self.gamma,
            gae_lambda: self.gae_lambda,
            normalize_obs: self.normalize_obs,
            normalize_values: self.normalize_values,
            seed: self.seed,
            ..PpoConfig::default()
        }
    }
}

/// Hyperparameters that can change while TRPO runs.
pub const LIVE: [&str; 4] = ["max_kl", "value_lr", "value_epochs", "total_steps"];

/// Solves A·x = b for a symmetric positive-definite A given as a product `apply`, in at most
/// `iterations` conjugate-gradient steps from x = 0.
pub fn conjugate_gradient(apply: &mut dyn FnMut(&[f32]) -> Vec<f32>, b: &[f32], iterations: usize) -> Vec<f32> {
    let mut x = vec![0.0; b.len()];
    let (mut r, mut p) = (b.to_vec(), b.to_vec());
    let mut rr = dot(&r, &r);
    for _ in 0..iterations {
        if rr < 1e-10 {
            break;
        }
        let ap = apply(&p);
        let alpha = rr / dot(&p, &ap).max(1e-12);
        x = axpy(&x, alpha, &p);
        r = axpy(&r, -alpha, &ap);
        let next = dot(&r, &r);
        p = axpy(&r, next / rr, &p);
        rr = next;
    }
    x
}

/// One rollout seen by the policy step: inputs, actions, standardized advantages, and the
/// rollout policy's log-probabilities and distributions as constants.
struct Batch {
    x: Tensor<2>,
    target: Target,
    advantages: Tensor<1>,
    old_logp: Tensor<1>,
    old: ActionDistribution,
}

impl Batch {
    /// The surrogate E[exp(log π − log π_old)·Â].
    fn surrogate(&self, net: &PolicyNet) -> Tensor<1> {
        ((net.nll(self.x.clone(), &self.target).neg() - self.old_logp.clone()).exp() * self.advantages.clone()).mean()
    }

    /// Mean KL(π_old ‖ π) over the rollout's states.
    fn kl(&self, net: &PolicyNet) -> Tensor<1> {
        let new = net.distribution(self.x.clone()).expect("TRPO's heads have closed-form KLs");
        self.old.kl(&new).mean()
    }
}

pub struct TrpoTrainer {
    pub config: TrpoConfig,
    /// PPO's machinery: environments, normalizers, actor and critic.
    ppo: PpoTrainer,
    value_optimizer: ModuleOptimizer,
}

impl TrpoTrainer {
    pub fn new(env: &ScenarioEnv, config: &TrpoConfig, device: &Device) -> Result<TrpoTrainer, TrainError> {
        let ppo = PpoTrainer::new(env, &config.rollouts(), device)?;
        Ok(TrpoTrainer { config: config.clone(), ppo, value_optimizer: AdamConfig::new().init() })
    }

    pub fn policy(&self) -> MlpPolicy {
        self.ppo.policy()
    }

    /// One update: a rollout, a natural-gradient step inside the trust region, critic fitting.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if !self.ppo.has_budget() {
            return Ok(None);
        }
        let (mut rollout, finished) = self.ppo.collect()?;
        let (advantages, returns) = self.ppo.value_targets(&mut rollout);
        let batch = self.batch(&rollout, advantages);
        let (gain, kl, backtracks) = self.policy_step(&batch)?;
        let value_loss = self.fit_critic(&rollout.obs, &returns);
        self.ppo.updates += 1;
        let values = vec![
            ("update", self.ppo.updates as f64),
            ("train/surrogate_gain", gain),
            ("train/kl", kl),
            ("train/backtracks", backtracks as f64),
            ("train/value_loss", value_loss),
            ("rollout/return_mean", super::offpolicy::mean_or_nan(&finished)),
        ];
        Ok(Some(Metrics { step: self.ppo.env_steps(), values }))
    }

    fn batch(&self, rollout: &Rollout, mut advantages: Vec<f32>) -> Batch {
        let rows = advantages.len();
        let device = &self.ppo.device;
        super::batch::standardize(&mut advantages, rows);
        let x = matrix(rollout.obs.clone(), rows, device);
        let all: Vec<usize> = (0..rows).collect();
        let target = self.ppo.target(rollout, &all, device);
        let actor = &self.ppo.model.actor;
        let old_logp = actor.nll(x.clone(), &target).neg().detach();
        let old = actor.distribution(x.clone()).expect("TRPO's heads have closed-form KLs").detach();
        Batch { x, target, advantages: vector(advantages, device), old_logp, old }
    }

    /// The natural-gradient step with its line search; returns the surrogate's gain, the KL
    /// moved and the backtracking steps taken (`line_search_steps`: none accepted).
    fn policy_step(&mut self, batch: &Batch) -> Result<(f64, f64, usize), TrainError> {
        let actor = self.ppo.model.actor.clone();
        let theta = params(&actor);
        let grads = GradientsParams::from_grads(batch.surrogate(&actor).backward(), &actor);
        let g = gradients(&actor, &grads);
        if !g.iter().all(|v| v.is_finite()) {
            return Err(TrainError::diverged(f64::NAN, "update", self.ppo.updates));
        }
        let damping = self.config.cg_damping as f32;
        let eps_scale = 1e-3 * (1.0 + dot(&theta, &theta).sqrt());
        let mut fisher = |v: &[f32]| -> Vec<f32> {
            let eps = eps_scale / dot(v, v).sqrt().max(1e-12);
            let kl_grad = |sign: f32| {
                let net = with_params(actor.clone(), &axpy(&theta, sign * eps, v));
                let grads = GradientsParams::from_grads(batch.kl(&net).backward(), &net);
                gradients(&net, &grads)
            };
            let (plus, minus) = (kl_grad(1.0), kl_grad(-1.0));
            plus.iter().zip(&minus).zip(v).map(|((p, m), v)| (p - m) / (2.0 * eps) + damping * v).collect()
        };
        let step = conjugate_gradient(&mut fisher, &g, self.config.cg_iterations);
        let curvature = dot(&step, &fisher(&step)).max(1e-12);
        let scale = (2.0 * self.config.max_kl as f32 / curvature).sqrt();
        let before = scalar(batch.surrogate(&actor).inner());
        let mut fraction = 1.0;
        for k in 0..self.config.line_search_steps {
            let candidate = with_params(actor.clone(), &axpy(&theta, scale * fraction, &step));
            let (after, kl) = (scalar(batch.surrogate(&candidate).inner()), scalar(batch.kl(&candidate).inner()));
            if kl.is_finite() && kl <= self.config.max_kl * 1.5 && after > before {
                self.ppo.model.actor = candidate;
                return Ok((after - before, kl, k));
            }
            fraction *= self.config.line_search_shrink as f32;
        }
        Ok((0.0, 0.0, self.config.line_search_steps))
    }

    /// Minibatch Adam steps of the critic on the rollout's value targets; returns the last loss.
    fn fit_critic(&mut self, obs: &[f32], returns: &[f32]) -> f64 {
        let (rows, dim) = (returns.len(), self.ppo.obs_dim);
        let mut order: Vec<usize> = (0..rows).collect();
        let size = rows.div_ceil(self.config.value_minibatches.max(1));
        let mut loss = f64::NAN;
        for epoch in 0..self.config.value_epochs {
            order.shuffle(self.ppo.rng());
            for (k, chunk) in order.chunks(size).enumerate() {
                let device = &self.ppo.device;
                let x = matrix(
                    chunk.iter().flat_map(|&i| obs[i * dim..(i + 1) * dim].iter().copied()).collect(),
                    chunk.len(),
                    device,
                );
                let y = vector(chunk.iter().map(|&i| returns[i]).collect(), device);
                let critic = self.ppo.model.critic.clone();
                let error = (critic.forward(x).reshape([chunk.len()]) - y).square().mean();
                if epoch + 1 == self.config.value_epochs && (k + 1) * size >= rows {
                    loss = scalar(error.clone().inner());
                }
                let grads = GradientsParams::from_grads(error.backward(), &critic);
                self.ppo.model.critic = self.value_optimizer.step_flushed(self.config.value_lr, critic, grads);
            }
        }
        loss
    }
}

impl_algorithm!(TrpoTrainer, LIVE, |t| t.ppo.env_steps());

/// TRPO in the registry.
pub const ENTRY: Entry = Entry {
    name: "trpo",
    summary: "TRPO: natural policy gradient by conjugate gradient, inside a KL trust region",
    preset_of: None,
    needs: Needs::REWARD,
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Trust region", Unit::EnvSteps, &["train/kl", "train/surrogate_gain"]),
        Plot::steps("Critic", Unit::EnvSteps, &["train/value_loss"]),
    ],
    config: ConfigType::of::<TrpoConfig>(|| table(&TrpoConfig::default()))
        .with_continuous(|| table(&TrpoConfig::continuous())),
    budget: |t| Ok(Budget::steps(typed::<TrpoConfig>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(TrpoTrainer::new(cx.env, &typed(t)?, cx.device)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conjugate_gradient_solves_a_small_system() {
        // A = [[4, 1], [1, 3]], b = [1, 2] → x = [1/11, 7/11].
        let mut apply = |v: &[f32]| vec![4.0 * v[0] + v[1], v[0] + 3.0 * v[1]];
        let x = conjugate_gradient(&mut apply, &[1.0, 2.0], 10);
        assert!((x[0] - 1.0 / 11.0).abs() < 1e-5 && (x[1] - 7.0 / 11.0).abs() < 1e-5, "{x:?}");
    }

    #[test]
    fn the_fisher_product_of_a_categorical_policy_matches_its_closed_form() {
        // A bias-only change δ of the logits: F·δ = E[diag(p) − ppᵀ]·δ on the last bias.
        let device = Device::flex().autodiff();
        let config = PolicyConfig { hidden: vec![4], ..PolicyConfig::default() };
        let net = config.build(2, &sim::Space::Discrete { n: 3 }, &device);
        let x = Tensor::<2>::from_data(burn::tensor::TensorData::new(vec![0.5f32, -1.0, 1.5, 0.2], [2, 2]), &device);
        let old = net.distribution(x.clone()).unwrap().detach();
        let theta = params(&net);
        let mut v = vec![0.0; theta.len()];
        let n = v.len();
        v[n - 3..].copy_from_slice(&[1.0, -0.5, 0.25]);
        let eps = 1e-2;
        let kl_grad = |sign: f32| {
            let moved = with_params(net.clone(), &axpy(&theta, sign * eps, &v));
            let grads =
                GradientsParams::from_grads(old.kl(&moved.distribution(x.clone()).unwrap()).mean().backward(), &moved);
            gradients(&moved, &grads)
        };
        let fv: Vec<f32> = kl_grad(1.0).iter().zip(kl_grad(-1.0)).map(|(p, m)| (p - m) / (2.0 * eps)).collect();
        let ActionDistribution::Categorical(logp) = &old else { unreachable!() };
        let p = crate::batch::floats(logp[0].clone().exp().flatten::<1>(0, 1));
        let delta = [1.0f32, -0.5, 0.25];
        let mut expected = [0.0f32; 3];
        for row in p.chunks(3) {
            let pd: f32 = row.iter().zip(&delta).map(|(p, d)| p * d).sum();
            for k in 0..3 {
                expected[k] += (row[k] * delta[k] - row[k] * pd) / 2.0;
            }
        }
        let got = &fv[n - 3..];
        assert!(got.iter().zip(&expected).all(|(g, e)| (g - e).abs() < 1e-3), "{got:?} != {expected:?}");
    }
}
