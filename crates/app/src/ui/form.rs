//! A hyperparameter form generated from a config's own description (`learn::describe`):
//! one row per field, its doc comment as tooltip, the widget chosen by the field's kind.

use bevy_egui::egui;
use learn::describe::{Field, FieldKind};
use std::collections::HashMap;

/// Text being typed into fields, kept until committed with Enter or by leaving the field.
#[derive(Default)]
pub struct FormState {
    editing: HashMap<String, String>,
}

/// Draws the fields; returns the `(key, value)` changes the user committed this frame.
pub fn form(
    ui: &mut egui::Ui,
    id: &str,
    fields: &[Field],
    state: &mut FormState,
    live: &[&str],
) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    egui::Grid::new(id).num_columns(2).striped(true).show(ui, |grid| {
        for field in fields {
            let label =
                if live.contains(&field.key.as_str()) { format!("{} ⚡", field.key) } else { field.key.clone() };
            let doc = if live.contains(&field.key.as_str()) {
                format!("{}\n\n⚡ changes apply live during a run", field.doc)
            } else {
                field.doc.clone()
            };
            grid.label(label).on_hover_text(&doc);
            if let Some(value) = widget(grid, field, state) {
                changes.push((field.key.clone(), value));
            }
            grid.end_row();
        }
    });
    changes
}

fn widget(ui: &mut egui::Ui, field: &Field, state: &mut FormState) -> Option<String> {
    match &field.kind {
        FieldKind::Bool => {
            let mut on = field.value == "true";
            ui.checkbox(&mut on, "").on_hover_text(&field.doc).changed().then(|| on.to_string())
        }
        FieldKind::Choice(names) => {
            let mut chosen = field.value.clone();
            egui::ComboBox::from_id_salt(&field.key).selected_text(&chosen).show_ui(ui, |combo| {
                for name in names {
                    combo.selectable_value(&mut chosen, name.clone(), name);
                }
            });
            (chosen != field.value).then_some(chosen)
        }
        FieldKind::Integer | FieldKind::Number | FieldKind::Text => {
            let text = state.editing.entry(field.key.clone()).or_insert_with(|| field.value.clone());
            let response = ui.add(egui::TextEdit::singleline(text).desired_width(120.0)).on_hover_text(&field.doc);
            if response.lost_focus() {
                let typed = state.editing.remove(&field.key).unwrap_or_default();
                return (typed != field.value).then_some(typed);
            }
            if !response.has_focus() {
                // Show the config's value (it may have changed elsewhere) while not typing.
                *text = field.value.clone();
            }
            None
        }
    }
}
