//! The policy view: at the last step, the action executed next to what the human, the
//! expert and the policy each proposed, and a mixture head's modes; and the split view that
//! runs a second checkpoint beside the scene's policy.

use super::Ui;
use crate::session::Driver;
use bevy_egui::egui;
use egui_plot::{Arrows, Legend, Line, Plot, PlotPoints, Points};
use learn::artifact::Distribution;
use sim::Action;
use sim::scenario::Bindings;
use sim::{Env, Space};

/// The learned-reward view's switch and legend, when the run in the scene has a reward.
fn reward_controls(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let Some((_, dir)) = &ui.learned.model else { return };
    let from = dir.display().to_string();
    side.separator();
    side.checkbox(&mut ui.learned.enabled, "Colour the trail by the learned reward")
        .on_hover_text(format!("The reward learned in {from}, scored on every step the scene takes"));
    if let (true, Some((lo, hi))) = (ui.learned.enabled, ui.learned.range()) {
        side.horizontal(|row| {
            row.colored_label(egui::Color32::from_rgb(64, 90, 255), format!("low {lo:.2}"));
            row.label("to");
            row.colored_label(egui::Color32::from_rgb(255, 230, 64), format!("high {hi:.2}"));
            row.label(format!("(last step {:.2})", ui.learned.scores.back().copied().unwrap_or(f32::NAN)));
        });
    }
}

fn show(action: &Option<Action>) -> String {
    match action {
        None => "—".into(),
        Some(Action::Continuous(v)) => v.iter().map(|x| format!("{x:+.2}")).collect::<Vec<_>>().join("  "),
        Some(Action::Discrete(c)) => format!("choice {c}"),
        Some(Action::MultiDiscrete(v)) => format!("{v:?}"),
    }
}

pub fn panel(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    let p = &ui.session.proposals;
    egui::Grid::new("proposals").num_columns(2).striped(true).show(side, |grid| {
        let source = p.source.map_or("—".into(), |s| format!("{s:?}").to_lowercase());
        for (who, action) in [
            (format!("executed ({source})"), &p.executed),
            ("human".to_string(), &p.human),
            ("expert".to_string(), &p.expert),
            ("policy".to_string(), &p.policy),
        ] {
            grid.label(who);
            grid.monospace(show(action));
            grid.end_row();
        }
    });
    if let Some(Distribution::Choices(probabilities)) = &p.distribution {
        side.separator();
        side.label("Probability of each choice");
        let names = choice_names(&ui.bindings.bindings);
        for (choice, p) in probabilities.iter().enumerate() {
            side.horizontal(|row| {
                row.add(egui::ProgressBar::new(*p).desired_width(160.0).text(format!("{p:.2}")));
                row.monospace(format!(
                    "choice {choice}{}",
                    names.get(choice).map_or(String::new(), |n| format!(" ({n})"))
                ));
            });
        }
    }
    if let Space::Box { low, high } = ui.session.env.action_space().clone() {
        side.separator();
        action_plot(side, ui, &low, &high);
    }
    side.separator();
    ghost_controls(side, ui);
    reward_controls(side, ui);
    side.separator();
    side.label(
        "Take over at any time with the keys or a gamepad: those steps are recorded as interventions \
         (while recording) and teach the next training run; the policy's own steps do not.",
    );
    side.separator();
    split_view(side, ui);
}

/// Open, watch and close the split view.
fn split_view(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.heading("Split view");
    side.label("A second checkpoint acts in the right half on the same seeds as the scene's policy on the left (pick one in the Runs tab).");
    side.horizontal(|row| {
        let latest = ui.training.latest.clone();
        let newest = row.add_enabled(latest.is_some(), egui::Button::new("Compare with the newest snapshot"));
        if let (true, Some((step, policy))) = (newest.clicked(), latest) {
            open(ui, policy, format!("training step {step}"));
        }
        if ui.split.is_open() && row.button("Close").clicked() {
            ui.split.close();
        }
    });
    if let Some(c) = ui.split.compare(&ui.session) {
        side.label(format!(
            "{} seeds finished by both: mean return {:.1} (left) vs {:.1} (right); right better on {}",
            c.episodes, c.left_mean, c.right_mean, c.right_wins
        ));
    } else if ui.split.is_open() {
        side.label("No seed finished by both sides yet.");
    }
}

pub fn open(ui: &mut Ui<'_, '_>, policy: Box<dyn learn::artifact::PolicyArtifact>, label: String) {
    if ui.session.policy.is_some() {
        ui.session.driver = Driver::Policy;
    }
    ui.replay.close(&mut ui.session);
    ui.split.open(&mut ui.session, &mut ui.recording, policy, label);
}

/// The keys of each discrete choice, from the bindings.
fn choice_names(bindings: &Option<Bindings>) -> Vec<String> {
    match bindings {
        Some(Bindings::Choices { choices, .. }) => {
            choices.iter().map(|c| c.keys.first().map_or("idle".to_string(), |k| format!("{k:?}"))).collect()
        }
        _ => Vec::new(),
    }
}

/// A continuous head's view of the next action: the action box, sampled actions as dots, a
/// mixture's modes as arrows (their weight in the legend) and the action executed. Two
/// dimensions are drawn as a plane; one as a line with the modes' weights as height.
fn action_plot(side: &mut egui::Ui, ui: &mut Ui<'_, '_>, low: &[f32], high: &[f32]) {
    let point = |a: &Action, weight: f64| -> Option<[f64; 2]> {
        let Action::Continuous(v) = a else { return None };
        Some(if v.len() >= 2 { [v[0] as f64, v[1] as f64] } else { [v.first().copied().unwrap_or(0.0) as f64, weight] })
    };
    let planar = low.len() >= 2;
    let names: Vec<String> = ui.session.env.scenario().actuators.iter().map(|a| a.name.clone()).collect();
    side.label(if planar {
        format!("Next action: {} (x) and {} (y)", names.first().map_or("a0", |n| n), names.get(1).map_or("a1", |n| n))
    } else {
        format!("Next action: {} (modes' height = weight)", names.first().map_or("a0", |n| n))
    });
    let samples: Vec<[f64; 2]> = ui.ghosts.actions.iter().filter_map(|a| point(a, 0.0)).collect();
    let modes: Vec<(f32, [f64; 2])> = match &ui.session.proposals.distribution {
        Some(Distribution::Modes(modes)) => {
            modes.iter().filter_map(|(w, a)| Some((*w, point(a, *w as f64)?))).collect()
        }
        _ => Vec::new(),
    };
    let executed = ui.session.proposals.executed.as_ref().and_then(|a| point(a, 0.0));
    let (lo, hi) = (
        [low[0] as f64, low.get(1).copied().unwrap_or(0.0) as f64],
        [high[0] as f64, high.get(1).copied().unwrap_or(1.0) as f64],
    );
    Plot::new("action distribution")
        .height(200.0)
        .data_aspect(if planar { 1.0 } else { 0.0 })
        .legend(Legend::default())
        .show(side, |plot| {
            let frame = vec![[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [lo[0], lo[1]]];
            plot.line(Line::new("action range", PlotPoints::from(frame)).color(egui::Color32::from_gray(110)));
            plot.points(
                Points::new("samples", PlotPoints::from(samples))
                    .radius(2.5)
                    .color(egui::Color32::from_rgb(200, 150, 255)),
            );
            for (k, (weight, tip)) in modes.iter().enumerate() {
                let origin = if planar { [0.0, 0.0] } else { [tip[0], 0.0] };
                let name = format!("mode {} (weight {weight:.2})", k + 1);
                plot.arrows(Arrows::new(name, PlotPoints::from(vec![origin]), PlotPoints::from(vec![*tip])));
            }
            if let Some(e) = executed {
                plot.points(
                    Points::new("executed", PlotPoints::from(vec![e]))
                        .radius(5.0)
                        .color(egui::Color32::from_rgb(255, 175, 80)),
                );
            }
        });
}

/// The ghost rollout: on or off, how far ahead, how many sampled continuations.
fn ghost_controls(side: &mut egui::Ui, ui: &mut Ui<'_, '_>) {
    side.horizontal(|row| {
        row.checkbox(&mut ui.ghosts.enabled, "Ghost rollout")
            .on_hover_text("Draw what the policy would do next from the state on screen (live, or a replayed episode's step), simulated on a copy of the world");
        row.add(egui::Slider::new(&mut ui.ghosts.horizon, 5..=200).text("steps"));
        row.add(egui::Slider::new(&mut ui.ghosts.samples, 0..=8).text("samples"))
            .on_hover_text("Sampled continuations beside the mode's, for a policy that samples (flow, diffusion): several ways it might go");
    });
}
