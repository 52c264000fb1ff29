//! Energy-based swing-up with a PD catch (Åström & Furuta): pump the pendulum's energy
//! towards the upright level, then balance with a PD law once near the top.

use super::{Controller, actuator, commands};
use crate::measure::wrap_angle;
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwingUp {
    /// Hinge whose angle is 0 upright.
    pub joint: String,
    pub actuator: String,
    /// Moment of inertia about the hinge (kg·m²).
    pub inertia: f32,
    /// Gravity torque at horizontal, m·g·l_com (N·m).
    pub gravity_torque: f32,
    /// Gain of the energy-pumping law.
    pub energy_gain: f32,
    /// Below this angle (rad) from upright the PD law balances.
    pub catch_angle: f32,
    pub kp: f32,
    pub kd: f32,
}

impl Controller for SwingUp {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let (angle, rate) = (wrap_angle(m.joint_angle(&self.joint)), m.joint_rate(&self.joint));
        // Energy relative to resting upright: 0 there, −2·m·g·l at the bottom.
        let energy = 0.5 * self.inertia * rate * rate + self.gravity_torque * (angle.cos() - 1.0);
        let u = if angle.abs() < self.catch_angle {
            -self.kp * angle - self.kd * rate
        } else {
            // dE/dt = u·rate: push along the motion while energy is short of the top.
            let pump = -self.energy_gain * energy * rate;
            if rate.abs() < 1e-3 { self.energy_gain } else { pump }
        };
        let s = env.scenario();
        commands(s, &[(&self.actuator, u)])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.push(Ref::Joint(&self.joint));
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuator).map(|_| ())
    }
}
