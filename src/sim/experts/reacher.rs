//! Two-link arm expert: inverse kinematics to the goal, then PD torques on both joints.

use super::{Controller, actuator};
use crate::sim::measure::wrap_angle;
use crate::sim::scenario::Scenario;
use crate::sim::scenario_check::Ref;
use crate::sim::scenario_env::ScenarioEnv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reacher {
    /// Shoulder and elbow joints.
    pub joints: (String, String),
    /// Torque actuators of the shoulder and elbow.
    pub actuators: (String, String),
    /// Link lengths (m).
    pub lengths: (f32, f32),
    /// World position of the shoulder.
    pub base: (f32, f32),
    pub kp: f32,
    pub kd: f32,
    /// Elbow bend (+1 or −1) chosen at the episode's first step, kept so the arm never
    /// chatters between the two IK solutions near a straight arm.
    #[serde(skip)]
    bend: Option<f32>,
}

impl Reacher {
    /// Joint angles reaching `(x, y)` relative to the base, with the elbow bent the way it
    /// is bent now (`bend` sign), so the arm never flips through a singular pose.
    fn inverse_kinematics(&self, x: f32, y: f32, bend: f32) -> (f32, f32) {
        let (l1, l2) = self.lengths;
        let r2 = (x * x + y * y).clamp((l1 - l2).powi(2) + 1e-4, (l1 + l2).powi(2) - 1e-4);
        let cos_q2 = ((r2 - l1 * l1 - l2 * l2) / (2.0 * l1 * l2)).clamp(-1.0, 1.0);
        let q2 = cos_q2.acos() * if bend < 0.0 { -1.0 } else { 1.0 };
        let q1 = y.atan2(x) - (l2 * q2.sin()).atan2(l1 + l2 * q2.cos());
        (q1, q2)
    }
}

impl Controller for Reacher {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let goal = env.goal().map(|g| g.position).unwrap_or_default();
        let (q1, q2) = (m.joint_angle(&self.joints.0), m.joint_angle(&self.joints.1));
        let (w1, w2) = (m.joint_rate(&self.joints.0), m.joint_rate(&self.joints.1));
        let (x, y) = (goal.x - self.base.0, goal.y - self.base.1);
        // The solution closer to the current pose in joint space.
        let cost = |(a, b): (f32, f32)| wrap_angle(a - q1).abs() + wrap_angle(b - q2).abs();
        let closer = if cost(self.inverse_kinematics(x, y, 1.0)) <= cost(self.inverse_kinematics(x, y, -1.0)) {
            1.0
        } else {
            -1.0
        };
        let bend = *self.bend.get_or_insert(closer);
        let (t1, t2) = self.inverse_kinematics(x, y, bend);
        let s = env.scenario();
        let mut commands = vec![0.0; s.actuators.len()];
        let torque = |target: f32, q: f32, w: f32| self.kp * wrap_angle(target - q) - self.kd * w;
        commands[s.actuator_index(&self.actuators.0).expect("checked")] = torque(t1, q1, w1);
        commands[s.actuator_index(&self.actuators.1).expect("checked")] = torque(t2, q2, w2);
        commands
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([Ref::Joint(&self.joints.0), Ref::Joint(&self.joints.1), Ref::Goal]);
    }

    fn reset(&mut self) {
        self.bend = None;
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuators.0)?;
        actuator(s, &self.actuators.1).map(|_| ())
    }
}
