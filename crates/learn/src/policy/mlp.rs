//! The MLP torso shared by every policy head.

use burn::nn::{LayerNorm, LayerNormConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Nonlinearity between hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Gelu,
    Silu,
}

impl Activation {
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        use burn::tensor::activation as a;
        match self {
            Activation::Relu => a::relu(x),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => a::gelu(x),
            Activation::Silu => a::silu(x),
        }
    }
}

/// A multi-layer perceptron: `input → hidden… → output`, the activation (after an optional
/// layer norm) between layers, none after the last.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    norms: Vec<LayerNorm>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    pub fn new(
        input: usize,
        hidden: &[usize],
        output: usize,
        activation: Activation,
        layer_norm: bool,
        device: &Device,
    ) -> Mlp {
        let widths: Vec<usize> = std::iter::once(input).chain(hidden.iter().copied()).chain([output]).collect();
        let layers = widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        let norms =
            if layer_norm { hidden.iter().map(|&h| LayerNormConfig::new(h).init(device)).collect() } else { vec![] };
        Mlp { layers, norms, activation }
    }

    /// `x`: [batch, input] → [batch, output].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |x, (i, layer)| {
            let y = layer.forward(x);
            if i == last {
                return y;
            }
            let y = match self.norms.get(i) {
                Some(norm) => norm.forward(y),
                None => y,
            };
            self.activation.apply(y)
        })
    }
}
