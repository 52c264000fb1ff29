//! Learning on Burn: MLP policies, behaviour cloning, evaluation against the expert, and
//! run directories (config, metrics, weights) that reproduce and reload a training run.

pub mod bc;
pub mod eval;
pub mod hindsight;
pub mod policy;
pub mod run;
