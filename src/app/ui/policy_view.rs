//! The policy view: at the last step, the action executed next to what the human, the
//! expert and the policy each proposed, and a mixture head's modes.

use super::Ui;
use crate::sim::Action;
use bevy_egui::egui;

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
    if let Some(modes) = &p.modes {
        side.separator();
        side.label("Mixture modes (weight, mean action)");
        for (weight, mean) in modes {
            side.horizontal(|row| {
                row.add(egui::ProgressBar::new(*weight).desired_width(120.0).text(format!("{weight:.2}")));
                row.monospace(show(&Some(mean.clone())));
            });
        }
    }
    side.separator();
    side.label(
        "Take over at any time with the keys or a gamepad: those steps are recorded as interventions \
         (while recording) and teach the next training run; the policy's own steps do not.",
    );
}
