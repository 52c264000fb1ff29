//! The scenario environments for Python: `Env` (one `ScenarioEnv`) and `VecEnv` (the
//! parallel `sim::VecEnv`, batched numpy in and out). The Gymnasium classes in
//! `python/apprentice/envs.py` wrap them.

use numpy::ndarray::Ix2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use sim::{Action, Env as _, ScenarioEnv, Space};

/// Loads a built-in scenario by name or a `.ron` file by path; a bad file's error names
/// its line and column.
pub fn load(name_or_path: &str) -> PyResult<ScenarioEnv> {
    ScenarioEnv::load(name_or_path).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A space as a dict: `{"kind": "box", "low": [...], "high": [...]}`, `{"kind":
/// "discrete", "n": N}` or `{"kind": "multi_discrete", "nvec": [...]}`.
pub fn space_dict<'py>(py: Python<'py>, space: &Space) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match space {
        Space::Box { low, high } => {
            d.set_item("kind", "box")?;
            d.set_item("low", low.clone())?;
            d.set_item("high", high.clone())?;
        }
        Space::Discrete { n } => {
            d.set_item("kind", "discrete")?;
            d.set_item("n", n)?;
        }
        Space::MultiDiscrete { nvec } => {
            d.set_item("kind", "multi_discrete")?;
            d.set_item("nvec", nvec.clone())?;
        }
    }
    Ok(d)
}

/// The scenario's facts: name, description, timestep (s), step limit, content hash.
fn scenario_dict<'py>(py: Python<'py>, env: &ScenarioEnv) -> PyResult<Bound<'py, PyDict>> {
    let s = env.scenario();
    let d = PyDict::new(py);
    d.set_item("name", &s.name)?;
    d.set_item("description", &s.description)?;
    d.set_item("timestep", s.timestep)?;
    d.set_item("max_steps", s.max_steps)?;
    d.set_item("source_hash", &s.source_hash)?;
    Ok(d)
}

/// One action from Python: an array or sequence of floats (Box), an int (Discrete), a
/// sequence of ints (MultiDiscrete).
fn action(space: &Space, a: &Bound<'_, PyAny>) -> PyResult<Action> {
    let action = match space {
        Space::Box { .. } => Action::Continuous(match a.extract::<PyReadonlyArray1<f32>>() {
            Ok(array) => array.as_slice().map_or_else(|_| array.as_array().to_vec(), <[f32]>::to_vec),
            Err(_) => a.extract::<Vec<f32>>().or_else(|_| a.extract::<f32>().map(|x| vec![x]))?,
        }),
        Space::Discrete { .. } => Action::Discrete(a.extract::<usize>()?),
        Space::MultiDiscrete { .. } => Action::MultiDiscrete(a.extract::<Vec<usize>>()?),
    };
    space.check(&action).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(action)
}

/// One scenario environment: `reset(seed)` and `step(action)` with Gymnasium's meaning.
#[pyclass(module = "apprentice._core")]
pub struct Env {
    env: ScenarioEnv,
}

#[pymethods]
impl Env {
    #[new]
    fn new(name_or_path: &str) -> PyResult<Env> {
        Ok(Env { env: load(name_or_path)? })
    }

    #[getter]
    fn observation_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.env.observation_space())
    }

    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.env.action_space())
    }

    #[getter]
    fn scenario<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        scenario_dict(py, &self.env)
    }

    /// Starts an episode: the same seed always gives the same initial state.
    fn reset<'py>(&mut self, py: Python<'py>, seed: u64) -> Bound<'py, PyArray1<f32>> {
        self.env.reset(seed).into_pyarray(py)
    }

    /// `(obs, reward, terminated, truncated, {"success": bool})`.
    fn step<'py>(&mut self, py: Python<'py>, action: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let a = self::action(self.env.action_space(), action)?;
        let step = self.env.step(&a).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let info = PyDict::new(py);
        info.set_item("success", step.success)?;
        (step.obs.into_pyarray(py), step.reward as f64, step.terminated, step.truncated, info).into_pyobject(py)
    }

    /// The current state as `height × width × 3` RGB bytes, `width` pixels wide.
    #[pyo3(signature = (width = 600))]
    fn render<'py>(&self, py: Python<'py>, width: u32) -> PyResult<Bound<'py, numpy::PyArray3<u8>>> {
        let (bytes, w, h) = super::render::rgb(&self.env.frame(), width);
        bytes.into_pyarray(py).reshape([h as usize, w as usize, 3])
    }
}

/// `n` copies of a scenario stepped in parallel; an ended episode restarts in the same
/// step (its last observation is returned apart), episode `k` of copy `i` from seed
/// `seed + k·n + i`.
#[pyclass(module = "apprentice._core")]
pub struct VecEnv {
    env: ScenarioEnv,
    envs: sim::VecEnv,
    dim: usize,
}

/// What `VecEnv.step` returns: Gymnasium's obs, rewards, terminated, truncated and infos.
type Batch<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyDict>,
);

#[pymethods]
impl VecEnv {
    #[new]
    #[pyo3(signature = (name_or_path, n, seed = 0))]
    fn new(name_or_path: &str, n: usize, seed: u64) -> PyResult<VecEnv> {
        if n == 0 {
            return Err(PyValueError::new_err("a VecEnv needs at least one environment"));
        }
        let env = load(name_or_path)?;
        let dim = env.observation_space().dim();
        Ok(VecEnv { envs: sim::VecEnv::new(env.clone(), n, seed), env, dim })
    }

    fn __len__(&self) -> usize {
        self.envs.len()
    }

    #[getter]
    fn observation_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.env.observation_space())
    }

    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        space_dict(py, self.env.action_space())
    }

    #[getter]
    fn scenario<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        scenario_dict(py, &self.env)
    }

    /// Starts every copy's first episode (`n × obs_dim`); a seed restarts the seed sequence.
    #[pyo3(signature = (seed = None))]
    fn reset<'py>(&mut self, py: Python<'py>, seed: Option<u64>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        if let Some(seed) = seed {
            self.envs = sim::VecEnv::new(self.env.clone(), self.envs.len(), seed);
        }
        let rows = self.envs.reset().concat();
        rows.into_pyarray(py).reshape([self.envs.len(), self.dim])
    }

    /// Steps copy `i` with row `i` of `actions` (`n × action_dim` floats for Box actions,
    /// `n` ints for Discrete, `n × dims` ints for MultiDiscrete). Returns Gymnasium's
    /// same-step autoreset batch: obs (the next episode's first where one ended), rewards,
    /// terminated, truncated and infos: `success` (the scenario's success condition held
    /// at this step) and, when an episode ended, `final_obs` (an object array: the ended
    /// episodes' last observations, None elsewhere) and `final_info` (their `success`). Built
    /// here rather than in the Python wrapper: numpy's object arrays cost more from Python.
    fn step<'py>(&mut self, py: Python<'py>, actions: &Bound<'py, PyAny>) -> PyResult<Batch<'py>> {
        let actions = self.actions(actions)?;
        let (n, d) = (self.envs.len(), self.dim);
        let mut obs = Vec::with_capacity(n * d);
        let (mut rewards, mut terminated, mut truncated, mut success) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut ended: Vec<(usize, Vec<f32>)> = Vec::new();
        let envs = &mut self.envs;
        py.detach(|| -> Result<(), sim::space::ActionMismatch> {
            let steps = envs.step(&actions)?;
            for (i, s) in steps.iter().enumerate() {
                obs.extend_from_slice(&s.obs);
                rewards.push(s.reward as f64);
                terminated.push(s.terminated);
                truncated.push(s.truncated);
                success.push(s.success);
                if let Some(last) = &s.final_obs {
                    ended.push((i, last.clone()));
                }
            }
            Ok(())
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let infos = infos(py, success, ended)?;
        Ok((
            obs.into_pyarray(py).reshape([n, d])?,
            rewards.into_pyarray(py),
            terminated.into_pyarray(py),
            truncated.into_pyarray(py),
            infos,
        ))
    }
}

impl VecEnv {
    /// One action per copy from a batched array.
    fn actions(&self, actions: &Bound<'_, PyAny>) -> PyResult<Vec<Action>> {
        let n = self.envs.len();
        let wrong = |what: String| PyValueError::new_err(format!("actions: expected {what} for {n} environments"));
        let out: Vec<Action> = match self.env.action_space() {
            Space::Box { low, .. } => {
                let expected = || format!("a float32 array of shape ({n}, {})", low.len());
                let a: PyReadonlyArrayDyn<f32> = actions.extract().map_err(|_| wrong(expected()))?;
                let a = a.as_array();
                let a = a.into_dimensionality::<Ix2>().ok().filter(|a| a.shape() == [n, low.len()]);
                let a = a.ok_or_else(|| wrong(format!("{}, got {:?}", expected(), actions_shape(actions))))?;
                a.rows().into_iter().map(|r| Action::Continuous(r.to_vec())).collect()
            }
            Space::Discrete { .. } => {
                let expected = || format!("{n} non-negative int64 choices, shape ({n},)");
                let a: PyReadonlyArrayDyn<i64> = actions.extract().map_err(|_| wrong(expected()))?;
                let a = a.as_array();
                if a.shape() != [n] || a.iter().any(|&x| x < 0) {
                    return Err(wrong(format!("{}, got {:?}", expected(), a.shape())));
                }
                a.iter().map(|&x| Action::Discrete(x as usize)).collect()
            }
            Space::MultiDiscrete { nvec } => {
                let expected = || format!("non-negative int64 choices of shape ({n}, {})", nvec.len());
                let a: PyReadonlyArrayDyn<i64> = actions.extract().map_err(|_| wrong(expected()))?;
                let a = a.as_array();
                let a = a.into_dimensionality::<Ix2>().ok().filter(|a| a.shape() == [n, nvec.len()]);
                let a = a.filter(|a| a.iter().all(|&x| x >= 0));
                let a = a.ok_or_else(|| wrong(format!("{}, got {:?}", expected(), actions_shape(actions))))?;
                a.rows().into_iter().map(|r| Action::MultiDiscrete(r.iter().map(|&x| x as usize).collect())).collect()
            }
        };
        Ok(out)
    }
}

/// A vectorized step's infos, keyed as Gymnasium's `SyncVectorEnv` keys a same-step
/// autoreset: `success` per copy and, for the copies whose episode `ended` (with its last
/// observation), `final_obs` and `final_info`, each beside its `_key` mask.
fn infos<'py>(py: Python<'py>, success: Vec<bool>, ended: Vec<(usize, Vec<f32>)>) -> PyResult<Bound<'py, PyDict>> {
    let n = success.len();
    let infos = PyDict::new(py);
    if !ended.is_empty() {
        let mut final_obs: Vec<Py<PyAny>> = (0..n).map(|_| py.None()).collect();
        let (mut mask, mut final_success) = (vec![false; n], vec![false; n]);
        for (i, last) in ended {
            final_obs[i] = last.into_pyarray(py).into_any().unbind();
            (mask[i], final_success[i]) = (true, success[i]);
        }
        let final_info = PyDict::new(py);
        final_info.set_item("success", final_success.into_pyarray(py))?;
        final_info.set_item("_success", mask.clone().into_pyarray(py))?;
        infos.set_item("final_obs", final_obs.into_pyarray(py))?;
        infos.set_item("_final_obs", mask.clone().into_pyarray(py))?;
        infos.set_item("final_info", final_info)?;
        infos.set_item("_final_info", mask.into_pyarray(py))?;
    }
    infos.set_item("success", success.into_pyarray(py))?;
    infos.set_item("_success", vec![true; n].into_pyarray(py))?;
    Ok(infos)
}

/// The shape of a numpy array, for error messages (empty for anything else).
fn actions_shape(actions: &Bound<'_, PyAny>) -> Vec<usize> {
    actions.getattr("shape").and_then(|s| s.extract()).unwrap_or_default()
}
