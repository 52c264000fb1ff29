//! Advantage-weighted regression (Peng et al. 2019) on a fixed dataset, the offline cousin of
//! reward-weighted regression (Peters & Schaal 2007) in Levine & Finn's tutorial: fit a value function to the demonstrations'
//! discounted returns, then behaviour-clone every step weighted by exp(advantage / β), so the
//! better-than-expected actions of mixed-quality demonstrations count most and the worse
//! ones hardly at all. It needs demonstrations that recorded their rewards (all of ours do).

use super::batch::{floats, matrix, push_target, vector};
use super::error::TrainError;
use super::offpolicy::mean_or_nan;
use super::optim::FlushedStep;
use super::policy::{Mlp, MlpPolicy, Normalizer, PolicyConfig, PolicyNet, Target};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::reinforce::reward_to_go;
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::Episode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv, Space};

/// AWR's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AwrConfig {
    /// The policy's network and head.
    pub policy: PolicyConfig,
    /// Widths of the value network's hidden layers.
    pub value_hidden: Vec<usize>,
    /// Iterations, each a value fit then a weighted policy fit.
    pub iterations: usize,
    /// Value minibatch steps per iteration.
    pub value_steps: usize,
    /// Policy minibatch steps per iteration.
    pub policy_steps: usize,
    /// Rows per minibatch.
    pub batch_size: usize,
    /// Adam learning rate of both networks.
    pub lr: f64,
    /// Discount factor of the returns.
    pub gamma: f64,
    /// Temperature β of the weights exp(A/β), on advantages standardized over the dataset.
    pub beta: f64,
    /// Weights are clipped to at most this.
    pub max_weight: f64,
    /// Seed of the initialization and the minibatches.
    pub seed: u64,
}

impl Default for AwrConfig {
    fn default() -> AwrConfig {
        AwrConfig {
            policy: PolicyConfig::default(),
            value_hidden: vec![128, 128],
            iterations: 20,
            value_steps: 200,
            policy_steps: 500,
            batch_size: 256,
            lr: 1e-3,
            gamma: 0.99,
            beta: 1.0,
            max_weight: 20.0,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while AWR runs.
pub const LIVE: [&str; 4] = ["lr", "beta", "max_weight", "iterations"];

/// The weights exp(A/β) of advantages standardized over the batch, clipped to `max_weight`.
pub fn advantage_weights(advantages: &[f32], beta: f32, max_weight: f32) -> Vec<f32> {
    let mut standardized = advantages.to_vec();
    super::batch::standardize(&mut standardized, advantages.len());
    standardized.into_iter().map(|a| (a / beta.max(1e-6)).exp().min(max_weight)).collect()
}

/// The dataset as rows: normalized observations, actions, and each episode's layout.
struct Rows {
    obs: Vec<f32>,
    floats: Vec<f32>,
    classes: Vec<i64>,
    /// Per episode: its rewards, and its last observation (normalized) when it was cut short
    /// rather than terminated (its value is bootstrapped).
    episodes: Vec<(Vec<f32>, Option<Vec<f32>>)>,
}

pub struct AwrTrainer {
    pub config: AwrConfig,
    space: Space,
    obs_dim: usize,
    normalizer: Normalizer,
    rows: Rows,
    policy: PolicyNet,
    value: Mlp,
    policy_optimizer: ModuleOptimizer,
    value_optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    iteration: usize,
}

impl AwrTrainer {
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &AwrConfig,
        device: &Device,
    ) -> Result<AwrTrainer, TrainError> {
        let steps: Vec<Vec<f32>> = episodes.iter().flat_map(|e| e.steps.iter().map(|s| s.obs.clone())).collect();
        if steps.is_empty() {
            return Err(TrainError::NoData("AWR learns from demonstrations: the dataset has no steps".into()));
        }
        if !config.policy.single_step() {
            return Err(TrainError::Config(
                "AWR acts on single observations (policy.history = 1, policy.kind = \"mlp\")".into(),
            ));
        }
        let (space, obs_dim) = (env.action_space().clone(), env.observation_space().dim());
        let normalizer = Normalizer::fit(&steps, obs_dim);
        let rows = rows(episodes, &normalizer, &space);
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        Ok(AwrTrainer {
            config: config.clone(),
            policy: config.policy.build(obs_dim, &space, &autodiff),
            value: Mlp::new(obs_dim, &config.value_hidden, 1, config.policy.activation, false, &autodiff),
            space,
            obs_dim,
            normalizer,
            rows,
            policy_optimizer: AdamConfig::new().init(),
            value_optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0xA3B1_A3B1_A3B1_A3B1),
            iteration: 0,
        })
    }

    pub fn policy(&self) -> MlpPolicy {
        let config = self.config.policy.clone();
        MlpPolicy::new(self.policy.valid(), config, self.normalizer.clone(), self.space.clone(), self.inference.clone())
    }

    fn values(&self, obs: Vec<f32>, n: usize) -> Vec<f32> {
        floats(self.value.valid().forward(matrix(obs, n, &self.inference)).reshape([n]))
    }

    /// Each row's discounted return, bootstrapped from the current value where cut short.
    fn returns(&self) -> Vec<f32> {
        let gamma = self.config.gamma as f32;
        let mut out = Vec::with_capacity(self.rows.obs.len() / self.obs_dim);
        for (rewards, cut) in &self.rows.episodes {
            let tail = cut.as_ref().map_or(0.0, |last| self.values(last.clone(), 1)[0]);
            out.extend(reward_to_go(rewards, gamma, tail));
        }
        out
    }

    fn minibatch(&mut self, n: usize) -> Vec<usize> {
        (0..self.config.batch_size.max(1)).map(|_| self.rng.random_range(0..n)).collect()
    }

    fn target(&self, picks: &[usize]) -> Target {
        let r = &self.rows;
        let n = r.obs.len() / self.obs_dim;
        if r.classes.is_empty() {
            let d = r.floats.len() / n;
            let y = picks.iter().flat_map(|&i| r.floats[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Continuous(matrix(y, picks.len(), &self.device))
        } else {
            let d = r.classes.len() / n;
            let y: Vec<i64> = picks.iter().flat_map(|&i| r.classes[i * d..(i + 1) * d].iter().copied()).collect();
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(y, [picks.len(), d]), &self.device))
        }
    }

    fn gather(&self, picks: &[usize]) -> Tensor<2> {
        let d = self.obs_dim;
        let obs = picks.iter().flat_map(|&i| self.rows.obs[i * d..(i + 1) * d].iter().copied()).collect();
        matrix(obs, picks.len(), &self.device)
    }

    /// One iteration: the value fit, then the advantage-weighted policy fit.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if self.iteration >= self.config.iterations {
            return Ok(None);
        }
        let returns = self.returns();
        let n = returns.len();
        let mut value_loss = f64::NAN;
        for k in 0..self.config.value_steps {
            let picks = self.minibatch(n);
            let v = self.value.forward(self.gather(&picks)).reshape([picks.len()]);
            let loss = (v - vector(picks.iter().map(|&i| returns[i]).collect(), &self.device)).square().mean();
            if k + 1 == self.config.value_steps {
                value_loss = floats(loss.clone().inner())[0] as f64;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.value);
            self.value = self.value_optimizer.step_flushed(self.config.lr, self.value.clone(), grads);
        }
        let values = self.values(self.rows.obs.clone(), n);
        let advantages: Vec<f32> = returns.iter().zip(&values).map(|(g, v)| g - v).collect();
        let weights = advantage_weights(&advantages, self.config.beta as f32, self.config.max_weight as f32);
        let mut policy_loss = f64::NAN;
        for k in 0..self.config.policy_steps {
            let picks = self.minibatch(n);
            let w = vector(picks.iter().map(|&i| weights[i]).collect(), &self.device);
            let loss = self.policy.loss(self.gather(&picks), &self.target(&picks), Some(w));
            if k + 1 == self.config.policy_steps {
                policy_loss = floats(loss.clone().inner())[0] as f64;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
            self.policy = self.policy_optimizer.step_flushed(self.config.lr, self.policy.clone(), grads);
        }
        if !(policy_loss.is_finite() || self.config.policy_steps == 0) {
            return Err(TrainError::diverged(policy_loss, "iteration", self.iteration));
        }
        self.iteration += 1;
        let values = vec![
            ("iteration", self.iteration as f64),
            ("train/policy_loss", policy_loss),
            ("train/value_loss", value_loss),
            ("train/weight_max", weights.iter().copied().fold(0.0, f32::max) as f64),
            (
                "data/return_mean",
                mean_or_nan(&self.rows.episodes.iter().map(|(r, _)| r.iter().sum()).collect::<Vec<f32>>()),
            ),
        ];
        Ok(Some(Metrics { step: self.iteration, values }))
    }
}

/// The dataset's steps as rows (observations normalized, actions scaled or as classes).
fn rows(episodes: &[Episode], normalizer: &Normalizer, space: &Space) -> Rows {
    let mut r = Rows { obs: Vec::new(), floats: Vec::new(), classes: Vec::new(), episodes: Vec::new() };
    for episode in episodes {
        for step in &episode.steps {
            r.obs.extend(normalizer.apply(&step.obs));
            push_target(&step.action, Some(space), &mut r.floats, &mut r.classes);
        }
        let ended = episode.steps.last().is_some_and(|s| s.terminated);
        let cut = (!ended).then(|| normalizer.apply(&episode.final_obs).collect());
        let rewards = episode.steps.iter().map(|s| s.reward).collect();
        r.episodes.push((rewards, cut));
    }
    r
}

impl_algorithm!(AwrTrainer, LIVE, |t| t.iteration);

/// AWR in the registry.
pub const ENTRY: Entry = Entry {
    name: "awr",
    summary: "Advantage-weighted regression on the demonstrations' rewards (offline)",
    preset_of: None,
    needs: Needs { demos: true, expert: false, reward: true, actions: Actions::Any, init: false, resume: false, learned_reward: false },
    live: &LIVE,
    step: Unit::Iterations,
    plots: &[
        Plot::steps("Losses", Unit::Iterations, &["train/policy_loss", "train/value_loss"]),
        Plot::steps("Weights", Unit::Iterations, &["train/weight_max"]),
    ],
    config: ConfigType::of::<AwrConfig>(defaults_of::<AwrConfig>),
    budget: |t| Ok(Budget::steps(typed::<AwrConfig>(t)?.iterations)),
    build: |t, cx| Ok(Box::new(AwrTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advantage_weights_favour_better_than_expected_actions_and_are_clipped() {
        // Standardized: −1, 0, +1 (population std) → e^{−1}, 1, e (β = 1).
        let w = advantage_weights(&[-2.0, 0.0, 2.0], 1.0, 20.0);
        let std = (8.0f32 / 3.0).sqrt();
        let expected = [(-2.0 / std).exp(), 1.0, (2.0 / std).exp()];
        assert!(w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5), "{w:?}");
        // A small β sharpens the weights until the clip holds them.
        assert_eq!(advantage_weights(&[-2.0, 0.0, 2.0], 0.01, 20.0)[2], 20.0);
    }
}
