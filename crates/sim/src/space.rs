//! Observation and action spaces (Gymnasium's Box, Discrete, MultiDiscrete) and the `Action` value.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The set of valid observations or actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Space {
    /// A vector of reals, each within its bounds (bounds may be infinite).
    Box { low: Vec<f32>, high: Vec<f32> },
    /// One choice out of `n`.
    Discrete { n: usize },
    /// One choice per dimension, dimension `i` having `nvec[i]` options.
    MultiDiscrete { nvec: Vec<usize> },
}

/// What a driver does in one step: a point of the scenario's action space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    Continuous(Vec<f32>),
    Discrete(usize),
    MultiDiscrete(Vec<usize>),
}

/// An action that does not belong to the space it was given to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("action {action:?} does not fit the action space {space}")]
pub struct ActionMismatch {
    pub action: Action,
    pub space: String,
}

impl Space {
    /// Number of scalars a point of this space flattens to.
    pub fn dim(&self) -> usize {
        match self {
            Space::Box { low, .. } => low.len(),
            Space::Discrete { .. } => 1,
            Space::MultiDiscrete { nvec } => nvec.len(),
        }
    }

    /// Checks `action` belongs to this space (right kind, length and range; finite values).
    pub fn check(&self, action: &Action) -> Result<(), ActionMismatch> {
        let fits = match (self, action) {
            (Space::Box { low, .. }, Action::Continuous(v)) => v.len() == low.len() && v.iter().all(|x| x.is_finite()),
            (Space::Discrete { n }, Action::Discrete(a)) => a < n,
            (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(v)) => {
                v.len() == nvec.len() && v.iter().zip(nvec).all(|(a, n)| a < n)
            }
            _ => false,
        };
        if fits { Ok(()) } else { Err(ActionMismatch { action: action.clone(), space: self.to_string() }) }
    }

    /// Draws a uniformly random point of this (action) space.
    pub fn sample(&self, rng: &mut impl Rng) -> Action {
        match self {
            Space::Box { low, high } => Action::Continuous(
                low.iter().zip(high).map(|(&l, &h)| if l < h { rng.random_range(l..=h) } else { l }).collect(),
            ),
            Space::Discrete { n } => Action::Discrete(rng.random_range(0..*n)),
            Space::MultiDiscrete { nvec } => {
                Action::MultiDiscrete(nvec.iter().map(|&n| rng.random_range(0..n)).collect())
            }
        }
    }
}

impl std::fmt::Display for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Space::Box { low, .. } => write!(f, "Box({})", low.len()),
            Space::Discrete { n } => write!(f, "Discrete({n})"),
            Space::MultiDiscrete { nvec } => write!(f, "MultiDiscrete({nvec:?})"),
        }
    }
}
