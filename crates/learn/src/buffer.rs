//! A replay buffer for off-policy learning: transitions in flat arrays of fixed capacity, the
//! oldest overwritten first, minibatches sampled uniformly. Transitions may span n steps
//! (n-step returns); demonstrations load into a buffer of their own.

use data::Episode;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sim::Action;
use std::collections::VecDeque;

/// A sampled minibatch, row-major: `obs` is [batch, obs_dim], `actions` [batch, action_dim].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub next_obs: Vec<f32>,
    /// 1 where the episode ended inside the task (no bootstrapping from `next_obs`), else 0.
    pub terminated: Vec<f32>,
    /// Environment steps between `obs` and `next_obs` (the bootstrap is discounted by γ^steps).
    pub steps: Vec<f32>,
}

impl Batch {
    /// The rows of `self` followed by those of `other`.
    pub fn concat(mut self, other: Batch) -> Batch {
        self.obs.extend(other.obs);
        self.actions.extend(other.actions);
        self.rewards.extend(other.rewards);
        self.next_obs.extend(other.next_obs);
        self.terminated.extend(other.terminated);
        self.steps.extend(other.steps);
        self
    }

    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// A batch of one-dimensional zero observations and actions with these rewards, ends and
    /// spans (for checking targets by hand).
    pub fn of_rewards(rewards: Vec<f32>, terminated: Vec<f32>, steps: Vec<f32>) -> Batch {
        let zeros = vec![0.0; rewards.len()];
        Batch { obs: zeros.clone(), actions: zeros.clone(), next_obs: zeros, rewards, terminated, steps }
    }

    /// Adds γ^steps·`value` to each terminated row's reward: a learned reward's return after
    /// the episode's end (its absorbing state's), where a terminal row does not bootstrap.
    pub fn add_terminal_value(&mut self, value: f32, gamma: f32) {
        for k in 0..self.len() {
            self.rewards[k] += self.terminated[k] * gamma.powf(self.steps[k]) * value;
        }
    }

    /// The regression targets r + γ^steps·(1 − terminated)·next_value, per row.
    pub fn targets(&self, next_value: &[f32], gamma: f32) -> Vec<f32> {
        (0..self.len())
            .map(|k| self.rewards[k] + gamma.powf(self.steps[k]) * (1.0 - self.terminated[k]) * next_value[k])
            .collect()
    }
}

/// One (possibly n-step) transition: `reward` is the discounted sum of the rewards between
/// `obs` and `next_obs`, `steps` apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub obs: Vec<f32>,
    pub action: Vec<f32>,
    pub reward: f32,
    pub next_obs: Vec<f32>,
    pub terminated: bool,
    pub steps: usize,
}

/// Turns a stream of one-step transitions into n-step ones: each is emitted once the n
/// steps after it are known, or when its episode ends (then spanning fewer).
pub struct NStep {
    n: usize,
    gamma: f32,
    pending: VecDeque<(Vec<f32>, Vec<f32>, f32)>,
}

impl NStep {
    pub fn new(n: usize, gamma: f32) -> NStep {
        NStep { n: n.max(1), gamma, pending: VecDeque::new() }
    }

    /// Adds the step (obs, action) → (reward, next_obs); `ended`: the episode ended there
    /// (`terminated`: inside the task). Returns the transitions this step completed.
    pub fn add(
        &mut self,
        obs: &[f32],
        action: &[f32],
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
        ended: bool,
    ) -> Vec<Transition> {
        self.pending.push_back((obs.to_vec(), action.to_vec(), reward));
        let mut done = Vec::new();
        while self.pending.len() == self.n || (ended && !self.pending.is_empty()) {
            let steps = self.pending.len();
            let reward = self.pending.iter().rev().fold(0.0, |sum, (_, _, r)| r + self.gamma * sum);
            let (obs, action, _) = self.pending.pop_front().expect("not empty");
            let terminated = ended && terminated;
            done.push(Transition { obs, action, reward, next_obs: next_obs.to_vec(), terminated, steps });
        }
        done
    }
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
    steps: Vec<f32>,
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
            steps: vec![1.0; capacity],
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
        let t = Transition {
            obs: obs.to_vec(),
            action: action.to_vec(),
            reward,
            next_obs: next_obs.to_vec(),
            terminated,
            steps: 1,
        };
        self.insert(&t);
    }

    /// Stores a transition of any span.
    pub fn insert(&mut self, t: &Transition) {
        let (i, d, a) = (self.next, self.obs_dim, self.action_dim);
        self.obs[i * d..(i + 1) * d].copy_from_slice(&t.obs);
        self.actions[i * a..(i + 1) * a].copy_from_slice(&t.action);
        self.rewards[i] = t.reward;
        self.next_obs[i * d..(i + 1) * d].copy_from_slice(&t.next_obs);
        self.terminated[i] = if t.terminated { 1.0 } else { 0.0 };
        self.steps[i] = t.steps as f32;
        self.next = (i + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// A buffer holding every step of `episodes` as an n-step transition: observations through
    /// `obs`, actions through `action` (scaled continuous actions, or class indices). An
    /// episode that neither terminated nor was truncated (a partial recording) is bootstrapped
    /// from its last observation, as a truncated one.
    pub fn from_episodes(
        episodes: &[Episode],
        n: usize,
        gamma: f32,
        obs: impl Fn(&[f32]) -> Vec<f32>,
        action: impl Fn(&Action) -> Vec<f32>,
    ) -> ReplayBuffer {
        let total = episodes.iter().map(|e| e.steps.len()).sum();
        let obs_dim = episodes.first().map_or(0, |e| obs(&e.final_obs).len());
        let action_dim =
            episodes.iter().flat_map(|e| e.steps.first()).map(|s| action(&s.action).len()).next().unwrap_or(0);
        let mut buffer = ReplayBuffer::new(total, obs_dim, action_dim);
        for episode in episodes {
            let mut acc = NStep::new(n, gamma);
            for (t, step) in episode.steps.iter().enumerate() {
                let next = episode.steps.get(t + 1).map_or(&episode.final_obs, |s| &s.obs);
                let last = t + 1 == episode.steps.len();
                let ended = step.terminated || step.truncated || last;
                let done =
                    acc.add(&obs(&step.obs), &action(&step.action), step.reward, &obs(next), step.terminated, ended);
                done.iter().for_each(|t| buffer.insert(t));
            }
        }
        buffer
    }

    /// `size` transitions drawn uniformly with replacement (the buffer must not be empty).
    pub fn sample(&self, size: usize, rng: &mut ChaCha8Rng) -> Batch {
        let rows: Vec<usize> = (0..size).map(|_| rng.random_range(0..self.len)).collect();
        self.rows(&rows)
    }

    /// Every stored transition, in storage order (a model fitted to all the data, MBPO's).
    pub fn all(&self) -> Batch {
        self.rows(&(0..self.len).collect::<Vec<_>>())
    }

    fn rows(&self, rows: &[usize]) -> Batch {
        let gather = |data: &[f32], width: usize| -> Vec<f32> {
            rows.iter().flat_map(|&r| data[r * width..(r + 1) * width].iter().copied()).collect()
        };
        Batch {
            obs: gather(&self.obs, self.obs_dim),
            actions: gather(&self.actions, self.action_dim),
            rewards: gather(&self.rewards, 1),
            next_obs: gather(&self.next_obs, self.obs_dim),
            terminated: gather(&self.terminated, 1),
            steps: gather(&self.steps, 1),
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

    #[test]
    fn a_learned_terminal_value_adds_to_terminal_rows_only_discounted_by_their_span() {
        let mut batch = Batch::of_rewards(vec![1.0, 1.0, 1.0], vec![0.0, 1.0, 1.0], vec![1.0, 1.0, 2.0]);
        batch.add_terminal_value(10.0, 0.5);
        // Row 0 bootstraps; row 1 ends one step on (+½·10); row 2 two steps on (+¼·10).
        assert_eq!(batch.rewards, vec![1.0, 6.0, 3.5]);
    }

    #[test]
    fn n_step_transitions_sum_discounted_rewards_and_stop_at_the_episode_end() {
        let mut acc = NStep::new(3, 0.5);
        let mut out = Vec::new();
        for k in 0..4 {
            let end = k == 3;
            out.extend(acc.add(&[k as f32], &[0.0], 1.0 + k as f32, &[k as f32 + 1.0], end, end));
        }
        // Rewards 1, 2, 3, 4, γ = ½. From step 0: 1 + ½·2 + ¼·3 = 2.75, bootstrapped 3 steps on.
        let spans: Vec<_> = out.iter().map(|t| (t.obs[0], t.reward, t.next_obs[0], t.terminated, t.steps)).collect();
        assert_eq!(
            spans,
            [
                (0.0, 2.75, 3.0, false, 3),
                (1.0, 2.0 + 1.5 + 1.0, 4.0, true, 3),
                (2.0, 3.0 + 2.0, 4.0, true, 2),
                (3.0, 4.0, 4.0, true, 1)
            ]
        );
        let batch = Batch::of_rewards(vec![2.75, 4.0], vec![0.0, 1.0], vec![3.0, 1.0]);
        // 2.75 + ½³·8; the terminated row keeps its reward.
        assert_eq!(batch.targets(&[8.0, 8.0], 0.5), [3.75, 4.0]);
    }
}
