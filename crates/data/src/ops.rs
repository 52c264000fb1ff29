//! Dataset tools: generate expert demonstrations (with DART noise), replay them exactly,
//! trim, merge, split, and branch an episode to re-record from a step.

use super::codec::DataError;
use super::dataset::{Dataset, EpisodeFile};
use super::episode::{Episode, EpisodeMeta, Source, StepRecord};
use super::staged::OrderedWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::Serialize;
use sim::experts::ExpertSpec;
use sim::space::ActionMismatch;
use sim::{Action, Env, Policy, ScenarioEnv, Space};

/// Perturbs an action (DART, Laskey et al. 2017): Gaussian noise of `scale` × half the range
/// on continuous actions, a uniformly random choice with probability `scale` on discrete ones.
pub fn perturb(space: &Space, action: &Action, scale: f32, rng: &mut ChaCha8Rng) -> Action {
    if scale <= 0.0 {
        return action.clone();
    }
    match (space, action) {
        (Space::Box { low, high }, Action::Continuous(v)) => Action::Continuous(
            v.iter()
                .zip(low.iter().zip(high))
                .map(|(&x, (&l, &h))| {
                    let sigma = scale * (h - l) / 2.0;
                    let noise = Normal::new(0.0, sigma.max(1e-12)).map_or(0.0, |n| n.sample(rng));
                    (x + noise).clamp(l, h)
                })
                .collect(),
        ),
        (Space::Discrete { n }, Action::Discrete(a)) => {
            Action::Discrete(if rng.random::<f32>() < scale { rng.random_range(0..*n) } else { *a })
        }
        (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(v)) => Action::MultiDiscrete(
            v.iter()
                .zip(nvec)
                .map(|(&a, &n)| if rng.random::<f32>() < scale { rng.random_range(0..n) } else { a })
                .collect(),
        ),
        _ => action.clone(),
    }
}

/// Who drives generated episodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generator {
    /// The scenario's scripted expert.
    Scripted,
    /// Uniformly random actions.
    Random,
    /// The sampling planner on the true simulator (MPC with the scenario's reward): the
    /// scenario's own `Planner(...)` settings, or the defaults.
    Planner,
}

/// Chooses the executed action (and who chose it) from the state, its observation and the
/// expert's label for it.
pub type Driver<'a> = dyn FnMut(&ScenarioEnv, &[f32], &Action) -> (Action, Source) + 'a;

/// A driver chose an action outside the action space while recording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("episode from seed {seed}, step {step}: {source}")]
pub struct DriveError {
    pub seed: u64,
    pub step: usize,
    #[source]
    pub source: ActionMismatch,
}

/// Records one episode from `seed` in which the scripted expert labels every state and
/// `drive` picks the executed action (and who chose it) from the state and that label.
pub fn record_labeled(
    env: &mut ScenarioEnv,
    expert: &ExpertSpec,
    seed: u64,
    device: &str,
    drive: &mut Driver,
) -> Result<Episode, DriveError> {
    let mut policy = expert.policy();
    policy.reset(seed);
    let mut obs = env.reset(seed);
    let initial = env.state();
    let mut steps = Vec::new();
    loop {
        let label = policy.act(env, &obs);
        let (action, source) = drive(env, &obs, &label);
        let step = env.step(&action).map_err(|source| DriveError { seed, step: steps.len(), source })?;
        let before = std::mem::replace(&mut obs, step.obs.clone());
        steps.push(StepRecord::from_step(before, action, &step, source, Some(label)));
        if step.done() {
            break;
        }
    }
    let s = env.scenario();
    let meta = EpisodeMeta {
        scenario: s.name.clone(),
        scenario_hash: s.source_hash.clone(),
        seed,
        device: device.to_string(),
        tags: Vec::new(),
        note: String::new(),
        partial: false,
    };
    Ok(Episode { meta, initial, steps, final_obs: obs })
}

/// Records one episode of the scripted expert (with DART noise) or of random play.
pub fn record_episode(
    env: &mut ScenarioEnv,
    expert: &ExpertSpec,
    generator: Generator,
    seed: u64,
    noise: f32,
) -> Result<Episode, DriveError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xDA27);
    let space = env.action_space().clone();
    let mut episode = match generator {
        Generator::Scripted | Generator::Planner => {
            let device = if generator == Generator::Planner { "planner" } else { "scripted" };
            record_labeled(env, expert, seed, device, &mut |_, _, label| {
                (perturb(&space, label, noise, &mut rng), Source::Expert)
            })?
        }
        Generator::Random => {
            record_labeled(env, expert, seed, "random", &mut |_, _, _| (space.sample(&mut rng), Source::Policy))?
        }
    };
    if noise > 0.0 {
        episode.meta.tags.push(format!("noise={noise}"));
    }
    Ok(episode)
}

/// Generates `count` episodes with seeds `seed..` in parallel and appends them to `dataset`
/// in seed order, each as soon as it and the ones before it are done (see `staged`).
pub fn generate(
    env: &ScenarioEnv,
    generator: Generator,
    count: usize,
    seed: u64,
    noise: f32,
    dataset: &Dataset,
    on_episode: &(dyn Fn() + Sync),
) -> Result<Vec<String>, DataError> {
    let planned = (generator == Generator::Planner).then(|| env.with_planner_expert());
    let env = planned.as_ref().unwrap_or(env);
    let expert = scripted_expert(env, dataset)?;
    let what = format!("the {generator:?} driver");
    record_in_order(count, dataset, on_episode, &what, &|| env.fork(), &|env, k| {
        record_episode(env, &expert, generator, seed + k as u64, noise)
    })
}

/// Records `count` episodes (seeds `seed..`) of the policies `make_policy` builds, every state
/// labelled by the scripted expert, into `dataset` in seed order: a learned policy's own
/// episodes, to replay, inspect or export like demonstrations. `device` names the driver.
pub fn record_policy(
    env: &ScenarioEnv,
    make_policy: &(dyn Fn() -> Box<dyn Policy> + Sync),
    device: &str,
    count: usize,
    seed: u64,
    dataset: &Dataset,
    on_episode: &(dyn Fn() + Sync),
) -> Result<Vec<String>, DataError> {
    let expert = scripted_expert(env, dataset)?;
    let start = || (env.fork(), make_policy());
    record_in_order(count, dataset, on_episode, device, &start, &|(env, policy), k| {
        let seed = seed + k as u64;
        policy.reset(seed);
        record_labeled(env, &expert, seed, device, &mut |env, obs, _| (policy.act(env, obs), Source::Policy))
    })
}

/// The scenario's scripted expert, who labels recorded states.
fn scripted_expert(env: &ScenarioEnv, dataset: &Dataset) -> Result<ExpertSpec, DataError> {
    env.scenario().expert.clone().ok_or_else(|| DataError::Invalid {
        path: dataset.dir.clone(),
        what: format!("scenario `{}` names no scripted expert (try --expert planner)", env.scenario().name),
    })
}

/// Records episodes 0..`count` in parallel, each from a per-thread state `start` builds, and
/// appends them to `dataset` in order; `driver` names who drove in errors.
fn record_in_order<S>(
    count: usize,
    dataset: &Dataset,
    on_episode: &(dyn Fn() + Sync),
    driver: &str,
    start: &(dyn Fn() -> S + Sync),
    record: &(dyn Fn(&mut S, usize) -> Result<Episode, DriveError> + Sync),
) -> Result<Vec<String>, DataError> {
    let writer = OrderedWriter::new(dataset)?;
    // Indices are handed out in order (par_bridge), so episodes mostly finish in their turn.
    let done = (0..count).par_bridge().try_for_each_init(start, |state, k| {
        let episode = record(state, k)
            .map_err(|e| DataError::Invalid { path: dataset.dir.clone(), what: format!("{driver}: {e}") })?;
        writer.put(k, episode)?;
        on_episode();
        Ok::<(), DataError>(())
    });
    let ids = writer.finish()?;
    done.map(|()| ids)
}

/// Where a replay first disagreed with the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    pub episode: String,
    pub step: usize,
    pub recorded: Vec<f32>,
    pub replayed: Vec<f32>,
}

/// Re-simulates an episode from its initial state with its recorded actions and checks
/// every observation bit for bit.
pub fn replay(env: &mut ScenarioEnv, file: &EpisodeFile) -> Result<Option<Divergence>, DataError> {
    let e = &file.episode;
    let invalid = |what: String| DataError::Invalid { path: file.path.clone(), what };
    let mut obs = env.restore_state(&e.initial).map_err(|err| invalid(err.to_string()))?;
    let recorded = e.steps.iter().map(|s| &s.obs).chain(std::iter::once(&e.final_obs));
    for (k, expected) in recorded.enumerate() {
        let same = obs.len() == expected.len() && obs.iter().zip(expected).all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            return Ok(Some(Divergence {
                episode: file.id.clone(),
                step: k,
                recorded: expected.clone(),
                replayed: obs,
            }));
        }
        if let Some(step) = e.steps.get(k) {
            obs = env.step(&step.action).map_err(|err| invalid(format!("step {k}: {err}")))?.obs;
        }
    }
    Ok(None)
}

/// The environment at step `t` of an episode (re-simulated from its start), and the steps
/// before it: the app continues recording from there to fix a bad stretch.
pub fn branch(env: &mut ScenarioEnv, file: &EpisodeFile, t: usize) -> Result<(Vec<f32>, Vec<StepRecord>), DataError> {
    let e = &file.episode;
    let invalid = |what: String| DataError::Invalid { path: file.path.clone(), what };
    if t > e.len() {
        return Err(invalid(format!("episode {} has {} steps; cannot branch at step {t}", file.id, e.len())));
    }
    let mut obs = env.restore_state(&e.initial).map_err(|err| invalid(err.to_string()))?;
    for (k, step) in e.steps[..t].iter().enumerate() {
        obs = env.step(&step.action).map_err(|err| invalid(format!("step {k}: {err}")))?.obs;
    }
    Ok((obs, e.steps[..t].to_vec()))
}

/// The episode cut to steps `a..b`, starting from the re-simulated state at step `a`,
/// so it still replays exactly.
pub fn trim(env: &mut ScenarioEnv, file: &EpisodeFile, a: usize, b: usize) -> Result<Episode, DataError> {
    let e = &file.episode;
    if a >= b || b > e.len() {
        return Err(DataError::Invalid {
            path: file.path.clone(),
            what: format!("cannot keep steps {a}..{b} of episode {} ({} steps)", file.id, e.len()),
        });
    }
    branch(env, file, a)?;
    let initial = env.state();
    let final_obs = e.steps.get(b).map_or_else(|| e.final_obs.clone(), |s| s.obs.clone());
    let mut meta = e.meta.clone();
    meta.note = format!("{} [trimmed to steps {a}..{b} of {}]", meta.note, file.id).trim().to_string();
    Ok(Episode { meta, initial, steps: e.steps[a..b].to_vec(), final_obs })
}

/// A train/validation split by episode.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Split {
    pub seed: u64,
    pub train: Vec<String>,
    pub val: Vec<String>,
}

/// Shuffles episode ids with `seed` and puts a `val` fraction (at least one when there
/// are two or more episodes) in the validation set.
pub fn split(ids: &[String], val: f64, seed: u64) -> Split {
    use rand::seq::SliceRandom;
    let mut shuffled = ids.to_vec();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut n_val = (ids.len() as f64 * val).round() as usize;
    if n_val == 0 && val > 0.0 && ids.len() >= 2 {
        n_val = 1;
    }
    let mut val_ids = shuffled.split_off(ids.len() - n_val.min(ids.len()));
    shuffled.sort();
    val_ids.sort();
    Split { seed, train: shuffled, val: val_ids }
}
