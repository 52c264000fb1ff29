//! LeRobot datasets (format v3.0, state-only: no videos), written and read back:
//!
//! ```text
//! DIR/meta/info.json                              codebase_version "v3.0", fps, totals, features
//! DIR/meta/stats.json                             min, max, mean, std and count per feature
//! DIR/meta/tasks.parquet                          task_index, task (the scenario's description)
//! DIR/meta/episodes/chunk-000/file-000.parquet    one row per episode: episode_index, tasks,
//!                                                 length, where its rows are, seed
//! DIR/data/chunk-000/file-000.parquet             one row per step
//! ```
//!
//! Step columns: `observation.state` (float32 × obs_dim), `action` (float32 × dim for Box,
//! int64 for Discrete, int64 × dims for MultiDiscrete), `next.reward`, `next.done`
//! (terminated), `next.truncated`, `next.success`, apprentice's `source` (0 human, 1 expert,
//! 2 policy, 3 intervention), `has_expert_label` and `expert_action`, and LeRobot's
//! `timestamp`, `frame_index`, `episode_index`, `index` and `task_index`. LeRobot keeps no
//! observation after the last step, so an import re-simulates it from the episode's seed.

use super::codec::DataError;
use super::columns::{
    Imported, action_column, bool_column, bools, clear_for_export, files_in, float_column, float_rows, floats, invalid,
    io, read_actions, read_files, write_parquet,
};
use super::dataset::EpisodeFile;
use super::episode::{Episode, EpisodeMeta, Source, StepRecord};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt8Type};
use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, ListArray, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{DataType, Field};
use serde_json::{Value, json};
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::Path;
use std::sync::Arc;

const DATA_FILE: &str = "data/chunk-000/file-000.parquet";
const EPISODES_FILE: &str = "meta/episodes/chunk-000/file-000.parquet";

/// Writes `episodes` (all of `env`'s scenario) as a LeRobot v3.0 dataset in `dir`, a new or
/// empty folder or an earlier LeRobot export, which it replaces; returns the steps.
pub fn export(episodes: &[EpisodeFile], env: &ScenarioEnv, dir: &Path) -> Result<usize, DataError> {
    clear_for_export(dir, "LeRobot", "meta/info.json", &["data", "meta"])?;
    let s = env.scenario();
    let space = env.action_space();
    let steps: Vec<(usize, usize, &StepRecord)> = episodes
        .iter()
        .enumerate()
        .flat_map(|(e, f)| f.episode.steps.iter().enumerate().map(move |(t, step)| (e, t, step)))
        .collect();
    let fail = |path: &'static str| move |e: arrow_schema::ArrowError| invalid(&dir.join(path), e.to_string());
    let data = step_batch(&steps, space, s.timestep).map_err(fail(DATA_FILE))?;
    write_parquet(&dir.join(DATA_FILE), &data)?;
    let episode_rows = episode_batch(episodes, &s.description).map_err(fail(EPISODES_FILE))?;
    write_parquet(&dir.join(EPISODES_FILE), &episode_rows)?;
    let tasks = RecordBatch::try_from_iter([
        ("task_index", Arc::new(Int64Array::from(vec![0])) as ArrayRef),
        ("task", Arc::new(StringArray::from(vec![s.description.as_str()])) as ArrayRef),
    ])
    .map_err(fail("meta/tasks.parquet"))?;
    write_parquet(&dir.join("meta/tasks.parquet"), &tasks)?;
    write_json(&dir.join("meta/info.json"), &info(env, episodes.len(), steps.len(), &data))?;
    write_json(&dir.join("meta/stats.json"), &stats(&data))?;
    Ok(steps.len())
}

fn write_json(path: &Path, value: &Value) -> Result<(), DataError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| invalid(path, e.to_string()))?;
    super::dataset::write_atomic(path, text.as_bytes())
}

/// The step table: one row per step of every episode, in order.
fn step_batch(
    steps: &[(usize, usize, &StepRecord)],
    space: &Space,
    timestep: f32,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let obs: Vec<&[f32]> = steps.iter().map(|(_, _, s)| s.obs.as_slice()).collect();
    let actions: Vec<Option<&Action>> = steps.iter().map(|(_, _, s)| Some(&s.action)).collect();
    let labels: Vec<Option<&Action>> = steps.iter().map(|(_, _, s)| s.expert_label.as_ref()).collect();
    let int = |f: &dyn Fn(usize, &(usize, usize, &StepRecord)) -> i64| {
        Arc::new(Int64Array::from(steps.iter().enumerate().map(|(i, row)| f(i, row)).collect::<Vec<_>>())) as ArrayRef
    };
    RecordBatch::try_from_iter([
        ("observation.state", floats(&obs)),
        ("action", action_column(&actions, space)),
        (
            "next.reward",
            Arc::new(Float32Array::from(steps.iter().map(|(_, _, s)| s.reward).collect::<Vec<_>>())) as ArrayRef,
        ),
        ("next.done", bools(steps.iter().map(|(_, _, s)| s.terminated))),
        ("next.truncated", bools(steps.iter().map(|(_, _, s)| s.truncated))),
        ("next.success", bools(steps.iter().map(|(_, _, s)| s.success))),
        (
            "source",
            Arc::new(UInt8Array::from(steps.iter().map(|(_, _, s)| s.source.code()).collect::<Vec<_>>())) as ArrayRef,
        ),
        ("has_expert_label", bools(labels.iter().map(Option::is_some))),
        ("expert_action", action_column(&labels, space)),
        (
            "timestamp",
            Arc::new(Float32Array::from(steps.iter().map(|(_, t, _)| *t as f32 * timestep).collect::<Vec<_>>()))
                as ArrayRef,
        ),
        ("frame_index", int(&|_, (_, t, _)| *t as i64)),
        ("episode_index", int(&|_, (e, _, _)| *e as i64)),
        ("index", int(&|i, _| i as i64)),
        ("task_index", int(&|_, _| 0)),
    ])
}

/// The episode table: where each episode's rows are, its task and its seed.
fn episode_batch(episodes: &[EpisodeFile], task: &str) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let lengths: Vec<i64> = episodes.iter().map(|f| f.episode.len() as i64).collect();
    let ends: Vec<i64> = lengths
        .iter()
        .scan(0, |end, n| {
            *end += n;
            Some(*end)
        })
        .collect();
    let starts: Vec<i64> = ends.iter().zip(&lengths).map(|(e, n)| e - n).collect();
    let n = episodes.len();
    let ints = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let task_lists = {
        let values = StringArray::from(vec![task; n]);
        let offsets = arrow_buffer::OffsetBuffer::from_lengths(vec![1; n]);
        Arc::new(ListArray::new(Arc::new(Field::new("item", DataType::Utf8, true)), offsets, Arc::new(values), None))
            as ArrayRef
    };
    RecordBatch::try_from_iter([
        ("episode_index", ints((0..n as i64).collect())),
        ("tasks", task_lists),
        ("length", ints(lengths)),
        ("data/chunk_index", ints(vec![0; n])),
        ("data/file_index", ints(vec![0; n])),
        ("dataset_from_index", ints(starts)),
        ("dataset_to_index", ints(ends)),
        ("meta/episodes/chunk_index", ints(vec![0; n])),
        ("meta/episodes/file_index", ints(vec![0; n])),
        ("seed", ints(episodes.iter().map(|f| f.episode.meta.seed as i64).collect())),
    ])
}

/// `meta/info.json`: the format version, rates, totals and each column's dtype and shape.
fn info(env: &ScenarioEnv, episodes: usize, frames: usize, data: &RecordBatch) -> Value {
    let features: serde_json::Map<String, Value> = data
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let (dtype, shape) = match f.data_type() {
                DataType::FixedSizeList(item, n) => (dtype_name(item.data_type()), *n as usize),
                other => (dtype_name(other), 1),
            };
            (f.name().clone(), json!({ "dtype": dtype, "shape": [shape], "names": null }))
        })
        .collect();
    let fps = (1.0 / env.scenario().timestep).round() as u32;
    json!({
        "codebase_version": "v3.0",
        "robot_type": format!("apprentice/{}", env.scenario().name),
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": 1,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": { "train": format!("0:{episodes}") },
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": null,
        "features": features,
    })
}

fn dtype_name(t: &DataType) -> &'static str {
    match t {
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::Boolean => "bool",
        _ => "string",
    }
}

/// `meta/stats.json`: per numeric feature, min, max, mean and std over every step, and count.
fn stats(data: &RecordBatch) -> Value {
    let mut out = serde_json::Map::new();
    for (field, column) in data.schema().fields().iter().zip(data.columns()) {
        let rows: Option<Vec<Vec<f64>>> = match column.data_type() {
            DataType::FixedSizeList(_, n) => float_rows(column, *n as usize)
                .ok()
                .map(|r| r.into_iter().map(|v| v.into_iter().map(f64::from).collect()).collect()),
            DataType::Float32 => float_column(column).ok().map(|v| v.into_iter().map(|x| vec![x as f64]).collect()),
            DataType::Int64 => {
                Some(column.as_primitive::<Int64Type>().values().iter().map(|&x| vec![x as f64]).collect())
            }
            DataType::Boolean => {
                bool_column(column).ok().map(|v| v.into_iter().map(|b| vec![b as u8 as f64]).collect())
            }
            _ => None,
        };
        let Some(rows) = rows.filter(|r| !r.is_empty()) else { continue };
        let dim = rows[0].len();
        let n = rows.len() as f64;
        let per = |f: &dyn Fn(&mut dyn Iterator<Item = f64>) -> f64| -> Vec<f64> {
            (0..dim).map(|d| f(&mut rows.iter().map(|r| r[d]))).collect()
        };
        let mean = per(&|it| it.sum::<f64>() / n);
        let std: Vec<f64> =
            (0..dim).map(|d| (rows.iter().map(|r| (r[d] - mean[d]).powi(2)).sum::<f64>() / n).sqrt()).collect();
        out.insert(
            field.name().clone(),
            json!({
                "min": per(&|it| it.fold(f64::INFINITY, f64::min)),
                "max": per(&|it| it.fold(f64::NEG_INFINITY, f64::max)),
                "mean": mean,
                "std": std,
                "count": [rows.len()],
            }),
        );
    }
    Value::Object(out)
}

/// Reads a LeRobot v3 dataset written by `export` (or any state-only v3 dataset whose
/// `observation.state` and `action` fit `env`'s scenario) into episodes. Each starts from
/// `env.reset(seed)`; an episode without a seed starts from seed 0 and is noted as not
/// replayable, its final observation then repeating its last.
pub fn import(dir: &Path, env: &mut ScenarioEnv) -> Result<Imported, DataError> {
    let info_path = dir.join("meta/info.json");
    if !info_path.is_file() {
        return Err(invalid(dir, "not a LeRobot dataset (no meta/info.json)"));
    }
    let text = std::fs::read_to_string(&info_path).map_err(io(&info_path))?;
    let info: Value = serde_json::from_str(&text).map_err(|e| invalid(&info_path, e.to_string()))?;
    let version = info["codebase_version"].as_str().unwrap_or("");
    if !version.starts_with("v3") {
        return Err(invalid(&info_path, format!("LeRobot format `{version}`: only v3 datasets are read here")));
    }
    let data = read_files(&files_in(&dir.join("data"), "parquet", true)?, false)?;
    let data_path = dir.join("data");
    let bad = |what: String| invalid(&data_path, what);
    let column = |name: &str| data.column_by_name(name).ok_or_else(|| bad(format!("no column `{name}`")));
    let obs = float_rows(column("observation.state")?, env.observation_space().dim())
        .map_err(|e| bad(format!("observation.state: {e}")))?;
    let space = env.action_space().clone();
    let actions = read_actions(column("action")?, &space).map_err(|e| bad(format!("action: {e}")))?;
    let rewards = float_column(column("next.reward")?).map_err(|e| bad(format!("next.reward: {e}")))?;
    let episode_index: Vec<i64> = column("episode_index")?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("episode_index is not int64".into()))?
        .values()
        .to_vec();
    let optional_bools = |name: &str| data.column_by_name(name).and_then(|c| bool_column(c).ok());
    let done = optional_bools("next.done").unwrap_or_else(|| vec![false; obs.len()]);
    let truncated = optional_bools("next.truncated");
    let success = optional_bools("next.success");
    let has_label = optional_bools("has_expert_label");
    let sources: Option<Vec<u8>> =
        data.column_by_name("source").and_then(|c| c.as_primitive_opt::<UInt8Type>().map(|p| p.values().to_vec()));
    let labels = match data.column_by_name("expert_action") {
        Some(c) => Some(read_actions(c, &space).map_err(|e| bad(format!("expert_action: {e}")))?),
        None => None,
    };
    let seeds = episode_seeds(dir)?;
    let (mut episodes, mut skipped) = (Vec::new(), Vec::new());
    let mut begin = 0;
    while begin < obs.len() {
        let index = episode_index[begin];
        let end = (begin..obs.len()).find(|&k| episode_index[k] != index).unwrap_or(obs.len());
        let steps: Result<Vec<StepRecord>, DataError> = (begin..end)
            .map(|k| {
                space.check(&actions[k]).map_err(|e| bad(format!("row {k}: {e}")))?;
                let labelled = has_label.as_ref().is_some_and(|h| h[k]);
                Ok(StepRecord {
                    obs: obs[k].clone(),
                    action: actions[k].clone(),
                    reward: rewards[k],
                    terminated: done[k],
                    truncated: truncated.as_ref().is_some_and(|t| t[k]),
                    success: success.as_ref().is_some_and(|s| s[k]),
                    source: sources.as_ref().and_then(|s| Source::from_code(s[k])).unwrap_or(Source::Human),
                    expert_label: if labelled { labels.as_ref().map(|l| l[k].clone()) } else { None },
                    time: 0.0,
                })
            })
            .collect();
        match steps.and_then(|steps| rebuild(steps, seeds.get(&index).copied(), env, dir)) {
            Ok(episode) => episodes.push(episode),
            Err(e) => skipped.push(e),
        }
        begin = end;
    }
    Ok(Imported { episodes, skipped })
}

/// Each episode's seed from the episode table (none when it has no `seed` column).
fn episode_seeds(dir: &Path) -> Result<std::collections::HashMap<i64, u64>, DataError> {
    let meta = dir.join("meta/episodes");
    if !meta.is_dir() {
        return Ok(Default::default());
    }
    let table = read_files(&files_in(&meta, "parquet", true)?, false)?;
    let (Some(index), Some(seed)) = (table.column_by_name("episode_index"), table.column_by_name("seed")) else {
        return Ok(Default::default());
    };
    let (Some(index), Some(seed)) = (index.as_primitive_opt::<Int64Type>(), seed.as_primitive_opt::<Int64Type>())
    else {
        return Err(invalid(&meta, "episode_index and seed must be int64"));
    };
    Ok(index.values().iter().zip(seed.values()).map(|(&i, &s)| (i, s as u64)).collect())
}

/// An episode from its steps: its start re-created from the seed, its end re-simulated.
fn rebuild(steps: Vec<StepRecord>, seed: Option<u64>, env: &mut ScenarioEnv, dir: &Path) -> Result<Episode, DataError> {
    env.reset(seed.unwrap_or(0));
    let initial = env.state();
    let mut final_obs = steps.last().map(|s| s.obs.clone()).unwrap_or_default();
    if seed.is_some() {
        for s in &steps {
            final_obs = env.step(&s.action).map_err(|e| invalid(dir, e.to_string()))?.obs;
        }
    }
    let meta = EpisodeMeta::imported(env.scenario(), seed, &format!("LeRobot {}", dir.display()));
    Ok(Episode { meta, initial, steps, final_obs })
}
