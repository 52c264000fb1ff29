//! Polyline paths (track centre lines): projection of a point to arc length and distance.

use super::scenario::NamedPath;
use rapier2d::math::Vector;

/// A path prepared for fast projection.
#[derive(Debug, Clone)]
pub struct PathGeom {
    pub points: Vec<Vector>,
    /// Arc length at each point.
    cumulative: Vec<f32>,
    pub length: f32,
    pub closed: bool,
}

impl PathGeom {
    pub fn new(path: &NamedPath) -> PathGeom {
        let mut points: Vec<Vector> = path.points.iter().map(|p| Vector::new(p[0], p[1])).collect();
        if path.closed {
            points.push(points[0]);
        }
        let mut cumulative = vec![0.0];
        for w in points.windows(2) {
            cumulative.push(cumulative.last().copied().unwrap_or(0.0) + w[0].distance(w[1]));
        }
        let length = cumulative.last().copied().unwrap_or(0.0);
        PathGeom { points, cumulative, length, closed: path.closed }
    }

    /// Arc length of the closest point on the path, and the distance to it.
    pub fn project(&self, p: Vector) -> (f32, f32) {
        let mut best = (0.0, f32::MAX);
        for (i, w) in self.points.windows(2).enumerate() {
            let seg = w[1] - w[0];
            let len2 = seg.length_squared().max(1e-12);
            let t = ((p - w[0]).dot(seg) / len2).clamp(0.0, 1.0);
            let d = p.distance(w[0] + seg * t);
            if d < best.1 {
                best = (self.cumulative[i] + t * len2.sqrt(), d);
            }
        }
        best
    }

    /// The point at arc length `s` (wrapping around closed paths).
    pub fn point_at(&self, s: f32) -> Vector {
        let s = if self.closed { s.rem_euclid(self.length) } else { s.clamp(0.0, self.length) };
        let i = self.cumulative.partition_point(|&c| c <= s).clamp(1, self.points.len() - 1);
        let (a, b) = (self.points[i - 1], self.points[i]);
        let seg_len = (self.cumulative[i] - self.cumulative[i - 1]).max(1e-12);
        a + (b - a) * ((s - self.cumulative[i - 1]) / seg_len)
    }

    /// Signed arc-length change from `from` to `to`, taking the short way round closed paths.
    pub fn advance(&self, from: f32, to: f32) -> f32 {
        let d = to - from;
        if self.closed { (d + self.length / 2.0).rem_euclid(self.length) - self.length / 2.0 } else { d }
    }
}
