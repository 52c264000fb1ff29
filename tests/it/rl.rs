//! Reinforcement learning from reward alone: each algorithm's small-budget learning test, and
//! the CLI run that `apprentice eval` reads.

use crate::learn::report;
use apprentice::learn::dqn::{DqnConfig, DqnTrainer};
use apprentice::learn::ppo::{PpoConfig, PpoTrainer};
use apprentice::sim::ScenarioEnv;
use burn::prelude::Device;

#[test]
fn ppo_learns_to_balance_the_pole_within_100k_env_steps() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let config = PpoConfig { total_steps: 100_000, ..PpoConfig::default() };
    let mut trainer = PpoTrainer::new(&env, &config, &Device::flex()).unwrap();
    let before = report(&env, &trainer.policy(), 10).return_mean;
    let mut returns = Vec::new();
    while let Some(metrics) = trainer.update().unwrap() {
        // NaN: no episode ended in that rollout.
        let finished = metrics.values.iter().filter(|(n, v)| *n == "rollout/return_mean" && v.is_finite());
        returns.extend(finished.map(|(_, v)| *v));
        assert!(metrics.step <= 100_000);
    }
    let after = report(&env, &trainer.policy(), 50);
    assert!(before < 100.0, "an untrained policy drops the pole: {before}");
    assert!(after.return_mean >= 475.0, "PPO balances the pole on 50 unseen seeds: {after:?}");
    assert!(returns.last() > returns.first(), "training returns rose: {returns:?}");
}

#[test]
fn dqn_learns_to_balance_the_pole_within_50k_env_steps() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let config = DqnConfig { total_steps: 50_000, ..DqnConfig::default() };
    let mut trainer = DqnTrainer::new(&env, &config, &Device::flex()).unwrap();
    let mut epsilon = Vec::new();
    while let Some(metrics) = trainer.update().unwrap() {
        epsilon.extend(metrics.values.iter().filter(|(n, _)| *n == "train/epsilon").map(|(_, v)| *v));
        assert!(metrics.step <= 50_000);
    }
    assert!(epsilon.windows(2).all(|w| w[1] <= w[0]) && *epsilon.last().unwrap() <= 0.04 + 1e-9, "ε decays to its floor");
    let after = report(&env, &trainer.policy(), 50);
    assert!(after.return_mean >= 475.0, "DQN balances the pole on 50 unseen seeds: {after:?}");
}
