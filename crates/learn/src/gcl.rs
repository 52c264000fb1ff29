//! Guided cost learning (Finn, Levine & Abbeel 2016), sampling-based MaxEnt IRL from Levine &
//! Finn's part 4: a reward network r = −c(s, a) is fitted to make the demonstrations likely
//! under p(τ) ∝ exp r(τ), the partition function Z estimated from the generator's own samples
//! by importance weights exp r / π(a|s) (the demonstrations are among the samples, the
//! "fused" estimate that keeps Ẑ from collapsing), while the generator (PPO, or SAC with
//! `--set generator=sac`) keeps improving against the current reward: the policy is the
//! sampler that guides the cost. Per-transition rather than per-trajectory weights, as in the
//! GAN reading of the method.
//!
//! The loop is GAIL's (`gail.rs`, with `form = gcl`); the loss is `gail::maxent_irl_loss`; the
//! run's `reward` artifact (format `reward`) is r itself.

use super::gail::{ENTRY as GAIL, Form, GailConfig};
use super::registry::{ConfigType, Entry, table};

/// GCL's defaults: GAIL's loop with the MaxEnt IRL loss.
pub fn defaults() -> GailConfig {
    GailConfig { form: Form::Gcl, ..GailConfig::default() }
}

/// GCL in the registry.
pub const ENTRY: Entry = Entry {
    name: "gcl",
    summary: "Guided cost learning: MaxEnt IRL with an importance-sampled partition function",
    preset_of: Some("gail"),
    config: ConfigType::of::<GailConfig>(|| table(&defaults())),
    ..GAIL
};
