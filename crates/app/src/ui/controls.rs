//! The top bar (driver, pause, speed, blend, record), the status line under the window, the
//! HUD over the scene and the problem dialog.

use super::Ui;
use super::actions::{Action, driver_available, new_episode, toggle_pause, toggle_record};
use crate::Errors;
use crate::render::{Pane, SceneRect, pane_rect};
use crate::session::{Driver, Speed};
use bevy::math::Vec2;
use bevy_egui::egui;

/// One row whatever happens: messages go to the status line, so no button ever moves.
pub fn top_bar(top: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    top.horizontal(|row| {
        super::scenarios::picker(row, ui);
        row.separator();
        row.label("Driver:");
        let ctx = row.ctx().clone();
        for driver in Driver::ALL {
            let enabled = driver_available(ui, driver);
            row.add_enabled_ui(enabled, |row| {
                row.selectable_value(&mut ui.session.driver, driver, driver.label())
                    .on_hover_text(Action::Driver.hint(&ctx, "Who drives"))
            });
        }
        row.separator();
        let paused = ui.session.paused.is_some();
        let pause = row
            .button(if paused { "▶ Resume" } else { "⏸ Pause" })
            .on_hover_text(Action::Pause.hint(&ctx, "Pause or resume the simulation"));
        ui.map.mark("pause", &pause);
        if pause.clicked() {
            toggle_pause(ui);
        }
        let new = row
            .button("⟲ New episode")
            .on_hover_text(Action::NewEpisode.hint(&ctx, "Start a fresh episode with the next seed"));
        if new.clicked() {
            new_episode(ui);
        }
        let speed = ui.session.speed;
        egui::ComboBox::from_id_salt("speed")
            .selected_text(format!("speed {}", speed.label()))
            .show_ui(row, |menu| {
                for choice in Speed::CHOICES {
                    menu.selectable_value(&mut ui.session.speed, choice, choice.label());
                }
            })
            .response
            .on_hover_text(
                "Simulation speed; max: as many steps as each frame fits while the expert or a policy drives",
            );
        row.add(egui::Slider::new(&mut ui.session.blend, 0.0..=1.0).text("blend"))
            .on_hover_text("Weight of your action when you take over from a policy or the expert (1 = yours alone)");
        row.separator();
        if row.button("❓").on_hover_text("How to start, and the shortcuts").clicked() {
            ui.welcome.show_again();
        }
        row.separator();
        if ui.recording.armed {
            row.colored_label(egui::Color32::from_rgb(230, 70, 60), format!("⏺ REC {} steps", ui.recording.steps()));
            let stop = row
                .button("⏹ Stop")
                .on_hover_text(Action::Record.hint(&ctx, "Stop recording; the episode so far is saved"));
            ui.map.mark("stop", &stop);
            if stop.clicked() {
                toggle_record(ui);
            }
            if row.button("✖ Discard").on_hover_text("Stop recording and throw this episode away").clicked() {
                ui.recording.discard();
            }
        } else {
            let record = row
                .button("⏺ Record")
                .on_hover_text(Action::Record.hint(&ctx, "Record every episode from its start until Stop"));
            ui.map.mark("record", &record);
            if record.clicked() {
                toggle_record(ui);
            }
        }
    });
}

/// The latest recording and training messages on one line each side, cut to fit (the whole
/// text on hover), so a long message never reflows the panels above it.
pub fn status_line(bottom: &mut egui::Ui, ui: &Ui<'_, '_>) {
    bottom.columns(2, |columns| {
        for (column, text) in columns.iter_mut().zip([&ui.recording.status, &ui.training.status]) {
            column.add(egui::Label::new(text.as_str()).truncate());
        }
    });
}

/// Step, return and who drives, over the top-left corner of each pane of the scene.
pub fn hud(ctx: &egui::Context, scene: egui::Rect, ui: &Ui<'_, '_>) {
    let s = &ui.session;
    let source = s.proposals.source.map_or("—".to_string(), |src| format!("{src:?}").to_lowercase());
    let mut lines = vec![
        format!("step {}   return {:.1}   seed {}", s.env.steps(), s.episode_return, s.seed),
        format!("driving: {} (last step: {source})", s.effective_driver().label()),
    ];
    if let Some(p) = &s.policy {
        lines.push(format!("policy: {}", p.label));
    }
    if let Some(reason) = &s.paused {
        lines.push(format!("PAUSED: {reason}"));
    }
    if ui.replay.is_active() {
        lines.push(format!("REPLAY step {} / {}", ui.replay.t, ui.replay.len()));
    }
    if let Some(error) = &ui.scenarios.reload_error {
        reload_error(ctx, scene, error);
    }
    let (left, right) = halves(scene, ui.split.is_open());
    overlay_text(ctx, "hud", left.min, &lines);
    if let Some(rival) = &ui.split.rival {
        let r = &rival.session;
        let label = r.policy.as_ref().map_or("—", |p| p.label.as_str());
        let lines = [
            format!("step {}   return {:.1}   seed {}", r.env.steps(), r.episode_return, r.seed),
            format!("policy: {label}"),
        ];
        overlay_text(ctx, "hud_rival", right.min, &lines);
    }
}

/// The open scenario file's last edit did not load: its error over the scene's foot, until
/// a save that loads.
fn reload_error(ctx: &egui::Context, scene: egui::Rect, error: &str) {
    let width = (scene.width() - 24.0).max(100.0);
    egui::Area::new("reload_error".into())
        .pivot(egui::Align2::LEFT_BOTTOM)
        .fixed_pos(egui::pos2(scene.left() + 12.0, scene.bottom() - 40.0))
        .interactable(false)
        .show(ctx, |area| {
            egui::Frame::popup(area.style()).fill(egui::Color32::from_rgb(70, 20, 20)).show(area, |frame| {
                frame.set_max_width(width);
                frame.colored_label(egui::Color32::from_rgb(255, 170, 150), "⚠ The scenario file did not reload:");
                frame.add(egui::Label::new(egui::RichText::new(error).monospace().color(egui::Color32::WHITE)).wrap());
                frame.label("The previous version keeps running; save a fixed file to reload.");
            });
        });
}

/// The scene's rectangle, or its left and right halves while the split view is open
/// (as the cameras divide it).
fn halves(scene: egui::Rect, split: bool) -> (egui::Rect, egui::Rect) {
    let rect = SceneRect { min: Vec2::new(scene.min.x, scene.min.y), max: Vec2::new(scene.max.x, scene.max.y) };
    let to_egui =
        |(min, max): (Vec2, Vec2)| egui::Rect::from_min_max(egui::pos2(min.x, min.y), egui::pos2(max.x, max.y));
    (to_egui(pane_rect(Pane::Main, &rect, split)), to_egui(pane_rect(Pane::Rival, &rect, split)))
}

fn overlay_text(ctx: &egui::Context, id: &'static str, corner: egui::Pos2, lines: &[String]) {
    egui::Area::new(id.into()).fixed_pos(corner + egui::vec2(8.0, 8.0)).interactable(false).show(ctx, |area| {
        for line in lines {
            area.add(egui::Label::new(egui::RichText::new(line).monospace().color(egui::Color32::WHITE)).extend());
        }
    });
}

/// Problems (a bad file, a failed run) in a dialog; the app keeps running.
pub fn problems(ctx: &egui::Context, errors: &mut Errors) {
    if errors.0.is_empty() {
        return;
    }
    let mut dismissed = false;
    egui::Window::new("Problem").collapsible(false).resizable(true).show(ctx, |w| {
        for e in &errors.0 {
            w.label(egui::RichText::new(e).color(egui::Color32::from_rgb(255, 140, 120)));
        }
        dismissed = w.button("OK").clicked();
    });
    if dismissed {
        errors.0.clear();
    }
}
