//! What the reinforcement-learning algorithms share beyond their files: the pretrained
//! policy a run can start from (`--init RUN`: BC pretraining, then RL finetuning). The
//! hybrids of imitation and RL are presets of their base algorithm in the registry: SACfD
//! is SAC with demonstrations in its replay batches, DQfD is DQN with demonstrations, a
//! large-margin loss and n-step returns, DAPG is PPO with a decaying behaviour-cloning term.

use super::error::TrainError;
use super::policy::MlpPolicy;
use burn::prelude::Device;

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
        let _init = crate::device::hold_init(); // random weights, replaced by the saved ones
        let net = p.config.build(p.normalizer.mean.len(), &p.space, device);
        Ok(super::run::load_weights(&self.dir, net)?)
    }
}
