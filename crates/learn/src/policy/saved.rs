//! The MLP policy as an artifact of kind `mlp`: `policy.json` (scenario, spaces,
//! architecture, normalizer) beside `policy.safetensors` (the weights), and the single-file
//! export for other tools.

use super::{MlpPolicy, Normalizer, PolicyConfig};
use crate::artifact::{Distribution, PolicyArtifact};
use crate::run::RunError;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::{Path, PathBuf};

/// What a saved MLP policy needs to be rebuilt and checked against a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMeta {
    /// The artifact kind: `mlp`.
    #[serde(default = "mlp")]
    pub kind: String,
    pub scenario: String,
    pub scenario_hash: String,
    pub obs_dim: usize,
    pub action_space: Space,
    pub policy: PolicyConfig,
    pub normalizer: Normalizer,
}

fn mlp() -> String {
    "mlp".into()
}

fn invalid(path: &Path, what: impl ToString) -> RunError {
    RunError::Invalid { path: path.to_owned(), what: what.to_string() }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.to_owned(), source }
}

impl MlpPolicy {
    /// The description saved beside the weights.
    pub fn meta(&self, env: &ScenarioEnv) -> PolicyMeta {
        PolicyMeta {
            kind: mlp(),
            scenario: env.scenario().name.clone(),
            scenario_hash: env.scenario().source_hash.clone(),
            obs_dim: env.observation_space().dim(),
            action_space: env.action_space().clone(),
            policy: self.config.clone(),
            normalizer: self.normalizer.clone(),
        }
    }
}

/// Writes a policy's description (`policy.json`) and weights (`policy.safetensors`) beside
/// the old ones and renames them over them, so a crash mid-write leaves the last good
/// checkpoint. Every policy kind saves through it.
pub(crate) fn save_files<M: Module>(dir: &Path, meta: &impl Serialize, net: &M) -> Result<Vec<String>, RunError> {
    save_named(dir, "policy", meta, net)
}

/// Writes `STEM.json` (the description) and `STEM.safetensors` (the weights) the same way.
pub(crate) fn save_named<M: Module>(
    dir: &Path,
    stem: &str,
    meta: &impl Serialize,
    net: &M,
) -> Result<Vec<String>, RunError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let names = [format!("{stem}.json"), format!("{stem}.safetensors")];
    let (json, weights) = (dir.join(&names[0]), dir.join(&names[1]));
    let (json_tmp, weights_tmp) = (dir.join(format!("{}.partial", names[0])), dir.join(format!("{}.partial", names[1])));
    std::fs::write(&json_tmp, serde_json::to_vec_pretty(meta).expect("serializes")).map_err(io(&json_tmp))?;
    let mut store = SafetensorsStore::from_file(&weights_tmp);
    net.save_into(&mut store).map_err(|e| invalid(&weights_tmp, format!("{e:?}")))?;
    std::fs::rename(&weights_tmp, &weights).map_err(io(&weights))?;
    std::fs::rename(&json_tmp, &json).map_err(io(&json))?;
    Ok(names.into())
}

/// Writes `RUN/export.safetensors` for Python users: the network's weights (Burn's names;
/// linear weights are [in, out]) and, as metadata `apprentice.policy`, the description
/// `policy.json` holds, so the policy runs with no apprentice installed. For an MLP: input =
/// (obs − mean) / std; hidden layers ReLU (or the configured activation); a deterministic
/// head's output is clipped to [-1, 1] and mapped onto the action bounds.
pub(crate) fn export_file<M: Module>(dir: &Path, meta: &impl Serialize, net: &M) -> Result<PathBuf, RunError> {
    let path = dir.join("export.safetensors");
    let meta = serde_json::to_string(meta).expect("serializes");
    let mut store = SafetensorsStore::from_file(&path).metadata("apprentice.policy", meta);
    net.save_into(&mut store).map_err(|e| invalid(&path, format!("{e:?}")))?;
    Ok(path)
}

/// `policy.json` of a policy that is a planner's settings (kinds `planner` and `mpc`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PlannerMeta {
    pub kind: String,
    pub scenario: String,
    pub planner: sim::planner::PlannerConfig,
}

/// Writes a planner policy's `policy.json` (atomically: a crash keeps the old one).
pub(crate) fn save_planner_meta(
    dir: &Path,
    kind: &str,
    env: &ScenarioEnv,
    planner: &sim::planner::PlannerConfig,
) -> Result<String, RunError> {
    let meta = PlannerMeta { kind: kind.into(), scenario: env.scenario().name.clone(), planner: planner.clone() };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join("policy.json");
    data::dataset::write_atomic(&path, &serde_json::to_vec_pretty(&meta).expect("serializes"))
        .map_err(|e| invalid(&path, e))?;
    Ok("policy.json".into())
}

/// Reads a run's `policy.json` as `T`; returns its path too, for errors.
pub(crate) fn read_meta<T: DeserializeOwned>(dir: &Path) -> Result<(PathBuf, T), RunError> {
    let path = dir.join("policy.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let meta = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, e))?;
    Ok((path, meta))
}

/// A saved policy fits `env` when its observation size, action space and normalizer do.
pub(crate) fn check_fits(
    path: &Path,
    scenario: &str,
    saved: (usize, &Space),
    normalizer: &Normalizer,
    env: &ScenarioEnv,
) -> Result<(), RunError> {
    let (obs_dim, space) = (env.observation_space().dim(), env.action_space());
    if saved.0 != obs_dim || saved.1 != space {
        return Err(RunError::Mismatch {
            path: path.to_owned(),
            trained: format!("`{scenario}` ({} observations, actions {})", saved.0, saved.1),
            scenario: env.scenario().name.clone(),
            found: format!("{obs_dim} observations, actions {space}"),
        });
    }
    if normalizer.mean.len() != obs_dim {
        return Err(invalid(path, "the normalizer does not match the observation size"));
    }
    Ok(())
}

/// Loads a run's weights into `net` (same architecture, any device): resuming a run.
pub fn load_weights<M: Module>(dir: &Path, net: M) -> Result<M, RunError> {
    load_named(dir, "policy", net)
}

/// Loads `STEM.safetensors` into `net`.
pub(crate) fn load_named<M: Module>(dir: &Path, stem: &str, mut net: M) -> Result<M, RunError> {
    let path = dir.join(format!("{stem}.safetensors"));
    let mut store = SafetensorsStore::from_file(&path);
    net.load_from(&mut store).map_err(|e| invalid(&path, format!("{e:?}")))?;
    Ok(net)
}

/// Loads a run's MLP policy and checks it fits `env`'s scenario.
pub fn load_mlp(dir: &Path, env: &ScenarioEnv) -> Result<MlpPolicy, RunError> {
    let (path, meta): (_, PolicyMeta) = read_meta(dir)?;
    check_fits(&path, &meta.scenario, (meta.obs_dim, &meta.action_space), &meta.normalizer, env)?;
    let (obs_dim, space) = (env.observation_space().dim(), env.action_space());
    let device = Device::flex();
    let _init = crate::device::hold_init(); // random weights, replaced by the saved ones
    let net = load_weights(dir, meta.policy.build(obs_dim, space, &device))?;
    Ok(MlpPolicy::new(net, meta.policy, meta.normalizer, space.clone(), device))
}

/// The `mlp` entry of [`crate::artifact::POLICY_KINDS`].
pub fn load(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    Ok(Box::new(load_mlp(dir, env)?))
}

impl PolicyArtifact for MlpPolicy {
    fn kind(&self) -> &'static str {
        "mlp"
    }

    fn act_obs(&mut self, obs: &[f32]) -> Action {
        self.act(obs)
    }

    fn set_sampling(&mut self, sampling: bool) {
        self.sampling = sampling;
    }

    /// The multimodal heads: their sampled continuations show the modes.
    fn stochastic(&self) -> bool {
        matches!(self.space, Space::Box { .. })
            && matches!(self.config.head, super::Head::Mixture | super::Head::Autoregressive)
    }

    fn distribution(&self, obs: &[f32]) -> Option<Distribution> {
        self.mixture_modes(obs)
            .map(Distribution::Modes)
            .or_else(|| self.choice_probabilities(obs).map(Distribution::Choices))
    }

    fn save(&self, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError> {
        save_files(dir, &self.meta(env), &self.net)
    }

    fn export(&self, dir: &Path, env: &ScenarioEnv) -> Result<PathBuf, RunError> {
        export_file(dir, &self.meta(env), &self.net)
    }

    fn as_mlp(&self) -> Option<&MlpPolicy> {
        Some(self)
    }

    fn boxed(&self) -> Box<dyn PolicyArtifact> {
        Box::new(self.clone())
    }
}
