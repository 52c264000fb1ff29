//! The episodes tab: the dataset's episodes with what training uses of them (include,
//! exclude, filters), the current policy's diagnostics per episode, and for the one on screen
//! a scrubber, play, trim, delete and branch.

use super::Ui;
use crate::curate::set_matching;
use bevy_egui::egui;
use data::Source;

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    if ui.replay.is_active() {
        viewer(side, ui);
        side.separator();
    }
    let r = &ui.recording;
    side.label(format!(
        "{} — {} episodes, {} used for training",
        r.dataset.dir.display(),
        r.episodes.len(),
        r.included()
    ));
    filters(side, ui);
    side.separator();
    diagnostics(side, ui);
    side.separator();
    list(side, ui);
}

/// The filter row and what to do with the episodes it matches.
fn filters(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let f = &mut *ui.filter;
    side.horizontal(|row| {
        row.label("Filter:");
        let label = |s: Option<bool>| match s {
            None => "any outcome",
            Some(true) => "succeeded",
            Some(false) => "failed",
        };
        egui::ComboBox::from_id_salt("outcome").selected_text(label(f.success)).show_ui(row, |menu| {
            for choice in [None, Some(true), Some(false)] {
                menu.selectable_value(&mut f.success, choice, label(choice));
            }
        });
        let name = |s: Option<Source>| s.map_or("any source".to_string(), |s| format!("{s:?}").to_lowercase());
        egui::ComboBox::from_id_salt("source").selected_text(name(f.source)).show_ui(row, |menu| {
            for choice in
                [None, Some(Source::Human), Some(Source::Expert), Some(Source::Policy), Some(Source::Intervention)]
            {
                menu.selectable_value(&mut f.source, choice, name(choice));
            }
        });
        let mut devices: Vec<String> =
            ui.recording.episodes.iter().flat_map(|e| e.device.split('+').map(str::to_string)).collect();
        devices.sort();
        devices.dedup();
        let shown = f.device.clone().unwrap_or_else(|| "any device".into());
        egui::ComboBox::from_id_salt("device").selected_text(shown).show_ui(row, |menu| {
            menu.selectable_value(&mut f.device, None, "any device");
            for d in devices {
                menu.selectable_value(&mut f.device, Some(d.clone()), d);
            }
        });
    });
    side.horizontal(|row| {
        optional(row, "shorter than", &mut f.shorter_than, 50, " steps");
        optional(row, "return below", &mut f.return_below, 100.0, "");
    });
    let matching = f.select(&ui.recording.episodes).len();
    let filter = f.clone();
    side.horizontal(|row| {
        row.label(format!("{matching} match"));
        let mut apply = |included: bool| match set_matching(&mut ui.recording, &filter, included) {
            Ok(_) => {}
            Err(e) => ui.errors.push(e.to_string()),
        };
        if row.button("Exclude all that match").on_hover_text("Training leaves them out; nothing is deleted").clicked()
        {
            apply(false);
        }
        if row.button("Include all that match").clicked() {
            apply(true);
        }
    });
}

/// A checkbox that turns a filter bound on, and its value.
fn optional<T: egui::emath::Numeric>(row: &mut egui::Ui, label: &str, value: &mut Option<T>, default: T, suffix: &str) {
    let mut on = value.is_some();
    let mut v = value.unwrap_or(default);
    row.checkbox(&mut on, label);
    row.add_enabled(on, egui::DragValue::new(&mut v).suffix(suffix));
    *value = on.then_some(v);
}

/// Scoring the current policy on each included episode, and excluding the outliers.
fn diagnostics(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.horizontal(|row| {
        let ready = ui.session.policy.is_some() && !ui.curate.is_running();
        let button = row
            .add_enabled(ready, egui::Button::new("🔍 Diagnose"))
            .on_hover_text("Score the current policy on each included episode: its loss, and the step where it departs most from the demonstration")
            .on_disabled_hover_text("needs a policy (train or load one)");
        ui.map.mark("diagnose", &button);
        if button.clicked()
            && let Some(live) = &ui.session.policy
        {
            ui.curate.start(&ui.recording, live.policy.clone(), live.label.clone());
        }
        if ui.curate.is_running() {
            row.spinner();
        } else if let Some(label) = &ui.curate.diagnosed_with {
            row.label(format!("losses of {label}"));
        }
    });
    let flagged = ui.curate.flagged(&ui.recording);
    if flagged.is_empty() {
        return;
    }
    let button = egui::Button::new(format!("⚠ Exclude {} flagged and retrain", flagged.len()));
    let enabled = !ui.training.is_running();
    if side
        .add_enabled(enabled, button)
        .on_hover_text("Episodes whose loss is far above the rest: leave them out and train again")
        .clicked()
    {
        if let Err(e) = ui.recording.set_included(&flagged, false) {
            ui.errors.push(e.to_string());
            return;
        }
        super::actions::train(ui);
    }
}

/// One row per episode, newest first: use for training, replay, outcome, who drove, and the
/// policy's loss with the step where it departs most.
fn list(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let mut open = None;
    let mut toggled = None;
    egui::Grid::new("episodes").num_columns(9).striped(true).show(side, |grid| {
        for head in ["use", "id", "steps", "return", "ok", "source", "device", "loss", "departs"] {
            grid.strong(head);
        }
        grid.end_row();
        for e in ui.recording.episodes.iter().rev() {
            let mut used = ui.recording.includes(&e.id);
            if grid.checkbox(&mut used, "").on_hover_text("Train on this episode").changed() {
                toggled = Some((e.id.clone(), used));
            }
            if grid.button(&e.id).on_hover_text("Replay this episode").clicked() {
                open = Some((e.id.clone(), 0));
            }
            grid.label(e.steps.to_string());
            grid.label(format!("{:.1}", e.ret));
            grid.label(if e.success { "✔" } else { "" });
            let sources: Vec<String> = e.sources.iter().map(|s| format!("{s:?}").to_lowercase()).collect();
            grid.label(sources.join("+") + if e.partial { " (partial)" } else { "" });
            grid.label(&e.device);
            match ui.curate.diagnoses.get(&e.id) {
                Some(d) => {
                    let text = format!("{}{:.3}", if d.outlier { "⚠ " } else { "" }, d.loss);
                    let color =
                        if d.outlier { egui::Color32::from_rgb(255, 170, 60) } else { grid.visuals().text_color() };
                    grid.colored_label(color, text);
                    if grid
                        .button(format!("step {}", d.worst_step))
                        .on_hover_text(format!("loss {:.3} there: replay from it", d.worst_loss))
                        .clicked()
                    {
                        open = Some((e.id.clone(), d.worst_step));
                    }
                }
                None => {
                    grid.label("");
                    grid.label("");
                }
            }
            grid.end_row();
        }
    });
    if let Some((id, used)) = toggled
        && let Err(e) = ui.recording.set_included(&[id], used)
    {
        ui.errors.push(e.to_string());
    }
    if let Some((id, step)) = open {
        ui.recording.stop();
        if let Err(e) =
            ui.replay.open(&ui.recording, &id, &mut ui.session).and_then(|()| ui.replay.seek(step, &mut ui.session))
        {
            ui.errors.push(e.to_string());
        }
    }
}

fn viewer(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let len = ui.replay.len();
    let id = ui.replay.file.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    side.heading(format!("Episode {id}"));
    let mut t = ui.replay.t;
    if side.add(egui::Slider::new(&mut t, 0..=len).text("step")).changed()
        && let Err(e) = ui.replay.seek(t, &mut ui.session)
    {
        ui.errors.push(e.to_string());
    }
    let mut outcome: Option<Result<String, data::DataError>> = None;
    side.horizontal(|row| {
        let label = if ui.replay.playing { "⏸ Pause" } else { "▶ Play" };
        if row.button(label).clicked() {
            ui.replay.playing = !ui.replay.playing;
        }
        if row.button("⑂ Branch here").on_hover_text("Keep the steps before this one and record on from here").clicked()
        {
            outcome = Some(ui.replay.branch(&mut ui.recording, &mut ui.session));
        }
        if row.button("🗑 Delete").clicked() {
            outcome = Some(ui.replay.delete(&mut ui.recording, &mut ui.session));
        }
        if row.button("Close").clicked() {
            ui.replay.close(&mut ui.session);
        }
    });
    side.horizontal(|row| {
        let (mut a, mut b) = ui.replay.keep;
        row.label("keep steps");
        row.add(egui::DragValue::new(&mut a).range(0..=len));
        row.label("to");
        row.add(egui::DragValue::new(&mut b).range(0..=len));
        ui.replay.keep = (a.min(b), b.max(a));
        if row.button("[ from here").clicked() {
            ui.replay.keep.0 = ui.replay.t;
        }
        if row.button("to here ]").clicked() {
            ui.replay.keep.1 = ui.replay.t;
        }
        if row.button("✂ Trim").clicked() {
            outcome = Some(ui.replay.trim(&mut ui.recording, &mut ui.session));
        }
    });
    match outcome {
        Some(Ok(message)) => ui.recording.status = message,
        Some(Err(e)) => ui.errors.push(e.to_string()),
        None => {}
    }
}
