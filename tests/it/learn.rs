//! Learning: behaviour cloning reaches the expert, runs reload exactly, and misuse is
//! reported clearly.

use apprentice::data::Episode;
use apprentice::data::ops::{Generator, record_episode};
use apprentice::learn::artifact::PolicyArtifact;
use apprentice::learn::bc::{self, BcConfig};
use apprentice::learn::eval::{EvalReport, evaluate};
use apprentice::learn::run::{self, RunConfig, RunError};
use apprentice::sim::{Env, Policy, ScenarioEnv};

/// The reacher with world-frame observations (Gymnasium's), which plain cloning handles badly.
const WORLD_REACHER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/reacher_world.ron");

/// The policy against the expert and random play on `episodes` unseen seeds (10,000 on).
pub fn report(env: &ScenarioEnv, policy: &dyn PolicyArtifact, episodes: usize) -> EvalReport {
    evaluate(env, &|| policy.boxed() as Box<dyn Policy>, episodes, 10_000, &|| {}).unwrap()
}

fn demos(env: &mut ScenarioEnv, count: u64) -> Vec<Episode> {
    let expert = env.scenario().expert.clone().unwrap();
    (0..count).map(|seed| record_episode(env, &expert, Generator::Scripted, seed, 0.0).unwrap()).collect()
}

#[test]
fn behaviour_cloning_on_20_demos_reaches_the_expert_on_unseen_seeds() {
    for name in ["cartpole", "pendulum", "reacher"] {
        let mut env = ScenarioEnv::load(name).unwrap();
        let episodes = demos(&mut env, 20);
        let (policy, log) = bc::train(&env, &episodes, &BcConfig::default(), &mut |_| {}).unwrap();
        assert!(log.last().unwrap().val_loss < log[0].val_loss, "{name}: validation loss falls");
        let report = report(&env, &policy, 50);
        assert!(report.expert_fraction >= 0.95, "{name}: {report:?}");
    }
}

#[test]
fn a_saved_run_reloads_and_acts_identically() {
    let mut env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let episodes = demos(&mut env, 4);
    let config = BcConfig { epochs: 3, ..BcConfig::default() };
    let (mut policy, log) = bc::train(&env, &episodes, &config, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run_config = RunConfig::new("bc", "cartpole_continuous", "d".into()).unwrap().with(&config);
    run::save(dir.path(), &run_config, &env, &policy).unwrap();
    assert_eq!(run::load_config(dir.path()).unwrap(), run_config);
    let mut reloaded = run::load_mlp(dir.path(), &env).unwrap();
    for seed in 0..5 {
        let obs = env.reset(seed);
        assert_eq!(policy.act(&obs), reloaded.act(&obs));
    }
    assert_eq!(log.len(), 3);

    let other = ScenarioEnv::load("lunar_lander").unwrap();
    let error = run::load_policy(dir.path(), &other).unwrap_err();
    assert!(matches!(error, RunError::Mismatch { .. }), "{error}");
    assert!(error.to_string().contains("cartpole_continuous") && error.to_string().contains("lunar_lander"), "{error}");
}

#[test]
fn hyperparameter_overrides_are_checked() {
    let base = BcConfig::default();
    let c = base
        .with_overrides(&["lr=0.01".into(), "policy.hidden=[8, 8]".into(), "use_expert_labels=false".into()])
        .unwrap();
    assert_eq!((c.lr, c.policy.hidden.clone(), c.use_expert_labels), (0.01, vec![8, 8], false));
    assert!(base.with_overrides(&["policy.nonsense=1".into()]).unwrap_err().to_string().contains("policy.head"));
    let unknown = base.with_overrides(&["learning_rate=0.1".into()]).unwrap_err().to_string();
    assert!(unknown.contains("learning_rate") && unknown.contains("known: "), "{unknown}");
    assert!(base.with_overrides(&["epochs=many".into()]).is_err());
}

#[test]
fn an_empty_dataset_is_refused() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let error = bc::train(&env, &[], &BcConfig::default(), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("no steps"), "{error}");
}

#[test]
fn hindsight_relabeling_helps_a_goal_conditioned_clone() {
    let mut env = ScenarioEnv::load(WORLD_REACHER).unwrap();
    let episodes = demos(&mut env, 20);
    let score = |hindsight: usize| {
        let config = BcConfig { hindsight, ..BcConfig::default() };
        let (policy, _) = bc::train(&env, &episodes, &config, &mut |_| {}).unwrap();
        report(&env, &policy, 30).expert_fraction
    };
    let (plain, relabeled) = (score(0), score(16));
    assert!(relabeled > plain + 0.2, "hindsight {relabeled:.3} vs plain {plain:.3}");
}

#[test]
fn relabeling_moves_the_goal_and_keeps_the_arm() {
    use apprentice::learn::hindsight::GoalLayout;
    use rand::SeedableRng;
    let mut env = ScenarioEnv::load(WORLD_REACHER).unwrap();
    let episode = demos(&mut env, 1).remove(0);
    let layout = GoalLayout::of(env.scenario()).expect("reacher observes its goal");
    let rows = layout.relabeled(&episode, 2, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    assert_eq!(rows.len(), 2 * episode.len());
    for (obs, t) in rows {
        let original = &episode.steps[t].obs;
        assert_eq!(obs[..6], original[..6], "joint angles and rates are untouched");
        // Goal (6..8) minus to-goal (8..10) is the fingertip, which must not move.
        let tip = |o: &[f32]| [o[6] - o[8], o[7] - o[9]];
        let (a, b) = (tip(&obs), tip(original));
        assert!((a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4);
    }
    assert!(GoalLayout::of(ScenarioEnv::load("cartpole").unwrap().scenario()).is_none());
}

#[test]
fn dagger_recovers_what_behaviour_cloning_misses() {
    use apprentice::learn::dagger::{self, DaggerConfig};
    let mut env = ScenarioEnv::load(WORLD_REACHER).unwrap();
    let episodes = demos(&mut env, 20);
    let (bc_policy, _) = bc::train(&env, &episodes, &BcConfig::default(), &mut |_| {}).unwrap();
    let config = DaggerConfig { rounds: 4, episodes_per_round: 20, ..DaggerConfig::default() };
    let (policy, data, log) = dagger::train(&env, episodes, &BcConfig::default(), &config, &mut |_| {}).unwrap();
    assert_eq!(data.len(), 20 + 4 * 20, "every round's episodes are aggregated");
    assert_eq!(log.len(), 5);
    assert!(
        data[20..].iter().flat_map(|e| &e.steps).all(|s| s.expert_label.is_some()),
        "the expert labels every visited state"
    );
    let (before, after) = (report(&env, &bc_policy, 30).expert_fraction, report(&env, &policy, 30).expert_fraction);
    eprintln!("reacher_world expert_fraction: behaviour cloning {before:.3}, DAgger {after:.3}");
    assert!(after >= 0.85 && after > before + 0.3, "DAgger {after:.3} vs BC {before:.3}");
}

#[test]
fn a_mixture_head_picks_a_side_where_a_gaussian_averages_the_bimodal_demos() {
    use apprentice::learn::policy::Head;
    // Half the detour demos swerve left of the cup, half right, from the same states.
    let mut env = ScenarioEnv::load("detour").unwrap();
    let episodes = demos(&mut env, 200);
    let success = |head: Head| {
        let mut config = BcConfig::default();
        config.policy.head = head;
        let (policy, _) = bc::train(&env, &episodes, &config, &mut |_| {}).unwrap();
        report(&env, &policy, 50).success_rate
    };
    let (gaussian, mixture) = (success(Head::Gaussian), success(Head::Mixture));
    eprintln!("detour success: gaussian {gaussian:.2}, mixture {mixture:.2}");
    assert!(mixture >= 0.9 && mixture >= gaussian + 0.25, "mixture {mixture:.2} vs gaussian {gaussian:.2}");
}

#[test]
fn on_car_track_dagger_completes_laps_where_cloning_the_same_number_of_labels_crashes() {
    use apprentice::learn::dagger::{self, DaggerConfig};
    let mut env = ScenarioEnv::load("car_track").unwrap();
    let bc_demos = demos(&mut env, 3);
    let first_demo = demos(&mut env, 1);
    let (bc_policy, _) = bc::train(&env, &bc_demos, &BcConfig::default(), &mut |_| {}).unwrap();
    let config = DaggerConfig { rounds: 2, episodes_per_round: 1, ..DaggerConfig::default() };
    let (policy, data, _) = dagger::train(&env, first_demo, &BcConfig::default(), &config, &mut |_| {}).unwrap();
    let labels = |episodes: &[Episode]| episodes.iter().map(Episode::len).sum::<usize>();
    let (bc_labels, dagger_labels) = (labels(&bc_demos), labels(&data));
    assert!(dagger_labels * 100 <= bc_labels * 102, "DAgger used {dagger_labels} labels, BC {bc_labels}");
    let (cloned, aggregated) = (report(&env, &bc_policy, 30).success_rate, report(&env, &policy, 30).success_rate);
    eprintln!(
        "car_track laps completed: BC {cloned:.2} ({bc_labels} labels), DAgger {aggregated:.2} ({dagger_labels})"
    );
    assert!(aggregated >= 0.8 && aggregated >= cloned + 0.5, "DAgger {aggregated:.2} vs BC {cloned:.2}");
}

/// Diagnosing a policy cloned from 20 expert episodes and 3 random ones: the random episodes'
/// loss stands out and they alone are flagged, each with the step where it departs most.
#[test]
fn diagnostics_flag_the_random_episodes_among_expert_demonstrations() {
    use apprentice::learn::diagnose::diagnose;
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let expert = env.scenario().expert.clone().unwrap();
    let mut episodes: Vec<(String, Episode)> =
        demos(&mut env, 20).into_iter().enumerate().map(|(k, e)| (format!("expert-{k}"), e)).collect();
    for seed in 0..3 {
        let random = record_episode(&mut env, &expert, Generator::Random, 500 + seed, 0.0).unwrap();
        episodes.push((format!("random-{seed}"), random));
    }
    let all: Vec<Episode> = episodes.iter().map(|(_, e)| e.clone()).collect();
    let config = BcConfig { epochs: 30, use_expert_labels: false, ..BcConfig::default() };
    let (policy, _) = bc::train(&env, &all, &config, &mut |_| {}).unwrap();
    let diagnoses = diagnose(&policy, &episodes);
    let flagged: Vec<&str> = diagnoses.iter().filter(|d| d.outlier).map(|d| d.id.as_str()).collect();
    assert_eq!(flagged, ["random-0", "random-1", "random-2"], "{diagnoses:#?}");
    for d in &diagnoses {
        let len = episodes.iter().find(|(id, _)| *id == d.id).unwrap().1.len();
        assert!(d.worst_step < len && d.worst_loss >= d.loss, "{d:?}");
    }
}
