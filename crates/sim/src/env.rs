//! The `Env` trait: Gymnasium semantics for every task apprentice runs.

use super::space::{Action, ActionMismatch, Space};

/// What one environment step returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Observation after the step.
    pub obs: Vec<f32>,
    pub reward: f32,
    /// The episode ended inside the task (failure or success): no bootstrapping past it.
    pub terminated: bool,
    /// The episode was cut by the step limit.
    pub truncated: bool,
    /// The task's success condition held at this step.
    pub success: bool,
}

impl Step {
    /// The episode is over, for whatever reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A reinforcement-learning environment with Gymnasium's reset/step contract.
pub trait Env {
    fn observation_space(&self) -> &Space;
    fn action_space(&self) -> &Space;
    /// Starts a new episode; the same seed always gives the same initial state.
    fn reset(&mut self, seed: u64) -> Vec<f32>;
    /// Advances one fixed timestep under `action`.
    fn step(&mut self, action: &Action) -> Result<Step, ActionMismatch>;
}
