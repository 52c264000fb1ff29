//! Truncated backpropagation through time for GRU policies (`policy.kind = "gru"`): whole
//! episodes run through the network side by side, cut into segments of `policy.bptt` steps;
//! the hidden state flows on from one segment to the next, the gradient stops at the border.

use super::batch::{push_target, scalar, vector};
use super::policy::{Normalizer, PolicyNet, Target};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::{Episode, Source};
use sim::Space;

/// One episode's steps as flat arrays.
struct Sequence {
    /// Normalized observations, rows of `obs_dim`.
    inputs: Vec<f32>,
    /// Box: scaled actions; categorical: class indices (rows of the target's width).
    floats: Vec<f32>,
    classes: Vec<i64>,
    /// Per step: the episode's weight, or 0 where no demonstrator chose the action.
    weights: Vec<f32>,
    len: usize,
}

/// The episodes a recurrent policy learns from, every step kept in order.
pub struct Sequences {
    episodes: Vec<Sequence>,
    obs_dim: usize,
    /// Width of a step's target row.
    target_dim: usize,
}

impl Sequences {
    /// `episodes` with their weights (0 drops one); each step's target is the expert's clean
    /// label where it has one and `expert_labels` asks for it, else the executed action.
    pub fn new(
        episodes: &[&Episode],
        weights: &[f32],
        space: &Space,
        normalizer: &Normalizer,
        expert_labels: bool,
    ) -> Sequences {
        let obs_dim = normalizer.mean.len();
        let mut target_dim = 0;
        let episodes = episodes
            .iter()
            .zip(weights)
            .filter(|(e, w)| **w > 0.0 && !e.is_empty())
            .map(|(episode, &weight)| {
                let mut s = Sequence { inputs: vec![], floats: vec![], classes: vec![], weights: vec![], len: 0 };
                for step in &episode.steps {
                    s.inputs.extend(normalizer.apply(&step.obs));
                    let label = step.expert_label.as_ref().filter(|_| expert_labels).unwrap_or(&step.action);
                    push_target(label, Some(space), &mut s.floats, &mut s.classes);
                    // A step the learner drove with no expert label shows no demonstrator: the
                    // network still reads it (its state must), the loss does not.
                    let taught = step.source != Source::Policy || step.expert_label.is_some();
                    s.weights.push(if taught { weight } else { 0.0 });
                    s.len += 1;
                }
                target_dim = (s.floats.len() + s.classes.len()) / s.len;
                s
            })
            .collect();
        Sequences { episodes, obs_dim, target_dim }
    }

    /// Episodes held.
    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    /// Steps `start..start + steps` of the episodes `ids`, padded past an episode's end with
    /// zero-weight steps: inputs [ids, steps, obs], targets [ids · steps, width], weights.
    fn segment(&self, ids: &[usize], start: usize, steps: usize, device: &Device) -> (Tensor<3>, Target, Vec<f32>) {
        let (b, d) = (ids.len(), self.target_dim);
        let (mut x, mut floats, mut classes, mut w) = (vec![], vec![], vec![], vec![]);
        for &i in ids {
            let e = &self.episodes[i];
            for t in start..start + steps {
                if t < e.len {
                    x.extend_from_slice(&e.inputs[t * self.obs_dim..(t + 1) * self.obs_dim]);
                    floats.extend(e.floats.get(t * d..(t + 1) * d).unwrap_or_default());
                    classes.extend(e.classes.get(t * d..(t + 1) * d).unwrap_or_default());
                    w.push(e.weights[t]);
                } else {
                    x.extend(std::iter::repeat_n(0.0, self.obs_dim));
                    floats.extend(std::iter::repeat_n(0.0, if e.floats.is_empty() { 0 } else { d }));
                    classes.extend(std::iter::repeat_n(0, if e.classes.is_empty() { 0 } else { d }));
                    w.push(0.0);
                }
            }
        }
        let x = Tensor::<3>::from_data(TensorData::new(x, [b, steps, self.obs_dim]), device);
        let target = if classes.is_empty() {
            Target::Continuous(Tensor::<2>::from_data(TensorData::new(floats, [b * steps, d]), device))
        } else {
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(classes, [b * steps, d]), device))
        };
        (x, target, w)
    }

    /// Runs the episodes `ids` segment by segment; `learn` gets each segment's weighted mean
    /// loss (to step an optimizer on, or not) and returns the network the next segment runs.
    /// Returns the mean loss per weighted step.
    pub fn pass(
        &self,
        ids: &[usize],
        bptt: usize,
        net: &mut PolicyNet,
        device: &Device,
        learn: &mut dyn FnMut(Tensor<1>, &PolicyNet) -> Option<PolicyNet>,
    ) -> f64 {
        let longest = ids.iter().map(|&i| self.episodes[i].len).max().unwrap_or(0);
        let (mut state, mut total, mut weight) = (None::<Tensor<2>>, 0.0, 0.0);
        for start in (0..longest).step_by(bptt.max(1)) {
            let steps = bptt.max(1).min(longest - start);
            let (x, target, w) = self.segment(ids, start, steps, device);
            let sum: f32 = w.iter().sum();
            let Some((nll, states)) = net.sequence_nll(x, state.take(), &target) else { return f64::NAN };
            let [b, l, width] = states.dims();
            state = Some(states.narrow(1, l - 1, 1).reshape([b, width]).detach());
            if sum <= 0.0 {
                continue;
            }
            let loss = (nll * vector(w, device)).sum() / sum;
            let value = scalar(loss.clone());
            (total, weight) = (total + value * sum as f64, weight + sum as f64);
            if let Some(next) = learn(loss, net) {
                *net = next;
            }
        }
        total / weight.max(1e-12)
    }
}
