//! The classic lunar-lander heuristic (Gymnasium's `heuristic`), in metres and radians:
//! tilt towards the pad, hold a descent profile that gets lower as the pad gets closer,
//! and stop steering once a leg touches.

use super::{Controller, actuator, commands};
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lander {
    pub body: String,
    /// Left and right legs; touching `ground` or `pad` with either ends steering.
    pub legs: (String, String),
    pub pad: String,
    pub ground: String,
    /// Main engine actuator (command 0..1, pushes along the body's +y).
    pub main: String,
    /// Side engine actuator (command −1..1, +1 turns clockwise).
    pub side: String,
    /// Target tilt per metre of horizontal offset from the goal, and per m/s of drift.
    pub tilt_per_x: f32,
    pub tilt_per_vx: f32,
    pub max_tilt: f32,
    /// Side command per radian of tilt error, and per rad/s of spin.
    pub tilt_gain: f32,
    pub spin_gain: f32,
    /// Target height above the goal per metre of horizontal offset.
    pub height_per_x: f32,
    /// Main command per metre below the target height, and per m/s of sinking.
    pub height_gain: f32,
    pub sink_gain: f32,
}

impl Controller for Lander {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let goal = env.goal().map(|g| g.position).unwrap_or_default();
        let body = m.body(&self.body);
        let (p, v) = (body.translation() - goal, body.linvel());
        let (angle, spin) = (body.rotation().angle(), body.angvel());
        let touching =
            [&self.legs.0, &self.legs.1].iter().any(|leg| m.contact(leg, &self.ground) || m.contact(leg, &self.pad));
        let tilt_target = (self.tilt_per_x * p.x + self.tilt_per_vx * v.x).clamp(-self.max_tilt, self.max_tilt);
        let height_target = self.height_per_x * p.x.abs();
        let (turn, lift) = if touching {
            (0.0, -self.sink_gain * v.y)
        } else {
            (
                self.tilt_gain * (tilt_target - angle) - self.spin_gain * spin,
                self.height_gain * (height_target - p.y) - self.sink_gain * v.y,
            )
        };
        let s = env.scenario();
        // A positive side command turns clockwise, so a counter-clockwise need is negative.
        commands(s, &[(&self.main, lift), (&self.side, -turn)])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([&self.body, &self.legs.0, &self.legs.1, &self.pad, &self.ground].map(|b| Ref::Body(b)));
        out.push(Ref::Goal);
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.main)?;
        actuator(s, &self.side).map(|_| ())
    }
}
