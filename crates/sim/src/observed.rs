//! The task's definition read off its observations: failure thresholds and reward terms a
//! learned model's planner can take as known instead of learning them (PETS takes the task's
//! cost as known and learns only the physics).

use super::measure::Measure;
use super::scenario::{ActionSpec, Condition, Obs, Quantity, RewardTerm, Scenario};
use super::scenario_env::set_commands;
use super::space::Action;
use serde::{Deserialize, Serialize};

/// A failure condition the observation shows directly: the episode fails when observation
/// `index` leaves [`low`, `high`]. A planner can know these instead of learning them from the
/// few failures it has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedLimit {
    pub index: usize,
    pub low: f32,
    pub high: f32,
}

impl ObservedLimit {
    /// Whether `obs` breaks any of `limits`.
    pub fn broken(limits: &[ObservedLimit], obs: &[f32]) -> bool {
        limits.iter().any(|l| obs.get(l.index).is_some_and(|&x| x < l.low || x > l.high))
    }
}

/// Each observation term with the index of its first component.
fn layout(s: &Scenario) -> Vec<(&Obs, usize)> {
    let mut offset = 0;
    s.observations
        .iter()
        .map(|term| {
            let at = offset;
            offset += match term {
                Obs::Value(_) => 1,
                Obs::Rays { count, .. } => *count,
                _ => 2,
            };
            (term, at)
        })
        .collect()
}

/// A scenario's failure test, split once: thresholds on quantities its observation shows as
/// `Value(q)` (at the top level of `failure` or inside `Any`), read off the observation, and
/// the other conditions (contacts, `All`, quantities not observed), measured on the world.
/// The episode fails when any limit is broken or any measured condition holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureTest {
    pub limits: Vec<ObservedLimit>,
    pub measured: Vec<Condition>,
}

impl FailureTest {
    pub fn new(s: &Scenario) -> FailureTest {
        let observed = layout(s);
        let mut test = FailureTest::default();
        let mut conditions: Vec<&Condition> = s.failure.iter().rev().collect();
        while let Some(c) = conditions.pop() {
            let (q, low, high) = match c {
                Condition::Above(q, v) => (q, f32::NEG_INFINITY, *v),
                Condition::Below(q, v) => (q, *v, f32::INFINITY),
                Condition::Outside(q, [lo, hi]) => (q, *lo, *hi),
                Condition::Any(cs) => {
                    conditions.extend(cs.iter().rev());
                    continue;
                }
                _ => {
                    test.measured.push(c.clone());
                    continue;
                }
            };
            match observed.iter().find(|(o, _)| matches!(o, Obs::Value(v) if v == q)) {
                Some(&(_, index)) => test.limits.push(ObservedLimit { index, low, high }),
                None => test.measured.push(c.clone()),
            }
        }
        test.limits.sort_by_key(|l| l.index);
        test
    }

    /// Whether the episode fails in the state `m` reads, whose observation is `obs`.
    pub fn fails(&self, obs: &[f32], m: &Measure) -> bool {
        ObservedLimit::broken(&self.limits, obs) || self.measured.iter().any(|c| m.condition(c))
    }
}

/// The scenario's failure conditions that its observation shows directly (see [`FailureTest`]);
/// the others are left to be learned.
pub fn observed_limits(s: &Scenario) -> Vec<ObservedLimit> {
    FailureTest::new(s).limits
}

/// How one reward term is read from a transition's observations and commands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Read {
    /// 1 every step.
    One,
    /// Observation `i` after the step.
    Obs(usize),
    /// The angle whose sine and cosine are observations `i`, `i + 1` after the step.
    Angle(usize),
    /// The length of the vector at observations `i`, `i + 1` after the step.
    Length(usize),
    /// That length before the step minus after it (`Progress`).
    Shrink(usize),
    /// Σ command² over actuators.
    ActionCost,
}

/// One weighted reward term.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObservedTerm {
    pub read: Read,
    pub squared: bool,
    pub weight: f32,
}

/// The scenario's reward as a function of (observation, action, next observation), when every
/// term of it is one the observations show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedReward {
    pub terms: Vec<ObservedTerm>,
    /// Σ command² of each discrete choice (a box action's commands are its components).
    pub choice_costs: Option<Vec<f32>>,
}

/// The scenario's reward read off observations, or `None` when a term (success, a crash, a
/// path's laps, an unobserved quantity, the action cost of multi-discrete actions) is not
/// shown by them.
pub fn observed_reward(s: &Scenario) -> Option<ObservedReward> {
    let observed = layout(s);
    let find = |wanted: &dyn Fn(&Obs) -> bool| observed.iter().find(|(o, _)| wanted(o)).map(|&(_, i)| i);
    let quantity = |q: &Quantity| -> Option<Read> {
        if let Some(i) = find(&|o| matches!(o, Obs::Value(v) if v == q)) {
            return Some(Read::Obs(i));
        }
        match q {
            Quantity::JointAngle(j) => find(&|o| matches!(o, Obs::JointAngle(k) if k == j)).map(Read::Angle),
            Quantity::Angle(b) => find(&|o| matches!(o, Obs::Angle(k) if k == b)).map(Read::Angle),
            Quantity::Upright(b) => find(&|o| matches!(o, Obs::Angle(k) if k == b)).map(|i| Read::Obs(i + 1)),
            Quantity::GoalDistance(p) => {
                find(&|o| matches!(o, Obs::ToGoal { from, .. } if from == p)).map(Read::Length)
            }
            _ => None,
        }
    };
    // The decrease of a quantity the observation shows as a vector's length.
    let shrink = |q: &Quantity| match quantity(q)? {
        Read::Length(i) => Some(Read::Shrink(i)),
        _ => None,
    };
    let terms = s
        .reward
        .iter()
        .map(|(term, weight)| {
            let (read, squared) = match term {
                RewardTerm::Alive => (Read::One, false),
                RewardTerm::ActionCost => (Read::ActionCost, false),
                RewardTerm::Upright(b) => (quantity(&Quantity::Upright(b.clone()))?, false),
                RewardTerm::GoalDistance(p) => (quantity(&Quantity::GoalDistance(p.clone()))?, false),
                RewardTerm::Progress(p) => (shrink(&Quantity::GoalDistance(p.clone()))?, false),
                RewardTerm::Decrease(q) => (shrink(q)?, false),
                RewardTerm::Value(q) => (quantity(q)?, false),
                RewardTerm::Squared(q) => (quantity(q)?, true),
                RewardTerm::Success | RewardTerm::Crash | RewardTerm::PathProgress(..) => return None,
            };
            Some(ObservedTerm { read, squared, weight: *weight })
        })
        .collect::<Option<Vec<_>>>()?;
    let cost = |action: Action| {
        let mut commands = vec![0.0; s.actuators.len()];
        set_commands(s, &action, &mut commands);
        commands.iter().map(|c| c * c).sum()
    };
    let choice_costs = match &s.actions {
        ActionSpec::Box(_) => None,
        ActionSpec::Discrete(table) => Some((0..table.len()).map(|k| cost(Action::Discrete(k))).collect()),
        ActionSpec::MultiDiscrete(_) if terms.iter().any(|t| t.read == Read::ActionCost) => return None,
        ActionSpec::MultiDiscrete(_) => None,
    };
    Some(ObservedReward { terms, choice_costs })
}

impl ObservedReward {
    /// The reward of the step from `obs` with `action` (inside the action space) to `next`, as
    /// the scenario computes it.
    pub fn reward(&self, obs: &[f32], action: &Action, next: &[f32]) -> f32 {
        let length = |o: &[f32], i: usize| o[i].hypot(o[i + 1]);
        self.terms
            .iter()
            .map(|t| {
                let value = match t.read {
                    Read::One => 1.0,
                    Read::Obs(i) => next[i],
                    Read::Angle(i) => next[i].atan2(next[i + 1]),
                    Read::Length(i) => length(next, i),
                    Read::Shrink(i) => length(obs, i) - length(next, i),
                    Read::ActionCost => match (action, &self.choice_costs) {
                        (Action::Continuous(v), _) => v.iter().map(|c| c * c).sum(),
                        (Action::Discrete(k), Some(costs)) => costs.get(*k).copied().unwrap_or(0.0),
                        _ => 0.0,
                    },
                };
                t.weight * if t.squared { value * value } else { value }
            })
            .sum()
    }
}
