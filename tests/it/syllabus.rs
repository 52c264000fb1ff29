//! The rest of the RL syllabus, each at a small budget: TRPO, A2C, soft Q-learning, the
//! gradient-free searches (CEM, ES), PPO's continuous-action defaults, and offline RL
//! (TD3+BC, IQL) on mixed-quality data.

use crate::learn::report;
use crate::rl::series;
use apprentice::learn::cem::{CemConfig, CemTrainer};
use apprentice::learn::cql::{CqlConfig, CqlTrainer};
use apprentice::learn::dqn::{DqnConfig, DqnTrainer};
use apprentice::learn::es::{EsConfig, EsTrainer};
use apprentice::learn::eval::evaluate;
use apprentice::learn::iql::{IqlConfig, IqlTrainer};
use apprentice::learn::is_pg::{IsPgConfig, IsPgTrainer};
use apprentice::learn::ppo::{PpoConfig, PpoTrainer};
use apprentice::learn::registry;
use apprentice::learn::run::RunConfig;
use apprentice::learn::td3_bc::{Td3BcConfig, Td3BcTrainer};
use apprentice::learn::trainer::{Algorithm, Metrics};
use apprentice::learn::trpo::{TrpoConfig, TrpoTrainer};
use apprentice::learn::{a2c, soft_q};
use apprentice::sim::Policy;
use apprentice::sim::ScenarioEnv;
use burn::prelude::Device;
use std::path::PathBuf;

/// Every metrics row of a trainer run to its end.
fn run(trainer: &mut dyn Algorithm) -> Vec<Metrics> {
    std::iter::from_fn(|| trainer.advance().unwrap()).collect()
}

/// Trains until the policy's mean return on 10 episodes (seeds 5,000 on, clear of the final
/// check's) reaches `target`, checked every `every` units, as `train --solve-at` does; or to
/// the end of its budget. Returns the rows.
pub fn run_until_solved(trainer: &mut dyn Algorithm, env: &ScenarioEnv, every: usize, target: f64) -> Vec<Metrics> {
    let mut rows = Vec::new();
    while let Some(row) = trainer.advance().unwrap() {
        rows.push(row);
        if rows.len().is_multiple_of(every) {
            let policy = trainer.policy().unwrap();
            let check = evaluate(env, &|| policy.boxed() as Box<dyn Policy>, 10, 5_000, &|| {}).unwrap();
            if check.return_mean >= target {
                break;
            }
        }
    }
    rows
}

#[test]
fn trpo_balances_the_pole_inside_its_trust_region() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let config = TrpoConfig { total_steps: 40_000, seed: 1, ..TrpoConfig::default() };
    let mut trainer = TrpoTrainer::new(&env, &config, &Device::flex()).unwrap();
    let rows = run(&mut trainer);
    let kl = series(&rows, "train/kl");
    assert!(kl.iter().all(|kl| *kl <= 1.5 * config.max_kl), "every accepted step stays in the trust region: {kl:?}");
    let after = report(&env, &trainer.policy(), 20);
    assert!(after.return_mean >= 475.0, "TRPO balances the pole on 20 unseen seeds: {after:?}");
}

#[test]
fn a2c_balances_the_pole() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let config = PpoConfig { total_steps: 60_000, seed: 2, ..a2c::config() };
    let mut trainer = PpoTrainer::new(&env, &config, &Device::flex()).unwrap();
    run_until_solved(&mut trainer, &env, 100, 475.0);
    let after = report(&env, &trainer.policy(), 20);
    assert!(after.return_mean >= 475.0, "A2C balances the pole on 20 unseen seeds: {after:?}");
}

#[test]
fn soft_q_learning_balances_the_pole_with_a_boltzmann_policy() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    // Seed 1 solves at 33,280 steps (README); the budget is 50k.
    let config = DqnConfig { total_steps: 50_000, seed: 1, ..soft_q::config() };
    assert!(config.temperature > 0.0 && config.epsilon_start == 0.0, "it explores by its temperature alone");
    let mut trainer = DqnTrainer::new(&env, &config, &Device::flex()).unwrap();
    run_until_solved(&mut trainer, &env, 5, 475.0);
    let after = report(&env, &trainer.policy(), 20);
    assert!(after.return_mean >= 475.0, "soft Q-learning balances the pole on 20 unseen seeds: {after:?}");
}

#[test]
fn cem_and_es_balance_the_pole_without_a_gradient_of_the_policy() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let device = Device::flex();
    let mut cem = CemTrainer::new(&env, &CemConfig { total_steps: 150_000, ..CemConfig::default() }, &device).unwrap();
    let rows = run_until_solved(&mut cem, &env, 1, 475.0);
    let elite = series(&rows, "train/elite_return");
    assert!(elite.last() > elite.first(), "the elites improve: {elite:?}");
    let after = report(&env, &cem.policy(), 20);
    assert!(after.return_mean >= 475.0, "CEM's mean balances the pole on 20 unseen seeds: {after:?}");
    let mut es = EsTrainer::new(&env, &EsConfig { total_steps: 400_000, ..EsConfig::default() }, &device).unwrap();
    run_until_solved(&mut es, &env, 2, 490.0);
    let after = report(&env, &es.policy(), 20);
    // Its estimate is noisier than CEM's refit: a policy that solved 10 episodes may drop a few of 20.
    assert!(after.return_mean >= 450.0, "ES balances the pole on 20 unseen seeds: {after:?}");
}

#[test]
fn ppo_defaults_to_continuous_control_settings_that_swing_the_pendulum_up() {
    let run_config = RunConfig::new("ppo", "pendulum", PathBuf::new()).unwrap();
    let config: PpoConfig = run_config.typed().unwrap();
    assert_eq!(config, PpoConfig::continuous(), "a continuous scenario gets the continuous defaults");
    let discrete: PpoConfig = RunConfig::new("ppo", "cartpole", PathBuf::new()).unwrap().typed().unwrap();
    assert_eq!(discrete, PpoConfig::default());
    assert!(registry::entry("a2c").is_some() && registry::entry("trpo").is_some());
    // The population searches score each pendulum candidate on 8 episodes (README: both solve it).
    let cem: CemConfig = RunConfig::new("cem", "pendulum", PathBuf::new()).unwrap().typed().unwrap();
    let es: EsConfig = RunConfig::new("es", "pendulum", PathBuf::new()).unwrap().typed().unwrap();
    assert_eq!((cem.episodes_per_candidate, es.episodes_per_candidate), (8, 8));
    let discrete: CemConfig = RunConfig::new("cem", "cartpole", PathBuf::new()).unwrap().typed().unwrap();
    assert_eq!(discrete, CemConfig::default());
    let env = ScenarioEnv::load("pendulum").unwrap();
    let mut trainer = PpoTrainer::new(&env, &PpoConfig { total_steps: 150_000, ..config }, &Device::flex()).unwrap();
    let rows = run(&mut trainer);
    assert!(
        series(&rows, "train/value_loss").iter().all(|v| *v < 10.0),
        "standardized value targets keep the loss small"
    );
    let after = report(&env, &trainer.policy(), 20);
    assert!(after.return_mean >= -250.0, "PPO swings the pendulum up on 20 unseen seeds: {after:?}");
}

#[test]
fn td3_bc_iql_and_cql_learn_the_expert_offline_from_mostly_noisy_demos() {
    // AWR's dataset (hybrids): 5 clean expert episodes and 20 executed with heavy noise.
    let mut env = ScenarioEnv::load("pendulum").unwrap();
    let mut demos = crate::hybrids::expert_demos(&mut env, 500..505, 0.0);
    demos.extend(crate::hybrids::expert_demos(&mut env, 100..120, 1.5));
    let device = Device::flex();
    let config = Td3BcConfig { gradient_steps: 8_000, ..Td3BcConfig::default() };
    let mut td3_bc = Td3BcTrainer::new(&env, &demos, &config, &device).unwrap();
    let rows = run(&mut td3_bc);
    assert!(rows.iter().all(|r| r.step <= 8_000), "no environment step, only gradient steps");
    let after = report(&env, &td3_bc.policy(), 20);
    assert!(after.expert_fraction >= 0.9, "TD3+BC swings up and holds the pendulum: {after:?}");
    let mut iql =
        IqlTrainer::new(&env, &demos, &IqlConfig { gradient_steps: 8_000, ..IqlConfig::default() }, &device).unwrap();
    run(&mut iql);
    let after = report(&env, &iql.policy(), 20);
    assert!(after.expert_fraction >= 0.9, "IQL swings up and holds the pendulum: {after:?}");
    let mut cql = CqlTrainer::new(&env, &demos, &CqlConfig::default(), &device).unwrap();
    let rows = run(&mut cql);
    let gap = series(&rows, "train/conservative_gap");
    assert!(gap.last() < gap.first(), "the critics learn to value the data's actions above others: {gap:?}");
    let after = report(&env, &cql.policy(), 20);
    assert!(after.expert_fraction >= 0.9, "CQL swings up and holds the pendulum: {after:?}");
}

#[test]
fn the_importance_sampled_policy_gradient_learns_from_demos_and_its_own_episodes() {
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let demos = crate::hybrids::expert_demos(&mut env, 500..505, 0.0);
    let config = IsPgConfig::default();
    let mut trainer = IsPgTrainer::new(&env, &demos, &config, &Device::flex()).unwrap();
    let rows = run_until_solved(&mut trainer, &env, 4, 475.0);
    let weights = series(&rows, "train/demo_weight_mean");
    assert!(
        !weights.is_empty() && weights.iter().all(|w| *w > 0.1 && w.is_finite()),
        "the demonstrations keep weight: {weights:?}"
    );
    assert!(rows.last().unwrap().step <= 60_000, "solved within 60k steps: {}", rows.last().unwrap().step);
    let after = report(&env, &trainer.policy(), 20);
    assert!(after.return_mean >= 450.0, "it balances the pole on 20 unseen seeds: {after:?}");
}
