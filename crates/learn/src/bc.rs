//! Behaviour cloning (the first algorithm of Sigaud's, Gupta's and Daumé's imitation-learning lectures): supervised learning of the demonstrator's
//! actions from its observations, with a train/validation split by episode, Adam
//! minibatches, early stopping on the validation loss and optional per-sample weights
//! (success filtering, reward-weighted regression).

use super::batch::{push_target, scalar};
use super::error::TrainError;
use super::optim::FlushedStep;
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};

use super::corrective::{CorrectiveConfig, corrective_episodes};
use super::hindsight::GoalLayout;
use super::policy::{MlpPolicy, Network, Normalizer, PolicyConfig, PolicyNet, Target, stacked};
use super::tbptt::Sequences;
use super::threads;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::{Episode, Source};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv, Space};

/// How much each demonstrated step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Every step alike.
    #[default]
    Uniform,
    /// Only steps of successful episodes (success filtering).
    Success,
    /// Reward-weighted regression: steps of an episode with return R weigh exp(R / temperature).
    Return,
}

/// Behaviour-cloning hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BcConfig {
    /// The policy network and its head.
    pub policy: PolicyConfig,
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
    /// Per-step weights: uniform, success (filtering) or return (reward-weighted regression).
    pub weighting: Weighting,
    /// Temperature β of return weighting, in units of return: exp(R / β).
    pub temperature: f64,
    /// Corrective labels: perturbed copies of the training steps, labelled by a search on the
    /// simulator for the action that steers back onto the demonstration (`corrective.per_state`
    /// > 0 turns it on; single observations only).
    pub corrective: CorrectiveConfig,
    /// Seed of initialization, shuffling and the split.
    pub seed: u64,
}

impl Default for BcConfig {
    fn default() -> BcConfig {
        BcConfig {
            policy: PolicyConfig::default(),
            lr: 1e-3,
            batch_size: 64,
            epochs: 300,
            val_fraction: 0.2,
            patience: 20,
            use_expert_labels: true,
            hindsight: 0,
            weighting: Weighting::Uniform,
            temperature: 10.0,
            corrective: CorrectiveConfig::default(),
            seed: 0,
        }
    }
}

impl BcConfig {
    /// Applies `key=value` overrides (see `overrides`); every key must be a field.
    pub fn with_overrides(&self, sets: &[String]) -> Result<BcConfig, crate::SettingError> {
        let (config, unknown) = super::overrides(self, sets)?;
        match unknown.into_iter().next() {
            None => Ok(config),
            Some(set) => Err(crate::SettingError::Unknown { set, known: super::field_names(self).join(", ") }),
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

/// Training data as flat arrays, ready to be cut into minibatches.
struct Samples {
    /// Network inputs, rows of `input_dim`.
    inputs: Vec<f32>,
    /// Box: scaled actions (rows of action dims); categorical: class indices (rows of dims).
    floats: Vec<f32>,
    classes: Vec<i64>,
    /// Per-row weights with mean 1, or empty when uniform.
    weights: Vec<f32>,
    len: usize,
}

/// A step to learn: the observation the network sees (relabeled or not), its episode and time.
struct Row<'a> {
    obs: Vec<f32>,
    episode: &'a Episode,
    t: usize,
    weight: f32,
}

/// Episodes shuffled and split into (validation, training): `val_fraction` of them held out,
/// at least one when there are two or more, never all.
pub(crate) fn split_episodes<'a>(
    episodes: &'a [Episode],
    val_fraction: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<&'a Episode>, Vec<&'a Episode>) {
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    order.shuffle(rng);
    let n_val = if episodes.len() >= 2 {
        ((episodes.len() as f64 * val_fraction).round() as usize).clamp(1, episodes.len() - 1)
    } else {
        0
    };
    let (v, t) = order.split_at(n_val);
    (v.iter().map(|&i| &episodes[i]).collect(), t.iter().map(|&i| &episodes[i]).collect())
}

/// Per-episode weights of a weighting scheme (before normalization).
fn episode_weights(episodes: &[&Episode], config: &BcConfig) -> Vec<f32> {
    match config.weighting {
        Weighting::Uniform => vec![1.0; episodes.len()],
        Weighting::Success => episodes.iter().map(|e| if e.success() { 1.0 } else { 0.0 }).collect(),
        Weighting::Return => {
            // Shifted by the best return so exp() stays finite; the shift cancels in normalization.
            let best = episodes.iter().map(|e| e.ret()).fold(f32::MIN, f32::max);
            let beta = config.temperature.max(1e-6) as f32;
            episodes.iter().map(|e| ((e.ret() - best) / beta).exp()).collect()
        }
    }
}

/// The rows of `episodes` with non-zero weight, plus hindsight copies when asked.
fn rows<'a>(
    episodes: &[&'a Episode],
    config: &BcConfig,
    hindsight: Option<(&GoalLayout, &mut ChaCha8Rng)>,
) -> Vec<Row<'a>> {
    let weights = episode_weights(episodes, config);
    let mut rows = Vec::new();
    let mut hindsight = hindsight;
    for (&episode, &weight) in episodes.iter().zip(&weights) {
        if weight <= 0.0 {
            continue;
        }
        // A step the learner drove itself, with no expert label, shows no demonstrator: in
        // HG-DAgger data only the human's interventions (and labeled steps) teach.
        let taught =
            episode.steps.iter().enumerate().filter(|(_, s)| s.source != Source::Policy || s.expert_label.is_some());
        rows.extend(taught.map(|(t, s)| Row { obs: s.obs.clone(), episode, t, weight }));
        if let Some((layout, rng)) = hindsight.as_mut() {
            let copies = layout.relabeled(episode, config.hindsight, rng);
            rows.extend(copies.into_iter().map(|(obs, t)| Row { obs, episode, t, weight }));
        }
    }
    rows
}

fn samples(rows: &[Row], space: &Space, norm: &Normalizer, config: &BcConfig) -> Samples {
    let history = config.policy.history.max(1);
    let mut s = Samples { inputs: Vec::new(), floats: Vec::new(), classes: Vec::new(), weights: Vec::new(), len: 0 };
    for row in rows {
        let step = &row.episode.steps[row.t];
        if history == 1 {
            s.inputs.extend(norm.apply(&row.obs));
        } else {
            let before = row.episode.steps[..row.t].iter().map(|s| s.obs.as_slice());
            s.inputs.extend(stacked(norm, history, before, &row.obs));
        }
        let target =
            if config.use_expert_labels { step.expert_label.as_ref().unwrap_or(&step.action) } else { &step.action };
        push_target(target, Some(space), &mut s.floats, &mut s.classes);
        s.weights.push(row.weight);
        s.len += 1;
    }
    let mean = s.weights.iter().sum::<f32>() / s.len.max(1) as f32;
    if config.weighting == Weighting::Uniform || mean <= 0.0 {
        s.weights.clear();
    } else {
        s.weights.iter_mut().for_each(|w| *w /= mean);
    }
    s
}

/// Inputs, targets and per-sample weights of a minibatch.
type Batch = (Tensor<2>, Target, Option<Tensor<1>>);

/// `net`'s loss on `batch` times `share`, and its gradients.
fn gradients(net: &PolicyNet, (x, target, weights): Batch, share: f32) -> (f64, GradientsParams) {
    let loss = net.loss(x, &target, weights) * share;
    let grads = GradientsParams::from_grads(loss.backward(), net);
    (scalar(loss.inner()), grads)
}

impl Samples {
    /// Inputs, targets and weights of `rows` as tensors on `device`.
    fn batch(&self, rows: &[usize], input_dim: usize, device: &Device) -> Batch {
        let b = rows.len();
        let gather = |data: &[f32], width: usize| -> Vec<f32> {
            rows.iter().flat_map(|&r| data[r * width..(r + 1) * width].iter().copied()).collect()
        };
        let x = Tensor::<2>::from_data(TensorData::new(gather(&self.inputs, input_dim), [b, input_dim]), device);
        let target = if self.floats.is_empty() {
            let d = self.classes.len() / self.len.max(1);
            let y: Vec<i64> = rows.iter().flat_map(|&r| self.classes[r * d..(r + 1) * d].iter().copied()).collect();
            Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(y, [b, d]), device))
        } else {
            let d = self.floats.len() / self.len.max(1);
            Target::Continuous(Tensor::<2>::from_data(TensorData::new(gather(&self.floats, d), [b, d]), device))
        };
        let weights = (!self.weights.is_empty())
            .then(|| Tensor::<1>::from_data(TensorData::new(gather(&self.weights, 1), [b]), device));
        (x, target, weights)
    }
}

/// Behaviour cloning as a resumable sequence of epochs, so a trainer thread can pause, change
/// hyperparameters and snapshot between them.
pub struct BcTrainer {
    pub config: BcConfig,
    space: Space,
    input_dim: usize,
    normalizer: Normalizer,
    train: Samples,
    val: Samples,
    /// A GRU policy's training and validation episodes, whole (truncated BPTT).
    sequences: Option<(Sequences, Sequences)>,
    net: PolicyNet,
    optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    best: Option<(f64, PolicyNet)>,
    stale: usize,
    step: usize,
    /// Epochs run before this trainer started (a resumed run).
    epochs_before: usize,
    pub log: Vec<EpochLog>,
}

impl BcTrainer {
    /// Prepares training on `episodes` of `env`'s scenario, on `device` (a non-autodiff device).
    pub fn new(
        env: &ScenarioEnv,
        episodes: &[Episode],
        config: &BcConfig,
        device: &Device,
    ) -> Result<BcTrainer, TrainError> {
        if episodes.iter().all(|e| e.is_empty()) {
            return Err(TrainError::NoData("the dataset has no steps".into()));
        }
        if config.hindsight > 0 && (config.policy.history > 1 || config.policy.kind != Network::Mlp) {
            return Err(TrainError::Config(
                "hindsight relabeling works on single observations (policy.history = 1, policy.kind = \"mlp\")".into(),
            ));
        }
        if config.corrective.per_state > 0 && (config.policy.history > 1 || config.policy.kind != Network::Mlp) {
            return Err(TrainError::Config(
                "corrective labels are single steps: they need policy.history = 1 and policy.kind = \"mlp\"".into(),
            ));
        }
        config.policy.check().map_err(TrainError::Config)?;
        let space = env.action_space().clone();
        let obs_dim = env.observation_space().dim();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let (val_eps, train_eps) = split_episodes(episodes, config.val_fraction, &mut rng);
        // Corrective labels come from the training episodes only, and train with them.
        let corrected = corrective_episodes(env, &train_eps, &config.corrective)?;
        let train_eps: Vec<&Episode> = train_eps.into_iter().chain(&corrected).collect();
        let layout = GoalLayout::of(env.scenario()).filter(|_| config.hindsight > 0);
        let train_rows = rows(&train_eps, config, layout.as_ref().map(|l| (l, &mut rng)));
        if train_rows.is_empty() {
            return Err(TrainError::NoData(format!(
                "{:?} weighting kept no step of the {} training episodes (none succeeded?)",
                config.weighting,
                train_eps.len()
            )));
        }
        let val_rows = rows(&val_eps, config, None);
        let normalizer = Normalizer::fit(&train_rows.iter().map(|r| r.obs.clone()).collect::<Vec<_>>(), obs_dim);
        let train = samples(&train_rows, &space, &normalizer, config);
        let val = samples(&val_rows, &space, &normalizer, config);
        let sequences = (config.policy.kind == Network::Gru).then(|| {
            let labels = config.use_expert_labels;
            let of = |eps: &[&Episode]| Sequences::new(eps, &episode_weights(eps, config), &space, &normalizer, labels);
            (of(&train_eps), of(&val_eps))
        });

        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let net = config.policy.build(obs_dim, &space, &autodiff);
        Ok(BcTrainer {
            config: config.clone(),
            space,
            input_dim: obs_dim * config.policy.history.max(1),
            normalizer,
            order: (0..train.len).collect(),
            train,
            val,
            sequences,
            net,
            optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng,
            best: None,
            stale: 0,
            step: 0,
            epochs_before: 0,
            log: Vec::new(),
        })
    }

    /// Training samples per epoch.
    pub fn train_len(&self) -> usize {
        self.train.len
    }

    /// Whether training has run its epochs or stopped early.
    pub fn finished(&self) -> bool {
        self.epochs_before + self.log.len() >= self.config.epochs || self.stale >= self.config.patience.max(1)
    }

    /// Continues a run from its saved checkpoint: `load` fills the trainer's freshly built
    /// network with the saved weights; epochs and steps count on from `epochs` and `step`.
    pub fn resume(
        &mut self,
        load: impl FnOnce(PolicyNet) -> Result<PolicyNet, crate::run::RunError>,
        epochs: usize,
        step: usize,
    ) -> Result<(), TrainError> {
        self.net = load(self.net.clone())?;
        (self.epochs_before, self.step) = (epochs, step);
        Ok(())
    }

    /// One pass over the training set; `None` once finished.
    pub fn epoch(&mut self) -> Result<Option<EpochLog>, TrainError> {
        if self.finished() {
            return Ok(None);
        }
        let epoch = self.epochs_before + self.log.len();
        let (train_loss, val_loss) = match self.sequences.is_some() {
            true => self.sequence_pass(),
            false => self.minibatch_pass(),
        };
        if !train_loss.is_finite() || !val_loss.is_finite() {
            return Err(TrainError::diverged(train_loss, "epoch", epoch));
        }
        let entry = EpochLog { epoch, step: self.step, train_loss, val_loss };
        self.log.push(entry.clone());
        if self.best.as_ref().is_none_or(|(b, _)| val_loss < *b) {
            self.best = Some((val_loss, self.net.valid()));
            self.stale = 0;
        } else {
            self.stale += 1;
        }
        Ok(Some(entry))
    }

    /// One epoch of shuffled minibatches of steps: (train loss, validation loss).
    fn minibatch_pass(&mut self) -> (f64, f64) {
        if threads::large_products(self.config.batch_size, self.widest()) {
            threads::on_pool(|| self.shuffled_pass())
        } else {
            self.shuffled_pass()
        }
    }

    /// Width of the network's widest layer, its input included.
    fn widest(&self) -> usize {
        self.config.policy.hidden.iter().copied().chain([self.input_dim]).max().unwrap_or(0)
    }

    fn shuffled_pass(&mut self) -> (f64, f64) {
        self.order.shuffle(&mut self.rng);
        let order = std::mem::take(&mut self.order);
        let train_loss = self.gradient_steps(&order);
        self.order = order;
        let val_loss = if self.val.len > 0 {
            let rows: Vec<usize> = (0..self.val.len).collect();
            let (x, target, weights) = self.val.batch(&rows, self.input_dim, &self.inference);
            scalar(self.net.valid().loss(x, &target, weights))
        } else {
            train_loss
        };
        (train_loss, val_loss)
    }

    /// A gradient step on each minibatch of `order`; returns the mean training loss.
    fn gradient_steps(&mut self, order: &[usize]) -> f64 {
        // On the CPU, a large minibatch's halves run side by side, one per core, and on one core
        // one after the other (so the result does not depend on the cores); a GPU takes it whole.
        let split = self.inference == Device::flex() && threads::large_products(self.config.batch_size, self.widest());
        let (mut sum, mut batches) = (0.0, 0);
        for rows in order.chunks(self.config.batch_size.max(1)) {
            let (loss, grads) = match split && rows.len() > 1 {
                true => self.split_gradients(rows),
                false => gradients(&self.net, self.train.batch(rows, self.input_dim, &self.device), 1.0),
            };
            sum += loss;
            self.net = self.optimizer.step_flushed(self.config.lr, self.net.clone(), grads);
            batches += 1;
            self.step += 1;
        }
        sum / batches.max(1) as f64
    }

    /// The loss on `rows` and its gradients, the minibatch's two halves computed side by side.
    /// Each half runs through its own fork of the network (the same weights and parameter ids
    /// under fresh autodiff leaves): Burn merges graphs that share a leaf into one graph under
    /// one lock, which would serialize the halves.
    fn split_gradients(&self, rows: &[usize]) -> (f64, GradientsParams) {
        let (a, b) = rows.split_at(rows.len() / 2);
        let share = |half: &[usize]| half.len() as f32 / rows.len() as f32;
        let batch = |half| self.train.batch(half, self.input_dim, &self.device);
        let (batch_a, batch_b) = (batch(a), batch(b));
        let (net_a, net_b) = (self.net.clone().fork(&self.device), self.net.clone().fork(&self.device));
        let ((loss_a, grads_a), (loss_b, grads_b)) =
            rayon::join(move || gradients(&net_a, batch_a, share(a)), move || gradients(&net_b, batch_b, share(b)));
        let mut sum = GradientsAccumulator::new();
        sum.accumulate(&self.net, grads_a);
        sum.accumulate(&self.net, grads_b);
        (loss_a + loss_b, sum.grads())
    }

    /// One epoch of truncated BPTT over whole episodes, `batch_size / bptt` of them side by
    /// side (so a gradient step sees about `batch_size` steps): (train loss, validation loss).
    fn sequence_pass(&mut self) -> (f64, f64) {
        let Some((train, val)) = self.sequences.take() else { return (f64::NAN, f64::NAN) };
        let bptt = self.config.policy.bptt.max(1);
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut self.rng);
        let (mut sum, mut groups) = (0.0, 0);
        let (lr, optimizer, step) = (self.config.lr, &mut self.optimizer, &mut self.step);
        for ids in order.chunks((self.config.batch_size / bptt).max(1)) {
            sum += train.pass(ids, bptt, &mut self.net, &self.device, &mut |loss, net| {
                let grads = GradientsParams::from_grads(loss.backward(), net);
                *step += 1;
                Some(optimizer.step_flushed(lr, net.clone(), grads))
            });
            groups += 1;
        }
        let train_loss = sum / groups.max(1) as f64;
        let val_loss = match val.is_empty() {
            true => train_loss,
            false => {
                let ids: Vec<usize> = (0..val.len()).collect();
                val.pass(&ids, bptt, &mut self.net.valid(), &self.inference, &mut |_, _| None)
            }
        };
        self.sequences = Some((train, val));
        (train_loss, val_loss)
    }

    /// The policy with the best validation loss so far (the current one before any epoch).
    pub fn policy(&self) -> MlpPolicy {
        let net = self.best.as_ref().map(|b| b.1.clone()).unwrap_or_else(|| self.net.valid());
        MlpPolicy::new(
            net,
            self.config.policy.clone(),
            self.normalizer.clone(),
            self.space.clone(),
            self.inference.clone(),
        )
    }
}

/// Trains a policy on `episodes` of `env`'s scenario on the CPU; `on_epoch` sees every
/// epoch's losses. Returns the policy with the best validation loss and the log.
pub fn train(
    env: &ScenarioEnv,
    episodes: &[Episode],
    config: &BcConfig,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<(MlpPolicy, Vec<EpochLog>), TrainError> {
    train_on(env, episodes, config, &Device::flex(), on_epoch)
}

/// As `train`, on `device`.
pub fn train_on(
    env: &ScenarioEnv,
    episodes: &[Episode],
    config: &BcConfig,
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<(MlpPolicy, Vec<EpochLog>), TrainError> {
    let mut trainer = BcTrainer::new(env, episodes, config, device)?;
    while let Some(entry) = trainer.epoch()? {
        on_epoch(&entry);
    }
    Ok((trainer.policy(), trainer.log))
}

/// Hyperparameters that can change while behaviour cloning runs.
pub const LIVE: [&str; 4] = ["lr", "batch_size", "epochs", "patience"];

impl super::trainer::Algorithm for BcTrainer {
    fn advance(&mut self) -> Result<Option<super::trainer::Metrics>, TrainError> {
        Ok(self.epoch()?.map(|e| super::trainer::Metrics {
            step: e.step,
            values: vec![("epoch", e.epoch as f64), ("train/loss", e.train_loss), ("val/loss", e.val_loss)],
        }))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), crate::SettingError> {
        super::set_live(&mut self.config, key, value, &LIVE)
    }

    fn policy(&self) -> Option<Box<dyn crate::artifact::PolicyArtifact>> {
        Some(Box::new(BcTrainer::policy(self)))
    }

    fn step(&self) -> usize {
        self.step
    }
}

/// Behaviour cloning in the registry.
pub const ENTRY: Entry = Entry {
    name: "bc",
    summary: "Behaviour cloning: supervised learning of the demonstrated actions",
    preset_of: None,
    needs: Needs { demos: true, expert: false, reward: false, actions: Actions::Any, init: false, resume: true, learned_reward: false },
    live: &LIVE,
    step: Unit::GradientSteps,
    plots: &[Plot::against("Loss", "epoch", Unit::Epochs, &["train/loss", "val/loss"])],
    config: ConfigType::of::<BcConfig>(defaults_of::<BcConfig>),
    budget: |t| Ok(Budget::indexed(typed::<BcConfig>(t)?.epochs, "epoch")),
    build: |t, cx| {
        let mut trainer = BcTrainer::new(cx.env, &cx.demos, &typed(t)?, cx.device)?;
        if let Some((epochs, step)) = cx.resume {
            trainer.resume(|net| crate::run::load_weights(cx.out, net), epochs, step)?;
        }
        Ok(Box::new(trainer))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{ModuleVisitor, Param};
    use data::ops::{Generator, record_episode};

    /// Every parameter's gradient, flattened in the module's order.
    struct Flatten<'a>(&'a GradientsParams, Vec<f32>);

    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let grad = self.0.get::<D>(param.id).expect("every parameter has a gradient");
            self.1.extend(grad.into_data().to_vec::<f32>().unwrap());
        }
    }

    #[test]
    fn a_minibatch_split_over_two_cores_gives_the_whole_batch_s_loss_and_gradients() {
        let mut env = ScenarioEnv::load("pendulum").unwrap();
        let expert = env.scenario().expert.clone().unwrap();
        let episodes: Vec<Episode> =
            (0..3).map(|seed| record_episode(&mut env, &expert, Generator::Scripted, seed, 0.0).unwrap()).collect();
        let config = BcConfig { val_fraction: 0.0, ..BcConfig::default() };
        let trainer = BcTrainer::new(&env, &episodes, &config, &Device::flex()).unwrap();
        // An odd count, so the halves differ in size and must be weighted by it.
        let rows: Vec<usize> = (0..trainer.train.len - 1).collect();
        assert_eq!(rows.len() % 2, 1);
        let whole = trainer.train.batch(&rows, trainer.input_dim, &trainer.device);
        let (whole_loss, whole_grads) = gradients(&trainer.net, whole, 1.0);
        let (split_loss, split_grads) = trainer.split_gradients(&rows);
        assert!((whole_loss - split_loss).abs() <= 1e-5 * whole_loss.abs(), "{whole_loss} vs {split_loss}");
        let flatten = |grads| {
            let mut flat = Flatten(grads, Vec::new());
            trainer.net.visit(&mut flat);
            flat.1
        };
        let (whole, split) = (flatten(&whole_grads), flatten(&split_grads));
        assert_eq!(whole.len(), split.len());
        let largest = whole.iter().fold(0f32, |m, g| m.max(g.abs()));
        for (i, (w, s)) in whole.iter().zip(&split).enumerate() {
            assert!((w - s).abs() <= 1e-4 * largest, "gradient {i}: {w} whole vs {s} split");
        }
    }
}
