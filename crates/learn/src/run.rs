//! A run directory: everything to reproduce, inspect and reload one training run.
//!
//! ```text
//! RUN/config.toml        algorithm, scenario, demos and every hyperparameter
//! RUN/metrics.csv        one row per log step (see `metrics`)
//! RUN/artifacts.json     what the run learned: each artifact's name, kind, format and files
//! RUN/policy.json        the policy's kind, scenario name and hash, spaces, architecture
//! RUN/policy.safetensors the policy network's weights (loadable from Python)
//! RUN/critic.*           the critic, for the algorithms that learn one
//! RUN/export.safetensors weights plus that description as metadata (`--export safetensors`)
//! ```

use super::artifact::{self, Artifact, PolicyArtifact};
use super::error::TrainError;
use super::registry::{self, Config, Context, Entry};
use super::rl::Pretrained;
use super::trainer::Algorithm;
use burn::prelude::*;
use data::Episode;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv};
use std::path::{Path, PathBuf};

pub use super::policy::saved::{PolicyMeta, load_mlp, load_weights};

/// The complete configuration of a run: re-running it reproduces the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// A name in the registry (`apprentice train --help` lists them).
    pub algorithm: String,
    /// Built-in name or path of the scenario.
    pub scenario: String,
    /// Dataset directory of the demonstrations (empty for algorithms that learn from reward alone).
    #[serde(default)]
    pub demos: PathBuf,
    /// The dataset's episodes the run trains on (ids). Absent: every episode the dataset's
    /// curation includes, which the run then records here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episodes: Option<Vec<String>>,
    /// A run whose policy the actor starts from (`--init`: BC pretraining, then RL finetuning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
    /// A run whose learned reward (`reward.json`) is optimized instead of the scenario's
    /// (`--reward`); evaluation still reports the scenario's return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<PathBuf>,
    /// The run's expert (DAgger's labeller, evaluation's reference) is the sampling planner on
    /// the true simulator rather than the scenario's scripted expert (`--expert planner`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planner_expert: bool,
    /// The algorithm's hyperparameters, as its config type reads them.
    pub hyperparameters: toml::Table,
}

impl RunConfig {
    /// The default configuration of `algorithm` (a name in the registry) on `scenario`:
    /// some algorithms default differently for continuous actions. A scenario that does not
    /// load gets the plain defaults; its error comes when the run starts.
    pub fn new(algorithm: &str, scenario: &str, demos: PathBuf) -> Result<RunConfig, TrainError> {
        let entry = entry(algorithm)?;
        let space = ScenarioEnv::load(scenario).ok().map(|env| env.action_space().clone());
        Ok(RunConfig {
            algorithm: entry.name.into(),
            scenario: scenario.into(),
            demos,
            episodes: None,
            init: None,
            reward: None,
            planner_expert: false,
            hyperparameters: entry.defaults_for(space.as_ref()),
        })
    }

    /// The run's environment: its scenario, with the planner as expert if the run asks.
    pub fn env(&self) -> Result<ScenarioEnv, sim::ScenarioError> {
        let env = ScenarioEnv::load(&self.scenario)?;
        Ok(if self.planner_expert { env.with_planner_expert() } else { env })
    }

    /// The same run with the hyperparameters of `config` (the algorithm's config type).
    pub fn with<T: Serialize>(mut self, config: &T) -> RunConfig {
        self.hyperparameters = registry::table(config);
        self
    }

    /// The hyperparameters read as the algorithm's config type `T`.
    pub fn typed<T: Config>(&self) -> Result<T, TrainError> {
        registry::typed(&self.hyperparameters)
    }

    /// The algorithm's registry entry.
    pub fn entry(&self) -> Result<&'static Entry, TrainError> {
        entry(&self.algorithm)
    }

    /// Whether the algorithm learns from demonstrations.
    pub fn uses_demos(&self) -> bool {
        self.entry().is_ok_and(|e| e.needs.demos)
    }

    /// Applies `key=value` overrides (TOML values, as `--set` takes them); returns those that
    /// name none of the algorithm's hyperparameters. A value of the wrong type is an error.
    pub fn apply(&mut self, sets: &[String]) -> Result<Vec<String>, TrainError> {
        let (table, rest) = super::overrides(&self.hyperparameters, sets)?;
        (self.entry()?.config.check)(&table)?;
        self.hyperparameters = table;
        Ok(rest)
    }

    /// Every hyperparameter, dotted (`policy.hidden`).
    pub fn field_names(&self) -> Vec<String> {
        super::field_names(&self.hyperparameters)
    }

    /// The form fields of the hyperparameters (doc comments from the config type).
    pub fn fields(&self) -> Result<Vec<super::describe::Field>, TrainError> {
        (self.entry()?.config.fields)(&self.hyperparameters)
    }

    /// Sets `key` (a TOML value, as `--set` takes it).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), TrainError> {
        let rest = self.apply(&[format!("{key}={value}")])?;
        if rest.is_empty() { Ok(()) } else { Err(TrainError::Config(format!("no such hyperparameter `{key}`"))) }
    }

    /// The hyperparameters the algorithm can change while it trains.
    pub fn live(&self) -> &'static [&'static str] {
        self.entry().map_or(&[], |e| e.live)
    }
}

/// A run's demonstrations, loaded.
pub struct Demonstrations {
    pub episodes: Vec<Episode>,
    /// What the user should hear: recovered recordings, skipped files, excluded episodes.
    pub notes: Vec<String>,
}

/// Loads the demonstrations of `config`: the episodes it names, or else every episode the
/// dataset's curation includes, whose ids it then records so the run says which it used.
/// Files that do not load or fit the scenario are skipped and named in the notes.
pub fn demonstrations(config: &mut RunConfig, env: &ScenarioEnv) -> Result<Demonstrations, data::DataError> {
    let (dataset, mut notes) = data::Dataset::existing(&config.demos)?;
    let ids = match &config.episodes {
        Some(ids) => ids.clone(),
        None => {
            let (all, included) = (dataset.ids()?, dataset.included_ids()?);
            if included.len() < all.len() {
                notes.push(format!(
                    "{} of {} episodes excluded by {}",
                    all.len() - included.len(),
                    all.len(),
                    dataset.dir.join(data::curation::CURATION).display()
                ));
            }
            included
        }
    };
    let loaded = dataset.load_ids(&ids, Some(env))?;
    notes.extend(loaded.warning());
    config.episodes = Some(loaded.episodes.iter().map(|f| f.id.clone()).collect());
    Ok(Demonstrations { episodes: loaded.episodes.into_iter().map(|f| f.episode).collect(), notes })
}

fn entry(name: &str) -> Result<&'static Entry, TrainError> {
    registry::entry(name).ok_or_else(|| {
        TrainError::Config(format!("no algorithm named `{name}` (known: {})", registry::names().join(", ")))
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
    #[error("{path}: the policy was trained on {trained}, which does not fit scenario `{scenario}` ({found})")]
    Mismatch { path: PathBuf, trained: String, scenario: String, found: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.to_owned(), source }
}

/// Writes the run's complete configuration.
pub fn save_config(dir: &Path, config: &RunConfig) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join("config.toml");
    let text =
        toml::to_string_pretty(config).map_err(|e| RunError::Invalid { path: path.clone(), what: e.to_string() })?;
    data::dataset::write_atomic(&path, text.as_bytes()).map_err(|e| RunError::Invalid { path, what: e.to_string() })
}

/// Writes a checkpoint of the policy (each file written beside the old one and renamed over
/// it, so a crash mid-write leaves the last good checkpoint) and lists it in artifacts.json.
pub fn save_policy(dir: &Path, env: &ScenarioEnv, policy: &dyn PolicyArtifact) -> Result<(), RunError> {
    save_artifacts(dir, env, Some(policy), &[])
}

/// Writes the policy and the other artifacts, and lists them all.
pub fn save_artifacts(
    dir: &Path,
    env: &ScenarioEnv,
    policy: Option<&dyn PolicyArtifact>,
    others: &[std::sync::Arc<dyn Artifact>],
) -> Result<(), RunError> {
    artifact::save_all(dir, env, policy, others).map(|_| ())
}

/// Writes the policy's export file for other tools (`RUN/export.safetensors` for an MLP).
pub fn export_safetensors(dir: &Path, env: &ScenarioEnv, policy: &dyn PolicyArtifact) -> Result<PathBuf, RunError> {
    policy.export(dir, env)
}

/// Writes config and checkpoint into `dir`.
pub fn save(dir: &Path, config: &RunConfig, env: &ScenarioEnv, policy: &dyn PolicyArtifact) -> Result<(), RunError> {
    save_config(dir, config)?;
    save_policy(dir, env, policy)
}

/// Reads a run's configuration.
pub fn load_config(dir: &Path) -> Result<RunConfig, RunError> {
    let path = dir.join("config.toml");
    if !path.exists() {
        let what = if dir.is_dir() { "not a run directory (no config.toml)" } else { "no such run directory" };
        return Err(RunError::Invalid { path: dir.to_owned(), what: what.into() });
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let invalid = |what: String| RunError::Invalid { path: path.clone(), what };
    let table: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let config: RunConfig = super::settings::read(toml::Value::Table(migrate(table))).map_err(invalid)?;
    let checked = config.entry().and_then(|e| (e.config.check)(&config.hyperparameters));
    checked.map_err(|e| RunError::Invalid { path, what: e.to_string() })?;
    Ok(config)
}

/// What `train --config FILE` reads: a run's config.toml, or any part of one, such as a
/// `[hyperparameters]` table of only the values to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    algorithm: Option<String>,
    scenario: Option<String>,
    demos: Option<PathBuf>,
    episodes: Option<Vec<String>>,
    init: Option<PathBuf>,
    reward: Option<PathBuf>,
    planner_expert: Option<bool>,
    #[serde(default)]
    hyperparameters: toml::Table,
}

/// The configuration of an `algorithm` run given by the file at `path`: the algorithm's
/// defaults on the scenario (`scenario` if given, else the file's), with every field and
/// hyperparameter the file sets laid over them, so what it leaves out keeps its default
/// and the run's config.toml records them all.
pub fn config_from_file(path: &Path, algorithm: &str, scenario: Option<&str>) -> Result<RunConfig, RunError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let invalid = |what: String| RunError::Invalid { path: path.to_owned(), what };
    let table: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let file: ConfigFile = super::settings::read(toml::Value::Table(migrate(table))).map_err(invalid)?;
    let same = |a: &str, b: &str| registry::entry(a).map(|e| e.name) == registry::entry(b).map(|e| e.name);
    if let Some(theirs) = file.algorithm.as_deref().filter(|theirs| !same(theirs, algorithm)) {
        return Err(invalid(format!("a configuration of {theirs}, not {algorithm}")));
    }
    let scenario = scenario
        .or(file.scenario.as_deref())
        .ok_or_else(|| invalid("no scenario: give --scenario, or `scenario = \"…\"` in the file".into()))?;
    let mut config =
        RunConfig::new(algorithm, scenario, file.demos.unwrap_or_default()).map_err(|e| invalid(e.to_string()))?;
    lay_over(&mut config.hyperparameters, file.hyperparameters);
    let checked = config.entry().and_then(|e| (e.config.check)(&config.hyperparameters));
    checked.map_err(|e| match e {
        TrainError::Config(what) => invalid(format!("[hyperparameters] {what}")),
        other => invalid(other.to_string()),
    })?;
    config.episodes = file.episodes;
    config.init = file.init;
    config.reward = file.reward;
    config.planner_expert = file.planner_expert.unwrap_or_default();
    Ok(config)
}

/// Lays `over` onto `base` key by key, into nested tables (`[hyperparameters.policy]`).
fn lay_over(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => lay_over(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A config.toml written before the registry (`[bc]`, `[dagger]`, `[rl.<algorithm>]`
/// tables) in today's layout, with all its hyperparameters under `[hyperparameters]`.
fn migrate(mut table: toml::Table) -> toml::Table {
    if table.contains_key("hyperparameters") {
        return table;
    }
    let bc = table.remove("bc");
    let dagger = table.remove("dagger");
    let rl = table.remove("rl").and_then(|rl| match rl {
        toml::Value::Table(t) => t.into_iter().next().map(|(_, config)| config),
        _ => None,
    });
    let hyperparameters = match (rl, dagger, bc) {
        (Some(rl), _, _) => rl,
        (None, Some(toml::Value::Table(mut dagger)), bc) => {
            dagger.extend(bc.map(|bc| ("bc".to_string(), bc)));
            toml::Value::Table(dagger)
        }
        (None, _, Some(bc)) => bc,
        _ => return table,
    };
    table.insert("hyperparameters".into(), hyperparameters);
    table
}

/// Loads a run's policy, whatever its kind, and checks it fits `env`'s scenario.
pub fn load_policy(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    artifact::load_policy(dir, env)
}

/// The run's algorithm, ready for a trainer thread: built by its registry entry, on
/// `episodes` (for the algorithms that learn from demonstrations), starting from the policy
/// of the run `config.init` when given, continuing the checkpoint in `out` when `resume`
/// gives its log steps and step counter.
pub fn algorithm(
    config: &RunConfig,
    env: &ScenarioEnv,
    episodes: Vec<Episode>,
    device: &Device,
    out: &Path,
    resume: Option<(usize, usize)>,
) -> Result<Box<dyn Algorithm>, TrainError> {
    let entry = config.entry()?;
    let init = match &config.init {
        Some(dir) => {
            let loaded = load_policy(dir, env).map_err(|e| TrainError::Config(format!("--init: {e}")))?;
            let policy = loaded.as_mlp().cloned().ok_or_else(|| {
                let kind = loaded.kind();
                TrainError::Config(format!(
                    "--init {}: a `{kind}` policy; finetuning starts from an MLP policy",
                    dir.display()
                ))
            })?;
            Some(Pretrained { dir: dir.clone(), policy })
        }
        None => None,
    };
    if init.is_some() && !entry.needs.init {
        return Err(TrainError::Config(format!("{} does not start from a pretrained policy (--init)", entry.name)));
    }
    if resume.is_some() && !entry.needs.resume {
        return Err(TrainError::Config(format!("{} runs cannot be resumed; start a new run", entry.name)));
    }
    let reward = match &config.reward {
        Some(_) if !entry.needs.learned_reward => {
            return Err(TrainError::Config(format!("{} does not optimize a learned reward (--reward)", entry.name)));
        }
        Some(dir) => {
            Some(super::reward::load_reward(dir, env).map_err(|e| TrainError::Config(format!("--reward: {e}")))?)
        }
        None => None,
    };
    let context = Context { env, demos: episodes, init: init.as_ref(), device, out, resume, reward };
    (entry.build)(&config.hyperparameters, context)
}
