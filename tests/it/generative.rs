//! Flow matching and diffusion policies: on a one-dimensional bimodal toy their samples land
//! in both modes where a mean-squared-error head averages them, runs save and reload as the
//! same policy, and the registry trains them from demonstrations.

use apprentice::data::{Episode, EpisodeMeta, Source, StepRecord};
use apprentice::learn::bc::{self, BcConfig};
use apprentice::learn::generative::{self, GenerativeConfig};
use apprentice::learn::policy::chunk::Method;
use apprentice::sim::{Action, Env, ScenarioEnv};

/// An episode on `env`'s spaces made of `steps` (observation, demonstrated action), the last
/// one truncated: data no scripted expert would record.
pub fn synthetic_episode(env: &ScenarioEnv, seed: u64, steps: Vec<(Vec<f32>, Action)>, final_obs: Vec<f32>) -> Episode {
    let n = steps.len();
    let steps = steps
        .into_iter()
        .enumerate()
        .map(|(t, (obs, action))| StepRecord {
            obs,
            action,
            reward: 0.0,
            terminated: false,
            truncated: t + 1 == n,
            success: false,
            source: Source::Expert,
            expert_label: None,
            time: 0.0,
        })
        .collect();
    Episode {
        meta: EpisodeMeta {
            scenario: env.scenario().name.clone(),
            scenario_hash: env.scenario().source_hash.clone(),
            seed,
            device: "synthetic".into(),
            tags: vec![],
            note: String::new(),
            partial: false,
        },
        initial: env.state(),
        steps,
        final_obs,
    }
}

/// 100 episodes of 20 steps from the same (all-zero) observation on `cartpole_continuous`'s
/// spaces: half push at +0.8 throughout, half at −0.8. Two ways of doing the task.
fn bimodal(env: &ScenarioEnv) -> Vec<Episode> {
    let obs = vec![0.0; env.observation_space().dim()];
    (0..100u64)
        .map(|k| {
            let action = Action::Continuous(vec![if k % 2 == 0 { 0.8 } else { -0.8 }]);
            synthetic_episode(env, k, vec![(obs.clone(), action); 20], obs.clone())
        })
        .collect()
}

fn toy_config(method: Method) -> GenerativeConfig {
    let mut config = GenerativeConfig { epochs: 200, batch_size: 64, ..GenerativeConfig::default() };
    config.policy.method = method;
    config.policy.history = 1;
    config.policy.horizon = 4;
    config.policy.execute = 4;
    config.policy.hidden = vec![64, 64];
    config
}

#[test]
fn flow_and_diffusion_samples_land_in_both_modes_where_mse_averages_them() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let episodes = bimodal(&env);
    let obs = vec![0.0; env.observation_space().dim()];
    for method in [Method::Flow, Method::Diffusion] {
        let mut policy = generative::train(&env, &episodes, &toy_config(method)).unwrap();
        policy.reset(1);
        let firsts: Vec<f32> = policy.sample_chunks(&obs, 400).iter().map(|chunk| chunk[0][0]).collect();
        // Scaled actions: ±0.8 of a [-1, 1] range stay ±0.8.
        let upper = firsts.iter().filter(|a| (*a - 0.8).abs() < 0.25).count() as f64 / 400.0;
        let lower = firsts.iter().filter(|a| (*a + 0.8).abs() < 0.25).count() as f64 / 400.0;
        eprintln!("{method:?}: {upper:.2} near +0.8, {lower:.2} near -0.8");
        assert!((0.3..=0.7).contains(&upper) && (0.3..=0.7).contains(&lower), "{method:?}: {upper:.2} / {lower:.2}");
        assert!(
            upper + lower >= 0.9,
            "{method:?}: the samples sit in the modes, not between ({upper:.2} + {lower:.2})"
        );
    }
    let mse = BcConfig { epochs: 60, ..BcConfig::default() };
    let (mut regression, _) = bc::train(&env, &episodes, &mse, &mut |_| {}).unwrap();
    let Action::Continuous(a) = regression.act(&obs) else { panic!() };
    eprintln!("MSE head: {:.3}", a[0]);
    assert!(a[0].abs() < 0.3, "the MSE head averages the modes: {a:?}");
}

/// Every chunked kind's run reloads as the same policy: the same seed gives the same actions.
#[test]
fn saved_chunk_policies_reload_and_act_identically() {
    use apprentice::learn::artifact::PolicyArtifact;
    use apprentice::learn::policy::chunk::DenoiserKind;
    use apprentice::learn::run;
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    for (method, denoiser, kind) in [
        (Method::Flow, DenoiserKind::Mlp, "flow"),
        (Method::Diffusion, DenoiserKind::Unet, "diffusion"),
        (Method::Cvae, DenoiserKind::Mlp, "cvae"),
    ] {
        let mut config = toy_config(method);
        (config.epochs, config.policy.denoiser, config.policy.channels) = (10, denoiser, vec![8, 16]);
        config.policy.sample_latent = true;
        let policy = generative::train(&env, &bimodal(&env), &config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        PolicyArtifact::save(&policy, dir.path(), &env).unwrap();
        let mut loaded = run::load_policy(dir.path(), &env).unwrap();
        assert_eq!(loaded.kind(), kind);
        let mut original: Box<dyn PolicyArtifact> = Box::new(policy);
        let obs = vec![0.1, -0.2, 0.05, 0.0];
        original.reset(7);
        loaded.reset(7);
        for _ in 0..10 {
            assert_eq!(original.act_obs(&obs), loaded.act_obs(&obs), "{kind}");
        }
    }
}

/// The CVAE's latent carries the demonstrator's choice: decoded from prior samples it does
/// each way of doing the task about half the time, where the MSE head averages them.
#[test]
fn a_cvae_decodes_both_modes_from_prior_samples() {
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let obs = vec![0.0; env.observation_space().dim()];
    let mut config = toy_config(Method::Cvae);
    config.policy.sample_latent = true;
    let mut policy = generative::train(&env, &bimodal(&env), &config).unwrap();
    policy.reset(1);
    let firsts: Vec<f32> = policy.sample_chunks(&obs, 400).iter().map(|chunk| chunk[0][0]).collect();
    let upper = firsts.iter().filter(|a| (*a - 0.8).abs() < 0.25).count() as f64 / 400.0;
    let lower = firsts.iter().filter(|a| (*a + 0.8).abs() < 0.25).count() as f64 / 400.0;
    policy.config.sample_latent = false;
    let mean = policy.sample_chunks(&obs, 1)[0][0][0];
    eprintln!("CVAE: {upper:.2} near +0.8, {lower:.2} near -0.8; at z = 0: {mean:.3}");
    assert!((0.3..=0.7).contains(&upper) && (0.3..=0.7).contains(&lower), "{upper:.2} / {lower:.2}");
    assert!(upper + lower >= 0.7, "most samples sit in the modes, not between ({upper:.2} + {lower:.2})");
}

/// The export of every chunked kind reproduces its chunks in Python with numpy alone: the
/// same observations and noise through `crates/python/python/apprentice/numpy_policy.py` (the MLP and U-Net
/// denoisers, Euler steps, DDIM, the CVAE's decoder) give apprentice's chunk.
#[test]
fn exported_chunk_policies_sample_the_same_chunk_in_numpy() {
    use apprentice::learn::artifact::PolicyArtifact;
    use apprentice::learn::diffusion::Schedule;
    use apprentice::learn::policy::chunk::{self, DenoiserKind};
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/python/python/apprentice/numpy_policy.py");
    for (method, denoiser) in
        [(Method::Flow, DenoiserKind::Mlp), (Method::Diffusion, DenoiserKind::Unet), (Method::Cvae, DenoiserKind::Mlp)]
    {
        let mut config = toy_config(method);
        (config.epochs, config.policy.history, config.policy.denoiser) = (5, 2, denoiser);
        config.policy.channels = vec![8, 16];
        config.policy.inference_steps = 4;
        let policy = generative::train(&env, &bimodal(&env), &config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = policy.export(dir.path(), &env).unwrap();
        // An episode's first two observations.
        let history = [[0.3f32, -0.1, 0.05, 0.2], [0.25, -0.05, 0.1, 0.1]];
        let cond: Vec<f32> = history.iter().flat_map(|o| policy.normalizer.apply(o).collect::<Vec<_>>()).collect();
        let width = config.policy.noise_dim(config.policy.horizon);
        let noise: Vec<f32> = (0..width).map(|k| (k as f32 * 0.7).sin()).collect();
        let schedule = Schedule::cosine(config.policy.diffusion_steps);
        let expected = chunk::sample(&policy.net, &policy.config, &schedule, &cond, noise.clone(), 1, &policy.device);
        let out = std::process::Command::new("python3")
            .args([reference, path.to_str().unwrap()])
            .args([serde_json::to_string(&history).unwrap(), serde_json::to_string(&noise).unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{method:?}: {}", String::from_utf8_lossy(&out.stderr));
        let chunk: Vec<Vec<f32>> = serde_json::from_slice(&out.stdout).unwrap();
        let chunk = chunk.concat();
        assert_eq!(chunk.len(), expected.len());
        for (a, b) in chunk.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-4, "{method:?} {denoiser:?}: numpy {chunk:?} vs apprentice {expected:?}");
        }
    }
}

/// An episode holding a policy's unlabelled steps is not learned from, and the metrics say so.
#[test]
fn episodes_with_unlabelled_policy_steps_are_counted_not_learned() {
    use apprentice::learn::generative::GenerativeTrainer;
    use apprentice::learn::trainer::Algorithm;
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let mut episodes = bimodal(&env);
    episodes[0].steps[3].source = Source::Policy;
    let config = toy_config(Method::Flow);
    let device = burn::prelude::Device::flex();
    let mut trainer = GenerativeTrainer::new(&env, &episodes, &config, &device).unwrap();
    let row = trainer.advance().unwrap().unwrap();
    assert_eq!(row.value("data/skipped_episodes"), 1.0);
}
