//! Training chunked generative policies, shared by flow matching (`flow`), diffusion
//! (`diffusion`) and the CVAE (`cvae`): every demonstrated step becomes (the last k
//! observations, the next H actions); each epoch pairs every chunk with fresh noise (and a
//! noise level), and the network regresses the method's target (velocity, noise or chunk;
//! the CVAE's reconstruction under its KL term) with Adam and a cosine-decayed learning rate;
//! a validation split by episode is logged (and may stop training early).

use super::batch::scalar;
use super::error::TrainError;
use super::optim::FlushedStep;
use super::policy::chunk::{
    ChunkConfig, ChunkPolicy, Denoiser, Method, TIME_FEATURES, demonstrated_chunk, time_features,
};
use super::policy::{Mlp, Normalizer, stacked};
use super::registry::{Actions, Budget, ConfigType, Context, Entry, Needs, Plot, Unit, table, typed};
use super::trainer::{Algorithm, Metrics};
use crate::diffusion::Schedule;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::{Episode, Source};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};

/// Hyperparameters of flow matching, diffusion and CVAE policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GenerativeConfig {
    /// The chunked policy: conditioning, chunk, execution, denoiser and sampler.
    pub policy: ChunkConfig,
    /// Adam learning rate at the start; it decays along a cosine to a twentieth of itself by
    /// the last epoch.
    pub lr: f64,
    /// Chunks per gradient step.
    pub batch_size: usize,
    /// Passes over the training chunks, at most.
    pub epochs: usize,
    /// Fraction of episodes held out for the validation loss.
    pub val_fraction: f64,
    /// Epochs without a better validation loss before training stops (0: run every epoch).
    /// The policy is the last epoch's either way: a denoiser's held-out loss can rise while
    /// its samples still improve.
    pub patience: usize,
    /// Learn the expert's clean label where a step has one (DART data), else the executed action.
    pub use_expert_labels: bool,
    /// Decay of an exponential moving average of the weights, which is then the policy
    /// (0: the last weights; 0.999 is diffusion policy's choice).
    pub ema: f64,
    /// CVAE: weight β of the KL term that keeps the encoder's latent near the prior N(0, I)
    /// the decoder acts from. ACT's 10 (beside the same L1 reconstruction) collapses the
    /// latent on bimodal demonstrations: every sample then does one of the two ways.
    pub kl_weight: f64,
    /// Seed of initialization, noise, shuffling and the split.
    pub seed: u64,
}

impl Default for GenerativeConfig {
    fn default() -> GenerativeConfig {
        GenerativeConfig {
            policy: ChunkConfig::default(),
            lr: 1e-3,
            batch_size: 256,
            epochs: 300,
            val_fraction: 0.1,
            patience: 0,
            use_expert_labels: true,
            ema: 0.0,
            kl_weight: 0.1,
            seed: 0,
        }
    }
}

/// The defaults with `method` chosen: each method's registry entry.
pub fn defaults(method: Method) -> toml::Table {
    let mut config = GenerativeConfig::default();
    config.policy.method = method;
    table(&config)
}

/// Hyperparameters that can change while it trains.
pub const LIVE: [&str; 4] = ["lr", "batch_size", "epochs", "patience"];
pub const UNIT: Unit = Unit::GradientSteps;
pub const PLOTS: &[Plot] = &[Plot::against("Denoising loss", "epoch", Unit::Epochs, &["train/loss", "val/loss"])];

/// The registry entry of a method: flow, diffusion and cvae differ in name, summary and defaults.
pub const fn entry(name: &'static str, summary: &'static str, defaults: fn() -> toml::Table) -> Entry {
    Entry {
        name,
        summary,
        preset_of: None,
        needs: Needs {
            demos: true,
            expert: false,
            reward: false,
            actions: Actions::Continuous,
            init: false,
            resume: false,
            learned_reward: false,
        },
        live: &LIVE,
        step: UNIT,
        plots: PLOTS,
        config: ConfigType::of::<GenerativeConfig>(defaults),
        budget,
        build,
    }
}

pub fn budget(t: &toml::Table) -> Result<Budget, TrainError> {
    Ok(Budget::indexed(typed::<GenerativeConfig>(t)?.epochs, "epoch"))
}

pub fn build(t: &toml::Table, cx: Context<'_>) -> Result<Box<dyn Algorithm>, TrainError> {
    Ok(Box::new(GenerativeTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?))
}

/// Conditions and demonstrated chunks, flat: row i is `cond[i·c..]` with `chunks[i·d..]`.
#[derive(Debug, Clone, Default)]
pub struct Chunks {
    pub cond: Vec<f32>,
    pub chunks: Vec<f32>,
    pub len: usize,
    /// Episodes left out: they hold a policy's unlabelled steps, which a chunk would teach.
    pub skipped: usize,
}

impl Chunks {
    /// Every step of `episodes` as (normalized condition, scaled chunk of H actions); episodes
    /// with unlabelled policy steps are counted in `skipped` (and in the metrics), not used.
    pub fn of(episodes: &[&Episode], config: &GenerativeConfig, normalizer: &Normalizer, space: &Space) -> Chunks {
        let mut out = Chunks::default();
        for e in episodes {
            // A policy's own steps teach nothing unless an expert labelled them.
            if e.steps.iter().any(|s| s.source == Source::Policy && s.expert_label.is_none()) {
                out.skipped += 1;
                continue;
            }
            let actions: Vec<&Action> = e
                .steps
                .iter()
                .map(
                    |s| if config.use_expert_labels { s.expert_label.as_ref().unwrap_or(&s.action) } else { &s.action },
                )
                .collect();
            let obs: Vec<&[f32]> = e.steps.iter().map(|s| s.obs.as_slice()).collect();
            for t in 0..e.steps.len() {
                out.cond.extend(stacked(normalizer, config.policy.history, obs[..t].iter().copied(), obs[t]));
                out.chunks.extend(demonstrated_chunk(&actions, space, t, config.policy.horizon));
                out.len += 1;
            }
        }
        out
    }

    fn widths(&self) -> (usize, usize) {
        (self.cond.len() / self.len.max(1), self.chunks.len() / self.len.max(1))
    }

    /// The network's inputs and targets for `rows`, each with fresh noise and level (the
    /// CVAE's input is the condition, the chunk its encoder sees and the reparameterization's
    /// noise; its target the chunk).
    fn batch(
        &self,
        rows: &[usize],
        policy: &ChunkConfig,
        schedule: &Schedule,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let (c, d) = self.widths();
        let (mut x, mut y) =
            (Vec::with_capacity(rows.len() * (c + d + TIME_FEATURES)), Vec::with_capacity(rows.len() * d));
        for &i in rows {
            let chunk = &self.chunks[i * d..(i + 1) * d];
            let mut noise = |n: usize| -> Vec<f32> { (0..n).map(|_| StandardNormal.sample(&mut *rng)).collect() };
            let (noisy, target, t) = match policy.method {
                Method::Flow => {
                    let eps = noise(d);
                    let t: f32 = rng.random();
                    let (xt, v) = crate::flow::training_pair(chunk, &eps, t);
                    (xt, v, Some(t))
                }
                Method::Diffusion => {
                    let eps = noise(d);
                    let k = rng.random_range(0..schedule.levels());
                    let (xk, target) = schedule.training_pair(chunk, &eps, k, policy.predict);
                    (xk, target, Some(schedule.time(k)))
                }
                Method::Cvae => ([chunk, &noise(policy.latent)].concat(), chunk.to_vec(), None),
            };
            x.extend_from_slice(&self.cond[i * c..(i + 1) * c]);
            x.extend(noisy);
            if let Some(t) = t {
                time_features(t, &mut x);
            }
            y.extend(target);
        }
        let n = rows.len();
        let width = x.len() / n.max(1);
        (
            Tensor::<2>::from_data(TensorData::new(x, [n, width]), device),
            Tensor::<2>::from_data(TensorData::new(y, [n, d]), device),
        )
    }
}

/// The parameters of a module, flattened, in visiting order.
struct Flatten(Vec<Tensor<1>>);

impl burn::module::ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Moves each parameter towards the flattened `online` ones: p ← decay·p + (1 − decay)·online.
struct Average {
    online: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl burn::module::ModuleMapper for Average {
    fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
        let (decay, online) = (self.decay, self.online.next());
        param.map(|p| match online {
            Some(o) => {
                let shape = p.shape();
                p.mul_scalar(decay) + o.reshape(shape).mul_scalar(1.0 - decay)
            }
            None => p,
        })
    }
}

/// One step of the weights' moving average.
fn average<M: burn::module::Module>(ema: M, online: &M, decay: f64) -> M {
    let mut flat = Flatten(Vec::new());
    burn::module::Module::visit(online, &mut flat);
    burn::module::Module::map(ema, &mut Average { online: flat.0.into_iter(), decay })
}

/// What trains: the network that draws chunks and, for the CVAE, its encoder.
#[derive(Module, Debug)]
pub struct Model {
    pub generator: Denoiser,
    pub encoder: Option<Mlp>,
}

impl Model {
    fn new(cond: usize, chunk: usize, config: &ChunkConfig, device: &Device) -> Model {
        let encoder = (config.method == Method::Cvae).then(|| crate::cvae::encoder(cond, chunk, config, device));
        Model { generator: Denoiser::new(cond, chunk, config, device), encoder }
    }

    /// The training loss on a batch: the mean squared error of the denoiser's prediction, or
    /// the CVAE's objective.
    fn loss(&self, x: Tensor<2>, y: Tensor<2>, config: &GenerativeConfig) -> Tensor<1> {
        match &self.encoder {
            Some(encoder) => crate::cvae::loss(&self.generator, encoder, x, y, config.policy.latent, config.kl_weight),
            None => (self.generator.forward(x) - y).powf_scalar(2.0).mean(),
        }
    }
}

/// Training as a sequence of epochs, so the trainer thread can pause and snapshot between.
pub struct GenerativeTrainer {
    pub config: GenerativeConfig,
    space: Space,
    normalizer: Normalizer,
    train: Chunks,
    val: Chunks,
    schedule: Schedule,
    net: Model,
    optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    /// The best validation loss so far, for early stopping.
    best: Option<f64>,
    /// The moving average of the weights, when `ema` > 0.
    average: Option<Model>,
    stale: usize,
    step: usize,
    epoch: usize,
}

impl GenerativeTrainer {
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &GenerativeConfig,
        device: &Device,
    ) -> Result<GenerativeTrainer, TrainError> {
        let space = env.action_space().clone();
        if !matches!(space, Space::Box { .. }) {
            return Err(TrainError::Config(format!(
                "{} policies generate continuous action chunks; this scenario's actions are {space}",
                config.policy.method.kind()
            )));
        }
        config.policy.check().map_err(TrainError::Config)?;
        if episodes.iter().all(|e| e.is_empty()) {
            return Err(TrainError::NoData("the dataset has no steps".into()));
        }
        let obs_dim = env.observation_space().dim();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut order: Vec<&Episode> = episodes.iter().collect();
        order.shuffle(&mut rng);
        let n_val = if order.len() >= 2 {
            ((order.len() as f64 * config.val_fraction).round() as usize).clamp(1, order.len() - 1)
        } else {
            0
        };
        let (val_eps, train_eps) = order.split_at(n_val);
        let all_obs: Vec<Vec<f32>> = train_eps.iter().flat_map(|e| e.steps.iter().map(|s| s.obs.clone())).collect();
        let normalizer = Normalizer::fit(&all_obs, obs_dim);
        let train = Chunks::of(train_eps, config, &normalizer, &space);
        if train.len == 0 {
            return Err(TrainError::NoData(
                "no demonstrated step to learn from (only unlabelled policy steps?)".into(),
            ));
        }
        let val = Chunks::of(val_eps, config, &normalizer, &space);
        Ok(GenerativeTrainer::on(config, space, normalizer, train, val, obs_dim, device, rng))
    }

    /// A trainer on prepared chunks (the toy tests' entry point).
    #[allow(clippy::too_many_arguments)]
    pub fn on(
        config: &GenerativeConfig,
        space: Space,
        normalizer: Normalizer,
        train: Chunks,
        val: Chunks,
        obs_dim: usize,
        device: &Device,
        rng: ChaCha8Rng,
    ) -> GenerativeTrainer {
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let chunk = config.policy.horizon * space.dim();
        let net = Model::new(obs_dim * config.policy.history.max(1), chunk, &config.policy, &autodiff);
        GenerativeTrainer {
            config: config.clone(),
            space,
            normalizer,
            train,
            val,
            schedule: Schedule::cosine(config.policy.diffusion_steps),
            net,
            optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng,
            best: None,
            average: None,
            stale: 0,
            step: 0,
            epoch: 0,
        }
    }

    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs || (self.config.patience > 0 && self.stale >= self.config.patience)
    }

    /// One pass over the training chunks: (train loss, validation loss), `None` once finished.
    pub fn epoch(&mut self) -> Result<Option<(f64, f64)>, TrainError> {
        if self.finished() {
            return Ok(None);
        }
        let progress = self.epoch as f64 / self.config.epochs.max(1) as f64;
        let lr = self.config.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        let mut order: Vec<usize> = (0..self.train.len).collect();
        order.shuffle(&mut self.rng);
        let (mut sum, mut batches) = (0.0, 0);
        for rows in order.chunks(self.config.batch_size.max(1)) {
            let (x, y) = self.train.batch(rows, &self.config.policy, &self.schedule, &mut self.rng, &self.device);
            let l = self.net.loss(x, y, &self.config);
            let grads = GradientsParams::from_grads(l.backward(), &self.net);
            sum += scalar(l.inner());
            self.net = self.optimizer.step_flushed(lr, self.net.clone(), grads);
            (batches, self.step) = (batches + 1, self.step + 1);
            if self.config.ema > 0.0 {
                let online = self.net.valid();
                self.average = Some(match self.average.take() {
                    Some(ema) => average(ema, &online, self.config.ema),
                    None => online,
                });
            }
        }
        let train_loss = sum / batches.max(1) as f64;
        let val_loss = if self.val.len > 0 {
            // The same noise for the held-out chunks every epoch, so their losses compare.
            let mut fixed = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0xA11D);
            let rows: Vec<usize> = (0..self.val.len).collect();
            let (x, y) = self.val.batch(&rows, &self.config.policy, &self.schedule, &mut fixed, &self.inference);
            scalar(self.net.valid().loss(x, y, &self.config))
        } else {
            train_loss
        };
        if !train_loss.is_finite() || !val_loss.is_finite() {
            return Err(TrainError::diverged(train_loss, "epoch", self.epoch));
        }
        self.epoch += 1;
        if self.best.is_none_or(|b| val_loss < b) {
            (self.best, self.stale) = (Some(val_loss), 0);
        } else {
            self.stale += 1;
        }
        Ok(Some((train_loss, val_loss)))
    }

    /// The policy as trained so far (the weights' moving average, when kept).
    pub fn policy(&self) -> ChunkPolicy {
        ChunkPolicy::new(
            self.average.clone().unwrap_or_else(|| self.net.valid()).generator,
            self.config.policy.clone(),
            self.normalizer.clone(),
            self.space.clone(),
            self.inference.clone(),
        )
    }
}

impl Algorithm for GenerativeTrainer {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        let epoch = self.epoch;
        Ok(self.epoch()?.map(|(train, val)| Metrics {
            step: self.step,
            values: vec![
                ("epoch", epoch as f64),
                ("train/loss", train),
                ("val/loss", val),
                ("data/skipped_episodes", (self.train.skipped + self.val.skipped) as f64),
            ],
        }))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        Some(Box::new(GenerativeTrainer::policy(self)))
    }

    fn step(&self) -> usize {
        self.step
    }
}

/// Trains on `episodes` of `env`'s scenario on the CPU until finished.
pub fn train(env: &ScenarioEnv, episodes: &[Episode], config: &GenerativeConfig) -> Result<ChunkPolicy, TrainError> {
    let mut trainer = GenerativeTrainer::new(env, episodes, config, &Device::flex())?;
    while trainer.epoch()?.is_some() {}
    Ok(trainer.policy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(net: &Denoiser) -> Vec<f32> {
        let mut f = Flatten(Vec::new());
        burn::module::Module::visit(net, &mut f);
        f.0.into_iter().flat_map(crate::batch::floats).collect()
    }

    #[test]
    fn the_moving_average_moves_each_weight_towards_the_online_one() {
        let config = ChunkConfig { hidden: vec![3], ..ChunkConfig::default() };
        let device = Device::flex();
        device.seed(1);
        let ema = Denoiser::new(2, 2, &config, &device);
        device.seed(2);
        let online = Denoiser::new(2, 2, &config, &device);
        let (a, b) = (flat(&ema), flat(&online));
        let averaged = flat(&average(ema, &online, 0.75));
        assert_eq!(averaged.len(), a.len());
        for ((x, y), z) in a.iter().zip(&b).zip(&averaged) {
            assert!((0.75 * x + 0.25 * y - z).abs() < 1e-6, "{x} {y} {z}");
        }
    }
}
