//! The MLP policy as an artifact of kind `mlp`: `policy.json` (scenario, spaces,
//! architecture, normalizer) beside `policy.safetensors` (the weights), and the single-file
//! export for other tools.

use super::{MlpPolicy, Normalizer, PolicyConfig, PolicyNet};
use crate::artifact::{Distribution, PolicyArtifact};
use crate::run::RunError;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
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

/// Writes the weights and description beside the old ones and renames them over them, so
/// a crash mid-write leaves the last good checkpoint.
fn save(policy: &MlpPolicy, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (json, weights) = (dir.join("policy.json"), dir.join("policy.safetensors"));
    let (json_tmp, weights_tmp) = (dir.join("policy.json.partial"), dir.join("policy.safetensors.partial"));
    std::fs::write(&json_tmp, serde_json::to_vec_pretty(&policy.meta(env)).expect("serializes"))
        .map_err(io(&json_tmp))?;
    let mut store = SafetensorsStore::from_file(&weights_tmp);
    policy.net.save_into(&mut store).map_err(|e| invalid(&weights_tmp, format!("{e:?}")))?;
    std::fs::rename(&weights_tmp, &weights).map_err(io(&weights))?;
    std::fs::rename(&json_tmp, &json).map_err(io(&json))?;
    Ok(vec!["policy.json".into(), "policy.safetensors".into()])
}

/// Writes `RUN/export.safetensors` for Python users: the network's weights (Burn's names;
/// linear weights are [in, out]) and, as metadata `apprentice.policy`, the policy description
/// (architecture, spaces, normalizer) as JSON, so the policy runs with no apprentice installed:
/// input = (obs − mean) / std; hidden layers ReLU (or the configured activation); a
/// deterministic head's output is clipped to [-1, 1] and mapped onto the action bounds.
fn export(policy: &MlpPolicy, dir: &Path, env: &ScenarioEnv) -> Result<PathBuf, RunError> {
    let path = dir.join("export.safetensors");
    let meta = serde_json::to_string(&policy.meta(env)).expect("serializes");
    let mut store = SafetensorsStore::from_file(&path).metadata("apprentice.policy", meta);
    policy.net.save_into(&mut store).map_err(|e| invalid(&path, format!("{e:?}")))?;
    Ok(path)
}

/// Loads a run's weights into `net` (same architecture, any device): resuming a run.
pub fn load_weights(dir: &Path, mut net: PolicyNet) -> Result<PolicyNet, RunError> {
    let path = dir.join("policy.safetensors");
    let mut store = SafetensorsStore::from_file(&path);
    net.load_from(&mut store).map_err(|e| invalid(&path, format!("{e:?}")))?;
    Ok(net)
}

/// Loads a run's MLP policy and checks it fits `env`'s scenario.
pub fn load_mlp(dir: &Path, env: &ScenarioEnv) -> Result<MlpPolicy, RunError> {
    let path = dir.join("policy.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let meta: PolicyMeta = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, e))?;
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
        return Err(invalid(&path, "the normalizer does not match the observation size"));
    }
    let device = Device::flex();
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
        save(self, dir, env)
    }

    fn export(&self, dir: &Path, env: &ScenarioEnv) -> Result<PathBuf, RunError> {
        export(self, dir, env)
    }

    fn as_mlp(&self) -> Option<&MlpPolicy> {
        Some(self)
    }

    fn boxed(&self) -> Box<dyn PolicyArtifact> {
        Box::new(self.clone())
    }
}
