//! NumPy export and import (`.npz`), so Python users can use the data:
//!
//! | array | dtype | shape |
//! |---|---|---|
//! | `observations` | float32 | (N, obs_dim) |
//! | `actions` | float32 (Box) or int64 (Discrete, MultiDiscrete) | (N, act_dim) or (N,) for Discrete |
//! | `expert_actions` | as `actions` (the executed action where no label exists) | as `actions` |
//! | `rewards` | float32 | (N,) |
//! | `terminals`, `truncations`, `successes`, `episode_starts` | bool | (N,) |
//! | `sources` | uint8: 0 human, 1 expert, 2 policy, 3 intervention | (N,) |
//! | `episode_seeds` | uint64 | (episodes,) |

use super::codec::DataError;
use super::dataset::EpisodeFile;
use super::episode::{Episode, EpisodeMeta, Source, StepRecord};
use npyz::WriterBuilder;
use npyz::npz::{NpzArchive, NpzWriter};
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::Path;

fn npz_error(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| DataError::Invalid { path: path.to_owned(), what: e.to_string() }
}

fn write<T: npyz::AutoSerialize>(
    npz: &mut NpzWriter<std::io::BufWriter<std::fs::File>>,
    name: &str,
    shape: &[u64],
    data: impl IntoIterator<Item = T>,
) -> std::io::Result<()> {
    let mut w = npz.array::<T>(name, Default::default())?.default_dtype().shape(shape).begin_nd()?;
    w.extend(data)?;
    w.finish()
}

/// Action as f32 components (Box) or i64 choices (Discrete, MultiDiscrete).
fn action_parts(a: &Action) -> (Vec<f32>, Vec<i64>) {
    match a {
        Action::Continuous(v) => (v.clone(), Vec::new()),
        Action::Discrete(c) => (Vec::new(), vec![*c as i64]),
        Action::MultiDiscrete(v) => (Vec::new(), v.iter().map(|&c| c as i64).collect()),
    }
}

/// Writes the episodes of one scenario (action space `space`) as an `.npz` file.
pub fn export(episodes: &[EpisodeFile], space: &Space, path: &Path) -> Result<usize, DataError> {
    let steps: Vec<&StepRecord> = episodes.iter().flat_map(|e| &e.episode.steps).collect();
    let n = steps.len() as u64;
    let obs_dim = steps.first().map_or(0, |s| s.obs.len()) as u64;
    let err = npz_error(path);
    let mut npz = NpzWriter::create(path).map_err(&err)?;
    write(&mut npz, "observations", &[n, obs_dim], steps.iter().flat_map(|s| s.obs.iter().copied())).map_err(&err)?;
    let labels: Vec<&Action> = steps.iter().map(|s| s.expert_label.as_ref().unwrap_or(&s.action)).collect();
    for (name, actions) in
        [("actions", steps.iter().map(|s| &s.action).collect::<Vec<_>>()), ("expert_actions", labels)]
    {
        let parts: Vec<(Vec<f32>, Vec<i64>)> = actions.iter().map(|a| action_parts(a)).collect();
        match space {
            Space::Box { low, .. } => {
                write(&mut npz, name, &[n, low.len() as u64], parts.into_iter().flat_map(|p| p.0))
            }
            Space::Discrete { .. } => write(&mut npz, name, &[n], parts.into_iter().flat_map(|p| p.1)),
            Space::MultiDiscrete { nvec } => {
                write(&mut npz, name, &[n, nvec.len() as u64], parts.into_iter().flat_map(|p| p.1))
            }
        }
        .map_err(&err)?;
    }
    write(&mut npz, "rewards", &[n], steps.iter().map(|s| s.reward)).map_err(&err)?;
    write(&mut npz, "terminals", &[n], steps.iter().map(|s| s.terminated)).map_err(&err)?;
    write(&mut npz, "truncations", &[n], steps.iter().map(|s| s.truncated)).map_err(&err)?;
    write(&mut npz, "successes", &[n], steps.iter().map(|s| s.success)).map_err(&err)?;
    let starts = episodes.iter().flat_map(|e| (0..e.episode.len()).map(|k| k == 0));
    write(&mut npz, "episode_starts", &[n], starts).map_err(&err)?;
    write(&mut npz, "sources", &[n], steps.iter().map(|s| s.source.code())).map_err(&err)?;
    write(&mut npz, "episode_seeds", &[episodes.len() as u64], episodes.iter().map(|e| e.episode.meta.seed))
        .map_err(&err)?;
    Ok(steps.len())
}

/// An array's shape and its elements in order.
type Array<T> = (Vec<u64>, Vec<T>);

/// An array of the archive, `None` when absent, or an error naming it.
fn read<T: npyz::Deserialize>(
    npz: &mut NpzArchive<std::io::BufReader<std::fs::File>>,
    name: &str,
    path: &Path,
) -> Result<Option<Array<T>>, DataError> {
    let err = npz_error(path);
    let Some(array) = npz.by_name(name).map_err(&err)? else { return Ok(None) };
    let shape = array.shape().to_vec();
    let data = array
        .into_vec::<T>()
        .map_err(|e| DataError::Invalid { path: path.to_owned(), what: format!("array `{name}`: {e}") })?;
    Ok(Some((shape, data)))
}

/// Reads an `.npz` written by `export` (or by hand with the same arrays) into episodes of
/// `env`'s scenario. Each episode starts from `env.reset(seed)`; without `episode_seeds`,
/// seed 0 is used and the episode is noted as not replayable.
pub fn import(path: &Path, env: &mut ScenarioEnv) -> Result<Vec<Episode>, DataError> {
    let invalid = |what: String| DataError::Invalid { path: path.to_owned(), what };
    let mut npz = NpzArchive::open(path).map_err(npz_error(path))?;
    let required = |name: &str| invalid(format!("missing array `{name}`"));
    let (obs_shape, obs) = read::<f32>(&mut npz, "observations", path)?.ok_or_else(|| required("observations"))?;
    let (_, rewards) = read::<f32>(&mut npz, "rewards", path)?.ok_or_else(|| required("rewards"))?;
    let (_, terminals) = read::<bool>(&mut npz, "terminals", path)?.ok_or_else(|| required("terminals"))?;
    let (_, starts) = read::<bool>(&mut npz, "episode_starts", path)?.ok_or_else(|| required("episode_starts"))?;
    let truncations = read::<bool>(&mut npz, "truncations", path)?.map(|a| a.1);
    let successes = read::<bool>(&mut npz, "successes", path)?.map(|a| a.1);
    let sources = read::<u8>(&mut npz, "sources", path)?.map(|a| a.1);
    let seeds = read::<u64>(&mut npz, "episode_seeds", path)?.map(|a| a.1);
    let space = env.action_space().clone();
    let actions: Vec<Action> = match &space {
        Space::Box { low, .. } => {
            let (_, a) = read::<f32>(&mut npz, "actions", path)?.ok_or_else(|| required("actions"))?;
            a.chunks(low.len().max(1)).map(|c| Action::Continuous(c.to_vec())).collect()
        }
        Space::Discrete { .. } => {
            let (_, a) = read::<i64>(&mut npz, "actions", path)?.ok_or_else(|| required("actions"))?;
            a.iter().map(|&c| Action::Discrete(c.max(0) as usize)).collect()
        }
        Space::MultiDiscrete { nvec } => {
            let (_, a) = read::<i64>(&mut npz, "actions", path)?.ok_or_else(|| required("actions"))?;
            a.chunks(nvec.len())
                .map(|c| Action::MultiDiscrete(c.iter().map(|&x| x.max(0) as usize).collect()))
                .collect()
        }
    };
    let n = rewards.len();
    let obs_dim = env.observation_space().dim();
    if obs_shape.len() != 2 || obs_shape[1] as usize != obs_dim || obs_shape[0] as usize != n {
        return Err(invalid(format!(
            "observations have shape {obs_shape:?}; scenario `{}` needs ({n}, {obs_dim})",
            env.scenario().name
        )));
    }
    for (name, len) in [("actions", actions.len()), ("terminals", terminals.len()), ("episode_starts", starts.len())] {
        if len != n {
            return Err(invalid(format!("`{name}` has {len} rows, `rewards` has {n}")));
        }
    }
    let mut episodes = Vec::new();
    let mut begin = 0;
    while begin < n {
        let end = (begin + 1..n).find(|&k| starts[k]).unwrap_or(n);
        let index = episodes.len();
        let seed = seeds.as_ref().and_then(|s| s.get(index).copied());
        env.reset(seed.unwrap_or(0));
        let initial = env.state();
        let mut steps = Vec::with_capacity(end - begin);
        for k in begin..end {
            env.action_space().check(&actions[k]).map_err(|e| invalid(format!("row {k}: {e}")))?;
            steps.push(StepRecord {
                obs: obs[k * obs_dim..(k + 1) * obs_dim].to_vec(),
                action: actions[k].clone(),
                reward: rewards[k],
                terminated: terminals[k],
                truncated: truncations.as_ref().is_some_and(|t| t[k]),
                success: successes.as_ref().is_some_and(|t| t[k]),
                source: sources.as_ref().and_then(|s| Source::from_code(s[k])).unwrap_or(Source::Human),
                expert_label: None,
                time: 0.0,
            });
        }
        // The final observation is the simulator's, after the last recorded action.
        let mut final_obs = steps.last().map(|s| s.obs.clone()).unwrap_or_default();
        for s in &steps {
            final_obs = env.step(&s.action).map_err(|e| invalid(e.to_string()))?.obs;
        }
        let meta = EpisodeMeta::imported(env.scenario(), seed, &path.display().to_string());
        episodes.push(Episode { meta, initial, steps, final_obs });
        begin = end;
    }
    Ok(episodes)
}
