//! apprentice: a simulator and trainer for imitation learning and reinforcement learning.
//!
//! The library is headless: `sim` runs rapier2d tasks described by scenario files.
//! The binary's CLI (and later the app) are thin layers over it.

pub mod sim;

/// Demonstrations: episodes, crash-safe datasets, dataset tools.
pub mod data;

/// Learning: policies on Burn, behaviour cloning, evaluation, runs.
pub mod learn;

/// The desktop app: Bevy rendering and input, egui panels (the `gui` feature).
#[cfg(feature = "gui")]
pub mod app;

/// The command-line interface (used by the binary; public so tests can drive it).
pub mod cli;
