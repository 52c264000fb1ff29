//! Observation-feedback experts: linear state feedback (LQR-style) and bang-bang pumping.

use super::{Controller, actuator, commands};
use crate::scenario::{Quantity, Scenario};
use crate::scenario_check::{Ref, quantity_refs};
use crate::scenario_env::ScenarioEnv;
use serde::{Deserialize, Serialize};

/// `command = bias + Σ gains[i] · obs[i]` for each listed actuator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    pub laws: Vec<Law>,
}

/// One actuator's linear feedback law.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Law {
    pub actuator: String,
    /// One gain per observation component.
    pub gains: Vec<f32>,
    #[serde(default)]
    pub bias: f32,
}

impl Controller for Feedback {
    fn commands(&mut self, env: &ScenarioEnv, obs: &[f32]) -> Vec<f32> {
        let s = env.scenario();
        let mut commands = vec![0.0; s.actuators.len()];
        for law in &self.laws {
            let u = law.bias + law.gains.iter().zip(obs).map(|(g, o)| g * o).sum::<f32>();
            commands[s.actuator_index(&law.actuator).expect("checked")] = u;
        }
        commands
    }

    fn references<'a>(&'a self, _out: &mut Vec<Ref<'a>>) {}

    fn check(&self, s: &Scenario) -> Result<(), String> {
        let obs_dim = crate::scenario_env::observation_space(s).dim();
        for law in &self.laws {
            actuator(s, &law.actuator)?;
            if law.gains.len() != obs_dim {
                return Err(format!(
                    "law for `{}` has {} gains; the observation has {obs_dim} components",
                    law.actuator,
                    law.gains.len()
                ));
            }
        }
        Ok(())
    }
}

/// Full command in the direction of a quantity's sign: pumps energy into an oscillation
/// (push a car the way it is already rolling).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pump {
    pub actuator: String,
    pub follow: Quantity,
    #[serde(default = "one")]
    pub gain: f32,
}

fn one() -> f32 {
    1.0
}

impl Controller for Pump {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let s = env.scenario();
        let q = env.measure().quantity(&self.follow);
        commands(s, &[(&self.actuator, self.gain * if q >= 0.0 { 1.0 } else { -1.0 })])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        quantity_refs(&self.follow, out);
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuator).map(|_| ())
    }
}
