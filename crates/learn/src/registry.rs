//! The registry of algorithms: every trainable algorithm is one entry, declared at the end
//! of its own file, and listed once in [`ALGORITHMS`]. The `train` subcommands, the run's
//! configuration, the app's algorithm menu, its hyperparameter forms and its plots all come
//! from here, so no other code names an algorithm.
//!
//! A new algorithm's file holds its config struct (`Serialize + Deserialize + JsonSchema +
//! Default`, a doc comment per field), its trainer (implementing [`Algorithm`]), its `LIVE`
//! keys and its `pub const ENTRY: Entry`. Then it needs `pub mod <name>;` in `lib.rs` and
//! `&<name>::ENTRY` in [`ALGORITHMS`]. A preset (DAPG is PPO with a BC term) is a second
//! `Entry` in the base algorithm's file, with other defaults.

use super::describe::{self, Field};
use super::error::TrainError;
use super::rl::Pretrained;
use super::trainer::Algorithm;
use burn::prelude::Device;
use data::Episode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sim::{ScenarioEnv, Space};
use std::path::Path;

/// Every algorithm, in the order the app's menu lists them.
pub const ALGORITHMS: &[&Entry] = &[
    &super::bc::ENTRY,
    &super::dagger::ENTRY,
    &super::aggrevate::ENTRY,
    &super::reinforce::ENTRY,
    &super::a2c::ENTRY,
    &super::ppo::ENTRY,
    &super::trpo::ENTRY,
    &super::dqn::ENTRY,
    &super::soft_q::ENTRY,
    &super::sac::ENTRY,
    &super::td3::ENTRY,
    &super::cem::ENTRY,
    &super::es::ENTRY,
    &super::ppo::DAPG,
    &super::sac::SACFD,
    &super::dqn::DQFD,
    &super::is_pg::ENTRY,
    &super::awr::ENTRY,
    &super::td3_bc::ENTRY,
    &super::iql::ENTRY,
    &super::cql::ENTRY,
    &super::gail::ENTRY,
    &super::airl::ENTRY,
    &super::gcl::ENTRY,
    &super::dynamics::ENTRY,
    &super::pets::ENTRY,
    &super::mbpo::ENTRY,
    &super::flow::ENTRY,
    &super::diffusion::ENTRY,
    &super::cvae::ENTRY,
];

/// The entry named `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    let name = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, name)| name);
    ALGORITHMS.iter().copied().find(|e| e.name == name)
}

/// Other names an algorithm answers to (the design's CLI surface spells these two so).
pub const ALIASES: &[(&str, &str)] = &[("sql", "soft_q"), ("td3bc", "td3_bc")];

/// The other names of the algorithm `name`.
pub fn aliases_of(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    ALIASES.iter().filter(move |(_, of)| *of == name).map(|(alias, _)| *alias)
}

/// The names of every algorithm, for error messages.
pub fn names() -> Vec<&'static str> {
    ALGORITHMS.iter().map(|e| e.name).collect()
}

/// One trainable algorithm.
pub struct Entry {
    /// The `train` subcommand and `algorithm` in config.toml.
    pub name: &'static str,
    /// One line for `--help` and the app's menu.
    pub summary: &'static str,
    /// The entry whose file implements this one, for presets (`dapg` → `ppo`).
    pub preset_of: Option<&'static str>,
    pub needs: Needs,
    /// Hyperparameters that can change while it trains (dotted, as `--set` takes them).
    pub live: &'static [&'static str],
    /// What its step counter counts (the `step` column of metrics.csv).
    pub step: Unit,
    /// Its own charts; [`Entry::plots`] adds return and success rate.
    pub plots: &'static [Plot],
    /// Its config type: defaults, form, checks.
    pub config: ConfigType,
    /// How far a run of `config` goes, for progress bars.
    pub budget: fn(&toml::Table) -> Result<Budget, TrainError>,
    /// The trainer for a run.
    pub build: Builder,
}

/// Builds an algorithm's trainer from its hyperparameters and the run's context.
pub type Builder = fn(&toml::Table, Context<'_>) -> Result<Box<dyn Algorithm>, TrainError>;

/// What an algorithm needs from the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Learns from a demonstration dataset (`--demos`).
    pub demos: bool,
    /// Asks the scenario's scripted expert to label states.
    pub expert: bool,
    /// Learns from the scenario's reward.
    pub reward: bool,
    pub actions: Actions,
    /// Can start from a pretrained policy (`--init`).
    pub init: bool,
    /// Can continue a run from its last checkpoint (`--resume`).
    pub resume: bool,
    /// Can optimize a run's learned reward instead of the scenario's (`--reward RUN`).
    pub learned_reward: bool,
}

/// The action spaces an algorithm handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actions {
    Any,
    Discrete,
    Continuous,
}

impl Needs {
    /// Learns from the scenario's reward alone, in any action space (REINFORCE, TRPO, CEM, ES).
    pub const REWARD: Needs = Needs {
        demos: false,
        expert: false,
        reward: true,
        actions: Actions::Any,
        init: false,
        resume: false,
        learned_reward: false,
    };
    /// Learns offline from demonstrations and the rewards they recorded, continuous actions
    /// (TD3+BC, IQL, CQL).
    pub const OFFLINE: Needs = Needs { demos: true, actions: Actions::Continuous, ..Needs::REWARD };

    /// Whether the algorithm can act in `space`.
    pub fn fits(&self, space: &Space) -> bool {
        match self.actions {
            Actions::Any => true,
            Actions::Discrete => matches!(space, Space::Discrete { .. }),
            Actions::Continuous => matches!(space, Space::Box { .. }),
        }
    }
}

/// What a plot's x axis counts. Each names the metrics column it reads (`step` is the
/// row's step counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    EnvSteps,
    GradientSteps,
    Epochs,
    Rounds,
    Iterations,
    Updates,
}

impl Unit {
    /// The axis label.
    pub fn label(self) -> &'static str {
        match self {
            Unit::EnvSteps => "environment steps",
            Unit::GradientSteps => "gradient steps",
            Unit::Epochs => "epochs",
            Unit::Rounds => "rounds",
            Unit::Iterations => "iterations",
            Unit::Updates => "updates",
        }
    }
}

/// One chart: its title, x axis (a metrics column and what it counts) and the metrics drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plot {
    pub title: &'static str,
    /// The metrics column read as x: `step`, or one the algorithm logs (`epoch`, `round`).
    pub x: &'static str,
    pub unit: Unit,
    pub series: &'static [&'static str],
    /// A y range always shown (success rates: 0 to 1), else the data's own.
    pub y: Option<(f64, f64)>,
}

impl Plot {
    /// A chart against the step counter.
    pub const fn steps(title: &'static str, unit: Unit, series: &'static [&'static str]) -> Plot {
        Plot { title, x: "step", unit, series, y: None }
    }

    /// A chart against a column the algorithm logs.
    pub const fn against(title: &'static str, x: &'static str, unit: Unit, series: &'static [&'static str]) -> Plot {
        Plot { title, x, unit, series, y: None }
    }
}

/// How far a run goes: `total` of the metrics column `column` (`step`: the step counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub total: usize,
    pub column: &'static str,
    /// The budget counts from 0 (an epoch index): progress is its value + 1.
    pub zero_based: bool,
}

impl Budget {
    pub const fn steps(total: usize) -> Budget {
        Budget { total, column: "step", zero_based: false }
    }

    /// `total` passes numbered from 0 in `column` (epochs, rounds, iterations).
    pub const fn indexed(total: usize, column: &'static str) -> Budget {
        Budget { total, column, zero_based: true }
    }

    /// Progress in the budget's units, from a metrics row.
    pub fn position(&self, step: usize, value: impl Fn(&str) -> f64) -> usize {
        if self.column == "step" {
            return step;
        }
        let v = value(self.column);
        if v.is_finite() { v as usize + usize::from(self.zero_based) } else { 0 }
    }
}

/// What a trainer is built from.
pub struct Context<'a> {
    pub env: &'a ScenarioEnv,
    /// The run's demonstrations (empty when it has none).
    pub demos: Vec<Episode>,
    /// The pretrained policy of `--init`.
    pub init: Option<&'a Pretrained>,
    pub device: &'a Device,
    /// The run directory (DAgger aggregates into `out/dataset`).
    pub out: &'a Path,
    /// Continue from the checkpoint in `out`: (log steps, step counter) so far.
    pub resume: Option<(usize, usize)>,
    /// The learned reward of `--reward RUN`, to optimize instead of the scenario's.
    pub reward: Option<super::reward::RewardModel>,
}

/// A config type seen through its TOML table: the registry keeps every algorithm's
/// hyperparameters as a table and reads them into the typed struct where they are used.
#[derive(Clone, Copy)]
pub struct ConfigType {
    /// The entry's defaults.
    pub defaults: fn() -> toml::Table,
    /// Its defaults for continuous-action scenarios, where they differ (PPO's).
    pub continuous: Option<fn() -> toml::Table>,
    /// The form fields of a table (doc comments, kinds, current values).
    pub fields: fn(&toml::Table) -> Result<Vec<Field>, TrainError>,
    /// Checks a table reads as the config type (after edits, from a file).
    pub check: fn(&toml::Table) -> Result<(), TrainError>,
}

/// The bounds every config type meets.
pub trait Config: Serialize + DeserializeOwned + schemars::JsonSchema + Default {}
impl<T: Serialize + DeserializeOwned + schemars::JsonSchema + Default> Config for T {}

impl ConfigType {
    /// The config type `T`, with `defaults` its entry's defaults (`T::default` or a preset).
    pub const fn of<T: Config>(defaults: fn() -> toml::Table) -> ConfigType {
        ConfigType { defaults, continuous: None, fields: fields_of::<T>, check: check_of::<T> }
    }

    /// The same config type with other defaults for continuous-action scenarios.
    pub const fn with_continuous(self, continuous: fn() -> toml::Table) -> ConfigType {
        ConfigType { continuous: Some(continuous), ..self }
    }
}

/// `config` as a TOML table.
pub fn table<T: Serialize>(config: &T) -> toml::Table {
    toml::Table::try_from(config).expect("config structs serialize to TOML tables")
}

/// The default table of `T`.
pub fn defaults_of<T: Config>() -> toml::Table {
    table(&T::default())
}

/// A table read as the config type `T`; an unknown or mistyped key is the error.
pub fn typed<T: Config>(table: &toml::Table) -> Result<T, TrainError> {
    crate::settings::read(toml::Value::Table(table.clone())).map_err(TrainError::Config)
}

fn fields_of<T: Config>(table: &toml::Table) -> Result<Vec<Field>, TrainError> {
    Ok(describe::fields(&typed::<T>(table)?))
}

fn check_of<T: Config>(table: &toml::Table) -> Result<(), TrainError> {
    typed::<T>(table).map(|_| ())
}

/// The charts every algorithm has besides its own: evaluation return and success rate, each
/// on its own axis, against the x of the algorithm's first chart (epochs for BC, rounds for
/// DAgger, environment steps for RL).
fn common_plots(x: &'static str, unit: Unit) -> [Plot; 2] {
    [
        Plot::against("Return", x, unit, &["eval/return_mean", "rollout/return_mean"]),
        Plot { y: Some((0.0, 1.0)), ..Plot::against("Success rate", x, unit, &["eval/success_rate"]) },
    ]
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).field("needs", &self.needs).finish_non_exhaustive()
    }
}

impl Entry {
    /// Its own plots, then return and success rate.
    pub fn plots(&self) -> Vec<Plot> {
        let mut plots = self.plots.to_vec();
        let (x, unit) = self.plots.first().map_or(("step", self.step), |p| (p.x, p.unit));
        plots.extend(common_plots(x, unit));
        plots
    }

    /// The metric a progress bar shows: the first of its first plot.
    pub fn headline(&self) -> &'static str {
        self.plots.first().and_then(|p| p.series.first()).copied().unwrap_or("rollout/return_mean")
    }

    /// The default hyperparameters.
    pub fn defaults(&self) -> toml::Table {
        (self.config.defaults)()
    }

    /// The default hyperparameters for a scenario whose actions are `space` (unknown: the
    /// plain defaults).
    pub fn defaults_for(&self, space: Option<&Space>) -> toml::Table {
        match (space, self.config.continuous) {
            (Some(Space::Box { .. }), Some(continuous)) => continuous(),
            _ => self.defaults(),
        }
    }
}
