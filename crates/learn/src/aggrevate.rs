//! AggreVaTe (Ross & Bagnell 2014; the roll-in/roll-out view of Daumé's lecture): roll in
//! with the learner, and at states sampled from its episodes try several actions, each
//! followed by the reference (the scenario's expert: scripted, or the planner) rolling out
//! from a copy of the world. The action with the best return-to-go there becomes the label
//! (cost-sensitive classification reduced to imitating the cheapest action); labels
//! aggregate over rounds and behaviour cloning retrains on everything. Unlike DAgger's, a
//! label is judged by what it leads to, not by agreeing with the reference.

use super::bc::{self, BcConfig};
use super::error::TrainError;
use super::policy::MlpPolicy;
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::trainer::{Algorithm, Metrics};
use burn::prelude::Device;
use super::corrective::one_step_episode;
use data::{Episode, EpisodeMeta};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim::experts::ExpertSpec;
use sim::{Action, Env, ScenarioEnv};

/// AggreVaTe's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AggrevateConfig {
    /// Aggregation rounds after the initial behaviour cloning.
    pub rounds: usize,
    /// Learner roll-ins per round.
    pub episodes_per_round: usize,
    /// States explored per roll-in, at steps drawn uniformly over the episode.
    pub states_per_episode: usize,
    /// Actions tried at each explored state: every choice of a discrete space; for
    /// continuous ones the learner's, the reference's and uniformly drawn ones, this many in all.
    pub actions: usize,
    /// Steps the reference rolls out after each tried action (the return-to-go's horizon).
    pub horizon: usize,
    /// Seed of the roll-ins, the explored steps and the drawn actions.
    pub seed: u64,
    /// The behaviour cloning every round runs on the demonstrations and the labels.
    pub bc: BcConfig,
}

impl Default for AggrevateConfig {
    fn default() -> AggrevateConfig {
        AggrevateConfig {
            rounds: 3,
            episodes_per_round: 4,
            states_per_episode: 40,
            actions: 6,
            horizon: 40,
            seed: 2_000,
            bc: BcConfig::default(),
        }
    }
}

/// Hyperparameters that can change while AggreVaTe runs (the later rounds use them).
pub const LIVE: [&str; 5] = ["rounds", "episodes_per_round", "states_per_episode", "actions", "horizon"];

/// AggreVaTe as a sequence of rounds (round 0 is the initial behaviour cloning).
pub struct AggrevateTrainer {
    env: ScenarioEnv,
    expert: ExpertSpec,
    pub config: AggrevateConfig,
    /// The demonstrations, then every round's labels (one-step episodes).
    pub data: Vec<Episode>,
    policy: Option<MlpPolicy>,
    rounds: usize,
    step: usize,
    /// Reference actions taken in roll-outs so far: what the labels cost the reference.
    pub reference_steps: usize,
    device: Device,
}

impl AggrevateTrainer {
    pub fn new(
        env: &ScenarioEnv,
        demos: Vec<Episode>,
        config: &AggrevateConfig,
        device: &Device,
    ) -> Result<AggrevateTrainer, TrainError> {
        let expert = env.scenario().expert.clone().ok_or_else(|| {
            TrainError::NoData(format!(
                "scenario `{}` has no expert to roll out from explored states (--expert planner uses the sampling planner)",
                env.scenario().name
            ))
        })?;
        Ok(AggrevateTrainer {
            env: env.fork(),
            expert,
            config: config.clone(),
            data: demos,
            policy: None,
            rounds: 0,
            step: 0,
            reference_steps: 0,
            device: device.clone(),
        })
    }

    /// Runs the next round; `None` after the last. Returns the mean return of its roll-ins.
    pub fn round(&mut self) -> Result<Option<f64>, TrainError> {
        if self.rounds > self.config.rounds {
            return Ok(None);
        }
        let mut rollout_return = f64::NAN;
        if let Some(policy) = &self.policy {
            let seed = self.config.seed + (self.rounds * self.config.episodes_per_round) as u64;
            let explored: Vec<(f64, Vec<Episode>, usize)> = (0..self.config.episodes_per_round as u64)
                .into_par_iter()
                .map(|k| self.explore(policy, seed + k))
                .collect::<Result<_, TrainError>>()?;
            rollout_return = explored.iter().map(|(r, _, _)| r).sum::<f64>() / explored.len().max(1) as f64;
            for (_, labels, steps) in explored {
                self.data.extend(labels);
                self.reference_steps += steps;
            }
        }
        let (policy, epochs) = bc::train_on(&self.env, &self.data, &self.config.bc, &self.device, &mut |_| {})?;
        self.step += epochs.last().map_or(0, |e| e.step);
        self.policy = Some(policy);
        self.rounds += 1;
        Ok(Some(rollout_return))
    }

    /// One learner roll-in from `seed`: its return, the labels of its explored states and
    /// the reference steps they took.
    fn explore(&self, policy: &MlpPolicy, seed: u64) -> Result<(f64, Vec<Episode>, usize), TrainError> {
        let mut env = self.env.fork();
        let mut learner = policy.clone();
        learner.reset(seed);
        let mut obs = env.reset(seed);
        // The world before every step of the roll-in, and the learner's action there.
        let mut visited: Vec<(ScenarioEnv, Vec<f32>, Action)> = Vec::new();
        let mut total = 0.0;
        loop {
            let action = learner.act(&obs);
            visited.push((env.clone(), obs.clone(), action.clone()));
            let step = env.step(&action).map_err(|e| TrainError::Config(format!("roll-in from seed {seed}: {e}")))?;
            total += step.reward as f64;
            if step.done() {
                break;
            }
            obs = step.obs;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA66E);
        let (mut labels, mut reference_steps) = (Vec::new(), 0);
        for _ in 0..self.config.states_per_episode {
            let (state, obs, own) = &visited[rng.random_range(0..visited.len())];
            let candidates = self.candidates(state, obs, own, seed, &mut rng);
            let mut best = (f32::NEG_INFINITY, 0);
            for (i, action) in candidates.iter().enumerate() {
                let (value, steps) = self.return_to_go(state, action, seed);
                reference_steps += steps;
                if value > best.0 {
                    best = (value, i);
                }
            }
            labels.push(self.label(state, obs, &candidates[best.1], seed));
        }
        Ok((total, labels, reference_steps))
    }

    /// The actions tried at `state`: every discrete choice, or the learner's, the
    /// reference's and uniformly drawn ones.
    fn candidates(&self, state: &ScenarioEnv, obs: &[f32], own: &Action, seed: u64, rng: &mut ChaCha8Rng) -> Vec<Action> {
        let space = state.action_space();
        if let sim::Space::Discrete { n } = space {
            return (0..*n).map(Action::Discrete).collect();
        }
        let mut reference = self.expert.policy();
        reference.reset(seed);
        let mut out = vec![own.clone(), reference.act(state, obs)];
        while out.len() < self.config.actions.max(2) {
            out.push(space.sample(rng));
        }
        out
    }

    /// The return of `action` at `state` followed by `horizon` steps of the reference, and
    /// the reference steps taken.
    fn return_to_go(&self, state: &ScenarioEnv, action: &Action, seed: u64) -> (f32, usize) {
        let mut env = state.clone();
        let mut reference = self.expert.policy();
        reference.reset(seed);
        let Ok(mut step) = env.step(action) else { return (f32::NEG_INFINITY, 0) };
        let mut total = step.reward;
        let mut taken = 0;
        while !step.done() && taken < self.config.horizon {
            let next = reference.act(&env, &step.obs);
            let Ok(s) = env.step(&next) else { break };
            (step, taken) = (s, taken + 1);
            total += step.reward;
        }
        (total, taken)
    }

    /// A one-step episode from `state`: `action` executed and labelled.
    fn label(&self, state: &ScenarioEnv, obs: &[f32], action: &Action, seed: u64) -> Episode {
        let s = state.scenario();
        let meta = EpisodeMeta {
            scenario: s.name.clone(),
            scenario_hash: s.source_hash.clone(),
            seed,
            device: "aggrevate".into(),
            tags: vec!["aggrevate".into()],
            note: String::new(),
            partial: false,
        };
        one_step_episode(state, obs.to_vec(), action.clone(), meta)
    }
}

impl Algorithm for AggrevateTrainer {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        let round = self.rounds;
        Ok(self.round()?.map(|rollout_return| Metrics {
            step: self.step,
            values: vec![
                ("round", round as f64),
                ("aggrevate/episodes", self.data.len() as f64),
                ("aggrevate/reference_steps", self.reference_steps as f64),
                ("rollout/return_mean", rollout_return),
            ],
        }))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        self.policy.clone().map(|p| Box::new(p) as Box<dyn crate::artifact::PolicyArtifact>)
    }

    fn step(&self) -> usize {
        self.step
    }
}

/// AggreVaTe in the registry.
pub const ENTRY: Entry = Entry {
    name: "aggrevate",
    summary: "AggreVaTe: roll in with the learner, try actions, roll out with the expert, imitate the best return-to-go",
    preset_of: None,
    // DAgger's, and the scenario's reward judges the tried actions.
    needs: Needs { reward: true, ..super::dagger::ENTRY.needs },
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[
        Plot::against("Rollouts", "round", Unit::Rounds, &["rollout/return_mean"]),
        Plot::against("Labels", "round", Unit::Rounds, &["aggrevate/episodes"]),
    ],
    config: ConfigType::of::<AggrevateConfig>(defaults_of::<AggrevateConfig>),
    budget: |t| Ok(Budget::indexed(typed::<AggrevateConfig>(t)?.rounds + 1, "round")),
    build: |t, cx| Ok(Box::new(AggrevateTrainer::new(cx.env, cx.demos, &typed(t)?, cx.device)?)),
};
