//! The bindings tab: which keys and pad inputs drive each action; click a slot, press a key
//! to rebind it (saved for this scenario).

use super::Ui;
use bevy_egui::egui;
use sim::scenario::{Bindings, Key};

fn keys(keys: &[Key]) -> String {
    if keys.is_empty() { "—".into() } else { keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ") }
}

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.label(format!("Saved in {}", ui.bindings.path.display()));
    let listening = ui.bindings.listening;
    let mut listen = None;
    let slot = |row: &mut egui::Ui, text: String, here: (usize, bool), listen: &mut Option<(usize, bool)>| {
        let label = if listening == Some(here) { "press a key…".to_string() } else { text };
        if row.button(label).on_hover_text("Click, then press the key to bind").clicked() {
            *listen = Some(here);
        }
    };
    let names: Vec<String> = ui.session.env.scenario().actuators.iter().map(|a| a.name.clone()).collect();
    match &ui.bindings.bindings {
        Some(Bindings::Axes(axes)) => {
            egui::Grid::new("axes").num_columns(4).show(side, |grid| {
                for head in ["action", "−", "+", "gamepad"] {
                    grid.strong(head);
                }
                grid.end_row();
                for (i, axis) in axes.iter().enumerate() {
                    grid.label(names.get(i).cloned().unwrap_or_else(|| format!("dimension {i}")));
                    slot(grid, keys(&axis.negative), (i, false), &mut listen);
                    slot(grid, keys(&axis.positive), (i, true), &mut listen);
                    let invert = if axis.invert { " (inverted)" } else { "" };
                    grid.label(axis.axis.map_or("—".to_string(), |a| format!("{a:?}{invert}")));
                    grid.end_row();
                }
            });
        }
        Some(Bindings::Choices { idle, choices }) => {
            side.label(format!("Nothing pressed: choice {idle}"));
            egui::Grid::new("choices").num_columns(3).show(side, |grid| {
                for head in ["choice", "keys", "gamepad"] {
                    grid.strong(head);
                }
                grid.end_row();
                for (i, choice) in choices.iter().enumerate() {
                    grid.label(i.to_string());
                    slot(grid, keys(&choice.keys), (i, true), &mut listen);
                    grid.label(choice.buttons.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>().join(", "));
                    grid.end_row();
                }
            });
        }
        None => {
            side.label("This scenario has no bindings for its action space: it cannot be teleoperated.");
        }
    }
    if listen.is_some() {
        ui.bindings.listening = listen;
    }
    if side.button("Reset to the scenario's bindings").clicked() {
        ui.bindings.bindings = ui.session.env.scenario().bindings.clone();
        let _ = std::fs::remove_file(&ui.bindings.path);
    }
}

/// The keys that drive, in one line ("ArrowLeft / ArrowRight: force"), for the first-run card.
pub fn summary(bindings: &Option<Bindings>, names: &[String]) -> String {
    match bindings {
        Some(Bindings::Axes(axes)) => axes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let name = names.get(i).cloned().unwrap_or_else(|| format!("dimension {i}"));
                format!("{} / {}: {name}", keys(&a.negative), keys(&a.positive))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(Bindings::Choices { choices, .. }) => {
            choices.iter().filter(|c| !c.keys.is_empty()).map(|c| keys(&c.keys)).collect::<Vec<_>>().join(" / ")
        }
        None => "no keys (this scenario cannot be teleoperated)".into(),
    }
}
