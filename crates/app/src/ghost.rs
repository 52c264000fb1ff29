//! Ghost rollouts: what the policy would do next, simulated from the state on screen (live,
//! or a replayed demonstration's step) on a copy of the world, and drawn translucent over the
//! scene. Every policy kind draws through the same tracks: the mode's continuation, sampled
//! continuations of a stochastic head, a chunked policy's sampled chunks, and a planner's
//! search: its sampled candidates, the elites and the chosen plan, each in its own colour.

use super::replay::Replay;
use super::session::Session;
use bevy::prelude::*;
use learn::artifact::PolicyArtifact;
use sim::frame::Frame;
use sim::{Action, Env, ScenarioEnv};
use std::sync::{Arc, Mutex};

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
    /// Draw the moving bodies' outlines along the track, not only the focus point's path.
    pub outlines: bool,
}

/// Colours of a planner's search.
const CANDIDATE: [f32; 4] = [0.7, 0.7, 0.75, 0.25];
const ELITE: [f32; 4] = [1.0, 0.6, 0.15, 0.7];
const PLAN: [f32; 4] = [0.3, 1.0, 0.45, 0.95];

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
    /// The rollouts being simulated on a thread of their own, so a policy that is slow to
    /// act (a chunked one sampling many chunks) never stalls a frame.
    job: Option<Job>,
}

/// Tracks and sampled actions in the making, for the state `from`.
struct Job {
    from: (u64, usize, usize),
    done: Arc<Mutex<Option<(Vec<Track>, Vec<Action>)>>>,
    /// Finished without a result means the policy panicked: the next refresh tries again.
    thread: std::thread::JoinHandle<()>,
}

impl Default for Ghosts {
    fn default() -> Ghosts {
        Ghosts {
            enabled: true,
            horizon: 40,
            samples: 4,
            tracks: Vec::new(),
            actions: Vec::new(),
            from: None,
            job: None,
        }
    }
}

/// The policy's continuation from `env`'s state for up to `horizon` steps.
pub fn rollout(env: &ScenarioEnv, obs: &[f32], policy: &mut dyn PolicyArtifact, horizon: usize) -> Vec<Frame> {
    let mut env = env.clone();
    let mut obs = obs.to_vec();
    let mut frames = Vec::with_capacity(horizon);
    for _ in 0..horizon {
        let action = policy.act(&env, &obs);
        let Ok(step) = env.step(&action) else { break };
        frames.push(env.frame());
        if step.done() {
            break;
        }
        obs = step.obs;
    }
    frames
}

/// The frames of `actions` played from `env`'s state (ending where the episode would).
fn replay_actions(env: &ScenarioEnv, actions: &[Action]) -> Vec<Frame> {
    let mut env = env.clone();
    let mut frames = Vec::with_capacity(actions.len());
    for action in actions {
        let Ok(step) = env.step(action) else { break };
        frames.push(env.frame());
        if step.done() {
            break;
        }
    }
    frames
}

/// A planner's search from `env`'s state as tracks (candidates faint, elites, the plan on
/// top, simulated on the true world whatever the planner scored them on) and the
/// candidates' first actions.
fn search_tracks(env: &ScenarioEnv, searched: &sim::planner::Searched, label: &str) -> (Vec<Track>, Vec<Action>) {
    let track = |label: String, color, actions: &[Action], outlines| Track {
        label,
        color,
        frames: replay_actions(env, actions),
        outlines,
    };
    let mut tracks: Vec<Track> = (0..searched.candidates.len())
        .filter(|i| !searched.elites.contains(i))
        .map(|i| track(format!("candidate {}", i + 1), CANDIDATE, &searched.candidates[i], false))
        .collect();
    tracks.extend(searched.elites.iter().map(|&i| track(format!("elite {}", i + 1), ELITE, &searched.candidates[i], false)));
    tracks.push(track(format!("{label} (plan)"), PLAN, &searched.plan, true));
    let actions = searched.candidates.iter().filter_map(|c| c.first().cloned()).collect();
    (tracks, actions)
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

/// The mode's continuation, `samples` sampled ones and the action draws, from `env`'s state.
/// A chunked policy's action draws are the first actions of chunks sampled in one batch.
fn simulate(
    env: &ScenarioEnv,
    obs: &[f32],
    policy: &dyn PolicyArtifact,
    label: &str,
    (horizon, samples): (usize, usize),
) -> (Vec<Track>, Vec<Action>) {
    if let Some(searched) = policy.search(env, obs) {
        return search_tracks(env, &searched, label);
    }
    let mut mode = policy.boxed();
    mode.set_sampling(false);
    let mut tracks = vec![Track {
        label: format!("{label} (mode)"),
        color: [1.0, 0.45, 0.85, 0.8],
        frames: rollout(env, obs, mode.as_mut(), horizon),
        outlines: true,
    }];
    let samples = if policy.stochastic() { samples } else { 0 };
    for k in 0..samples {
        let mut sampled = policy.boxed();
        sampled.set_sampling(true);
        sampled.reset(k as u64 + 1);
        tracks.push(Track {
            label: format!("sample {}", k + 1),
            color: [0.75, 0.6, 1.0, 0.5],
            frames: rollout(env, obs, sampled.as_mut(), horizon),
            outlines: true,
        });
    }
    let actions = match policy.sampled_chunks(obs, ACTION_SAMPLES) {
        Some(chunks) => chunks.into_iter().filter_map(|c| c.into_iter().next()).collect(),
        None => sample_actions(policy, obs),
    };
    (tracks, actions)
}

/// Takes a finished job's tracks (unless the scene has since moved to another episode or
/// replay step) and starts simulating again when the scene has moved on enough; a job still
/// running is left to finish first.
fn roll(mut ghosts: ResMut<Ghosts>, session: Res<Session>, replay: Res<Replay>) {
    let Some(live) = session.policy.as_ref().filter(|_| ghosts.enabled) else {
        ghosts.tracks.clear();
        ghosts.actions.clear();
        ghosts.from = None;
        ghosts.job = None;
        return;
    };
    let here = (session.seed, session.env.steps() as usize, replay.t);
    if let Some(job) = &ghosts.job {
        let result = job.done.lock().unwrap_or_else(|e| e.into_inner()).take();
        if result.is_none() && !job.thread.is_finished() {
            return;
        }
        let from = job.from;
        ghosts.job = None;
        match result {
            Some((tracks, actions)) if (from.0, from.2) == (here.0, here.2) => {
                (ghosts.tracks, ghosts.actions) = (tracks, actions);
            }
            Some(_) => {}
            None => ghosts.from = None,
        }
    }
    let fresh = ghosts.from.is_some_and(|(seed, step, t)| {
        seed == here.0 && t == here.2 && here.1 >= step && here.1 - step < REFRESH_STEPS
    });
    if fresh {
        return;
    }
    ghosts.from = Some(here);
    let done = Arc::new(Mutex::new(None));
    let (env, obs, policy, label) = (session.env.clone(), session.obs.clone(), live.policy.boxed(), live.label.clone());
    let budget = (ghosts.horizon, ghosts.samples);
    let out = done.clone();
    let thread = std::thread::spawn(move || {
        yield_to_frames();
        let result = simulate(&env, &obs, policy.as_ref(), &label, budget);
        *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    });
    ghosts.job = Some(Job { from: here, done, thread });
}

/// Lowers the calling thread's scheduling priority (Linux's nice is per thread), so on a
/// busy machine the ghosts take the cores the frame leaves free instead of sharing them.
fn yield_to_frames() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `who = 0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Ghosts>().add_systems(Update, roll);
}
