//! Detour around an obstacle on a side chosen at random per episode: head straight at the
//! obstacle, swerve past one side of it at the last moment, then go to the goal. Its
//! demonstrations are bimodal by design (the mode-averaging example of Gupta's imitation-learning lecture and Levine's lecture on imitation's challenges: from the same
//! state half swerve left, half right, and their mean drives into the obstacle).

use super::{Controller, actuator, commands};
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
use rapier2d::math::Vector;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detour {
    /// The driven body.
    pub body: String,
    /// Force actuators along world x and y.
    pub actuators: (String, String),
    /// The obstacle's centre (world position).
    pub obstacle: (f32, f32),
    /// Distance from the obstacle's centre to the waypoint beside it, across the direct path.
    pub offset: f32,
    /// Distance past the obstacle's centre, along the direct path, of that waypoint.
    pub lead: f32,
    /// Distance before the obstacle's centre, along the direct path, where the swerve starts.
    pub commit: f32,
    /// Force command per metre to the current waypoint.
    pub kp: f32,
    /// Force command per m/s of velocity.
    pub kd: f32,
    /// Which side this episode passes on (+1 left of the direct path, −1 right); drawn from the
    /// episode seed on reset.
    #[serde(skip)]
    pub side: f32,
}

impl Controller for Detour {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let body = m.body(&self.body);
        let (p, v) = (body.translation(), body.linvel());
        let goal = env.goal().map(|g| g.position).unwrap_or_default();
        let obstacle = Vector::new(self.obstacle.0, self.obstacle.1);
        let along = (goal - obstacle).normalize();
        let across = Vector::new(-along.y, along.x);
        let progress = (p - obstacle).dot(along);
        let target = if progress < -self.commit {
            obstacle
        } else if progress < self.lead * 0.5 {
            obstacle + along * self.lead + across * (self.side * self.offset)
        } else {
            goal
        };
        let f = (target - p) * self.kp - v * self.kd;
        commands(env.scenario(), &[(&self.actuators.0, f.x), (&self.actuators.1, f.y)])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([Ref::Body(&self.body), Ref::Goal]);
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuators.0)?;
        actuator(s, &self.actuators.1).map(|_| ())
    }

    fn reset(&mut self, seed: u64) {
        // A fixed mix of the seed's bits: the side is a fair coin over seeds, and replaying
        // an episode's seed replays its side.
        let mixed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        self.side = if (mixed >> 33) & 1 == 1 { 1.0 } else { -1.0 };
    }
}
