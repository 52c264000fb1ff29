//! The runs tab: the runs of this scenario under the data directory, newest first, each
//! with its algorithm, date, final evaluation and a sparkline; Load and Compare take the
//! selected run's policy, Settings its algorithm and hyperparameters for the next run.

use super::Ui;
use crate::session::Driver;
use bevy_egui::egui;
use learn::run::{self, RunError};
use learn::runs::{self, RunSummary};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often the list is read again from disk while the tab is open.
const REFRESH: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct RunsState {
    listed: Vec<Result<RunSummary, RunError>>,
    read_at: Option<Instant>,
    selected: Option<PathBuf>,
    other: String,
}

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let dir = ui.training.runs_dir.clone();
    if ui.runs.read_at.is_none_or(|t| t.elapsed() > REFRESH) {
        ui.runs.listed = runs::list(&dir);
        ui.runs.read_at = Some(Instant::now());
    }
    side.label(format!("{} — {} runs", dir.display(), ui.runs.listed.len()));
    actions(side, ui);
    side.separator();
    let mut clicked = None;
    egui::Grid::new("runs").num_columns(5).striped(true).show(side, |grid| {
        for head in ["run", "algorithm", "date", "final eval", "curve"] {
            grid.strong(head);
        }
        grid.end_row();
        for listed in &ui.runs.listed {
            match listed {
                Ok(run) => {
                    let name = run.dir.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
                    let selected = ui.runs.selected.as_ref() == Some(&run.dir);
                    let row = grid.selectable_label(selected, &name).on_hover_text(run.dir.display().to_string());
                    ui.map.mark(&format!("run {name}"), &row);
                    if row.clicked() {
                        clicked = Some(run.dir.clone());
                    }
                    grid.label(run.algorithm.to_uppercase());
                    grid.label(run.modified.map_or("—".into(), date));
                    grid.label(run.final_return.map_or("—".into(), |r| format!("{r:.1}")));
                    sparkline(grid, &run.curve).on_hover_text(&run.curve_name);
                }
                Err(e) => {
                    grid.colored_label(egui::Color32::from_rgb(255, 140, 120), "unreadable")
                        .on_hover_text(e.to_string());
                    for _ in 0..4 {
                        grid.label("");
                    }
                }
            }
            grid.end_row();
        }
    });
    if clicked.is_some() {
        ui.runs.selected = clicked;
    }
}

/// Load or compare the selection, or a run directory elsewhere.
fn actions(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.horizontal(|row| {
        row.add(
            egui::TextEdit::singleline(&mut ui.runs.other).hint_text("or another run directory").desired_width(180.0),
        );
        let other = Some(PathBuf::from(ui.runs.other.trim())).filter(|p| !p.as_os_str().is_empty());
        let target = other.or_else(|| ui.runs.selected.clone());
        let chosen = target.is_some();
        if row
            .add_enabled(chosen, egui::Button::new("📂 Load"))
            .on_hover_text("The run's policy drives the scene")
            .clicked()
            && let Some(dir) = &target
        {
            match run::load_policy(dir, &ui.session.env) {
                Ok(policy) => {
                    ui.session.set_policy(policy, dir.display().to_string());
                    ui.session.driver = Driver::Policy;
                    ui.training.follow_latest = false;
                }
                Err(e) => ui.errors.push(format!("could not load the policy: {e}")),
            }
        }
        if row
            .add_enabled(chosen, egui::Button::new("◫ Compare"))
            .on_hover_text("The run's policy acts in the right half, beside the scene's policy, on the same seeds")
            .clicked()
            && let Some(dir) = &target
        {
            match run::load_policy(dir, &ui.session.env) {
                Ok(policy) => super::policy_view::open(ui, policy, dir.display().to_string()),
                Err(e) => ui.errors.push(format!("could not load the policy to compare: {e}")),
            }
        }
        let idle = !ui.training.is_running();
        let settings = row
            .add_enabled(chosen && idle, egui::Button::new("⚙ Settings"))
            .on_hover_text("The next run (Train tab) takes this run's algorithm and hyperparameters")
            .on_disabled_hover_text("Select a run; not while one trains");
        ui.map.mark("settings", &settings);
        if settings.clicked()
            && let Some(dir) = &target
            && let Err(e) = ui.training.use_settings_of(dir, &ui.session.env)
        {
            ui.errors.push(format!("could not take the run's settings: {e}"));
        }
    });
}

/// A file's time as a local date and time.
fn date(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time).format("%Y-%m-%d %H:%M").to_string()
}

/// A small line of `values`, scaled to its own range.
fn sparkline(ui: &mut egui::Ui, values: &[f64]) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(90.0, 18.0), egui::Sense::hover());
    if values.len() >= 2 {
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let span = (hi - lo).max(1e-9);
        let points: Vec<egui::Pos2> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = rect.left() + rect.width() * i as f32 / (values.len() - 1) as f32;
                let y = rect.bottom() - rect.height() * ((v - lo) / span) as f32;
                egui::pos2(x, y)
            })
            .collect();
        ui.painter().add(egui::Shape::line(points, egui::Stroke::new(1.5, egui::Color32::from_rgb(120, 200, 255))));
    }
    response
}
