//! The reinforcement-learning algorithms a run can name, each name's configuration and its
//! trainer. The hybrids of imitation and RL are their base algorithm with a demonstration
//! term switched on: SACfD is SAC with demonstrations in its replay batches, DQfD is DQN with
//! demonstrations, a large-margin loss and n-step returns, DAPG is PPO with a decaying
//! behaviour-cloning term.

use super::awr::{AwrConfig, AwrTrainer};
use super::bc::TrainError;
use super::describe::{self, Field};
use super::dqn::{DqnConfig, DqnTrainer};
use super::policy::MlpPolicy;
use super::ppo::{PpoConfig, PpoTrainer};
use super::reinforce::{ReinforceConfig, ReinforceTrainer};
use super::sac::{SacConfig, SacTrainer};
use super::td3::{Td3Config, Td3Trainer};
use super::trainer::Algorithm;
use crate::data::Episode;
use crate::sim::{ScenarioEnv, Space};
use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// The configuration of a reinforcement-learning run, one variant per trainer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RlConfig {
    Reinforce(ReinforceConfig),
    Ppo(PpoConfig),
    Dqn(DqnConfig),
    Sac(SacConfig),
    Td3(Td3Config),
    Awr(AwrConfig),
}

/// Runs `$body` with `$c` bound to the variant's config, whichever it is.
macro_rules! each {
    ($config:expr, $c:ident => $body:expr) => {
        match $config {
            RlConfig::Reinforce($c) => $body,
            RlConfig::Ppo($c) => $body,
            RlConfig::Dqn($c) => $body,
            RlConfig::Sac($c) => $body,
            RlConfig::Td3($c) => $body,
            RlConfig::Awr($c) => $body,
        }
    };
}

/// The action spaces an algorithm handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actions {
    Any,
    Discrete,
    Continuous,
}

/// A trainable algorithm name: what it does, whether it needs demonstrations, which actions.
pub struct AlgorithmInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub needs_demos: bool,
    pub actions: Actions,
}

impl AlgorithmInfo {
    /// Whether the algorithm can act in `space`.
    pub fn fits(&self, space: &Space) -> bool {
        match self.actions {
            Actions::Any => true,
            Actions::Discrete => matches!(space, Space::Discrete { .. }),
            Actions::Continuous => matches!(space, Space::Box { .. }),
        }
    }
}

const fn info(name: &'static str, summary: &'static str, needs_demos: bool, actions: Actions) -> AlgorithmInfo {
    AlgorithmInfo { name, summary, needs_demos, actions }
}

/// Every reinforcement-learning and hybrid algorithm, in the order the app lists them.
pub const ALGORITHMS: [AlgorithmInfo; 9] = [
    info("reinforce", "REINFORCE: policy gradient on reward-to-go with a learned baseline", false, Actions::Any),
    info("ppo", "Proximal policy optimization: clipped policy gradient on vectorized rollouts", false, Actions::Any),
    info("dqn", "Deep Q-learning: double Q, replay buffer, target network", false, Actions::Discrete),
    info("sac", "Soft actor-critic: twin Q, tanh-Gaussian actor, automatic entropy temperature", false, Actions::Continuous),
    info("td3", "TD3: twin Q, delayed deterministic actor, target smoothing", false, Actions::Continuous),
    info("dapg", "PPO plus a decaying behaviour-cloning term on the demonstrations (DAPG)", true, Actions::Any),
    info("sacfd", "SAC with demonstrations mixed into every replay batch (SACfD)", true, Actions::Continuous),
    info("dqfd", "DQN with demonstrations, a large-margin loss and n-step returns (DQfD)", true, Actions::Discrete),
    info("awr", "Advantage-weighted regression on the demonstrations' rewards (offline)", true, Actions::Any),
];

/// The entry of `name` in `ALGORITHMS`.
pub fn algorithm_info(name: &str) -> Option<&'static AlgorithmInfo> {
    ALGORITHMS.iter().find(|a| a.name == name)
}

impl RlConfig {
    /// The default configuration of an algorithm name (`None` for BC and DAgger).
    pub fn for_algorithm(name: &str) -> Option<RlConfig> {
        Some(match name {
            "reinforce" => RlConfig::Reinforce(ReinforceConfig::default()),
            "ppo" => RlConfig::Ppo(PpoConfig::default()),
            "dapg" => RlConfig::Ppo(PpoConfig::dapg()),
            "dqn" => RlConfig::Dqn(DqnConfig::default()),
            "dqfd" => RlConfig::Dqn(DqnConfig::dqfd()),
            "sac" => RlConfig::Sac(SacConfig::default()),
            "sacfd" => RlConfig::Sac(SacConfig::sacfd()),
            "td3" => RlConfig::Td3(Td3Config::default()),
            "awr" => RlConfig::Awr(AwrConfig::default()),
            _ => return None,
        })
    }

    /// Applies the `key=value` overrides that are fields of the config; returns the others.
    pub fn apply(&mut self, sets: &[String]) -> Result<Vec<String>, String> {
        each!(self, c => super::run::apply(c, sets))
    }

    pub fn field_names(&self) -> Vec<String> {
        each!(self, c => super::field_names(c))
    }

    /// The config's fields, for the app's generated form.
    pub fn fields(&self) -> Vec<Field> {
        each!(self, c => describe::fields(c))
    }

    /// The hyperparameters that can change while the algorithm trains.
    pub fn live(&self) -> &'static [&'static str] {
        match self {
            RlConfig::Reinforce(_) => &super::reinforce::LIVE,
            RlConfig::Ppo(_) => &super::ppo::LIVE,
            RlConfig::Dqn(_) => &super::dqn::LIVE,
            RlConfig::Sac(_) => &super::sac::LIVE,
            RlConfig::Td3(_) => &super::td3::LIVE,
            RlConfig::Awr(_) => &super::awr::LIVE,
        }
    }

    /// The budget the run's progress is measured against (environment steps; AWR: iterations).
    pub fn total_steps(&self) -> usize {
        match self {
            RlConfig::Reinforce(c) => c.total_steps,
            RlConfig::Ppo(c) => c.total_steps,
            RlConfig::Dqn(c) => c.total_steps,
            RlConfig::Sac(c) => c.total_steps,
            RlConfig::Td3(c) => c.total_steps,
            RlConfig::Awr(c) => c.iterations,
        }
    }

    /// The trainer, on `demos` (for the hybrids) and starting from `init` (a pretrained policy
    /// and the run directory it was loaded from), where the algorithm takes them.
    pub fn trainer(
        &self,
        env: &ScenarioEnv,
        demos: &[Episode],
        init: Option<&Pretrained>,
        device: &Device,
    ) -> Result<Box<dyn Algorithm>, TrainError> {
        let no_init = |name: &str| match init {
            Some(_) => Err(TrainError::Config(format!("{name} does not start from a pretrained policy (--init)"))),
            None => Ok(()),
        };
        Ok(match self {
            RlConfig::Reinforce(c) => {
                no_init("REINFORCE")?;
                Box::new(ReinforceTrainer::new(env, c, device)?)
            }
            RlConfig::Ppo(c) => Box::new(PpoTrainer::with_demos(env, c, demos, init, device)?),
            RlConfig::Dqn(c) => {
                no_init("DQN")?;
                Box::new(DqnTrainer::with_demos(env, c, demos, device)?)
            }
            RlConfig::Sac(c) => Box::new(SacTrainer::new(env, c, demos, init, device)?),
            RlConfig::Td3(c) => {
                no_init("TD3")?;
                Box::new(Td3Trainer::new(env, c, device)?)
            }
            RlConfig::Awr(c) => {
                no_init("AWR")?;
                Box::new(AwrTrainer::new(env, demos, c, device)?)
            }
        })
    }
}

/// A pretrained policy an RL run starts from (`--init RUN`), and where it was saved.
#[derive(Debug, Clone)]
pub struct Pretrained {
    pub dir: std::path::PathBuf,
    pub policy: MlpPolicy,
}

impl Pretrained {
    /// The pretrained network rebuilt on `device` (an autodiff device, to train it further).
    pub fn net(&self, device: &Device) -> Result<super::policy::PolicyNet, TrainError> {
        let p = &self.policy;
        let net = p.config.build(p.normalizer.mean.len(), &p.space, device);
        super::run::load_weights(&self.dir, net).map_err(|e| TrainError::Config(e.to_string()))
    }
}
