//! Text over the scene, placed where the cameras put the world: the scale bar under the grid
//! and the label of each action arrow.

use super::Ui;
use crate::render::{Pane, SceneRect, arrow_tip, grid_spacing, pane_rect, pixels_per_metre};
use bevy::math::Vec2;
use bevy_egui::egui;
use sim::frame::{Frame, Overlay};

/// World → window (logical pixels) for a pane, as its camera fits the frame's view.
struct Screen {
    center: Vec2,
    world: Vec2,
    /// Pixels per metre.
    scale: f32,
}

impl Screen {
    fn new(frame: &Frame, (min, max): (Vec2, Vec2)) -> Screen {
        let [lo, hi] = frame.view;
        let scale = pixels_per_metre(frame, (min, max));
        Screen { center: (min + max) / 2.0, world: (Vec2::from(lo) + Vec2::from(hi)) / 2.0, scale }
    }

    fn at(&self, p: Vec2) -> egui::Pos2 {
        let d = (p - self.world) * self.scale;
        egui::pos2(self.center.x + d.x, self.center.y - d.y)
    }
}

pub fn draw(ctx: &egui::Context, scene: egui::Rect, ui: &Ui<'_, '_>) {
    let rect = SceneRect { min: Vec2::new(scene.min.x, scene.min.y), max: Vec2::new(scene.max.x, scene.max.y) };
    let split = ui.split.is_open();
    let panes = [
        (Pane::Main, Some(&ui.session.frames[1])),
        (Pane::Rival, ui.split.rival.as_ref().map(|r| &r.session.frames[1])),
    ];
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Background, egui::Id::new("scene_text")));
    for (pane, frame) in panes {
        let Some(frame) = frame else { continue };
        let area = pane_rect(pane, &rect, split);
        if area.1.x - area.0.x < 40.0 {
            continue;
        }
        let screen = Screen::new(frame, area);
        let clip = egui::Rect::from_min_max(egui::pos2(area.0.x, area.0.y), egui::pos2(area.1.x, area.1.y));
        let painter = painter.with_clip_rect(clip);
        scale_bar(&painter, frame, &screen, area);
        for overlay in &frame.overlays {
            if let Overlay::Arrow { from, vector, label, .. } = overlay {
                let (start, tip) = (screen.at(Vec2::from(*from)), screen.at(arrow_tip(frame, *from, *vector)));
                // Beyond the tip, on the side the arrow points to, clear of the body it pushes.
                let d = (tip - start).normalized();
                let align = egui::Align2([
                    if d.x >= 0.0 { egui::Align::Min } else { egui::Align::Max },
                    if d.y >= 0.0 { egui::Align::Min } else { egui::Align::Max },
                ]);
                let color = egui::Color32::from_rgb(255, 175, 80);
                painter.text(tip + d * 6.0, align, label, egui::FontId::monospace(12.0), color);
            }
        }
    }
}

/// A bar one grid spacing long at the pane's bottom-left corner, with its length.
fn scale_bar(painter: &egui::Painter, frame: &Frame, screen: &Screen, (min, max): (Vec2, Vec2)) {
    let metres = grid_spacing(frame);
    let length = metres * screen.scale;
    let start = egui::pos2(min.x + 16.0, max.y - 18.0);
    let end = start + egui::vec2(length, 0.0);
    let stroke = egui::Stroke::new(2.0, egui::Color32::from_gray(220));
    painter.line_segment([start, end], stroke);
    for x in [start.x, end.x] {
        painter.line_segment([egui::pos2(x, start.y - 5.0), egui::pos2(x, start.y + 5.0)], stroke);
    }
    let text = if metres >= 1.0 { format!("{metres} m") } else { format!("{} cm", metres * 100.0) };
    painter.text(
        end + egui::vec2(8.0, 0.0),
        egui::Align2::LEFT_CENTER,
        text,
        egui::FontId::monospace(12.0),
        egui::Color32::from_gray(220),
    );
}
