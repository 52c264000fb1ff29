//! The split view: a second checkpoint acts beside the scene's policy, episode for episode on
//! the same seeds, so two checkpoints can be compared by eye and by return.

use super::record::Recording;
use super::replay::Replay;
use super::session::{Driver, Outcome, Session};
use super::teleop::HumanInput;
use bevy::prelude::*;
use learn::artifact::PolicyArtifact;
use std::collections::BTreeMap;

/// The right-hand side of the split view.
pub struct Rival {
    /// Its own copy of the scenario, driven only by its policy and never recorded.
    pub session: Session,
    /// Index into the main session's outcomes where the comparison began.
    first_outcome: usize,
}

/// Returns on the seeds both sides have finished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub episodes: usize,
    pub left_mean: f32,
    pub right_mean: f32,
    /// Seeds where the right side scored strictly higher.
    pub right_wins: usize,
}

#[derive(Resource, Default)]
pub struct Split {
    pub rival: Option<Rival>,
}

impl Split {
    pub fn is_open(&self) -> bool {
        self.rival.is_some()
    }

    /// Opens the split view with `policy` on the right. Both sides start the main session's
    /// current seed afresh (an episode being recorded ends here, kept).
    pub fn open(
        &mut self,
        main: &mut Session,
        recording: &mut Recording,
        policy: Box<dyn PolicyArtifact>,
        label: String,
    ) {
        recording.stop_episode();
        main.restart(main.seed);
        let mut session = Session::new(main.env.fork(), main.seed, Driver::Policy);
        session.set_policy(policy, label);
        self.rival = Some(Rival { session, first_outcome: main.outcomes.len() });
    }

    pub fn close(&mut self) {
        self.rival = None;
    }

    /// Mean returns of both sides over the seeds both have finished since the split opened.
    pub fn compare(&self, main: &Session) -> Option<Comparison> {
        let rival = self.rival.as_ref()?;
        let by_seed = |outcomes: &[Outcome]| outcomes.iter().map(|o| (o.seed, o.ret)).collect::<BTreeMap<_, _>>();
        let left = by_seed(&main.outcomes[rival.first_outcome.min(main.outcomes.len())..]);
        let right = by_seed(&rival.session.outcomes);
        let pairs: Vec<(f32, f32)> = left.iter().filter_map(|(seed, l)| right.get(seed).map(|r| (*l, *r))).collect();
        if pairs.is_empty() {
            return None;
        }
        let n = pairs.len() as f32;
        Some(Comparison {
            episodes: pairs.len(),
            left_mean: pairs.iter().map(|p| p.0).sum::<f32>() / n,
            right_mean: pairs.iter().map(|p| p.1).sum::<f32>() / n,
            right_wins: pairs.iter().filter(|p| p.1 > p.0).count(),
        })
    }
}

/// Steps the right side whenever the main scene steps.
fn advance(main: Res<Session>, replay: Res<Replay>, mut split: ResMut<Split>, mut errors: ResMut<super::Errors>) {
    let Some(rival) = &mut split.rival else { return };
    if main.paused.is_some() || replay.is_active() {
        return;
    }
    let stepped = match rival.session.step(&HumanInput::default()) {
        Ok(stepped) => stepped,
        Err(e) => {
            errors.push(format!("right side: {e}"));
            split.rival = None;
            return;
        }
    };
    if stepped.done {
        rival.session.finish_episode(stepped.success);
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Split>().add_systems(FixedUpdate, advance.after(super::SimSet::Step));
}
