//! The lines and markers over the scene, drawn with gizmos from the frame description: every
//! body's outline, terrain lines, the goal and the success region, the
//! success and failure limits, sensor rays, action arrows, contacts, the fading trail of the
//! controlled body, and the ghost rollouts of what the policy would do next.

use super::ghost::Ghosts;
use super::reward_view::LearnedReward;
use super::render::{Pane, RivalGizmos, SceneRect, arrow_tip, color, pane_rect, pixels_per_metre, pose, view_size};
use super::session::Session;
use super::split::Split;
use bevy::gizmos::config::GizmoConfigGroup;
use bevy::prelude::*;
use sim::frame::{DrawShape, Frame, Overlay, Pose2};
use sim::scenario::Shape;

const SUCCESS: Color = Color::srgba(0.3, 0.9, 0.45, 0.7);
const FAILURE: Color = Color::srgba(1.0, 0.35, 0.3, 0.55);
const CONTACT: Color = Color::srgb(1.0, 0.85, 0.2);
const TRAIL: [f32; 3] = [1.0, 0.9, 0.45];
/// Bodies thinner than this on screen are not outlined (the edge would hide their color).
const MIN_OUTLINED_PX: f32 = 12.0;

fn iso(p: Pose2) -> Isometry2d {
    Isometry2d::new(Vec2::new(p.x, p.y), Rot2::radians(p.angle))
}

/// A lighter edge for a fill color (transparent fills keep a faint edge).
fn edge(c: [f32; 4]) -> [f32; 4] {
    let lift = |x: f32| x + (1.0 - x) * 0.45;
    [lift(c[0]), lift(c[1]), lift(c[2]), (c[3] * 1.2).min(1.0)]
}

/// The outline of one shape at `pose` (terrain lines are drawn whole).
fn outline<G: GizmoConfigGroup>(gizmos: &mut Gizmos<G>, shape: &Shape, pose: Pose2, c: Color) {
    let at = iso(pose);
    match shape {
        Shape::Ball(r) => {
            gizmos.circle_2d(at, *r, c);
            // A spoke shows the ball's rotation.
            gizmos.line_2d(at * Vec2::ZERO, at * Vec2::new(*r, 0.0), c);
        }
        Shape::Cuboid(hx, hy) => {
            gizmos.rect_2d(at, Vec2::new(2.0 * hx, 2.0 * hy), c);
        }
        Shape::Capsule(half, r) => {
            gizmos.primitive_2d(&Capsule2d::new(*r, 2.0 * half), at, c);
        }
        Shape::Polygon(points) | Shape::Polyline(points) => {
            let closed = matches!(shape, Shape::Polygon(_));
            let mut line: Vec<Vec2> = points.iter().map(|q| at * Vec2::from(*q)).collect();
            if closed && let Some(first) = line.first().copied() {
                line.push(first);
            }
            gizmos.linestrip_2d(line, c);
        }
    }
}

/// The smaller extent of a shape, in metres.
fn thickness(shape: &Shape) -> f32 {
    match shape {
        Shape::Ball(r) | Shape::Capsule(_, r) => 2.0 * r,
        Shape::Cuboid(hx, hy) => 2.0 * hx.min(*hy),
        Shape::Polygon(points) | Shape::Polyline(points) => {
            let (lo, hi) = points
                .iter()
                .fold((Vec2::MAX, Vec2::MIN), |(lo, hi), p| (lo.min(Vec2::from(*p)), hi.max(Vec2::from(*p))));
            (hi - lo).min_element()
        }
    }
}

/// Everything a frame says, over its shapes. Bodies too small on screen for an edge keep
/// their fill alone (`ppm`: window pixels per metre).
fn draw_frame<G: GizmoConfigGroup>(frames: &[Frame; 2], t: f32, ppm: f32, gizmos: &mut Gizmos<G>) {
    let frame = &frames[1];
    for (i, s) in frame.shapes.iter().enumerate() {
        let line = matches!(s.shape, Shape::Polyline(_));
        if line || thickness(&s.shape) * ppm >= MIN_OUTLINED_PX {
            outline(gizmos, &s.shape, pose(frames, i, t), color(if line { s.color } else { edge(s.color) }));
        }
    }
    let reach = view_size(frame) * 4.0;
    for overlay in &frame.overlays {
        match overlay {
            Overlay::GoalCircle { center, radius, color: c } => {
                gizmos.circle_2d(Isometry2d::from_translation(Vec2::from(*center)), *radius, color(*c));
            }
            Overlay::SuccessCircle { center, radius } => {
                gizmos.circle_2d(Isometry2d::from_translation(Vec2::from(*center)), *radius, SUCCESS);
            }
            Overlay::Limit { vertical, at, success, .. } => {
                let c = if *success { SUCCESS } else { FAILURE };
                let (a, b) = if *vertical {
                    (Vec2::new(*at, -reach), Vec2::new(*at, reach))
                } else {
                    (Vec2::new(-reach, *at), Vec2::new(reach, *at))
                };
                gizmos.line_2d(a, b, c);
            }
            Overlay::Ray { from, to, hit } => {
                let c = if *hit { Color::srgba(1.0, 0.35, 0.3, 0.8) } else { Color::srgba(0.4, 0.9, 0.5, 0.5) };
                gizmos.line_2d(Vec2::from(*from), Vec2::from(*to), c);
            }
            Overlay::Arrow { from, vector, color: c, .. } => {
                gizmos.arrow_2d(Vec2::from(*from), arrow_tip(frame, *from, *vector), color(*c));
            }
            Overlay::Contact { point } => {
                let r = view_size(frame) * 0.006;
                gizmos.circle_2d(Isometry2d::from_translation(Vec2::from(*point)), r, CONTACT);
            }
        }
    }
}

/// The controlled body's last steps, fading into the past; with the learned-reward view on,
/// each step coloured by its learned reward (low blue, high yellow, over the trail's range).
fn trail<G: GizmoConfigGroup>(gizmos: &mut Gizmos<G>, session: &Session, learned: &LearnedReward) {
    let n = session.trail.len();
    let scores = &learned.scores;
    let range = learned.range().filter(|_| learned.enabled && learned.model.is_some());
    gizmos.linestrip_gradient_2d(session.trail.iter().enumerate().map(|(k, p)| {
        let alpha = 0.05 + 0.75 * (k as f32 + 1.0) / n.max(1) as f32;
        // Scores belong to the trail's newest points (the first point has no step before it).
        let score = (k + scores.len()).checked_sub(n).and_then(|i| scores.get(i));
        let rgb = match (range, score) {
            (Some((lo, hi)), Some(s)) => reward_colour((s - lo) / (hi - lo).max(1e-6)),
            _ => TRAIL,
        };
        (Vec2::from(*p), Color::srgba(rgb[0], rgb[1], rgb[2], alpha.max(0.6 * f32::from(range.is_some()))))
    }));
}

/// Blue (0) through magenta to yellow (1).
fn reward_colour(t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [0.25 + 0.75 * t, 0.35 + 0.55 * t * t, 1.0 - 0.75 * t]
}

/// Each ghost track: its bodies' outlines every few steps, fading with distance ahead, and
/// the path of the focus point.
fn ghosts<G: GizmoConfigGroup>(gizmos: &mut Gizmos<G>, ghosts: &Ghosts, now: &Frame) {
    for track in &ghosts.tracks {
        let n = track.frames.len().max(1) as f32;
        let [r, g, b, a] = track.color;
        for (k, frame) in track.frames.iter().enumerate().filter(|(k, _)| track.outlines && k % 4 == 3) {
            let alpha = a * (1.0 - k as f32 / n);
            // Only what moves: the static world would be drawn over itself.
            let moved = |(i, s): &(usize, &DrawShape)| now.shapes.get(*i).is_none_or(|c| c.pose != s.pose);
            for (_, s) in frame.shapes.iter().enumerate().filter(moved) {
                if !matches!(s.shape, Shape::Polyline(_)) {
                    outline(gizmos, &s.shape, s.pose, Color::srgba(r, g, b, alpha));
                }
            }
        }
        gizmos.linestrip_2d(track.frames.iter().filter_map(|f| f.focus).map(Vec2::from), Color::srgba(r, g, b, a));
    }
}

fn draw(
    session: Res<Session>,
    split: Res<Split>,
    ghost: Res<Ghosts>,
    learned: Res<LearnedReward>,
    rect: Res<SceneRect>,
    fixed: Res<Time<Fixed>>,
    mut main: Gizmos,
    mut rival: Gizmos<RivalGizmos>,
) {
    let t = fixed.overstep_fraction().clamp(0.0, 1.0);
    let ppm = |pane: Pane, frame: &Frame| pixels_per_metre(frame, pane_rect(pane, &rect, split.is_open()));
    draw_frame(&session.frames, t, ppm(Pane::Main, &session.frames[1]), &mut main);
    trail(&mut main, &session, &learned);
    ghosts(&mut main, &ghost, &session.frames[1]);
    if let Some(frames) = Pane::Rival.frames(&session, &split) {
        draw_frame(frames, t, ppm(Pane::Rival, &frames[1]), &mut rival);
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(Update, draw);
}
