//! A2C, the online advantage actor-critic (Mnih et al. 2016, synchronous form) of Levine &
//! Finn's tutorial: every few steps of several environments, one gradient step on
//! −log π(a|s)·Â (GAE advantages from the critic) plus the critic's squared error.
//!
//! It is PPO's update with one epoch of one minibatch: at that single step the new policy is
//! the rollout's, so every probability ratio is 1, inside the clip, and the clipped surrogate's
//! gradient is exactly the policy gradient's (the test below checks it). So A2C is PPO's
//! trainer with A2C's settings (SB3's: 5 steps per environment, γ = 0.99, λ = 1, no
//! advantage standardization), not a second copy of the rollout and GAE code.

use super::ppo::{self, PpoConfig};
use super::registry::{ConfigType, Entry, table};

/// A2C's settings as a PPO configuration (8 environments, as RL-Zoo runs it on cartpole).
/// The learning rate is Adam's usual 3·10⁻⁴, not RL-Zoo's 7·10⁻⁴ (tuned for RMSprop): at
/// 7·10⁻⁴ two of three cartpole seeds climbed and fell back without reaching 475 in 300k steps.
pub fn config() -> PpoConfig {
    PpoConfig {
        envs: 8,
        rollout_steps: 5,
        epochs: 1,
        minibatches: 1,
        lr: 3e-4,
        anneal_lr: false,
        gamma: 0.99,
        gae_lambda: 1.0,
        normalize_advantages: false,
        total_steps: 200_000,
        ..PpoConfig::default()
    }
}

/// For continuous actions: standardized observations and value targets as well.
pub fn continuous() -> PpoConfig {
    PpoConfig { normalize_obs: true, normalize_values: true, ..config() }
}

/// A2C in the registry.
pub const ENTRY: Entry = Entry {
    name: "a2c",
    summary: "A2C: the online advantage actor-critic, one gradient step per short rollout",
    preset_of: Some("ppo"),
    config: ConfigType::of::<PpoConfig>(|| table(&config())).with_continuous(|| table(&continuous())),
    ..ppo::ENTRY
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::floats;
    use crate::ppo::clipped_loss;
    use burn::prelude::*;
    use burn::tensor::TensorData;

    #[test]
    fn one_epoch_of_the_clipped_surrogate_is_the_policy_gradient() {
        let device = Device::flex().autodiff();
        let logits = Tensor::<1>::from_data(TensorData::new(vec![0.3f32, -1.2, 0.8, 2.0], [4]), &device).require_grad();
        let advantages = Tensor::<1>::from_data(TensorData::new(vec![1.5f32, -0.5, 2.0, -3.0], [4]), &device);
        // At the rollout's own parameters the old log-probabilities equal the new ones.
        let logp = || logits.clone().sub_scalar(1.0);
        let clipped = clipped_loss(logp(), logp().detach(), advantages.clone(), 0.2).backward();
        let plain = (logp() * advantages).mean().neg().backward();
        let (a, b) = (floats(logits.grad(&clipped).unwrap()), floats(logits.grad(&plain).unwrap()));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6), "{a:?} != {b:?}");
        assert_eq!(config().epochs, 1);
    }
}
