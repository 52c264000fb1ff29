//! Drawing the scene only from the simulation's frame description: a mesh per collider,
//! poses interpolated between fixed steps, a metric grid behind them, and a camera that fits the scenario's view into
//! the free space (the lines and markers over it are `overlays`).
//! With the split view open, the second checkpoint's scene is drawn the same way in the
//! right half, by its own camera on its own render layer.

use super::session::Session;
use super::split::Split;
use bevy::asset::RenderAssetUsages;
use bevy::camera::ScalingMode;
use bevy::camera::Viewport;
use bevy::camera::visibility::RenderLayers;
use bevy::gizmos::config::GizmoConfigGroup;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use sim::frame::{Frame, Pose2};
use sim::scenario::Shape;

/// The part of the window the scene may use (logical pixels), left by the panels.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct SceneRect {
    pub min: Vec2,
    pub max: Vec2,
}

/// Which side of the window a camera or a mesh belongs to: the main scene, or the second
/// checkpoint of the split view.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Main,
    Rival,
}

impl Pane {
    const ALL: [Pane; 2] = [Pane::Main, Pane::Rival];

    fn layer(self) -> RenderLayers {
        RenderLayers::layer(self as usize)
    }

    /// The two frames this pane interpolates between, if it is shown.
    pub fn frames<'a>(self, session: &'a Session, split: &'a Split) -> Option<&'a [Frame; 2]> {
        match self {
            Pane::Main => Some(&session.frames),
            Pane::Rival => split.rival.as_ref().map(|r| &r.session.frames),
        }
    }
}

/// Gizmos of the split view's right side (its own render layer).
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct RivalGizmos;

/// A mesh entity drawing shape `index` of its pane's frame.
#[derive(Component)]
struct Drawn {
    index: usize,
}

/// The shapes each pane's mesh entities were built for.
#[derive(Resource, Default)]
struct Built([Vec<(Shape, [f32; 4])>; 2]);

#[derive(Component)]
pub struct SceneCamera;

/// Shapes stack from this depth up, in frame order (the grid lies below).
const SHAPE_Z: f32 = 1.0;

/// Faint and opaque: a grid under everything.
const GRID: Color = Color::srgb(0.19, 0.2, 0.24);

pub fn color(c: [f32; 4]) -> Color {
    Color::srgba(c[0], c[1], c[2], c[3])
}

fn spawn_cameras(mut commands: Commands) {
    for pane in Pane::ALL {
        // The main camera clears the window; the second one draws over its own half only.
        let clear_color = if pane == Pane::Main { ClearColorConfig::Default } else { ClearColorConfig::None };
        let camera = Camera { order: pane as isize, is_active: pane == Pane::Main, clear_color, ..default() };
        // No multisampling: on a software rasterizer (lavapipe) 4× MSAA costs a third of
        // the frame; outlines keep edges readable.
        commands.spawn((Camera2d, camera, SceneCamera, pane, pane.layer(), Msaa::Off));
    }
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

/// Rebuilds a pane's mesh entities when its set of shapes changes (a new scenario, a goal
/// ghost appearing, the split view opening or closing).
fn rebuild(
    mut commands: Commands,
    session: Res<Session>,
    split: Res<Split>,
    mut built: ResMut<Built>,
    drawn: Query<(Entity, &Pane), With<Drawn>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    for pane in Pane::ALL {
        let shapes: Vec<(Shape, [f32; 4])> = pane
            .frames(&session, &split)
            .map(|frames| frames[1].shapes.iter().map(|s| (s.shape.clone(), s.color)).collect())
            .unwrap_or_default();
        if shapes == built.0[pane as usize] {
            continue;
        }
        drawn.iter().filter(|(_, p)| **p == pane).for_each(|(e, _)| commands.entity(e).despawn());
        for (index, (shape, c)) in shapes.iter().enumerate() {
            if let Some(m) = mesh(shape) {
                commands.spawn((
                    Drawn { index },
                    pane,
                    pane.layer(),
                    Mesh2d(meshes.add(m)),
                    MeshMaterial2d(materials.add(ColorMaterial::from_color(color(*c)))),
                    Transform::default(),
                ));
            }
        }
        built.0[pane as usize] = shapes;
    }
}

/// A pane's metric grid: one line-list mesh behind the shapes, built for a view.
#[derive(Component)]
struct Grid {
    view: [[f32; 2]; 2],
}

/// The grid's lines for `frame`'s view (and well beyond it, for wide windows).
fn grid_mesh(frame: &Frame) -> Mesh {
    let spacing = grid_spacing(frame);
    let [lo, hi] = frame.view;
    let reach = view_size(frame) * 2.0;
    let (lo, hi) = (Vec2::from(lo) - reach, Vec2::from(hi) + reach);
    let lines = |from: f32, to: f32| {
        let first = (from / spacing).floor() as i64;
        let last = (to / spacing).ceil() as i64;
        (first..=last).map(move |k| k as f32 * spacing)
    };
    let mut points: Vec<[f32; 3]> = Vec::new();
    for x in lines(lo.x, hi.x) {
        points.extend([[x, lo.y, 0.0], [x, hi.y, 0.0]]);
    }
    for y in lines(lo.y, hi.y) {
        points.extend([[lo.x, y, 0.0], [hi.x, y, 0.0]]);
    }
    Mesh::new(PrimitiveTopology::LineList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, points)
}

/// Rebuilds a pane's grid when its view changes.
fn grids(
    mut commands: Commands,
    session: Res<Session>,
    split: Res<Split>,
    grids: Query<(Entity, &Pane, &Grid)>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    for pane in Pane::ALL {
        let frame = pane.frames(&session, &split).map(|f| &f[1]);
        let current = grids.iter().find(|(_, p, _)| **p == pane);
        if current.map(|(_, _, g)| g.view) == frame.map(|f| f.view) {
            continue;
        }
        if let Some((entity, ..)) = current {
            commands.entity(entity).despawn();
        }
        if let Some(frame) = frame {
            commands.spawn((
                Grid { view: frame.view },
                pane,
                pane.layer(),
                Mesh2d(meshes.add(grid_mesh(frame))),
                MeshMaterial2d(materials.add(ColorMaterial::from_color(GRID))),
                // Behind every shape (see `SHAPE_Z`), inside what a 2D camera shows (z ≥ 0).
                Transform::from_xyz(0.0, 0.0, 0.5),
            ));
        }
    }
}

fn lerp_pose(a: &Pose2, b: &Pose2, t: f32) -> Pose2 {
    // Angles interpolate the short way round.
    let d = (b.angle - a.angle + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
    Pose2 { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, angle: a.angle + d * t }
}

/// The pose of shape `i` between the last two steps.
pub fn pose(frames: &[Frame; 2], i: usize, t: f32) -> Pose2 {
    let now = frames[1].shapes[i].pose;
    match frames[0].shapes.get(i) {
        Some(before) if frames[0].shapes.len() == frames[1].shapes.len() => lerp_pose(&before.pose, &now, t),
        _ => now,
    }
}

fn place(
    session: Res<Session>,
    split: Res<Split>,
    fixed: Res<Time<Fixed>>,
    mut drawn: Query<(&Drawn, &Pane, &mut Transform)>,
) {
    let t = fixed.overstep_fraction().clamp(0.0, 1.0);
    for (d, pane, mut transform) in &mut drawn {
        let Some(frames) = pane.frames(&session, &split) else { continue };
        if d.index < frames[1].shapes.len() {
            let p = pose(frames, d.index, t);
            *transform = Transform::from_xyz(p.x, p.y, SHAPE_Z + d.index as f32 * 0.01)
                .with_rotation(Quat::from_rotation_z(p.angle));
        }
    }
}

/// The larger side of the frame's view, in metres.
pub fn view_size(frame: &Frame) -> f32 {
    let [lo, hi] = frame.view;
    (hi[0] - lo[0]).max(hi[1] - lo[1])
}

/// Where an action arrow ends: scaled to the view, so full thrust reads at any scenario size.
pub fn arrow_tip(frame: &Frame, from: [f32; 2], vector: [f32; 2]) -> Vec2 {
    Vec2::from(from) + Vec2::from(vector).clamp_length_max(1.0) * view_size(frame) * 0.08
}

/// A grid spacing of 1, 2 or 5 × 10^k metres that puts about eight lines across the view.
pub fn grid_spacing(frame: &Frame) -> f32 {
    let rough = view_size(frame) / 8.0;
    let decade = 10f32.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * decade).find(|s| *s >= rough).unwrap_or(10.0 * decade)
}

/// Fits the scenario's view rectangle into the free part of the window: all of it, or one
/// half each while the split view is open.
fn fit_cameras(
    session: Res<Session>,
    split: Res<Split>,
    rect: Res<SceneRect>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut cameras: Query<(&Pane, &mut Camera, &mut Projection, &mut Transform), With<SceneCamera>>,
) {
    let Ok(window) = window.single() else { return };
    for (pane, mut camera, mut projection, mut transform) in &mut cameras {
        let frames = pane.frames(&session, &split);
        camera.is_active = frames.is_some();
        let Some(frames) = frames else { continue };
        let [lo, hi] = frames[1].view;
        *transform = Transform::from_xyz((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, 1000.0);
        *projection = Projection::Orthographic(OrthographicProjection {
            scaling_mode: ScalingMode::AutoMin { min_width: hi[0] - lo[0], min_height: hi[1] - lo[1] },
            ..OrthographicProjection::default_2d()
        });
        let (min, max) = pane_rect(*pane, &rect, split.is_open());
        let scale = window.scale_factor();
        let size = (max - min) * scale;
        camera.viewport = (size.x >= 16.0 && size.y >= 16.0).then(|| Viewport {
            physical_position: (min * scale).as_uvec2(),
            physical_size: size.as_uvec2().min(UVec2::new(window.physical_width(), window.physical_height())),
            ..default()
        });
    }
}

/// Window pixels per metre in a pane `(min, max)` whose camera fits the frame's view.
pub fn pixels_per_metre(frame: &Frame, (min, max): (Vec2, Vec2)) -> f32 {
    let [lo, hi] = frame.view;
    let size = max - min;
    (size.x / (hi[0] - lo[0])).min(size.y / (hi[1] - lo[1]))
}

/// The part of the scene rectangle a pane draws in (logical pixels).
pub fn pane_rect(pane: Pane, rect: &SceneRect, split: bool) -> (Vec2, Vec2) {
    if !split {
        return (rect.min, rect.max);
    }
    let middle = (rect.min.x + rect.max.x) / 2.0;
    match pane {
        Pane::Main => (rect.min, Vec2::new(middle - 2.0, rect.max.y)),
        Pane::Rival => (Vec2::new(middle + 2.0, rect.min.y), rect.max),
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Built>()
        .init_resource::<SceneRect>()
        .insert_resource(ClearColor(Color::srgb(0.10, 0.11, 0.13)))
        .insert_gizmo_config(RivalGizmos, GizmoConfig { render_layers: Pane::Rival.layer(), ..default() })
        .add_systems(Startup, spawn_cameras)
        .add_systems(Update, (rebuild, grids, place, fit_cameras).chain());
}
