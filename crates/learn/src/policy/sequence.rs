//! A small causal transformer over the policy's observation history (`policy.kind =
//! "transformer"`): for demonstrators whose next action depends on more than the current
//! frame (Gupta's non-Markovian demonstrators), it reads the last `policy.history`
//! observations as tokens and hands the newest token's features to the head's MLP.

use burn::module::Param;
use burn::nn::attention::generate_autoregressive_mask;
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
