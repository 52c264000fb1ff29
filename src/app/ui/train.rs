//! The training tab: algorithm, device, start/pause/stop, the generated hyperparameter form,
//! live plots with hyperparameter changes marked, and checkpoints.

use super::Ui;
use super::form::form;
use crate::app::session::Driver;
use crate::app::training::Phase;
use crate::learn::describe::fields;
use crate::learn::rl::ALGORITHMS;
use crate::learn::device::DeviceChoice;
use crate::learn::trainer::Command;
use crate::learn::run::{self, RunConfig};
use crate::sim::Env;
use bevy_egui::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

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
                menu.selectable_value(&mut algorithm, "bc".into(), "BC").on_hover_text("Behaviour cloning of the recorded steps");
                menu.add_enabled_ui(ui.session.has_expert(), |menu| {
                    menu.selectable_value(&mut algorithm, "dagger".into(), "DAGGER")
                        .on_hover_text("BC, then rounds where the policy drives and the scripted expert labels every state");
                });
                for a in &ALGORITHMS {
                    let demos = if a.needs_demos { " (learns from the recorded demonstrations)" } else { "" };
                    menu.add_enabled_ui(a.fits(&space), |menu| {
                        menu.selectable_value(&mut algorithm, a.name.into(), a.name.to_uppercase())
                            .on_hover_text(format!("{}{demos}", a.summary))
                            .on_disabled_hover_text("does not handle this scenario's actions");
                    });
                }
            });
            let config = &mut ui.training.config;
            if algorithm != config.algorithm
                && let Ok(fresh) = RunConfig::new(&algorithm, &config.scenario, config.demos.clone())
            {
                *config = RunConfig { bc: config.bc.clone(), ..fresh };
            }
            row.label("Device:");
            for (choice, name) in [(DeviceChoice::Auto, "auto"), (DeviceChoice::Gpu, "gpu"), (DeviceChoice::Cpu, "cpu")] {
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
                if row.button("🎓 Train").on_hover_text("Learn from the episodes in the dataset, on its own thread").clicked() {
                    let (env, dataset) = (ui.session.env.clone(), ui.recording.dataset.clone());
                    match ui.training.start(&env, &dataset) {
                        Ok(()) => ui.session.driver = Driver::Policy,
                        Err(e) => ui.errors.push(e),
                    }
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
    side.label(format!("{phase} — {}", ui.training.status));
}

fn plots(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let marks = ui.training.marks.clone();
    let chart = |side: &mut egui::Ui, id: &str, names: &[&str]| {
        let x_axis = if ui.training.config.uses_demos() { "gradient step" } else { "environment step" };
        Plot::new(id).height(150.0).legend(Legend::default()).x_axis_label(x_axis).show(side, |plot| {
            for series in ui.training.series.iter().filter(|s| names.contains(&s.name.as_str())) {
                plot.line(Line::new(series.name.clone(), PlotPoints::from(series.points.clone())));
            }
            for (step, change) in &marks {
                plot.vline(VLine::new(change.clone(), *step));
            }
        });
    };
    side.label("Loss");
    chart(side, "loss", &["train/loss", "val/loss", "train/policy_loss", "train/value_loss"]);
    side.label("Return (evaluation: 5 seeded episodes per snapshot)");
    chart(side, "eval", &["eval/return_mean", "eval/success_rate", "rollout/return_mean"]);
}

fn hyperparameters(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.heading("Hyperparameters");
    let live: &[&str] = if ui.training.is_running() { ui.training.config.live() } else { &[] };
    let config = &ui.training.config;
    let mut changes = match &config.rl {
        Some(rl) => form(side, &config.algorithm.clone(), &rl.fields(), &mut ui.form, live),
        None => form(side, "bc", &fields(&config.bc), &mut ui.form, live),
    };
    if let Some(dagger) = ui.training.config.dagger.clone() {
        side.label("DAgger");
        changes.extend(form(side, "dagger", &fields(&dagger), &mut ui.form, &[]));
    }
    for (key, value) in changes {
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
    side.horizontal(|row| {
        row.add(egui::TextEdit::singleline(&mut *ui.policy_path).hint_text("run directory").desired_width(200.0));
        if row.button("📂 Load policy").clicked() {
            let path = std::path::PathBuf::from(ui.policy_path.trim());
            match run::load_policy(&path, &ui.session.env) {
                Ok(policy) => {
                    ui.session.set_policy(policy, path.display().to_string());
                    ui.session.driver = Driver::Policy;
                    ui.training.follow_latest = false;
                }
                Err(e) => ui.errors.push(format!("could not load the policy: {e}")),
            }
        }
    });
}
