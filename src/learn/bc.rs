//! Behaviour cloning (the seeds' first algorithm): supervised learning of the demonstrator's
//! actions from its observations, with a train/validation split by episode, Adam
//! minibatches and early stopping on the validation loss.

use super::hindsight::GoalLayout;
use super::policy::{Mlp, MlpPolicy, Normalizer, head_width, scale_action};
use crate::data::{Episode, StepRecord};
use crate::sim::{Action, Env, ScenarioEnv, Space};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Behaviour-cloning hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BcConfig {
    /// Widths of the MLP's hidden layers.
    pub hidden: Vec<usize>,
    /// Adam learning rate.
    pub lr: f64,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Passes over the training set, at most.
    pub epochs: usize,
    /// Fraction of episodes held out for the validation loss.
    pub val_fraction: f64,
    /// Epochs without a better validation loss before training stops.
    pub patience: usize,
    /// Learn the expert's clean label where a step has one (DART data), else the executed action.
    pub use_expert_labels: bool,
    /// Extra copies of every training step with its goal replaced by a point reached later
    /// (hindsight relabeling; goal-conditioned scenarios only, 0 = off).
    pub hindsight: usize,
    /// Seed of initialization, shuffling and the split.
    pub seed: u64,
}

impl Default for BcConfig {
    fn default() -> BcConfig {
        BcConfig {
            hidden: vec![128, 128],
            lr: 1e-3,
            batch_size: 64,
            epochs: 300,
            val_fraction: 0.2,
            patience: 20,
            use_expert_labels: true,
            hindsight: 0,
            seed: 0,
        }
    }
}

impl BcConfig {
    /// Applies `key=value` overrides (see `overrides`); every key must be a field.
    pub fn with_overrides(&self, sets: &[String]) -> Result<BcConfig, String> {
        let (config, unknown) = super::overrides(self, sets)?;
        match unknown.first() {
            None => Ok(config),
            Some(key) => {
                Err(format!("--set {key}: no such hyperparameter (known: {})", super::field_names(self).join(", ")))
            }
        }
    }
}

/// One line of training progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Gradient steps so far.
    pub step: usize,
    pub train_loss: f64,
    pub val_loss: f64,
}

/// Training data as flat arrays.
struct Samples {
    obs: Vec<f32>,
    /// Box: scaled actions (rows of act_dim); categorical: class indices (rows of dims).
    float_targets: Vec<f32>,
    class_targets: Vec<i64>,
    len: usize,
}

/// Observation rows paired with the steps whose action they are to predict.
fn rows<'a>(
    episodes: &[&'a Episode],
    hindsight: Option<(&GoalLayout, usize, &mut ChaCha8Rng)>,
) -> Vec<(Vec<f32>, &'a StepRecord)> {
    let mut rows: Vec<(Vec<f32>, &StepRecord)> =
        episodes.iter().flat_map(|e| e.steps.iter().map(|s| (s.obs.clone(), s))).collect();
    if let Some((layout, copies, rng)) = hindsight {
        for e in episodes {
            rows.extend(layout.relabeled(e, copies, rng).into_iter().map(|(obs, t)| (obs, &e.steps[t])));
        }
    }
    rows
}

fn samples(rows: &[(Vec<f32>, &StepRecord)], space: &Space, norm: &Normalizer, labels: bool) -> Samples {
    let mut s = Samples { obs: Vec::new(), float_targets: Vec::new(), class_targets: Vec::new(), len: 0 };
    for (obs, step) in rows {
        let target = if labels { step.expert_label.as_ref().unwrap_or(&step.action) } else { &step.action };
        s.obs.extend(norm.apply(obs));
        match target {
            Action::Continuous(_) => s.float_targets.extend(scale_action(space, target)),
            Action::Discrete(c) => s.class_targets.push(*c as i64),
            Action::MultiDiscrete(v) => s.class_targets.extend(v.iter().map(|&c| c as i64)),
        }
        s.len += 1;
    }
    s
}

/// Mean loss of `net` on rows `rows` of `data`.
fn loss(net: &Mlp, data: &Samples, rows: &[usize], space: &Space, obs_dim: usize, device: &Device) -> Tensor<1> {
    let b = rows.len();
    let x: Vec<f32> = rows.iter().flat_map(|&r| data.obs[r * obs_dim..(r + 1) * obs_dim].iter().copied()).collect();
    let out = net.forward(Tensor::<2>::from_data(TensorData::new(x, [b, obs_dim]), device));
    match space {
        Space::Box { low, .. } => {
            let d = low.len();
            let y: Vec<f32> =
                rows.iter().flat_map(|&r| data.float_targets[r * d..(r + 1) * d].iter().copied()).collect();
            let target = Tensor::<2>::from_data(TensorData::new(y, [b, d]), device);
            (out - target).powf_scalar(2.0).mean()
        }
        Space::Discrete { .. } => {
            let y: Vec<i64> = rows.iter().map(|&r| data.class_targets[r]).collect();
            let target = Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device);
            CrossEntropyLossConfig::new().init(device).forward(out, target)
        }
        Space::MultiDiscrete { nvec } => {
            let dims = nvec.len();
            let mut at = 0;
            let mut total = Tensor::<1>::zeros([1], device);
            for (k, &n) in nvec.iter().enumerate() {
                let y: Vec<i64> = rows.iter().map(|&r| data.class_targets[r * dims + k]).collect();
                let target = Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device);
                let logits = out.clone().slice([0..b, at..at + n]);
                total = total + CrossEntropyLossConfig::new().init(device).forward(logits, target);
                at += n;
            }
            total
        }
    }
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().convert::<f32>().as_slice::<f32>().ok().and_then(|s| s.first().copied()).unwrap_or(f32::NAN) as f64
}

/// Errors that stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training data: {0}")]
    NoData(String),
    #[error("the loss became {0} at epoch {1}; lower the learning rate")]
    Diverged(f64, usize),
}

/// Trains a policy on `episodes` of `env`'s scenario; `on_epoch` sees every epoch's losses.
/// Returns the policy with the best validation loss and the log.
pub fn train(
    env: &ScenarioEnv,
    episodes: &[Episode],
    config: &BcConfig,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<(MlpPolicy, Vec<EpochLog>), TrainError> {
    if episodes.iter().all(|e| e.is_empty()) {
        return Err(TrainError::NoData("the dataset has no steps".into()));
    }
    let space = env.action_space().clone();
    let obs_dim = env.observation_space().dim();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    order.shuffle(&mut rng);
    let n_val =
        if episodes.len() >= 2 { ((episodes.len() as f64 * config.val_fraction).round() as usize).max(1) } else { 0 };
    let (val_eps, train_eps): (Vec<&Episode>, Vec<&Episode>) = {
        let (v, t) = order.split_at(n_val);
        (v.iter().map(|&i| &episodes[i]).collect(), t.iter().map(|&i| &episodes[i]).collect())
    };
    let layout = GoalLayout::of(env.scenario()).filter(|_| config.hindsight > 0);
    let train_rows = rows(&train_eps, layout.as_ref().map(|l| (l, config.hindsight, &mut rng)));
    let val_rows = rows(&val_eps, None);
    let all_obs: Vec<Vec<f32>> = train_rows.iter().map(|(o, _)| o.clone()).collect();
    let normalizer = Normalizer::fit(&all_obs, obs_dim);
    let train_data = samples(&train_rows, &space, &normalizer, config.use_expert_labels);
    let val_data = samples(&val_rows, &space, &normalizer, config.use_expert_labels);

    let device = Device::flex().autodiff();
    device.seed(config.seed);
    let inference = Device::flex();
    let mut net = Mlp::new(obs_dim, &config.hidden, head_width(&space), &device);
    let mut optimizer = AdamConfig::new().init();
    let mut best: Option<(f64, Mlp)> = None;
    let (mut log, mut step, mut stale) = (Vec::new(), 0, 0);
    let mut rows: Vec<usize> = (0..train_data.len).collect();
    for epoch in 0..config.epochs {
        rows.shuffle(&mut rng);
        let (mut sum, mut batches) = (0.0, 0);
        for batch in rows.chunks(config.batch_size.max(1)) {
            let l = loss(&net, &train_data, batch, &space, obs_dim, &device);
            let grads = GradientsParams::from_grads(l.backward(), &net);
            sum += scalar(l.clone().inner());
            net = optimizer.step(config.lr, net, grads);
            batches += 1;
            step += 1;
        }
        let train_loss = sum / batches.max(1) as f64;
        let valid = net.valid();
        let val_loss = if val_data.len > 0 {
            let val_rows: Vec<usize> = (0..val_data.len).collect();
            scalar(loss(&valid, &val_data, &val_rows, &space, obs_dim, &inference))
        } else {
            train_loss
        };
        if !train_loss.is_finite() || !val_loss.is_finite() {
            return Err(TrainError::Diverged(train_loss, epoch));
        }
        let entry = EpochLog { epoch, step, train_loss, val_loss };
        on_epoch(&entry);
        log.push(entry);
        if best.as_ref().is_none_or(|(b, _)| val_loss < *b) {
            best = Some((val_loss, valid));
            stale = 0;
        } else {
            stale += 1;
            if stale >= config.patience {
                break;
            }
        }
    }
    let net = best.map(|b| b.1).unwrap_or_else(|| net.valid());
    Ok((MlpPolicy { net, normalizer, space, device: inference }, log))
}
