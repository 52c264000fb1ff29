//! What the continuous-action off-policy learners (SAC, TD3) share: the environment loop that
//! feeds their replay buffer, demonstrations loaded as transitions, and Gaussian noise.

use super::buffer::{Batch, ReplayBuffer};
use super::error::TrainError;
use super::policy::{Normalizer, scale_action, unscale_action};
use data::Episode;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use sim::{Action, Env, ScenarioEnv, Space, VecEnv};

/// One environment stepped with scaled continuous actions, every step stored in a replay buffer.
pub struct Explorer {
    env: VecEnv,
    space: Space,
    /// Observations enter the networks (and the buffer) through this, fixed for the run.
    pub normalizer: Normalizer,
    /// The current observation, normalized.
    pub obs: Vec<f32>,
    pub buffer: ReplayBuffer,
    episode_return: f32,
    pub env_steps: usize,
}

impl Explorer {
    pub fn new(env: &ScenarioEnv, normalizer: Normalizer, capacity: usize, seed: u64) -> Explorer {
        let space = env.action_space().clone();
        let mut vec_env = VecEnv::new(env.fork(), 1, seed);
        let raw = vec_env.reset().remove(0);
        let obs: Vec<f32> = normalizer.apply(&raw).collect();
        let buffer = ReplayBuffer::new(capacity, obs.len(), action_dims(&space));
        Explorer { env: vec_env, space, normalizer, obs, buffer, episode_return: 0.0, env_steps: 0 }
    }

    /// Takes one step with `action` (scaled to [-1, 1]) and stores it; returns the episode's
    /// return when the step ended it.
    pub fn step(&mut self, action: Vec<f32>) -> Result<Option<f32>, TrainError> {
        let env_action = unscale_action(&self.space, Action::Continuous(action.clone()));
        let step = self.env.step(&[env_action]).map_err(|e| TrainError::Config(e.to_string()))?.get(0).clone();
        // After an episode ends, `step.obs` is the next episode's first observation.
        let next: Vec<f32> = self.normalizer.apply(step.final_obs.as_deref().unwrap_or(&step.obs)).collect();
        self.buffer.push(&self.obs, &action, step.reward, &next, step.terminated);
        self.obs = self.normalizer.apply(&step.obs).collect();
        self.episode_return += step.reward;
        self.env_steps += 1;
        Ok((step.terminated || step.truncated).then(|| std::mem::take(&mut self.episode_return)))
    }

    /// A uniformly random scaled action.
    pub fn random_action(&self, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..action_dims(&self.space)).map(|_| rng.random_range(-1.0..=1.0)).collect()
    }

    /// A minibatch of `size` rows, `demo_ratio` of them (rounded) from `demos` when it holds any.
    pub fn sample(&self, demos: &ReplayBuffer, size: usize, demo_ratio: f64, rng: &mut ChaCha8Rng) -> Batch {
        let from_demos = if demos.is_empty() { 0 } else { (size as f64 * demo_ratio).round() as usize };
        let agent = self.buffer.sample(size - from_demos.min(size), rng);
        if from_demos == 0 { agent } else { agent.concat(demos.sample(from_demos.min(size), rng)) }
    }
}

/// Width of a continuous action (0 for discrete spaces).
pub fn action_dims(space: &Space) -> usize {
    match space {
        Space::Box { low, .. } => low.len(),
        _ => 0,
    }
}

/// Demonstrations as one-step transitions, observations normalized, actions scaled.
pub fn demo_buffer(episodes: &[Episode], normalizer: &Normalizer, space: &Space, gamma: f32) -> ReplayBuffer {
    ReplayBuffer::from_episodes(episodes, 1, gamma, |o| normalizer.apply(o).collect(), |a| scale_action(space, a))
}

/// `n` draws of N(0, σ²).
pub fn normal(rng: &mut ChaCha8Rng, n: usize, sigma: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f32 = StandardNormal.sample(rng);
            sigma * z
        })
        .collect()
}

/// The identity normalizer for `dim` observations.
pub fn identity(dim: usize) -> Normalizer {
    Normalizer { mean: vec![0.0; dim], std: vec![1.0; dim] }
}

/// The mean of the returns of episodes that finished, NaN when none did (the metrics column
/// exists from the first row).
pub fn mean_or_nan(finished: &[f32]) -> f64 {
    if finished.is_empty() { f64::NAN } else { finished.iter().sum::<f32>() as f64 / finished.len() as f64 }
}
