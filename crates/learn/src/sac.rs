//! Soft actor-critic (Haarnoja et al. 2018) for continuous actions: a tanh-Gaussian actor
//! maximizes Q − α·log π, twin critics regress onto r + γ·(min Q_target(s', a') − α·log π(a'|s'))
//! with Polyak-averaged targets, and α adapts so the policy's entropy stays near a target.
//!
//! The hybrids are settings of the same loop: `demo_ratio` mixes demonstrations into every
//! batch (SACfD, Vecerik et al. 2017); `init` starts the actor from a pretrained (BC) policy,
//! `actor_warmup` lets the critic learn that policy's values before the actor moves, and
//! `bc_weight` (decaying by `bc_decay`) keeps the actor near the demonstrations, or near the
//! pretrained policy without them: the warning of Levine's lecture on imitation–RL hybrids that the first updates of a random
//! critic can erase what pretraining taught.

use super::batch::{floats, matrix, scalar, vector};
use super::buffer::{Batch, ReplayBuffer};
use super::critic::{TwinQ, polyak};
use super::error::TrainError;
use super::offpolicy::{Explorer, action_dims, demo_buffer, identity, mean_or_nan, normal};
use super::optim::FlushedStep;
use super::policy::{Head, Layout, MlpPolicy, Normalizer, PolicyConfig, PolicyNet, unscale_action};
use super::registry::{Actions, Budget, ConfigType, Entry, Needs, Plot, Unit, defaults_of, table, typed};
use super::reward::{RewardModel, Transition};
use super::rl::Pretrained;
use super::trainer::{Metrics, impl_algorithm};
use burn::module::Param;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use data::Episode;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};

/// SAC's hyperparameters (defaults: RL-Zoo's Pendulum settings, but 64-unit layers: on the
/// CPU a gradient step of 256-unit networks takes 15 ms, of 64-unit ones 1.5 ms, and both
/// swing the pendulum up within 4k steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SacConfig {
    /// The actor's network (its head must be `tanh_gaussian`; with `--init`, the pretrained run's).
    pub policy: PolicyConfig,
    /// Widths of each Q-network's hidden layers.
    pub critic_hidden: Vec<usize>,
    /// Environment steps to train for.
    pub total_steps: usize,
    /// Environment steps per log row (and between evaluations counted in rows).
    pub log_every: usize,
    /// Transitions the replay buffer keeps.
    pub buffer_size: usize,
    /// Environment steps of uniformly random actions before learning starts (none with `--init`).
    pub learning_starts: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Gradient steps per environment step.
    pub gradient_steps: usize,
    /// Adam learning rate of the actor, the critics and the temperature.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Polyak factor of the target critics' soft updates.
    pub tau: f64,
    /// The entropy temperature α at the start.
    pub initial_alpha: f64,
    /// Adapt α towards `target_entropy` (else keep `initial_alpha`).
    pub learn_alpha: bool,
    /// Target entropy per action dimension (−1: the usual −dim(A)).
    pub target_entropy: f64,
    /// Fraction of each batch drawn from the demonstrations (SACfD).
    pub demo_ratio: f64,
    /// Weight of a behaviour-cloning term in the actor's loss: towards the demonstrations, or
    /// towards the pretrained policy's actions when there are none.
    pub bc_weight: f64,
    /// The BC weight is multiplied by this every 1000 environment steps.
    pub bc_decay: f64,
    /// With `--init`: environment steps in which only the critics learn, so the pretrained
    /// actor's first updates follow a critic that already knows its values.
    pub actor_warmup: usize,
    /// Seed of the environment, the initialization, exploration and sampling.
    pub seed: u64,
}

impl Default for SacConfig {
    fn default() -> SacConfig {
        SacConfig {
            policy: PolicyConfig {
                hidden: vec![64, 64],
                head: Head::TanhGaussian,
                state_dependent_std: true,
                ..PolicyConfig::default()
            },
            critic_hidden: vec![64, 64],
            total_steps: 20_000,
            log_every: 500,
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 256,
            gradient_steps: 1,
            lr: 1e-3,
            gamma: 0.99,
            tau: 0.005,
            initial_alpha: 1.0,
            learn_alpha: true,
            target_entropy: -1.0,
            demo_ratio: 0.0,
            bc_weight: 0.0,
            bc_decay: 1.0,
            actor_warmup: 2_000,
            seed: 0,
        }
    }
}

impl SacConfig {
    /// SACfD: a quarter of every batch from the demonstrations.
    pub fn sacfd() -> SacConfig {
        SacConfig { demo_ratio: 0.25, ..SacConfig::default() }
    }
}

/// Hyperparameters that can change while SAC runs.
pub const LIVE: [&str; 6] = ["lr", "gradient_steps", "bc_weight", "bc_decay", "demo_ratio", "total_steps"];

/// The soft Bellman target of each row: r + γ^steps·(1 − terminated)·(min Q_target − α·log π).
pub fn soft_targets(batch: &Batch, min_q_next: &[f32], logp_next: &[f32], alpha: f32, gamma: f32) -> Vec<f32> {
    let soft: Vec<f32> = min_q_next.iter().zip(logp_next).map(|(q, l)| q - alpha * l).collect();
    batch.targets(&soft, gamma)
}

/// The learned entropy temperature, as log α so α stays positive.
#[derive(Module, Debug)]
pub struct Temperature {
    pub log_alpha: Param<Tensor<1>>,
}

impl Temperature {
    pub fn new(alpha: f64, device: &Device) -> Temperature {
        Temperature { log_alpha: Param::from_tensor(Tensor::<1>::from_floats([alpha.ln() as f32], device)) }
    }

    /// α now.
    pub fn alpha(&self) -> f32 {
        floats(self.log_alpha.val().valid().exp()).first().copied().unwrap_or(1.0)
    }

    /// The loss whose gradient in log α is the entropy's shortfall below `target`: α rises
    /// while the policy is less random than the target, falls while it is more.
    pub fn loss(&self, entropy: f32, target: f32) -> Tensor<1> {
        (self.log_alpha.val() * (entropy - target)).sum()
    }
}

pub struct SacTrainer {
    pub config: SacConfig,
    policy_config: PolicyConfig,
    space: Space,
    dims: usize,
    explorer: Explorer,
    demos: ReplayBuffer,
    /// The pretrained policy's network (inference), the BC term's anchor without demonstrations.
    anchor: Option<PolicyNet>,
    actor: PolicyNet,
    critic: TwinQ,
    target: TwinQ,
    temperature: Temperature,
    actor_optimizer: ModuleOptimizer,
    critic_optimizer: ModuleOptimizer,
    alpha_optimizer: ModuleOptimizer,
    device: Device,
    inference: Device,
    rng: ChaCha8Rng,
    /// Environment steps when the actor may start learning.
    actor_starts: usize,
    /// A learned reward that relabels every sampled minibatch, replacing the scenario's
    /// (`--reward RUN`, or GAIL's discriminator as it learns).
    pub learned: Option<RewardModel>,
    /// Transitions imagined by a learned model, mixed into every batch (MBPO).
    pub imagined: Option<Imagined>,
    gradient_steps: usize,
}

/// A model's transitions, stored as SAC's own (normalized observations, scaled actions).
pub struct Imagined {
    pub buffer: ReplayBuffer,
    /// Fraction of each batch still drawn from the real transitions.
    pub real_ratio: f64,
}

/// Losses of the last gradient step of a unit (NaN: not computed).
struct Losses {
    critic: f64,
    actor: f64,
    entropy: f64,
    bc: f64,
}

impl Losses {
    const NONE: Losses = Losses { critic: f64::NAN, actor: f64::NAN, entropy: f64::NAN, bc: f64::NAN };
}

impl SacTrainer {
    pub fn new(
        env: &ScenarioEnv,
        config: &SacConfig,
        demos: &[Episode],
        init: Option<&Pretrained>,
        device: &Device,
    ) -> Result<SacTrainer, TrainError> {
        let space = env.action_space().clone();
        let dims = action_dims(&space);
        if dims == 0 {
            return Err(TrainError::Config(
                "SAC needs continuous (Box) actions; use DQN or PPO for discrete ones".into(),
            ));
        }
        let policy_config = init.map_or(config.policy.clone(), |p| p.policy.config.clone());
        if !matches!(policy_config.layout(&space), Layout::Gaussian { tanh: true, .. }) || !policy_config.single_step()
        {
            return Err(TrainError::Config(format!(
                "SAC's actor needs a tanh_gaussian head on single observations (policy.head = {:?}, history = {}, kind = {:?}){}",
                policy_config.head,
                policy_config.history,
                policy_config.kind,
                if init.is_some() { "; pretrain with --set policy.head=tanh_gaussian" } else { "" }
            )));
        }
        if (config.demo_ratio > 0.0 || (config.bc_weight > 0.0 && init.is_none())) && demos.is_empty() {
            return Err(TrainError::NoData("demo_ratio and bc_weight learn from demonstrations: give --demos".into()));
        }
        let obs_dim = env.observation_space().dim();
        let autodiff = device.clone().autodiff();
        let _init = super::device::seed_init(&autodiff, config.seed);
        let (actor, normalizer, anchor) = match init {
            Some(p) => (p.net(&autodiff)?, p.policy.normalizer.clone(), Some(p.net(device)?)),
            None => (policy_config.build(obs_dim, &space, &autodiff), identity(obs_dim), None),
        };
        let critic = TwinQ::new(obs_dim, dims, &config.critic_hidden, policy_config.activation, &autodiff);
        let demos = demo_buffer(demos, &normalizer, &space, config.gamma as f32);
        let temperature = Temperature::new(config.initial_alpha.max(1e-8), &autodiff);
        let learning_starts = if init.is_some() { 0 } else { config.learning_starts };
        Ok(SacTrainer {
            config: SacConfig { learning_starts, ..config.clone() },
            policy_config,
            dims,
            explorer: Explorer::new(env, normalizer, config.buffer_size, config.seed),
            demos,
            anchor,
            target: critic.valid(),
            critic,
            actor,
            temperature,
            actor_optimizer: AdamConfig::new().init(),
            critic_optimizer: AdamConfig::new().init(),
            alpha_optimizer: AdamConfig::new().init(),
            device: autodiff,
            inference: device.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5AC0_5AC0_5AC0_5AC0),
            actor_starts: if init.is_some() { config.actor_warmup } else { learning_starts },
            learned: None,
            imagined: None,
            gradient_steps: 0,
            space,
        })
    }

    /// The current actor as a policy that acts by its mean, tanh(μ).
    pub fn policy(&self) -> MlpPolicy {
        MlpPolicy::new(
            self.actor.valid(),
            self.policy_config.clone(),
            self.explorer.normalizer.clone(),
            self.space.clone(),
            self.inference.clone(),
        )
    }

    fn alpha(&self) -> f32 {
        self.temperature.alpha()
    }

    /// The BC term's weight now: `bc_weight`, decayed by `bc_decay` per 1000 steps.
    fn bc_weight(&self) -> f64 {
        self.config.bc_weight * self.config.bc_decay.powf(self.explorer.env_steps as f64 / 1000.0)
    }

    /// The action to explore with: uniform before learning starts, then a policy sample.
    fn explore(&mut self) -> Vec<f32> {
        if self.explorer.env_steps < self.config.learning_starts {
            return self.explorer.random_action(&mut self.rng);
        }
        match self.actor.valid().decide(&self.explorer.obs, &self.inference, Some(&mut self.rng)) {
            Action::Continuous(a) => a,
            other => unreachable!("a Gaussian head gives {other:?}"),
        }
    }

    /// A minibatch's rows as the environment saw them: (observation, action, next observation).
    pub fn raw(&self, batch: &Batch) -> Vec<(Vec<f32>, Action, Vec<f32>)> {
        let n = &self.explorer.normalizer;
        let d = n.mean.len();
        (0..batch.len())
            .map(|k| {
                let action = Action::Continuous(batch.actions[k * self.dims..(k + 1) * self.dims].to_vec());
                (
                    n.invert(&batch.obs[k * d..(k + 1) * d]),
                    unscale_action(&self.space, action),
                    n.invert(&batch.next_obs[k * d..(k + 1) * d]),
                )
            })
            .collect()
    }

    /// `n` transitions drawn from the replay buffer, as the environment saw them, and whether
    /// each ended its episode inside the task.
    pub fn replayed(&mut self, n: usize) -> (Vec<(Vec<f32>, Action, Vec<f32>)>, Vec<bool>) {
        let batch = self.explorer.buffer.sample(n, &mut self.rng);
        (self.raw(&batch), batch.terminated.iter().map(|&t| t > 0.0).collect())
    }

    /// Environment steps taken so far.
    pub fn env_steps(&self) -> usize {
        self.explorer.env_steps
    }

    /// The real transitions, as stored (normalized observations, scaled actions).
    pub fn replay(&self) -> &ReplayBuffer {
        &self.explorer.buffer
    }

    /// Observations as the networks see them.
    pub fn normalizer(&self) -> &Normalizer {
        &self.explorer.normalizer
    }

    /// The actor's sampled actions (scaled to [−1, 1]) for `n` normalized observations.
    pub fn sample_actions(&mut self, obs: &[f32], n: usize) -> Vec<f32> {
        let x = matrix(obs.to_vec(), n, &self.inference);
        let noise = matrix(normal(&mut self.rng, n * self.dims, 1.0), n, &self.inference);
        let (actions, _) = self.actor.valid().rsample(x, noise).expect("a tanh-Gaussian actor");
        floats(actions.reshape([n * self.dims]))
    }

    /// One gradient step of the critics, then (past the warm-up) the actor and α.
    fn learn(&mut self, log: bool) -> Option<Losses> {
        let size = self.config.batch_size.max(1);
        let mut batch = match &self.imagined {
            Some(model) if !model.buffer.is_empty() => {
                self.explorer.sample(&model.buffer, size, 1.0 - model.real_ratio, &mut self.rng)
            }
            _ => self.explorer.sample(&self.demos, size, self.config.demo_ratio, &mut self.rng),
        };
        if let Some(model) = &self.learned {
            let raw = self.raw(&batch);
            batch.rewards = model
                .score(&raw.iter().map(|(obs, action, next)| Transition { obs, action, next }).collect::<Vec<_>>());
            let gamma = self.config.gamma as f32;
            batch.add_terminal_value(model.absorbing_value(gamma), gamma);
        }
        let b = batch.len();
        let alpha = self.alpha();
        // Critics: regress onto the soft Bellman target, computed without gradients.
        let next = matrix(batch.next_obs.clone(), b, &self.inference);
        let noise = matrix(normal(&mut self.rng, b * self.dims, 1.0), b, &self.inference);
        let (next_action, next_logp) = self.actor.valid().rsample(next.clone(), noise).expect("a tanh-Gaussian actor");
        let min_q_next = floats(self.target.min(next, next_action));
        let y = vector(
            soft_targets(&batch, &min_q_next, &floats(next_logp), alpha, self.config.gamma as f32),
            &self.device,
        );
        let obs = matrix(batch.obs.clone(), b, &self.device);
        let (q1, q2) = self.critic.forward(obs.clone(), matrix(batch.actions.clone(), b, &self.device));
        let critic_loss = ((q1 - y.clone()).square().mean() + (q2 - y).square().mean()) * 0.5;
        let mut losses = log.then(|| Losses { critic: scalar(critic_loss.clone().inner()), ..Losses::NONE });
        let grads = GradientsParams::from_grads(critic_loss.backward(), &self.critic);
        self.critic = self.critic_optimizer.step_flushed(self.config.lr, self.critic.clone(), grads);
        self.target = polyak(self.target.clone(), &self.critic.valid(), self.config.tau);
        self.gradient_steps += 1;
        if self.explorer.env_steps < self.actor_starts {
            return losses;
        }
        // Actor: maximize min Q − α·log π through reparameterized samples.
        let noise = matrix(normal(&mut self.rng, b * self.dims, 1.0), b, &self.device);
        let (action, logp) = self.actor.rsample(obs.clone(), noise).expect("a tanh-Gaussian actor");
        let mut actor_loss = (logp.clone() * alpha as f64 - self.critic.min(obs.clone(), action)).mean();
        let bc_weight = self.bc_weight();
        let bc = (bc_weight > 0.0).then(|| self.bc_loss(&batch));
        if let Some(bc) = &bc {
            actor_loss = actor_loss + bc.clone() * bc_weight;
        }
        let entropy = -floats(logp.clone().mean().inner())[0];
        if let Some(l) = &mut losses {
            (l.actor, l.entropy) = (scalar(actor_loss.clone().inner()), entropy as f64);
            l.bc = bc.map_or(f64::NAN, |bc| scalar(bc.inner()));
        }
        let grads = GradientsParams::from_grads(actor_loss.backward(), &self.actor);
        self.actor = self.actor_optimizer.step_flushed(self.config.lr, self.actor.clone(), grads);
        // Temperature: ∂/∂log α of −log α·(log π + H̄) is the entropy's shortfall.
        if self.config.learn_alpha {
            let target = self.config.target_entropy as f32 * self.dims as f32;
            let loss = self.temperature.loss(entropy, target);
            let grads = GradientsParams::from_grads(loss.backward(), &self.temperature);
            self.temperature = self.alpha_optimizer.step_flushed(self.config.lr, self.temperature.clone(), grads);
        }
        losses
    }

    /// Mean squared distance of the actor's mean action from the demonstrated actions (a demo
    /// minibatch), or from the pretrained policy's mean actions on the batch's states.
    fn bc_loss(&mut self, batch: &Batch) -> Tensor<1> {
        let (obs, target) = match &self.anchor {
            Some(anchor) if self.demos.is_empty() => {
                let x = matrix(batch.obs.clone(), batch.len(), &self.inference);
                let a = anchor.mean_action(x).expect("a Gaussian head");
                (batch.obs.clone(), Tensor::<2>::from_data(a.into_data(), &self.device))
            }
            _ => {
                let demo = self.demos.sample(self.config.batch_size.max(1), &mut self.rng);
                let rows = demo.len();
                (demo.obs, matrix(demo.actions, rows, &self.device))
            }
        };
        let rows = target.dims()[0];
        let mean = self.actor.mean_action(matrix(obs, rows, &self.device)).expect("a Gaussian head");
        (mean - target).square().sum_dim(1).mean().reshape([1])
    }

    /// One unit: `log_every` environment steps, each followed by `gradient_steps` gradient
    /// steps once learning has started.
    pub fn update(&mut self) -> Result<Option<Metrics>, TrainError> {
        self.update_with(&mut |_| Ok(()))
    }

    /// A unit with `after_step` run between each environment step and its gradient steps
    /// (MBPO refits its model and imagines there).
    pub fn update_with(
        &mut self,
        after_step: &mut dyn FnMut(&mut SacTrainer) -> Result<(), TrainError>,
    ) -> Result<Option<Metrics>, TrainError> {
        let steps = self.config.log_every.max(1);
        if self.explorer.env_steps + steps > self.config.total_steps {
            return Ok(None);
        }
        let mut finished = Vec::new();
        let mut losses = None;
        for k in 0..steps {
            let action = self.explore();
            finished.extend(self.explorer.step(action)?);
            after_step(self)?;
            if self.explorer.env_steps >= self.config.learning_starts.max(1) {
                for g in 0..self.config.gradient_steps {
                    let log = k + 1 == steps && g + 1 == self.config.gradient_steps;
                    losses = self.learn(log).or(losses);
                }
            }
        }
        let l = losses.unwrap_or(Losses::NONE);
        if (l.critic.is_nan() && self.gradient_steps > 0) || l.critic.is_infinite() {
            return Err(TrainError::diverged(l.critic, "environment step", self.explorer.env_steps));
        }
        let values = vec![
            ("gradient_step", self.gradient_steps as f64),
            ("train/critic_loss", l.critic),
            ("train/actor_loss", l.actor),
            ("train/entropy", l.entropy),
            ("train/alpha", self.alpha() as f64),
            ("train/bc_loss", l.bc),
            ("rollout/return_mean", mean_or_nan(&finished)),
        ];
        Ok(Some(Metrics { step: self.explorer.env_steps, values }))
    }
}

impl_algorithm!(SacTrainer, LIVE, |t| t.explorer.env_steps, artifacts: |t| vec![crate::artifact::critic("twin_q", t.critic.valid(), &t.config)]);

/// SAC in the registry.
pub const ENTRY: Entry = Entry {
    name: "sac",
    summary: "Soft actor-critic: twin Q, tanh-Gaussian actor, automatic entropy temperature",
    preset_of: None,
    needs: Needs {
        demos: false,
        expert: false,
        reward: true,
        actions: Actions::Continuous,
        init: true,
        resume: false,
        learned_reward: true,
    },
    live: &LIVE,
    step: Unit::EnvSteps,
    plots: &[
        Plot::steps("Critic", Unit::EnvSteps, &["train/critic_loss"]),
        Plot::steps("Actor", Unit::EnvSteps, &["train/actor_loss", "train/bc_loss"]),
        Plot::steps("Entropy temperature", Unit::EnvSteps, &["train/alpha"]),
    ],
    config: ConfigType::of::<SacConfig>(defaults_of::<SacConfig>),
    budget: |t| Ok(Budget::steps(typed::<SacConfig>(t)?.total_steps)),
    build: |t, cx| {
        let mut trainer = SacTrainer::new(cx.env, &typed(t)?, &cx.demos, cx.init, cx.device)?;
        trainer.learned = cx.reward;
        Ok(Box::new(trainer))
    },
};

/// SACfD: SAC with demonstrations in every replay batch.
pub const SACFD: Entry = Entry {
    name: "sacfd",
    summary: "SACfD: SAC with demonstrations mixed into every replay batch",
    preset_of: Some("sac"),
    needs: Needs { demos: true, ..ENTRY.needs },
    config: ConfigType::of::<SacConfig>(|| table(&SacConfig::sacfd())),
    ..ENTRY
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_target_subtracts_the_entropy_term_and_stops_at_terminal_states() {
        let batch = Batch::of_rewards(vec![1.0, 1.0], vec![0.0, 1.0], vec![1.0, 1.0]);
        // 1 + 0.9·(4 − 0.5·(−2)) = 5.5; terminated: the reward alone.
        assert_eq!(soft_targets(&batch, &[4.0, 4.0], &[-2.0, -2.0], 0.5, 0.9), [5.5, 1.0]);
    }

    #[test]
    fn a_tanh_gaussian_sample_has_the_change_of_variables_density() {
        let device = Device::flex();
        let space = Space::Box { low: vec![-1.0], high: vec![1.0] };
        let net = SacConfig::default().policy.build(3, &space, &device);
        let x = Tensor::<2>::from_floats([[0.3, -0.2, 0.5]], &device);
        let (a, logp) = net.rsample(x.clone(), Tensor::<2>::from_floats([[0.7]], &device)).unwrap();
        let a = floats(a.reshape([1]))[0];
        // The same density through the head's own likelihood of the squashed action.
        let nll = net.nll(x, &super::super::policy::Target::Continuous(Tensor::<2>::from_floats([[a]], &device)));
        let (logp, expected) = (floats(logp)[0], -floats(nll)[0]);
        assert!((logp - expected).abs() < 1e-3, "{logp} vs {expected}");
    }
}
