//! The learning core's contracts: every registry entry is reachable from the CLI, has a form
//! and plots and trains; bad inputs (NaN weights, killed writers, two writers, empty data,
//! bad files) give clear errors and lose nothing finished.

use apprentice::data::ops::{Generator, record_episode};
use apprentice::data::{Dataset, Episode};
use apprentice::learn::registry::{ALGORITHMS, Actions, Context, Entry};
use apprentice::learn::run::{self, RunConfig};
use apprentice::sim::ScenarioEnv;
use burn::prelude::Device;
use std::path::Path;
use std::process::Command;

fn apprentice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap()
}

fn expert_demos(env: &mut ScenarioEnv, count: u64) -> Vec<Episode> {
    let expert = env.scenario().expert.clone().unwrap();
    (0..count).map(|seed| record_episode(env, &expert, Generator::Scripted, seed, 0.1).unwrap()).collect()
}

/// A scenario whose actions the entry handles.
fn scenario_for(entry: &Entry) -> &'static str {
    match entry.needs.actions {
        Actions::Discrete | Actions::Any => "cartpole",
        Actions::Continuous => "pendulum",
    }
}

/// Budgets small enough for one unit to take a moment, for whichever keys the entry has.
const TINY: &[&str] = &[
    "epochs=2",
    "bc.epochs=2",
    "rounds=1",
    "episodes_per_round=2",
    "total_steps=256",
    "rollout_steps=16",
    "envs=2",
    "learning_starts=32",
    "iterations=2",
    "episodes_per_update=2",
    "batch_size=32",
    "log_every=64",
];

#[test]
fn every_registered_algorithm_has_a_subcommand_a_form_plots_and_trains_a_unit() {
    let train = <apprentice::cli::Cli as clap::CommandFactory>::command();
    let train = train.find_subcommand("train").expect("a train command");
    for entry in ALGORITHMS {
        assert!(train.find_subcommand(entry.name).is_some(), "`train {}` is missing", entry.name);
        let name = scenario_for(entry);
        let mut env = ScenarioEnv::load(name).unwrap();
        let mut config = RunConfig::new(entry.name, name, "demos".into()).unwrap();
        let known = config.field_names();
        let tiny: Vec<String> = TINY
            .iter()
            .filter(|s| known.iter().any(|k| s.starts_with(&format!("{k}="))))
            .map(|s| s.to_string())
            .collect();
        assert!(config.apply(&tiny).unwrap().is_empty());
        let fields = config.fields().unwrap();
        assert!(
            !fields.is_empty() && fields.iter().all(|f| !f.doc.is_empty()),
            "{}: every field has a doc comment",
            entry.name
        );
        assert!(entry.live.iter().all(|k| known.iter().any(|f| f == k)), "{}: live keys are fields", entry.name);
        assert!(!entry.plots.is_empty(), "{} declares its plots", entry.name);
        let demos = if entry.needs.demos { expert_demos(&mut env, 4) } else { Vec::new() };
        let out = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let context = Context { env: &env, demos, init: None, device: &device, out: out.path(), resume: None, reward: None };
        let mut algorithm = (entry.build)(&config.hyperparameters, context).unwrap();
        let row = algorithm.advance().unwrap().unwrap_or_else(|| panic!("{} trains a unit", entry.name));
        for plot in entry.plots {
            assert!(
                plot.x == "step" || row.value(plot.x).is_finite(),
                "{}: x column `{}` is logged",
                entry.name,
                plot.x
            );
            assert!(
                plot.series.iter().any(|s| row.values.iter().any(|(n, _)| n == s)),
                "{}: plot `{}` draws a metric the algorithm logs ({:?})",
                entry.name,
                plot.title,
                row.values
            );
        }
        // What it trains is a policy, or (a dynamics model) another artifact.
        assert!(
            algorithm.policy().is_some() || !algorithm.artifacts().is_empty(),
            "{} has a policy or an artifact after one unit",
            entry.name
        );
    }
}

/// A run whose policy weights are all NaN.
fn nan_run(dir: &Path) {
    let mut env = ScenarioEnv::load("pendulum").unwrap();
    let demos = expert_demos(&mut env, 2);
    let config = apprentice::learn::bc::BcConfig { epochs: 1, ..Default::default() };
    let (policy, _) = apprentice::learn::bc::train(&env, &demos, &config, &mut |_| {}).unwrap();
    run::save(dir, &RunConfig::new("bc", "pendulum", "d".into()).unwrap().with(&config), &env, &policy).unwrap();
    // safetensors: u64 header length, JSON header, then the f32 data, overwritten with NaN.
    let path = dir.join("policy.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let start = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for chunk in bytes[start..].chunks_exact_mut(4) {
        chunk.copy_from_slice(&f32::NAN.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_policy_with_nan_weights_is_an_error_naming_the_run_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    nan_run(dir.path());
    let out = apprentice(&["eval", "--policy", dir.path().to_str().unwrap(), "--episodes", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(dir.path().to_str().unwrap()) && stderr.contains("outside the action space"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_killed_generate_keeps_every_finished_episode() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["demos", "generate", "--scenario", "lunar_lander", "--episodes", "5000", "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let episodes = out.join("episodes");
    let finished = |d: std::fs::ReadDir| {
        d.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "apd"))).count()
    };
    let count = || std::fs::read_dir(&episodes).map_or(0, finished);
    let start = std::time::Instant::now();
    while count() < 12 && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (dataset, _) = Dataset::open(&out).unwrap();
    let loaded = dataset.load(None).unwrap();
    assert!(loaded.skipped.is_empty(), "no torn file: {:?}", loaded.skipped);
    let mut seeds: Vec<u64> = loaded.episodes.iter().map(|e| e.episode.meta.seed).collect();
    seeds.sort();
    assert!(seeds.len() >= 12, "{} episodes kept", seeds.len());
    let largest = *seeds.last().unwrap();
    let missing = (0..largest).filter(|s| !seeds.contains(s)).count();
    // Only episodes still in progress are lost: one per worker but the one that finished last.
    assert!(missing < rayon::current_num_threads().max(2), "seeds lost below {largest}: {missing}");
    assert!(!out.join("staging").exists(), "recovery empties the staging area");
}

#[test]
fn two_writers_into_one_dataset_keep_all_their_episodes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("same");
    let spawn = |seed: &str| {
        Command::new(env!("CARGO_BIN_EXE_apprentice"))
            .args(["demos", "generate", "--scenario", "cartpole", "--episodes", "60", "--out"])
            .arg(&out)
            .args(["--seed", seed])
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("1"));
        let b = s.spawn(|| spawn("1000"));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (dataset, _) = Dataset::existing(&out).unwrap();
    let loaded = dataset.load(None).unwrap();
    let mut seeds: Vec<u64> = loaded.episodes.iter().map(|e| e.episode.meta.seed).collect();
    seeds.sort();
    let expected: Vec<u64> = (1..61).chain(1000..1060).collect();
    assert_eq!(seeds, expected, "both writers' episodes, each once");
    assert_eq!(dataset.manifest().unwrap().len(), 120);
}

#[test]
fn an_empty_dataset_reports_no_statistics_rather_than_extreme_numbers() {
    let dir = tempfile::tempdir().unwrap();
    Dataset::open(dir.path()).unwrap();
    let out = apprentice(&["demos", "info", dir.path().to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["episodes"], 0);
    for key in ["return_mean", "return_min", "return_max", "success_rate"] {
        assert!(info[key].is_null(), "{key}: {}", info[key]);
    }
}

#[test]
fn dagger_trains_on_the_device_it_is_given() {
    use apprentice::learn::dagger::{DaggerConfig, DaggerTrainer};
    use apprentice::learn::device::{DeviceChoice, select_device};
    let gpu = select_device(DeviceChoice::Gpu).expect("a wgpu adapter (make test installs mesa-vulkan-drivers)");
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let demos = expert_demos(&mut env, 2);
    let mut config = DaggerConfig { rounds: 0, ..DaggerConfig::default() };
    config.bc.epochs = 1;
    let mut trainer = DaggerTrainer::new(&env, demos, &config, None, &gpu.device).unwrap();
    trainer.round().unwrap();
    let policy = trainer.policy().unwrap();
    assert_eq!(format!("{:?}", policy.device), format!("{:?}", gpu.device), "BC ran where --device said");
}

#[test]
fn an_optional_value_written_with_some_gets_a_hint() {
    let text = std::fs::read_to_string(apprentice::sim::builtin::builtin_path("cartpole")).unwrap();
    let slider = "kind: Prismatic(axis: (1.0, 0.0))";
    assert!(text.contains(slider), "cartpole has a slider");
    let broken = text.replace(slider, "kind: Prismatic(axis: (1.0, 0.0), limits: Some((-0.35, 0.35)))");
    let error = apprentice::sim::Scenario::parse(&broken, Path::new("broken.ron")).unwrap_err().to_string();
    assert!(error.contains("written bare") && error.contains("`(-0.35, 0.35)`, not `Some((-0.35, 0.35))`"), "{error}");
}

#[test]
fn every_path_the_readme_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut checked = 0;
    for (i, quoted) in readme.split('`').enumerate() {
        // Odd pieces are inside backticks; a repository path has a slash or a known file name.
        let looks_like_path = |s: &str| {
            !s.contains(' ')
                && !s.starts_with('-')
                && !s.contains("://")
                && !s.contains('=')
                && (s.starts_with("src/")
                    || s.starts_with("crates/")
                    || s.starts_with("tests/")
                    || s.starts_with("scripts/")
                    || s.starts_with("scenarios/")
                    || s.starts_with("examples/")
                    || s.starts_with("assets/")
                    || s.starts_with("docs/")
                    || s.starts_with(".ci/")
                    || ["Makefile", "Cargo.toml", "rustfmt.toml"].contains(&s))
        };
        if i % 2 == 1 && looks_like_path(quoted) {
            let path = quoted.trim_end_matches('/').split(['*', '<']).next().unwrap().trim_end_matches('/');
            assert!(root.join(path).exists(), "README names `{quoted}`, which is not in the repository");
            checked += 1;
        }
    }
    for link in readme.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        if !target.contains("://") && !target.starts_with('#') {
            assert!(root.join(target).exists(), "README links to `{target}`, which is not in the repository");
            checked += 1;
        }
    }
    assert!(checked > 10, "the README names paths ({checked} checked)");
}

#[test]
fn a_run_saved_before_the_registry_still_loads() {
    // The bundled policy's config.toml has the old `[bc]` layout.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/cartpole/policy");
    let config = run::load_config(&dir).unwrap();
    assert_eq!(config.algorithm, "bc");
    let bc: apprentice::learn::bc::BcConfig = config.typed().unwrap();
    assert_eq!((bc.epochs, bc.policy.hidden.as_slice()), (300, &[128, 128][..]));
    let env = ScenarioEnv::load("cartpole").unwrap();
    assert_eq!(run::load_policy(&dir, &env).unwrap().kind(), "mlp", "a policy.json without a kind is an MLP");
}

#[test]
fn a_finished_run_lists_its_artifacts_and_their_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let (d, r) = (dir.path().join("demos"), dir.path().join("run"));
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ok(apprentice(&["demos", "generate", "--scenario", "pendulum", "--episodes", "2", "--out", d.to_str().unwrap()]));
    ok(apprentice(&[
        "train",
        "sac",
        "--scenario",
        "pendulum",
        "--out",
        r.to_str().unwrap(),
        "--device",
        "cpu",
        "--set",
        "total_steps=300",
        "--set",
        "learning_starts=100",
        "--set",
        "log_every=100",
    ]));
    let listed = apprentice::learn::artifact::listed(&r).unwrap();
    let kinds: Vec<(String, String)> = listed.iter().map(|l| (l.name.clone(), format!("{:?}", l.kind))).collect();
    assert_eq!(kinds, [("policy".to_string(), "Policy".to_string()), ("critic".into(), "Critic".into())]);
    for file in listed.iter().flat_map(|l| &l.files) {
        assert!(r.join(file).is_file(), "{file} is on disk");
    }
}
