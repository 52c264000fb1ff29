//! apprentice: a simulator and trainer for imitation learning and reinforcement learning.
//!
//! Each layer is a crate of its own, re-exported here under its short name: `sim` runs
//! rapier2d tasks described by scenario files, `data` keeps demonstrations, `learn` trains
//! policies on Burn, and `app` is the Bevy desktop app (the `gui` feature). The binary's
//! CLI (`cli`) is a thin layer over them.

/// Simulation: scenario files become deterministic rapier2d environments.
pub use sim;

/// Demonstrations: episodes, crash-safe datasets, dataset tools.
pub use data;

/// Learning: policies on Burn, behaviour cloning, reinforcement learning, evaluation, runs.
pub use learn;

/// The desktop app: Bevy rendering and input, egui panels (the `gui` feature).
#[cfg(feature = "gui")]
pub use app;

/// The command-line interface (used by the binary; public so tests can drive it).
pub mod cli;
