//! Adversarial inverse RL (Fu, Luo & Levine 2018), the MaxEnt IRL reading of GAIL in Levine &
//! Finn's part 4: the discriminator is D = exp f / (exp f + π(a|s)) with
//! f(s, s′) = g(s) + γ·h(s′) − h(s), so its logit is f − log π(a|s). At the optimum g recovers
//! the expert's reward up to a constant and h absorbs the shaping, which is why g (saved as
//! the run's `reward`, format `state_reward`) can be reused: `train sac --reward RUN` on the
//! same task, or on one with other dynamics, with no new demonstrations.
//!
//! The loop is GAIL's (`gail.rs`, with `form = airl`): the generator maximizes the logit
//! (reverse KL, mode seeking) with PPO, or with SAC (`--set generator=sac`, continuous
//! actions), whose minibatches are relabelled with g.

use super::gail::{ENTRY as GAIL, Form, GailConfig};
use super::registry::{ConfigType, Entry, table};
use super::reward::Divergence;

/// AIRL's defaults: GAIL's loop with the structured discriminator and reverse KL.
pub fn defaults() -> GailConfig {
    GailConfig { form: Form::Airl, divergence: Divergence::ReverseKl, ..GailConfig::default() }
}

/// AIRL in the registry.
pub const ENTRY: Entry = Entry {
    name: "airl",
    summary: "AIRL: a disentangled reward g(s) plus shaping h(s), learned adversarially; g transfers",
    preset_of: Some("gail"),
    config: ConfigType::of::<GailConfig>(|| table(&defaults())),
    ..GAIL
};
