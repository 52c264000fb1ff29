//! Integration tests, one binary (each file under tests/ would link everything again).

mod adversarial;
#[cfg(feature = "gui")]
mod app;
mod bad_scenarios;
mod cli;
mod demos;
mod effects;
mod foundation;
mod generative;
mod hybrids;
mod learn;
mod planning;
mod rl;
mod scenarios;
#[cfg(feature = "gui")]
mod screenshots;
mod sequence;
mod sweep;
mod syllabus;
mod trainer;
mod vec_env;
#[cfg(feature = "gui")]
mod window_input;
