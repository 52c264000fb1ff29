//! Reads quantities and conditions off a world: the shared language of observations,
//! rewards, terminations and experts.

use super::path::PathGeom;
use super::scenario::{Condition, JointKind, Point, Quantity, Scenario};
use super::world::{BuiltWorld, vec2};
use rapier2d::prelude::*;
use std::f32::consts::PI;

/// A goal position and heading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoalPose {
    pub position: Vector,
    pub angle: f32,
}

/// Laps travelled by a point along a closed path, integrated step by step.
#[derive(Debug, Clone)]
pub struct LapTracker {
    pub path: usize,
    pub point: Point,
    /// Arc length at the last update.
    pub s: f32,
    /// Laps travelled since reset.
    pub laps: f32,
    /// Laps travelled over the last step.
    pub delta: f32,
}

/// A read-only view of an environment's state.
pub struct Measure<'a> {
    pub scenario: &'a Scenario,
    pub world: &'a BuiltWorld,
    pub goal: Option<GoalPose>,
    pub paths: &'a [PathGeom],
    pub laps: &'a [LapTracker],
    /// The episode has reached its step limit.
    pub at_limit: bool,
}

/// Wraps an angle to (-π, π].
pub fn wrap_angle(a: f32) -> f32 {
    let w = (a + PI).rem_euclid(2.0 * PI) - PI;
    if w == -PI { PI } else { w }
}

impl<'a> Measure<'a> {
    pub fn body(&self, name: &str) -> &'a RigidBody {
        let i = self.scenario.body_index(name).expect("validated body name");
        &self.world.physics.bodies[self.world.bodies[i]]
    }

    pub fn body_handle(&self, name: &str) -> RigidBodyHandle {
        self.world.bodies[self.scenario.body_index(name).expect("validated body name")]
    }

    /// World position of a point.
    pub fn point(&self, p: &Point) -> Vector {
        self.body(p.body()).position().transform_point(vec2(p.local()))
    }

    /// World velocity of a point (its body looked up once: observations read it every step).
    pub fn point_velocity(&self, p: &Point) -> Vector {
        let body = self.body(p.body());
        body.velocity_at_point(body.position().transform_point(vec2(p.local())))
    }

    pub fn angle(&self, body: &str) -> f32 {
        self.body(body).rotation().angle()
    }

    fn joint_parts(&self, name: &str) -> (&'a super::scenario::Joint, &'a RigidBody, &'a RigidBody) {
        let joint = &self.scenario.joints[self.scenario.joint_index(name).expect("validated joint name")];
        (joint, self.body(&joint.body1), self.body(&joint.body2))
    }

    /// Relative angle body2 − body1 of a joint, wrapped.
    pub fn joint_angle(&self, name: &str) -> f32 {
        let (_, b1, b2) = self.joint_parts(name);
        wrap_angle(b2.rotation().angle() - b1.rotation().angle())
    }

    /// Displacement of a prismatic joint along its axis (0 for other joints).
    pub fn joint_position(&self, name: &str) -> f32 {
        let (joint, b1, b2) = self.joint_parts(name);
        let JointKind::Prismatic { axis, .. } = &joint.kind else { return 0.0 };
        let axis = b1.position().transform_vector(vec2(*axis).normalize());
        let a1 = b1.position().transform_point(vec2(joint.anchor1));
        let a2 = b2.position().transform_point(vec2(joint.anchor2));
        (a2 - a1).dot(axis)
    }

    /// Angular rate of a hinge, or linear rate of a slider.
    pub fn joint_rate(&self, name: &str) -> f32 {
        let (joint, b1, b2) = self.joint_parts(name);
        match &joint.kind {
            JointKind::Prismatic { axis, .. } => {
                let axis = b1.position().transform_vector(vec2(*axis).normalize());
                let a2 = b2.position().transform_point(vec2(joint.anchor2));
                (b2.velocity_at_point(a2) - b1.velocity_at_point(a2)).dot(axis)
            }
            _ => b2.angvel() - b1.angvel(),
        }
    }

    /// Whether any collider of body `a` is in contact with body `b`.
    pub fn contact(&self, a: &str, b: &str) -> bool {
        let ia = self.scenario.body_index(a).expect("validated body name");
        let hb = self.body_handle(b);
        let colliders = &self.world.physics.colliders;
        self.world.colliders[ia].iter().any(|&ca| {
            self.world.physics.narrow_phase.contact_pairs_with(ca).any(|pair| {
                let other = if pair.collider1 == ca { pair.collider2 } else { pair.collider1 };
                pair.has_any_active_contact() && colliders.get(other).and_then(|c| c.parent()) == Some(hb)
            })
        })
    }

    fn goal(&self) -> GoalPose {
        self.goal.expect("validated: goal terms need a goal")
    }

    pub fn goal_distance(&self, p: &Point) -> f32 {
        self.point(p).distance(self.goal().position)
    }

    /// See `Quantity::PushPoseDistance`.
    fn push_pose_distance(&self, pusher: &Point, block: &Point, standoff: f32) -> f32 {
        let (block, goal) = (self.point(block), self.goal().position);
        let away = block - goal;
        let spot = block + away * (standoff / away.length().max(standoff).max(1e-6));
        self.point(pusher).distance(spot)
    }

    fn laps(&self, path: &str, p: &Point) -> &LapTracker {
        let index = self.scenario.path_index(path).expect("validated path name");
        self.laps.iter().find(|t| t.path == index && &t.point == p).expect("a tracker per path term")
    }

    pub fn quantity(&self, q: &Quantity) -> f32 {
        match q {
            Quantity::X(p) => self.point(p).x,
            Quantity::Y(p) => self.point(p).y,
            Quantity::VelocityX(p) => self.point_velocity(p).x,
            Quantity::VelocityY(p) => self.point_velocity(p).y,
            Quantity::Speed(p) => self.point_velocity(p).length(),
            Quantity::Angle(b) => wrap_angle(self.angle(b)),
            Quantity::AngularVelocity(b) => self.body(b).angvel(),
            Quantity::Upright(b) => self.angle(b).cos(),
            Quantity::JointAngle(j) => self.joint_angle(j),
            Quantity::JointPosition(j) => self.joint_position(j),
            Quantity::JointRate(j) => self.joint_rate(j),
            Quantity::GoalDistance(p) => self.goal_distance(p),
            Quantity::GoalAngleError(b) => wrap_angle(self.angle(b) - self.goal().angle).abs(),
            Quantity::PushPoseDistance { pusher, block, standoff } => self.push_pose_distance(pusher, block, *standoff),
            Quantity::Contact(a, b) => self.contact(a, b) as u8 as f32,
            Quantity::PathProgress(path, p) => self.laps(path, p).laps,
            Quantity::PathDistance(path, p) => {
                self.paths[self.scenario.path_index(path).expect("validated path name")].project(self.point(p)).1
            }
        }
    }

    pub fn laps_delta(&self, path: &str, p: &Point) -> f32 {
        self.laps(path, p).delta
    }

    pub fn condition(&self, c: &Condition) -> bool {
        match c {
            Condition::Above(q, v) => self.quantity(q) > *v,
            Condition::Below(q, v) => self.quantity(q) < *v,
            Condition::Outside(q, [lo, hi]) => {
                let x = self.quantity(q);
                x < *lo || x > *hi
            }
            Condition::Contact(a, b) => self.contact(a, b),
            Condition::Survived => self.at_limit,
            Condition::All(cs) => cs.iter().all(|c| self.condition(c)),
            Condition::Any(cs) => cs.iter().any(|c| self.condition(c)),
        }
    }
}
