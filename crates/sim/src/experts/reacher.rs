//! Two-link arm expert: operational-space PD through the Jacobian transpose,
//! τ = Jᵀ·kp·(goal − fingertip) − kd·q̇. A smooth law of the observation, so a cloned
//! policy can represent it, and free of the elbow flips of an inverse-kinematics servo.

use super::{Controller, actuator, commands};
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
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
    /// Torque command per metre of fingertip error (through the Jacobian).
    pub kp: f32,
    /// Torque command per rad/s of joint rate.
    pub kd: f32,
}

impl Controller for Reacher {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let goal = env.goal().map(|g| g.position).unwrap_or_default();
        let (q1, q2) = (m.joint_angle(&self.joints.0), m.joint_angle(&self.joints.1));
        let (w1, w2) = (m.joint_rate(&self.joints.0), m.joint_rate(&self.joints.1));
        let base = m.body(&env.scenario().joints[env.scenario().joint_index(&self.joints.0).expect("validated")].body1);
        let (l1, l2) = self.lengths;
        let (a1, a12) = (base.rotation().angle() + q1, base.rotation().angle() + q1 + q2);
        let tip = base.translation()
            + rapier2d::math::Vector::new(l1 * a1.cos() + l2 * a12.cos(), l1 * a1.sin() + l2 * a12.sin());
        let e = (goal - tip) * self.kp;
        let t1 = (-l1 * a1.sin() - l2 * a12.sin()) * e.x + (l1 * a1.cos() + l2 * a12.cos()) * e.y - self.kd * w1;
        let t2 = -l2 * a12.sin() * e.x + l2 * a12.cos() * e.y - self.kd * w2;
        let s = env.scenario();
        commands(s, &[(&self.actuators.0, t1), (&self.actuators.1, t2)])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([Ref::Joint(&self.joints.0), Ref::Joint(&self.joints.1), Ref::Goal]);
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuators.0)?;
        actuator(s, &self.actuators.1).map(|_| ())
    }
}
