//! The trainer thread as the app and the CLI drive it: commands in, events out, failures
//! reported as events while the caller keeps running; the wgpu path; runs that resume.

use apprentice::data::Episode;
use apprentice::data::ops::{Generator, record_episode};
use apprentice::learn::TrainError;
use apprentice::learn::bc::{BcConfig, BcTrainer};
use apprentice::learn::device::{DeviceChoice, select_device};
use apprentice::learn::trainer::{Algorithm, Command, Event, Metrics, Trainer};
use apprentice::sim::ScenarioEnv;
use burn::prelude::Device;
use std::process::Command as Process;

fn demos(name: &str, count: u64) -> (ScenarioEnv, Vec<Episode>) {
    let mut env = ScenarioEnv::load(name).unwrap();
    let expert = env.scenario().expert.clone().unwrap();
    let episodes =
        (0..count).map(|seed| record_episode(&mut env, &expert, Generator::Scripted, seed, 0.0).unwrap()).collect();
    (env, episodes)
}

fn bc_trainer(config: BcConfig) -> Trainer {
    let (env, episodes) = demos("cartpole_continuous", 4);
    Trainer::spawn(
        move || Ok(Box::new(BcTrainer::new(&env, &episodes, &config, &Device::flex())?) as Box<dyn Algorithm>),
        2,
    )
}

/// Events until `stop` says enough (or the thread ends).
fn until(trainer: &Trainer, mut stop: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    while let Some(event) = trainer.next_event() {
        let done = stop(&event);
        seen.push(event);
        if done {
            break;
        }
    }
    seen
}

#[test]
fn commands_pause_change_and_stop_training_and_events_report_it() {
    let trainer = bc_trainer(BcConfig { epochs: 1000, patience: 1000, ..BcConfig::default() });
    let first = until(&trainer, |e| matches!(e, Event::Snapshot { .. }));
    assert!(
        first.iter().filter(|e| matches!(e, Event::Metrics(_))).count() >= 2,
        "metrics every epoch, a snapshot every 2"
    );

    trainer.send(Command::Set { key: "lr".into(), value: "0.0003".into() });
    trainer.send(Command::Set { key: "policy.hidden".into(), value: "[8]".into() });
    trainer.send(Command::Pause);
    let events = until(&trainer, |e| matches!(e, Event::Paused));
    let changed = events.iter().find_map(|e| match e {
        Event::Changed { step, key, value } => Some((*step, key.clone(), value.clone())),
        _ => None,
    });
    let (step, key, value) = changed.expect("the learning rate change is reported");
    assert_eq!((key.as_str(), value.as_str()), ("lr", "0.0003"));
    assert!(step > 0, "it names the step it took effect at");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Refused { key, reason } if key == "policy.hidden" && reason.contains("live"))),
        "architecture changes are refused mid-run: {events:?}"
    );
    assert!(trainer.try_event().is_none(), "nothing trains while paused");

    trainer.send(Command::Resume);
    assert!(until(&trainer, |e| matches!(e, Event::Metrics(_))).iter().any(|e| matches!(e, Event::Resumed)));
    trainer.send(Command::Stop);
    let end = until(&trainer, |e| matches!(e, Event::Finished { .. }));
    assert!(matches!(end.last(), Some(Event::Finished { policy: Some(_) })), "stopping hands back the policy");
}

#[test]
fn a_diverging_loss_becomes_an_error_event() {
    let trainer = bc_trainer(BcConfig { lr: 1e30, epochs: 50, ..BcConfig::default() });
    let events = until(&trainer, |e| matches!(e, Event::Error(_) | Event::Finished { .. }));
    match events.last() {
        Some(Event::Error(message)) => assert!(message.contains("loss became"), "{message}"),
        other => panic!("expected an error event, got {other:?}"),
    }
    assert!(trainer.next_event().is_none(), "the thread ends after an error");
}

/// An algorithm with a bug: the thread must survive it.
struct Panics;

impl Algorithm for Panics {
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError> {
        panic!("index out of range in a user's algorithm")
    }
    fn set(&mut self, _: &str, _: &str) -> Result<(), apprentice::learn::SettingError> {
        Ok(())
    }
    fn policy(&self) -> Option<Box<dyn apprentice::learn::artifact::PolicyArtifact>> {
        None
    }
    fn step(&self) -> usize {
        0
    }
}

#[test]
fn a_panic_inside_training_becomes_an_error_event() {
    let trainer = Trainer::spawn(|| Ok(Box::new(Panics) as Box<dyn Algorithm>), 1);
    match trainer.next_event() {
        Some(Event::Error(message)) => assert!(message.contains("panicked") && message.contains("index out of range")),
        other => panic!("expected an error event, got {other:?}"),
    }
}

#[test]
fn training_runs_on_wgpu_through_a_software_vulkan_adapter() {
    // `make test` installs Mesa's lavapipe, so this exercises the GPU code path without a GPU.
    let selected = select_device(DeviceChoice::Gpu).expect("a wgpu adapter (make test installs mesa-vulkan-drivers)");
    assert!(selected.description.starts_with("gpu (wgpu)"), "{}", selected.description);
    let (env, episodes) = demos("cartpole_continuous", 2);
    let mut config = BcConfig { batch_size: 512, epochs: 3, ..BcConfig::default() };
    config.policy.hidden = vec![16];
    let mut trainer = BcTrainer::new(&env, &episodes, &config, &selected.device).unwrap();
    let losses: Vec<f64> = (0..3).map(|_| trainer.epoch().unwrap().unwrap().train_loss).collect();
    assert!(losses.iter().all(|l| l.is_finite()) && losses[2] < losses[0], "{losses:?}");
    let mut policy = trainer.policy();
    let action = policy.act(&episodes[0].steps[0].obs);
    assert!(matches!(action, apprentice::sim::Action::Continuous(v) if v.len() == 1 && v[0].is_finite()));
}

#[test]
fn a_cli_run_logs_metrics_as_it_goes_and_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (demos_dir, run) = (dir.path().join("demos"), dir.path().join("run"));
    let cli = |args: &[&str]| {
        let out = Process::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let (d, r) = (demos_dir.to_str().unwrap(), run.to_str().unwrap());
    cli(&["demos", "generate", "--scenario", "cartpole", "--episodes", "3", "--out", d]);
    let log = cli(&[
        "train",
        "bc",
        "--scenario",
        "cartpole",
        "--demos",
        d,
        "--out",
        r,
        "--set",
        "epochs=3",
        "--device",
        "cpu",
    ]);
    assert!(log.contains("device: cpu (flex)"), "{log}");
    let metrics = || std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(metrics().starts_with("step,epoch,train/loss,val/loss,time/seconds,note\n"), "{}", metrics());
    assert_eq!(metrics().lines().count(), 4);
    cli(&["train", "bc", "--resume", r, "--set", "epochs=5", "--device", "cpu"]);
    let rows: Vec<Vec<String>> = metrics().lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    let epochs: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(epochs, ["0", "1", "2", "3", "4"], "the resumed run continues the epoch count");
    let steps: Vec<usize> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "and the step count: {steps:?}");
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("epochs = 5"), "the saved config is the one that ran: {config}");
    let eval = cli(&["eval", "--policy", r, "--episodes", "2"]);
    assert!(eval.is_empty() || !eval.contains("error"), "{eval}");
}

/// Python reading an export (`sys.argv[1]`) with numpy alone: `meta` (the description) and
/// `tensor(name)` (a weight).
pub const READ_EXPORT: &str = r#"
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = json.loads(header["__metadata__"]["apprentice.policy"])
def tensor(name):
    t = header[name]; a, b = t["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(t["shape"])
"#;

#[test]
fn an_exported_policy_runs_in_python_with_numpy_alone() {
    use apprentice::learn::run;
    use apprentice::sim::Env;
    let (mut env, episodes) = demos("reacher", 3);
    let config = BcConfig { epochs: 3, ..BcConfig::default() };
    let (mut policy, _) = apprentice::learn::bc::train(&env, &episodes, &config, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = run::export_safetensors(dir.path(), &env, &policy).unwrap();
    let obs = env.reset(77);
    let apprentice::sim::Action::Continuous(expected) = policy.act(&obs) else { panic!("reacher is continuous") };
    let script = READ_EXPORT.to_string()
        + r#"
x = (np.array(json.loads(sys.argv[2]), dtype=np.float32) - meta["normalizer"]["mean"]) / meta["normalizer"]["std"]
layers = len(meta["policy"]["hidden"]) + 1
for i in range(layers):
    x = x @ tensor(f"nets.0.layers.{i}.weight") + tensor(f"nets.0.layers.{i}.bias")
    if i < layers - 1:
        x = np.maximum(x, 0)
low, high = np.array(meta["action_space"]["low"]), np.array(meta["action_space"]["high"])
print(json.dumps((low + (np.clip(x, -1, 1) + 1) / 2 * (high - low)).tolist()))
"#;
    let out = Process::new("python3")
        .args(["-c", &script, path.to_str().unwrap(), &serde_json::to_string(&obs).unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let action: Vec<f32> = serde_json::from_slice(&out.stdout).unwrap();
    for (a, b) in action.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-4, "python {action:?} vs apprentice {expected:?}");
    }
}

#[test]
fn a_large_batch_splits_across_cores_and_trains_exactly_as_on_one() {
    // Batch 2048 through 64-wide layers: products large enough for BC's pass to run on the
    // whole rayon pool (`learn::threads`). The result must not depend on how many threads split them.
    let (env, episodes) = demos("reacher", 30);
    let mut config = BcConfig { batch_size: 2048, epochs: 3, ..BcConfig::default() };
    config.policy.hidden = vec![64, 64];
    let mut first = None;
    let mut train = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            assert!(apprentice::learn::threads::large_products(2048, 64), "the pass runs on the pool");
            let mut trainer = BcTrainer::new(&env, &episodes, &config, &Device::flex()).unwrap();
            // The same initial weights for both (Burn's initialization draws from a process-wide generator).
            trainer.resume(|net| Ok(first.get_or_insert(net).clone()), 0, 0).unwrap();
            let losses: Vec<f64> = (0..3).map(|_| trainer.epoch().unwrap().unwrap().train_loss).collect();
            (losses, trainer.policy().act(&episodes[0].steps[5].obs))
        })
    };
    let (one, two) = (train(1), train(2));
    assert!(one.0[2] < one.0[0], "BC learns: {:?}", one.0);
    assert_eq!(one, two, "one thread against two");
}
