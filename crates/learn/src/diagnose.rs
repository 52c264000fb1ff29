//! Which demonstrations disagree with a policy: its imitation loss on each episode, the step
//! where it departs most from what was demonstrated, and the episodes whose loss is an
//! outlier among the rest (often failed attempts or a different way of doing the task).

use super::artifact::{Distribution, PolicyArtifact};
use data::Episode;
use sim::Action;

/// A policy's agreement with one demonstration.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub id: String,
    /// Mean per-step loss: −log p(demonstrated choice) for a categorical policy, else the mean
    /// squared difference of the actions (continuous) or the share of differing choices.
    pub loss: f32,
    /// The step with the largest loss, and that loss.
    pub worst_step: usize,
    pub worst_loss: f32,
    /// Far above the typical episode's loss (see [`flag_outliers`]).
    pub outlier: bool,
}

/// The loss of the policy's action at `obs` against the demonstrated `action`.
fn step_loss(policy: &mut dyn PolicyArtifact, obs: &[f32], action: &Action) -> f32 {
    let mine = policy.act_obs(obs);
    match (action, &mine) {
        (Action::Discrete(a), _) => match policy.distribution(obs) {
            Some(Distribution::Choices(p)) => -p.get(*a).copied().unwrap_or(0.0).max(1e-6).ln(),
            _ => f32::from(mine != *action),
        },
        (Action::Continuous(a), Action::Continuous(m)) => {
            a.iter().zip(m).map(|(a, m)| (a - m).powi(2)).sum::<f32>() / a.len().max(1) as f32
        }
        (Action::MultiDiscrete(a), Action::MultiDiscrete(m)) => {
            a.iter().zip(m).filter(|(a, m)| a != m).count() as f32 / a.len().max(1) as f32
        }
        _ => 1.0,
    }
}

/// The policy's loss on every step of `episode`, in order (it acts on the demonstrated
/// observations, so a policy with memory sees the episode's history).
pub fn step_losses(policy: &dyn PolicyArtifact, episode: &Episode) -> Vec<f32> {
    let mut policy = policy.boxed();
    policy.set_sampling(false);
    policy.reset(episode.meta.seed);
    episode.steps.iter().map(|s| step_loss(policy.as_mut(), &s.obs, &s.action)).collect()
}

/// Diagnoses each `(id, episode)` and flags the outliers.
pub fn diagnose(policy: &dyn PolicyArtifact, episodes: &[(String, Episode)]) -> Vec<Diagnosis> {
    let mut diagnoses: Vec<Diagnosis> = episodes
        .iter()
        .map(|(id, episode)| {
            let losses = step_losses(policy, episode);
            let (worst_step, worst_loss) =
                losses.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 0.0));
            let loss = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
            Diagnosis { id: id.clone(), loss, worst_step, worst_loss, outlier: false }
        })
        .collect();
    let flags = flag_outliers(&diagnoses.iter().map(|d| d.loss).collect::<Vec<_>>());
    diagnoses.iter_mut().zip(flags).for_each(|(d, flag)| d.outlier = flag);
    diagnoses
}

fn median(sorted: &[f32]) -> f32 {
    let n = sorted.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Which losses are outliers: above the median by more than three robust standard deviations
/// (1.4826 × the median absolute deviation, floored at 0.1 so a set of near-identical
/// episodes flags nothing), on the log of the loss. Losses are positive and spread by factors
/// (one expert episode may fit 3× worse than another), so on a log scale a badly fitting
/// episode, often tens of times worse, stands apart from that spread. Fewer than three
/// episodes have no outliers.
pub fn flag_outliers(losses: &[f32]) -> Vec<bool> {
    if losses.len() < 3 {
        return vec![false; losses.len()];
    }
    let logs: Vec<f32> = losses.iter().map(|l| l.max(1e-12).ln()).collect();
    let mut sorted = logs.clone();
    sorted.sort_by(f32::total_cmp);
    let center = median(&sorted);
    let mut deviations: Vec<f32> = logs.iter().map(|l| (l - center).abs()).collect();
    deviations.sort_by(f32::total_cmp);
    let spread = (1.4826 * median(&deviations)).max(0.1);
    logs.iter().map(|l| *l > center + 3.0 * spread).collect()
}

#[cfg(test)]
mod tests {
    use super::flag_outliers;

    #[test]
    fn the_one_episode_far_above_the_rest_is_flagged() {
        // log losses: median −2.165, MAD 0.13 → spread 0.193, threshold −1.586 (a loss of 0.205).
        let flags = flag_outliers(&[0.10, 0.11, 0.12, 0.10, 0.13, 0.90]);
        assert_eq!(flags, [false, false, false, false, false, true]);
    }

    #[test]
    fn near_identical_losses_flag_nothing() {
        assert!(flag_outliers(&[0.5, 0.5, 0.5, 0.5001]).iter().all(|f| !f));
        assert!(flag_outliers(&[3.0, 0.1]).iter().all(|f| !f));
    }
}
