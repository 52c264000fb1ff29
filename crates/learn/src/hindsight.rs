//! Hindsight relabeling for goal-conditioned scenarios (Andrychowicz et al. 2017; as
//! supervised learning, Ghosh et al. 2019): a demonstration that passed through state `x`
//! on its way to goal `g` also shows how to reach `x`. Each step is copied with its goal
//! replaced by a point the trajectory actually reached later.

use data::Episode;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sim::scenario::{Obs, Scenario};

/// Where the goal appears in a scenario's observation vector.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalLayout {
    /// Offset of an `Obs::Goal` term (the goal position), if any.
    goal: Option<usize>,
    /// Offset of the `Obs::ToGoal` term (goal minus the achieving point, world axes).
    to_goal: usize,
}

impl GoalLayout {
    /// The layout of a scenario whose observation holds a world-frame `ToGoal` term;
    /// `None` when there is nothing to relabel.
    pub fn of(s: &Scenario) -> Option<GoalLayout> {
        let (mut at, mut goal, mut to_goal) = (0, None, None);
        for term in &s.observations {
            match term {
                Obs::Goal => goal = Some(at),
                Obs::ToGoal { local: false, .. } if to_goal.is_none() => to_goal = Some(at),
                _ => {}
            }
            at += width(term);
        }
        Some(GoalLayout { goal, to_goal: to_goal? })
    }

    /// `obs` with its goal moved to `new_goal`, given the episode's true goal `goal`.
    fn relabel(&self, obs: &[f32], goal: [f32; 2], new_goal: [f32; 2]) -> Vec<f32> {
        let mut out = obs.to_vec();
        let point = [goal[0] - obs[self.to_goal], goal[1] - obs[self.to_goal + 1]];
        out[self.to_goal] = new_goal[0] - point[0];
        out[self.to_goal + 1] = new_goal[1] - point[1];
        if let Some(g) = self.goal {
            out[g..g + 2].copy_from_slice(&new_goal);
        }
        out
    }

    /// `copies` relabeled versions of every step of `episode`, each aiming at the achieving
    /// point's position at a uniformly drawn later step. Pairs of (observation, step index).
    pub fn relabeled(&self, episode: &Episode, copies: usize, rng: &mut ChaCha8Rng) -> Vec<(Vec<f32>, usize)> {
        let Some(goal) = episode.initial.goal.map(|g| [g[0], g[1]]) else { return Vec::new() };
        let obs_at = |t: usize| if t < episode.len() { &episode.steps[t].obs } else { &episode.final_obs };
        let reached = |t: usize| {
            let o = obs_at(t);
            [goal[0] - o[self.to_goal], goal[1] - o[self.to_goal + 1]]
        };
        let mut out = Vec::with_capacity(episode.len() * copies);
        for t in 0..episode.len() {
            for _ in 0..copies {
                let later = rng.random_range(t + 1..=episode.len());
                out.push((self.relabel(&episode.steps[t].obs, goal, reached(later)), t));
            }
        }
        out
    }
}

/// Number of values an observation term contributes.
pub fn width(term: &Obs) -> usize {
    match term {
        Obs::Rays { count, .. } => *count,
        Obs::Value(_) => 1,
        _ => 2,
    }
}
