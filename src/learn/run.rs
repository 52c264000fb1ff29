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
use super::dqn::{DqnConfig, DqnTrainer};
use super::ppo::{PpoConfig, PpoTrainer};
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
    /// Present for PPO runs.
    #[serde(default)]
    pub ppo: Option<PpoConfig>,
    /// Present for DQN runs.
    #[serde(default)]
    pub dqn: Option<DqnConfig>,
}

impl RunConfig {
    /// Whether the algorithm learns from the demonstrations (else only from reward).
    pub fn uses_demos(&self) -> bool {
        self.ppo.is_none() && self.dqn.is_none()
    }

    /// Sets `key` (a TOML value, as `--set` takes it) in the configuration of the run's algorithm.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let sets = [format!("{key}={value}")];
        let rest = match (&mut self.ppo, &mut self.dqn) {
            (Some(ppo), _) => apply(ppo, &sets)?,
            (_, Some(dqn)) => apply(dqn, &sets)?,
            _ => {
                let rest = apply(&mut self.bc, &sets)?;
                match &mut self.dagger {
                    Some(dagger) => apply(dagger, &rest)?,
                    None => rest,
                }
            }
        };
        if rest.is_empty() { Ok(()) } else { Err(format!("no such hyperparameter `{key}`")) }
    }

    /// The hyperparameters the run's algorithm can change while it trains.
    pub fn live(&self) -> &'static [&'static str] {
        match (&self.ppo, &self.dqn) {
            (Some(_), _) => &super::ppo::LIVE,
            (_, Some(_)) => &super::dqn::LIVE,
            _ => &super::bc::LIVE,
        }
    }
}

/// Applies the `key=value` overrides that are fields of `config`; returns the others.
fn apply<T: Serialize + serde::de::DeserializeOwned>(config: &mut T, sets: &[String]) -> Result<Vec<String>, String> {
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
/// rollouts into `out/dataset`, or PPO or DQN (which ignore `episodes`).
pub fn algorithm(
    config: &RunConfig,
    env: &ScenarioEnv,
    episodes: Vec<Episode>,
    device: &Device,
    out: &Path,
    resume: Option<(usize, usize)>,
) -> Result<Box<dyn Algorithm>, TrainError> {
    if let Some(ppo) = &config.ppo {
        return Ok(Box::new(PpoTrainer::new(env, ppo, device)?));
    }
    if let Some(dqn) = &config.dqn {
        return Ok(Box::new(DqnTrainer::new(env, dqn, device)?));
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
