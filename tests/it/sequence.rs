//! Sequence policies for non-Markovian demonstrators: a causal transformer over the
//! observation history and a GRU trained by truncated backpropagation through time recall a
//! cue that the current frame no longer shows (where a single-frame policy cannot), and saved
//! runs of both reload as the same policy.

use crate::generative::synthetic_episode;
use apprentice::data::Episode;
use apprentice::learn::bc::{self, BcConfig};
use apprentice::learn::policy::{MlpPolicy, Network};
use apprentice::learn::run::{self, RunConfig};
use apprentice::sim::{Action, ScenarioEnv};

const STEPS: usize = 6;

/// The observation at step `t` of an episode whose cue is `cue`: the cue shows at step 0 only.
fn obs(cue: f32, t: usize) -> Vec<f32> {
    vec![if t == 0 { cue } else { 0.0 }, t as f32 / STEPS as f32, 0.0, 0.0]
}

/// Episodes on `cartpole_continuous`'s spaces where the demonstrator pushes the way a cue
/// shown at the first step said, for the whole episode: only memory of step 0 tells later
/// steps which way.
fn cue_episodes(env: &ScenarioEnv, count: u64) -> Vec<Episode> {
    (0..count)
        .map(|k| {
            let cue = if k % 2 == 0 { 1.0 } else { -1.0 };
            let steps = (0..STEPS).map(|t| (obs(cue, t), Action::Continuous(vec![0.8 * cue]))).collect();
            synthetic_episode(env, k, steps, obs(cue, STEPS))
        })
        .collect()
}

fn gru_config() -> BcConfig {
    let mut config = BcConfig { epochs: 40, patience: 0, lr: 3e-3, ..BcConfig::default() };
    config.policy.kind = Network::Gru;
    config.policy.width = 32;
    config.policy.bptt = 8;
    config.policy.hidden = vec![64];
    config
}

fn transformer_config() -> BcConfig {
    let mut config = BcConfig { epochs: 40, patience: 0, lr: 3e-3, ..BcConfig::default() };
    config.policy.kind = Network::Transformer;
    config.policy.history = STEPS;
    config.policy.width = 32;
    config.policy.heads = 2;
    config.policy.layers = 1;
    config.policy.hidden = vec![64];
    config
}

/// The policy's action at the last step of an episode with `cue`, acting from its start.
fn last_action(policy: &mut MlpPolicy, cue: f32) -> f32 {
    policy.reset(0);
    let actions: Vec<Action> = (0..STEPS).map(|t| policy.act(&obs(cue, t))).collect();
    match actions.last() {
        Some(Action::Continuous(a)) => a[0],
        other => panic!("a continuous action, not {other:?}"),
    }
}

#[test]
fn sequence_policies_recall_a_cue_the_current_frame_no_longer_shows() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let episodes = cue_episodes(&env, 64);
    let (mut transformer, _) = bc::train(&env, &episodes, &transformer_config(), &mut |_| {}).unwrap();
    let (mut gru, _) = bc::train(&env, &episodes, &gru_config(), &mut |_| {}).unwrap();
    let (mut single_frame, _) =
        bc::train(&env, &episodes, &BcConfig { epochs: 40, patience: 0, ..BcConfig::default() }, &mut |_| {}).unwrap();
    for cue in [1.0, -1.0] {
        let recalled = last_action(&mut transformer, cue);
        assert!((recalled - 0.8 * cue).abs() < 0.2, "cue {cue}: the transformer pushes {recalled}");
        let recalled = last_action(&mut gru, cue);
        assert!((recalled - 0.8 * cue).abs() < 0.2, "cue {cue}: the GRU pushes {recalled}");
        // Without memory the last frame is the same for both cues: the best guess is their mean.
        let guessed = last_action(&mut single_frame, cue);
        assert!(guessed.abs() < 0.3, "cue {cue}: the single-frame policy pushes {guessed}");
    }
}

#[test]
fn saved_sequence_runs_reload_and_act_identically() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let episodes = cue_episodes(&env, 8);
    // A GRU whose episodes span three truncated-BPTT segments.
    let mut gru = gru_config();
    gru.policy.bptt = 2;
    for config in [transformer_config(), gru] {
        let config = BcConfig { epochs: 2, ..config };
        let (mut policy, _) = bc::train(&env, &episodes, &config, &mut |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run_config = RunConfig::new("bc", "cartpole_continuous", "d".into()).unwrap().with(&config);
        run::save(dir.path(), &run_config, &env, &policy).unwrap();
        let mut reloaded = run::load_mlp(dir.path(), &env).unwrap();
        assert_eq!(reloaded.config.kind, config.policy.kind);
        for cue in [1.0, -1.0, 0.5] {
            assert_eq!(last_action(&mut policy, cue), last_action(&mut reloaded, cue));
        }
    }
}

#[test]
fn a_gru_with_a_stacked_history_is_refused() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let mut config = gru_config();
    config.policy.history = 4;
    let error = bc::train(&env, &cue_episodes(&env, 4), &config, &mut |_| {}).err().expect("refused");
    assert!(error.to_string().contains("policy.history = 1"), "{error}");
}

#[test]
fn a_transformer_whose_heads_do_not_split_its_width_is_refused() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let mut config = transformer_config();
    config.policy.heads = 3;
    let error = bc::train(&env, &cue_episodes(&env, 4), &config, &mut |_| {}).err().expect("refused");
    assert!(error.to_string().contains("policy.heads"), "{error}");
}

/// Exported GRU and transformer policies act the same in Python with numpy alone: one
/// episode's observations through `crates/python/python/apprentice/numpy_policy.py` give apprentice's actions.
#[test]
fn exported_sequence_policies_act_the_same_in_numpy() {
    for config in [gru_config(), transformer_config()] {
        same_actions_in_numpy(BcConfig { epochs: 3, ..config });
    }
}

fn same_actions_in_numpy(config: BcConfig) {
    use apprentice::learn::artifact::PolicyArtifact;
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let (mut policy, _) = bc::train(&env, &cue_episodes(&env, 8), &config, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = policy.export(dir.path(), &env).unwrap();
    let history: Vec<Vec<f32>> = (0..STEPS).map(|t| obs(1.0, t)).collect();
    policy.reset(0);
    let expected: Vec<Vec<f32>> = history
        .iter()
        .map(|o| match policy.act(o) {
            Action::Continuous(a) => a,
            other => panic!("continuous: {other:?}"),
        })
        .collect();
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/python/python/apprentice/numpy_policy.py");
    let out = std::process::Command::new("python3")
        .args([reference, path.to_str().unwrap(), &serde_json::to_string(&history).unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let actions: Vec<Vec<f32>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(actions.len(), expected.len());
    for (a, b) in actions.concat().iter().zip(expected.concat()) {
        assert!((a - b).abs() < 1e-4, "{:?}: numpy {actions:?} vs apprentice {expected:?}", config.policy.kind);
    }
}
