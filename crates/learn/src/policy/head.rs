//! Policy heads: how a network's output becomes an action distribution, its training loss
//! (negative log-likelihood) and its choice of action (the mode, or a sample).
//!
//! Continuous actions live in [-1, 1] per dimension here (scaled by the action space's
//! bounds). The answers Levine's lecture on imitation's challenges gives to multimodal demonstrations are the mixture and the
//! autoregressive heads: a single Gaussian (or MSE) averages two modes into a third action
//! nobody demonstrated.

use super::mlp::Mlp;
use super::sequence::{HistoryTransformer, Recurrent};
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_softmax, softplus};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sim::{Action, Space};

/// The distribution over continuous actions a policy learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// The action itself, trained with mean squared error.
    #[default]
    Deterministic,
    /// Diagonal Gaussian, trained by negative log-likelihood.
    Gaussian,
    /// Gaussian squashed by tanh into the action bounds (SAC's actor).
    TanhGaussian,
    /// Mixture of `components` diagonal Gaussians.
    Mixture,
    /// Each dimension a categorical over `bins` bins, conditioned on the dimensions before it.
    Autoregressive,
}

/// A head resolved against an action space: what the network outputs and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    Regression {
        dims: usize,
    },
    Gaussian {
        dims: usize,
        tanh: bool,
        learned_std: bool,
    },
    Mixture {
        dims: usize,
        components: usize,
    },
    /// One network per dimension.
    Autoregressive {
        dims: usize,
        bins: usize,
    },
    /// One categorical per entry (Discrete: one; MultiDiscrete: one per dimension).
    Categorical {
        sizes: Vec<usize>,
    },
}

/// Bounds on predicted log standard deviations: no collapse to a point, no flat blur.
const LOG_STD: (f32, f32) = (-3.0, 1.0);
/// ln √(2π): the constant of a Gaussian's log-density.
const HALF_LN_2PI: f32 = 0.918_938_5;

impl Layout {
    pub fn of(head: Head, components: usize, bins: usize, state_dependent_std: bool, space: &Space) -> Layout {
        match space {
            Space::Discrete { n } => Layout::Categorical { sizes: vec![*n] },
            Space::MultiDiscrete { nvec } => Layout::Categorical { sizes: nvec.clone() },
            Space::Box { low, .. } => {
                let dims = low.len();
                match head {
                    Head::Deterministic => Layout::Regression { dims },
                    Head::Gaussian | Head::TanhGaussian => {
                        Layout::Gaussian { dims, tanh: head == Head::TanhGaussian, learned_std: !state_dependent_std }
                    }
                    Head::Mixture => Layout::Mixture { dims, components: components.max(1) },
                    Head::Autoregressive => Layout::Autoregressive { dims, bins: bins.max(2) },
                }
            }
        }
    }

    /// Output widths of the networks this head needs, and each one's extra inputs.
    fn networks(&self) -> Vec<(usize, usize)> {
        match self {
            Layout::Regression { dims } => vec![(*dims, 0)],
            Layout::Gaussian { dims, learned_std, .. } => vec![(if *learned_std { *dims } else { 2 * dims }, 0)],
            Layout::Mixture { dims, components } => vec![(components * (1 + 2 * dims), 0)],
            Layout::Autoregressive { dims, bins } => (0..*dims).map(|i| (*bins, i)).collect(),
            Layout::Categorical { sizes } => vec![(sizes.iter().sum(), 0)],
        }
    }
}

/// What a batch is trained to predict.
pub enum Target {
    /// Scaled continuous actions, [batch, dims].
    Continuous(Tensor<2>),
    /// Class indices, [batch, dims].
    Classes(Tensor<2, Int>),
}

/// A batch of action distributions, for KL divergences between two policies.
#[derive(Debug, Clone)]
pub enum ActionDistribution {
    /// Log-probabilities, [batch, classes], one tensor per action dimension.
    Categorical(Vec<Tensor<2>>),
    /// Diagonal Gaussians, [batch, dims] each.
    Gaussian { mu: Tensor<2>, log_std: Tensor<2> },
}

impl ActionDistribution {
    /// The same distributions as constants (no gradient flows into them).
    pub fn detach(self) -> ActionDistribution {
        match self {
            ActionDistribution::Categorical(l) => ActionDistribution::Categorical(l.into_iter().map(|t| t.detach()).collect()),
            ActionDistribution::Gaussian { mu, log_std } => ActionDistribution::Gaussian { mu: mu.detach(), log_std: log_std.detach() },
        }
    }

    /// KL(self ‖ other) per row, [batch]; both must be the same kind and shape.
    pub fn kl(&self, other: &ActionDistribution) -> Tensor<1> {
        let per_row = match (self, other) {
            (ActionDistribution::Categorical(p), ActionDistribution::Categorical(q)) => p
                .iter()
                .zip(q)
                .map(|(p, q)| (p.clone().exp() * (p.clone() - q.clone())).sum_dim(1))
                .reduce(|s, t| s + t)
                .expect("at least one action dimension"),
            (ActionDistribution::Gaussian { mu: m1, log_std: s1 }, ActionDistribution::Gaussian { mu: m2, log_std: s2 }) => {
                // log σ₂/σ₁ + (σ₁² + (μ₁ − μ₂)²) / 2σ₂² − ½, per dimension.
                let var_ratio = ((s1.clone() - s2.clone()) * 2.0).exp();
                let gap = (m1.clone() - m2.clone()).square() * (s2.clone() * -2.0).exp();
                (s2.clone() - s1.clone() + (var_ratio + gap) * 0.5 - 0.5).sum_dim(1)
            }
            _ => panic!("KL between different kinds of distribution"),
        };
        let b = per_row.dims()[0];
        per_row.reshape([b])
    }
}

/// Network(s) plus head: the trainable part of a policy.
#[derive(Module, Debug)]
pub struct PolicyNet {
    /// One network, or one per action dimension for the autoregressive head (network i sees
    /// the observation and the binned actions 0..i).
    nets: Vec<Mlp>,
    /// One learned log standard deviation per dimension (Gaussian heads whose std does not
    /// depend on the state).
    log_std: Option<Param<Tensor<1>>>,
    /// What turns the input into the networks' features (none: they read the stacked,
    /// normalized observations).
    encoder: Option<Encoder>,
    #[module(skip)]
    layout: Layout,
}

/// What the head's networks read.
#[derive(Module, Debug)]
pub enum Encoder {
    /// A transformer over the observation history (`policy.kind = "transformer"`).
    Transformer(HistoryTransformer),
    /// A GRU step: the input is the observation then the state before it
    /// (`policy.kind = "gru"`); the state after it is the features.
    Recurrent(Recurrent),
}

/// The network shape a head needs: MLPs of `hidden` widths on `input` features.
pub struct Torso<'a> {
    pub input: usize,
    pub hidden: &'a [usize],
    pub activation: super::mlp::Activation,
    pub layer_norm: bool,
}

impl PolicyNet {
    pub fn new(torso: &Torso, layout: Layout, device: &Device) -> PolicyNet {
        let nets = layout
            .networks()
            .into_iter()
            .map(|(out, extra)| {
                Mlp::new(torso.input + extra, torso.hidden, out, torso.activation, torso.layer_norm, device)
            })
            .collect();
        let log_std = match layout {
            Layout::Gaussian { dims, learned_std: true, .. } => {
                Some(Param::from_tensor(Tensor::<1>::zeros([dims], device).sub_scalar(0.5)))
            }
            _ => None,
        };
        PolicyNet { nets, log_std, encoder: None, layout }
    }

    /// The same networks reading `encoder`'s features (their input width must be its width).
    pub fn with_encoder(self, encoder: Option<Encoder>) -> PolicyNet {
        PolicyNet { encoder, ..self }
    }

    /// What the networks read: the input itself, or the encoder's features of it.
    fn features(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.encoder {
            None => x,
            Some(Encoder::Transformer(encoder)) => encoder.forward(x),
            Some(Encoder::Recurrent(gru)) => gru.step(x),
        }
    }

    /// `features` of one input row, as a row: for a GRU, its state after the step.
    pub fn row_features(&self, x: &[f32], device: &Device) -> Vec<f32> {
        if self.encoder.is_none() {
            return x.to_vec();
        }
        let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, x.len()]), device);
        self.features(t).into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The (first) network: the whole policy for categorical heads and Gaussian heads with a
    /// learned state-independent std, whose outputs are the logits or the mean.
    pub fn network(&self) -> &Mlp {
        &self.nets[0]
    }

    /// The same policy with `network` as its (first) network.
    pub fn with_network(mut self, network: Mlp) -> PolicyNet {
        self.nets[0] = network;
        self
    }

    /// Mean training loss over a batch. `x`: [batch, input]; `weights`: [batch] or none
    /// (uniform). Deterministic heads use squared error, every other head the negative
    /// log-likelihood of the target.
    pub fn loss(&self, x: Tensor<2>, target: &Target, weights: Option<Tensor<1>>) -> Tensor<1> {
        match (&self.layout, target, weights) {
            (Layout::Regression { .. }, Target::Continuous(a), None) => {
                (self.nets[0].forward(self.features(x)) - a.clone()).square().mean()
            }
            (_, _, None) => self.nll(x, target).mean(),
            (_, _, Some(w)) => (self.nll(x, target) * w).mean(),
        }
    }

    /// Per-sample loss, [batch].
    pub fn nll(&self, x: Tensor<2>, target: &Target) -> Tensor<1> {
        self.nll_of_features(self.features(x), target)
    }

    /// A GRU policy's per-step loss over runs of steps: `x` = [batch, steps, obs_dim] from
    /// `state` → the loss of every step, [batch · steps] (batch-major), and every step's state
    /// [batch, steps, width]. `None` for other encoders.
    pub fn sequence_nll(
        &self,
        x: Tensor<3>,
        state: Option<Tensor<2>>,
        target: &Target,
    ) -> Option<(Tensor<1>, Tensor<3>)> {
        let Some(Encoder::Recurrent(gru)) = &self.encoder else { return None };
        let states = gru.run(x, state);
        let [b, l, w] = states.dims();
        Some((self.nll_of_features(states.clone().reshape([b * l, w]), target), states))
    }

    /// Per-sample loss of the head on the networks' features, [batch].
    fn nll_of_features(&self, x: Tensor<2>, target: &Target) -> Tensor<1> {
        let b = x.dims()[0];
        let per_sample = match (&self.layout, target) {
            (Layout::Regression { .. }, Target::Continuous(a)) => {
                (self.nets[0].forward(x) - a.clone()).square().mean_dim(1)
            }
            (Layout::Gaussian { dims, tanh, .. }, Target::Continuous(a)) => {
                let out = self.nets[0].forward(x);
                let mu = out.clone().narrow(1, 0, *dims);
                let log_std = match &self.log_std {
                    Some(p) => p.val().clamp(LOG_STD.0, LOG_STD.1).unsqueeze_dim::<2>(0).repeat_dim(0, b),
                    None => out.narrow(1, *dims, *dims).clamp(LOG_STD.0, LOG_STD.1),
                };
                if *tanh {
                    // Density of a = tanh(u): p(a) = p(u) / (1 − a²).
                    let a = a.clone().clamp(-0.999, 0.999);
                    let u = a.clone().atanh();
                    gaussian_nll(u, mu, log_std).sum_dim(1) + (a.square().neg() + 1.0).log().sum_dim(1)
                } else {
                    gaussian_nll(a.clone(), mu, log_std).sum_dim(1)
                }
            }
            (Layout::Mixture { dims, components: k }, Target::Continuous(a)) => {
                let (d, k) = (*dims, *k);
                let out = self.nets[0].forward(x);
                let logits = out.clone().narrow(1, 0, k);
                let mu = out.clone().narrow(1, k, k * d).reshape([b, k, d]);
                let log_std = out.narrow(1, k + k * d, k * d).reshape([b, k, d]).clamp(LOG_STD.0, LOG_STD.1);
                let a = a.clone().unsqueeze_dim::<3>(1).repeat_dim(1, k);
                let component = gaussian_nll(a, mu, log_std).sum_dim(2).reshape([b, k]).neg();
                log_sum_exp(log_softmax(logits, 1) + component).neg()
            }
            (Layout::Autoregressive { dims, bins }, Target::Continuous(a)) => {
                let (bin, centers) = binned(a.clone(), *bins);
                (0..*dims)
                    .map(|i| {
                        let input = if i == 0 {
                            x.clone()
                        } else {
                            Tensor::cat(vec![x.clone(), centers.clone().narrow(1, 0, i)], 1)
                        };
                        cross_entropy(self.nets[i].forward(input), bin.clone().narrow(1, i, 1))
                    })
                    .reduce(|s, t| s + t)
                    .expect("at least one action dimension")
            }
            (Layout::Categorical { sizes }, Target::Classes(c)) => {
                let out = self.nets[0].forward(x);
                let mut at = 0;
                sizes
                    .iter()
                    .enumerate()
                    .map(|(k, &n)| {
                        let ce = cross_entropy(out.clone().narrow(1, at, n), c.clone().narrow(1, k, 1));
                        at += n;
                        ce
                    })
                    .reduce(|s, t| s + t)
                    .expect("at least one action dimension")
            }
            (layout, _) => panic!("a {layout:?} head was given the other kind of target"),
        };
        per_sample.reshape([b])
    }

    /// The (first) network's raw output, [batch, input] → [batch, outputs]: a categorical
    /// head's logits, which DQN reads as Q-values.
    pub fn outputs(&self, x: Tensor<2>) -> Tensor<2> {
        self.nets[0].forward(self.features(x))
    }

    /// The mean of a Gaussian (or deterministic) head's action, squashed by tanh for the
    /// tanh-Gaussian head, clamped to [-1, 1] otherwise: [batch, input] → [batch, dims].
    /// `None` for the other heads.
    pub fn mean_action(&self, x: Tensor<2>) -> Option<Tensor<2>> {
        let x = self.features(x);
        match &self.layout {
            Layout::Regression { .. } => Some(self.nets[0].forward(x).clamp(-1.0, 1.0)),
            Layout::Gaussian { dims, tanh, .. } => {
                let mu = self.nets[0].forward(x).narrow(1, 0, *dims);
                Some(if *tanh { mu.tanh() } else { mu.clamp(-1.0, 1.0) })
            }
            _ => None,
        }
    }

    /// A reparameterized sample of a tanh-Gaussian head, differentiable in the network's
    /// parameters: a = tanh(μ + σ·ε) with `noise` ε ~ N(0, 1) [batch, dims], and its log-density
    /// log π(a|x) = Σ log N(u; μ, σ) − Σ log(1 − tanh²u), [batch]. `None` for other heads.
    pub fn rsample(&self, x: Tensor<2>, noise: Tensor<2>) -> Option<(Tensor<2>, Tensor<1>)> {
        let Layout::Gaussian { dims, tanh: true, .. } = &self.layout else { return None };
        let b = x.dims()[0];
        let out = self.nets[0].forward(self.features(x));
        let mu = out.clone().narrow(1, 0, *dims);
        let log_std = match &self.log_std {
            Some(p) => p.val().clamp(LOG_STD.0, LOG_STD.1).unsqueeze_dim::<2>(0).repeat_dim(0, b),
            None => out.narrow(1, *dims, *dims).clamp(LOG_STD.0, LOG_STD.1),
        };
        let u = mu + log_std.clone().exp() * noise.clone();
        let gaussian = (noise.square() * 0.5 + log_std + HALF_LN_2PI).neg();
        // log(1 − tanh²u) = 2·(ln 2 − u − softplus(−2u)), stable for large |u|.
        let squash = (u.clone().neg() - softplus(u.clone() * -2.0, 1.0) + std::f32::consts::LN_2) * 2.0;
        let logp = (gaussian - squash).sum_dim(1).reshape([b]);
        Some((u.tanh(), logp))
    }

    /// The action distribution at each row, for the heads whose KL divergence has a closed
    /// form (categorical, untransformed Gaussian); `None` for the others. `x`: [batch, input].
    pub fn distribution(&self, x: Tensor<2>) -> Option<ActionDistribution> {
        let b = x.dims()[0];
        let out = self.nets[0].forward(self.features(x));
        match &self.layout {
            Layout::Categorical { sizes } => {
                let mut at = 0;
                let log_probs = sizes
                    .iter()
                    .map(|&n| {
                        at += n;
                        log_softmax(out.clone().narrow(1, at - n, n), 1)
                    })
                    .collect();
                Some(ActionDistribution::Categorical(log_probs))
            }
            Layout::Gaussian { dims, tanh: false, .. } => {
                let log_std = match &self.log_std {
                    Some(p) => p.val().clamp(LOG_STD.0, LOG_STD.1).unsqueeze_dim::<2>(0).repeat_dim(0, b),
                    None => out.clone().narrow(1, *dims, *dims).clamp(LOG_STD.0, LOG_STD.1),
                };
                Some(ActionDistribution::Gaussian { mu: out.narrow(1, 0, *dims), log_std })
            }
            _ => None,
        }
    }

    /// Per-sample entropy of the action distribution, [batch], for the heads with a closed
    /// form (categorical, untransformed Gaussian); `None` for the others. `x`: [batch, input].
    pub fn entropy(&self, x: Tensor<2>) -> Option<Tensor<1>> {
        let b = x.dims()[0];
        let x = self.features(x);
        let per_sample = match &self.layout {
            Layout::Categorical { sizes } => {
                let out = self.nets[0].forward(x);
                let mut at = 0;
                sizes
                    .iter()
                    .map(|&n| {
                        let logp = log_softmax(out.clone().narrow(1, at, n), 1);
                        at += n;
                        (logp.clone().exp() * logp).sum_dim(1).neg()
                    })
                    .reduce(|s, t| s + t)?
            }
            Layout::Gaussian { dims, tanh: false, .. } => {
                let log_std = match &self.log_std {
                    Some(p) => p.val().clamp(LOG_STD.0, LOG_STD.1).unsqueeze_dim::<2>(0).repeat_dim(0, b),
                    None => self.nets[0].forward(x).narrow(1, *dims, *dims).clamp(LOG_STD.0, LOG_STD.1),
                };
                // A Gaussian's entropy: log σ + ½ + ½ ln 2π per dimension.
                (log_std + (0.5 + HALF_LN_2PI)).sum_dim(1)
            }
            _ => return None,
        };
        Some(per_sample.reshape([b]))
    }

    /// The action for one input row: the distribution's mode, or a sample when `rng` is given.
    /// Continuous actions come back scaled to [-1, 1].
    pub fn decide(&self, x: &[f32], device: &Device, rng: Option<&mut ChaCha8Rng>) -> Action {
        match self.draw(x, device, rng) {
            Action::Continuous(v) => Action::Continuous(clamped(v)),
            other => other,
        }
    }

    /// As [`decide`](PolicyNet::decide), but a continuous sample is not clamped to [-1, 1]: the
    /// action whose log-probability an on-policy gradient needs (a clamped one is a point the
    /// density barely covers, and its probability ratios explode).
    pub fn draw(&self, x: &[f32], device: &Device, mut rng: Option<&mut ChaCha8Rng>) -> Action {
        let features = self.row_features(x, device);
        let x = features.as_slice();
        let out = |net: usize, input: &[f32]| -> Vec<f32> {
            let t = Tensor::<2>::from_data(TensorData::new(input.to_vec(), [1, input.len()]), device);
            self.nets[net].forward(t).into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
        };
        match &self.layout {
            Layout::Regression { .. } => Action::Continuous(out(0, x)),
            Layout::Gaussian { dims, tanh, .. } => {
                let o = out(0, x);
                let log_std: Vec<f32> = match &self.log_std {
                    Some(p) => p.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default(),
                    None => o[*dims..2 * dims].to_vec(),
                };
                // The bounds the log-density uses (`nll`), so samples follow the density trained.
                let log_std: Vec<f32> = log_std.into_iter().map(|s| s.clamp(LOG_STD.0, LOG_STD.1)).collect();
                let u: Vec<f32> = (0..*dims).map(|j| gaussian(o[j], log_std[j], rng.as_deref_mut())).collect();
                Action::Continuous(if *tanh { u.into_iter().map(f32::tanh).collect() } else { u })
            }
            Layout::Mixture { dims, components } => {
                let o = out(0, x);
                let (d, k) = (*dims, *components);
                let c = choose(&o[..k], rng.as_deref_mut());
                let sample = (0..d).map(|j| gaussian(o[k + c * d + j], o[k + k * d + c * d + j], rng.as_deref_mut()));
                Action::Continuous(sample.collect())
            }
            Layout::Autoregressive { dims, bins } => {
                let mut input = x.to_vec();
                for i in 0..*dims {
                    let bin = choose(&out(i, &input), rng.as_deref_mut());
                    input.push(center(bin, *bins));
                }
                Action::Continuous(input.split_off(x.len()))
            }
            Layout::Categorical { sizes } => {
                let o = out(0, x);
                let mut at = 0;
                let mut picks = sizes.iter().map(|&n| {
                    at += n;
                    choose(&o[at - n..at], rng.as_deref_mut())
                });
                match sizes.len() {
                    1 => Action::Discrete(picks.next().unwrap_or(0)),
                    _ => Action::MultiDiscrete(picks.collect()),
                }
            }
        }
    }

    /// The mixture head's components for one input row: (weight, mean action in [-1, 1]),
    /// heaviest first. `None` for other heads.
    pub fn mixture_modes(&self, x: &[f32], device: &Device) -> Option<Vec<(f32, Vec<f32>)>> {
        let Layout::Mixture { dims: d, components: k } = self.layout else { return None };
        let x = self.row_features(x, device);
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, x.len()]), device);
        let o = self.nets[0].forward(t).into_data().convert::<f32>().try_into_vec::<f32>().ok()?;
        let weights = softmax(&o[..k]);
        let mut modes: Vec<(f32, Vec<f32>)> =
            (0..k).map(|c| (weights[c], clamped(o[k + c * d..k + (c + 1) * d].to_vec()))).collect();
        modes.sort_by(|a, b| b.0.total_cmp(&a.0));
        Some(modes)
    }

    /// A single categorical head's probability of each choice for one input row. `None` for
    /// other heads.
    pub fn choice_probabilities(&self, x: &[f32], device: &Device) -> Option<Vec<f32>> {
        let Layout::Categorical { sizes } = &self.layout else { return None };
        if sizes.len() != 1 {
            return None;
        }
        let x = self.row_features(x, device);
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, x.len()]), device);
        let logits = self.nets[0].forward(t).into_data().convert::<f32>().try_into_vec::<f32>().ok()?;
        Some(softmax(&logits))
    }
}

/// Elementwise −log N(x; μ, e^{log σ}).
fn gaussian_nll<const D: usize>(x: Tensor<D>, mu: Tensor<D>, log_std: Tensor<D>) -> Tensor<D> {
    let z = (x - mu) * log_std.clone().neg().exp();
    z.square() * 0.5 + log_std + HALF_LN_2PI
}

/// log Σ_k exp(x_k) along dimension 1, computed stably: [b, k] → [b, 1].
fn log_sum_exp(x: Tensor<2>) -> Tensor<2> {
    let max = x.clone().max_dim(1).detach();
    (x - max.clone()).exp().sum_dim(1).log() + max
}

/// Per-sample cross-entropy of `logits` [b, n] against class indices [b, 1]: [b, 1].
fn cross_entropy(logits: Tensor<2>, classes: Tensor<2, Int>) -> Tensor<2> {
    log_softmax(logits, 1).gather(1, classes).neg()
}

/// Bin indices [b, d] of actions in [-1, 1], and the bins' centres [b, d].
fn binned(a: Tensor<2>, bins: usize) -> (Tensor<2, Int>, Tensor<2>) {
    let step = 2.0 / (bins - 1) as f32;
    let index = ((a.clamp(-1.0, 1.0) + 1.0) / step).round();
    let centers = index.clone() * step - 1.0;
    (index.int(), centers)
}

fn center(bin: usize, bins: usize) -> f32 {
    bin as f32 * 2.0 / (bins - 1) as f32 - 1.0
}

fn clamped(v: Vec<f32>) -> Vec<f32> {
    v.into_iter().map(|x| x.clamp(-1.0, 1.0)).collect()
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// The most likely class (mode), or one drawn from softmax(logits).
/// A class from `logits`: drawn from their softmax with `rng`, else the most likely.
pub(crate) fn choose(logits: &[f32], rng: Option<&mut ChaCha8Rng>) -> usize {
    match rng {
        None => logits.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0,
        Some(rng) => {
            let mut u: f32 = rng.random();
            let p = softmax(logits);
            p.iter()
                .position(|&pi| {
                    u -= pi;
                    u <= 0.0
                })
                .unwrap_or(p.len() - 1)
        }
    }
}

/// The mean (mode), or a draw from N(μ, e^{log σ}).
fn gaussian(mu: f32, log_std: f32, rng: Option<&mut ChaCha8Rng>) -> f32 {
    match rng {
        None => mu,
        Some(rng) => {
            let n: f32 = StandardNormal.sample(rng);
            mu + log_std.clamp(LOG_STD.0, LOG_STD.1).exp() * n
        }
    }
}
