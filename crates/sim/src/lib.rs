//! The simulation core: scenario files become deterministic rapier2d environments.

pub mod builtin;
pub mod env;
pub mod experts;
pub mod frame;
pub mod measure;
pub mod observed;
mod pack;
pub mod path;
pub mod planner;
pub mod policy;
pub mod rollout;
pub mod scenario;
pub mod scenario_check;
pub mod scenario_env;
pub mod space;
pub mod vec_env;
pub mod world;

pub use env::{Env, Step};
pub use policy::{Policy, RandomPolicy};
pub use scenario::{Scenario, ScenarioError};
pub use scenario_env::ScenarioEnv;
pub use space::{Action, Space};
pub use vec_env::{Steps, VecEnv, VecStep};
