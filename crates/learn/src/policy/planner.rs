//! The sampling planner on the true simulator as a policy kind (`planner`): what `eval`,
//! `--compare`, the app and DAgger take as `--policy planner`, with the scenario's
//! `Planner(...)` settings. It searches on copies of the world it is asked to act in, so it
//! acts through [`sim::Policy::act`]; given only an observation it follows its plan.

use super::saved::{PlannerMeta, read_meta, save_planner_meta};
use crate::artifact::PolicyArtifact;
use crate::run::RunError;
use sim::planner::{Planner, PlannerConfig, Searched, SequenceSearch};
use sim::{Action, Env, Policy as _, ScenarioEnv, Space};
use std::path::{Path, PathBuf};

/// What `--policy` names to get the planner instead of a run directory.
pub const NAME: &str = "planner";

/// MPC on copies of the true world.
#[derive(Clone)]
pub struct SimPlanner {
    pub planner: Planner,
    /// The scenario's action space (for a plan before the first search).
    space: Space,
}

impl std::fmt::Debug for SimPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPlanner").field("config", &self.planner.config).finish()
    }
}

impl SimPlanner {
    /// The planner with `env`'s scenario settings.
    pub fn for_scenario(env: &ScenarioEnv) -> SimPlanner {
        SimPlanner::new(env.scenario().planner_settings(), env)
    }

    pub fn new(config: PlannerConfig, env: &ScenarioEnv) -> SimPlanner {
        SimPlanner { planner: Planner::new(config), space: env.action_space().clone() }
    }
}

/// The `planner` entry of [`crate::artifact::POLICY_KINDS`].
pub fn load(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    let (_, meta): (_, PlannerMeta) = read_meta(dir)?;
    Ok(Box::new(SimPlanner::new(meta.planner, env)))
}

impl sim::Policy for SimPlanner {
    fn act(&mut self, env: &ScenarioEnv, obs: &[f32]) -> Action {
        self.planner.act(env, obs)
    }

    fn reset(&mut self, seed: u64) {
        self.planner.reset(seed);
    }
}

impl PolicyArtifact for SimPlanner {
    fn kind(&self) -> &'static str {
        NAME
    }

    /// Without the world there is nothing to search on: the plan's next action (before the
    /// first search, the middle of the action space or the first choice).
    fn act_obs(&mut self, _obs: &[f32]) -> Action {
        let (config, space) = (&self.planner.config, &self.space);
        let search = self.planner.search.get_or_insert_with(|| SequenceSearch::new(config.clone(), space.clone()));
        let action = search.peek();
        search.shift();
        action
    }

    fn set_sampling(&mut self, _sampling: bool) {}

    fn search(&self, env: &ScenarioEnv, obs: &[f32]) -> Option<Searched> {
        let mut planner = self.planner.clone();
        planner.act(env, obs);
        planner.search.map(|s| s.last)
    }

    fn save(&self, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError> {
        Ok(vec![save_planner_meta(dir, NAME, env, &self.planner.config)?])
    }

    fn export(&self, dir: &Path, _env: &ScenarioEnv) -> Result<PathBuf, RunError> {
        Err(RunError::Invalid {
            path: dir.join("policy.json"),
            what: "the planner searches on the simulator itself and has no network to export".into(),
        })
    }

    fn boxed(&self) -> Box<dyn PolicyArtifact> {
        Box::new(self.clone())
    }
}
