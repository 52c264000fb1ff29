//! The policy view: at the last step, the action executed next to what the human, the
//! expert and the policy each proposed, and a mixture head's modes; and the split view that
//! runs a second checkpoint beside the scene's policy.

use super::Ui;
use crate::session::Driver;
use bevy_egui::egui;
use learn::artifact::Distribution;
use sim::Action;

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
    match &p.distribution {
        Some(Distribution::Modes(modes)) => {
            side.separator();
            side.label("Mixture modes (weight, mean action)");
            for (weight, mean) in modes {
                side.horizontal(|row| {
                    row.add(egui::ProgressBar::new(*weight).desired_width(120.0).text(format!("{weight:.2}")));
                    row.monospace(show(&Some(mean.clone())));
                });
            }
        }
        Some(Distribution::Choices(probabilities)) => {
            side.separator();
            side.label("Probability of each choice");
            for (choice, p) in probabilities.iter().enumerate() {
                side.horizontal(|row| {
                    row.add(egui::ProgressBar::new(*p).desired_width(120.0).text(format!("{p:.2}")));
                    row.monospace(format!("choice {choice}"));
                });
            }
        }
        None => {}
    }
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
