//! The learned-reward view: when the run that drives the scene (or the run just trained) holds
//! a learned reward (GAIL's discriminator, AIRL's g), every step's transition is scored by it,
//! and the scene's trail is coloured by those scores, low blue to high yellow, so one sees
//! where the reward says the behaviour looks like the demonstrations.

use super::session::{Session, TRAIL_STEPS};
use super::training::{Phase, Training};
use super::SimSet;
use bevy::prelude::*;
use learn::reward::{RewardModel, Transition, load_reward};
use std::collections::VecDeque;
use std::path::PathBuf;

#[derive(Resource, Default)]
pub struct LearnedReward {
    /// Colour the trail by the learned reward.
    pub enabled: bool,
    /// The reward model and the run it came from.
    pub model: Option<(RewardModel, PathBuf)>,
    /// The learned reward of each of the trail's last steps, oldest first.
    pub scores: VecDeque<f32>,
    /// The observation before the last step, and the episode and step it was seen at.
    last: Option<(Vec<f32>, u64, u32)>,
    /// The run directory a model was last looked for in.
    tried: Option<PathBuf>,
}

impl LearnedReward {
    /// The lowest and highest score on the trail.
    pub fn range(&self) -> Option<(f32, f32)> {
        let lo = self.scores.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = self.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lo.is_finite().then_some((lo, hi))
    }
}

/// The run whose reward fits the scene: the one just trained here, or the run directory the
/// driving policy was loaded from.
fn candidate(session: &Session, training: &Training) -> Option<PathBuf> {
    let trained = training.run_dir.clone().filter(|_| training.phase == Phase::Finished);
    let loaded = session.policy.as_ref().map(|p| PathBuf::from(&p.label)).filter(|d| d.is_dir());
    trained.or(loaded)
}

/// Loads the learned reward of a new candidate run (none if it has no reward or it does not
/// fit the scenario).
fn follow(mut view: ResMut<LearnedReward>, session: Res<Session>, training: Res<Training>) {
    let dir = candidate(&session, &training);
    if dir == view.tried {
        return;
    }
    view.model = dir.as_ref().and_then(|d| load_reward(d, &session.env).ok().map(|m| (m, d.clone())));
    view.enabled |= view.model.is_some();
    view.scores.clear();
    view.tried = dir;
}

/// Scores the step just taken and keeps it beside the trail's point.
fn score(mut view: ResMut<LearnedReward>, session: Res<Session>) {
    let here = (session.seed, session.env.steps());
    let last = view.last.replace((session.obs.clone(), here.0, here.1));
    let Some((model, _)) = &view.model else { return };
    let stepped = last.filter(|(_, seed, step)| *seed == here.0 && step + 1 == here.1);
    let (Some((obs, _, _)), Some(action)) = (stepped, &session.proposals.executed) else {
        if here.1 == 0 {
            view.scores.clear();
        }
        return;
    };
    let score = model.score(&[Transition { obs: &obs, action, next: &session.obs }])[0];
    if view.scores.len() == TRAIL_STEPS {
        view.scores.pop_front();
    }
    view.scores.push_back(score);
}

pub fn plugin(app: &mut App) {
    app.init_resource::<LearnedReward>()
        .add_systems(Update, follow)
        .add_systems(FixedUpdate, score.after(SimSet::Step));
}
