//! MLP policies: a torso of linear layers and a head chosen by the action space
//! (regression for Box actions, categorical for Discrete and MultiDiscrete).

use crate::sim::{Action, ScenarioEnv, Space};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

/// A multi-layer perceptron.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Relu,
}

impl Mlp {
    /// `input → hidden[0] → … → output`, ReLU between layers.
    pub fn new(input: usize, hidden: &[usize], output: usize, device: &Device) -> Mlp {
        let widths: Vec<usize> = std::iter::once(input).chain(hidden.iter().copied()).chain([output]).collect();
        let layers = widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        Mlp { layers, activation: Relu::new() }
    }

    /// `x`: [batch, input] → [batch, output].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |x, (i, layer)| {
            let y = layer.forward(x);
            if i < last { self.activation.forward(y) } else { y }
        })
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
}

/// Width of the network output an action space needs.
pub fn head_width(space: &Space) -> usize {
    match space {
        Space::Box { low, .. } => low.len(),
        Space::Discrete { n } => *n,
        Space::MultiDiscrete { nvec } => nvec.iter().sum(),
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

/// Turns one row of network output into an action (mode of the head's distribution).
pub fn decode_action(space: &Space, out: &[f32]) -> Action {
    let argmax =
        |xs: &[f32]| xs.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0;
    match space {
        Space::Box { low, high } => Action::Continuous(
            out.iter()
                .zip(low.iter().zip(high))
                .map(|(y, (l, h))| l + (y.clamp(-1.0, 1.0) + 1.0) / 2.0 * (h - l))
                .collect(),
        ),
        Space::Discrete { .. } => Action::Discrete(argmax(out)),
        Space::MultiDiscrete { nvec } => {
            let mut at = 0;
            Action::MultiDiscrete(
                nvec.iter()
                    .map(|&n| {
                        let choice = argmax(&out[at..at + n]);
                        at += n;
                        choice
                    })
                    .collect(),
            )
        }
    }
}

/// A trained policy ready to act: network, normalizer and action space.
#[derive(Debug, Clone)]
pub struct MlpPolicy {
    pub net: Mlp,
    pub normalizer: Normalizer,
    pub space: Space,
    pub device: Device,
}

impl MlpPolicy {
    /// The policy's action for one observation (the mode: no sampling).
    pub fn act(&self, obs: &[f32]) -> Action {
        let x: Vec<f32> = self.normalizer.apply(obs).collect();
        let input = Tensor::<2>::from_data(TensorData::new(x, [1, obs.len()]), &self.device);
        let out = self.net.forward(input).into_data().convert::<f32>();
        decode_action(&self.space, out.as_slice::<f32>().unwrap_or(&[]))
    }
}

impl crate::sim::Policy for MlpPolicy {
    fn act(&mut self, _env: &ScenarioEnv, obs: &[f32]) -> Action {
        MlpPolicy::act(self, obs)
    }
}
