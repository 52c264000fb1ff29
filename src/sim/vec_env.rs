//! `VecEnv`: N copies of an environment stepped in parallel, with auto-reset and per-env seeds.
//!
//! Episode `k` of environment `i` always starts from seed `base + k·N + i`, so a VecEnv
//! gives exactly the trajectories that stepping the same environments one by one gives.

use super::env::Env;
use super::scenario_env::ScenarioEnv;
use super::space::{Action, ActionMismatch};
use rayon::prelude::*;

/// One environment's result of a vectorized step.
#[derive(Debug, Clone, PartialEq)]
pub struct VecStep {
    /// Observation to act on next: the first of a new episode when this one ended.
    pub obs: Vec<f32>,
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    pub success: bool,
    /// The last observation of the episode that just ended (for bootstrapping on truncation).
    pub final_obs: Option<Vec<f32>>,
}

pub struct VecEnv {
    envs: Vec<ScenarioEnv>,
    /// Episodes started so far, per environment.
    episodes: Vec<u64>,
    base_seed: u64,
}

impl VecEnv {
    /// `n` copies of `env`; nothing runs until `reset`.
    pub fn new(env: ScenarioEnv, n: usize, base_seed: u64) -> VecEnv {
        VecEnv { envs: (0..n.max(1)).map(|_| env.fork()).collect(), episodes: vec![0; n.max(1)], base_seed }
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    pub fn envs(&self) -> &[ScenarioEnv] {
        &self.envs
    }

    /// Seed of episode `k` of environment `i`.
    pub fn episode_seed(&self, i: usize, k: u64) -> u64 {
        self.base_seed.wrapping_add(k.wrapping_mul(self.envs.len() as u64)).wrapping_add(i as u64)
    }

    /// Starts the first episode of every environment.
    pub fn reset(&mut self) -> Vec<Vec<f32>> {
        self.episodes.iter_mut().for_each(|e| *e = 1);
        let seeds: Vec<u64> = (0..self.len()).map(|i| self.episode_seed(i, 0)).collect();
        self.envs.par_iter_mut().zip(seeds).map(|(env, seed)| env.reset(seed)).collect()
    }

    /// Steps every environment with its action; finished episodes restart at once.
    pub fn step(&mut self, actions: &[Action]) -> Result<Vec<VecStep>, ActionMismatch> {
        assert_eq!(actions.len(), self.envs.len(), "one action per environment");
        let n = self.envs.len() as u64;
        let base = self.base_seed;
        let step_one = |(env, episodes, i, action): (&mut ScenarioEnv, &mut u64, usize, &Action)| {
            let step = env.step(action)?;
            let (obs, final_obs) = if step.done() {
                let seed = base.wrapping_add(episodes.wrapping_mul(n)).wrapping_add(i as u64);
                *episodes += 1;
                (env.reset(seed), Some(step.obs))
            } else {
                (step.obs, None)
            };
            Ok(VecStep { obs, reward: step.reward, terminated: step.terminated, truncated: step.truncated, success: step.success, final_obs })
        };
        let (count, chunk) = (self.envs.len(), self.envs.len().div_ceil(rayon::current_num_threads()).max(1));
        let jobs = self.envs.iter_mut().zip(self.episodes.iter_mut()).enumerate().map(|(i, (e, k))| (e, k, i, &actions[i]));
        if count == 1 {
            return jobs.map(step_one).collect();
        }
        jobs.collect::<Vec<_>>().into_par_iter().with_min_len(chunk).map(step_one).collect()
    }
}
