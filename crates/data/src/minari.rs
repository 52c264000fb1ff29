//! Minari datasets (Farama's format for offline RL) in Minari's `parquet` storage, written
//! and read back:
//!
//! ```text
//! DIR/data/metadata.json          dataset_id, minari_version, data_format "parquet", spaces
//!                                 (Minari's JSON), env_spec (apprentice's Gymnasium id), totals
//! DIR/data/<i>/part-0.parquet     episode i: T + 1 rows (the last row pads the step columns)
//! DIR/data/<i>/metadata.json      id, total_steps, seed
//! ```
//!
//! Columns: `observations` (fixed-size list of float32), `actions` (int64 for Discrete, a
//! fixed-size list of float32 for Box or of int64 for MultiDiscrete), `rewards` (float64),
//! `terminations`, `truncations` (bool), and `infos`, a struct of what Minari has no column
//! for: `success`, `source` (0 human, 1 expert, 2 policy, 3 intervention), `has_expert_label`
//! and `expert_action`. As in Minari, infos row t + 1 belongs to step t (row 0 is the reset's).
//! Minari's `arrow` storage reads too; its default, HDF5, does not (it needs the HDF5 C
//! library): re-save such a dataset with `data_format="parquet"`.

use super::codec::DataError;
use super::columns::{
    Imported, action_column, bool_column, bools, clear_for_export, files_in, float_column, float_rows, floats, invalid,
    io, read_actions, read_files, write_parquet,
};
use super::dataset::EpisodeFile;
use super::episode::{Episode, EpisodeMeta, Source, StepRecord};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt8Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StructArray, UInt8Array};
use arrow_schema::{DataType, Field, Fields};
use serde_json::json;
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::Path;
use std::sync::Arc;

/// The Minari release whose dataset layout this writes.
const MINARI_VERSION: &str = "0.5.4";

/// Writes `episodes` (all of `env`'s scenario) as a Minari dataset in `dir`, a new or empty
/// folder or an earlier Minari export, which it replaces; returns the steps.
pub fn export(episodes: &[EpisodeFile], env: &ScenarioEnv, dir: &Path) -> Result<usize, DataError> {
    clear_for_export(dir, "Minari", "data/metadata.json", &["data"])?;
    let data = dir.join("data");
    let space = env.action_space();
    let mut steps = 0;
    for (i, file) in episodes.iter().enumerate() {
        let episode = &file.episode;
        let folder = data.join(i.to_string());
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let batch = episode_batch(episode, space).map_err(|e| invalid(&folder, e.to_string()))?;
        write_parquet(&folder.join("part-0.parquet"), &batch)?;
        let meta = json!({ "id": i, "total_steps": episode.len(), "seed": episode.meta.seed });
        write_json(&folder.join("metadata.json"), &meta.to_string())?;
        steps += episode.len();
    }
    let s = env.scenario();
    let spec = json!({
        "id": format!("apprentice/{}", s.name), "entry_point": "apprentice.envs:ApprenticeEnv",
        "reward_threshold": null, "nondeterministic": false, "max_episode_steps": null,
        "order_enforce": true, "disable_env_checker": false, "kwargs": { "name_or_path": s.name },
        "additional_wrappers": [], "vector_entry_point": null,
    });
    // Spaces go in as Minari's JSON strings, written by hand: Python's json spells unbounded
    // limits `Infinity`, which serde_json does not write.
    let metadata = format!(
        "{{\"dataset_id\": {}, \"minari_version\": \"{MINARI_VERSION}\", \"data_format\": \"parquet\", \
         \"jpeg_encoding\": false, \"observation_space\": {}, \"action_space\": {}, \"env_spec\": {}, \
         \"total_episodes\": {}, \"total_steps\": {steps}, \"algorithm_name\": \"apprentice\", \
         \"author\": [], \"author_email\": []}}",
        json!(format!("apprentice/{}-v0", s.name)),
        json!(box_json(
            &vec![f32::NEG_INFINITY; env.observation_space().dim()],
            &vec![f32::INFINITY; env.observation_space().dim()]
        )),
        json!(space_json(space)),
        json!(spec.to_string()),
        episodes.len(),
    );
    write_json(&data.join("metadata.json"), &metadata)?;
    Ok(steps)
}

/// Minari's JSON for a Box of float32.
fn box_json(low: &[f32], high: &[f32]) -> String {
    let list = |v: &[f32]| {
        let items: Vec<String> = v
            .iter()
            .map(|x| match *x {
                x if x == f32::INFINITY => "Infinity".into(),
                x if x == f32::NEG_INFINITY => "-Infinity".into(),
                x => format!("{}", x as f64),
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    format!(
        "{{\"type\": \"Box\", \"dtype\": \"float32\", \"shape\": [{}], \"low\": {}, \"high\": {}}}",
        low.len(),
        list(low),
        list(high)
    )
}

/// Minari's JSON for an action space.
fn space_json(space: &Space) -> String {
    match space {
        Space::Box { low, high } => box_json(low, high),
        Space::Discrete { n } => format!("{{\"type\": \"Discrete\", \"dtype\": \"int64\", \"start\": 0, \"n\": {n}}}"),
        Space::MultiDiscrete { nvec } => {
            let zeros = vec!["0"; nvec.len()].join(", ");
            let n: Vec<String> = nvec.iter().map(usize::to_string).collect();
            format!(
                "{{\"type\": \"MultiDiscrete\", \"dtype\": \"int64\", \"nvec\": [{}], \"start\": [{zeros}]}}",
                n.join(", ")
            )
        }
    }
}

fn write_json(path: &Path, text: &str) -> Result<(), DataError> {
    super::dataset::write_atomic(path, text.as_bytes())
}

/// One episode's T + 1 rows.
fn episode_batch(episode: &Episode, space: &Space) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let steps = &episode.steps;
    let obs: Vec<&[f32]> = steps.iter().map(|s| s.obs.as_slice()).chain([episode.final_obs.as_slice()]).collect();
    // Padded like Minari's own: one more row than there are steps.
    let actions: Vec<Option<&Action>> = steps.iter().map(|s| Some(&s.action)).chain([None]).collect();
    let labels: Vec<Option<&Action>> =
        [None].into_iter().chain(steps.iter().map(|s| s.expert_label.as_ref())).collect();
    let padded = |f: &dyn Fn(&StepRecord) -> bool| bools(steps.iter().map(f).chain([false]));
    let sources: Vec<u8> = [steps.first().map_or(0, |s| s.source.code())]
        .into_iter()
        .chain(steps.iter().map(|s| s.source.code()))
        .collect();
    let expert = action_column(&labels, space);
    let infos = StructArray::try_new(
        Fields::from(vec![
            Field::new("success", DataType::Boolean, false),
            Field::new("source", DataType::UInt8, false),
            Field::new("has_expert_label", DataType::Boolean, false),
            Field::new("expert_action", expert.data_type().clone(), true),
        ]),
        vec![
            bools([false].into_iter().chain(steps.iter().map(|s| s.success))),
            Arc::new(UInt8Array::from(sources)),
            bools(labels.iter().map(Option::is_some)),
            expert,
        ],
        None,
    )?;
    let rewards = Float64Array::from(steps.iter().map(|s| s.reward as f64).chain([0.0]).collect::<Vec<_>>());
    RecordBatch::try_from_iter([
        ("observations", floats(&obs)),
        ("actions", action_column(&actions, space)),
        ("rewards", Arc::new(rewards) as ArrayRef),
        ("terminations", padded(&|s| s.terminated)),
        ("truncations", padded(&|s| s.truncated)),
        ("infos", Arc::new(infos) as ArrayRef),
    ])
}

/// Reads a Minari dataset (`DIR` or `DIR/data`, parquet or arrow storage) into episodes of
/// `env`'s scenario. Each starts from `env.reset(seed)` with the episode's seed; an episode
/// without one starts from seed 0 and is noted as not replayable. An episode that does not
/// read is skipped with its error; the rest load.
pub fn import(dir: &Path, env: &mut ScenarioEnv) -> Result<Imported, DataError> {
    let data = if dir.join("data/metadata.json").is_file() { dir.join("data") } else { dir.to_owned() };
    let meta_path = data.join("metadata.json");
    if !meta_path.is_file() {
        return Err(invalid(dir, "not a Minari dataset (no data/metadata.json)"));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
    let meta = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| invalid(&meta_path, format!("not Minari metadata: {e}")))?;
    let format = meta["data_format"].as_str().unwrap_or("hdf5").to_string();
    if format != "parquet" && format != "arrow" {
        return Err(invalid(
            &meta_path,
            format!("Minari storage `{format}` is not read here; re-save the dataset with data_format=\"parquet\""),
        ));
    }
    let total = meta["total_episodes"].as_u64().ok_or_else(|| invalid(&meta_path, "no total_episodes"))?;
    let (mut episodes, mut skipped) = (Vec::new(), Vec::new());
    for i in 0..total {
        match import_episode(&data.join(i.to_string()), &format, env) {
            Ok(episode) => episodes.push(episode),
            Err(e) => skipped.push(e),
        }
    }
    Ok(Imported { episodes, skipped })
}

fn import_episode(folder: &Path, format: &str, env: &mut ScenarioEnv) -> Result<Episode, DataError> {
    let ipc = format == "arrow";
    let files = files_in(folder, if ipc { "arrow" } else { "parquet" }, false)?;
    let batch = read_files(&files, ipc).map_err(|e| match files.is_empty() {
        true => invalid(folder, format!("no .{format} file")),
        false => e,
    })?;
    let seed = std::fs::read_to_string(folder.join("metadata.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["seed"].as_u64());
    let bad = |what: String| invalid(folder, what);
    let column = |name: &str| batch.column_by_name(name).ok_or_else(|| bad(format!("no column `{name}`")));
    let dim = env.observation_space().dim();
    let obs = float_rows(column("observations")?, dim).map_err(|e| bad(format!("observations: {e}")))?;
    let rows = obs.len();
    if rows == 0 {
        return Err(bad("an episode with no observations".into()));
    }
    let space = env.action_space().clone();
    let actions = read_actions(column("actions")?, &space).map_err(|e| bad(format!("actions: {e}")))?;
    let rewards = float_column(column("rewards")?).map_err(|e| bad(format!("rewards: {e}")))?;
    let flags = |name: &str| bool_column(column(name)?).map_err(|e| bad(format!("{name}: {e}")));
    let (terminated, truncated) = (flags("terminations")?, flags("truncations")?);
    let infos = batch.column_by_name("infos").and_then(|c| c.as_struct_opt().cloned());
    let info = |name: &str| infos.as_ref().and_then(|s| s.column_by_name(name).cloned());
    let success = info("success").and_then(|c| bool_column(&c).ok());
    let sources: Option<Vec<u8>> =
        info("source").and_then(|c| c.as_primitive_opt::<UInt8Type>().map(|p| p.values().to_vec()));
    let has_label = info("has_expert_label").and_then(|c| bool_column(&c).ok());
    let labels = match info("expert_action") {
        Some(c) => Some(read_actions(&c, &space).map_err(|e| bad(format!("infos.expert_action: {e}")))?),
        None => None,
    };
    let steps_count = rows - 1;
    for (name, len) in [
        ("actions", actions.len()),
        ("rewards", rewards.len()),
        ("terminations", terminated.len()),
        ("truncations", truncated.len()),
    ] {
        if len < steps_count {
            return Err(bad(format!("`{name}` has {len} rows for {steps_count} steps")));
        }
    }
    env.reset(seed.unwrap_or(0));
    let initial = env.state();
    let mut steps = Vec::with_capacity(steps_count);
    for t in 0..steps_count {
        space.check(&actions[t]).map_err(|e| bad(format!("step {t}: {e}")))?;
        let labelled = has_label.as_ref().is_some_and(|h| h.get(t + 1) == Some(&true));
        steps.push(StepRecord {
            obs: obs[t].clone(),
            action: actions[t].clone(),
            reward: rewards[t],
            terminated: terminated[t],
            truncated: truncated[t],
            success: success.as_ref().is_some_and(|s| s.get(t + 1) == Some(&true)),
            source: sources
                .as_ref()
                .and_then(|s| s.get(t + 1).and_then(|&c| Source::from_code(c)))
                .unwrap_or(Source::Human),
            expert_label: if labelled { labels.as_ref().map(|l| l[t + 1].clone()) } else { None },
            time: 0.0,
        });
    }
    let meta = EpisodeMeta::imported(env.scenario(), seed, &format!("Minari {}", folder.display()));
    Ok(Episode { meta, initial, steps, final_obs: obs[rows - 1].clone() })
}
