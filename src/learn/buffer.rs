//! A replay buffer for off-policy learning: transitions in flat arrays of fixed capacity, the
//! oldest overwritten first, minibatches sampled uniformly.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A sampled minibatch, row-major: `obs` is [batch, obs_dim], `actions` [batch, action_dim].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub next_obs: Vec<f32>,
    /// 1 where the episode ended inside the task (no bootstrapping from `next_obs`), else 0.
    pub terminated: Vec<f32>,
}

pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    action_dim: usize,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<f32>,
    len: usize,
    /// Where the next transition goes.
    next: usize,
}

impl ReplayBuffer {
    pub fn new(capacity: usize, obs_dim: usize, action_dim: usize) -> ReplayBuffer {
        let capacity = capacity.max(1);
        ReplayBuffer {
            capacity,
            obs_dim,
            action_dim,
            obs: vec![0.0; capacity * obs_dim],
            actions: vec![0.0; capacity * action_dim],
            rewards: vec![0.0; capacity],
            next_obs: vec![0.0; capacity * obs_dim],
            terminated: vec![0.0; capacity],
            len: 0,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores one transition, overwriting the oldest once full. An episode cut by the step
    /// limit is not `terminated`: its `next_obs` (the last observation) is bootstrapped from.
    pub fn push(&mut self, obs: &[f32], action: &[f32], reward: f32, next_obs: &[f32], terminated: bool) {
        let (i, d, a) = (self.next, self.obs_dim, self.action_dim);
        self.obs[i * d..(i + 1) * d].copy_from_slice(obs);
        self.actions[i * a..(i + 1) * a].copy_from_slice(action);
        self.rewards[i] = reward;
        self.next_obs[i * d..(i + 1) * d].copy_from_slice(next_obs);
        self.terminated[i] = if terminated { 1.0 } else { 0.0 };
        self.next = (i + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// `size` transitions drawn uniformly with replacement (the buffer must not be empty).
    pub fn sample(&self, size: usize, rng: &mut ChaCha8Rng) -> Batch {
        let rows: Vec<usize> = (0..size).map(|_| rng.random_range(0..self.len)).collect();
        let gather = |data: &[f32], width: usize| -> Vec<f32> {
            rows.iter().flat_map(|&r| data[r * width..(r + 1) * width].iter().copied()).collect()
        };
        Batch {
            obs: gather(&self.obs, self.obs_dim),
            actions: gather(&self.actions, self.action_dim),
            rewards: gather(&self.rewards, 1),
            next_obs: gather(&self.next_obs, self.obs_dim),
            terminated: gather(&self.terminated, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_full_buffer_overwrites_its_oldest_transitions() {
        let mut buffer = ReplayBuffer::new(3, 1, 1);
        for k in 0..5 {
            buffer.push(&[k as f32], &[0.0], k as f32, &[k as f32 + 1.0], k == 4);
        }
        assert_eq!(buffer.len(), 3);
        let batch = buffer.sample(200, &mut ChaCha8Rng::seed_from_u64(0));
        let mut seen: Vec<f32> = batch.rewards.clone();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert_eq!(seen, [2.0, 3.0, 4.0], "transitions 0 and 1 were overwritten");
        for (k, r) in batch.rewards.iter().enumerate() {
            assert_eq!((batch.obs[k], batch.next_obs[k]), (*r, r + 1.0), "rows stay whole");
            assert_eq!(batch.terminated[k], if *r == 4.0 { 1.0 } else { 0.0 });
        }
    }
}
