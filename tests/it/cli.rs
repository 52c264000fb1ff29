//! The command line, as scripts use it: JSON lines out, user scenario files in.

use std::process::Command;

fn apprentice(args: &[&str]) -> Vec<serde_json::Value> {
    apprentice_with(args, &[])
}

/// `apprentice(args)` with environment variables set.
fn apprentice_with(args: &[&str], vars: &[(&str, &std::path::Path)]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).envs(vars.iter().copied()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn scenarios_lists_every_builtin_and_the_users_own_as_json() {
    let data = tempfile::tempdir().unwrap();
    let scenarios = || apprentice_with(&["scenarios", "--json"], &[("APPRENTICE_DATA", data.path())]);
    assert_eq!(scenarios().len(), 11);
    std::fs::create_dir_all(data.path().join("scenarios")).unwrap();
    std::fs::write(data.path().join("scenarios/puck.ron"), USER_SCENARIO).unwrap();
    let rows = scenarios();
    assert_eq!(rows.len(), 12);
    assert!(rows[11]["path"].as_str().unwrap().ends_with("scenarios/puck.ron"));
    let cartpole = rows.iter().find(|r| r["name"] == "cartpole").unwrap();
    assert_eq!(cartpole["obs_dim"], 4);
    assert_eq!(cartpole["action_space"]["type"], "discrete");
    assert!(cartpole["path"].as_str().unwrap().ends_with("scenarios/cartpole.ron"));
}

#[test]
fn rollout_reports_summary_statistics() {
    let rows = apprentice(&["rollout", "--scenario", "cartpole", "--policy", "expert", "--episodes", "5", "--json"]);
    let last = rows.last().unwrap();
    assert_eq!(rows.len(), 6, "one line per episode, then the summary");
    assert_eq!(last["return_mean"], 500.0);
    assert_eq!(last["success_rate"], 1.0);
    for key in ["return_std", "length_mean"] {
        assert!(last[key].is_number(), "{key}");
    }
}

#[test]
fn a_command_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["rollout", "--scenario", "cartpole", "--policy", "random", "--episodes", "5000", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is gone (as `| head -1` would be); the next writes hit a closed pipe.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with('{'), "{first}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bench_sim_reports_steps_per_second() {
    let rows = apprentice(&["bench", "sim", "--scenario", "pendulum", "--envs", "4", "--steps", "2000", "--json"]);
    assert_eq!(rows[0]["steps"], 2000);
    assert!(rows[0]["steps_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_scaling_alternates_one_and_n_environments() {
    let args =
        ["bench", "scaling", "--scenario", "cartpole", "--envs", "8", "--steps", "4000", "--pairs", "3", "--json"];
    let row = &apprentice(&args)[0];
    assert_eq!((row["envs"].as_u64(), row["pairs"].as_u64()), (Some(8), Some(3)));
    let [low, mid, high] = ["speedup_min", "speedup", "speedup_max"].map(|k| row[k].as_f64().unwrap());
    assert!(0.0 < low && low <= mid && mid <= high, "{row}");
    assert!(
        row["single_steps_per_sec"].as_f64().unwrap() > 0.0 && row["parallel_steps_per_sec"].as_f64().unwrap() > 0.0
    );
    // The ceiling: the same environments split over the same threads, none waiting.
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get()).min(8);
    assert_eq!(row["threads"].as_u64(), Some(threads as u64));
    let [ceiling, efficiency] = ["ceiling", "efficiency"].map(|k| row[k].as_f64().unwrap());
    assert!(ceiling > 0.0 && (efficiency - mid / ceiling).abs() < 1e-9, "{row}");
}

/// The README's example of a user-written scenario: a ball to be pushed onto a goal.
const USER_SCENARIO: &str = include_str!("../../examples/scenarios/puck.ron");

#[test]
fn a_user_scenario_file_works_with_rollout_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("puck.ron");
    std::fs::write(&path, USER_SCENARIO).unwrap();
    let path = path.to_str().unwrap();
    let expert = apprentice(&["rollout", "--scenario", path, "--episodes", "10", "--json"]);
    let random = apprentice(&["rollout", "--scenario", path, "--policy", "random", "--episodes", "10", "--json"]);
    assert!(expert.last().unwrap()["success_rate"].as_f64().unwrap() >= 0.9);
    assert!(random.last().unwrap()["success_rate"].as_f64().unwrap() < 0.5);
    let bench = apprentice(&["bench", "sim", "--scenario", path, "--envs", "2", "--steps", "1000", "--json"]);
    assert_eq!(bench[0]["scenario"], "puck");
}

#[test]
fn a_broken_scenario_file_fails_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ron");
    std::fs::write(&path, USER_SCENARIO.replace("timestep", "time_step")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["rollout", "--scenario", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.ron:") && stderr.contains("time_step"), "{stderr}");
}

/// `train --config` takes a previous run's config.toml or any part of one: what the file
/// leaves out keeps the algorithm's defaults for the scenario, `--scenario` wins over the
/// file's, and a wrong value is named by file and key.
#[test]
fn a_config_file_may_hold_part_of_a_run_and_its_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let saved = |run: &str| -> toml::Table {
        toml::from_str(&std::fs::read_to_string(path(run) + "/config.toml").unwrap()).unwrap()
    };
    std::fs::write(path("part.toml"), "[hyperparameters]\ntotal_steps = 4096\ngamma = 0.9\n").unwrap();
    apprentice(&[
        "train",
        "ppo",
        "--scenario",
        "pendulum",
        "--config",
        &path("part.toml"),
        "--out",
        &path("a"),
        "--json",
    ]);
    let (a, defaults) = (saved("a"), saved("a")["hyperparameters"].as_table().unwrap().clone());
    assert_eq!(a["scenario"].as_str(), Some("pendulum"));
    assert_eq!(defaults["gamma"].as_float(), Some(0.9));
    assert_eq!(defaults["total_steps"].as_integer(), Some(4096));
    // The rest are PPO's continuous-control defaults, all written down.
    assert_eq!(defaults["envs"].as_integer(), Some(4));
    assert_eq!(defaults["normalize_values"].as_bool(), Some(true));
    assert!(defaults["policy"].as_table().is_some_and(|p| p.contains_key("hidden")));

    apprentice(&[
        "train",
        "ppo",
        "--scenario",
        "cartpole_continuous",
        "--config",
        &path("a/config.toml"),
        "--out",
        &path("b"),
        "--json",
    ]);
    assert_eq!(saved("b")["scenario"].as_str(), Some("cartpole_continuous"));
    assert_eq!(saved("b")["hyperparameters"].as_table(), Some(&defaults));

    let fails = |file: &str, text: &str| {
        std::fs::write(path(file), text).unwrap();
        let args = ["train", "ppo", "--config", &path(file), "--out", &path("c")];
        let out = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
        assert!(!out.status.success(), "{text}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = fails("typo.toml", "scenario = \"pendulum\"\n[hyperparameters.policy]\nhidden = [64, \"x\"]\n");
    assert!(stderr.contains("typo.toml") && stderr.contains("policy.hidden[1]: invalid type"), "{stderr}");
    assert!(
        fails("unknown.toml", "scenario = \"pendulum\"\n[hyperparameters]\nlrr = 1\n").contains("unknown field `lrr`")
    );
    assert!(fails("none.toml", "[hyperparameters]\nlr = 0.001\n").contains("no scenario"));
    assert!(
        fails("sac.toml", "algorithm = \"sac\"\nscenario = \"pendulum\"\n").contains("a configuration of sac, not ppo")
    );
    assert!(!dir.path().join("c").exists(), "a refused configuration writes no run");
}

/// The design's CLI surface spells soft Q-learning `sql` and TD3+BC `td3bc`: both answer,
/// and the run records the registry's name.
#[test]
fn the_designs_algorithm_names_answer_as_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let sets = ["--set", "total_steps=300", "--set", "learning_starts=100", "--json"];
    apprentice(&[&["train", "sql", "--scenario", "cartpole", "--out", out.to_str().unwrap()][..], &sets].concat());
    let config: toml::Table = toml::from_str(&std::fs::read_to_string(out.join("config.toml")).unwrap()).unwrap();
    assert_eq!(config["algorithm"].as_str(), Some("soft_q"));
    let help = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(["train", "td3bc", "--help"]).output().unwrap();
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("TD3+BC"));
}

/// A successful headless run prints no error: without a desktop session, probing for GPUs
/// made libwayland print "error: XDG_RUNTIME_DIR is invalid" (Mesa's device-select layer).
#[test]
fn a_headless_run_that_probes_for_gpus_prints_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["train", "ppo", "--scenario", "cartpole", "--out", out.to_str().unwrap(), "--set", "total_steps=4096"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success() && stderr.contains("device:") && !stderr.contains("error"), "{stderr}");
}

/// A budget too small for one rollout would save an untrained policy as if it had trained.
#[test]
fn a_ppo_budget_below_one_rollout_is_refused_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in ["ppo", "a2c", "trpo"] {
        let out = dir.path().join(algorithm);
        let args =
            ["train", algorithm, "--scenario", "cartpole", "--out", out.to_str().unwrap(), "--set", "total_steps=30"];
        let run = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && stderr.contains("total_steps = 30 is less than one rollout"),
            "{algorithm}: {stderr}"
        );
    }
}

/// Arguments that cannot be what the user meant are refused with what was wrong.
#[test]
fn a_missing_run_an_impossible_split_or_a_folder_of_other_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fails = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = dir.path().join("missing");
    let stderr = fails(&["eval", "--policy", missing.to_str().unwrap(), "--episodes", "1"]);
    assert!(stderr.contains("missing: no such run directory"), "{stderr}");
    let stderr = fails(&["plot", dir.path().to_str().unwrap(), "--out", "x.png"]);
    assert!(stderr.contains("not a run directory (no config.toml)"), "{stderr}");
    let stderr = fails(&["demos", "split", dir.path().to_str().unwrap(), "--val", "1.5"]);
    assert!(stderr.contains("1.5 is not in [0, 1)"), "{stderr}");
    let stderr = fails(&["rollout", "--scenario", "cartpole", "--episodes", "0"]);
    assert!(stderr.contains("must be at least 1"), "{stderr}");
    // A run never writes among other files (a dataset's, say).
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let into = ["train", "ppo", "--scenario", "cartpole", "--out", dir.path().to_str().unwrap()];
    assert!(fails(&into).contains("holds other files and is not a run directory"));
    assert!(!dir.path().join("config.toml").exists());
    // Nor does a dataset.
    let into =
        ["demos", "generate", "--scenario", "cartpole", "--episodes", "1", "--out", dir.path().to_str().unwrap()];
    assert!(fails(&into).contains("holds other files and is not a dataset"));
    assert!(!dir.path().join("episodes").exists());
}

/// A run trained with `--eval-every` keeps its evaluations in `eval.csv`, and the run browser's
/// summary reads its algorithm, final evaluation and curve; an unreadable run is listed as
/// its error, beside the good one.
#[test]
fn the_run_browser_summarizes_runs_and_lists_a_broken_one_as_its_error() {
    use apprentice::learn::runs;
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("demos");
    let runs_dir = dir.path().join("runs");
    let run = runs_dir.join("1");
    let status = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap().status;
    let d = demos.to_str().unwrap();
    assert!(status(&["demos", "generate", "--scenario", "cartpole", "--episodes", "5", "--out", d]).success());
    let r = run.to_str().unwrap();
    let args = ["train", "bc", "--scenario", "cartpole", "--demos", d, "--out", r, "--set", "epochs=4"];
    assert!(status(&[&args[..], &["--eval-every", "1", "--eval-episodes", "2", "--device", "cpu"]].concat()).success());
    std::fs::create_dir_all(runs_dir.join("2")).unwrap();
    std::fs::write(runs_dir.join("2/config.toml"), "algorithm = ").unwrap();

    let listed = runs::list(&runs_dir);
    assert_eq!(listed.len(), 2);
    let summary = listed.iter().find_map(|r| r.as_ref().ok()).expect("the good run");
    assert_eq!((summary.algorithm.as_str(), summary.curve_name.as_str()), ("bc", "eval/return_mean"));
    assert_eq!(summary.curve.len(), 4, "one evaluation per epoch: {:?}", summary.curve);
    assert_eq!(summary.final_return, summary.curve.last().copied());
    assert!(summary.has_policy && summary.modified.is_some());
    let broken = listed.iter().find_map(|r| r.as_ref().err()).expect("the broken run").to_string();
    assert!(broken.contains("config.toml"), "{broken}");
}

/// `demos exclude --failed` leaves the failures out (files kept, `info` counts them), `include`
/// brings one back, a selection naming nothing is refused, and `diagnose` scores a policy on
/// the included episodes and can exclude the flagged ones.
#[test]
fn demos_exclude_include_and_diagnose_curate_a_dataset_headless() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demos");
    let d = d.to_str().unwrap();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
    assert!(run(&["demos", "generate", "--scenario", "cartpole", "--episodes", "12", "--out", d]).status.success());
    let random =
        ["demos", "generate", "--scenario", "cartpole", "--episodes", "3", "--expert", "random", "--seed", "7"];
    assert!(run(&[&random[..], &["--out", d]].concat()).status.success());

    let out = run(&["demos", "exclude", d, "--failed"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("excluded 3 episodes; training uses 12 of 15"));
    let info = apprentice(&["demos", "info", d, "--json"]);
    assert_eq!((info[0]["episodes"].as_u64(), info[0]["excluded"].as_u64()), (Some(15), Some(3)));

    let out = run(&["demos", "include", d, "--episode", "ep-000013"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("training uses 13 of 15"), "{out:?}");
    let out = run(&["demos", "exclude", d]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("name the episodes"));

    let policy = dir.path().join("run");
    let p = policy.to_str().unwrap();
    let train = ["train", "bc", "--scenario", "cartpole", "--demos", d, "--out", p, "--set", "epochs=20"];
    assert!(run(&[&train[..], &["--device", "cpu"]].concat()).status.success());
    let rows = apprentice(&["demos", "diagnose", d, "--policy", p, "--json", "--exclude-flagged"]);
    assert_eq!(rows.len(), 13, "one row per included episode");
    let flagged: Vec<&str> = rows.iter().filter(|r| r["outlier"] == true).map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(flagged, ["ep-000013"], "the random episode brought back stands out: {rows:?}");
    let info = apprentice(&["demos", "info", d, "--json"]);
    assert_eq!(info[0]["excluded"].as_u64(), Some(3), "the flagged one is excluded again");
}

/// `eval --record` writes the evaluated episodes as a dataset: one per seed, driven by the
/// policy, labelled by the expert, with the returns the evaluation reported, replaying exactly.
#[test]
fn eval_records_the_policys_episodes_as_a_dataset_that_replays_exactly() {
    use apprentice::data::{Dataset, Source, ops};
    let dir = tempfile::tempdir().unwrap();
    let (d, p, rec) = (dir.path().join("demos"), dir.path().join("run"), dir.path().join("rec"));
    let (d, p, r) = (d.to_str().unwrap(), p.to_str().unwrap(), rec.to_str().unwrap());
    let status = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap().status;
    assert!(status(&["demos", "generate", "--scenario", "pendulum", "--episodes", "3", "--out", d]).success());
    let train = ["train", "bc", "--scenario", "pendulum", "--demos", d, "--out", p, "--set", "epochs=5"];
    assert!(status(&[&train[..], &["--device", "cpu"]].concat()).success());
    let report = &apprentice(&["eval", "--policy", p, "--episodes", "4", "--seed", "50", "--json", "--record", r])[0];

    let (dataset, _) = Dataset::open(&rec).unwrap();
    let mut env = apprentice::sim::ScenarioEnv::load("pendulum").unwrap();
    let loaded = dataset.load(Some(&env)).unwrap();
    let seeds: Vec<u64> = loaded.episodes.iter().map(|f| f.episode.meta.seed).collect();
    assert_eq!(seeds, [50, 51, 52, 53]);
    let returns: Vec<f64> =
        loaded.episodes.iter().map(|f| f.episode.steps.iter().map(|s| s.reward as f64).sum()).collect();
    let mean = returns.iter().sum::<f64>() / 4.0;
    assert!((mean - report["return_mean"].as_f64().unwrap()).abs() < 1e-3, "{returns:?} against {report}");
    for file in &loaded.episodes {
        assert!(file.episode.steps.iter().all(|s| s.source == Source::Policy && s.expert_label.is_some()));
        assert_eq!(ops::replay(&mut env, file).unwrap(), None, "{}", file.id);
    }
}
