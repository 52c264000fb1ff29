//! `load_demos(dir)`: a demonstration dataset as flat numpy arrays (every step of every
//! episode, in episode order), with each episode's facts and the files that did not load.

use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sim::Action;
use std::path::Path;

/// Columns of the flattened dataset, filled episode by episode.
#[derive(Default)]
struct Columns {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    /// Continuous actions, or choices as floats until the kind is known.
    actions: Vec<f64>,
    labels: Vec<f64>,
    has_label: Vec<bool>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    success: Vec<bool>,
    sources: Vec<u8>,
    episode_index: Vec<i64>,
    starts: Vec<i64>,
}

/// An action's components and whether they are choices (Discrete, MultiDiscrete).
fn components(a: &Action) -> (Vec<f64>, bool) {
    match a {
        Action::Continuous(v) => (v.iter().map(|&x| x as f64).collect(), false),
        Action::Discrete(i) => (vec![*i as f64], true),
        Action::MultiDiscrete(v) => (v.iter().map(|&x| x as f64).collect(), true),
    }
}

/// Loads every episode of the dataset at `dir` (checked against `scenario` when given).
/// Returns a dict of arrays (`observations`, `next_observations`, `actions`, `rewards`,
/// `terminated`, `truncated`, `success`, `sources`, `expert_labels` with `has_expert_label`,
/// `episode_index`, `episode_starts`), `episodes` (each one's facts), `skipped` (one message
/// per file that did not load, naming it and why) and `recovered`.
#[pyfunction]
#[pyo3(signature = (dir, scenario = None))]
pub fn load_demos<'py>(py: Python<'py>, dir: &str, scenario: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
    let env = scenario.map(super::env::load).transpose()?;
    let err = |e: data::codec::DataError| PyValueError::new_err(e.to_string());
    let (dataset, recovered) = data::dataset::Dataset::existing(Path::new(dir)).map_err(err)?;
    let loaded = dataset.load(env.as_ref()).map_err(err)?;
    let mut c = Columns::default();
    let (mut width, mut discrete, mut obs_dim) = (None, false, None);
    let episodes = PyList::empty(py);
    for (index, file) in loaded.episodes.iter().enumerate() {
        let e = &file.episode;
        let where_ = |what: String| PyValueError::new_err(format!("{}: {what}", file.path.display()));
        c.starts.push(c.rewards.len() as i64);
        for (t, s) in e.steps.iter().enumerate() {
            let (a, choice) = components(&s.action);
            let expected = *width.get_or_insert(a.len());
            let d = *obs_dim.get_or_insert(s.obs.len());
            discrete |= choice;
            if a.len() != expected || s.obs.len() != d {
                return Err(where_(format!("step {t} has {} observations and {} action components where the dataset's first episode has {d} and {expected}", s.obs.len(), a.len())));
            }
            c.obs.extend_from_slice(&s.obs);
            let next = e.steps.get(t + 1).map_or(&e.final_obs, |n| &n.obs);
            if next.len() != d {
                return Err(where_(format!("the observation after step {t} has {} values, not {d}", next.len())));
            }
            c.next_obs.extend_from_slice(next);
            c.actions.extend(a);
            match &s.expert_label {
                Some(label) => c.labels.extend(components(label).0),
                None => c.labels.extend(std::iter::repeat_n(f64::NAN, expected)),
            }
            c.has_label.push(s.expert_label.is_some());
            c.rewards.push(s.reward);
            c.terminated.push(s.terminated);
            c.truncated.push(s.truncated);
            c.success.push(s.success);
            c.sources.push(s.source.code());
            c.episode_index.push(index as i64);
        }
        let facts = PyDict::new(py);
        facts.set_item("id", &file.id)?;
        facts.set_item("scenario", &e.meta.scenario)?;
        facts.set_item("seed", e.meta.seed)?;
        facts.set_item("device", &e.meta.device)?;
        facts.set_item("tags", e.meta.tags.clone())?;
        facts.set_item("note", &e.meta.note)?;
        facts.set_item("partial", e.meta.partial)?;
        facts.set_item("length", e.len())?;
        facts.set_item("return", e.ret() as f64)?;
        facts.set_item("success", e.success())?;
        episodes.append(facts)?;
    }
    c.starts.push(c.rewards.len() as i64);
    let (n, d, k) = (c.rewards.len(), obs_dim.unwrap_or(0), width.unwrap_or(0));
    let out = PyDict::new(py);
    out.set_item("observations", c.obs.into_pyarray(py).reshape([n, d])?)?;
    out.set_item("next_observations", c.next_obs.into_pyarray(py).reshape([n, d])?)?;
    if discrete {
        // Choices as int64 (−1 where a step has no expert label).
        let ints = |v: Vec<f64>| v.into_iter().map(|x| if x.is_nan() { -1 } else { x as i64 }).collect::<Vec<i64>>();
        out.set_item("actions", ints(c.actions).into_pyarray(py).reshape([n, k])?)?;
        out.set_item("expert_labels", ints(c.labels).into_pyarray(py).reshape([n, k])?)?;
    } else {
        let floats = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        out.set_item("actions", floats(c.actions).into_pyarray(py).reshape([n, k])?)?;
        out.set_item("expert_labels", floats(c.labels).into_pyarray(py).reshape([n, k])?)?;
    }
    out.set_item("has_expert_label", c.has_label.into_pyarray(py))?;
    out.set_item("rewards", c.rewards.into_pyarray(py))?;
    out.set_item("terminated", c.terminated.into_pyarray(py))?;
    out.set_item("truncated", c.truncated.into_pyarray(py))?;
    out.set_item("success", c.success.into_pyarray(py))?;
    out.set_item("sources", c.sources.into_pyarray(py))?;
    out.set_item("source_names", vec!["human", "expert", "policy", "intervention"])?;
    out.set_item("episode_index", c.episode_index.into_pyarray(py))?;
    out.set_item("episode_starts", c.starts.into_pyarray(py))?;
    out.set_item("episodes", episodes)?;
    out.set_item("skipped", loaded.skipped.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    out.set_item("recovered", recovered)?;
    Ok(out)
}
