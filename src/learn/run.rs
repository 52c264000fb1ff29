//! A run directory: everything to reproduce, inspect and reload one training run.
//!
//! ```text
//! RUN/config.toml        algorithm, scenario, demos and every hyperparameter
//! RUN/metrics.csv        one row per log step (epochs for BC, rounds for DAgger; see `metrics`)
//! RUN/policy.safetensors the network's weights (loadable from Python)
//! RUN/policy.json        scenario name and hash, spaces, network shape, normalizer
//! RUN/export.safetensors weights plus that description as metadata (`--export safetensors`)
//! ```

use super::bc::{BcConfig, BcTrainer, TrainError};
use super::dagger::DaggerTrainer;
use super::rl::{Pretrained, RlConfig, algorithm_info};
use super::trainer::Algorithm;
use crate::data::{Dataset, Episode};
use super::policy::{MlpPolicy, Normalizer, PolicyConfig, PolicyNet};
use crate::sim::{Env, ScenarioEnv, Space};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The complete configuration of a run: re-running it reproduces the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub algorithm: String,
    /// Built-in name or path of the scenario.
    pub scenario: String,
    /// Dataset directory of the demonstrations (empty for algorithms that learn from reward alone).
    #[serde(default)]
    pub demos: PathBuf,
    pub bc: BcConfig,
    /// Present for DAgger runs.
    #[serde(default)]
    pub dagger: Option<super::dagger::DaggerConfig>,
    /// A run whose policy the actor starts from (`--init`: BC pretraining, then RL finetuning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
    /// The reinforcement-learning or hybrid algorithm's settings (absent for BC and DAgger).
    #[serde(default)]
    pub rl: Option<RlConfig>,
}

impl RunConfig {
    /// The default configuration of `algorithm` (bc, dagger, or a name in `rl::ALGORITHMS`).
    pub fn new(algorithm: &str, scenario: &str, demos: PathBuf) -> Result<RunConfig, String> {
        let rl = RlConfig::for_algorithm(algorithm);
        if rl.is_none() && !matches!(algorithm, "bc" | "dagger") {
            return Err(format!("no algorithm named `{algorithm}`"));
        }
        Ok(RunConfig {
            algorithm: algorithm.into(),
            scenario: scenario.into(),
            demos,
            bc: BcConfig::default(),
            dagger: (algorithm == "dagger").then(super::dagger::DaggerConfig::default),
            init: None,
            rl,
        })
    }

    /// Whether the algorithm learns from demonstrations (else from reward alone).
    pub fn uses_demos(&self) -> bool {
        algorithm_info(&self.algorithm).is_none_or(|a| a.needs_demos)
    }

    /// Applies `key=value` overrides (TOML values, as `--set` takes them) to the run's
    /// algorithm; returns those that name none of its hyperparameters.
    pub fn apply(&mut self, sets: &[String]) -> Result<Vec<String>, String> {
        match &mut self.rl {
            Some(rl) => rl.apply(sets),
            None => {
                let rest = apply(&mut self.bc, sets)?;
                match &mut self.dagger {
                    Some(dagger) => apply(dagger, &rest),
                    None => Ok(rest),
                }
            }
        }
    }

    /// Every hyperparameter the run's algorithm has, dotted (`policy.hidden`).
    pub fn field_names(&self) -> Vec<String> {
        match &self.rl {
            Some(rl) => rl.field_names(),
            None => {
                let mut names = super::field_names(&self.bc);
                names.extend(self.dagger.iter().flat_map(super::field_names));
                names
            }
        }
    }

    /// Sets `key` (a TOML value, as `--set` takes it) in the configuration of the run's algorithm.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let rest = self.apply(&[format!("{key}={value}")])?;
        if rest.is_empty() { Ok(()) } else { Err(format!("no such hyperparameter `{key}`")) }
    }

    /// The hyperparameters the run's algorithm can change while it trains.
    pub fn live(&self) -> &'static [&'static str] {
        match &self.rl {
            Some(rl) => rl.live(),
            None => &super::bc::LIVE,
        }
    }
}

/// Applies the `key=value` overrides that are fields of `config`; returns the others.
pub(crate) fn apply<T: Serialize + serde::de::DeserializeOwned>(config: &mut T, sets: &[String]) -> Result<Vec<String>, String> {
    let (updated, rest) = super::overrides(config, sets)?;
    *config = updated;
    Ok(rest)
}

/// What a saved policy needs to be rebuilt and checked against a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMeta {
    pub scenario: String,
    pub scenario_hash: String,
    pub obs_dim: usize,
    pub action_space: Space,
    pub policy: PolicyConfig,
    pub normalizer: Normalizer,
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
    std::fs::write(&path, text).map_err(io(&path))
}

/// Writes a checkpoint (weights and policy description). Both files are written beside the
/// old ones and renamed over them, so a crash mid-write leaves the last good checkpoint.
pub fn save_policy(dir: &Path, env: &ScenarioEnv, policy: &MlpPolicy) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let meta = policy_meta(env, policy);
    let (json, weights) = (dir.join("policy.json"), dir.join("policy.safetensors"));
    let (json_tmp, weights_tmp) = (dir.join("policy.json.partial"), dir.join("policy.safetensors.partial"));
    std::fs::write(&json_tmp, serde_json::to_vec_pretty(&meta).expect("serializes")).map_err(io(&json_tmp))?;
    let mut store = SafetensorsStore::from_file(&weights_tmp);
    policy
        .net
        .save_into(&mut store)
        .map_err(|e| RunError::Invalid { path: weights_tmp.clone(), what: format!("{e:?}") })?;
    std::fs::rename(&weights_tmp, &weights).map_err(io(&weights))?;
    std::fs::rename(&json_tmp, &json).map_err(io(&json))
}

/// Writes `RUN/export.safetensors` for Python users: the network's weights (Burn's names;
/// linear weights are [in, out]) and, as metadata `apprentice.policy`, the policy description
/// (architecture, spaces, normalizer) as JSON, so the policy runs with no apprentice installed:
/// input = (obs − mean) / std; hidden layers ReLU (or the configured activation); a
/// deterministic head's output is clipped to [-1, 1] and mapped onto the action bounds.
pub fn export_safetensors(dir: &Path, env: &ScenarioEnv, policy: &MlpPolicy) -> Result<PathBuf, RunError> {
    let path = dir.join("export.safetensors");
    let meta = serde_json::to_string(&policy_meta(env, policy)).expect("serializes");
    let mut store = SafetensorsStore::from_file(&path).metadata("apprentice.policy", meta);
    policy.net.save_into(&mut store).map_err(|e| RunError::Invalid { path: path.clone(), what: format!("{e:?}") })?;
    Ok(path)
}

fn policy_meta(env: &ScenarioEnv, policy: &MlpPolicy) -> PolicyMeta {
    PolicyMeta {
        scenario: env.scenario().name.clone(),
        scenario_hash: env.scenario().source_hash.clone(),
        obs_dim: env.observation_space().dim(),
        action_space: env.action_space().clone(),
        policy: policy.config.clone(),
        normalizer: policy.normalizer.clone(),
    }
}

/// Writes config and checkpoint into `dir`.
pub fn save(dir: &Path, config: &RunConfig, env: &ScenarioEnv, policy: &MlpPolicy) -> Result<(), RunError> {
    save_config(dir, config)?;
    save_policy(dir, env, policy)
}

/// Loads a run's weights into `net` (same architecture, any device): resuming a run.
pub fn load_weights(dir: &Path, mut net: PolicyNet) -> Result<PolicyNet, RunError> {
    let path = dir.join("policy.safetensors");
    let mut store = SafetensorsStore::from_file(&path);
    net.load_from(&mut store).map_err(|e| RunError::Invalid { path, what: format!("{e:?}") })?;
    Ok(net)
}

/// Reads a run's configuration.
pub fn load_config(dir: &Path) -> Result<RunConfig, RunError> {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    toml::from_str(&text).map_err(|e| RunError::Invalid { path, what: e.to_string() })
}

/// Loads a run's policy and checks it fits `env`'s scenario.
pub fn load_policy(dir: &Path, env: &ScenarioEnv) -> Result<MlpPolicy, RunError> {
    let path = dir.join("policy.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let meta: PolicyMeta =
        serde_json::from_slice(&bytes).map_err(|e| RunError::Invalid { path: path.clone(), what: e.to_string() })?;
    let (obs_dim, space) = (env.observation_space().dim(), env.action_space());
    if meta.obs_dim != obs_dim || &meta.action_space != space {
        return Err(RunError::Mismatch {
            path,
            trained: format!("`{}` ({} observations, actions {})", meta.scenario, meta.obs_dim, meta.action_space),
            scenario: env.scenario().name.clone(),
            found: format!("{obs_dim} observations, actions {space}"),
        });
    }
    if meta.normalizer.mean.len() != obs_dim {
        return Err(RunError::Invalid { path, what: "the normalizer does not match the observation size".into() });
    }
    let device = Device::flex();
    let net = load_weights(dir, meta.policy.build(obs_dim, space, &device))?;
    Ok(MlpPolicy::new(net, meta.policy, meta.normalizer, space.clone(), device))
}

/// The run's algorithm, ready for a trainer thread: behaviour cloning (continuing from the
/// checkpoint in `out` when `resume` gives its epochs and step), DAgger aggregating its
/// rollouts into `out/dataset`, or an RL algorithm (on `episodes` if it is a hybrid, from the
/// policy of the run `config.init` when given).
pub fn algorithm(
    config: &RunConfig,
    env: &ScenarioEnv,
    episodes: Vec<Episode>,
    device: &Device,
    out: &Path,
    resume: Option<(usize, usize)>,
) -> Result<Box<dyn Algorithm>, TrainError> {
    if let Some(rl) = &config.rl {
        let init = match &config.init {
            Some(dir) => {
                let policy = load_policy(dir, env).map_err(|e| TrainError::Config(format!("--init: {e}")))?;
                Some(Pretrained { dir: dir.clone(), policy })
            }
            None => None,
        };
        return rl.trainer(env, &episodes, init.as_ref(), device);
    }
    match &config.dagger {
        Some(dagger) => {
            let (aggregated, _) = Dataset::open(&out.join("dataset")).map_err(|e| TrainError::Save(e.to_string()))?;
            let save = Box::new(move |fresh: &[Episode]| aggregated.append(fresh).map(|_| ()).map_err(|e| e.to_string()));
            Ok(Box::new(DaggerTrainer::new(env, episodes, &config.bc, dagger, save)?))
        }
        None => {
            let mut trainer = BcTrainer::new(env, &episodes, &config.bc, device)?;
            if let Some((epochs, step)) = resume {
                trainer.resume(|net| load_weights(out, net).map_err(|e| e.to_string()), epochs, step)?;
            }
            Ok(Box::new(trainer))
        }
    }
}
