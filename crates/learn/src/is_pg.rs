//! The importance-sampled policy gradient with demonstrations, from Levine's lecture on
//! imitation and RL hybrids (after Levine & Koltun's guided policy search): the
//! demonstrations join the learner's own episodes in the policy gradient, each step weighted
//! by π_θ(a|s) / q(a|s), where q fuses the distributions that produced the data: the
//! learner's sampling policy and the demonstrator, weighed by how many episodes each gave.
//!
//! The demonstrator's density is unknown, so it is estimated once by behaviour cloning the
//! demonstrations (a Gaussian head for continuous actions). Weights are per step rather than
//! per episode (a product over 500 steps would be 0 or ∞), clipped, and normalized to mean 1;
//! the rest is REINFORCE with its baseline (`reinforce.rs`). Demonstrated steps carry their
//! own high returns, so early on they pull the policy towards the demonstrator's actions,
//! and as the policy improves its own episodes take over.

use super::batch::{matrix, push_target};
use super::bc::{self, BcConfig};
use super::error::TrainError;
use super::policy::{Head, MlpPolicy, PolicyConfig, Target};
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::reinforce::{Episodes, ReinforceConfig, ReinforceTrainer, reward_to_go};
use super::trainer::{Metrics, impl_algorithm};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::Episode;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv};

/// The importance-sampled policy gradient's hyperparameters: REINFORCE's, and the weights'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IsPgConfig {
    /// The policy gradient itself (REINFORCE with a baseline).
    pub reinforce: ReinforceConfig,
    /// Importance weights are clipped to at most this before normalizing.
    pub max_weight: f64,
    /// Gradient steps on each batch, the weights π_θ/q recomputed before each: importance
    /// sampling is what makes reusing the batch (and learning from the demonstrations at
    /// all) sound.
    pub gradient_steps: usize,
    /// Epochs of behaviour cloning that estimate the demonstrator's density.
    pub demo_density_epochs: usize,
}

impl Default for IsPgConfig {
    fn default() -> IsPgConfig {
        IsPgConfig {
            // 4 episodes per update: on cartpole with 5 demos, 8 (REINFORCE's default) gave
            // no gain over REINFORCE; with 4, fewer environment steps on 4 seeds of 5.
            reinforce: ReinforceConfig { episodes_per_update: 4, ..ReinforceConfig::default() },
            max_weight: 5.0,
            gradient_steps: 10,
            demo_density_epochs: 100,
        }
    }
}

/// Hyperparameters that can change while it runs.
pub const LIVE: [&str; 3] = ["reinforce.lr", "max_weight", "gradient_steps"];

/// Importance weights π/q from log-densities: q = (n_learner·π_old + n_demo·q_demo) / (n_learner + n_demo),
/// clipped to `max_weight`, then scaled to mean 1.
pub fn fused_weights(
    logp: &[f32],
    logp_old: &[f32],
    logq_demo: &[f32],
    share: (f32, f32),
    max_weight: f32,
) -> Vec<f32> {
    let (learner, demo) = share;
    let total = learner + demo;
    let raw: Vec<f32> = logp
        .iter()
        .zip(logp_old)
        .zip(logq_demo)
        .map(|((p, old), q)| {
            let fused = (learner * old.exp() + demo * q.exp()) / total;
            (p.exp() / fused.max(1e-12)).min(max_weight)
        })
        .collect();
    let mean = raw.iter().sum::<f32>() / raw.len().max(1) as f32;
    raw.into_iter().map(|w| w / mean.max(1e-12)).collect()
}

pub struct IsPgTrainer {
    pub config: IsPgConfig,
    reinforce: ReinforceTrainer,
    /// The demonstrated steps, with their rewards-to-go.
    demos: Episodes,
    demo_episodes: usize,
    /// The demonstrator's estimated density (a cloned policy).
    demonstrator: MlpPolicy,
}

impl IsPgTrainer {
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &IsPgConfig,
        device: &Device,
    ) -> Result<IsPgTrainer, TrainError> {
        if episodes.is_empty() {
            return Err(TrainError::NoData("the importance-sampled policy gradient learns from --demos".into()));
        }
        let reinforce = ReinforceTrainer::new(env, &config.reinforce, device)?;
        let space = env.action_space().clone();
        let mut demos = Episodes::default();
        for episode in episodes {
            let rewards: Vec<f32> = episode.steps.iter().map(|s| s.reward).collect();
            demos.returns.extend(reward_to_go(&rewards, config.reinforce.gamma as f32, 0.0));
            for step in &episode.steps {
                demos.obs.extend_from_slice(&step.obs);
                push_target(&step.action, Some(&space), &mut demos.floats, &mut demos.classes);
            }
        }
        let clone = BcConfig {
            policy: PolicyConfig { head: Head::Gaussian, state_dependent_std: false, ..PolicyConfig::default() },
            epochs: config.demo_density_epochs,
            use_expert_labels: false,
            seed: config.reinforce.seed,
            ..BcConfig::default()
        };
        let (demonstrator, _) = bc::train(env, episodes, &clone, &mut |_| {})?;
        Ok(IsPgTrainer { config: config.clone(), reinforce, demos, demo_episodes: episodes.len(), demonstrator })
    }

    pub fn policy(&self) -> MlpPolicy {
        self.reinforce.policy()
    }

    /// The demonstrator's estimated log-density of each row's action.
    fn demo_log_density(&self, rows: &Episodes) -> Vec<f32> {
        let n = rows.returns.len();
        let d = &self.demonstrator;
        let normalized: Vec<f32> =
            rows.obs.chunks(d.normalizer.mean.len()).flat_map(|o| d.normalizer.apply(o).collect::<Vec<_>>()).collect();
        let x = matrix(normalized, n, &d.device);
        let target = if rows.classes.is_empty() {
            Target::Continuous(matrix(rows.floats.clone(), n, &d.device))
        } else {
            let width = rows.classes.len() / n;
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(rows.classes.clone(), [n, width]), &d.device))
        };
        super::batch::floats(d.net.nll(x, &target).neg())
    }

    /// One gradient step on fresh episodes and every demonstrated step, importance-weighted.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if self.reinforce.env_steps() >= self.config.reinforce.total_steps {
            return Ok(None);
        }
        let (mut batch, finished) = self.reinforce.sample()?;
        let learner_rows = batch.returns.len();
        batch.obs.extend_from_slice(&self.demos.obs);
        batch.floats.extend_from_slice(&self.demos.floats);
        batch.classes.extend_from_slice(&self.demos.classes);
        batch.returns.extend_from_slice(&self.demos.returns);
        // The learner's samples came from the policy as it was before these steps.
        let old = self.reinforce.log_probs(&batch);
        let demo = self.demo_log_density(&batch);
        let share = (finished.len() as f32, self.demo_episodes as f32);
        let mut metrics = None;
        let mut demo_weight = 0.0;
        for step in 0..self.config.gradient_steps.max(1) {
            let now = if step == 0 { old.clone() } else { self.reinforce.log_probs(&batch) };
            let weights = fused_weights(&now, &old, &demo, share, self.config.max_weight as f32);
            demo_weight =
                weights[learner_rows..].iter().sum::<f32>() as f64 / (weights.len() - learner_rows).max(1) as f64;
            // The baseline fits the learner's steps only: fitted to the demonstrations too, it
            // would predict their returns and cancel the advantage that makes them worth imitating.
            metrics = Some(self.reinforce.learn(&batch, Some(weights), learner_rows, &finished)?);
        }
        let mut metrics = metrics.expect("at least one gradient step");
        metrics.values.push(("train/demo_weight_mean", demo_weight));
        Ok(Some(metrics))
    }
}

impl_algorithm!(IsPgTrainer, LIVE, |t| t.reinforce.env_steps());

/// The importance-sampled policy gradient in the registry.
pub const ENTRY: Entry = Entry {
    name: "is_pg",
    summary: "Importance-sampled policy gradient: demos and own episodes, weighted by a fused sampling density",
    preset_of: None,
    needs: Needs { demos: true, ..Needs::REWARD },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Losses", Unit::EnvSteps, &["train/policy_loss", "train/value_loss"]),
        Plot::steps("Demonstrations", Unit::EnvSteps, &["train/demo_weight_mean"]),
    ],
    config: ConfigType::of::<IsPgConfig>(defaults_of::<IsPgConfig>),
    budget: |t| Ok(Budget::steps(typed::<IsPgConfig>(t)?.reinforce.total_steps)),
    build: |t, cx| Ok(Box::new(IsPgTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_weights_divide_by_the_mixture_of_the_samplers_and_average_one() {
        let ln = |v: f32| v.ln();
        // Row 1: π = 0.5, the learner drew it with 0.5, the demonstrator's density 0.9; equal
        // shares → q = 0.7, w = 5/7. Row 2: π = 0.5, old 0.5, demo 0.1 → q = 0.3, w = 5/3.
        let w = fused_weights(&[ln(0.5), ln(0.5)], &[ln(0.5), ln(0.5)], &[ln(0.9), ln(0.1)], (1.0, 1.0), 10.0);
        let raw = [5.0 / 7.0, 5.0 / 3.0];
        let mean = (raw[0] + raw[1]) / 2.0;
        assert!((w[0] - raw[0] / mean).abs() < 1e-5 && (w[1] - raw[1] / mean).abs() < 1e-5, "{w:?}");
        // Clipping caps a weight before normalizing.
        let clipped = fused_weights(&[0.0], &[ln(0.01)], &[ln(0.01)], (1.0, 1.0), 5.0);
        assert_eq!(clipped, [1.0]);
    }
}
