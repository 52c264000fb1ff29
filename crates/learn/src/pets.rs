//! PETS (Chua et al. 2018; Levine & Finn part 5, "learn a model, then plan with it"): act
//! at random for a while, fit the probabilistic ensemble to every transition seen, then
//! collect with MPC through the model (the sampling planner, trajectories sampled through
//! the members), refit on the grown data, and repeat. The policy is the planner itself
//! (kind `mpc`); nothing but the model is trained. As in the paper, the task's cost is taken
//! as known where the observations show it (`dynamics.known_reward`, `known_failures`): the
//! ensemble learns the physics.

use super::dynamics::{DynamicsConfig, DynamicsModel, DynamicsTrainer};
use super::error::TrainError;
use super::policy::mpc::MpcPolicy;
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::trainer::{Algorithm, Metrics};
use burn::prelude::Device;
use data::{Episode, EpisodeMeta, Source, StepRecord};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::planner::{Method, PlannerConfig};
use sim::{Action, Env, ScenarioEnv};
use std::sync::Arc;

/// PETS' budget, model and planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PetsConfig {
    /// Environment steps in all, random and planned.
    pub env_steps: usize,
    /// Steps of uniformly random actions before the first model is fitted.
    pub random_steps: usize,
    /// Planned steps between refits of the model (each refit starts from fresh weights on
    /// every transition so far).
    pub refit_every: usize,
    /// The ensemble; `epochs` are passes over the data at each refit, and `val_fraction`
    /// holds out episodes that the model then never learns from.
    pub dynamics: DynamicsConfig,
    /// The planner that searches through the model.
    pub planner: PlannerConfig,
    /// Seed of the collected episodes and the random actions.
    pub seed: u64,
}

impl Default for PetsConfig {
    fn default() -> PetsConfig {
        PetsConfig {
            env_steps: 1500,
            random_steps: 200,
            refit_every: 100,
            dynamics: DynamicsConfig {
                hidden: vec![200, 200],
                val_fraction: 0.0,
                epochs: 100,
                known_reward: true,
                ..DynamicsConfig::default()
            },
            planner: PlannerConfig { method: Method::Cem, horizon: 25, samples: 100, iterations: 3, elites: 10, ..PlannerConfig::default() },
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while PETS runs.
pub const LIVE: [&str; 2] = ["refit_every", "env_steps"];

/// The PETS loop: a collecting environment, the data so far and the planner.
pub struct PetsTrainer {
    pub config: PetsConfig,
    env: ScenarioEnv,
    obs: Vec<f32>,
    /// The episode being collected.
    current: Episode,
    /// Finished episodes (and the run's demonstrations, if it has any).
    episodes: Vec<Episode>,
    /// MPC on the latest model (none before the first fit).
    mpc: Option<MpcPolicy>,
    env_steps: usize,
    episodes_started: u64,
    rng: ChaCha8Rng,
    device: Device,
}

impl PetsTrainer {
    pub fn new(env: &ScenarioEnv, config: &PetsConfig, demos: &[Episode], device: &Device) -> Result<PetsTrainer, TrainError> {
        if config.refit_every == 0 || config.env_steps == 0 {
            return Err(TrainError::Config("env_steps and refit_every must be at least 1".into()));
        }
        let mut trainer = PetsTrainer {
            config: config.clone(),
            env: env.clone(),
            obs: Vec::new(),
            current: empty_episode(env, 0),
            episodes: demos.to_vec(),
            mpc: None,
            env_steps: 0,
            episodes_started: 0,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            device: device.clone(),
        };
        trainer.start_episode();
        Ok(trainer)
    }

    fn start_episode(&mut self) {
        let seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add(self.episodes_started);
        self.episodes_started += 1;
        self.obs = self.env.reset(seed);
        self.current = empty_episode(&self.env, seed);
        if let Some(mpc) = &mut self.mpc {
            sim::Policy::reset(mpc, seed);
        }
    }

    /// MPC on the latest model, once there is one.
    pub fn policy(&self) -> Option<MpcPolicy> {
        self.mpc.clone()
    }

    /// Collects up to the next refit point (the end of the random phase, then every
    /// `refit_every` steps); returns the finished episodes' returns.
    fn collect(&mut self) -> Result<Vec<f32>, TrainError> {
        let target = if self.env_steps < self.config.random_steps || self.mpc.is_none() {
            self.config.random_steps.max(1)
        } else {
            self.env_steps + self.config.refit_every
        };
        let target = target.min(self.config.env_steps);
        let mut finished = Vec::new();
        while self.env_steps < target {
            let action = match &mut self.mpc {
                Some(mpc) if self.env_steps >= self.config.random_steps => mpc.plan(&self.obs),
                _ => self.env.action_space().sample(&mut self.rng),
            };
            let step = self.env.step(&action).map_err(|e| TrainError::Config(e.to_string()))?;
            let obs = std::mem::replace(&mut self.obs, step.obs.clone());
            self.current.steps.push(StepRecord::from_step(obs, action, &step, Source::Policy, None));
            self.env_steps += 1;
            if step.done() {
                self.current.final_obs = step.obs;
                finished.push(self.current.steps.iter().map(|s| s.reward).sum());
                let done = std::mem::replace(&mut self.current, empty_episode(&self.env, 0));
                self.episodes.push(done);
                self.start_episode();
            }
        }
        Ok(finished)
    }

    /// Fits a fresh ensemble to every transition so far, the running episode's included.
    fn refit(&mut self) -> Result<(DynamicsModel, f64), TrainError> {
        let mut data = self.episodes.clone();
        if !self.current.steps.is_empty() {
            let mut running = self.current.clone();
            running.final_obs = self.obs.clone();
            data.push(running);
        }
        let mut fit = DynamicsTrainer::new(&self.env, &data, &self.config.dynamics, &self.device)?;
        let loss = fit.fit()?;
        Ok((fit.model(), loss))
    }

    /// One unit: collect to the next refit point, then refit.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if self.env_steps >= self.config.env_steps {
            return Ok(None);
        }
        let from = self.episodes.len();
        let returns = self.collect()?;
        // How well the old model predicted the steps it had not seen (before it learns them).
        let surprise = match &self.mpc {
            Some(mpc) => one_step_error(&mpc.model, &self.episodes[from..], &self.current),
            None => f64::NAN,
        };
        let (model, loss) = self.refit()?;
        let model = Arc::new(model);
        match &mut self.mpc {
            Some(mpc) => mpc.set_model(model),
            None => {
                let mut mpc = MpcPolicy::new(model, self.config.planner.clone());
                sim::Policy::reset(&mut mpc, self.current.meta.seed);
                self.mpc = Some(mpc);
            }
        }
        let mean = |v: &[f32]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f32>() as f64 / v.len() as f64 };
        Ok(Some(Metrics {
            step: self.env_steps,
            values: vec![
                ("rollout/return_mean", mean(&returns)),
                ("train/model_loss", loss),
                ("model/new_steps_mse", surprise),
                ("data/transitions", self.episodes.iter().map(Episode::len).sum::<usize>() as f64),
            ],
        }))
    }
}

/// An episode with no steps yet, from `env`'s state right after its reset.
fn empty_episode(env: &ScenarioEnv, seed: u64) -> Episode {
    let s = env.scenario();
    let meta = EpisodeMeta {
        scenario: s.name.clone(),
        scenario_hash: s.source_hash.clone(),
        seed,
        device: "pets".into(),
        tags: vec!["pets".into()],
        note: String::new(),
        partial: false,
    };
    Episode { meta, initial: env.state(), steps: Vec::new(), final_obs: Vec::new() }
}

/// The model's mean-squared one-step error on the newest steps: the finished episodes'
/// and the running one's (whose last step has no next observation yet, so it is left out).
fn one_step_error(model: &DynamicsModel, finished: &[Episode], running: &Episode) -> f64 {
    let mut pairs: Vec<(&[f32], &Action, &[f32])> = Vec::new();
    for e in finished {
        for (t, s) in e.steps.iter().enumerate() {
            pairs.push((&s.obs, &s.action, e.steps.get(t + 1).map_or(&e.final_obs, |n| &n.obs)));
        }
    }
    for w in running.steps.windows(2) {
        pairs.push((&w[0].obs, &w[0].action, &w[1].obs));
    }
    if pairs.is_empty() {
        return f64::NAN;
    }
    let predicted = model.predict(&pairs.iter().map(|(o, a, _)| (*o, *a)).collect::<Vec<_>>());
    let members = predicted.len() as f32;
    let mut total = 0.0;
    for (i, (_, _, next)) in pairs.iter().enumerate() {
        for (j, truth) in next.iter().enumerate() {
            let mean = predicted.iter().map(|p| p[i].next_obs[j]).sum::<f32>() / members;
            total += ((mean - truth) as f64).powi(2) / next.len() as f64;
        }
    }
    total / pairs.len() as f64
}

impl Algorithm for PetsTrainer {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        self.update()
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        self.mpc.clone().map(|p| Box::new(p) as Box<dyn crate::artifact::PolicyArtifact>)
    }

    fn step(&self) -> usize {
        self.env_steps
    }
}

/// PETS in the registry.
pub const ENTRY: Entry = Entry {
    name: "pets",
    summary: "PETS: MPC through a probabilistic ensemble, refitted as it collects (the policy is the planner)",
    preset_of: None,
    needs: Needs::REWARD,
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Model", Unit::EnvSteps, &["train/model_loss"]),
        Plot::steps("Model error on new steps", Unit::EnvSteps, &["model/new_steps_mse"]),
    ],
    config: ConfigType::of::<PetsConfig>(defaults_of::<PetsConfig>),
    budget: |t| Ok(Budget::steps(typed::<PetsConfig>(t)?.env_steps)),
    build: |t, cx| Ok(Box::new(PetsTrainer::new(cx.env, &typed(t)?, &cx.demos, cx.device)?)),
};
