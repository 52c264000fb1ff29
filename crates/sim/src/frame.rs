//! A renderer-neutral picture of an environment: every collider's shape, pose and color,
//! plus overlays (goal, sensor rays, action arrows). Any renderer draws any scenario from it.

use super::scenario::{Effect, Marker, Shape, V2};
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
    /// An actuator's effect: starts at `from`, length and direction show the command.
    Arrow { from: V2, vector: V2, color: [f32; 4] },
}

/// Everything a renderer needs for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub shapes: Vec<DrawShape>,
    pub overlays: Vec<Overlay>,
    /// World rectangle to show, `(min, max)`.
    pub view: [V2; 2],
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
                });
            }
        }
        Frame { shapes, overlays, view: s.view.unwrap_or_else(|| fit_view(&self.frame_points())) }
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
