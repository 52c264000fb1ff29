//! What can stop a training run, for every algorithm: typed, with its cause attached.

use data::DataError;
use data::ops::DriveError;
use sim::rollout::ActError;

/// Why training stopped (or could not start).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training data: {0}")]
    NoData(String),
    /// A loss became NaN or infinite; `unit` says what `at` counts (epoch, update,
    /// iteration, environment step).
    #[error("the loss became {value} at {unit} {at}; lower the learning rate")]
    Diverged { value: f64, unit: &'static str, at: usize },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Setting(#[from] crate::settings::SettingError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Act(#[from] ActError),
}

impl TrainError {
    /// A loss that became non-finite at `at` units of `unit`.
    pub fn diverged(value: f64, unit: &'static str, at: usize) -> TrainError {
        TrainError::Diverged { value, unit, at }
    }
}
