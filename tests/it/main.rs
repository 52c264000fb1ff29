//! Integration tests, one binary (each file under tests/ would link everything again).

mod bad_scenarios;
mod cli;
mod effects;
mod scenarios;
mod vec_env;
