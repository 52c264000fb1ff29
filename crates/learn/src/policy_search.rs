//! What the gradient-free policy searches share (CEM and evolution strategies, Levine &
//! Finn's "a scalable alternative to RL"): scoring a population of parameter vectors of one
//! policy network by their episodes' returns.
//!
//! Every candidate's episodes run in lockstep on one `VecEnv` (one environment per candidate
//! and episode, so its threads share the stepping), and all candidates act in one batched
//! forward pass per step (`StackedMlp`). The candidates of a generation replay the same
//! episode seeds (common random numbers), so their returns differ by their parameters, not
//! by their luck. Candidates act deterministically: the argmax of a categorical head's
//! logits, the mean of a Gaussian head.

use super::batch::floats;
use super::error::TrainError;
use super::flat::{params, with_params};
use super::offpolicy::identity;
use super::policy::{Head, Layout, MlpPolicy, PolicyConfig, PolicyNet, StackedMlp, choose, unscale_action};
use burn::prelude::*;
use burn::tensor::TensorData;
use sim::{Action, Env, ScenarioEnv, Space, VecEnv};

/// The default policy of the searches: one small hidden layer (a linear policy balances
/// cartpole; swinging a pendulum up needs the hidden layer).
pub fn default_policy() -> PolicyConfig {
    PolicyConfig { hidden: vec![16], head: Head::Gaussian, state_dependent_std: false, ..PolicyConfig::default() }
}

/// A population's environments and the network its candidates parameterize.
pub struct Population {
    envs: VecEnv,
    space: Space,
    layout: Layout,
    obs_dim: usize,
    config: PolicyConfig,
    /// The network whose parameters the candidates replace (inference device).
    template: PolicyNet,
    /// How many parameters a candidate has.
    dim: usize,
    candidates: usize,
    episodes: usize,
    seed: u64,
    generation: u64,
    device: Device,
    /// Environment steps taken inside candidates' episodes.
    pub env_steps: usize,
}

impl Population {
    /// Room for `candidates` × `episodes` episodes a generation.
    pub fn new(
        env: &ScenarioEnv,
        config: &PolicyConfig,
        candidates: usize,
        episodes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Population, TrainError> {
        let space = env.action_space().clone();
        let layout = config.layout(&space);
        let fits =
            matches!(layout, Layout::Categorical { .. } | Layout::Gaussian { tanh: false, learned_std: true, .. });
        if !fits || !config.single_step() || config.layer_norm {
            return Err(TrainError::Config(
                "a population search needs an MLP policy (no layer norm, history 1) with a categorical head or a \
                 `gaussian` head whose std is not state-dependent"
                    .into(),
            ));
        }
        if candidates < 2 || episodes == 0 {
            return Err(TrainError::Config("a population needs at least 2 candidates and 1 episode each".into()));
        }
        let _init = super::device::seed_init(device, seed);
        let obs_dim = env.observation_space().dim();
        let template = config.build(obs_dim, &space, device);
        Ok(Population {
            envs: VecEnv::new(env.fork(), candidates * episodes, seed),
            dim: params(template.network()).len(),
            template,
            space,
            layout,
            obs_dim,
            config: config.clone(),
            candidates,
            episodes,
            seed,
            generation: 0,
            device: device.clone(),
            env_steps: 0,
        })
    }

    /// Where a search starts: every parameter 0 (a policy that outputs 0). Not the network's
    /// random initialization: that draws from Burn's process-wide generator, which other
    /// threads' networks draw from too, so a search would not be reproducible from its seed.
    pub fn initial(&self) -> Vec<f32> {
        vec![0.0; self.dim]
    }

    /// The policy of parameters `theta`.
    pub fn policy(&self, theta: &[f32]) -> MlpPolicy {
        let net = self.template.clone().with_network(with_params(self.template.network().clone(), theta));
        MlpPolicy::new(net, self.config.clone(), identity(self.obs_dim), self.space.clone(), self.device.clone())
    }

    /// Each candidate's mean return over this generation's episodes (the same seeds for all).
    pub fn evaluate(&mut self, thetas: &[Vec<f32>]) -> Result<Vec<f32>, TrainError> {
        assert_eq!(thetas.len(), self.candidates, "one parameter vector per candidate");
        let (e, n) = (self.episodes, self.candidates * self.episodes);
        let members: Vec<_> = thetas.iter().map(|t| with_params(self.template.network().clone(), t)).collect();
        let stacked = StackedMlp::new(&members);
        let seeds: Vec<u64> = (0..n).map(|j| self.episode_seed(j % e)).collect();
        self.generation += 1;
        let mut obs = self.envs.reset_seeded(&seeds);
        let (mut alive, mut returns) = (vec![true; n], vec![0.0f32; n]);
        while alive.iter().any(|a| *a) {
            let x =
                Tensor::<3>::from_data(TensorData::new(obs.concat(), [self.candidates, e, self.obs_dim]), &self.device);
            let out = floats(stacked.forward(x).flatten::<1>(0, 2));
            let width = out.len() / n;
            let actions: Vec<Action> = out.chunks(width).map(|o| self.action(o)).collect();
            let steps = self.envs.step(&actions).map_err(|err| TrainError::Config(err.to_string()))?;
            for (j, step) in steps.iter().enumerate() {
                if alive[j] {
                    returns[j] += step.reward;
                    self.env_steps += 1;
                    alive[j] = !(step.terminated || step.truncated);
                }
            }
            obs = steps.iter().map(|s| s.obs.clone()).collect();
        }
        Ok(returns.chunks(e).map(|r| r.iter().sum::<f32>() / e as f32).collect())
    }

    /// Episode `k`'s seed in the current generation.
    fn episode_seed(&self, k: usize) -> u64 {
        self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (self.generation << 16) ^ k as u64
    }

    /// The deterministic action of one row of network outputs.
    fn action(&self, out: &[f32]) -> Action {
        match &self.layout {
            Layout::Categorical { sizes } => {
                let mut at = 0;
                let picks: Vec<usize> = sizes
                    .iter()
                    .map(|&size| {
                        at += size;
                        choose(&out[at - size..at], None)
                    })
                    .collect();
                if picks.len() == 1 { Action::Discrete(picks[0]) } else { Action::MultiDiscrete(picks) }
            }
            _ => unscale_action(&self.space, Action::Continuous(out.iter().map(|v| v.clamp(-1.0, 1.0)).collect())),
        }
    }
}

/// `v`'s entries replaced by centered ranks in [−0.5, 0.5] (ties keep their order): fitness
/// shaping that ignores the returns' scale and outliers.
pub fn centered_ranks(v: &[f32]) -> Vec<f32> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let top = (v.len().max(2) - 1) as f32;
    for (rank, &i) in order.iter().enumerate() {
        ranks[i] = rank as f32 / top - 0.5;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centered_ranks_span_minus_a_half_to_a_half_in_the_order_of_the_values() {
        assert_eq!(centered_ranks(&[10.0, -3.0, 7.0]), [0.5, -0.5, 0.0]);
    }

    #[test]
    fn a_candidate_scores_what_its_saved_policy_scores() {
        let env = ScenarioEnv::load("cartpole").unwrap();
        let device = Device::flex();
        let mut population = Population::new(&env, &default_policy(), 2, 1, 3, &device).unwrap();
        let seed = population.episode_seed(0);
        let theta = population.initial();
        let scores = population.evaluate(&[theta.clone(), theta.clone()]).unwrap();
        assert_eq!(scores[0], scores[1], "the same parameters on the same episode");
        // The saved policy replays the candidate's episode step for step.
        let (mut policy, mut replay) = (population.policy(&theta), env.fork());
        let (mut obs, mut total) = (replay.reset(seed), 0.0);
        loop {
            let action = policy.act(&obs);
            let step = replay.step(&action).unwrap();
            total += step.reward;
            obs = step.obs;
            if step.terminated || step.truncated {
                break;
            }
        }
        assert_eq!(total, scores[0]);
    }
}
