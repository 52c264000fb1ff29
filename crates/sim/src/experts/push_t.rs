//! Push-T planner: pick a push that reduces the larger of the block's angle and position
//! errors, walk the pusher around the block to the spot behind that push, then push.
//!
//! Rotations push near one end of the bar; which end depends on where the pusher already
//! is, so demonstrations are naturally multimodal (the same state, two good pushes).

use super::{Controller, actuator, commands};
use crate::measure::{Measure, wrap_angle};
use crate::scenario::Scenario;
use crate::scenario_check::Ref;
use crate::scenario_env::ScenarioEnv;
use rapier2d::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushT {
    pub pusher: String,
    pub block: String,
    /// Velocity actuators of the pusher along world x and y.
    pub actuators: (String, String),
    pub pusher_radius: f32,
    /// Radius of a circle around the block's centre that contains all of it.
    pub block_radius: f32,
    /// Body-frame points (with push directions) that turn the block counter-clockwise;
    /// mirrored in x they turn it clockwise.
    pub turn_pushes: Vec<((f32, f32), (f32, f32))>,
    /// Angle error (rad) above which the planner turns the block rather than moving it.
    pub turn_above: f32,
    /// Pusher speed command while pushing and while walking.
    pub push_speed: f32,
    pub walk_speed: f32,
    /// The push being carried out; kept until it is done, so the pusher never dithers
    /// between two equally good plans.
    #[serde(skip)]
    plan: Option<Plan>,
    /// Which way the pusher is circling the block (+1 counter-clockwise), while it must.
    #[serde(skip)]
    circling: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    /// Turn with `turn_pushes[index]`, mirrored in x when `mirror` is −1.
    Turn { index: usize, mirror: f32 },
    /// Push through the centre towards the goal.
    Move,
}

impl PushT {
    /// Where a ray from outside along `direction` through the block's centre first meets it.
    fn entry_point(&self, m: &Measure, direction: Vector) -> Vector {
        let body = m.body(&self.block);
        let center = body.translation();
        let ray = Ray::new(center - direction * 3.0, direction);
        let index = m.scenario.body_index(&self.block).expect("validated");
        let toi = m.world.colliders[index]
            .iter()
            .filter_map(|&h| {
                let c = &m.world.physics.colliders[h];
                c.shape().cast_ray(c.position(), &ray, 6.0, true)
            })
            .fold(3.0_f32, f32::min);
        ray.point_at(toi)
    }

    /// Keeps the current plan while it still serves, else picks a new one.
    fn replan(&mut self, m: &Measure, pusher: Vector, goal: (Vector, f32)) -> Plan {
        let body = m.body(&self.block);
        let angle_error = wrap_angle(goal.1 - body.rotation().angle());
        let near = goal.0.distance(body.translation()) < 0.1;
        let keep = match self.plan {
            Some(Plan::Turn { mirror, .. }) => mirror * angle_error > self.turn_above * 0.5,
            Some(Plan::Move) => angle_error.abs() < self.turn_above * 2.0 && !near,
            None => false,
        };
        if keep {
            return self.plan.expect("kept");
        }
        let plan = if angle_error.abs() > self.turn_above || near {
            let mirror = if angle_error > 0.0 { 1.0 } else { -1.0 };
            // The push point nearest the pusher.
            let index = (0..self.turn_pushes.len())
                .min_by(|&a, &b| {
                    let d = |i: usize| pusher.distance(self.push(m, Plan::Turn { index: i, mirror }).0);
                    d(a).total_cmp(&d(b))
                })
                .unwrap_or(0);
            Plan::Turn { index, mirror }
        } else {
            Plan::Move
        };
        self.plan = Some(plan);
        plan
    }

    /// The contact point and push direction of a plan, in the world.
    fn push(&self, m: &Measure, plan: Plan) -> (Vector, Vector) {
        let body = m.body(&self.block);
        match plan {
            Plan::Turn { index, mirror } => {
                let ((x, y), (dx, dy)) = self.turn_pushes[index];
                let pose = body.position();
                (pose.transform_point(Vector::new(mirror * x, y)), pose.transform_vector(Vector::new(mirror * dx, dy)))
            }
            Plan::Move => {
                let goal = m.goal.map(|g| g.position).unwrap_or_default();
                let direction = (goal - body.translation()).normalize_or(Vector::X);
                (self.entry_point(m, direction), direction)
            }
        }
    }

    /// Velocity that walks the pusher to `target` without crossing the block.
    fn walk(&mut self, pusher: Vector, center: Vector, target: Vector) -> Vector {
        let to_target = target - pusher;
        // A target inside the circle is reachable: shrink the circle to just inside it.
        let clearance = (self.block_radius + self.pusher_radius).min(target.distance(center) - 0.05);
        let t = ((center - pusher).dot(to_target) / to_target.length_squared().max(1e-9)).clamp(0.0, 1.0);
        let blocked = (pusher + to_target * t).distance(center) < clearance;
        let heading = if blocked {
            // Circle round the block on the side that is shorter towards the target.
            let (from, to) = (pusher - center, target - center);
            let turn = *self.circling.get_or_insert(if from.perp_dot(to) > 0.0 { 1.0 } else { -1.0 });
            let around = from.normalize_or_zero().perp() * turn;
            let outward = from.normalize_or_zero() * (clearance + 0.15 - from.length()) * 4.0;
            around + outward
        } else {
            self.circling = None;
            to_target * 3.0
        };
        heading.clamp_length_max(1.0) * self.walk_speed
    }
}

impl Controller for PushT {
    fn commands(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Vec<f32> {
        let m = env.measure();
        let goal = env.goal().map(|g| (g.position, g.angle)).unwrap_or((Vector::ZERO, 0.0));
        let pusher = m.body(&self.pusher).translation();
        let center = m.body(&self.block).translation();
        let plan = self.replan(&m, pusher, goal);
        let (contact, direction) = self.push(&m, plan);
        let behind = contact - direction * (self.pusher_radius + 0.05);
        let along = (pusher - behind).dot(direction);
        let across = (pusher - behind) - direction * along;
        let velocity = if (-0.1..0.15).contains(&along) && across.length() < 0.08 {
            // In position: push, steering back onto the line through the contact.
            let speed = self.push_speed * (goal.0.distance(center) * 3.0).clamp(0.3, 1.0);
            direction * speed - across * 4.0
        } else {
            // Approach along the push line from a staging point clear of the block.
            let staging = behind - direction * 0.5;
            let on_corridor = (-0.55..0.0).contains(&along) && across.length() < 0.1;
            if on_corridor {
                (behind - pusher).normalize_or_zero() * self.walk_speed
            } else {
                self.walk(pusher, center, staging)
            }
        };
        let s = env.scenario();
        commands(s, &[(&self.actuators.0, velocity.x), (&self.actuators.1, velocity.y)])
    }

    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        out.extend([Ref::Body(&self.pusher), Ref::Body(&self.block), Ref::Goal]);
    }

    fn reset(&mut self, _seed: u64) {
        self.plan = None;
        self.circling = None;
    }

    fn check(&self, s: &Scenario) -> Result<(), String> {
        actuator(s, &self.actuators.0)?;
        actuator(s, &self.actuators.1).map(|_| ())
    }
}
