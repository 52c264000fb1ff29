//! Drawing the scene only from the simulation's frame description: a mesh per collider,
//! gizmos for terrain lines, goals, sensor rays and action arrows, poses interpolated
//! between fixed steps, and a camera that fits the scenario's view into the free space.

use super::session::Session;
use crate::sim::frame::{Frame, Overlay, Pose2};
use crate::sim::scenario::Shape;
use bevy::camera::ScalingMode;
use bevy::camera::Viewport;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;

/// The part of the window the scene may use (logical pixels), left by the panels.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct SceneRect {
    pub min: Vec2,
    pub max: Vec2,
}

/// A mesh entity drawing shape `index` of the frame.
#[derive(Component)]
struct Drawn {
    index: usize,
}

/// The shapes the current mesh entities were built for.
#[derive(Resource, Default)]
struct Built(Vec<(Shape, [f32; 4])>);

#[derive(Component)]
pub struct SceneCamera;

fn color(c: [f32; 4]) -> Color {
    Color::srgba(c[0], c[1], c[2], c[3])
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn((Camera2d, SceneCamera, Msaa::Sample4));
}

/// A filled mesh for a shape, in the shape's own frame; lines have none (gizmos draw them).
fn mesh(shape: &Shape) -> Option<Mesh> {
    Some(match shape {
        Shape::Ball(r) => Circle::new(*r).mesh().resolution(48).build(),
        Shape::Cuboid(hx, hy) => Rectangle::new(2.0 * hx, 2.0 * hy).into(),
        Shape::Capsule(half, r) => Capsule2d::new(*r, 2.0 * half).mesh().resolution(24).build(),
        Shape::Polygon(points) => ConvexPolygon::new_unchecked(points.iter().map(|p| Vec2::from(*p))).into(),
        Shape::Polyline(_) => return None,
    })
}

/// Rebuilds the mesh entities when the frame's set of shapes changes (a new scenario, a
/// goal ghost appearing).
fn rebuild(
    mut commands: Commands,
    session: Res<Session>,
    mut built: ResMut<Built>,
    drawn: Query<Entity, With<Drawn>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let shapes: Vec<(Shape, [f32; 4])> = session.frames[1].shapes.iter().map(|s| (s.shape.clone(), s.color)).collect();
    if shapes == built.0 {
        return;
    }
    drawn.iter().for_each(|e| commands.entity(e).despawn());
    for (index, (shape, c)) in shapes.iter().enumerate() {
        if let Some(m) = mesh(shape) {
            commands.spawn((
                Drawn { index },
                Mesh2d(meshes.add(m)),
                MeshMaterial2d(materials.add(ColorMaterial::from_color(color(*c)))),
                Transform::default(),
            ));
        }
    }
    built.0 = shapes;
}

fn lerp_pose(a: &Pose2, b: &Pose2, t: f32) -> Pose2 {
    // Angles interpolate the short way round.
    let d = (b.angle - a.angle + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
    Pose2 { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, angle: a.angle + d * t }
}

/// The pose of shape `i` between the last two steps.
fn pose(frames: &[Frame; 2], i: usize, t: f32) -> Pose2 {
    let now = frames[1].shapes[i].pose;
    match frames[0].shapes.get(i) {
        Some(before) if frames[0].shapes.len() == frames[1].shapes.len() => lerp_pose(&before.pose, &now, t),
        _ => now,
    }
}

fn place(session: Res<Session>, fixed: Res<Time<Fixed>>, mut drawn: Query<(&Drawn, &mut Transform)>) {
    let t = fixed.overstep_fraction().clamp(0.0, 1.0);
    let shapes = &session.frames[1].shapes;
    for (d, mut transform) in &mut drawn {
        if d.index < shapes.len() {
            let p = pose(&session.frames, d.index, t);
            *transform = Transform::from_xyz(p.x, p.y, d.index as f32 * 0.01).with_rotation(Quat::from_rotation_z(p.angle));
        }
    }
}

/// Lines, goal markers, rays and arrows.
fn overlays(session: Res<Session>, fixed: Res<Time<Fixed>>, mut gizmos: Gizmos) {
    let t = fixed.overstep_fraction().clamp(0.0, 1.0);
    let frame = &session.frames[1];
    for (i, s) in frame.shapes.iter().enumerate() {
        if let Shape::Polyline(points) = &s.shape {
            let p = pose(&session.frames, i, t);
            let iso = Isometry2d::new(Vec2::new(p.x, p.y), Rot2::radians(p.angle));
            gizmos.linestrip_2d(points.iter().map(|q| iso * Vec2::from(*q)), color(s.color));
        }
    }
    for overlay in &frame.overlays {
        match overlay {
            Overlay::GoalCircle { center, radius, color: c } => {
                gizmos.circle_2d(Isometry2d::from_translation(Vec2::from(*center)), *radius, color(*c));
            }
            Overlay::Ray { from, to, hit } => {
                let c = if *hit { Color::srgba(1.0, 0.35, 0.3, 0.8) } else { Color::srgba(0.4, 0.9, 0.5, 0.5) };
                gizmos.line_2d(Vec2::from(*from), Vec2::from(*to), c);
            }
            Overlay::Arrow { from, vector, color: c } => {
                let (a, v) = (Vec2::from(*from), Vec2::from(*vector));
                // Arrows are scaled to the view so full thrust reads at any scenario size.
                let scale = view_size(frame) * 0.08;
                gizmos.arrow_2d(a, a + v.clamp_length_max(1.0) * scale, color(*c));
            }
        }
    }
}

fn view_size(frame: &Frame) -> f32 {
    let [lo, hi] = frame.view;
    (hi[0] - lo[0]).max(hi[1] - lo[1])
}

/// Fits the scenario's view rectangle into the free part of the window.
fn fit_camera(
    session: Res<Session>,
    rect: Res<SceneRect>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut camera: Query<(&mut Camera, &mut Projection, &mut Transform), With<SceneCamera>>,
) {
    let Ok((mut camera, mut projection, mut transform)) = camera.single_mut() else { return };
    let [lo, hi] = session.frames[1].view;
    *transform = Transform::from_xyz((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, 1000.0);
    *projection = Projection::Orthographic(OrthographicProjection {
        scaling_mode: ScalingMode::AutoMin { min_width: hi[0] - lo[0], min_height: hi[1] - lo[1] },
        ..OrthographicProjection::default_2d()
    });
    let Ok(window) = window.single() else { return };
    let scale = window.scale_factor();
    let size = (rect.max - rect.min) * scale;
    camera.viewport = (size.x >= 16.0 && size.y >= 16.0).then(|| Viewport {
        physical_position: (rect.min * scale).as_uvec2(),
        physical_size: size.as_uvec2().min(UVec2::new(window.physical_width(), window.physical_height())),
        ..default()
    });
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Built>()
        .init_resource::<SceneRect>()
        .insert_resource(ClearColor(Color::srgb(0.10, 0.11, 0.13)))
        .add_systems(Startup, spawn_camera)
        .add_systems(Update, (rebuild, place, overlays, fit_camera).chain());
}
