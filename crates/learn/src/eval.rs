//! Evaluation: a policy, the scripted expert and random play on the same seeds.

use serde::Serialize;
use sim::rollout::{ActError, rollouts, summarize};
use sim::{Policy, RandomPolicy, ScenarioEnv};

/// How well a policy does, and how close it comes to the expert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub episodes: usize,
    pub return_mean: f64,
    pub return_std: f64,
    pub success_rate: f64,
    /// (policy − random) / (expert − random) mean return on the same seeds: 1 is the
    /// expert's level, 0 random play's. It stays meaningful for negative returns.
    pub expert_fraction: f64,
    pub expert_return_mean: f64,
    pub random_return_mean: f64,
    /// Seeds of the policy's episodes that did not succeed, in order, to look at how it
    /// fails (empty for a scenario with no success condition).
    pub failed_seeds: Vec<u64>,
}

/// Runs `episodes` seeded episodes (seeds `seed..`) of the policy, the expert and random play.
/// A policy that acts outside the action space (NaN weights) is the error.
pub fn evaluate(
    env: &ScenarioEnv,
    make_policy: &(dyn Fn() -> Box<dyn Policy> + Sync),
    episodes: usize,
    seed: u64,
    on_episode: &(dyn Fn() + Sync),
) -> Result<EvalReport, ActError> {
    let results = rollouts(env, make_policy, episodes, seed, &|_| on_episode())?;
    let judged = env.scenario().success.is_some();
    let mut failed_seeds: Vec<u64> = results.iter().filter(|r| judged && !r.success).map(|r| r.seed).collect();
    failed_seeds.sort_unstable();
    let policy = summarize(&results);
    let expert_return = match env.scenario().expert.clone() {
        Some(spec) => Some(summarize(&rollouts(env, &|| spec.policy(), episodes, seed, &|_| {})?).return_mean),
        None => None,
    };
    let random =
        summarize(&rollouts(env, &|| Box::new(RandomPolicy::new(0)) as Box<dyn Policy>, episodes, seed, &|_| {})?);
    let expert_fraction = match expert_return {
        Some(e) if (e - random.return_mean).abs() > 1e-9 => {
            (policy.return_mean - random.return_mean) / (e - random.return_mean)
        }
        _ => f64::NAN,
    };
    Ok(EvalReport {
        episodes,
        return_mean: policy.return_mean,
        return_std: policy.return_std,
        success_rate: policy.success_rate,
        expert_fraction,
        expert_return_mean: expert_return.unwrap_or(f64::NAN),
        random_return_mean: random.return_mean,
        failed_seeds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_seeds_name_the_episodes_that_did_not_succeed() {
        let env = ScenarioEnv::load("detour").unwrap();
        let random = || Box::new(RandomPolicy::new(3)) as Box<dyn Policy>;
        let report = evaluate(&env, &random, 6, 40, &|| {}).unwrap();
        assert_eq!(report.success_rate, 0.0, "random play never reaches detour's goal");
        assert_eq!(report.failed_seeds, (40..46).collect::<Vec<u64>>());
    }
}
