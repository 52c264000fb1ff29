//! Ghost rollouts: what the policy would do next, simulated from the state on screen (live,
//! or a replayed demonstration's step) on a copy of the world, and drawn translucent over the
//! scene. Every policy kind draws through the same tracks: the mode's continuation, sampled
//! continuations of a stochastic head, and later a planner's plans or a chunked policy's
//! sampled chunks.

use super::replay::Replay;
use super::session::Session;
use bevy::prelude::*;
use learn::artifact::PolicyArtifact;
use sim::frame::Frame;
use sim::{Action, Env, ScenarioEnv};

/// Steps the live scene may move on before the ghosts are simulated again.
const REFRESH_STEPS: usize = 5;
/// Draws of the action distribution for the Policy view's scatter.
const ACTION_SAMPLES: usize = 48;

/// One continuation to draw.
#[derive(Debug, Clone)]
pub struct Track {
    pub label: String,
    /// RGBA in 0..1; each frame fades along the track.
    pub color: [f32; 4],
    /// The frames after each step from the state on screen.
    pub frames: Vec<Frame>,
}

#[derive(Resource)]
pub struct Ghosts {
    /// Simulate and draw the policy's continuation.
    pub enabled: bool,
    /// Steps ahead.
    pub horizon: usize,
    /// Sampled continuations beside the mode's, for policies that sample (generative ones).
    pub samples: usize,
    pub tracks: Vec<Track>,
    /// Actions sampled from the policy at the state on screen (the Policy view's dots).
    pub actions: Vec<Action>,
    /// The state the tracks start from: (seed, step, replay step).
    from: Option<(u64, usize, usize)>,
}

impl Default for Ghosts {
    fn default() -> Ghosts {
        Ghosts { enabled: true, horizon: 40, samples: 4, tracks: Vec::new(), actions: Vec::new(), from: None }
    }
}

/// The policy's continuation from `env`'s state for up to `horizon` steps.
pub fn rollout(env: &ScenarioEnv, obs: &[f32], policy: &mut dyn PolicyArtifact, horizon: usize) -> Vec<Frame> {
    let mut env = env.clone();
    let mut obs = obs.to_vec();
    let mut frames = Vec::with_capacity(horizon);
    for _ in 0..horizon {
        let Ok(step) = env.step(&policy.act_obs(&obs)) else { break };
        frames.push(env.frame());
        if step.done() {
            break;
        }
        obs = step.obs;
    }
    frames
}

/// Draws of the policy's action at `obs`.
fn sample_actions(policy: &dyn PolicyArtifact, obs: &[f32]) -> Vec<Action> {
    let mut p = policy.boxed();
    p.set_sampling(true);
    (0..ACTION_SAMPLES as u64)
        .map(|k| {
            p.reset(k);
            p.act_obs(obs)
        })
        .collect()
}

/// Simulates the tracks again when the scene has moved on enough.
fn roll(mut ghosts: ResMut<Ghosts>, session: Res<Session>, replay: Res<Replay>) {
    let Some(live) = session.policy.as_ref().filter(|_| ghosts.enabled) else {
        ghosts.tracks.clear();
        ghosts.actions.clear();
        ghosts.from = None;
        return;
    };
    let here = (session.seed, session.env.steps() as usize, replay.t);
    let fresh = ghosts.from.is_some_and(|(seed, step, t)| {
        seed == here.0 && t == here.2 && here.1 >= step && here.1 - step < REFRESH_STEPS
    });
    if fresh {
        return;
    }
    ghosts.from = Some(here);
    let mut mode = live.policy.boxed();
    mode.set_sampling(false);
    let mut tracks = vec![Track {
        label: format!("{} (mode)", live.label),
        color: [1.0, 0.45, 0.85, 0.8],
        frames: rollout(&session.env, &session.obs, mode.as_mut(), ghosts.horizon),
    }];
    let samples = if live.policy.stochastic() { ghosts.samples } else { 0 };
    for k in 0..samples {
        let mut sampled = live.policy.boxed();
        sampled.set_sampling(true);
        sampled.reset(k as u64 + 1);
        tracks.push(Track {
            label: format!("sample {}", k + 1),
            color: [0.75, 0.6, 1.0, 0.5],
            frames: rollout(&session.env, &session.obs, sampled.as_mut(), ghosts.horizon),
        });
    }
    ghosts.tracks = tracks;
    ghosts.actions = sample_actions(live.policy.as_ref(), &session.obs);
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Ghosts>().add_systems(Update, roll);
}
