//! Demonstrations: nothing finished is ever lost, bad files are reported and skipped,
//! replays are exact, and exports read back as the same data.

use apprentice::data::codec::{self, DataError, VERSION};
use apprentice::data::dataset::{Dataset, EpisodeFile, JOURNAL};
use apprentice::data::episode::{Episode, EpisodeMeta, Source, StepRecord};
use apprentice::data::ops::{self, Generator};
use apprentice::data::{Recorder, lerobot, minari, npz};
use apprentice::sim::{Action, Env, ScenarioEnv, builtin};
use proptest::prelude::*;
use std::path::Path;

fn generate(scenario: &str, episodes: usize, noise: f32, dir: &Path) -> (ScenarioEnv, Dataset) {
    let env = ScenarioEnv::load(scenario).unwrap();
    let (dataset, _) = Dataset::open(dir).unwrap();
    ops::generate(&env, Generator::Scripted, episodes, 0, noise, &dataset, &|| {}).unwrap();
    (env, dataset)
}

#[test]
fn every_builtin_scenario_replays_exactly_from_its_snapshot() {
    for (name, _) in builtin::BUILTINS {
        let dir = tempfile::tempdir().unwrap();
        let (mut env, dataset) = generate(name, 2, 0.1, dir.path());
        let loaded = dataset.load(Some(&env)).unwrap();
        assert_eq!(loaded.episodes.len(), 2, "{name}");
        for file in &loaded.episodes {
            assert_eq!(ops::replay(&mut env, file).unwrap(), None, "{name} {}", file.id);
        }
    }
}

#[test]
fn a_changed_action_is_caught_by_replay_with_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("cartpole", 1, 0.0, dir.path());
    let mut file = dataset.load(None).unwrap().episodes.remove(0);
    let Action::Discrete(a) = file.episode.steps[40].action else { panic!() };
    file.episode.steps[40].action = Action::Discrete(1 - a);
    let divergence = ops::replay(&mut env, &file).unwrap().expect("must diverge");
    assert_eq!(divergence.step, 41, "the observation after the changed action differs");
}

#[test]
fn noise_injection_keeps_the_clean_expert_label() {
    let dir = tempfile::tempdir().unwrap();
    let (_, dataset) = generate("pendulum", 2, 0.3, dir.path());
    let steps: Vec<StepRecord> =
        dataset.load(None).unwrap().episodes.into_iter().flat_map(|e| e.episode.steps).collect();
    let differing = steps.iter().filter(|s| s.expert_label.as_ref() != Some(&s.action)).count();
    assert!(differing > steps.len() / 2, "noisy actions differ from labels: {differing}/{}", steps.len());
    assert!(steps.iter().all(|s| s.source == Source::Expert && s.expert_label.is_some()));
}

fn sample_episode(env: &mut ScenarioEnv) -> Episode {
    let initial = {
        env.reset(5);
        env.state()
    };
    let step = |k: usize| StepRecord {
        obs: vec![k as f32, -1.5, f32::MIN_POSITIVE, 3.25],
        action: Action::Discrete(k % 2),
        reward: 1.0,
        terminated: false,
        truncated: k == 2,
        success: k == 1,
        source: [Source::Human, Source::Intervention, Source::Policy][k],
        expert_label: (k != 1).then_some(Action::Discrete(1)),
        time: 1.7e9 + k as f64,
    };
    let meta = EpisodeMeta {
        scenario: "cartpole".into(),
        scenario_hash: env.scenario().source_hash.clone(),
        seed: 5,
        device: "gamepad: Xbox Wireless Controller".into(),
        tags: vec!["morning".into(), "tricky".into()],
        note: "pole nearly fell at step 2".into(),
        partial: false,
    };
    Episode { meta, initial, steps: (0..3).map(step).collect(), final_obs: vec![9.0; 4] }
}

#[test]
fn every_field_survives_a_round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let episode = sample_episode(&mut env);
    let (dataset, _) = Dataset::open(dir.path()).unwrap();
    let ids = dataset.append(std::slice::from_ref(&episode)).unwrap();
    let loaded = dataset.load(Some(&env)).unwrap();
    assert_eq!(loaded.episodes[0].id, ids[0]);
    assert_eq!(loaded.episodes[0].episode, episode);
    let manifest = dataset.manifest().unwrap();
    assert_eq!(
        (manifest[0].steps, manifest[0].success, manifest[0].device.as_str()),
        (3, true, "gamepad: Xbox Wireless Controller")
    );
}

#[test]
fn an_interrupted_recording_loses_nothing_finished_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("cartpole", 3, 0.0, dir.path());
    // Record 30 steps, then "crash": the recorder is dropped unfinished (a dying process
    // closes its files, which releases the journal's lock), and its last frame is torn.
    let meta = sample_episode(&mut env).meta;
    let mut obs = env.reset(11);
    let mut recorder = Recorder::start(&dataset, meta, env.state()).unwrap();
    for k in 0..30 {
        let action = Action::Discrete(k % 2);
        let step = env.step(&action).unwrap();
        let record = StepRecord {
            obs: std::mem::replace(&mut obs, step.obs.clone()),
            action,
            reward: step.reward,
            terminated: step.terminated,
            truncated: step.truncated,
            success: step.success,
            source: Source::Human,
            expert_label: None,
            time: 0.0,
        };
        recorder.record(record, &step.obs).unwrap();
    }
    drop(recorder);
    let journal = dir.path().join(JOURNAL);
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() - 7]).unwrap();

    let (dataset, messages) = Dataset::open(dir.path()).unwrap();
    assert!(messages[0].contains("29 steps kept") && messages[0].contains("partial"), "{messages:?}");
    let loaded = dataset.load(Some(&env)).unwrap();
    assert_eq!(loaded.episodes.len(), 4, "three finished episodes and the recovered one");
    let recovered = loaded.episodes.iter().find(|e| e.episode.meta.partial).unwrap();
    assert_eq!(recovered.episode.len(), 29);
    assert_eq!(ops::replay(&mut env, recovered).unwrap(), None, "the recovered part replays exactly");
    assert!(!journal.exists());
}

#[test]
fn each_kind_of_bad_episode_file_gives_its_error_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (env, dataset) = generate("cartpole", 7, 0.0, dir.path());
    let ids = dataset.ids().unwrap();
    let path = |k: usize| dataset.episode_path(&ids[k]);
    let bytes = std::fs::read(path(0)).unwrap();
    // 0: truncated; 1: a flipped byte; 2: from a future version; 3: not an episode at all;
    // 4: recorded on an older version of the scenario file; 5: wrong observation size.
    std::fs::write(path(0), &bytes[..bytes.len() / 2]).unwrap();
    let mut flipped = std::fs::read(path(1)).unwrap();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    std::fs::write(path(1), flipped).unwrap();
    let mut future = std::fs::read(path(2)).unwrap();
    future[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
    std::fs::write(path(2), future).unwrap();
    std::fs::write(path(3), b"hello, not an episode").unwrap();
    let edit = |k: usize, f: &dyn Fn(&mut Episode)| {
        let mut e = codec::decode(&std::fs::read(path(k)).unwrap(), &path(k)).unwrap();
        f(&mut e);
        std::fs::write(path(k), codec::encode(&e)).unwrap();
    };
    edit(4, &|e| e.meta.scenario_hash = "0123456789abcdef0123456789abcdef".into());
    edit(5, &|e| e.steps[7].obs.push(0.0));

    let loaded = dataset.load(Some(&env)).unwrap();
    assert_eq!(loaded.episodes.len(), 1, "the one good episode loads");
    assert_eq!(loaded.episodes[0].id, ids[6]);
    let errors: Vec<String> = loaded.skipped.iter().map(|e| e.to_string()).collect();
    let expect = |k: usize, says: &str| {
        let file = path(k).display().to_string();
        assert!(errors.iter().any(|e| e.starts_with(&file) && e.contains(says)), "{k}: `{says}` not in {errors:#?}");
    };
    expect(0, "truncated");
    expect(1, "checksum");
    expect(2, &format!("format version {} is newer", VERSION + 1));
    expect(3, "not an apprentice episode");
    expect(4, "scenario file now hashes to");
    expect(5, "step 7: observation has 5 values");
    assert!(loaded.warning().unwrap().contains("6 episode file(s) skipped"));
    assert!(loaded.skipped.iter().find(|e| matches!(e, DataError::FutureVersion { .. })).is_some());
    // Nothing was deleted or rewritten.
    assert_eq!(dataset.ids().unwrap(), ids);
}

#[test]
fn trim_keeps_a_stretch_that_still_replays_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("lunar_lander", 1, 0.0, dir.path());
    let file = dataset.load(None).unwrap().episodes.remove(0);
    let trimmed = ops::trim(&mut env, &file, 50, 120).unwrap();
    assert_eq!(trimmed.steps, file.episode.steps[50..120]);
    dataset.replace(&file.id, &trimmed).unwrap();
    let reloaded = dataset.load(Some(&env)).unwrap().episodes.remove(0);
    assert_eq!(ops::replay(&mut env, &reloaded).unwrap(), None);
    assert!(ops::trim(&mut env, &reloaded, 30, 10).is_err());
}

#[test]
fn branching_restores_the_world_at_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("reacher", 1, 0.0, dir.path());
    let file = dataset.load(None).unwrap().episodes.remove(0);
    let (obs, before) = ops::branch(&mut env, &file, 20).unwrap();
    assert_eq!(before.len(), 20);
    assert_eq!(obs, file.episode.steps[20].obs, "the branch starts where step 20 was");
    // Continuing with the recorded action gives the recorded next observation.
    assert_eq!(env.step(&file.episode.steps[20].action).unwrap().obs, file.episode.steps[21].obs);
}

#[test]
fn npz_export_reads_back_as_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("push_t", 3, 0.05, &dir.path().join("d"));
    let loaded = dataset.load(Some(&env)).unwrap();
    let out = dir.path().join("d.npz");
    let n = npz::export(&loaded.episodes, env.action_space(), &out).unwrap();
    let mut archive = npyz::npz::NpzArchive::open(&out).unwrap();
    let obs = archive.by_name("observations").unwrap().unwrap();
    assert_eq!(obs.shape(), &[n as u64, 10]);
    let flat: Vec<f32> = obs.into_vec().unwrap();
    let steps: Vec<&StepRecord> = loaded.episodes.iter().flat_map(|e| &e.episode.steps).collect();
    assert_eq!(flat, steps.iter().flat_map(|s| s.obs.clone()).collect::<Vec<_>>());
    assert_eq!(archive.by_name("actions").unwrap().unwrap().shape(), &[n as u64, 2]);
    let starts: Vec<bool> = archive.by_name("episode_starts").unwrap().unwrap().into_vec().unwrap();
    assert_eq!(starts.iter().filter(|&&s| s).count(), 3);

    let imported = npz::import(&out, &mut env).unwrap();
    assert_eq!(imported.len(), 3);
    for (a, b) in imported.iter().zip(&loaded.episodes) {
        let strip = |s: &StepRecord| {
            (s.obs.clone(), s.action.clone(), s.reward.to_bits(), s.terminated, s.truncated, s.success, s.source)
        };
        assert_eq!(
            a.steps.iter().map(strip).collect::<Vec<_>>(),
            b.episode.steps.iter().map(strip).collect::<Vec<_>>()
        );
        assert_eq!(a.final_obs, b.episode.final_obs, "imported episodes re-simulate to the same end");
    }
}

/// An episode as another tool can carry it: everything but the wall-clock times and the notes.
fn portable(e: &Episode) -> (u64, Vec<StepRecord>, Vec<f32>) {
    let steps = e.steps.iter().map(|s| StepRecord { time: 0.0, ..s.clone() }).collect();
    (e.meta.seed, steps, e.final_obs.clone())
}

type Export = fn(&[EpisodeFile], &ScenarioEnv, &Path) -> Result<usize, DataError>;
type Import = fn(&Path, &mut ScenarioEnv) -> Result<apprentice::data::Imported, DataError>;

#[test]
fn minari_and_lerobot_exports_import_back_as_identical_episodes() {
    let formats: [(&str, Export, Import, &str); 2] = [
        ("minari", minari::export, minari::import, "data/2/part-0.parquet"),
        ("lerobot", lerobot::export, lerobot::import, "meta/episodes/chunk-000/file-000.parquet"),
    ];
    // Box actions with DART noise (expert labels differ from the actions), and Discrete ones.
    for (scenario, noise) in [("push_t", 0.05), ("cartpole", 0.2), ("lunar_lander", 0.1)] {
        let dir = tempfile::tempdir().unwrap();
        let (mut env, dataset) = generate(scenario, 3, noise, &dir.path().join("d"));
        let loaded = dataset.load(Some(&env)).unwrap();
        for (format, export, import, a_file) in formats {
            let out = dir.path().join(format);
            let n = export(&loaded.episodes, &env, &out).unwrap();
            assert_eq!(n, loaded.episodes.iter().map(|e| e.episode.len()).sum::<usize>());
            assert!(out.join(a_file).is_file(), "{format}: {a_file}");
            let imported = import(&out, &mut env).unwrap();
            assert!(imported.skipped.is_empty(), "{format} {scenario}: {:?}", imported.skipped);
            assert_eq!(imported.episodes.len(), 3, "{format} {scenario}");
            for (a, b) in imported.episodes.iter().zip(&loaded.episodes) {
                assert_eq!(portable(a), portable(&b.episode), "{format} {scenario} {}", b.id);
                assert_eq!(a.initial, b.episode.initial, "{format} {scenario}: it starts from the same world");
            }
            let labels = imported.episodes.iter().flat_map(|e| &e.steps).filter(|s| s.expert_label.is_some());
            assert!(labels.count() > 0, "{format} {scenario}: expert labels survive");
        }
    }
}

/// An export replaces an earlier export of its format whole, and refuses any other folder
/// that holds something (the dataset itself, a user's files), leaving it untouched; an import
/// of a folder in the other format, or the delete of a missing episode, says what is wrong.
#[test]
fn an_export_replaces_an_earlier_one_and_never_writes_among_other_files_and_imports_name_the_wrong_format() {
    let formats: [(&str, Export, Import); 2] =
        [("minari", minari::export, minari::import), ("lerobot", lerobot::export, lerobot::import)];
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("cartpole", 3, 0.0, &dir.path().join("d"));
    let loaded = dataset.load(Some(&env)).unwrap();
    let listing = |path: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    for (format, export, import) in formats {
        let out = dir.path().join(format);
        export(&loaded.episodes, &env, &out).unwrap();
        export(&loaded.episodes[..1], &env, &out).unwrap();
        let imported = import(&out, &mut env).unwrap();
        assert_eq!(imported.episodes.len(), 1, "{format}: the shorter export replaced the longer");
        if format == "minari" {
            assert_eq!(listing(&out.join("data")).len(), 2, "one episode folder and the metadata, nothing stale");
        }
        for target in [dataset.dir.clone(), dir.path().join("mine")] {
            std::fs::create_dir_all(&target).unwrap();
            std::fs::write(target.join("notes.txt"), "mine").unwrap();
            let before = listing(&target);
            let error = export(&loaded.episodes, &env, &target).unwrap_err().to_string();
            assert!(error.contains("not empty") && error.contains(&target.display().to_string()), "{error}");
            assert_eq!(listing(&target), before, "{format}: nothing written into {}", target.display());
        }
    }
    let error = |result: Result<apprentice::data::Imported, DataError>| result.err().unwrap().to_string();
    assert!(error(minari::import(&dir.path().join("lerobot"), &mut env)).contains("not a Minari dataset"));
    assert!(error(lerobot::import(&dir.path().join("minari"), &mut env)).contains("not a LeRobot dataset"));
    assert!(dataset.delete("ep-77").unwrap_err().to_string().contains("no episode `ep-77`"));
}

#[test]
fn a_broken_minari_episode_is_named_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let (mut env, dataset) = generate("cartpole", 2, 0.0, &dir.path().join("d"));
    let loaded = dataset.load(Some(&env)).unwrap();
    let out = dir.path().join("minari");
    minari::export(&loaded.episodes, &env, &out).unwrap();
    let victim = out.join("data/1/part-0.parquet");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let imported = minari::import(&out, &mut env).unwrap();
    assert_eq!(imported.episodes.len(), 1, "the intact episode still loads");
    assert_eq!(portable(&imported.episodes[0]), portable(&loaded.episodes[0].episode));
    let message = imported.skipped[0].to_string();
    assert!(message.contains("data/1/part-0.parquet"), "{message}");
    let mut pendulum = ScenarioEnv::load("pendulum").unwrap();
    let message = minari::import(&out, &mut pendulum).unwrap().skipped[0].to_string();
    assert!(message.contains("observations"), "a dataset of another scenario: {message}");
}

#[test]
fn split_is_seeded_and_disjoint() {
    let ids: Vec<String> = (0..10).map(|k| format!("ep-{k:06}")).collect();
    let a = ops::split(&ids, 0.2, 3);
    assert_eq!(a, ops::split(&ids, 0.2, 3));
    assert_eq!((a.train.len(), a.val.len()), (8, 2));
    assert!(a.val.iter().all(|v| !a.train.contains(v)));
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop::collection::vec(-1e6f32..1e6, 0..4).prop_map(Action::Continuous),
        (0usize..1000).prop_map(Action::Discrete),
        prop::collection::vec(0usize..9, 0..4).prop_map(Action::MultiDiscrete),
    ]
}

fn step() -> impl Strategy<Value = StepRecord> {
    (
        prop::collection::vec(any::<f32>(), 0..6),
        action(),
        any::<f32>(),
        any::<(bool, bool, bool)>(),
        0u8..4,
        prop::option::of(action()),
        any::<f64>(),
    )
        .prop_map(|(obs, action, reward, (terminated, truncated, success), source, expert_label, time)| {
            StepRecord {
                obs,
                action,
                reward,
                terminated,
                truncated,
                success,
                source: Source::from_code(source).unwrap(),
                expert_label,
                time,
            }
        })
}

proptest! {
    #[test]
    fn codec_round_trips_any_episode(steps in prop::collection::vec(step(), 0..20), seed in any::<u64>(), note in ".*", physics in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut env = ScenarioEnv::load("cartpole").unwrap();
        let mut e = sample_episode(&mut env);
        e.steps = steps;
        e.meta.seed = seed;
        e.meta.note = note;
        e.initial.physics = physics;
        let decoded = codec::decode(&codec::encode(&e), Path::new("x.apd")).unwrap();
        // Compare bit patterns: NaN != NaN, but a round trip must keep the very bits.
        prop_assert_eq!(postcard::to_stdvec(&decoded).unwrap(), postcard::to_stdvec(&e).unwrap());
    }

    #[test]
    fn codec_never_panics_on_damaged_bytes(cut in 0usize..400, flip in 0usize..400) {
        let mut env = ScenarioEnv::load("cartpole").unwrap();
        let mut bytes = codec::encode(&sample_episode(&mut env));
        let flip = flip % bytes.len();
        bytes[flip] ^= 0xFF;
        bytes.truncate(cut.min(bytes.len()));
        prop_assert!(codec::decode(&bytes, Path::new("x.apd")).is_err());
    }
}

/// The README's two-line numpy snippet, run by numpy itself (`make test` installs numpy).
#[test]
fn numpy_loads_an_export_with_the_documented_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (env, dataset) = generate("lunar_lander_continuous", 2, 0.0, &dir.path().join("d"));
    let loaded = dataset.load(Some(&env)).unwrap();
    let out = dir.path().join("d.npz");
    let n = npz::export(&loaded.episodes, env.action_space(), &out).unwrap();
    let script = format!(
        "import numpy as np\nd = np.load({:?})\nprint(';'.join(f'{{k}}={{d[k].dtype}}{{d[k].shape}}' for k in sorted(d.files)))",
        out.display().to_string()
    );
    let run = std::process::Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let printed = String::from_utf8(run.stdout).unwrap();
    let expected = format!(
        "actions=float32({n}, 2);episode_seeds=uint64(2,);episode_starts=bool({n},);expert_actions=float32({n}, 2);\
         observations=float32({n}, 9);rewards=float32({n},);sources=uint8({n},);successes=bool({n},);\
         terminals=bool({n},);truncations=bool({n},)"
    );
    assert_eq!(printed.trim(), expected);
}

/// Excluded episodes stay on disk, `train` leaves them out and records which it used, and a
/// curation file that does not read is an error naming it.
#[test]
fn excluded_episodes_are_kept_and_training_leaves_them_out() {
    use apprentice::learn::run::{self, RunConfig};
    let dir = tempfile::tempdir().unwrap();
    let (env, dataset) = generate("cartpole", 4, 0.0, dir.path());
    let ids = dataset.ids().unwrap();
    dataset.set_included(&ids[1..3], false).unwrap();
    assert_eq!(dataset.included_ids().unwrap(), [ids[0].clone(), ids[3].clone()]);
    assert_eq!(dataset.ids().unwrap().len(), 4);
    let mut config = RunConfig::new("bc", "cartpole", dir.path().to_path_buf()).unwrap();
    let loaded = run::demonstrations(&mut config, &env).unwrap();
    assert_eq!(loaded.episodes.len(), 2);
    assert!(loaded.notes.iter().any(|n| n.contains("2 of 4 episodes excluded")), "{:?}", loaded.notes);
    assert_eq!(config.episodes, Some(vec![ids[0].clone(), ids[3].clone()]));
    dataset.set_included(&ids[1..2], true).unwrap();
    assert_eq!(dataset.included_ids().unwrap().len(), 3);

    std::fs::write(dir.path().join("curation.json"), "{ not json").unwrap();
    let err = dataset.included_ids().unwrap_err().to_string();
    assert!(err.contains("curation.json") && err.contains("not a curation file"), "{err}");
}
