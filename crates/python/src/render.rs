//! `render("rgb_array")`: a software rasterizer of the renderer-neutral frame description
//! (`sim::frame::Frame`), so Python users get pictures with no window and no GPU.

use sim::frame::{Frame, Overlay};
use sim::scenario::Shape;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

/// Background, the app's limit colours (success green, failure red), rays and contacts.
const BACKGROUND: [f32; 4] = [0.97, 0.97, 0.96, 1.0];
const SUCCESS: [f32; 4] = [0.2, 0.7, 0.3, 0.9];
const FAILURE: [f32; 4] = [0.85, 0.2, 0.2, 0.9];
const RAY_HIT: [f32; 4] = [1.0, 0.35, 0.3, 0.8];
const RAY_MISS: [f32; 4] = [0.3, 0.7, 0.4, 0.6];
const CONTACT: [f32; 4] = [0.1, 0.1, 0.1, 0.9];

/// The frame as `height × width × 3` RGB bytes, `width` pixels across its view rectangle.
pub fn rgb(frame: &Frame, width: u32) -> (Vec<u8>, u32, u32) {
    let [lo, hi] = frame.view;
    let (w, h) = ((hi[0] - lo[0]).max(1e-3), (hi[1] - lo[1]).max(1e-3));
    let width = width.max(8);
    let height = ((width as f32 * h / w).round() as u32).max(8);
    let mut pixmap = Pixmap::new(width, height).expect("the size is at least 8 × 8");
    pixmap.fill(color(BACKGROUND));
    let scale = width as f32 / w;
    // World metres to pixels, y pointing up.
    let world = Transform::from_row(scale, 0.0, 0.0, -scale, -lo[0] * scale, hi[1] * scale);
    let pixel = 1.0 / scale;
    for s in &frame.shapes {
        let at = world.pre_translate(s.pose.x, s.pose.y).pre_rotate(s.pose.angle.to_degrees());
        draw_shape(&mut pixmap, &s.shape, s.color, at, pixel);
    }
    let reach = 4.0 * w.max(h);
    for overlay in &frame.overlays {
        match overlay {
            Overlay::GoalCircle { center, radius, color: c } => fill(&mut pixmap, circle(*center, *radius), *c, world),
            Overlay::SuccessCircle { center, radius } => {
                stroke(&mut pixmap, circle(*center, *radius), SUCCESS, 2.0 * pixel, world)
            }
            Overlay::Limit { vertical, at, success, .. } => {
                let (a, b) = if *vertical { ([*at, -reach], [*at, reach]) } else { ([-reach, *at], [reach, *at]) };
                stroke(&mut pixmap, line(a, b), if *success { SUCCESS } else { FAILURE }, 2.0 * pixel, world);
            }
            Overlay::Ray { from, to, hit } => {
                stroke(&mut pixmap, line(*from, *to), if *hit { RAY_HIT } else { RAY_MISS }, pixel, world)
            }
            Overlay::Arrow { from, vector, color: c, .. } => {
                let to = [from[0] + vector[0] * 0.1 * w, from[1] + vector[1] * 0.1 * w];
                stroke(&mut pixmap, line(*from, to), *c, 3.0 * pixel, world);
            }
            Overlay::Contact { point } => fill(&mut pixmap, circle(*point, 3.0 * pixel), CONTACT, world),
        }
    }
    let bytes = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    (bytes, width, height)
}

/// One collider in its own frame (`at` maps it onto the picture).
fn draw_shape(pixmap: &mut Pixmap, shape: &Shape, c: [f32; 4], at: Transform, pixel: f32) {
    let edge = [c[0] * 0.6, c[1] * 0.6, c[2] * 0.6, c[3]];
    let path = match shape {
        Shape::Ball(r) => circle([0.0, 0.0], *r),
        Shape::Cuboid(hx, hy) => tiny_skia::Rect::from_ltrb(-hx, -hy, *hx, *hy).map(PathBuilder::from_rect),
        Shape::Capsule(half, r) => {
            let mut pb = PathBuilder::new();
            if let Some(rect) = tiny_skia::Rect::from_ltrb(-r, -half, *r, *half) {
                pb.push_rect(rect);
            }
            pb.push_circle(0.0, *half, *r);
            pb.push_circle(0.0, -half, *r);
            pb.finish()
        }
        Shape::Polygon(points) => polyline(points, true),
        Shape::Polyline(points) => {
            stroke(pixmap, polyline(points, false), c, 2.0 * pixel, at);
            return;
        }
    };
    fill(pixmap, path.clone(), c, at);
    stroke(pixmap, path, edge, pixel, at);
}

fn circle(center: [f32; 2], radius: f32) -> Option<tiny_skia::Path> {
    PathBuilder::from_circle(center[0], center[1], radius.max(1e-4))
}

fn line(a: [f32; 2], b: [f32; 2]) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    pb.move_to(a[0], a[1]);
    pb.line_to(b[0], b[1]);
    pb.finish()
}

fn polyline(points: &[[f32; 2]], closed: bool) -> Option<tiny_skia::Path> {
    let (first, rest) = points.split_first()?;
    let mut pb = PathBuilder::new();
    pb.move_to(first[0], first[1]);
    rest.iter().for_each(|p| pb.line_to(p[0], p[1]));
    if closed {
        pb.close();
    }
    pb.finish()
}

fn paint(c: [f32; 4]) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(color(c));
    paint.anti_alias = true;
    paint
}

fn color(c: [f32; 4]) -> Color {
    let u = |x: f32| x.clamp(0.0, 1.0);
    Color::from_rgba(u(c[0]), u(c[1]), u(c[2]), u(c[3])).expect("clamped into 0..1")
}

/// A degenerate path (no area, no length) draws nothing.
fn fill(pixmap: &mut Pixmap, path: Option<tiny_skia::Path>, c: [f32; 4], at: Transform) {
    if let Some(path) = path {
        pixmap.fill_path(&path, &paint(c), FillRule::Winding, at, None);
    }
}

fn stroke(pixmap: &mut Pixmap, path: Option<tiny_skia::Path>, c: [f32; 4], width: f32, at: Transform) {
    if let Some(path) = path {
        pixmap.stroke_path(&path, &paint(c), &Stroke { width, ..Stroke::default() }, at, None);
    }
}
