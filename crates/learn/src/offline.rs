//! What the offline RL algorithms (TD3+BC, IQL) share: a fixed dataset of demonstrations
//! with their rewards, as one-step transitions with observations standardized by the
//! dataset's own statistics (saved with the policy), and no environment step at all.

use super::buffer::ReplayBuffer;
use super::error::TrainError;
use super::offpolicy::{action_dims, demo_buffer};
use super::policy::{MlpPolicy, Normalizer, PolicyConfig, PolicyNet};
use burn::prelude::Device;
use data::Episode;
use sim::{Env, ScenarioEnv, Space};

/// A fixed dataset ready for minibatches.
pub struct Dataset {
    pub buffer: ReplayBuffer,
    pub normalizer: Normalizer,
    pub space: Space,
    pub obs_dim: usize,
    /// Width of the (continuous) actions.
    pub dims: usize,
}

impl Dataset {
    /// The transitions of `episodes` for `env`; `who` names the algorithm in errors.
    pub fn new(env: &ScenarioEnv, episodes: &[Episode], gamma: f32, who: &str) -> Result<Dataset, TrainError> {
        let space = env.action_space().clone();
        let dims = action_dims(&space);
        if dims == 0 {
            return Err(TrainError::Config(format!("{who} needs continuous (Box) actions")));
        }
        let obs: Vec<Vec<f32>> = episodes.iter().flat_map(|e| e.steps.iter().map(|s| s.obs.clone())).collect();
        if obs.is_empty() {
            return Err(TrainError::NoData(format!("{who} learns offline from --demos: the dataset has no steps")));
        }
        let obs_dim = env.observation_space().dim();
        let normalizer = Normalizer::fit(&obs, obs_dim);
        let buffer = demo_buffer(episodes, &normalizer, &space, gamma);
        Ok(Dataset { buffer, normalizer, space, obs_dim, dims })
    }

    /// A trained network as the run's policy, reading observations through the dataset's normalizer.
    pub fn policy(&self, net: PolicyNet, config: &PolicyConfig, device: &Device) -> MlpPolicy {
        MlpPolicy::new(net, config.clone(), self.normalizer.clone(), self.space.clone(), device.clone())
    }
}

/// One log unit of an offline trainer that has done `done` of its `total` gradient steps:
/// `log_every` more by `learn`, unless they would pass `total` (`None`). Returns the last
/// step's values; a non-finite one is the divergence error.
pub fn unit<const N: usize>(
    done: usize,
    total: usize,
    log_every: usize,
    mut learn: impl FnMut() -> [f64; N],
) -> Result<Option<[f64; N]>, TrainError> {
    let steps = log_every.max(1);
    if done + steps > total {
        return Ok(None);
    }
    let mut last = [f64::NAN; N];
    for _ in 0..steps {
        last = learn();
    }
    let sum: f64 = last.iter().sum();
    if !sum.is_finite() {
        return Err(TrainError::diverged(sum, "gradient step", done + steps));
    }
    Ok(Some(last))
}

/// L_τ(u) = |τ − 1(u < 0)|·u², averaged: IQL's expectile loss, which for τ > ½ fits an upper
/// expectile of u's distribution (τ → 1: its maximum). `u`: [batch].
pub fn expectile_loss(u: burn::prelude::Tensor<1>, tau: f64) -> burn::prelude::Tensor<1> {
    let below = u.clone().lower_elem(0.0).float();
    let weight = below * (1.0 - 2.0 * tau) + tau;
    (weight * u.square()).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::floats;
    use burn::prelude::*;
    use burn::tensor::TensorData;

    #[test]
    fn the_expectile_loss_weighs_positive_errors_by_tau_and_negative_ones_by_one_minus_tau() {
        let u = Tensor::<1>::from_data(TensorData::new(vec![2.0f32, -1.0], [2]), &Device::flex());
        // 0.7·4 and 0.3·1, averaged.
        let loss = floats(expectile_loss(u, 0.7))[0];
        assert!((loss - (2.8 + 0.3) / 2.0).abs() < 1e-6, "{loss}");
    }
}
