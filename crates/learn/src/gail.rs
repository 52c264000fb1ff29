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

use super::batch::{floats, matrix, push_target, scalar, vector};
use super::error::TrainError;
use super::optim::FlushedStep;
use super::policy::{Activation, Mlp, MlpPolicy, Normalizer, Target};
use super::ppo::{PpoConfig, PpoTrainer};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, typed};
use super::reward::{Divergence, RewardFormat, RewardMeta, RewardModel, Transition, discriminator_loss};
use super::rl::Pretrained;
use super::sac::{SacConfig, SacTrainer};
use super::trainer::{Metrics, impl_algorithm};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use data::Episode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv};

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

/// The discriminator's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// GAIL's: a classifier over (s, a), or (s, s′) with `state_only`.
    #[default]
    Classifier,
    /// AIRL's: logit g(s) + γ·h(s′) − h(s) − log π(a|s), whose g is a reward that transfers
    /// (see `airl.rs`).
    Airl,
    /// Guided cost learning's: a reward r = −c(s, a) fitted by MaxEnt IRL's likelihood, its
    /// partition function estimated by importance weights over the sampler's transitions
    /// (see `gcl.rs`).
    Gcl,
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
    /// The discriminator's form: `classifier` (GAIL), `airl` or `gcl`.
    pub form: Form,
    /// The classifier also judges the absorbing state after a terminal step, whose learned
    /// reward is earned forever (DAC): JS's reward, positive everywhere, otherwise pays the
    /// generator never to end an episode, even at the goal. Off by default: while the
    /// classifier still scores the absorbing row like the demonstrations' mean state, ending
    /// an episode pays more than living (cartpole's GAIL then learns to fall).
    pub absorbing: bool,
    /// Environment steps to train for (the generator's own `total_steps` is replaced by it).
    pub total_steps: usize,
    /// Widths of the discriminator's hidden layers (and of AIRL's shaping network).
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
            form: Form::Classifier,
            absorbing: false,
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

/// The networks the discriminator learns: its main network (GAIL's classifier, or AIRL's
/// g over s) and AIRL's shaping potential h over s.
#[derive(Module, Debug)]
pub struct Discriminator {
    pub main: Mlp,
    pub shaping: Option<Mlp>,
}

/// Transitions as the discriminator reads them: input rows, and for AIRL the generator's
/// log π(a|s) at each (zero for GAIL).
struct Samples {
    rows: Vec<Vec<f32>>,
    log_probs: Vec<f32>,
}

/// The generator being trained.
enum Learner {
    Ppo(PpoTrainer),
    Sac(Box<SacTrainer>),
}

/// An owned transition: (observation, action, next observation).
type Owned = (Vec<f32>, Action, Vec<f32>);

fn borrowed(t: &[Owned]) -> Vec<Transition<'_>> {
    t.iter().map(|(obs, action, next)| Transition { obs, action, next }).collect()
}

/// log π(a|s) of `policy` at each transition.
fn log_probs(policy: &MlpPolicy, transitions: &[Transition]) -> Vec<f32> {
    if transitions.is_empty() {
        return Vec::new();
    }
    let (mut floats_, mut classes) = (Vec::new(), Vec::new());
    let obs: Vec<f32> = transitions.iter().flat_map(|t| policy.normalizer.apply(t.obs).collect::<Vec<_>>()).collect();
    transitions.iter().for_each(|t| push_target(t.action, Some(&policy.space), &mut floats_, &mut classes));
    let n = transitions.len();
    let target = if classes.is_empty() {
        Target::Continuous(matrix(floats_, n, &policy.device))
    } else {
        let d = classes.len() / n;
        Target::Classes(Tensor::<2, Int>::from_data(TensorData::new(classes, [n, d]), &policy.device))
    };
    floats(policy.net.nll(matrix(obs, n, &policy.device), &target).neg())
}

/// GCL's sampling density q at each transition: half the policy, half uniform over the
/// action space (the policy's density alone is near zero at many demonstrated actions, whose
/// importance weights would then swamp the partition estimate).
fn sampler_log_density(policy: &MlpPolicy, transitions: &[Transition]) -> Vec<f32> {
    let uniform = match &policy.space {
        // Densities of scaled actions, in [-1, 1] per dimension.
        sim::Space::Box { low, .. } => -(low.len() as f32) * std::f32::consts::LN_2,
        sim::Space::Discrete { n } => -(*n as f32).ln(),
        sim::Space::MultiDiscrete { nvec } => -nvec.iter().map(|&n| (n as f32).ln()).sum::<f32>(),
    };
    let log_mix = |lp: f32| {
        let hi = lp.max(uniform);
        hi + ((lp - hi).exp() + (uniform - hi).exp()).ln() - std::f32::consts::LN_2
    };
    log_probs(policy, transitions).into_iter().map(log_mix).collect()
}

/// GAIL as a sequence of updates (discriminator steps and a generator update each).
pub struct GailTrainer {
    pub config: GailConfig,
    generator: Learner,
    /// The discriminator being trained (on the autodiff device).
    disc: Discriminator,
    optimizer: ModuleOptimizer,
    /// How transitions become the discriminator's rows.
    rows: RewardMeta,
    /// The shaping's discount (the generator's γ).
    gamma: f32,
    expert: Vec<Owned>,
    expert_rows: Vec<Vec<f32>>,
    device: Device,
    inference: Device,
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
            return Err(TrainError::NoData("adversarial imitation needs --demos with at least one step".into()));
        }
        if config.disc_steps > 0 && config.disc_batch == 0 {
            return Err(TrainError::Config("disc_batch must be at least 1".into()));
        }
        let (total_steps, seed) = (config.total_steps, config.seed);
        let (generator, gamma) = match config.generator {
            Generator::Ppo => {
                let ppo = PpoConfig { total_steps, seed, ..config.ppo.clone() };
                (Learner::Ppo(PpoTrainer::with_demos(env, &ppo, &[], init, device)?), ppo.gamma)
            }
            Generator::Sac => {
                let sac = SacConfig { total_steps, seed, demo_ratio: 0.0, bc_weight: 0.0, ..config.sac.clone() };
                (Learner::Sac(Box::new(SacTrainer::new(env, &sac, &[], init, device)?)), sac.gamma)
            }
        };
        let expert: Vec<Owned> = demos
            .iter()
            .flat_map(|e| {
                e.steps.iter().enumerate().map(|(t, step)| {
                    let next = e.steps.get(t + 1).map_or(&e.final_obs, |s| &s.obs);
                    (step.obs.clone(), step.action.clone(), next.clone())
                })
            })
            .collect();
        let obs: Vec<Vec<f32>> = expert.iter().map(|(o, _, _)| o.clone()).collect();
        let normalizer = Normalizer::fit(&obs, env.observation_space().dim());
        // AIRL reads (s, s′): its g sees s, its shaping both.
        let state_only = config.state_only || config.form == Form::Airl;
        let spec = (state_only, config.divergence);
        let mut rows = RewardMeta::new(env, spec, (&config.disc_hidden, Activation::Relu), normalizer);
        rows.absorbing = config.absorbing && config.form == Form::Classifier;
        let mut expert_rows: Vec<Vec<f32>> = borrowed(&expert).iter().map(|t| row_of(&rows, t)).collect();
        if rows.absorbing {
            // Each demonstration that ended inside the task goes on in the absorbing state.
            let ended = demos.iter().filter(|e| e.steps.last().is_some_and(|s| s.terminated)).count();
            expert_rows.extend(std::iter::repeat_n(rows.absorbing_row(), ended));
        }
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed ^ 0xD15C);
        let obs_dim = rows.obs_dim;
        let mlp = |input| Mlp::new(input, &config.disc_hidden, 1, Activation::Relu, false, &autodiff);
        let disc = match config.form {
            Form::Classifier | Form::Gcl => Discriminator { main: mlp(rows.features()), shaping: None },
            Form::Airl => Discriminator { main: mlp(obs_dim), shaping: Some(mlp(obs_dim)) },
        };
        Ok(GailTrainer {
            config: config.clone(),
            generator,
            disc,
            optimizer: AdamConfig::new().init(),
            expert_rows,
            expert,
            rows,
            gamma: gamma as f32,
            device: autodiff,
            inference: device.clone(),
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

    /// The learned reward as the run's artifact: GAIL's classifier read through the
    /// divergence, or AIRL's g(s).
    pub fn reward(&self) -> RewardModel {
        let mut meta = self.rows.clone();
        meta.format = match self.config.form {
            Form::Classifier => RewardFormat::Discriminator,
            Form::Airl => RewardFormat::StateReward,
            Form::Gcl => RewardFormat::Reward,
        };
        RewardModel { net: self.disc.main.valid(), meta, device: self.inference.clone() }
    }

    /// Transitions as discriminator samples (AIRL's with the current policy's log π).
    fn samples(&self, transitions: &[Transition]) -> Samples {
        let rows = transitions.iter().map(|t| row_of(&self.rows, t)).collect();
        let log_probs = match self.config.form {
            Form::Airl => log_probs(&self.policy(), transitions),
            Form::Gcl => sampler_log_density(&self.policy(), transitions),
            Form::Classifier => vec![0.0; transitions.len()],
        };
        Samples { rows, log_probs }
    }

    /// With absorbing states, how many absorbing rows the learner's side holds beside its
    /// transitions: one per transition that ended its episode inside the task.
    fn absorbing_rows(&self, terminated: &[bool]) -> usize {
        if self.rows.absorbing { terminated.iter().filter(|&&t| t).count() } else { 0 }
    }

    /// Logits of flat rows on `disc`: [n]. AIRL's: g(s) + γ·h(s′) − h(s) − log π(a|s); GCL's:
    /// the reward −c(s, a) itself.
    fn logits(&self, disc: &Discriminator, rows: Vec<f32>, log_probs: Vec<f32>, device: &Device) -> Tensor<1> {
        let n = log_probs.len();
        let x = matrix(rows, n, device);
        let Some(shaping) = &disc.shaping else { return disc.main.forward(x).reshape([n]) };
        let d = self.rows.obs_dim;
        let (s, next) = (x.clone().narrow(1, 0, d), x.narrow(1, d, d));
        let potential = |x: Tensor<2>| shaping.forward(x).reshape([n]);
        let f = disc.main.forward(s.clone()).reshape([n]) + potential(next) * self.gamma as f64 - potential(s);
        f - vector(log_probs, device)
    }

    /// The generator's reward for `samples`: the divergence's reading of each logit (GCL's
    /// reward as it is).
    fn rewards(&self, samples: &Samples) -> Vec<f32> {
        let disc = self.disc.valid();
        let logits = floats(self.logits(&disc, samples.rows.concat(), samples.log_probs.clone(), &self.inference));
        match self.config.form {
            Form::Gcl => logits,
            _ => logits.into_iter().map(|h| self.config.divergence.reward(h)).collect(),
        }
    }

    /// `disc_steps` steps of the discriminator on `learner` samples (and `absorbing` absorbing
    /// rows drawn as often as any of them) against demonstrated ones; returns the last step's
    /// loss and accuracy (both sides' correct fraction, averaged).
    fn train_discriminator(&mut self, learner: &Samples, absorbing: usize) -> Option<(f64, f64)> {
        let b = self.config.disc_batch;
        let expert_log_probs = match self.config.form {
            Form::Airl => log_probs(&self.policy(), &borrowed(&self.expert)),
            Form::Gcl => sampler_log_density(&self.policy(), &borrowed(&self.expert)),
            Form::Classifier => vec![0.0; self.expert_rows.len()],
        };
        let mut last = None;
        for k in 0..self.config.disc_steps {
            let (mut rows, mut log_probs) = (Vec::new(), Vec::with_capacity(2 * b));
            let sides = [(&self.expert_rows, &expert_log_probs, 0), (&learner.rows, &learner.log_probs, absorbing)];
            for (source, logp, extra) in sides {
                for _ in 0..b {
                    let i = self.rng.random_range(0..source.len() + extra);
                    match source.get(i) {
                        Some(row) => {
                            rows.extend_from_slice(row);
                            log_probs.push(logp[i]);
                        }
                        None => {
                            rows.extend(self.rows.absorbing_row());
                            log_probs.push(0.0);
                        }
                    }
                }
            }
            let log_q = vector(log_probs.clone(), &self.device);
            let logits = self.logits(&self.disc, rows, log_probs, &self.device);
            let (h_expert, h_learner) = (logits.clone().slice(0..b), logits.clone().slice(b..2 * b));
            let loss = match self.config.form {
                Form::Gcl => maxent_irl_loss(h_expert.clone(), logits, log_q),
                _ => discriminator_loss(h_expert.clone(), h_learner.clone()),
            };
            if k + 1 == self.config.disc_steps {
                // GCL's reward has no threshold: a pair is told apart when the demonstrated
                // transition earns more than the learner's.
                let right = match self.config.form {
                    Form::Gcl => (h_expert.inner() - h_learner.inner()).greater_elem(0.0).float().sum() * 2.0,
                    _ => {
                        h_expert.inner().greater_elem(0.0).float().sum()
                            + h_learner.inner().lower_elem(0.0).float().sum()
                    }
                };
                last = Some((scalar(loss.clone().inner()), scalar(right) / (2 * b) as f64));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.disc);
            self.disc = self.optimizer.step_flushed(self.config.disc_lr, self.disc.clone(), grads);
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
        // The policy does not change while the discriminator trains: one set of samples serves both.
        let samples = self.samples(&rollout.transitions());
        let disc = self.train_discriminator(&samples, self.absorbing_rows(&rollout.terminated));
        let rewards = self.rewards(&samples);
        let learned_mean = mean(&rewards);
        let terminal = if self.rows.absorbing { self.reward().absorbing_value(self.gamma) } else { 0.0 };
        rollout.relabel(rewards, terminal, self.gamma);
        let Learner::Ppo(ppo) = &mut self.generator else { unreachable!("a PPO generator") };
        Ok(Some((ppo.learn(rollout, &finished)?, disc, learned_mean)))
    }

    /// The discriminator on replayed transitions, then SAC's steps, every minibatch it samples
    /// relabelled by the discriminator (GAIL's; AIRL's g, whose shaping and log π SAC's own
    /// entropy term stands in for).
    #[allow(clippy::type_complexity)]
    fn update_sac(&mut self) -> Result<Option<(Metrics, Option<(f64, f64)>, f64)>, TrainError> {
        let Learner::Sac(sac) = &mut self.generator else { unreachable!("a SAC generator") };
        sac.config.total_steps = self.config.total_steps;
        let (replayed, terminated) =
            if sac.env_steps() > 0 { sac.replayed(self.config.disc_batch) } else { (Vec::new(), Vec::new()) };
        let (disc, learned_mean) = if replayed.is_empty() {
            (None, f64::NAN)
        } else {
            let samples = self.samples(&borrowed(&replayed));
            let absorbing = self.absorbing_rows(&terminated);
            (self.train_discriminator(&samples, absorbing), mean(&self.rewards(&samples)))
        };
        let reward = self.reward();
        let Learner::Sac(sac) = &mut self.generator else { unreachable!("a SAC generator") };
        sac.learned = Some(reward);
        Ok(sac.update()?.map(|m| (m, disc, learned_mean)))
    }
}

/// Sampling-based MaxEnt IRL's negative log-likelihood of the demonstrations (Finn et al.
/// 2016): −mean r(demos) + log Ẑ, with Ẑ = mean_j exp(r_j) / q_j over every sample j (the
/// demonstrated ones included, which keeps the estimate from running off), q_j the sampler's
/// density at sample j.
/// `expert`: [b] rewards; `all`: [n] rewards of every sample; `log_q`: [n].
pub fn maxent_irl_loss(expert: Tensor<1>, all: Tensor<1>, log_q: Tensor<1>) -> Tensor<1> {
    let w = all - log_q;
    let shift = w.clone().max().detach();
    let log_z = (w - shift.clone()).exp().mean().log() + shift;
    log_z - expert.mean()
}

fn mean(v: &[f32]) -> f64 {
    v.iter().sum::<f32>() as f64 / v.len().max(1) as f64
}

fn row_of(meta: &RewardMeta, t: &Transition) -> Vec<f32> {
    let mut row = Vec::with_capacity(meta.features());
    meta.row(t, &mut row);
    row
}

impl_algorithm!(GailTrainer, LIVE, |t| t.env_steps(), artifacts: |t| vec![std::sync::Arc::new(t.reward())]);

/// GAIL in the registry.
pub const ENTRY: Entry = Entry {
    name: "gail",
    summary: "GAIL: a discriminator's reward, optimized by PPO or SAC (any f-divergence; state_only for (s, s') demos)",
    preset_of: None,
    needs: Needs {
        demos: true,
        expert: false,
        reward: false,
        actions: Actions::Any,
        init: true,
        resume: false,
        learned_reward: false,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maxent_irl_loss_is_the_demonstrations_reward_against_the_importance_weighted_partition() {
        let device = Device::flex();
        // Demonstrated rewards 1, 3 (mean 2); samples: rewards (1, 3, 0), densities q = (1, e, 1):
        // Ẑ = (e¹/1 + e³/e + e⁰/1) / 3 = (e + e² + 1) / 3; loss = ln Ẑ − 2.
        let (expert, all) = (vector(vec![1.0, 3.0], &device), vector(vec![1.0, 3.0, 0.0], &device));
        let loss = floats(maxent_irl_loss(expert, all, vector(vec![0.0, 1.0, 0.0], &device)))[0];
        let e = std::f32::consts::E;
        let expected = ((e + e * e + 1.0) / 3.0).ln() - 2.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
}
