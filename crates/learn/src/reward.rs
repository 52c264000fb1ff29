//! Learned rewards (Levine & Finn part 4; Gupta's imitation as f-divergence minimization): a
//! discriminator D tells the demonstrator's transitions from the learner's, its logit
//! h = log D/(1 − D) estimates log ρ_expert/ρ_learner, and the divergence chosen reads h as
//! a reward. The model is the run's `reward` artifact (`reward.json` + `reward.safetensors`),
//! which `train sac|ppo --reward RUN` optimizes instead of the scenario's reward.

use super::artifact::{Artifact, Kind};
use super::batch::{floats, matrix};
use super::policy::saved::{check_fits, load_named, save_named};
use super::policy::{Activation, Mlp, Normalizer, scale_action};
use super::run::RunError;
use burn::prelude::*;
use burn::tensor::activation::softplus;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::Path;

/// Which divergence between the expert's and the learner's occupancy the adversarial game
/// minimizes, by the reward it reads off the logit h (Ghasemipour et al. 2019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Divergence {
    /// Jensen–Shannon, GAIL's: r = −log(1 − D) = softplus(h), positive everywhere.
    #[default]
    Js,
    /// Reverse KL(learner ‖ expert), AIRL's, mode seeking: r = h.
    ReverseKl,
    /// Forward KL(expert ‖ learner), FAIRL's, mode covering: r = −h·eʰ (h clamped to ±5).
    ForwardKl,
}

/// The logit bound of the forward-KL reward (−h·eʰ grows exponentially past it) and of the
/// absorbing state's reward (earned forever, it would otherwise dwarf every other).
const LOGIT_CLAMP: f32 = 5.0;

impl Divergence {
    /// The reward for a discriminator logit.
    pub fn reward(self, h: f32) -> f32 {
        match self {
            Divergence::Js => h.max(0.0) + (-h.abs()).exp().ln_1p(),
            Divergence::ReverseKl => h,
            Divergence::ForwardKl => {
                let h = h.clamp(-LOGIT_CLAMP, LOGIT_CLAMP);
                -h * h.exp()
            }
        }
    }
}

/// The discriminator's loss, binary cross-entropy with the expert labelled 1:
/// mean softplus(−h_expert) + mean softplus(h_learner). Logits: [batch] each.
pub fn discriminator_loss(expert: Tensor<1>, learner: Tensor<1>) -> Tensor<1> {
    softplus(expert.neg(), 1.0).mean() + softplus(learner, 1.0).mean()
}

/// One transition as a reward model reads it.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub obs: &'a [f32],
    pub action: &'a Action,
    pub next: &'a [f32],
}

/// How a reward model reads a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardFormat {
    /// A classifier's logit over (s, a) or (s, s′), read through the divergence (GAIL).
    Discriminator,
    /// A reward of the state alone, g(s), read as it is (AIRL's disentangled reward).
    StateReward,
    /// A reward over (s, a) or (s, s′) read as it is (guided cost learning's −cost).
    Reward,
}

/// What a saved reward model needs to be rebuilt and checked against a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardMeta {
    pub format: RewardFormat,
    pub scenario: String,
    pub scenario_hash: String,
    pub obs_dim: usize,
    pub action_space: Space,
    /// It sees (s, s′) instead of (s, a).
    pub state_only: bool,
    pub divergence: Divergence,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Observations are standardized by the demonstrations' statistics.
    pub normalizer: Normalizer,
    /// Rows end with an absorbing-state indicator (DAC, Kostrikov et al. 2019): the state
    /// after a terminal step is one more input, whose learned reward is earned forever.
    #[serde(default)]
    pub absorbing: bool,
}

/// A discriminator read as a reward.
#[derive(Debug, Clone)]
pub struct RewardModel {
    /// Logits: [batch, features] → [batch, 1].
    pub net: Mlp,
    pub meta: RewardMeta,
    pub device: Device,
}

/// The width of an action's features: scaled components, or one one-hot per choice.
pub fn action_width(space: &Space) -> usize {
    match space {
        Space::Box { low, .. } => low.len(),
        Space::Discrete { n } => *n,
        Space::MultiDiscrete { nvec } => nvec.iter().sum(),
    }
}

/// Appends an action's features: scaled components, or one one-hot per choice.
pub(crate) fn push_action(space: &Space, action: &Action, out: &mut Vec<f32>) {
    let one_hot = |out: &mut Vec<f32>, n: usize, c: usize| out.extend((0..n).map(|k| if k == c { 1.0 } else { 0.0 }));
    match (space, action) {
        (Space::Discrete { n }, Action::Discrete(c)) => one_hot(out, *n, *c),
        (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(cs)) => {
            nvec.iter().zip(cs).for_each(|(&n, &c)| one_hot(out, n, c));
        }
        (space @ Space::Box { .. }, a) => out.extend(scale_action(space, a)),
        // An action of another space (a checked run never has one) reads as no choice.
        (space, _) => out.extend(std::iter::repeat_n(0.0, action_width(space))),
    }
}

impl RewardMeta {
    /// A discriminator's description for `env`: (s, a) rows, or (s, s′) with `state_only`.
    pub fn new(
        env: &ScenarioEnv,
        (state_only, divergence): (bool, Divergence),
        (hidden, activation): (&[usize], Activation),
        normalizer: Normalizer,
    ) -> RewardMeta {
        RewardMeta {
            format: RewardFormat::Discriminator,
            scenario: env.scenario().name.clone(),
            scenario_hash: env.scenario().source_hash.clone(),
            obs_dim: env.observation_space().dim(),
            action_space: env.action_space().clone(),
            state_only,
            divergence,
            hidden: hidden.to_vec(),
            activation,
            normalizer,
            absorbing: false,
        }
    }

    /// The network's input width.
    pub fn features(&self) -> usize {
        let transition = match self.format {
            RewardFormat::StateReward => self.obs_dim,
            _ if self.state_only => 2 * self.obs_dim,
            _ => self.obs_dim + action_width(&self.action_space),
        };
        transition + usize::from(self.absorbing)
    }

    /// The input row of one transition: standardized s, then (for a discriminator) the
    /// action's features or s′.
    pub fn row(&self, t: &Transition, out: &mut Vec<f32>) {
        out.extend(self.normalizer.apply(t.obs));
        if self.format != RewardFormat::StateReward {
            if self.state_only {
                out.extend(self.normalizer.apply(t.next));
            } else {
                push_action(&self.action_space, t.action, out);
            }
        }
        if self.absorbing {
            out.push(0.0);
        }
    }

    /// The absorbing state's row: zeros and the indicator (only with `absorbing`).
    pub fn absorbing_row(&self) -> Vec<f32> {
        let mut row = vec![0.0; self.features()];
        if let Some(flag) = row.last_mut() {
            *flag = 1.0;
        }
        row
    }

    /// The input rows of `transitions`, flat.
    pub fn rows(&self, transitions: &[Transition]) -> Vec<f32> {
        let mut out = Vec::with_capacity(transitions.len() * self.features());
        transitions.iter().for_each(|t| self.row(t, &mut out));
        out
    }
}

impl RewardModel {
    /// A fresh discriminator for `env`, its observations standardized by `normalizer`.
    pub fn new(
        env: &ScenarioEnv,
        spec: (bool, Divergence),
        net: (&[usize], Activation),
        normalizer: Normalizer,
        device: &Device,
    ) -> RewardModel {
        let meta = RewardMeta::new(env, spec, net, normalizer);
        let net = Mlp::new(meta.features(), &meta.hidden, 1, meta.activation, false, device);
        RewardModel { net, meta, device: device.clone() }
    }

    /// Logits of flat input rows: [rows].
    pub fn logits(&self, rows: Vec<f32>) -> Vec<f32> {
        let n = rows.len() / self.meta.features().max(1);
        if n == 0 {
            return Vec::new();
        }
        floats(self.net.forward(matrix(rows, n, &self.device)).reshape([n]))
    }

    /// The learned reward of each transition.
    pub fn score(&self, transitions: &[Transition]) -> Vec<f32> {
        self.read(self.logits(self.meta.rows(transitions)))
    }

    /// The learned return after a terminal step: the absorbing state's reward earned forever,
    /// r_abs / (1 − γ) (zero without an absorbing state). A terminal row's reward gains γ
    /// times it, in place of the bootstrap a terminal step does not have.
    pub fn absorbing_value(&self, gamma: f32) -> f32 {
        if !self.meta.absorbing {
            return 0.0;
        }
        let h = self.logits(self.meta.absorbing_row())[0].clamp(-LOGIT_CLAMP, LOGIT_CLAMP);
        self.read(vec![h])[0] / (1.0 - gamma).max(1e-3)
    }

    fn read(&self, logits: Vec<f32>) -> Vec<f32> {
        match self.meta.format {
            RewardFormat::Discriminator => logits.into_iter().map(|h| self.meta.divergence.reward(h)).collect(),
            RewardFormat::StateReward | RewardFormat::Reward => logits,
        }
    }
}

impl Artifact for RewardModel {
    fn name(&self) -> &str {
        "reward"
    }

    fn kind(&self) -> Kind {
        Kind::Reward
    }

    fn format(&self) -> &str {
        match self.meta.format {
            RewardFormat::Discriminator => "discriminator",
            RewardFormat::StateReward => "state_reward",
            RewardFormat::Reward => "reward",
        }
    }

    /// `reward.json` (the description) and `reward.safetensors` (the weights), each written
    /// beside the old one and renamed over it.
    fn save(&self, dir: &Path) -> Result<Vec<String>, RunError> {
        save_named(dir, "reward", &self.meta, &self.net)
    }
}

/// Loads the reward model a run saved (`RUN/reward.json`), checked against `env`'s spaces.
pub fn load_reward(dir: &Path, env: &ScenarioEnv) -> Result<RewardModel, RunError> {
    let path = dir.join("reward.json");
    let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => RunError::Invalid {
            path: path.clone(),
            what: "this run has no learned reward (train one with gail, airl or gcl)".into(),
        },
        _ => RunError::Io { path: path.clone(), source },
    })?;
    let meta: RewardMeta =
        serde_json::from_slice(&bytes).map_err(|e| RunError::Invalid { path: path.clone(), what: e.to_string() })?;
    check_fits(&path, &meta.scenario, (meta.obs_dim, &meta.action_space), &meta.normalizer, env)?;
    let device = Device::flex();
    let _init = crate::device::hold_init(); // random weights, replaced by the saved ones
    let net = load_named(dir, "reward", Mlp::new(meta.features(), &meta.hidden, 1, meta.activation, false, &device))?;
    Ok(RewardModel { net, meta, device })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::vector;

    #[test]
    fn each_divergence_reads_the_logit_as_its_reward() {
        // h = ln 3: D = 3/4. JS: −ln(1 − 3/4) = ln 4; reverse KL: ln 3; forward KL: −3·ln 3.
        let h = 3f32.ln();
        assert!((Divergence::Js.reward(h) - 4f32.ln()).abs() < 1e-6);
        assert!((Divergence::ReverseKl.reward(h) - h).abs() < 1e-6);
        assert!((Divergence::ForwardKl.reward(h) + 3.0 * h).abs() < 1e-5);
        // The JS reward stays finite and exact far out on both sides.
        assert!((Divergence::Js.reward(-30.0) - (-30f32).exp()).abs() < 1e-12);
        assert!((Divergence::Js.reward(30.0) - 30.0).abs() < 1e-6);
        assert_eq!(Divergence::ForwardKl.reward(50.0), Divergence::ForwardKl.reward(LOGIT_CLAMP));
    }

    #[test]
    fn the_discriminator_loss_is_binary_cross_entropy_with_the_expert_as_one() {
        let device = Device::flex();
        // Expert logits 0 and ln 3 (D = 1/2, 3/4), learner logit −ln 3 (D = 1/4):
        // (ln 2 + ln 4/3) / 2 + ln 4/3.
        let (expert, learner) = (vector(vec![0.0, 3f32.ln()], &device), vector(vec![-(3f32.ln())], &device));
        let loss = floats(discriminator_loss(expert, learner))[0];
        let expected = (2f32.ln() + (4.0f32 / 3.0).ln()) / 2.0 + (4.0f32 / 3.0).ln();
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    }

    #[test]
    fn discrete_actions_are_one_hot_and_state_only_rows_hold_the_next_state() {
        let mut meta = RewardMeta {
            format: RewardFormat::Discriminator,
            scenario: "t".into(),
            scenario_hash: String::new(),
            obs_dim: 2,
            action_space: Space::Discrete { n: 3 },
            state_only: false,
            divergence: Divergence::Js,
            hidden: vec![],
            activation: Activation::Relu,
            normalizer: Normalizer { mean: vec![1.0, 0.0], std: vec![2.0, 1.0] },
            absorbing: false,
        };
        let t = Transition { obs: &[3.0, 1.0], action: &Action::Discrete(2), next: &[5.0, -1.0] };
        assert_eq!(meta.rows(&[t]), vec![1.0, 1.0, 0.0, 0.0, 1.0]);
        meta.state_only = true;
        assert_eq!(meta.rows(&[t]), vec![1.0, 1.0, 2.0, -1.0]);
        assert_eq!(meta.features(), 4);
        meta.absorbing = true;
        assert_eq!(meta.rows(&[t]), vec![1.0, 1.0, 2.0, -1.0, 0.0]);
        assert_eq!(meta.absorbing_row(), vec![0.0, 0.0, 0.0, 0.0, 1.0]);
        meta.absorbing = false;
        meta.format = RewardFormat::StateReward;
        assert_eq!(meta.rows(&[t]), vec![1.0, 1.0]);
    }
}
