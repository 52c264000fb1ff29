//! Generative adversarial imitation learning (Ho & Ermon 2016), the GAN connection of Levine
//! & Finn's part 4: a discriminator learns to tell the demonstrations' transitions from the
//! learner's, and the generator maximizes the reward the discriminator's logit gives under
//! the chosen f-divergence. With `state_only`, the discriminator sees (s, s′) and the
//! demonstrations' actions are never read (GAIfO, Torabi et al. 2018).
//!
//! With the PPO generator (either action kind), each update collects a rollout, takes
//! `disc_steps` discriminator steps on its rows against as many demonstrated ones, relabels
//! the rollout with the learned reward and lets PPO learn from it. With the SAC generator
//! (continuous actions; off-policy, as in DAC, Kostrikov et al. 2019), the discriminator
//! learns on transitions replayed from SAC's buffer, and SAC relabels every minibatch it
//! samples with the current discriminator. The scenario's reward is never used for learning; `rollout/return_mean`
//! and evaluation report it, so one can see the learned reward track the true one.

use super::batch::{matrix, scalar};
use super::error::TrainError;
use super::policy::{Activation, Mlp, MlpPolicy, Normalizer};
use super::ppo::{PpoConfig, PpoTrainer};
use super::sac::{SacConfig, SacTrainer};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::reward::{Divergence, RewardModel, Transition, discriminator_loss};
use super::rl::Pretrained;
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use data::Episode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv};

/// Who learns to act on the discriminator's reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generator {
    /// On-policy, either action kind.
    #[default]
    Ppo,
    /// Off-policy, continuous actions: far fewer environment steps.
    Sac,
}

/// GAIL's hyperparameters (defaults: cartpole from 10 demonstrations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GailConfig {
    /// Who learns to act: `ppo` (either action kind) or `sac` (continuous actions).
    pub generator: Generator,
    /// The divergence the adversarial game minimizes: `js` (GAIL), `reverse_kl` (AIRL's,
    /// mode seeking) or `forward_kl` (FAIRL's, mode covering).
    pub divergence: Divergence,
    /// The discriminator sees (s, s′) instead of (s, a): demonstrations need no actions.
    pub state_only: bool,
    /// Environment steps to train for (the generator's own `total_steps` is replaced by it).
    pub total_steps: usize,
    /// Widths of the discriminator's hidden layers.
    pub disc_hidden: Vec<usize>,
    /// The discriminator's Adam learning rate.
    pub disc_lr: f64,
    /// Discriminator steps per generator update.
    pub disc_steps: usize,
    /// Learner transitions (and as many demonstrated ones) in each discriminator step.
    pub disc_batch: usize,
    /// The PPO generator's hyperparameters.
    pub ppo: PpoConfig,
    /// The SAC generator's hyperparameters.
    pub sac: SacConfig,
    /// Seed of everything (replaces the generator's own).
    pub seed: u64,
}

impl Default for GailConfig {
    fn default() -> GailConfig {
        GailConfig {
            generator: Generator::Ppo,
            divergence: Divergence::Js,
            state_only: false,
            total_steps: 100_000,
            disc_hidden: vec![64, 64],
            disc_lr: 1e-3,
            disc_steps: 2,
            disc_batch: 256,
            ppo: PpoConfig::default(),
            sac: SacConfig::default(),
            seed: 0,
        }
    }
}

/// Hyperparameters that can change while GAIL runs.
pub const LIVE: [&str; 3] = ["disc_lr", "disc_steps", "total_steps"];

/// The demonstrations' transitions, as discriminator input rows.
fn expert_rows(episodes: &[Episode], model: &RewardModel) -> Vec<Vec<f32>> {
    let mut rows = Vec::new();
    for e in episodes {
        for (t, step) in e.steps.iter().enumerate() {
            let next = e.steps.get(t + 1).map_or(e.final_obs.as_slice(), |s| s.obs.as_slice());
            let mut row = Vec::with_capacity(model.meta.features());
            model.meta.row(&Transition { obs: &step.obs, action: &step.action, next }, &mut row);
            rows.push(row);
        }
    }
    rows
}

/// The generator being trained.
enum Learner {
    Ppo(PpoTrainer),
    Sac(Box<SacTrainer>),
}

/// GAIL as a sequence of updates (discriminator steps and a generator update each).
pub struct GailTrainer {
    pub config: GailConfig,
    generator: Learner,
    /// The discriminator being trained (on the autodiff device).
    disc: Mlp,
    optimizer: ModuleOptimizer,
    /// The discriminator as a reward model (its weights refreshed after every update).
    reward: RewardModel,
    expert: Vec<Vec<f32>>,
    device: Device,
    rng: ChaCha8Rng,
}

impl GailTrainer {
    pub fn new(
        env: &ScenarioEnv,
        config: &GailConfig,
        demos: &[Episode],
        init: Option<&Pretrained>,
        device: &Device,
    ) -> Result<GailTrainer, TrainError> {
        if demos.iter().all(|e| e.steps.is_empty()) {
            return Err(TrainError::NoData("GAIL imitates demonstrations: give --demos with at least one step".into()));
        }
        if config.disc_steps > 0 && config.disc_batch == 0 {
            return Err(TrainError::Config("disc_batch must be at least 1".into()));
        }
        let (total_steps, seed) = (config.total_steps, config.seed);
        let generator = match config.generator {
            Generator::Ppo => {
                let ppo = PpoConfig { total_steps, seed, ..config.ppo.clone() };
                Learner::Ppo(PpoTrainer::with_demos(env, &ppo, &[], init, device)?)
            }
            Generator::Sac => {
                let sac = SacConfig { total_steps, seed, demo_ratio: 0.0, bc_weight: 0.0, ..config.sac.clone() };
                Learner::Sac(Box::new(SacTrainer::new(env, &sac, &[], init, device)?))
            }
        };
        let obs: Vec<Vec<f32>> = demos.iter().flat_map(|e| e.steps.iter().map(|s| s.obs.clone())).collect();
        let normalizer = Normalizer::fit(&obs, env.observation_space().dim());
        let spec = (config.state_only, config.divergence);
        let reward = RewardModel::new(env, spec, (&config.disc_hidden, Activation::Relu), normalizer, device);
        let autodiff = device.clone().autodiff();
        autodiff.seed(config.seed ^ 0xD15C);
        let disc = Mlp::new(reward.meta.features(), &config.disc_hidden, 1, Activation::Relu, false, &autodiff);
        Ok(GailTrainer {
            config: config.clone(),
            generator,
            disc,
            optimizer: AdamConfig::new().init(),
            expert: expert_rows(demos, &reward),
            reward,
            device: autodiff,
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6A11),
        })
    }

    pub fn policy(&self) -> MlpPolicy {
        match &self.generator {
            Learner::Ppo(ppo) => ppo.policy(),
            Learner::Sac(sac) => sac.policy(),
        }
    }

    fn env_steps(&self) -> usize {
        match &self.generator {
            Learner::Ppo(ppo) => ppo.env_steps(),
            Learner::Sac(sac) => sac.env_steps(),
        }
    }

    /// Discriminator input rows of raw transitions.
    fn rows<'a>(&self, transitions: impl Iterator<Item = Transition<'a>>) -> Vec<Vec<f32>> {
        transitions
            .map(|t| {
                let mut row = Vec::with_capacity(self.reward.meta.features());
                self.reward.meta.row(&t, &mut row);
                row
            })
            .collect()
    }

    /// The discriminator as the run's reward artifact.
    pub fn reward(&self) -> RewardModel {
        RewardModel { net: self.disc.valid(), ..self.reward.clone() }
    }

    /// `disc_steps` steps of the discriminator on `learner` rows against demonstrated ones;
    /// returns the last step's loss and accuracy (both sides' correct fraction, averaged).
    fn train_discriminator(&mut self, learner: &[Vec<f32>]) -> Option<(f64, f64)> {
        let (b, width) = (self.config.disc_batch, self.reward.meta.features());
        let mut last = None;
        for k in 0..self.config.disc_steps {
            let pick = |rows: &[Vec<f32>], rng: &mut ChaCha8Rng| -> Vec<f32> {
                (0..b).flat_map(|_| rows[rng.random_range(0..rows.len())].iter().copied()).collect()
            };
            let expert = pick(&self.expert, &mut self.rng);
            let learner = pick(learner, &mut self.rng);
            let x = matrix([expert, learner].concat(), 2 * b, &self.device);
            debug_assert_eq!(x.dims()[1], width);
            let logits = self.disc.forward(x).reshape([2 * b]);
            let (h_expert, h_learner) = (logits.clone().slice(0..b), logits.slice(b..2 * b));
            let loss = discriminator_loss(h_expert.clone(), h_learner.clone());
            if k + 1 == self.config.disc_steps {
                let right = h_expert.inner().greater_elem(0.0).float().sum() + h_learner.inner().lower_elem(0.0).float().sum();
                last = Some((scalar(loss.clone().inner()), scalar(right) / (2 * b) as f64));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.disc);
            self.disc = self.optimizer.step(self.config.disc_lr, self.disc.clone(), grads);
        }
        last
    }

    /// One update: the discriminator's steps, then the generator's on the learned reward.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        let metrics = match &mut self.generator {
            Learner::Ppo(_) => self.update_ppo()?,
            Learner::Sac(_) => self.update_sac()?,
        };
        let Some((mut metrics, disc, learned_mean)) = metrics else { return Ok(None) };
        if let Some((loss, _)) = disc.filter(|(loss, _)| !loss.is_finite()) {
            return Err(TrainError::diverged(loss, "environment step", metrics.step));
        }
        let (disc_loss, disc_accuracy) = disc.unwrap_or((f64::NAN, f64::NAN));
        metrics.values.extend([
            ("train/disc_loss", disc_loss),
            ("train/disc_accuracy", disc_accuracy),
            ("rollout/learned_reward_mean", learned_mean),
        ]);
        Ok(Some(metrics))
    }

    /// A rollout, the discriminator on its rows, PPO on the rollout relabelled.
    #[allow(clippy::type_complexity)]
    fn update_ppo(&mut self) -> Result<Option<(Metrics, Option<(f64, f64)>, f64)>, TrainError> {
        let Learner::Ppo(ppo) = &mut self.generator else { unreachable!("a PPO generator") };
        ppo.config.total_steps = self.config.total_steps;
        if !ppo.has_budget() {
            return Ok(None);
        }
        let (mut rollout, finished) = ppo.collect()?;
        let rows = self.rows(rollout.transitions().into_iter());
        let disc = self.train_discriminator(&rows);
        let divergence = self.config.divergence;
        rollout.rewards = self.reward().logits(rows.concat()).into_iter().map(|h| divergence.reward(h)).collect();
        let learned_mean = rollout.rewards.iter().sum::<f32>() as f64 / rollout.rewards.len().max(1) as f64;
        let Learner::Ppo(ppo) = &mut self.generator else { unreachable!("a PPO generator") };
        Ok(Some((ppo.learn(rollout, &finished)?, disc, learned_mean)))
    }

    /// The discriminator on replayed transitions, then SAC's steps relabelled by it.
    #[allow(clippy::type_complexity)]
    fn update_sac(&mut self) -> Result<Option<(Metrics, Option<(f64, f64)>, f64)>, TrainError> {
        let Learner::Sac(sac) = &mut self.generator else { unreachable!("a SAC generator") };
        sac.config.total_steps = self.config.total_steps;
        let replayed = if sac.env_steps() > 0 { sac.replayed(self.config.disc_batch) } else { Vec::new() };
        let rows = self.rows(replayed.iter().map(|(obs, action, next)| Transition { obs, action, next }));
        let disc = if rows.is_empty() { None } else { self.train_discriminator(&rows) };
        let reward = self.reward();
        let divergence = self.config.divergence;
        let learned_mean = if rows.is_empty() {
            f64::NAN
        } else {
            let r: Vec<f32> = reward.logits(rows.concat()).into_iter().map(|h| divergence.reward(h)).collect();
            r.iter().sum::<f32>() as f64 / r.len() as f64
        };
        let Learner::Sac(sac) = &mut self.generator else { unreachable!("a SAC generator") };
        sac.learned = Some(reward);
        Ok(sac.update()?.map(|m| (m, disc, learned_mean)))
    }
}

impl_algorithm!(GailTrainer, LIVE, |t| t.env_steps(), artifacts: |t| vec![std::sync::Arc::new(t.reward())]);

/// GAIL in the registry.
pub const ENTRY: Entry = Entry {
    name: "gail",
    summary: "GAIL: a discriminator's reward, optimized by PPO or SAC (any f-divergence; state_only for (s, s') demos)",
    preset_of: None,
    needs: Needs { demos: true, expert: false, reward: false, actions: Actions::Any, init: true, resume: false, learned_reward: false },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Discriminator", Unit::EnvSteps, &["train/disc_loss", "train/disc_accuracy"]),
        Plot::steps("Learned reward", Unit::EnvSteps, &["rollout/learned_reward_mean"]),
        Plot::steps("Generator losses", Unit::EnvSteps, &["train/policy_loss", "train/value_loss"]),
    ],
    config: ConfigType::of::<GailConfig>(defaults_of::<GailConfig>),
    budget: |t| Ok(Budget::steps(typed::<GailConfig>(t)?.total_steps)),
    build: |t, cx| Ok(Box::new(GailTrainer::new(cx.env, &typed(t)?, &cx.demos, cx.init, cx.device)?)),
};
