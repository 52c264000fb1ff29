//! The training tab: algorithm, device, start/pause/stop, the generated hyperparameter form,
//! live plots with hyperparameter changes marked, and checkpoints.

use super::Ui;
use super::actions::Action;
use super::form::form;
use crate::training::Phase;
use bevy_egui::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
use learn::device::DeviceChoice;
use learn::registry::{ALGORITHMS, Entry};
use learn::run::RunConfig;
use learn::trainer::Command;
use sim::Env;

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    controls(side, ui);
    side.separator();
    plots(side, ui);
    side.separator();
    hyperparameters(side, ui);
    side.separator();
    checkpoints(side, ui);
}

fn controls(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let running = ui.training.is_running();
    side.add_enabled_ui(!running, |row| {
        row.horizontal(|row| {
            row.label("Algorithm:");
            let mut algorithm = ui.training.config.algorithm.clone();
            let space = ui.session.env.action_space().clone();
            egui::ComboBox::from_id_salt("algorithm").selected_text(algorithm.to_uppercase()).show_ui(row, |menu| {
                for entry in ALGORITHMS {
                    let (fits, expert) = (entry.needs.fits(&space), !entry.needs.expert || ui.session.has_expert());
                    menu.add_enabled_ui(fits && expert, |menu| {
                        menu.selectable_value(&mut algorithm, entry.name.into(), entry.name.to_uppercase())
                            .on_hover_text(hover(entry))
                            .on_disabled_hover_text(if fits {
                                "needs the scenario's scripted expert"
                            } else {
                                "does not handle this scenario's actions"
                            });
                    });
                }
            });
            let config = &mut ui.training.config;
            if algorithm != config.algorithm
                && let Ok(fresh) = RunConfig::new(&algorithm, &config.scenario, config.demos.clone())
            {
                *config = fresh;
            }
            row.label("Device:");
            for (choice, name) in [(DeviceChoice::Auto, "auto"), (DeviceChoice::Gpu, "gpu"), (DeviceChoice::Cpu, "cpu")]
            {
                row.selectable_value(&mut ui.training.device, choice, name);
            }
        });
    });
    side.horizontal(|row| {
        match ui.training.phase {
            Phase::Running => {
                if row.button("⏸ Pause").clicked() {
                    ui.training.send(Command::Pause);
                }
            }
            Phase::Paused => {
                if row.button("▶ Resume").clicked() {
                    ui.training.send(Command::Resume);
                }
            }
            _ => {
                let hint = Action::Train.hint(row.ctx(), "Learn from the included episodes, on its own thread");
                let train = row.button("🎓 Train").on_hover_text(hint);
                ui.map.mark("train", &train);
                if train.clicked() {
                    super::actions::train(ui);
                }
            }
        }
        if running && row.button("■ Stop").clicked() {
            ui.training.send(Command::Stop);
        }
        row.checkbox(&mut ui.training.follow_latest, "newest policy drives")
            .on_hover_text("Swap each new snapshot into the scene as it arrives");
    });
    let phase = match &ui.training.phase {
        Phase::Idle => "idle".to_string(),
        Phase::Running => "running".into(),
        Phase::Paused => "paused".into(),
        Phase::Finished => "finished".into(),
        Phase::Failed(e) => format!("failed: {e}"),
    };
    // The message itself is on the status line: one fixed-height line here.
    side.add(egui::Label::new(phase).truncate());
}

/// The menu's tooltip: the entry's summary and what it learns from.
fn hover(entry: &Entry) -> String {
    let demos = if entry.needs.demos { " (learns from the recorded demonstrations)" } else { "" };
    format!("{}{demos}", entry.summary)
}

/// The algorithm's declared charts, each against its own x unit; return and success rate
/// come last, on separate axes.
fn plots(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let Ok(entry) = ui.training.config.entry() else { return };
    for plot in entry.plots() {
        let lines: Vec<(&str, Vec<[f64; 2]>)> = plot
            .series
            .iter()
            .map(|name| (*name, ui.training.points(&plot, name)))
            .filter(|(_, points)| !points.is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        side.label(plot.title);
        let marks = ui.training.marks_on(&plot);
        let mut chart = Plot::new(plot.title).height(120.0).legend(Legend::default()).x_axis_label(plot.unit.label());
        if let Some((low, high)) = plot.y {
            chart = chart.include_y(low).include_y(high);
        }
        chart.show(side, |p| {
            for (name, points) in lines {
                p.line(Line::new(name, PlotPoints::from(points)));
            }
            for (x, change) in &marks {
                p.vline(VLine::new(change.clone(), *x));
            }
        });
    }
}

fn hyperparameters(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.heading("Hyperparameters");
    let live: &[&str] = if ui.training.is_running() { ui.training.config.live() } else { &[] };
    let algorithm = ui.training.config.algorithm.clone();
    let fields = match ui.training.config.fields() {
        Ok(fields) => fields,
        Err(e) => {
            side.label(format!("the hyperparameters do not read: {e}"));
            return;
        }
    };
    for (key, value) in form(side, &algorithm, &fields, &mut ui.form, live) {
        if let Err(e) = ui.training.set(&key, &value) {
            ui.errors.push(format!("{key}: {e}"));
        }
    }
}

fn checkpoints(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.heading("Checkpoints");
    side.horizontal(|row| {
        if row.button("💾 Save checkpoint").clicked() {
            match ui.training.save_checkpoint(&ui.session.env) {
                Ok(dir) => ui.training.status = format!("saved {}", dir.display()),
                Err(e) => ui.errors.push(e),
            }
        }
        if let Some(dir) = &ui.training.run_dir {
            row.label(dir.display().to_string());
        }
    });
    side.label("Load or compare any run's policy in the Runs tab.");
}
