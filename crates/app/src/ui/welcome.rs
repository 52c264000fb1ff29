//! The first-run card: the three steps (drive, record, train) with this scenario's keys and
//! the shortcuts. "Got it" hides it for good (a marker in the data directory); the top bar's
//! ❓ brings it back.

use super::Ui;
use super::actions::Action;
use bevy_egui::egui;
use std::path::PathBuf;

fn marker() -> PathBuf {
    data::user_data_dir().join("welcome-seen")
}

#[derive(Default)]
pub struct Welcome {
    /// Shown now; `None` until the marker has been looked for.
    open: Option<bool>,
}

impl Welcome {
    pub fn show_again(&mut self) {
        self.open = Some(true);
    }
}

pub fn card(ctx: &egui::Context, scene: egui::Rect, ui: &mut Ui<'_, '_>) {
    let open = *ui.welcome.open.get_or_insert_with(|| !marker().exists());
    if !open {
        return;
    }
    let names: Vec<String> = ui.session.env.scenario().actuators.iter().map(|a| a.name.clone()).collect();
    let keys = super::bindings::summary(&ui.bindings.bindings, &names);
    let mut done = false;
    egui::Window::new("Welcome to apprentice")
        .collapsible(false)
        .resizable(false)
        .default_width(420.0)
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(scene.center())
        .show(ctx, |w| {
            w.label("Teach a policy by showing it what to do, in three steps:");
            egui::Grid::new("steps").num_columns(2).spacing([10.0, 8.0]).show(w, |grid| {
                let steps = [
                    ("1. Drive", format!("Steer the scene yourself: {keys}. A gamepad works too.")),
                    (
                        "2. Record",
                        format!(
                            "Press ⏺ Record ({}): every episode you drive is saved as a demonstration. \
                             Failed attempts can be excluded later in the Episodes tab.",
                            Action::Record.keys(ctx)
                        ),
                    ),
                    (
                        "3. Train",
                        format!(
                            "Press 🎓 Train ({}): a policy learns from your episodes and drives as it learns. \
                             Take over with the keys whenever it drifts; that correction is recorded too.",
                            Action::Train.keys(ctx)
                        ),
                    ),
                ];
                for (step, text) in steps {
                    grid.strong(step);
                    grid.add(egui::Label::new(text).wrap());
                    grid.end_row();
                }
            });
            w.separator();
            w.label("Shortcuts");
            egui::Grid::new("shortcuts").num_columns(2).show(w, |grid| {
                for action in Action::ALL {
                    grid.monospace(action.keys(ctx));
                    grid.label(action.describe());
                    grid.end_row();
                }
            });
            w.separator();
            let got_it = w.button("Got it");
            ui.map.mark("welcome ok", &got_it);
            done = got_it.clicked();
        });
    if done {
        ui.welcome.open = Some(false);
        let path = marker();
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, ""));
        if let Err(e) = written {
            ui.errors.push(format!("{}: {e} (the card will show again next time)", path.display()));
        }
    }
}
