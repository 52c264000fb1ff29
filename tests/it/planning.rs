//! Model-based control: the sampling planner on the true simulator, as an expert for any
//! scenario (the drone example has no scripted one).

use apprentice::sim::experts::ExpertSpec;
use apprentice::sim::planner::{Method, Planner, PlannerConfig};
use apprentice::sim::{Action, Env, Policy, ScenarioEnv};
use std::process::Command;

const DRONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/drone.ron");

/// Whether the planner succeeds in each episode from `seeds`, and its mean return.
fn plan_episodes(env: &mut ScenarioEnv, config: &PlannerConfig, seeds: std::ops::Range<u64>) -> (Vec<bool>, f32) {
    let mut planner = Planner::new(config.clone());
    let (mut successes, mut total) = (Vec::new(), 0.0);
    let episodes = seeds.end - seeds.start;
    for seed in seeds {
        let mut obs = env.reset(seed);
        planner.reset(seed);
        let mut success = false;
        loop {
            let action = planner.act(env, &obs);
            let step = env.step(&action).unwrap();
            total += step.reward;
            success |= step.success;
            if step.done() {
                break;
            }
            obs = step.obs;
        }
        successes.push(success);
    }
    (successes, total / episodes as f32)
}

#[test]
fn an_environment_copied_into_another_steps_exactly_like_the_original() {
    let mut original = ScenarioEnv::load("lunar_lander_continuous").unwrap();
    let mut scratch = original.clone();
    original.reset(7);
    for _ in 0..30 {
        original.step(&Action::Continuous(vec![0.6, 0.3])).unwrap();
    }
    // The scratch environment has gone its own way; copying puts it exactly where the original is.
    scratch.reset(99);
    scratch.step(&Action::Continuous(vec![1.0, -1.0])).unwrap();
    scratch.copy_from(&original);
    for k in 0..40 {
        let action = Action::Continuous(vec![(k as f32 * 0.3).sin().abs(), (k as f32 * 0.7).cos()]);
        assert_eq!(scratch.step(&action).unwrap(), original.step(&action).unwrap(), "step {k}");
    }
}

/// The planner settings `--expert planner` uses on `env`.
fn planner_of(env: &ScenarioEnv) -> PlannerConfig {
    let Some(ExpertSpec::Planner(config)) = env.with_planner_expert().scenario().expert.clone() else {
        panic!("with_planner_expert names a planner")
    };
    assert_eq!(config, env.scenario().planner_settings());
    config
}

#[test]
fn the_planner_balances_the_continuous_cartpole_and_swings_up_the_pendulum() {
    let mut cartpole = ScenarioEnv::load("cartpole_continuous").unwrap();
    let config = planner_of(&cartpole);
    assert_eq!(config.horizon, 80, "the scenario's own planner settings");
    let (balanced, _) = plan_episodes(&mut cartpole, &config, 1_000_000..1_000_001);
    assert_eq!(balanced, vec![true], "500 steps balanced");
    let mut pendulum = ScenarioEnv::load("pendulum").unwrap();
    let config = planner_of(&pendulum);
    let (upright, _) = plan_episodes(&mut pendulum, &config, 1_000_000..1_000_002);
    assert_eq!(upright, vec![true, true], "swung up and held");
}

#[test]
fn cem_plans_discrete_actions_too() {
    // Cart-pole's reward is flat while the pole stands: only a long look ahead sees the cart
    // reach the end of its track. 64 samples: with 48 it balances half of 10 episodes, with 64
    // seven in ten (`rollout --policy planner --episodes 10 --seed 1000000`).
    let config =
        PlannerConfig { method: Method::Cem, horizon: 80, iterations: 1, samples: 64, ..PlannerConfig::default() };
    let mut cartpole = ScenarioEnv::load("cartpole").unwrap();
    let (balanced, ret) = plan_episodes(&mut cartpole, &config, 1_000_000..1_000_001);
    assert_eq!(balanced, vec![true], "return {ret}");
}

#[test]
fn the_planner_flies_the_drone_nobody_scripted_an_expert_for() {
    let mut drone = ScenarioEnv::load(DRONE).unwrap();
    let Some(ExpertSpec::Planner(config)) = drone.scenario().expert.clone() else {
        panic!("the drone names a planner")
    };
    assert_eq!(planner_of(&drone), config);
    let (reached, ret) = plan_episodes(&mut drone, &config, 1_000_000..1_000_002);
    assert_eq!(reached, vec![true, true], "return {ret}");
}

fn apprentice(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_planner_demonstrates_and_labels_for_dagger_on_a_scenario_without_a_scripted_expert() {
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("drone");
    let run = dir.path().join("dagger");
    let (demos_arg, run_arg) = (demos.to_str().unwrap(), run.to_str().unwrap());
    // A scenario without any expert: the error says what to do.
    let bare = dir.path().join("bare.ron");
    let text = std::fs::read_to_string(DRONE).unwrap();
    let start = text.find("    expert: Planner").unwrap();
    std::fs::write(&bare, format!("{}{}", &text[..start], &text[start..].split_once('\n').unwrap().1)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["demos", "generate", "--scenario", bare.to_str().unwrap(), "--episodes", "1", "--out", demos_arg])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--expert planner"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    apprentice(&[
        "demos",
        "generate",
        "--scenario",
        DRONE,
        "--expert",
        "planner",
        "--episodes",
        "4",
        "--out",
        demos_arg,
    ]);
    let info: serde_json::Value = serde_json::from_str(&apprentice(&["demos", "info", demos_arg, "--json"])).unwrap();
    assert_eq!(info["episodes"], 4, "{info}");
    assert_eq!(info["success_rate"], 1.0, "{info}");
    assert_eq!(info["devices"]["planner"], 4, "the episodes say who drove them: {info}");
    let config = apprentice::learn::run::load_config;
    apprentice(&[
        "train",
        "dagger",
        "--scenario",
        DRONE,
        "--demos",
        demos_arg,
        "--expert",
        "planner",
        "--out",
        run_arg,
        "--set",
        "rounds=1",
        "--set",
        "episodes_per_round=2",
        "--set",
        "bc.epochs=20",
    ]);
    assert!(config(&run).unwrap().planner_expert, "the run records who labelled its states");
    let (dataset, _) = apprentice::data::Dataset::open(&run.join("dataset")).unwrap();
    let aggregated = dataset.load(None).unwrap();
    assert_eq!(aggregated.episodes.len(), 2, "the round's episodes, every state labelled by the planner");
    assert!(aggregated.episodes.iter().all(|e| e.episode.steps.iter().all(|s| s.expert_label.is_some())));
}

#[test]
fn corrective_labels_from_the_simulator_let_bc_drive_every_lap_from_one_demonstration() {
    use apprentice::learn::corrective::{CorrectiveConfig, corrective_episodes};
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("ct1");
    let demos_arg = demos.to_str().unwrap();
    apprentice(&["demos", "generate", "--scenario", "car_track", "--episodes", "1", "--out", demos_arg]);
    // The labels: one-step episodes from perturbed states, each replaying exactly.
    let env = ScenarioEnv::load("car_track").unwrap();
    let (dataset, _) = apprentice::data::Dataset::open(&demos).unwrap();
    let demo = dataset.load(Some(&env)).unwrap().episodes.remove(0).episode;
    let config = CorrectiveConfig { per_state: 1, ..CorrectiveConfig::default() };
    let labelled = corrective_episodes(&env, &[&demo], &config).unwrap();
    assert_eq!(labelled.len(), demo.steps.len());
    for episode in labelled.iter().step_by(50) {
        let mut replay = env.clone();
        let obs = replay.restore_state(&episode.initial).unwrap();
        assert_eq!(obs, episode.steps[0].obs, "the perturbed state's observation");
        assert_eq!(replay.step(&episode.steps[0].action).unwrap().obs, episode.final_obs);
        assert_eq!(episode.meta.device, "corrective");
    }
    // Plain BC never completes a lap; with 4 corrective labels per state it completes them.
    let laps = |extra: &[&str]| {
        let run = dir.path().join(format!("bc{}", extra.len()));
        let run_arg = run.to_str().unwrap();
        let mut args = vec!["train", "bc", "--scenario", "car_track", "--demos", demos_arg, "--out", run_arg];
        args.extend(extra);
        apprentice(&args);
        let report: serde_json::Value =
            serde_json::from_str(&apprentice(&["eval", "--policy", run_arg, "--episodes", "20", "--json"])).unwrap();
        report["success_rate"].as_f64().unwrap()
    };
    assert_eq!(laps(&[]), 0.0, "plain BC crashes");
    assert!(laps(&["--set", "corrective.per_state=4"]) >= 0.8, "BC with corrective labels drives the laps");
}

#[test]
fn aggrevate_learns_the_laps_from_one_demonstration_by_trying_actions_and_rolling_out_the_expert() {
    let dir = tempfile::tempdir().unwrap();
    let (demos, run) = (dir.path().join("ct1"), dir.path().join("aggrevate"));
    let (demos_arg, run_arg) = (demos.to_str().unwrap(), run.to_str().unwrap());
    apprentice(&["demos", "generate", "--scenario", "car_track", "--episodes", "1", "--out", demos_arg]);
    apprentice(&["train", "aggrevate", "--scenario", "car_track", "--demos", demos_arg, "--out", run_arg]);
    let rows = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    let last: Vec<&str> = rows.lines().last().unwrap().split(',').collect();
    let column = |name: &str| last[header.iter().position(|h| *h == name).unwrap()].parse::<f64>().unwrap();
    assert_eq!(column("aggrevate/episodes"), 1.0 + 3.0 * 4.0 * 40.0, "the demo, then 3 rounds of 4 roll-ins × 40 labels");
    assert!(column("aggrevate/reference_steps") > 0.0);
    let report: serde_json::Value =
        serde_json::from_str(&apprentice(&["eval", "--policy", run_arg, "--episodes", "20", "--json"])).unwrap();
    assert!(report["success_rate"].as_f64().unwrap() >= 0.8, "{report}");
}

#[test]
fn a_dynamics_ensemble_predicts_held_out_pendulum_steps_and_is_saved_as_the_runs_artifact() {
    use burn::prelude::Device;
    use apprentice::data::ops::{Generator, record_episode};
    use apprentice::learn::dynamics::{DynamicsConfig, DynamicsTrainer};
    let mut env = ScenarioEnv::load("pendulum").unwrap();
    let expert = env.scenario().expert.clone().unwrap();
    // DART noise spreads the states and actions the model sees.
    let demos: Vec<_> =
        (0..10).map(|seed| record_episode(&mut env, &expert, Generator::Scripted, seed, 0.3).unwrap()).collect();
    let config = DynamicsConfig { members: 3, epochs: 150, lr: 3e-3, ..DynamicsConfig::default() };
    let mut trainer = DynamicsTrainer::new(&env, &demos, &config, &Device::flex()).unwrap();
    while trainer.update().unwrap().is_some() {}
    let (one_step, ten_steps) = trainer.errors();
    // What predicting "nothing changes" scores, one and ten steps ahead.
    let stay = |h: usize| {
        let errors: Vec<f32> = demos
            .iter()
            .flat_map(|e| (0..e.steps.len() - h).map(move |t| (&e.steps[t].obs, &e.steps[t + h].obs)))
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>() / a.len() as f32)
            .collect();
        errors.iter().sum::<f32>() as f64 / errors.len() as f64
    };
    assert!(one_step < 0.1 * stay(1), "one step: {one_step} vs {}", stay(1));
    assert!(ten_steps < 0.5 * stay(10), "ten steps open loop: {ten_steps} vs {}", stay(10));

    let dir = tempfile::tempdir().unwrap();
    let (data, run) = (dir.path().join("p3"), dir.path().join("dynamics"));
    apprentice(&["demos", "generate", "--scenario", "pendulum", "--episodes", "3", "--out", data.to_str().unwrap()]);
    apprentice(&[
        "train", "dynamics", "--scenario", "pendulum", "--demos", data.to_str().unwrap(), "--out", run.to_str().unwrap(),
        "--set", "epochs=2",
    ]);
    let listed = std::fs::read_to_string(run.join("artifacts.json")).unwrap();
    assert!(listed.contains("\"dynamics\"") && run.join("dynamics.safetensors").is_file(), "{listed}");
}

#[test]
fn pets_learns_to_swing_up_the_pendulum_in_about_a_thousand_steps_and_its_run_evaluates_as_mpc() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("pets");
    let run_arg = run.to_str().unwrap();
    // Fewer steps than the README's 1,500 and the small fast ensemble (31 ms per action
    // against the default's 105) keep this quick.
    let small = ["--set", "dynamics.hidden=[64,64]", "--set", "dynamics.epochs=60"];
    let train = ["train", "pets", "--scenario", "pendulum", "--out", run_arg, "--set", "env_steps=1200"];
    apprentice(&[&train[..], &small].concat());
    let policy: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("policy.json")).unwrap()).unwrap();
    assert_eq!(policy["kind"], "mpc", "{policy}");
    assert!(run.join("dynamics.safetensors").is_file());
    let report: serde_json::Value =
        serde_json::from_str(&apprentice(&["eval", "--policy", run_arg, "--episodes", "4", "--json"])).unwrap();
    let (mean, random) = (report["return_mean"].as_f64().unwrap(), report["random_return_mean"].as_f64().unwrap());
    // Random torques score about −1,200; hanging still scores about −900 from these starts.
    assert!(mean > -400.0 && mean > random + 600.0, "{report}");
}

#[test]
fn a_learned_models_imagined_episodes_end_where_the_scenario_says_on_observed_values() {
    use apprentice::sim::observed::{ObservedLimit, observed_limits};
    let env = ScenarioEnv::load("cartpole_continuous").unwrap();
    let limits = observed_limits(env.scenario());
    // The cart's x (observation 0) and the pole's angle (observation 2).
    let found: Vec<_> = limits.iter().map(|l| (l.index, l.low, l.high)).collect();
    assert_eq!(found, [(0, -2.4, 2.4), (2, -0.2095, 0.2095)]);
    assert!(ObservedLimit::broken(&limits, &[2.5, 0.0, 0.0, 0.0]));
    assert!(!ObservedLimit::broken(&limits, &[2.3, 0.0, 0.1, 0.0]));
    // The pendulum never fails.
    assert!(observed_limits(ScenarioEnv::load("pendulum").unwrap().scenario()).is_empty());
}

/// Where the scenario's reward is read off observations, it gives what the simulator paid on
/// every step of random play, for each built-in that allows it, and it is refused where a
/// term (success, laps) is not observed.
#[test]
fn the_reward_read_off_observations_is_the_scenarios_own() {
    use apprentice::sim::builtin::BUILTINS;
    use apprentice::sim::observed::observed_reward;
    use apprentice::sim::{RandomPolicy, Space};
    let mut known = Vec::new();
    for (name, _) in BUILTINS {
        let mut env = ScenarioEnv::load(name).unwrap();
        let Some(reward) = observed_reward(env.scenario()) else { continue };
        known.push(*name);
        let mut random = RandomPolicy::new(7);
        let mut obs = env.reset(3);
        for t in 0..300 {
            let action = random.act(&env, &obs);
            let step = env.step(&action).unwrap();
            let read = reward.reward(&obs, &action, &step.obs);
            assert!(
                (read - step.reward).abs() <= 1e-4 * step.reward.abs().max(1.0),
                "{name} step {t}: {read} against {}",
                step.reward
            );
            obs = if step.done() { env.reset(t as u64) } else { step.obs };
        }
        assert!(matches!(env.action_space(), Space::Box { .. } | Space::Discrete { .. }), "{name}");
    }
    assert_eq!(known, ["cartpole", "cartpole_continuous", "pendulum", "acrobot", "mountain_car"]);
}

#[test]
fn mbpo_trains_a_policy_network_on_model_rollouts_that_swings_the_pendulum_up_in_1500_steps() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("mbpo");
    let run_arg = run.to_str().unwrap();
    apprentice(&["train", "mbpo", "--scenario", "pendulum", "--out", run_arg]);
    // The policy is SAC's network (no planning at act time); the model is kept beside it.
    let policy: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("policy.json")).unwrap()).unwrap();
    assert_ne!(policy["kind"], "mpc", "{policy}");
    let listed = std::fs::read_to_string(run.join("artifacts.json")).unwrap();
    assert!(listed.contains("\"dynamics\"") && run.join("dynamics.safetensors").is_file(), "{listed}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"train/model_loss") && header.contains(&"data/imagined"), "{header:?}");
    let report: serde_json::Value =
        serde_json::from_str(&apprentice(&["eval", "--policy", run_arg, "--episodes", "10", "--json"])).unwrap();
    // SAC alone, from the same 1,500 steps, does not swing up (README: about −1,300).
    assert!(report["return_mean"].as_f64().unwrap() > -400.0, "{report}");
}

#[test]
fn the_planner_is_a_policy_kind_that_eval_takes_and_whose_search_the_app_can_draw() {
    let report: serde_json::Value = serde_json::from_str(&apprentice(&[
        "eval", "--policy", "planner", "--scenario", DRONE, "--episodes", "3", "--json",
    ]))
    .unwrap();
    assert_eq!(report["success_rate"], 1.0, "{report}");
    let env = ScenarioEnv::load(DRONE).unwrap();
    let mut live = env.clone();
    let obs = live.reset(5);
    let planner = apprentice::learn::run::load_policy(std::path::Path::new("planner"), &env).unwrap();
    assert_eq!(planner.kind(), "planner");
    let searched = planner.search(&live, &obs).expect("a planner shows its search");
    let config = env.scenario().planner_settings();
    assert_eq!(searched.candidates.len(), config.samples);
    assert!(searched.candidates.iter().all(|c| c.len() == config.horizon));
    assert_eq!(searched.plan.len(), config.horizon);
    assert!(!searched.elites.is_empty() && searched.elites.iter().all(|&i| i < config.samples));
    // The best elite scored at least as well as any candidate.
    let best = searched.returns.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(searched.returns[searched.elites[0]], best);
}
