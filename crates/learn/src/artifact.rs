//! What a run learns and keeps: artifacts of several kinds (a policy, a critic; later a
//! reward model, a dynamics model, a planner), each saved into the run directory under its
//! own name and listed in `RUN/artifacts.json`.
//!
//! A policy artifact is anything that acts: `eval`, `--init`, `--compare`, export and the
//! app take a `Box<dyn PolicyArtifact>` and never ask which kind it is. `policy.json` names
//! the kind (`"kind": "mlp"`), and [`load_policy`] picks the loader from [`POLICY_KINDS`].

use super::policy::MlpPolicy;
use super::run::RunError;
use serde::{Deserialize, Serialize};
use sim::{Action, ScenarioEnv};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// What kind of learned thing an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Policy,
    Critic,
    Reward,
    Dynamics,
    Planner,
}

/// How a policy sees the next action, for the app's Policy view.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// A mixture's components: (weight, mean action), heaviest first.
    Modes(Vec<(f32, Action)>),
    /// A categorical policy's probability per choice.
    Choices(Vec<f32>),
}

/// A learned policy of any kind.
pub trait PolicyArtifact: sim::Policy + Debug + Send + Sync {
    /// The kind's name in `policy.json` (a key of [`POLICY_KINDS`]).
    fn kind(&self) -> &'static str;
    /// The action for the episode's next observation (the mode unless sampling).
    fn act_obs(&mut self, obs: &[f32]) -> Action;
    /// Actions for independent observations (each as an episode's first).
    fn act_batch(&self, obs: &[Vec<f32>]) -> Vec<Action> {
        let mut policy = self.boxed();
        obs.iter()
            .map(|o| {
                policy.reset(0);
                policy.act_obs(o)
            })
            .collect()
    }
    /// Sample from the action distribution instead of taking its mode.
    fn set_sampling(&mut self, sampling: bool);
    /// Whether two samples from the same state can differ (a generative or sampling policy):
    /// the app then draws several sampled continuations.
    fn stochastic(&self) -> bool {
        false
    }
    /// What it would do at `obs`, where the kind can say.
    fn distribution(&self, _obs: &[f32]) -> Option<Distribution> {
        None
    }
    /// `n` action chunks sampled at `obs` in one pass, for kinds that act in chunks (the
    /// app's scatter of sampled actions shows their first actions).
    fn sampled_chunks(&self, _obs: &[f32], _n: usize) -> Option<Vec<Vec<Action>>> {
        None
    }
    /// A planner's search from the state of `env` (whose latest observation is `obs`), run
    /// on a copy of the planner: the last iteration's candidates, their returns, the elites
    /// and the plan, for the app to draw. `None` for kinds that do not plan.
    fn search(&self, _env: &ScenarioEnv, _obs: &[f32]) -> Option<sim::planner::Searched> {
        None
    }
    /// Writes its files into `dir` (each atomically); returns their names.
    fn save(&self, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError>;
    /// Writes a file other tools read (weights and a description); returns its path.
    fn export(&self, dir: &Path, env: &ScenarioEnv) -> Result<PathBuf, RunError>;
    /// The MLP inside, for trainers that continue from it (`--init`).
    fn as_mlp(&self) -> Option<&MlpPolicy> {
        None
    }
    fn boxed(&self) -> Box<dyn PolicyArtifact>;
}

impl Clone for Box<dyn PolicyArtifact> {
    fn clone(&self) -> Self {
        self.boxed()
    }
}

/// An artifact that does not act (a critic, a model): saved beside the policy.
pub trait Artifact: Debug + Send + Sync {
    /// Its file stem in the run directory (`critic`).
    fn name(&self) -> &str;
    fn kind(&self) -> Kind;
    /// The format inside the kind (`twin_q`, `mlp`).
    fn format(&self) -> &str;
    /// Writes its files into `dir`; returns their names.
    fn save(&self, dir: &Path) -> Result<Vec<String>, RunError>;
}

/// One line of `RUN/artifacts.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    pub kind: Kind,
    pub format: String,
    pub files: Vec<String>,
}

/// Loads a policy kind's files from a run directory, checked against a scenario.
pub type Loader = fn(&Path, &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError>;

/// Every policy kind a run can hold, by the name `policy.json` gives it.
pub const POLICY_KINDS: &[(&str, Loader)] = &[
    ("mlp", super::policy::saved::load),
    ("flow", super::policy::chunk::load),
    ("diffusion", super::policy::chunk::load),
    ("cvae", super::policy::chunk::load),
    ("mpc", super::policy::mpc::load),
    (super::policy::planner::NAME, super::policy::planner::load),
];

/// The kind `policy.json` names (runs saved before kinds existed hold an MLP).
#[derive(Deserialize)]
struct KindOnly {
    #[serde(default = "mlp")]
    kind: String,
}

fn mlp() -> String {
    "mlp".into()
}

/// Loads the policy of a run directory, whatever its kind, and checks it fits `env`.
/// `planner` (when no such directory exists) is the sampling planner on the true simulator,
/// with the scenario's settings.
pub fn load_policy(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    if dir == Path::new(super::policy::planner::NAME) && !dir.exists() {
        return Ok(Box::new(super::policy::planner::SimPlanner::for_scenario(env)));
    }
    let path = dir.join("policy.json");
    let bytes = std::fs::read(&path).map_err(|source| RunError::Io { path: path.clone(), source })?;
    let kind: KindOnly =
        serde_json::from_slice(&bytes).map_err(|e| RunError::Invalid { path: path.clone(), what: e.to_string() })?;
    let (_, load) = POLICY_KINDS.iter().find(|(name, _)| *name == kind.kind).ok_or_else(|| RunError::Invalid {
        path: path.clone(),
        what: format!(
            "policy kind `{}` is not one this apprentice knows ({})",
            kind.kind,
            POLICY_KINDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    })?;
    load(dir, env)
}

/// Saves a policy and the other artifacts, then lists them all in `RUN/artifacts.json`.
pub fn save_all(
    dir: &Path,
    env: &ScenarioEnv,
    policy: Option<&dyn PolicyArtifact>,
    others: &[std::sync::Arc<dyn Artifact>],
) -> Result<Vec<Listed>, RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Io { path: dir.to_owned(), source })?;
    let mut listed = Vec::new();
    if let Some(policy) = policy {
        let files = policy.save(dir, env)?;
        listed.push(Listed { name: "policy".into(), kind: Kind::Policy, format: policy.kind().into(), files });
    }
    for artifact in others {
        let files = artifact.save(dir)?;
        listed.push(Listed {
            name: artifact.name().into(),
            kind: artifact.kind(),
            format: artifact.format().into(),
            files,
        });
    }
    let path = dir.join("artifacts.json");
    let json = serde_json::to_vec_pretty(&listed).expect("artifact lists serialize");
    data::dataset::write_atomic(&path, &json).map_err(|e| RunError::Invalid { path, what: e.to_string() })?;
    Ok(listed)
}

/// The artifacts a run directory lists (none for a run saved before the list existed).
pub fn listed(dir: &Path) -> Result<Vec<Listed>, RunError> {
    let path = dir.join("artifacts.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RunError::Invalid { path, what: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(RunError::Io { path, source }),
    }
}

/// A network that is not the policy (a critic), saved as `NAME.safetensors` (its weights)
/// and `NAME.json` (its kind, format and the algorithm config that rebuilds it).
#[derive(Debug)]
pub struct ModuleArtifact<M> {
    pub name: &'static str,
    pub kind: Kind,
    pub format: &'static str,
    pub module: M,
    pub description: serde_json::Value,
}

impl<M> Artifact for ModuleArtifact<M>
where
    M: burn::module::Module + Debug + Send + Sync,
{
    fn name(&self) -> &str {
        self.name
    }

    fn kind(&self) -> Kind {
        self.kind
    }

    fn format(&self) -> &str {
        self.format
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>, RunError> {
        use burn::store::{ModuleSnapshot, SafetensorsStore};
        let (json, weights) = (format!("{}.json", self.name), format!("{}.safetensors", self.name));
        let about = serde_json::json!({ "kind": self.kind, "format": self.format, "config": self.description });
        let path = dir.join(&json);
        data::dataset::write_atomic(&path, &serde_json::to_vec_pretty(&about).expect("serializes"))
            .map_err(|e| RunError::Invalid { path, what: e.to_string() })?;
        let (path, partial) = (dir.join(&weights), dir.join(format!("{weights}.partial")));
        let mut store = SafetensorsStore::from_file(&partial);
        self.module
            .save_into(&mut store)
            .map_err(|e| RunError::Invalid { path: partial.clone(), what: format!("{e:?}") })?;
        std::fs::rename(&partial, &path).map_err(|source| RunError::Io { path, source })?;
        Ok(vec![json, weights])
    }
}

/// A critic network as an artifact, described by the algorithm's config.
pub fn critic<M, C>(format: &'static str, module: M, config: &C) -> std::sync::Arc<dyn Artifact>
where
    M: burn::module::Module + Debug + Send + Sync + 'static,
    C: Serialize,
{
    let description = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    std::sync::Arc::new(ModuleArtifact { name: "critic", kind: Kind::Critic, format, module, description })
}
