//! The episodes tab: the dataset's episodes, and for the one on screen a scrubber, play,
//! trim, delete and branch.

use super::Ui;
use bevy_egui::egui;

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    if ui.replay.is_active() {
        viewer(side, ui);
        side.separator();
    }
    side.label(format!("{} — {} episodes", ui.recording.dataset.dir.display(), ui.recording.episodes.len()));
    let mut open = None;
    egui::Grid::new("episodes").num_columns(6).striped(true).show(side, |grid| {
        for head in ["id", "steps", "return", "success", "source", "device"] {
            grid.strong(head);
        }
        grid.end_row();
        for e in ui.recording.episodes.iter().rev() {
            if grid.button(&e.id).on_hover_text("Replay this episode").clicked() {
                open = Some(e.id.clone());
            }
            grid.label(e.steps.to_string());
            grid.label(format!("{:.1}", e.ret));
            grid.label(if e.success { "✔" } else { "" });
            let sources: Vec<String> = e.sources.iter().map(|s| format!("{s:?}").to_lowercase()).collect();
            grid.label(sources.join("+") + if e.partial { " (partial)" } else { "" });
            grid.label(&e.device);
            grid.end_row();
        }
    });
    if let Some(id) = open {
        ui.recording.stop();
        if let Err(e) = ui.replay.open(&ui.recording, &id, &mut ui.session) {
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
