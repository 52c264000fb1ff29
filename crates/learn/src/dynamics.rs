//! Learned dynamics (Levine & Finn part 5: learn a model, then plan with it): an ensemble of
//! probabilistic MLPs, each predicting a Gaussian over the change of the observation and the
//! reward, and a termination logit, from (s, a). Members differ by their initialization and
//! by the bootstrap resample each minibatch draws (PETS' ensemble, Chua et al. 2018), so their
//! disagreement is the model's uncertainty. Trained from any dataset; saved as the run's
//! `dynamics` artifact; judged by one-step and open-loop multi-step error on held-out episodes.

use super::artifact::{Artifact, Kind};
use super::batch::{floats, matrix, scalar, vector};
use super::error::TrainError;
use super::optim::FlushedStep;
use super::policy::saved::{load_named, save_named};
use super::policy::{Activation, Mlp, Normalizer, StackedMlp};
use super::bc::split_episodes;
use super::registry::{Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::reward::{action_width, push_action};
use super::run::RunError;
use super::trainer::{Algorithm, Metrics};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::softplus;
use data::Episode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::observed::{ObservedLimit, ObservedReward, observed_limits, observed_reward};
use sim::{Action, Env, ScenarioEnv, Space};
use std::path::Path;
use std::sync::Arc;

/// The ensemble's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DynamicsConfig {
    /// Ensemble members.
    pub members: usize,
    /// Widths of each member's hidden layers.
    pub hidden: Vec<usize>,
    /// Adam learning rate.
    pub lr: f64,
    /// Transitions per member in each gradient step (each member draws its own, with replacement).
    pub batch_size: usize,
    /// Passes over the training transitions.
    pub epochs: usize,
    /// Fraction of episodes held out for the prediction errors (at least one of two or
    /// more, unless 0: then the errors are measured on the training episodes).
    pub val_fraction: f64,
    /// Steps of the open-loop error: the ensemble's mean prediction rolled forward on a
    /// held-out episode's own actions, compared with what happened.
    pub horizon: usize,
    /// Imagined episodes end where the scenario's failure conditions on observed values say
    /// (a cart past the rail's end), instead of where the learned termination guesses from
    /// the few failures in the data: the task's definition is known, only its physics is
    /// learned (PETS' known cost).
    pub known_failures: bool,
    /// Imagined steps earn the scenario's own reward, computed from the imagined observations
    /// and the action, where every reward term is one the observations show (a pendulum's
    /// angle and rate, a cart's alive bonus); otherwise the learned reward head is used.
    pub known_reward: bool,
    /// Seed of initialization, the split and the resampling.
    pub seed: u64,
}

impl Default for DynamicsConfig {
    fn default() -> DynamicsConfig {
        DynamicsConfig {
            members: 5,
            hidden: vec![128, 128],
            lr: 3e-3,
            batch_size: 128,
            epochs: 150,
            val_fraction: 0.2,
            horizon: 10,
            known_failures: true,
            known_reward: false,
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while the ensemble trains.
pub const LIVE: [&str; 2] = ["lr", "epochs"];

/// The members' networks: (standardized s, action features) → (mean and log-variance of the
/// standardized [Δs, r], termination logit).
#[derive(Module, Debug)]
pub struct Ensemble {
    pub members: Vec<Mlp>,
}

/// What a saved ensemble needs to be rebuilt and checked against a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicsMeta {
    pub scenario: String,
    pub scenario_hash: String,
    pub obs_dim: usize,
    pub action_space: Space,
    pub members: usize,
    pub hidden: Vec<usize>,
    /// Standardizes observations (the input).
    pub inputs: Normalizer,
    /// Standardizes the targets [Δs, r].
    pub targets: Normalizer,
    /// Failures known from the scenario (with `known_failures`), checked on imagined states.
    #[serde(default)]
    pub limits: Vec<ObservedLimit>,
    /// The scenario's reward read off observations (with `known_reward`), in place of the
    /// learned one on imagined steps.
    #[serde(default)]
    pub reward: Option<ObservedReward>,
}

impl DynamicsMeta {
    fn input_width(&self) -> usize {
        self.obs_dim + action_width(&self.action_space)
    }

    /// The width of [Δs, r].
    fn target_width(&self) -> usize {
        self.obs_dim + 1
    }

    fn input_row(&self, obs: &[f32], action: &Action, out: &mut Vec<f32>) {
        out.extend(self.inputs.apply(obs));
        push_action(&self.action_space, action, out);
    }
}

/// A trained ensemble (inference), the `dynamics` artifact.
#[derive(Debug, Clone)]
pub struct DynamicsModel {
    pub ensemble: Ensemble,
    pub meta: DynamicsMeta,
    pub device: Device,
    /// The members as one batched network, for imagined rollouts.
    stacked: StackedMlp,
}

/// One member's prediction for one transition, in the environment's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub next_obs: Vec<f32>,
    pub reward: f32,
    /// Probability the episode ends there.
    pub terminated: f32,
}

impl DynamicsModel {
    pub fn new(ensemble: Ensemble, meta: DynamicsMeta, device: Device) -> DynamicsModel {
        let stacked = StackedMlp::new(&ensemble.members);
        DynamicsModel { ensemble, meta, device, stacked }
    }

    /// Loads a run's `dynamics.json` and `dynamics.safetensors`, checked against `env`.
    pub fn load(dir: &Path, env: &ScenarioEnv) -> Result<DynamicsModel, RunError> {
        let path = dir.join("dynamics.json");
        let bytes = std::fs::read(&path).map_err(|source| RunError::Io { path: path.clone(), source })?;
        let meta: DynamicsMeta =
            serde_json::from_slice(&bytes).map_err(|e| RunError::Invalid { path: path.clone(), what: e.to_string() })?;
        let (obs_dim, space) = (env.observation_space().dim(), env.action_space());
        if meta.obs_dim != obs_dim || &meta.action_space != space {
            return Err(RunError::Mismatch {
                path,
                trained: format!("`{}` ({} observations, actions {})", meta.scenario, meta.obs_dim, meta.action_space),
                scenario: env.scenario().name.clone(),
                found: format!("{obs_dim} observations, actions {space}"),
            });
        }
        if meta.inputs.mean.len() != obs_dim || meta.targets.mean.len() != meta.target_width() || meta.members == 0 {
            return Err(RunError::Invalid { path, what: "the normalizers or member count do not fit the model".into() });
        }
        let device = Device::flex();
        let _init = crate::device::hold_init(); // random weights, replaced by the saved ones
        let ensemble = load_named(dir, "dynamics", fresh_ensemble(&meta, &device))?;
        Ok(DynamicsModel::new(ensemble, meta, device))
    }

    /// The returns of candidate action sequences imagined from `obs` (PETS' trajectory
    /// sampling, TS∞): each candidate is followed once through every member, a member's
    /// next state drawn from its Gaussian, rewards its mean, and every step weighted by the
    /// probability the episode is still running (the product of 1 − P(end) so far). The
    /// return is the members' average, so a candidate the members disagree on scores as
    /// their spread of outcomes says.
    pub fn imagine(&self, obs: &[f32], candidates: &[Vec<Action>], gamma: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
        let (m, n) = (self.meta.members, candidates.len());
        let (d, w) = (self.meta.obs_dim, self.output_width());
        let horizon = candidates.iter().map(Vec::len).min().unwrap_or(0);
        // [member][candidate] rows.
        let mut states = obs.repeat(m * n);
        let mut before = states.clone();
        let (mut alive, mut returns) = (vec![1.0f32; m * n], vec![0.0f32; m * n]);
        let mut discount = 1.0;
        for t in 0..horizon {
            let out = self.stacked_outputs(&states, |j| &candidates[j % n][t]);
            before.copy_from_slice(&states);
            for (j, o) in out.chunks_exact(w).enumerate() {
                let row = j * d..(j + 1) * d;
                let (learned, ends) = self.sample_next(o, &mut states[row.clone()], rng);
                let reward = self.reward(learned, &before[row.clone()], &candidates[j % n][t], &states[row]);
                returns[j] += discount * alive[j] * reward;
                alive[j] *= 1.0 - ends;
            }
            discount *= gamma;
        }
        (0..n).map(|i| (0..m).map(|member| returns[member * n + i]).sum::<f32>() / m as f32).collect()
    }

    /// One sampled step from each (state, action) row, each through a member drawn at random
    /// (MBPO's rollouts): the next states (rows as `states`), the mean rewards and the
    /// probabilities that the episode ends.
    pub fn sample_step(&self, states: &[f32], actions: &[Action], rng: &mut ChaCha8Rng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (m, n, d, w) = (self.meta.members, actions.len(), self.meta.obs_dim, self.output_width());
        // Every member sees every row (one batched pass), and one member's output is kept.
        let out = self.stacked_outputs(&states.repeat(m), |j| &actions[j % n]);
        let mut next = states.to_vec();
        let (mut rewards, mut ends) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let row = rng.random_range(0..m) * n + i;
            let state = i * d..(i + 1) * d;
            let (learned, end) = self.sample_next(&out[row * w..(row + 1) * w], &mut next[state.clone()], rng);
            let reward = self.reward(learned, &states[state.clone()], &actions[i], &next[state]);
            rewards.push(reward);
            ends.push(end);
        }
        (next, rewards, ends)
    }

    /// Width of a member's output: mean and log-variance of [Δs, r], the termination logit.
    fn output_width(&self) -> usize {
        2 * self.meta.target_width() + 1
    }

    /// The members' outputs for m·n state rows ([member][row] order, row j acting
    /// `action(j)`), through the stacked network.
    fn stacked_outputs<'a>(&self, states: &[f32], action: impl Fn(usize) -> &'a Action) -> Vec<f32> {
        let (m, d, width) = (self.meta.members, self.meta.obs_dim, self.meta.input_width());
        let rows = states.len() / d;
        let mut x = Vec::with_capacity(rows * width);
        for j in 0..rows {
            self.meta.input_row(&states[j * d..(j + 1) * d], action(j), &mut x);
        }
        let x = Tensor::<3>::from_data(TensorData::new(x, [m, rows / m, width]), &self.device);
        floats(self.stacked.forward(x).reshape([rows * self.output_width()]))
    }

    /// An imagined step's reward: the scenario's own where known, else the `learned` one.
    fn reward(&self, learned: f32, before: &[f32], action: &Action, after: &[f32]) -> f32 {
        self.meta.reward.as_ref().map_or(learned, |known| known.reward(before, action, after))
    }

    /// Moves `state` to a next state drawn from one member's output `o` (its Gaussian over
    /// Δs); returns the learned mean reward and the probability of ending.
    fn sample_next(&self, o: &[f32], state: &mut [f32], rng: &mut ChaCha8Rng) -> (f32, f32) {
        let (k, targets) = (self.meta.target_width(), &self.meta.targets);
        for (c, s) in state.iter_mut().enumerate() {
            let std = (0.5 * o[k + c].clamp(-10.0, 4.0)).exp();
            let z: f32 = rng.sample(rand_distr::StandardNormal);
            *s += (o[c] + std * z) * targets.std[c] + targets.mean[c];
        }
        let reward = o[k - 1] * targets.std[k - 1] + targets.mean[k - 1];
        let ends = if ObservedLimit::broken(&self.meta.limits, state) { 1.0 } else { 1.0 / (1.0 + (-o[2 * k]).exp()) };
        (reward, ends)
    }

    /// Every member's mean prediction for each (obs, action): [member][transition].
    pub fn predict(&self, transitions: &[(&[f32], &Action)]) -> Vec<Vec<Prediction>> {
        let n = transitions.len();
        if n == 0 {
            return vec![Vec::new(); self.meta.members];
        }
        let mut rows = Vec::with_capacity(n * self.meta.input_width());
        transitions.iter().for_each(|(obs, action)| self.meta.input_row(obs, action, &mut rows));
        let x = matrix(rows, n, &self.device);
        let k = self.meta.target_width();
        let targets = &self.meta.targets;
        self.ensemble
            .members
            .iter()
            .map(|member| {
                let out = member.forward(x.clone());
                let mean = floats(out.clone().narrow(1, 0, k).reshape([n * k]));
                let ends = floats(burn::tensor::activation::sigmoid(out.narrow(1, 2 * k, 1).reshape([n])));
                (0..n)
                    .map(|i| {
                        let raw = |j: usize| mean[i * k + j] * targets.std[j] + targets.mean[j];
                        let next_obs = (0..k - 1).map(|j| transitions[i].0[j] + raw(j)).collect();
                        Prediction { next_obs, reward: raw(k - 1), terminated: ends[i] }
                    })
                    .collect()
            })
            .collect()
    }

    /// The members' average prediction of the next observation.
    fn mean_next(&self, transitions: &[(&[f32], &Action)]) -> Vec<Vec<f32>> {
        let all = self.predict(transitions);
        let m = all.len().max(1) as f32;
        (0..transitions.len())
            .map(|i| {
                let d = all[0][i].next_obs.len();
                (0..d).map(|j| all.iter().map(|p| p[i].next_obs[j]).sum::<f32>() / m).collect()
            })
            .collect()
    }
}

impl Artifact for DynamicsModel {
    fn name(&self) -> &str {
        "dynamics"
    }

    fn kind(&self) -> Kind {
        Kind::Dynamics
    }

    fn format(&self) -> &str {
        "probabilistic_ensemble"
    }

    /// `dynamics.json` (the description) and `dynamics.safetensors` (the weights).
    fn save(&self, dir: &Path) -> Result<Vec<String>, RunError> {
        save_named(dir, "dynamics", &self.meta, &self.ensemble)
    }
}

/// One transition of a dataset.
pub struct Sample<'a> {
    pub obs: &'a [f32],
    pub action: &'a Action,
    pub next: &'a [f32],
    pub reward: f32,
    /// The episode ended inside the task there.
    pub terminated: bool,
}

fn samples<'a>(episodes: &[&'a Episode]) -> Vec<Sample<'a>> {
    episodes
        .iter()
        .flat_map(|e| {
            e.steps.iter().enumerate().map(|(t, s)| Sample {
                obs: &s.obs,
                action: &s.action,
                next: e.steps.get(t + 1).map_or(&e.final_obs, |n| &n.obs),
                reward: s.reward,
                terminated: s.terminated,
            })
        })
        .collect()
}

/// The ensemble's Gaussian negative log-likelihood of standardized [Δs, r] plus the
/// termination's cross-entropy, for one member's rows. `out`: [n, 2k + 1].
fn member_loss(out: Tensor<2>, target: Tensor<2>, ended: Tensor<1>, k: usize) -> Tensor<1> {
    let n = target.dims()[0];
    let mean = out.clone().narrow(1, 0, k);
    // Bounded so a member cannot buy a lower loss with an infinite variance.
    let log_var = out.clone().narrow(1, k, k).clamp(-10.0, 4.0);
    let logit = out.narrow(1, 2 * k, 1).reshape([n]);
    let nll = ((mean - target).powf_scalar(2.0) * log_var.clone().neg().exp() + log_var).mean();
    let bce = (softplus(logit.clone(), 1.0) - logit * ended).mean();
    nll + bce
}

/// The ensemble being trained: one Adam over every member, an epoch per unit.
pub struct DynamicsTrainer {
    pub config: DynamicsConfig,
    meta: DynamicsMeta,
    ensemble: Ensemble,
    optimizer: ModuleOptimizer,
    /// Training transitions as flat rows: inputs, standardized targets, termination.
    inputs: Vec<f32>,
    targets: Vec<f32>,
    ended: Vec<f32>,
    /// Held-out episodes (the training ones when there are too few to hold any out).
    held_out: Vec<Episode>,
    epoch: usize,
    step: usize,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
}

impl DynamicsTrainer {
    pub fn new(
        env: &ScenarioEnv,
        demos: &[Episode],
        config: &DynamicsConfig,
        device: &Device,
    ) -> Result<DynamicsTrainer, TrainError> {
        if demos.iter().all(|e| e.steps.is_empty()) {
            return Err(TrainError::NoData("a dynamics model learns from --demos with at least one step".into()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        // `split_episodes` holds out at least one of two or more; a model that must learn
        // from everything (PETS) asks for none.
        let (val, train) = if config.val_fraction > 0.0 {
            split_episodes(demos, config.val_fraction, &mut rng)
        } else {
            (Vec::new(), demos.iter().collect())
        };
        let held_out = if val.is_empty() { train.iter().map(|e| (*e).clone()).collect() } else { val.into_iter().cloned().collect() };
        DynamicsTrainer::from_samples(env, &samples(&train), held_out, config, device, rng)
    }

    /// An ensemble to fit to loose transitions (a replay buffer's, MBPO's); its errors are
    /// measured on `held_out` episodes (none: the errors are NaN).
    pub fn from_samples(
        env: &ScenarioEnv,
        rows: &[Sample],
        held_out: Vec<Episode>,
        config: &DynamicsConfig,
        device: &Device,
        rng: ChaCha8Rng,
    ) -> Result<DynamicsTrainer, TrainError> {
        if rows.is_empty() {
            return Err(TrainError::NoData("a dynamics model needs at least one transition".into()));
        }
        if config.members == 0 || config.batch_size == 0 {
            return Err(TrainError::Config("members and batch_size must be at least 1".into()));
        }
        let obs_dim = env.observation_space().dim();
        let inputs = Normalizer::fit(&rows.iter().map(|s| s.obs.to_vec()).collect::<Vec<_>>(), obs_dim);
        let target_of = |s: &Sample| -> Vec<f32> {
            s.next.iter().zip(s.obs).map(|(n, o)| n - o).chain(std::iter::once(s.reward)).collect()
        };
        let targets = Normalizer::fit(&rows.iter().map(target_of).collect::<Vec<_>>(), obs_dim + 1);
        let meta = DynamicsMeta {
            scenario: env.scenario().name.clone(),
            scenario_hash: env.scenario().source_hash.clone(),
            obs_dim,
            action_space: env.action_space().clone(),
            members: config.members,
            hidden: config.hidden.clone(),
            inputs,
            targets,
            limits: if config.known_failures { observed_limits(env.scenario()) } else { Vec::new() },
            reward: if config.known_reward { observed_reward(env.scenario()) } else { None },
        };
        let (mut x, mut y, mut ended) = (Vec::new(), Vec::new(), Vec::new());
        for s in rows {
            meta.input_row(s.obs, s.action, &mut x);
            y.extend(meta.targets.apply(&target_of(s)));
            ended.push(if s.terminated { 1.0 } else { 0.0 });
        }
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let ensemble = fresh_ensemble(&meta, &autodiff);
        Ok(DynamicsTrainer {
            config: config.clone(),
            meta,
            ensemble,
            optimizer: AdamConfig::new().init(),
            inputs: x,
            targets: y,
            ended,
            held_out,
            epoch: 0,
            step: 0,
            device: autodiff,
            inference: device.clone(),
            rng,
        })
    }

    /// The ensemble as it is now, for inference.
    pub fn model(&self) -> DynamicsModel {
        DynamicsModel::new(self.ensemble.valid(), self.meta.clone(), self.inference.clone())
    }

    /// One epoch with the held-out errors: every member sees as many bootstrap-drawn
    /// transitions as there are.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        if self.epoch >= self.config.epochs {
            return Ok(None);
        }
        let last = self.epoch_pass()?;
        let (one_step, multi_step) = self.errors();
        self.epoch += 1;
        Ok(Some(Metrics {
            step: self.step,
            values: vec![
                ("epoch", (self.epoch - 1) as f64),
                ("train/loss", last),
                ("val/one_step_mse", one_step),
                ("val/multi_step_mse", multi_step),
            ],
        }))
    }

    /// Trains every remaining epoch without measuring (PETS' refit); returns the last loss.
    pub fn fit(&mut self) -> Result<f64, TrainError> {
        let mut last = f64::NAN;
        while self.epoch < self.config.epochs {
            last = self.epoch_pass()?;
            self.epoch += 1;
        }
        Ok(last)
    }

    /// Gradient steps per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.ended.len().div_ceil(self.config.batch_size.min(self.ended.len()).max(1))
    }

    /// One pass of bootstrap-drawn minibatches; the last one's mean member loss.
    fn epoch_pass(&mut self) -> Result<f64, TrainError> {
        let (width, k) = (self.meta.input_width(), self.meta.target_width());
        let n = self.ended.len();
        let b = self.config.batch_size.min(n).max(1);
        let mut last = f64::NAN;
        for _ in 0..n.div_ceil(b) {
            let mut loss: Option<Tensor<1>> = None;
            for member in &self.ensemble.members {
                let picks: Vec<usize> = (0..b).map(|_| self.rng.random_range(0..n)).collect();
                let gather = |flat: &[f32], w: usize| picks.iter().flat_map(|&i| flat[i * w..(i + 1) * w].to_vec()).collect();
                let x = matrix(gather(&self.inputs, width), b, &self.device);
                let y = matrix(gather(&self.targets, k), b, &self.device);
                let ended = vector(picks.iter().map(|&i| self.ended[i]).collect(), &self.device);
                let l = member_loss(member.forward(x), y, ended, k);
                loss = Some(match loss {
                    Some(total) => total + l,
                    None => l,
                });
            }
            let loss = loss.expect("at least one member");
            last = scalar(loss.clone().inner()) / self.config.members as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &self.ensemble);
            self.ensemble = self.optimizer.step_flushed(self.config.lr, self.ensemble.clone(), grads);
            self.step += 1;
        }
        if !last.is_finite() {
            return Err(TrainError::diverged(last, "epoch", self.epoch));
        }
        Ok(last)
    }

    /// Mean squared error of the next observation on the held-out episodes: one step ahead
    /// from every recorded state, and `horizon` steps ahead open loop (from every
    /// `horizon`-th state, on the episode's own actions).
    pub fn errors(&self) -> (f64, f64) {
        if self.held_out.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        let model = self.model();
        let rows = samples(&self.held_out.iter().collect::<Vec<_>>());
        let pairs: Vec<(&[f32], &Action)> = rows.iter().map(|s| (s.obs, s.action)).collect();
        let predicted = model.mean_next(&pairs);
        let mse = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>() as f64 / a.len().max(1) as f64;
        let one = rows.iter().zip(&predicted).map(|(s, p)| mse(s.next, p)).sum::<f64>() / rows.len().max(1) as f64;
        // Open loop from every `horizon`-th state of each episode.
        let h = self.config.horizon.max(1);
        let mut multi = Vec::new();
        for e in &self.held_out {
            for start in (0..e.steps.len().saturating_sub(h - 1)).step_by(h) {
                let mut state = e.steps[start].obs.clone();
                for step in &e.steps[start..start + h] {
                    state = model.mean_next(&[(&state, &step.action)]).remove(0);
                }
                let truth = e.steps.get(start + h).map_or(&e.final_obs, |s| &s.obs);
                multi.push(mse(truth, &state));
            }
        }
        (one, multi.iter().sum::<f64>() / multi.len().max(1) as f64)
    }
}

fn fresh_ensemble(meta: &DynamicsMeta, device: &Device) -> Ensemble {
    let out = 2 * meta.target_width() + 1;
    let member = || Mlp::new(meta.input_width(), &meta.hidden, out, Activation::Silu, false, device);
    Ensemble { members: (0..meta.members).map(|_| member()).collect() }
}

impl Algorithm for DynamicsTrainer {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        self.update()
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    /// A model is no policy: planning with it is PETS's.
    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        None
    }

    fn artifacts(&self) -> Vec<Arc<dyn Artifact>> {
        vec![Arc::new(self.model())]
    }

    fn step(&self) -> usize {
        self.step
    }
}

/// Learned dynamics in the registry.
pub const ENTRY: Entry = Entry {
    name: "dynamics",
    summary: "Learned dynamics: an ensemble of probabilistic MLPs predicting Δs, r and termination (the `dynamics` artifact)",
    preset_of: None,
    // BC's: demonstrations of any action space; no resuming.
    needs: Needs { resume: false, ..super::bc::ENTRY.needs },
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[
        Plot::against("Loss", "epoch", Unit::Epochs, &["train/loss"]),
        Plot::against("Prediction error", "epoch", Unit::Epochs, &["val/one_step_mse", "val/multi_step_mse"]),
    ],
    config: ConfigType::of::<DynamicsConfig>(defaults_of::<DynamicsConfig>),
    budget: |t| Ok(Budget::indexed(typed::<DynamicsConfig>(t)?.epochs, "epoch")),
    build: |t, cx| Ok(Box::new(DynamicsTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_is_the_gaussian_likelihood_of_the_targets_plus_the_end_cross_entropy() {
        let device = Device::flex();
        // k = 1: mean 1, log-variance 0, logit 0; target 3, not ended.
        // NLL: (1 − 3)²·e⁰ + 0 = 4; cross-entropy: softplus(0) − 0 = ln 2.
        let out = matrix(vec![1.0, 0.0, 0.0], 1, &device);
        let loss = floats(member_loss(out, matrix(vec![3.0], 1, &device), vector(vec![0.0], &device), 1))[0];
        assert!((loss - (4.0 + 2f32.ln())).abs() < 1e-5, "{loss}");
    }
}
