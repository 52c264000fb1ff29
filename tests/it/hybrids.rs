//! The hybrids of imitation and reinforcement learning: demonstrations make RL faster
//! (DQfD, DAPG), pretraining survives finetuning (BC → SAC), and reward picks the good
//! demonstrations out of mixed ones (AWR).

use crate::learn::report;
use apprentice::data::Episode;
use apprentice::data::ops::{Generator, record_episode};
use apprentice::learn::awr::{AwrConfig, AwrTrainer};
use apprentice::learn::bc::{self, BcConfig};
use apprentice::learn::dqn::{DqnConfig, DqnTrainer};
use apprentice::learn::policy::{Head, MlpPolicy};
use apprentice::learn::ppo::{PpoConfig, PpoTrainer};
use apprentice::learn::rl::Pretrained;
use apprentice::learn::run::{self, RunConfig};
use apprentice::learn::sac::{SacConfig, SacTrainer};
use apprentice::learn::trainer::Algorithm;
use apprentice::sim::ScenarioEnv;
use burn::prelude::Device;

/// Scripted-expert episodes on `seeds`, executed with `noise` (the recorded action is the
/// executed one).
pub fn expert_demos(env: &mut ScenarioEnv, seeds: std::ops::Range<u64>, noise: f32) -> Vec<Episode> {
    let expert = env.scenario().expert.clone().unwrap();
    seeds.map(|seed| record_episode(env, &expert, Generator::Scripted, seed, noise).unwrap()).collect()
}

/// Trains to the end; returns the final policy.
fn train(mut algorithm: Box<dyn Algorithm>) -> MlpPolicy {
    while algorithm.advance().unwrap().is_some() {}
    algorithm.policy().unwrap().as_mlp().unwrap().clone()
}

#[test]
fn dqfd_with_10_demos_solves_mountain_car_long_before_dqn_without_them() {
    let mut env = ScenarioEnv::load("mountain_car").unwrap();
    let demos = expert_demos(&mut env, 0..10, 0.0);
    let budget = 5_120;
    let dqfd = DqnConfig { total_steps: budget, ..DqnConfig::dqfd() };
    let with =
        report(&env, &train(Box::new(DqnTrainer::with_demos(&env, &dqfd, &demos, &Device::flex()).unwrap())), 20);
    let dqn = DqnConfig { total_steps: budget, ..DqnConfig::default() };
    let without = report(&env, &train(Box::new(DqnTrainer::new(&env, &dqn, &Device::flex()).unwrap())), 20);
    // The sparse reward (−1 a step until the flag) gives DQN nothing to learn from until it
    // stumbles on the flag; the demonstrations show the way from the first step.
    assert!(with.success_rate >= 0.7, "DQfD reaches the flag within {budget} steps: {with:?}");
    assert!(without.success_rate <= 0.1, "DQN alone does not, yet: {without:?}");
}

#[test]
fn dapg_with_5_demos_gets_further_than_ppo_in_5k_steps() {
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let demos = expert_demos(&mut env, 0..5, 0.0);
    let budget = 5_120;
    let dapg = PpoConfig { total_steps: budget, ..PpoConfig::dapg() };
    let with =
        report(&env, &train(Box::new(PpoTrainer::with_demos(&env, &dapg, &demos, None, &Device::flex()).unwrap())), 20);
    let ppo = PpoConfig { total_steps: budget, ..PpoConfig::default() };
    let without = report(&env, &train(Box::new(PpoTrainer::new(&env, &ppo, &Device::flex()).unwrap())), 20);
    // Measured on seeds 0–3: DAPG 500 · 315 · 453 · 438, PPO 151 · 162 · 191 · 328.
    assert!(with.return_mean >= 250.0, "DAPG nearly balances the pole after {budget} steps: {with:?}");
    assert!(without.return_mean < with.return_mean, "PPO alone is further from it: {without:?}");
}

#[test]
fn bc_then_sac_finetuning_never_loses_the_pretrained_policy_and_ends_above_it() {
    let mut env = ScenarioEnv::load("pendulum").unwrap();
    let demos = expert_demos(&mut env, 0..20, 0.0);
    let mut bc_config = BcConfig::default();
    bc_config.policy.head = Head::TanhGaussian;
    let (pretrained, _) = bc::train(&env, &demos, &bc_config, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig::new("bc", "pendulum", "demos".into()).unwrap().with(&bc_config);
    run::save(dir.path(), &config, &env, &pretrained).unwrap();
    let before = report(&env, &pretrained, 20).return_mean;
    let init = Pretrained { dir: dir.path().to_owned(), policy: run::load_mlp(dir.path(), &env).unwrap() };
    let sac = SacConfig { total_steps: 10_000, log_every: 1_000, ..SacConfig::default() };
    let mut trainer = SacTrainer::new(&env, &sac, &[], Some(&init), &Device::flex()).unwrap();
    let mut curve = Vec::new();
    while let Some(metrics) = trainer.update().unwrap() {
        curve.push((metrics.step, report(&env, &trainer.policy(), 20).return_mean));
    }
    // Returns are negative here: "0.8× the BC return" is at most 20% worse than it.
    let floor = before - 0.2 * before.abs();
    assert!(curve.iter().all(|(_, r)| *r >= floor), "never below {floor:.0} (BC: {before:.0}): {curve:?}");
    let last = curve.last().unwrap().1;
    assert!(last > before, "finetuning ends above BC ({before:.0}): {curve:?}");
}

#[test]
fn awr_picks_the_good_actions_out_of_mixed_quality_demos_where_bc_copies_them_all() {
    let mut env = ScenarioEnv::load("pendulum").unwrap();
    let mut demos = expert_demos(&mut env, 500..505, 0.0);
    demos.extend(expert_demos(&mut env, 100..120, 1.5));
    let bc_config = BcConfig { use_expert_labels: false, ..BcConfig::default() };
    let (cloned, _) = bc::train(&env, &demos, &bc_config, &mut |_| {}).unwrap();
    let awr = AwrConfig { iterations: 10, ..AwrConfig::default() };
    let weighted = train(Box::new(AwrTrainer::new(&env, &demos, &awr, &Device::flex()).unwrap()));
    let (bc, awr) = (report(&env, &cloned, 20), report(&env, &weighted, 20));
    assert!(awr.expert_fraction >= 0.95, "AWR reaches the expert from mostly noisy demos: {awr:?}");
    assert!(awr.return_mean > bc.return_mean + 50.0, "BC copies the noise too: {bc:?} vs {awr:?}");
}
