//! One demonstration episode: where it started, every step, and who was driving.

use serde::{Deserialize, Serialize};
use sim::scenario_env::EnvState;
use sim::{Action, Step};

/// Who chose the executed action of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    Human,
    Expert,
    Policy,
    /// A human taking over from a running policy (HG-DAgger corrections).
    Intervention,
}

impl Source {
    pub fn code(self) -> u8 {
        self as u8
    }
    pub fn from_code(code: u8) -> Option<Source> {
        [Source::Human, Source::Expert, Source::Policy, Source::Intervention].get(code as usize).copied()
    }
}

/// One environment step as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The observation the action was chosen on.
    pub obs: Vec<f32>,
    /// The action executed in the environment.
    pub action: Action,
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    pub success: bool,
    pub source: Source,
    /// The expert's clean action for this state, kept apart from the executed one
    /// (they differ under noise injection or when a policy drove).
    pub expert_label: Option<Action>,
    /// Seconds since the Unix epoch when the step was taken.
    pub time: f64,
}

impl StepRecord {
    /// The record of acting `action` on `obs` with `step` as the result, stamped now.
    pub fn from_step(
        obs: Vec<f32>,
        action: Action,
        step: &Step,
        source: Source,
        expert_label: Option<Action>,
    ) -> StepRecord {
        StepRecord {
            obs,
            action,
            reward: step.reward,
            terminated: step.terminated,
            truncated: step.truncated,
            success: step.success,
            source,
            expert_label,
            time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// Facts about an episode as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeMeta {
    pub scenario: String,
    /// Content hash of the scenario file the episode was recorded on.
    pub scenario_hash: String,
    pub seed: u64,
    /// Keyboard, gamepad name, "scripted", ...
    pub device: String,
    pub tags: Vec<String>,
    pub note: String,
    /// Recovered from an interrupted recording: it ends where the recording stopped.
    pub partial: bool,
}

impl EpisodeMeta {
    /// The metadata of an episode imported from another tool's file `from` (a description,
    /// e.g. `Minari DIR/data/3`) into `scenario`; without a seed it is noted as not replayable.
    pub fn imported(scenario: &sim::Scenario, seed: Option<u64>, from: &str) -> EpisodeMeta {
        let note = match seed {
            Some(_) => format!("imported from {from}"),
            None => format!("imported from {from} without a seed: not replayable"),
        };
        EpisodeMeta {
            scenario: scenario.name.clone(),
            scenario_hash: scenario.source_hash.clone(),
            seed: seed.unwrap_or(0),
            device: "import".into(),
            tags: Vec::new(),
            note,
            partial: false,
        }
    }
}

/// A whole episode: metadata, the initial state, the steps and the final observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub meta: EpisodeMeta,
    /// The environment right after reset: re-simulating from it reproduces the episode.
    pub initial: EnvState,
    pub steps: Vec<StepRecord>,
    /// The observation after the last step.
    pub final_obs: Vec<f32>,
}

impl Episode {
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
    pub fn ret(&self) -> f32 {
        self.steps.iter().map(|s| s.reward).sum()
    }
    pub fn success(&self) -> bool {
        self.steps.iter().any(|s| s.success)
    }
    /// The sources that drove at least one step, in a fixed order.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources: Vec<Source> = Vec::new();
        for s in &self.steps {
            if !sources.contains(&s.source) {
                sources.push(s.source);
            }
        }
        sources.sort_by_key(|s| s.code());
        sources
    }
}
