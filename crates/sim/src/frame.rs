//! A renderer-neutral picture of an environment: every collider's shape, pose and color,
//! plus overlays (goal, success and failure limits, sensor rays, labelled action arrows,
//! contact points) and the point a trail follows. Any renderer draws any scenario from it.

use super::scenario::{Condition, Effect, Marker, Point, Quantity, Scenario, Shape, V2};
use super::scenario_env::ScenarioEnv;
use super::world::vec2;
use serde::Serialize;

/// A pose in the world: position and angle (radians).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pose2 {
    pub x: f32,
    pub y: f32,
    pub angle: f32,
}

/// One collider to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawShape {
    pub shape: Shape,
    /// World pose of the shape's own frame.
    pub pose: Pose2,
    /// RGBA in 0..1.
    pub color: [f32; 4],
}

/// Drawn on top of the shapes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Overlay {
    /// A goal disc.
    GoalCircle { center: V2, radius: f32, color: [f32; 4] },
    /// A sensor ray; `hit` when it touched something before its range.
    Ray { from: V2, to: V2, hit: bool },
    /// An actuator's effect: starts at `from`, length and direction show the command;
    /// `label` names the actuator and its command.
    Arrow { from: V2, vector: V2, color: [f32; 4], label: String },
    /// Where two colliders touch.
    Contact { point: V2 },
    /// A line the task's outcome depends on: `x = at` (`vertical`) or `y = at`. Crossing a
    /// success limit toward `toward` (+1 or −1) succeeds; crossing a failure limit fails.
    Limit { vertical: bool, at: f32, toward: f32, success: bool },
    /// The success region around the goal: within `radius` of it.
    SuccessCircle { center: V2, radius: f32 },
}

/// Everything a renderer needs for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub shapes: Vec<DrawShape>,
    pub overlays: Vec<Overlay>,
    /// World rectangle to show, `(min, max)`.
    pub view: [V2; 2],
    /// The point a trail follows: the one the task's success is about, else the first
    /// actuated body.
    pub focus: Option<V2>,
}

fn rgba(c: [f32; 3], alpha: f32) -> [f32; 4] {
    [c[0], c[1], c[2], alpha]
}

impl ScenarioEnv {
    /// Describes the current state for drawing.
    pub fn frame(&self) -> Frame {
        let s = self.scenario();
        let m = self.measure();
        let mut shapes = Vec::new();
        for (body, spec) in self.world().bodies.iter().zip(&s.bodies) {
            let pose = *self.world().physics.bodies[*body].position();
            for c in &spec.colliders {
                let at = pose * rapier2d::math::Pose::new(vec2(c.offset), c.angle);
                shapes.push(DrawShape {
                    shape: c.shape.clone(),
                    pose: Pose2 { x: at.translation.x, y: at.translation.y, angle: at.rotation.angle() },
                    color: rgba(c.color.unwrap_or(spec.color), if c.sensor { 0.4 } else { 1.0 }),
                });
            }
        }
        let mut overlays = Vec::new();
        if let (Some(goal), Some(spec)) = (self.goal(), &s.goal) {
            match &spec.marker {
                Marker::Circle(radius) => overlays.push(Overlay::GoalCircle {
                    center: goal.position.to_array(),
                    radius: *radius,
                    color: rgba(spec.color, 0.5),
                }),
                Marker::Ghost(name) => {
                    let body = &s.bodies[s.body_index(name).expect("validated")];
                    let pose = rapier2d::math::Pose::new(goal.position, goal.angle);
                    for c in &body.colliders {
                        let at = pose * rapier2d::math::Pose::new(vec2(c.offset), c.angle);
                        shapes.insert(
                            0,
                            DrawShape {
                                shape: c.shape.clone(),
                                pose: Pose2 { x: at.translation.x, y: at.translation.y, angle: at.rotation.angle() },
                                color: rgba(spec.color, 0.35),
                            },
                        );
                    }
                }
            }
        }
        overlays.extend(self.rays().iter().map(|r| Overlay::Ray {
            from: r.from.to_array(),
            to: r.to.to_array(),
            hit: r.hit,
        }));
        for (actuator, &command) in s.actuators.iter().zip(self.commands()) {
            let arrow = match &actuator.effect {
                Effect::Force { body, direction, at, local } | Effect::Impulse { body, direction, at, local } => {
                    let rb = m.body(body);
                    let d = if *local { rb.rotation().transform_vector(vec2(*direction)) } else { vec2(*direction) };
                    Some((rb.position().transform_point(vec2(*at)), d))
                }
                Effect::Velocity { body, direction, local, .. } => {
                    let rb = m.body(body);
                    let d = if *local { rb.rotation().transform_vector(vec2(*direction)) } else { vec2(*direction) };
                    Some((rb.translation(), d))
                }
                _ => None,
            };
            if let Some((from, d)) = arrow
                && command != 0.0
            {
                // Thrusters push the body opposite to their exhaust: draw the push.
                let v = d.normalize_or_zero() * command;
                overlays.push(Overlay::Arrow {
                    from: from.to_array(),
                    vector: v.to_array(),
                    color: [1.0, 0.6, 0.1, 0.9],
                    label: format!("{} {command:+.2}", actuator.name),
                });
            }
        }
        overlays.extend(self.contact_points().into_iter().map(|point| Overlay::Contact { point }));
        if let Some(success) = &s.success {
            limits(&success.when, true, &mut overlays);
            if let (Some(goal), Some(radius)) = (self.goal(), goal_radius(&success.when)) {
                overlays.push(Overlay::SuccessCircle { center: goal.position.to_array(), radius });
            }
        }
        s.failure.iter().for_each(|c| limits(c, false, &mut overlays));
        let focus = focus_point(s).map(|p| m.point(&p).to_array());
        Frame { shapes, overlays, view: s.view.unwrap_or_else(|| fit_view(&self.frame_points())), focus }
    }

    /// World points where colliders touch now.
    fn contact_points(&self) -> Vec<V2> {
        let physics = &self.world().physics;
        physics
            .narrow_phase
            .contact_pairs()
            .filter(|pair| pair.has_any_active_contact())
            .flat_map(|pair| {
                let pose = physics.colliders.get(pair.collider1).map(|c| *c.position());
                pair.manifolds().iter().flat_map(move |m| {
                    m.points
                        .iter()
                        .filter(|p| p.dist <= 0.01)
                        .filter_map(move |p| pose.map(|pose| pose.transform_point(p.local_p1).to_array()))
                })
            })
            .collect()
    }

    fn frame_points(&self) -> Vec<V2> {
        self.world()
            .physics
            .colliders
            .iter()
            .flat_map(|(_, c)| {
                let aabb = c.compute_aabb();
                [[aabb.mins.x, aabb.mins.y], [aabb.maxs.x, aabb.maxs.y]]
            })
            .collect()
    }
}

/// A view rectangle around points, with a 10% margin.
fn fit_view(points: &[V2]) -> [V2; 2] {
    let (lo, hi) = super::world::bounds(points);
    let margin = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 0.1).max(0.5);
    [[lo[0] - margin, lo[1] - margin], [hi[0] + margin, hi[1] + margin]]
}

/// The lines of x or y thresholds in `condition` (success or failure).
fn limits(condition: &Condition, success: bool, out: &mut Vec<Overlay>) {
    let axis = |q: &Quantity| match q {
        Quantity::X(_) => Some(true),
        Quantity::Y(_) => Some(false),
        _ => None,
    };
    match condition {
        Condition::Above(q, v) | Condition::Below(q, v) => {
            if let Some(vertical) = axis(q) {
                let toward = if matches!(condition, Condition::Above(..)) { 1.0 } else { -1.0 };
                out.push(Overlay::Limit { vertical, at: *v, toward, success });
            }
        }
        Condition::Outside(q, [lo, hi]) => {
            if let Some(vertical) = axis(q) {
                out.push(Overlay::Limit { vertical, at: *lo, toward: -1.0, success });
                out.push(Overlay::Limit { vertical, at: *hi, toward: 1.0, success });
            }
        }
        Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| limits(c, success, out)),
        Condition::Contact(..) | Condition::Survived => {}
    }
}

/// The goal distance success asks for, if it asks for one.
fn goal_radius(condition: &Condition) -> Option<f32> {
    match condition {
        Condition::Below(Quantity::GoalDistance(_), r) => Some(*r),
        Condition::All(cs) | Condition::Any(cs) => cs.iter().find_map(goal_radius),
        _ => None,
    }
}

/// The first point a condition measures.
fn condition_point(condition: &Condition) -> Option<Point> {
    let of = |q: &Quantity| match q {
        Quantity::X(p)
        | Quantity::Y(p)
        | Quantity::VelocityX(p)
        | Quantity::VelocityY(p)
        | Quantity::Speed(p)
        | Quantity::GoalDistance(p)
        | Quantity::PathProgress(_, p)
        | Quantity::PathDistance(_, p) => Some(p.clone()),
        _ => None,
    };
    match condition {
        Condition::Above(q, _) | Condition::Below(q, _) | Condition::Outside(q, _) => of(q),
        Condition::All(cs) | Condition::Any(cs) => cs.iter().find_map(condition_point),
        Condition::Contact(..) | Condition::Survived => None,
    }
}

/// What a trail follows: the point success measures, else the first actuated body.
fn focus_point(s: &Scenario) -> Option<Point> {
    s.success.as_ref().and_then(|success| condition_point(&success.when)).or_else(|| {
        s.actuators.iter().find_map(|a| match &a.effect {
            Effect::Force { body, .. }
            | Effect::Torque { body }
            | Effect::Impulse { body, .. }
            | Effect::Velocity { body, .. }
            | Effect::AngularVelocity { body } => Some(Point::Body(body.clone())),
            Effect::JointTorque { joint }
            | Effect::MotorVelocity { joint, .. }
            | Effect::MotorPosition { joint, .. } => {
                s.joints.iter().find(|j| &j.name == joint).map(|j| Point::Body(j.body2.clone()))
            }
        })
    })
}
