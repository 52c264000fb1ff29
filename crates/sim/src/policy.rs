//! The one interface every driver implements: scripted experts, random play, learned policies
//! and (in the app) a human at the controls all turn a state into an `Action`.

use super::scenario_env::ScenarioEnv;
use super::space::Action;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Something that chooses actions.
pub trait Policy: Send {
    /// Chooses the action for the current state of `env`, whose latest observation is `obs`.
    /// Learned policies read only `obs`; scripted experts may read the world itself.
    fn act(&mut self, env: &ScenarioEnv, obs: &[f32]) -> Action;

    /// Called when an episode starts with `seed`; stochastic policies reseed here so
    /// episodes are reproducible.
    fn reset(&mut self, seed: u64) {
        let _ = seed;
    }
}

/// Uniformly random actions from the action space.
pub struct RandomPolicy {
    rng: ChaCha8Rng,
}

impl RandomPolicy {
    pub fn new(seed: u64) -> RandomPolicy {
        RandomPolicy { rng: ChaCha8Rng::seed_from_u64(seed) }
    }
}

impl Policy for RandomPolicy {
    fn act(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Action {
        use super::env::Env;
        env.action_space().sample(&mut self.rng)
    }

    fn reset(&mut self, seed: u64) {
        // Decorrelated from the environment's own use of the same seed.
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    }
}
