//! Policies: an MLP torso, a head chosen for the action space and the demonstrations'
//! shape (see `head`), observation normalization and history, and the acting wrapper.

pub mod chunk;
mod head;
mod mlp;
pub mod mpc;
pub mod planner;
pub mod saved;
mod sequence;
mod unet;

pub(crate) use head::choose;
pub use head::{ActionDistribution, Encoder, Head, Layout, PolicyNet, Target, Torso};
pub use mlp::{Activation, Mlp, StackedMlp};
pub use sequence::{HistoryTransformer, Recurrent};
pub use unet::UNet1d;

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, ScenarioEnv, Space};
use std::collections::VecDeque;

/// What reads the observations before the head's MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// The MLP reads the last `history` observations stacked side by side.
    #[default]
    Mlp,
    /// A causal transformer reads them as a sequence of tokens; the MLP reads its newest token.
    Transformer,
    /// A GRU reads the episode one observation at a time; the MLP reads its hidden state.
    /// Trained by truncated backpropagation through time (`bptt`); `history` stays 1.
    Gru,
}

/// The architecture of a policy network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Widths of the MLP's hidden layers.
    pub hidden: Vec<usize>,
    /// Nonlinearity between hidden layers: relu, tanh, gelu or silu.
    pub activation: Activation,
    /// Layer normalization before every hidden activation.
    pub layer_norm: bool,
    /// Head for continuous actions: deterministic (MSE), gaussian, tanh_gaussian, mixture or
    /// autoregressive. Discrete actions always get a categorical head.
    pub head: Head,
    /// Gaussian components of the mixture head.
    pub components: usize,
    /// Bins per action dimension of the autoregressive head.
    pub bins: usize,
    /// Gaussian heads: log-std predicted from the observation (true) or one learned vector.
    pub state_dependent_std: bool,
    /// Observations the policy sees: the latest and the ones before it (1 = only the latest).
    pub history: usize,
    /// What reads those observations: mlp (stacked), transformer (a sequence of tokens) or gru
    /// (the whole episode, through its hidden state).
    pub kind: Network,
    /// Features per token of the transformer; hidden state size of the GRU.
    pub width: usize,
    /// Encoder layers of the transformer.
    pub layers: usize,
    /// Attention heads per transformer layer (they split `width`).
    pub heads: usize,
    /// GRU: steps per truncated backpropagation-through-time segment (the state flows on
    /// across segments of an episode, the gradient stops at their borders).
    pub bptt: usize,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            hidden: vec![128, 128],
            activation: Activation::Relu,
            layer_norm: false,
            head: Head::Deterministic,
            components: 5,
            bins: 21,
            state_dependent_std: true,
            history: 1,
            kind: Network::Mlp,
            width: 64,
            layers: 2,
            heads: 4,
            bptt: 32,
        }
    }
}

impl PolicyConfig {
    /// A freshly initialized network for observations of `obs_dim` and actions in `space`.
    pub fn build(&self, obs_dim: usize, space: &Space, device: &Device) -> PolicyNet {
        let history = self.history.max(1);
        let encoder = match self.kind {
            Network::Mlp => None,
            Network::Transformer => Some(Encoder::Transformer(HistoryTransformer::new(
                obs_dim,
                history,
                self.width,
                self.layers,
                self.heads,
                device,
            ))),
            Network::Gru => Some(Encoder::Recurrent(Recurrent::new(obs_dim, self.width, device))),
        };
        let torso = Torso {
            input: if self.kind == Network::Mlp { obs_dim * history } else { self.width },
            hidden: &self.hidden,
            activation: self.activation,
            layer_norm: self.layer_norm,
        };
        PolicyNet::new(&torso, self.layout(space), device).with_encoder(encoder)
    }

    /// What no network can be built from, said in the config's terms.
    pub fn check(&self) -> Result<(), String> {
        if self.kind == Network::Transformer && (self.heads == 0 || self.width == 0 || self.width % self.heads != 0) {
            return Err(format!(
                "policy.width ({}) must be a positive multiple of policy.heads ({}): the heads split the width",
                self.width, self.heads
            ));
        }
        if self.kind == Network::Gru && (self.history > 1 || self.bptt == 0 || self.width == 0) {
            return Err(format!(
                "a GRU policy remembers through its hidden state: set policy.history = 1 (is {}), and give policy.bptt ({}) and policy.width ({}) positive values",
                self.history, self.bptt, self.width
            ));
        }
        Ok(())
    }

    /// Acts on the latest observation alone (what the RL algorithms' rollouts give a policy).
    pub fn single_step(&self) -> bool {
        self.history <= 1 && self.kind == Network::Mlp
    }

    pub fn layout(&self, space: &Space) -> Layout {
        Layout::of(self.head, self.components, self.bins, self.state_dependent_std, space)
    }
}

/// Observation standardization fitted on the training data and saved with the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Per-component mean and standard deviation (floored, so constant inputs stay finite).
    pub fn fit(rows: &[Vec<f32>], dim: usize) -> Normalizer {
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0f64; dim];
        let mut sq = vec![0.0f64; dim];
        for r in rows {
            for (k, &x) in r.iter().enumerate() {
                mean[k] += x as f64 / n;
                sq[k] += (x as f64).powi(2) / n;
            }
        }
        let std = mean.iter().zip(&sq).map(|(m, s)| ((s - m * m).max(0.0).sqrt() as f32).max(1e-3)).collect();
        Normalizer { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }

    pub fn apply<'a>(&'a self, obs: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
        obs.iter().zip(self.mean.iter().zip(&self.std)).map(|(x, (m, s))| (x - m) / s)
    }

    /// The inverse of [`Normalizer::apply`]: normalized rows (any number, back to back) as
    /// the environment saw them.
    pub fn invert(&self, normalized: &[f32]) -> Vec<f32> {
        normalized.iter().zip(self.mean.iter().zip(&self.std).cycle()).map(|(x, (m, s))| x * s + m).collect()
    }
}

/// A Box action rescaled to [-1, 1] per component (the regression target).
pub fn scale_action(space: &Space, action: &Action) -> Vec<f32> {
    match (space, action) {
        (Space::Box { low, high }, Action::Continuous(v)) => {
            v.iter().zip(low.iter().zip(high)).map(|(x, (l, h))| 2.0 * (x - l) / (h - l) - 1.0).collect()
        }
        _ => Vec::new(),
    }
}

/// A Box action in [-1, 1] per component mapped back into the space's bounds.
pub fn unscale_action(space: &Space, action: Action) -> Action {
    match (space, action) {
        (Space::Box { low, high }, Action::Continuous(v)) => Action::Continuous(
            v.iter()
                .zip(low.iter().zip(high))
                .map(|(y, (l, h))| l + (y.clamp(-1.0, 1.0) + 1.0) / 2.0 * (h - l))
                .collect(),
        ),
        (_, action) => action,
    }
}

/// The network input for the latest observation given the ones before it (oldest first):
/// the last `history` normalized observations, the oldest repeated at an episode's start.
pub fn stacked<'a>(
    normalizer: &Normalizer,
    history: usize,
    before: impl DoubleEndedIterator<Item = &'a [f32]>,
    obs: &[f32],
) -> Vec<f32> {
    let mut window: VecDeque<&[f32]> = before.rev().take(history.max(1) - 1).collect();
    window.push_front(obs);
    let mut out = Vec::with_capacity(obs.len() * history.max(1));
    let oldest = *window.back().unwrap_or(&obs);
    for _ in window.len()..history.max(1) {
        out.extend(normalizer.apply(oldest));
    }
    for o in window.iter().rev() {
        out.extend(normalizer.apply(o));
    }
    out
}

/// Keeps `obs` among an episode's recent observations: the `history − 1` before the next.
pub fn remember(recent: &mut VecDeque<Vec<f32>>, history: usize, obs: &[f32]) {
    if history > 1 {
        if recent.len() + 1 >= history {
            recent.pop_front();
        }
        recent.push_back(obs.to_vec());
    }
}

/// A trained policy ready to act: network, architecture, normalizer and action space.
#[derive(Debug, Clone)]
pub struct MlpPolicy {
    pub net: PolicyNet,
    pub config: PolicyConfig,
    pub normalizer: Normalizer,
    pub space: Space,
    pub device: Device,
    /// Sample from the action distribution instead of taking its mode.
    pub sampling: bool,
    /// The episode's recent observations, newest last (only `history − 1` are kept).
    recent: VecDeque<Vec<f32>>,
    /// A GRU policy's hidden state after the episode's last step (empty: zeros, at its start).
    state: Vec<f32>,
    rng: ChaCha8Rng,
}

impl MlpPolicy {
    pub fn new(
        net: PolicyNet,
        config: PolicyConfig,
        normalizer: Normalizer,
        space: Space,
        device: Device,
    ) -> MlpPolicy {
        MlpPolicy {
            net,
            config,
            normalizer,
            space,
            device,
            sampling: false,
            recent: VecDeque::new(),
            state: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    /// The network's input: the stacked history, or for a GRU the observation and its state.
    fn input(&self, obs: &[f32]) -> Vec<f32> {
        if self.config.kind == Network::Gru {
            let mut x: Vec<f32> = self.normalizer.apply(obs).collect();
            match self.state.is_empty() {
                true => x.resize(x.len() + self.config.width, 0.0),
                false => x.extend_from_slice(&self.state),
            }
            return x;
        }
        stacked(&self.normalizer, self.config.history, self.recent.iter().map(Vec::as_slice), obs)
    }

    /// The policy's action for the episode's next observation (the mode unless `sampling`).
    pub fn act(&mut self, obs: &[f32]) -> Action {
        let x = self.input(obs);
        remember(&mut self.recent, self.config.history, obs);
        if self.config.kind == Network::Gru {
            self.state = self.net.row_features(&x, &self.device);
        }
        let rng = if self.sampling { Some(&mut self.rng) } else { None };
        unscale_action(&self.space, self.net.decide(&x, &self.device, rng))
    }

    /// The mixture head's components at `obs` (weight, action), heaviest first; the app draws them.
    pub fn mixture_modes(&self, obs: &[f32]) -> Option<Vec<(f32, Action)>> {
        let modes = self.net.mixture_modes(&self.input(obs), &self.device)?;
        Some(modes.into_iter().map(|(w, a)| (w, unscale_action(&self.space, Action::Continuous(a)))).collect())
    }

    /// A discrete policy's probability of each choice at `obs`.
    pub fn choice_probabilities(&self, obs: &[f32]) -> Option<Vec<f32>> {
        self.net.choice_probabilities(&self.input(obs), &self.device)
    }

    /// Forgets the episode's observations; reseeds sampling.
    pub fn reset(&mut self, seed: u64) {
        self.recent.clear();
        self.state.clear();
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5DEE_CE66_D1CE_4E5B);
    }
}

impl sim::Policy for MlpPolicy {
    fn act(&mut self, _env: &ScenarioEnv, obs: &[f32]) -> Action {
        MlpPolicy::act(self, obs)
    }

    fn reset(&mut self, seed: u64) {
        MlpPolicy::reset(self, seed);
    }
}
