//! `apprentice._core`: the sim and data layers for Python. The package in
//! `python/apprentice` wraps these in Gymnasium's classes.

mod demos;
mod env;
mod render;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sim::{Env as _, ScenarioEnv, builtin};
use std::path::PathBuf;

/// The Rust side's allocations (worlds, observations, arrays handed to numpy) go to mimalloc,
/// as in the CLI: glibc's allocator spent about 10% of a `make_vec` step in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The built-in scenarios and, with `dir`, the `.ron` files in it: a list of dicts (name,
/// description, path, observation and action spaces) and the files that did not load,
/// each message naming the file, line and column.
#[pyfunction]
#[pyo3(signature = (dir = None))]
fn scenarios<'py>(py: Python<'py>, dir: Option<PathBuf>) -> PyResult<(Vec<Bound<'py, PyDict>>, Vec<String>)> {
    let mut found: Vec<(ScenarioEnv, String)> = Vec::new();
    for (name, _) in builtin::BUILTINS {
        found.push((env::load(name)?, builtin::builtin_path(name).display().to_string()));
    }
    let mut skipped = Vec::new();
    if let Some(dir) = dir {
        let files = builtin::scenario_files(&dir)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", dir.display())))?;
        for file in files {
            match ScenarioEnv::from_file(&file) {
                Ok(env) => found.push((env, file.display().to_string())),
                Err(e) => skipped.push(e.to_string()),
            }
        }
    }
    let rows = found
        .iter()
        .map(|(e, path)| {
            let d = PyDict::new(py);
            d.set_item("name", &e.scenario().name)?;
            d.set_item("description", &e.scenario().description)?;
            d.set_item("path", path)?;
            d.set_item("observation_space", env::space_dict(py, e.observation_space())?)?;
            d.set_item("action_space", env::space_dict(py, e.action_space())?)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((rows, skipped))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<env::Env>()?;
    m.add_class::<env::VecEnv>()?;
    m.add_function(wrap_pyfunction!(scenarios, m)?)?;
    m.add_function(wrap_pyfunction!(demos::load_demos, m)?)?;
    Ok(())
}
