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

/// Several MLPs of one shape run as one: each layer's weights stacked along a leading member
/// axis, so an ensemble's forward pass is one batched matmul per layer instead of one per
/// member (what makes planning through a learned model affordable). Inference only; the
/// members must have no layer norms.
#[derive(Debug, Clone)]
pub struct StackedMlp {
    /// [members, in, out] per layer.
    weights: Vec<Tensor<3>>,
    /// [members, 1, out] per layer.
    biases: Vec<Tensor<3>>,
    activation: Activation,
}

impl StackedMlp {
    pub fn new(members: &[Mlp]) -> StackedMlp {
        let first = &members[0];
        debug_assert!(first.norms.is_empty(), "stacked MLPs have no layer norms");
        let per_layer = |i: usize| {
            let w = members.iter().map(|m| m.layers[i].weight.val()).collect();
            let out = first.layers[i].weight.dims()[1];
            let device = first.layers[i].weight.device();
            let b = members
                .iter()
                .map(|m| m.layers[i].bias.as_ref().map_or_else(|| Tensor::zeros([out], &device), |b| b.val()))
                .map(|b| b.reshape([1, out]))
                .collect();
            (Tensor::stack::<3>(w, 0), Tensor::stack::<3>(b, 0))
        };
        let (weights, biases) = (0..first.layers.len()).map(per_layer).unzip();
        StackedMlp { weights, biases, activation: first.activation }
    }

    /// `x`: [members, batch, input] → [members, batch, output]; member m's rows go through
    /// member m.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let last = self.weights.len() - 1;
        self.weights.iter().zip(&self.biases).enumerate().fold(x, |x, (i, (w, b))| {
            let y = x.matmul(w.clone()) + b.clone();
            if i == last { y } else { self.activation.apply(y) }
        })
    }
}
