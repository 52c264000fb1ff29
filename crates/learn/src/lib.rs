//! Learning on Burn: one registry of algorithms (`registry`), each one file: behaviour
//! cloning, DAgger, reinforcement learning (REINFORCE, A2C, PPO, TRPO, DQN, soft Q-learning, SAC, TD3) and its hybrids
//! with demonstrations (DAPG, DQfD, SACfD, AWR, BC finetuning); the artifacts runs keep
//! (`artifact`: policies of any kind, critics); the trainer thread and the run sink that
//! writes run directories (config, metrics, artifacts) for the CLI and the app alike; and
//! evaluation against the expert.

pub mod a2c;
pub mod aggrevate;
pub mod airl;
pub mod artifact;
pub mod awr;
pub mod batch;
pub mod bc;
pub mod cem;
pub mod corrective;
pub mod cql;
pub mod buffer;
pub mod critic;
pub mod curves;
pub mod cvae;
pub mod dagger;
pub mod describe;
pub mod device;
pub mod diagnose;
pub mod diffusion;
pub mod dqn;
pub mod dynamics;
pub mod pets;
pub mod mbpo;
pub mod error;
pub mod es;
pub mod eval;
pub mod flat;
pub mod flow;
pub mod gail;
pub mod gcl;
pub mod generative;
pub mod hindsight;
pub mod iql;
pub mod is_pg;
pub mod metrics;
pub mod offline;
pub mod offpolicy;
pub mod optim;
pub mod policy;
pub mod policy_search;
pub mod ppo;
pub mod registry;
pub mod reinforce;
pub mod reward;
pub mod rl;
pub mod run;
pub mod runs;
pub mod sac;
pub mod settings;
pub mod soft_q;
pub mod sink;
pub mod tbptt;
pub mod td3;
pub mod td3_bc;
pub mod trainer;
pub mod threads;
pub mod trpo;

pub use error::TrainError;
pub use settings::{SettingError, field_names, overrides, set_live};
