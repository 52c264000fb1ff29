//! The scenario picker in the top bar: the built-ins, the `.ron` files found, any file by
//! path, and an editable copy of a built-in that the app reloads on every save.

use super::Ui;
use crate::scenarios::Scenarios;
use bevy_egui::egui;

pub fn picker(row: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let name = ui.session.env.scenario().name.clone();
    row.menu_button(format!("{name} ⏷"), |menu| {
        menu.label("Built-in");
        for (builtin, _) in sim::builtin::BUILTINS {
            if menu.selectable_label(ui.scenarios.current == *builtin, *builtin).clicked() {
                ui.scenarios.request = Some(builtin.to_string());
                menu.close();
            }
        }
        let files = Scenarios::files();
        if !files.is_empty() {
            menu.separator();
            menu.label("Files");
            for file in files {
                let shown = file.display().to_string();
                let label = file.file_name().map_or(shown.clone(), |f| f.to_string_lossy().into_owned());
                if menu.selectable_label(ui.scenarios.current == shown, label).on_hover_text(&shown).clicked() {
                    ui.scenarios.request = Some(shown);
                    menu.close();
                }
            }
        }
        menu.separator();
        menu.horizontal(|row| {
            row.add(egui::TextEdit::singleline(&mut *ui.scenario_path).hint_text("path/to/scenario.ron"));
            if row.button("Open").clicked() && !ui.scenario_path.trim().is_empty() {
                ui.scenarios.request = Some(ui.scenario_path.trim().to_string());
            }
        });
        if ui.scenarios.file().is_none()
            && menu
                .button(format!("✎ Edit a copy of {name}"))
                .on_hover_text("Copy it into your data folder and open the copy: edit it in any editor, the app reloads it on save")
                .clicked()
        {
            match Scenarios::editable_copy(&name) {
                Ok(path) => {
                    ui.recording.status = format!("editing {}: saves reload here", path.display());
                    ui.scenarios.request = Some(path.display().to_string());
                }
                Err(e) => ui.errors.push(format!("copying the scenario: {e}")),
            }
        }
    })
    .response
    .on_hover_text(ui.scenarios.file().map_or("Switch scenario".to_string(), |f| {
        format!("{} (reloaded whenever it changes on disk)", f.display())
    }));
}
