//! Sequence encoders for demonstrators whose next action depends on more than the current
//! frame (Gupta's non-Markovian demonstrators): a small causal transformer over the last
//! `policy.history` observations (`policy.kind = "transformer"`), or a GRU whose hidden state
//! carries the whole episode (`policy.kind = "gru"`, trained by truncated backpropagation
//! through time). Either hands its features to the head's MLP.

use burn::module::Param;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::gru::{Gru, GruConfig};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Observation tokens → features of the newest one.
#[derive(Module, Debug)]
pub struct HistoryTransformer {
    /// Observation → token.
    embed: Linear,
    /// A learned embedding per position in the history, oldest first: [tokens, width].
    position: Param<Tensor<2>>,
    encoder: TransformerEncoder,
    #[module(skip)]
    tokens: usize,
}

impl HistoryTransformer {
    /// `tokens` observations of `obs_dim` each, `width` features per token, `layers` pre-norm
    /// encoder layers of `heads` attention heads (feed-forward 4× wide, no dropout).
    pub fn new(obs_dim: usize, tokens: usize, width: usize, layers: usize, heads: usize, device: &Device) -> Self {
        let encoder = TransformerEncoderConfig::new(width, 4 * width, heads.max(1), layers.max(1))
            .with_dropout(0.0)
            .with_norm_first(true)
            .init(device);
        let position = Tensor::<2>::random([tokens, width], burn::tensor::Distribution::Normal(0.0, 0.02), device);
        HistoryTransformer {
            embed: LinearConfig::new(obs_dim, width).init(device),
            position: Param::from_tensor(position),
            encoder,
            tokens,
        }
    }

    /// `x`: [batch, tokens · obs_dim] (oldest observation first, as `stacked` lays them out)
    /// → [batch, width], the newest token after causal self-attention.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, flat] = x.dims();
        let tokens = self.tokens.max(1);
        let h = self.embed.forward(x.reshape([batch, tokens, flat / tokens]));
        let width = h.dims()[2];
        let h = h + self.position.val().unsqueeze_dim::<3>(0);
        let mask = generate_autoregressive_mask(batch, tokens, &h.device());
        let out = self.encoder.forward(TransformerEncoderInput::new(h).mask_attn(mask));
        out.narrow(1, tokens - 1, 1).reshape([batch, width])
    }
}

/// A GRU over the episode's observations; its hidden state is its features.
#[derive(Module, Debug)]
pub struct Recurrent {
    gru: Gru,
    #[module(skip)]
    obs_dim: usize,
}

impl Recurrent {
    pub fn new(obs_dim: usize, width: usize, device: &Device) -> Recurrent {
        Recurrent { gru: GruConfig::new(obs_dim, width, true).init(device), obs_dim }
    }

    /// One step: `x` = [batch, obs_dim + width], the observation then the state before it →
    /// [batch, width], the state after it.
    pub fn step(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, flat] = x.dims();
        let obs = x.clone().narrow(1, 0, self.obs_dim).reshape([batch, 1, self.obs_dim]);
        let state = x.narrow(1, self.obs_dim, flat - self.obs_dim);
        let width = state.dims()[1];
        self.gru.forward(obs, Some(state)).reshape([batch, width])
    }

    /// A run of steps: `x` = [batch, steps, obs_dim] from `state` ([batch, width], zeros when
    /// none) → every step's state, [batch, steps, width].
    pub fn run(&self, x: Tensor<3>, state: Option<Tensor<2>>) -> Tensor<3> {
        self.gru.forward(x, state)
    }
}
