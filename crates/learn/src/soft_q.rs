//! Soft Q-learning (Haarnoja et al. 2017), Q-learning under the maximum-entropy objective of
//! Levine & Finn's "RL as inference": the hard max of the Bellman backup becomes the soft
//! value V(s) = α·log Σ_a exp(Q(s, a)/α), and the policy it implies is the Boltzmann
//! distribution π(a|s) = exp((Q(s, a) − V(s))/α). The temperature α weighs entropy against
//! reward: as α → 0 it is DQN again, and a large α acts nearly at random.
//!
//! For discrete actions the soft value is exact (no sampling network, unlike the continuous
//! algorithm, whose amortized sampler became SAC). It runs in DQN's loop (replay buffer,
//! target network): this file holds its two formulas and its registry entry.

use super::dqn::{self, DqnConfig};
use super::registry::{ConfigType, Entry, table};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;

/// Soft Q-learning's settings: DQN's, with temperature α = 0.02 (cartpole's rewards are 1 per
/// step, so values reach ~100; α = 0.02 keeps the policy near-greedy once Q separates the
/// actions, near-uniform while it does not) and no ε-greedy noise: the Boltzmann policy explores.
pub fn config() -> DqnConfig {
    DqnConfig { temperature: 0.02, epsilon_start: 0.0, epsilon_end: 0.0, double_q: false, ..DqnConfig::default() }
}

/// The soft value of each row: α·log Σ_a exp(Q/α), computed stably. `q`: [batch, actions].
pub fn soft_value(q: Tensor<2>, alpha: f32) -> Tensor<1> {
    let b = q.dims()[0];
    let max = q.clone().max_dim(1);
    let sum = ((q - max.clone()) / alpha).exp().sum_dim(1);
    (sum.log() * alpha + max).reshape([b])
}

/// An action drawn from the Boltzmann policy softmax(Q/α).
pub fn boltzmann(q: &[f32], alpha: f32, rng: &mut ChaCha8Rng) -> usize {
    let scaled: Vec<f32> = q.iter().map(|v| v / alpha).collect();
    super::policy::choose(&scaled, Some(rng))
}

/// Soft Q-learning in the registry.
pub const ENTRY: Entry = Entry {
    name: "soft_q",
    summary: "Soft Q-learning: the log-sum-exp soft value and a Boltzmann policy (temperature α)",
    preset_of: Some("dqn"),
    config: ConfigType::of::<DqnConfig>(|| table(&config())),
    ..dqn::ENTRY
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::floats;
    use rand::SeedableRng;

    #[test]
    fn the_soft_value_is_the_log_sum_exp_and_tends_to_the_max() {
        let q = Tensor::<2>::from_floats([[1.0, 2.0], [0.0, 0.0]], &Device::flex());
        let v = floats(soft_value(q.clone(), 1.0));
        // log(e + e²) = 2 + log(1 + e⁻¹); log 2 for equal values.
        assert!((v[0] - (2.0 + (1.0 + (-1.0f32).exp()).ln())).abs() < 1e-5, "{v:?}");
        assert!((v[1] - 2f32.ln()).abs() < 1e-5, "{v:?}");
        let cold = floats(soft_value(q, 0.01));
        assert!((cold[0] - 2.0).abs() < 1e-3 && cold[1].abs() < 0.01, "{cold:?}");
    }

    #[test]
    fn the_boltzmann_policy_draws_actions_in_proportion_to_exp_q_over_alpha() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let q = [0.0, 1.0f32.ln() + 1.0f32.ln(), 3f32.ln()];
        // α = 1: probabilities 1/5, 1/5, 3/5.
        let draws = 20_000;
        let third = (0..draws).filter(|_| boltzmann(&q, 1.0, &mut rng) == 2).count() as f64 / draws as f64;
        assert!((third - 0.6).abs() < 0.02, "{third}");
    }
}
