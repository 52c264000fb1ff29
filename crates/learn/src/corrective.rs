//! Corrective labels from the dynamics (Gupta's "generating corrective labels with learned
//! dynamics", with the simulator itself as the model): every demonstrated state is perturbed
//! a few times, and each perturbed state is labelled with the first action of the sequence
//! that steers the pushed bodies back onto the demonstration's poses, found by searching
//! action sequences on the simulator. No expert is queried; behaviour cloning then sees the
//! recoveries a demonstrator that never erred could not show.

use super::error::TrainError;
use data::{Episode, EpisodeMeta, Source, StepRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim::planner::{PlannerConfig, SequenceSearch};
use sim::{Action, Env, ScenarioEnv};

/// How demonstrated states are perturbed and relabelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CorrectiveConfig {
    /// Perturbed copies of every demonstrated state, each with its corrective label (0: off).
    pub per_state: usize,
    /// Standard deviation of each dynamic body's shift, in metres (along x and y).
    pub position: f32,
    /// Standard deviation of each dynamic body's turn, in radians.
    pub angle: f32,
    /// Standard deviation of each dynamic body's velocity change, in m/s.
    pub velocity: f32,
    /// Steps within which the label's sequence must rejoin the demonstration.
    pub horizon: usize,
    /// Candidate sequences per search iteration.
    pub samples: usize,
    /// Search iterations per label.
    pub iterations: usize,
    /// Cost of a radian of heading error, against a metre of position error.
    pub angle_weight: f32,
    /// Seed of the perturbations and the search.
    pub seed: u64,
}

impl Default for CorrectiveConfig {
    fn default() -> CorrectiveConfig {
        CorrectiveConfig {
            per_state: 0,
            position: 0.3,
            angle: 0.2,
            velocity: 0.0,
            horizon: 10,
            samples: 32,
            iterations: 2,
            angle_weight: 1.0,
            seed: 0,
        }
    }
}

/// A rollout that ends in failure costs this much per step it did not get to track.
const FAILURE_COST: f32 = 10.0;

/// One-step episodes, `per_state` for every step of `demos`: the state perturbed, its
/// observation, and the corrective action (both as the executed action and the label). Each
/// starts from its perturbed world, so it replays exactly like any episode.
pub fn corrective_episodes(
    env: &ScenarioEnv,
    demos: &[&Episode],
    config: &CorrectiveConfig,
) -> Result<Vec<Episode>, TrainError> {
    if config.per_state == 0 {
        return Ok(Vec::new());
    }
    let bodies = env.dynamic_bodies();
    let mut out = Vec::new();
    for (d, demo) in demos.iter().enumerate() {
        let states = replayed(env, demo)?;
        let poses: Vec<Vec<[f32; 3]>> = states.iter().map(|s| poses_of(s, &bodies)).collect();
        let jobs: Vec<(usize, usize)> =
            (0..demo.steps.len()).flat_map(|t| (0..config.per_state).map(move |k| (t, k))).collect();
        let labelled: Vec<Episode> = jobs
            .par_iter()
            .map(|&(t, k)| {
                let seed = config.seed ^ ((d as u64) << 40) ^ ((t as u64) << 16) ^ k as u64;
                label(&states[t], (&bodies, &poses[t + 1..]), demo, seed, config)
            })
            .collect();
        out.extend(labelled);
    }
    Ok(out)
}

/// The environment at every step of `demo` (and after its last), replayed from its start.
fn replayed(env: &ScenarioEnv, demo: &Episode) -> Result<Vec<ScenarioEnv>, TrainError> {
    let mut env = env.clone();
    let id = format!("the episode from seed {}", demo.meta.seed);
    env.restore_state(&demo.initial).map_err(|e| TrainError::Config(format!("{id}: {e}")))?;
    let mut states = vec![env.clone()];
    for (t, step) in demo.steps.iter().enumerate() {
        env.step(&step.action).map_err(|e| TrainError::Config(format!("{id}, step {t}: {e}")))?;
        states.push(env.clone());
    }
    Ok(states)
}

/// The poses of `bodies` (the scenario's dynamic ones).
fn poses_of(env: &ScenarioEnv, bodies: &[usize]) -> Vec<[f32; 3]> {
    bodies.iter().map(|&i| env.body_pose(i)).collect()
}

/// A perturbed copy of `state` and the action steering its `bodies` back onto `ahead` (the
/// demonstration's poses of them from the next step on), as a one-step episode.
fn label(
    state: &ScenarioEnv,
    (bodies, ahead): (&[usize], &[Vec<[f32; 3]>]),
    demo: &Episode,
    seed: u64,
    config: &CorrectiveConfig,
) -> Episode {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pushed = state.clone();
    let mut noise = |sd: f32| sd * rng.sample::<f32, _>(StandardNormal);
    for &i in bodies {
        let shift = [noise(config.position), noise(config.position), noise(config.angle)];
        pushed.nudge_body(i, shift, [noise(config.velocity), noise(config.velocity)]);
    }
    let obs = pushed.observation();
    let search_config = PlannerConfig {
        horizon: config.horizon.max(1),
        samples: config.samples.max(1),
        iterations: config.iterations.max(1),
        seed,
        ..PlannerConfig::default()
    };
    let mut search = SequenceSearch::new(search_config, pushed.action_space().clone());
    let mut scratch = pushed.clone();
    let action = search.next_action(&mut |candidates| {
        candidates.iter().map(|actions| -tracking_cost(&mut scratch, &pushed, actions, (bodies, ahead), config)).collect()
    });
    let meta = EpisodeMeta {
        device: "corrective".into(),
        tags: vec!["corrective".into()],
        note: format!("perturbed from the demonstration of seed {}", demo.meta.seed),
        partial: false,
        ..demo.meta.clone()
    };
    one_step_episode(&pushed, obs, action, meta)
}

/// A one-step episode starting from `state`'s world: `action` executed there, and its label
/// (an action searched for, not asked of an expert). It replays exactly like any episode.
pub fn one_step_episode(state: &ScenarioEnv, obs: Vec<f32>, action: Action, meta: EpisodeMeta) -> Episode {
    let mut after = state.clone();
    let step = after.step(&action).expect("labels are actions of the action space");
    let record = StepRecord::from_step(obs, action.clone(), &step, Source::Expert, Some(action));
    Episode { meta, initial: state.state(), steps: vec![record], final_obs: step.obs }
}

/// How far `actions` from `start` keep the dynamic bodies from the demonstrated poses: the
/// summed distance per step (a failure costs the steps it cuts short).
fn tracking_cost(
    scratch: &mut ScenarioEnv,
    start: &ScenarioEnv,
    actions: &[Action],
    (bodies, ahead): (&[usize], &[Vec<[f32; 3]>]),
    config: &CorrectiveConfig,
) -> f32 {
    scratch.copy_from(start);
    let mut cost = 0.0;
    for (j, action) in actions.iter().enumerate() {
        let Some(target) = ahead.get(j.min(ahead.len().saturating_sub(1))) else { break };
        let Ok(step) = scratch.step(action) else { return f32::INFINITY };
        for (&i, want) in bodies.iter().zip(target) {
            let pose = scratch.body_pose(i);
            let turn = (pose[2] - want[2] + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
            cost += ((pose[0] - want[0]).powi(2) + (pose[1] - want[1]).powi(2)).sqrt() + config.angle_weight * turn.abs();
        }
        if step.terminated && !step.success {
            return cost + FAILURE_COST * (actions.len() - j) as f32;
        }
        if step.done() {
            break;
        }
    }
    cost
}
