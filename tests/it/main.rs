//! Integration tests, one binary (each file under tests/ would link everything again).

mod bad_scenarios;
mod cli;
mod demos;
mod effects;
mod learn;
mod scenarios;
mod trainer;
mod vec_env;
