//! What the main buttons do, and their keyboard shortcuts: one function per action, called
//! by its button and its shortcut alike, so both take the same path.

use super::Ui;
use crate::session::Driver;
use bevy_egui::egui;
use egui::{Key, KeyboardShortcut, Modifiers};

/// An action with a shortcut: its key (with Ctrl) and what the tooltip says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Record,
    Train,
    Pause,
    Driver,
    NewEpisode,
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Record, Action::Train, Action::Pause, Action::Driver, Action::NewEpisode];

    /// Ctrl + a letter: the scenarios' own bindings use letters and arrows without Ctrl.
    pub fn shortcut(self) -> KeyboardShortcut {
        let key = match self {
            Action::Record => Key::R,
            Action::Train => Key::T,
            Action::Pause => Key::P,
            Action::Driver => Key::D,
            Action::NewEpisode => Key::N,
        };
        KeyboardShortcut::new(Modifiers::COMMAND, key)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Action::Record => "record or stop",
            Action::Train => "train on the included episodes",
            Action::Pause => "pause or resume",
            Action::Driver => "next driver (human, expert, policy)",
            Action::NewEpisode => "new episode",
        }
    }

    /// "Ctrl+R" (as this platform writes it).
    pub fn keys(self, ctx: &egui::Context) -> String {
        ctx.format_shortcut(&self.shortcut())
    }

    /// A tooltip text followed by the shortcut.
    pub fn hint(self, ctx: &egui::Context, text: &str) -> String {
        format!("{text} ({})", self.keys(ctx))
    }

    pub fn run(self, ui: &mut Ui<'_, '_>) {
        match self {
            Action::Record => toggle_record(ui),
            Action::Train => train(ui),
            Action::Pause => toggle_pause(ui),
            Action::Driver => next_driver(ui),
            Action::NewEpisode => new_episode(ui),
        }
    }
}

/// Runs the actions whose shortcut was pressed this frame (unless a text field has focus).
pub fn shortcuts(ctx: &egui::Context, ui: &mut Ui<'_, '_>) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    for action in Action::ALL {
        if ctx.input_mut(|i| i.consume_shortcut(&action.shortcut())) {
            action.run(ui);
        }
    }
}

pub fn toggle_record(ui: &mut Ui<'_, '_>) {
    if ui.recording.armed {
        ui.recording.stop();
    } else {
        ui.replay.close(&mut ui.session);
        ui.recording.start(&mut ui.session);
    }
}

pub fn toggle_pause(ui: &mut Ui<'_, '_>) {
    ui.session.paused = if ui.session.paused.is_some() { None } else { Some("paused".into()) };
}

pub fn new_episode(ui: &mut Ui<'_, '_>) {
    ui.recording.stop_episode();
    let next = ui.session.seed + 1;
    ui.session.restart(next);
}

/// The next driver that can drive (the expert needs one, the policy needs a policy).
pub fn next_driver(ui: &mut Ui<'_, '_>) {
    let at = Driver::ALL.iter().position(|d| *d == ui.session.driver).unwrap_or(0);
    for k in 1..=Driver::ALL.len() {
        let next = Driver::ALL[(at + k) % Driver::ALL.len()];
        if driver_available(ui, next) {
            ui.session.driver = next;
            return;
        }
    }
}

pub fn driver_available(ui: &Ui<'_, '_>, driver: Driver) -> bool {
    match driver {
        Driver::Expert => ui.session.has_expert(),
        Driver::Policy => ui.session.policy.is_some(),
        Driver::Human => true,
    }
}

/// Starts a training run (not while one runs); the newest policy then drives.
pub fn train(ui: &mut Ui<'_, '_>) {
    if ui.training.is_running() {
        return;
    }
    let (env, dataset) = (ui.session.env.clone(), ui.recording.dataset.clone());
    match ui.training.start(&env, &dataset) {
        Ok(()) => ui.session.driver = Driver::Policy,
        Err(e) => ui.errors.push(e),
    }
}
