//! Pure pursuit (Coulter 1992): steer towards the point of a path a fixed distance ahead.

use super::{Controller, actuator, commands};
use crate::measure::wrap_angle;
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurePursuit {
    /// The vehicle; its +x axis is forward.
    pub body: String,
    pub path: String,
    /// Arc length ahead of the closest path point to aim at (m).
    pub lookahead: f32,
    pub steer: String,
    pub throttle: String,
    /// Steering command per radian of heading error.
    pub steer_gain: f32,
    /// Throttle command on straights; reduced in proportion to the heading error.
    pub speed: f32,
}

impl Controller for PurePursuit {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let s = env.scenario();
        let path = &env.paths()[s.path_index(&self.path).expect("validated")];
        let body = m.body(&self.body);
        let position = body.translation();
        let (arc, _) = path.project(position);
        let target = path.point_at(arc + self.lookahead);
        let to_target = target - position;
        let error = wrap_angle(to_target.y.atan2(to_target.x) - body.rotation().angle());
        commands(
            s,
            &[(&self.steer, self.steer_gain * error), (&self.throttle, self.speed * (1.0 - error.abs()).max(0.3))],
        )
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([Ref::Body(&self.body), Ref::Path(&self.path)]);
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.steer)?;
        actuator(s, &self.throttle).map(|_| ())
    }
}
