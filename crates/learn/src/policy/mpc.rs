//! MPC through a learned dynamics model (PETS' policy, Chua et al. 2018): at every step the
//! sampling planner (CEM or MPPI) searches action sequences whose returns the ensemble
//! imagines, executes the first action and plans again from the next observation. Saved as
//! `policy.json` (kind `mpc`: the planner's settings) beside the model's `dynamics.json`
//! and `dynamics.safetensors`.

use super::saved::{PlannerMeta, read_meta, save_planner_meta};
use crate::artifact::{Artifact, PolicyArtifact};
use crate::dynamics::DynamicsModel;
use crate::run::RunError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::planner::{PlannerConfig, Searched, SequenceSearch};
use sim::{Action, ScenarioEnv};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A sampling planner scoring its candidates on a learned model.
#[derive(Debug, Clone)]
pub struct MpcPolicy {
    /// Shared: every evaluation episode's copy plans through the same weights.
    pub model: Arc<DynamicsModel>,
    pub planner: PlannerConfig,
    search: SequenceSearch,
    /// Draws the imagined transitions' noise.
    rng: ChaCha8Rng,
}

impl MpcPolicy {
    pub fn new(model: Arc<DynamicsModel>, planner: PlannerConfig) -> MpcPolicy {
        let search = SequenceSearch::new(planner.clone(), model.meta.action_space.clone());
        let rng = ChaCha8Rng::seed_from_u64(planner.seed);
        MpcPolicy { model, planner, search, rng }
    }

    /// Searches from `obs` and returns the plan's first action.
    pub fn plan(&mut self, obs: &[f32]) -> Action {
        let (model, gamma, rng) = (&self.model, self.planner.gamma, &mut self.rng);
        self.search.next_action(&mut |candidates| model.imagine(obs, candidates, gamma, rng))
    }

    /// Swaps in a refitted model, keeping the plan (PETS' collection goes on with it).
    pub fn set_model(&mut self, model: Arc<DynamicsModel>) {
        self.model = model;
    }
}

/// The `mpc` entry of [`crate::artifact::POLICY_KINDS`].
pub fn load(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    let (_, meta): (_, PlannerMeta) = read_meta(dir)?;
    let model = DynamicsModel::load(dir, env)?;
    Ok(Box::new(MpcPolicy::new(Arc::new(model), meta.planner)))
}

impl sim::Policy for MpcPolicy {
    fn act(&mut self, _env: &ScenarioEnv, obs: &[f32]) -> Action {
        self.plan(obs)
    }

    fn reset(&mut self, seed: u64) {
        self.search.reset(seed);
        self.rng = ChaCha8Rng::seed_from_u64(self.planner.seed ^ seed.wrapping_mul(0xA24B_AED4_963E_E407));
    }
}

impl PolicyArtifact for MpcPolicy {
    fn kind(&self) -> &'static str {
        "mpc"
    }

    fn act_obs(&mut self, obs: &[f32]) -> Action {
        self.plan(obs)
    }

    /// The search samples whatever this says; its plan is always the mode it settled on.
    fn set_sampling(&mut self, _sampling: bool) {}

    fn search(&self, _env: &ScenarioEnv, obs: &[f32]) -> Option<Searched> {
        let mut planner = self.clone();
        planner.plan(obs);
        Some(planner.search.last)
    }

    fn save(&self, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError> {
        let mut files = self.model.save(dir)?;
        files.push(save_planner_meta(dir, "mpc", env, &self.planner)?);
        Ok(files)
    }

    fn export(&self, dir: &Path, _env: &ScenarioEnv) -> Result<PathBuf, RunError> {
        Err(RunError::Invalid {
            path: dir.join("policy.json"),
            what: "an MPC policy plans through its dynamics model and has no policy network to export \
                   (dynamics.safetensors holds the model)"
                .into(),
        })
    }

    fn boxed(&self) -> Box<dyn PolicyArtifact> {
        Box::new(self.clone())
    }
}
