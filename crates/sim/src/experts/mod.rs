//! Scripted experts: each built-in task names one in its scenario file, with its parameters,
//! so a user's variant of a task can reuse an expert with retuned numbers.
//!
//! Every expert computes the actuator commands it wants; `realize` turns them into the
//! nearest action the scenario's action space allows (a discrete choice or a clipped vector).

mod detour;
mod feedback;
mod lander;
mod pursuit;
mod push_t;
mod reacher;
mod swing_up;

use super::planner::{Planner, PlannerConfig};
use super::policy::Policy;
use super::scenario::{ActionSpec, Scenario};
use super::scenario_check::Ref;
use super::scenario_env::ScenarioEnv;
use super::space::Action;
use serde::{Deserialize, Serialize};

pub use detour::Detour;
pub use feedback::{Feedback, Pump};
pub use lander::Lander;
pub use pursuit::PurePursuit;
pub use push_t::PushT;
pub use reacher::Reacher;
pub use swing_up::SwingUp;

/// The scripted expert of a scenario, as written in its file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ExpertSpec {
    Feedback(Feedback),
    Pump(Pump),
    SwingUp(SwingUp),
    Lander(Lander),
    PushT(PushT),
    Reacher(Reacher),
    PurePursuit(PurePursuit),
    Detour(Detour),
    /// Model-predictive control on the true simulator with the scenario's own reward: an
    /// expert for a scenario nobody scripted one for.
    Planner(PlannerConfig),
}

/// An expert's control law: desired actuator commands for the current state.
pub trait Controller: Clone + Send + 'static {
    /// Desired command per actuator (indexed like `scenario.actuators`).
    fn commands(&mut self, env: &ScenarioEnv, obs: &[f32]) -> Vec<f32>;
    /// Names the expert refers to, for validation.
    fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>);
    /// Further checks against the scenario (actuator names, sizes).
    fn check(&self, scenario: &Scenario) -> Result<(), String>;
    /// Clears per-episode memory at the start of the episode with this seed.
    fn reset(&mut self, _seed: u64) {}
}

macro_rules! each_expert {
    ($self:ident, $e:ident => $body:expr) => {
        match $self {
            ExpertSpec::Feedback($e) => $body,
            ExpertSpec::Pump($e) => $body,
            ExpertSpec::SwingUp($e) => $body,
            ExpertSpec::Lander($e) => $body,
            ExpertSpec::PushT($e) => $body,
            ExpertSpec::Reacher($e) => $body,
            ExpertSpec::PurePursuit($e) => $body,
            ExpertSpec::Detour($e) => $body,
            ExpertSpec::Planner(_) => unreachable!("the planner is no controller"),
        }
    };
}

impl ExpertSpec {
    pub fn references<'a>(&'a self, out: &mut Vec<Ref<'a>>) {
        if !matches!(self, ExpertSpec::Planner(_)) {
            each_expert!(self, e => e.references(out))
        }
    }

    pub fn check(&self, scenario: &Scenario) -> Result<(), String> {
        match self {
            ExpertSpec::Planner(p) if p.horizon == 0 || p.samples == 0 || p.iterations == 0 => {
                Err("a Planner needs horizon, samples and iterations of at least 1".into())
            }
            ExpertSpec::Planner(_) => Ok(()),
            _ => each_expert!(self, e => e.check(scenario)),
        }
    }

    /// A policy that runs this expert.
    pub fn policy(&self) -> Box<dyn Policy> {
        match self {
            ExpertSpec::Planner(config) => Box::new(Planner::new(config.clone())),
            _ => each_expert!(self, e => Box::new(Expert(e.clone()))),
        }
    }
}

impl Scenario {
    /// The settings `--expert planner` plans with: the expert `Planner(...)` the scenario
    /// names, else its `planner` settings, else the planner's defaults.
    pub fn planner_settings(&self) -> PlannerConfig {
        match &self.expert {
            Some(ExpertSpec::Planner(config)) => config.clone(),
            _ => self.planner.clone().unwrap_or_default(),
        }
    }

    /// This scenario with the sampling planner as its expert, in place of its scripted expert
    /// (or of none).
    pub fn with_planner_expert(mut self) -> Scenario {
        self.expert = Some(ExpertSpec::Planner(self.planner_settings()));
        self
    }
}

impl ScenarioEnv {
    /// An environment of the same scenario whose expert is the sampling planner.
    pub fn with_planner_expert(&self) -> ScenarioEnv {
        ScenarioEnv::new(self.scenario().clone().with_planner_expert())
    }
}

/// Adapts a controller to the `Policy` interface.
struct Expert<C>(C);

impl<C: Controller> Policy for Expert<C> {
    fn act(&mut self, env: &ScenarioEnv, obs: &[f32]) -> Action {
        let desired = self.0.commands(env, obs);
        realize(env.scenario(), &desired)
    }

    fn reset(&mut self, seed: u64) {
        self.0.reset(seed);
    }
}

/// The action whose actuator commands come closest to `desired`.
pub fn realize(s: &Scenario, desired: &[f32]) -> Action {
    let command_of = |choice: &Vec<(String, f32)>| {
        let mut c = vec![0.0; s.actuators.len()];
        for (name, v) in choice {
            c[s.actuator_index(name).expect("validated")] += v;
        }
        c
    };
    let distance = |c: &[f32]| c.iter().zip(desired).map(|(a, b)| (a - b).powi(2)).sum::<f32>();
    let nearest = |table: &Vec<Vec<(String, f32)>>| {
        let mut best = (0, f32::MAX);
        for (i, choice) in table.iter().enumerate() {
            let d = distance(&command_of(choice));
            if d < best.1 {
                best = (i, d);
            }
        }
        best.0
    };
    match &s.actions {
        ActionSpec::Box(names) => Action::Continuous(
            names
                .iter()
                .map(|n| {
                    let i = s.actuator_index(n).expect("validated");
                    desired[i].clamp(s.actuators[i].range[0], s.actuators[i].range[1])
                })
                .collect(),
        ),
        ActionSpec::Discrete(table) => Action::Discrete(nearest(table)),
        ActionSpec::MultiDiscrete(tables) => Action::MultiDiscrete(tables.iter().map(nearest).collect()),
    }
}

/// Per-actuator commands: `pairs` of (actuator name, command), every other actuator at 0.
/// Names were checked against the scenario when it loaded.
pub fn commands(s: &Scenario, pairs: &[(&str, f32)]) -> Vec<f32> {
    let mut commands = vec![0.0; s.actuators.len()];
    for (name, value) in pairs {
        commands[s.actuator_index(name).expect("checked")] = *value;
    }
    commands
}

/// Index of a named actuator, for `check`.
fn actuator(s: &Scenario, name: &str) -> Result<usize, String> {
    s.actuator_index(name).ok_or_else(|| format!("no actuator is named `{name}`"))
}
