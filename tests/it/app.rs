//! The app's plugins without a window (MinimalPlugins, one fixed step per update): keyboard
//! and gamepad input reach the simulation and are recorded with the right source, takeovers
//! are interventions, an unplugged pad pauses, a failing trainer shows an error, closing
//! keeps finished episodes, replays branch and trim, keyboard demos train a policy, and the
//! split view runs a second checkpoint on the same seeds.

use apprentice::app::{
    self, Driver, Errors, Ghosts, Options, Phase, Recording, Replay, Scenarios, Session, Split, Track, Training,
};
use apprentice::data::{Dataset, Source};
use apprentice::learn::run;
use apprentice::sim::Action;
use bevy::input::gamepad::{GamepadConnection, GamepadConnectionEvent};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use std::time::Duration;

struct Harness {
    app: App,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(scenario: &str, driver: Driver) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options::new(scenario);
        options.demos = Some(dir.path().join("demos"));
        options.home = Some(dir.path().to_path_buf());
        options.driver = driver;
        let (session, recording, training, bindings, _) = app::resources(&options).unwrap();
        let dt = session.env.scenario().timestep as f64;
        let mut bevy_app = App::new();
        bevy_app
            .add_plugins((MinimalPlugins, bevy::input::InputPlugin))
            .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(dt)))
            .insert_resource(session)
            .insert_resource(recording)
            .insert_resource(training)
            .insert_resource(bindings)
            .insert_resource(Scenarios::new(options))
            .add_plugins(app::core_plugin);
        let mut harness = Harness { app: bevy_app, _dir: dir };
        // Let the clock start and the fixed timestep settle on the scenario's.
        harness.app.update();
        harness.app.update();
        harness
    }

    fn session(&mut self) -> Mut<'_, Session> {
        self.app.world_mut().resource_mut::<Session>()
    }

    fn recording(&mut self) -> Mut<'_, Recording> {
        self.app.world_mut().resource_mut::<Recording>()
    }

    /// Updates until the simulation has taken `n` more steps (one per update once running).
    fn steps(&mut self, n: u32) {
        let target = self.total_steps() + n as u64;
        for _ in 0..n * 3 + 10 {
            if self.total_steps() >= target {
                return;
            }
            self.app.update();
        }
        panic!("the simulation did not take {n} steps");
    }

    fn total_steps(&mut self) -> u64 {
        let s = self.session();
        s.outcomes.len() as u64 * 1_000_000 + s.env.steps() as u64
    }

    fn start_recording(&mut self) {
        self.app.world_mut().resource_scope(|world, mut recording: Mut<Recording>| {
            recording.start(&mut world.resource_mut::<Session>());
        });
    }

    fn press(&mut self, key: KeyCode) {
        self.app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(key);
    }

    fn release_all(&mut self) {
        self.app.world_mut().resource_mut::<ButtonInput<KeyCode>>().release_all();
    }

    fn dataset(&mut self) -> Dataset {
        self.recording().dataset.clone()
    }
}

#[test]
fn keyboard_actions_reach_the_simulation_and_are_recorded_as_human() {
    let mut h = Harness::new("cartpole", Driver::Human);
    h.start_recording();
    h.press(KeyCode::ArrowRight);
    h.steps(4);
    let executed = h.session().proposals.executed.clone();
    assert_eq!(executed, Some(Action::Discrete(1)), "ArrowRight pushes right");
    h.release_all();
    h.steps(4);
    assert_eq!(h.session().proposals.executed, Some(Action::Discrete(0)), "nothing pressed: the idle choice");
    h.recording().stop();
    let loaded = h.dataset().load(None).unwrap();
    let episode = &loaded.episodes[0].episode;
    assert!(episode.len() >= 8, "every step recorded, in one episode");
    assert!(episode.steps.iter().all(|s| s.source == Source::Human && s.expert_label.is_none()));
    assert_eq!(episode.meta.device, "keyboard");
    assert_eq!(episode.steps[2].action, Action::Discrete(1));
    assert_eq!(episode.steps.last().unwrap().action, Action::Discrete(0));
    // The recorded episode replays exactly.
    let mut env = h.session().env.clone();
    assert_eq!(apprentice::data::ops::replay(&mut env, &loaded.episodes[0]).unwrap(), None);
}

#[test]
fn a_gamepad_stick_drives_a_continuous_action_and_unplugging_it_pauses() {
    let mut h = Harness::new("reacher", Driver::Human);
    let pad = h.app.world_mut().spawn((Gamepad::default(), Name::new("Test Pad"))).id();
    h.app.world_mut().get_mut::<Gamepad>(pad).unwrap().analog_mut().set(GamepadAxis::LeftStickX, 0.5);
    h.start_recording();
    h.steps(10);
    // reacher binds LeftStickX inverted to the shoulder torque in [-1, 1].
    let Some(Action::Continuous(a)) = h.session().proposals.executed.clone() else { panic!("a continuous action") };
    assert!((a[0] + 0.5).abs() < 1e-6 && a[1] == 0.0, "stick at 0.5 (inverted) gives -0.5: {a:?}");
    assert_eq!(h.session().proposals.source, Some(Source::Human));

    h.app.world_mut().write_message(GamepadConnectionEvent::new(pad, GamepadConnection::Disconnected));
    h.app.update();
    let steps = h.session().env.steps();
    for _ in 0..10 {
        h.app.update();
    }
    assert!(h.session().paused.is_some(), "an unplugged pad pauses the episode");
    assert_eq!(h.session().env.steps(), steps, "no step while paused");
    h.session().paused = None;
    h.steps(3);
    h.recording().stop();
    let episode = h.dataset().load(None).unwrap().episodes.remove(0).episode;
    assert_eq!(episode.meta.device, "Test Pad");
    assert_eq!(episode.len() as u32, steps + 3, "nothing recorded was lost across the pause");
}

#[test]
fn taking_over_from_the_policy_is_recorded_as_an_intervention_and_blends() {
    let mut h = Harness::new("cartpole", Driver::Policy);
    assert!(h.session().policy.is_some(), "the bundled policy is loaded");
    h.start_recording();
    h.steps(10);
    assert_eq!(h.session().proposals.source, Some(Source::Policy));
    h.press(KeyCode::ArrowLeft);
    h.steps(5);
    assert_eq!(h.session().proposals.source, Some(Source::Intervention));
    assert_eq!(h.session().proposals.executed, Some(Action::Discrete(0)));
    h.release_all();
    h.steps(5);
    h.recording().stop();
    let episode = h.dataset().load(None).unwrap().episodes.remove(0).episode;
    let sources: Vec<Source> = episode.steps.iter().map(|s| s.source).collect();
    assert!(sources.contains(&Source::Policy) && sources.contains(&Source::Intervention));

    // Blending: a weight w of the human's continuous action.
    let mixed = app::blend(&Action::Continuous(vec![1.0, -1.0]), &Action::Continuous(vec![0.0, 1.0]), 0.25);
    assert_eq!(mixed, Action::Continuous(vec![0.75, -0.5]));
    assert_eq!(app::blend(&Action::Discrete(1), &Action::Discrete(0), 0.4), Action::Discrete(1));
    assert_eq!(app::blend(&Action::Discrete(1), &Action::Discrete(0), 0.6), Action::Discrete(0));
}

#[test]
fn a_failing_trainer_shows_an_error_and_the_app_keeps_stepping() {
    let mut h = Harness::new("pendulum", Driver::Expert);
    h.start_recording();
    h.steps(60);
    h.recording().stop();
    h.app.world_mut().resource_scope(|world, mut training: Mut<Training>| {
        training.set("lr", "1e12").unwrap();
        let dataset = world.resource::<Recording>().dataset.clone();
        training.start(&world.resource::<Session>().env, &dataset).unwrap();
    });
    for _ in 0..3000 {
        h.app.update();
        if !h.app.world().resource::<Errors>().0.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let errors = h.app.world().resource::<Errors>().0.clone();
    assert!(
        errors.iter().any(|e| e.contains("training failed") && e.contains("lower the learning rate")),
        "{errors:?}"
    );
    assert!(matches!(h.app.world().resource::<Training>().phase, Phase::Failed(_)));
    h.steps(5);
}

#[test]
fn closing_mid_recording_keeps_every_finished_episode_and_the_one_in_progress() {
    let mut h = Harness::new("mountain_car", Driver::Expert);
    h.start_recording();
    while h.session().outcomes.len() < 2 {
        h.app.update();
    }
    h.steps(7);
    h.app.world_mut().write_message(AppExit::Success);
    h.app.update();
    let loaded = h.dataset().load(None).unwrap();
    assert_eq!(loaded.episodes.len(), 3, "two finished episodes and the one in progress");
    assert!(
        loaded.episodes[..2]
            .iter()
            .all(|f| f.episode.success() && f.episode.steps.iter().all(|s| s.source == Source::Expert))
    );
    assert!(loaded.episodes[2].episode.len() >= 7);
}

#[test]
fn an_episode_replays_trims_and_branches_into_a_new_recording() {
    let mut h = Harness::new("pendulum", Driver::Expert);
    h.start_recording();
    h.steps(40);
    h.recording().stop();
    let id = h.recording().episodes[0].id.clone();
    let original = h.dataset().read(&id).unwrap().episode;
    let world = h.app.world_mut();
    world.resource_scope(|world, mut replay: Mut<Replay>| {
        world.resource_scope(|world, mut recording: Mut<Recording>| {
            let mut session = world.resource_mut::<Session>();
            replay.open(&recording, &id, &mut session).unwrap();
            replay.seek(25, &mut session).unwrap();
            assert_eq!(session.obs, original.steps[25].obs, "scrubbing re-simulates the exact state");
            replay.seek(10, &mut session).unwrap();
            replay.branch(&mut recording, &mut session).unwrap();
        });
    });
    assert!(!h.app.world().resource::<Replay>().is_active());
    h.session().driver = Driver::Human;
    h.steps(5);
    h.recording().stop();
    let episodes = h.dataset().load(None).unwrap().episodes;
    assert_eq!(episodes.len(), 2);
    let branched = &episodes[1].episode;
    assert_eq!(branched.len(), 15, "10 steps kept from the original, 5 new");
    assert_eq!(branched.steps[..10], original.steps[..10]);
    assert!(branched.steps[10..].iter().all(|s| s.source == Source::Human));
    let mut env = h.session().env.clone();
    assert_eq!(apprentice::data::ops::replay(&mut env, &episodes[1]).unwrap(), None, "a branch replays exactly");

    // Trim the original to steps 5..30.
    h.app.world_mut().resource_scope(|world, mut replay: Mut<Replay>| {
        world.resource_scope(|world, mut recording: Mut<Recording>| {
            let mut session = world.resource_mut::<Session>();
            replay.open(&recording, &id, &mut session).unwrap();
            replay.keep = (5, 30);
            replay.trim(&mut recording, &mut session).unwrap();
            replay.close(&mut session);
        });
    });
    let trimmed = h.dataset().read(&id).unwrap();
    assert_eq!(trimmed.episode.steps[..], original.steps[5..30]);
    assert_eq!(apprentice::data::ops::replay(&mut env, &trimmed).unwrap(), None);
}

/// A human's keyboard: presses the key for the expert's choice, but only every third step
/// (a slow reaction) — the expert's knowledge through the real input path.
#[test]
fn five_keyboard_demos_train_a_policy_that_balances_the_pole() {
    let mut h = Harness::new("cartpole", Driver::Human);
    h.session().speed = app::Speed::Times(0.5);
    let mut expert = h.session().env.scenario().expert.clone().unwrap().policy();
    h.start_recording();
    let mut k = 0u64;
    while h.recording().episodes.len() < 5 {
        if k.is_multiple_of(3) {
            let (env, obs, seed) = {
                let s = h.session();
                (s.env.clone(), s.obs.clone(), s.seed)
            };
            expert.reset(seed);
            let key =
                if expert.act(&env, &obs) == Action::Discrete(1) { KeyCode::ArrowRight } else { KeyCode::ArrowLeft };
            h.release_all();
            h.press(key);
        }
        h.app.update();
        k += 1;
        assert!(k < 20_000, "five episodes were recorded");
    }
    h.recording().stop();
    let loaded = h.dataset().load(None).unwrap();
    assert!(loaded.episodes.iter().all(|f| f.episode.meta.device == "keyboard"));
    let run_dir = train_to_the_end(&mut h, 60);
    let training = h.app.world().resource::<Training>();
    assert!(training.rows.iter().any(|r| r.value("val/loss").is_finite()), "the plots got data");
    let env = h.session().env.clone();
    let policy = run::load_mlp(&run_dir, &env).unwrap();
    let report = crate::learn::report(&env, &policy, 10);
    assert!(report.return_mean >= 475.0, "the policy balances the pole: {report:?}");
    assert!(h.session().policy.as_ref().unwrap().label.starts_with("training step"), "the newest policy drives");
}

#[test]
fn the_split_view_runs_a_second_checkpoint_in_step_on_the_same_seeds() {
    let mut h = Harness::new("cartpole", Driver::Policy);
    h.steps(7);
    let policy = run::load_policy(&app::bundled("cartpole").join("policy"), &h.session().env).unwrap();
    h.app.world_mut().resource_scope(|world, mut split: Mut<Split>| {
        world.resource_scope(|world, mut recording: Mut<Recording>| {
            split.open(&mut world.resource_mut::<Session>(), &mut recording, policy, "the same checkpoint".into());
        });
    });
    assert_eq!(h.session().env.steps(), 0, "both sides start the episode afresh");
    h.steps(40);
    let (main_obs, main_steps, main_seed) = {
        let s = h.session();
        (s.obs.clone(), s.env.steps(), s.seed)
    };
    {
        let split = h.app.world().resource::<Split>();
        let rival = &split.rival.as_ref().unwrap().session;
        assert_eq!((rival.env.steps(), rival.seed), (main_steps, main_seed), "the two sides step together");
        assert_eq!(rival.obs, main_obs, "the same checkpoint on the same seed does the same thing");
    }
    // Finish an episode on both sides: the comparison pairs them by seed.
    let mut updates = 0;
    while h.app.world().resource::<Split>().compare(h.app.world().resource::<Session>()).is_none() {
        h.app.update();
        updates += 1;
        assert!(updates < 2_000, "an episode finished on both sides");
    }
    let comparison = h.app.world().resource::<Split>().compare(h.app.world().resource::<Session>()).unwrap();
    assert_eq!(comparison.episodes, 1);
    assert_eq!(comparison.left_mean, comparison.right_mean, "{comparison:?}");
    assert_eq!(comparison.right_wins, 0);
    assert!(h.recording().episodes.is_empty(), "nothing the split view shows is recorded");
    h.app.world_mut().resource_mut::<Split>().close();
    h.steps(3);
}

#[test]
fn a_policy_with_nan_weights_shows_an_error_and_the_human_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new("pendulum", Driver::Policy);
    h.start_recording();
    h.steps(40);
    h.recording().stop();
    let env = h.session().env.clone();
    let (policy, _) = {
        let dataset = h.dataset();
        let episodes: Vec<_> = dataset.load(None).unwrap().episodes.into_iter().map(|f| f.episode).collect();
        let config = apprentice::learn::bc::BcConfig { epochs: 1, ..Default::default() };
        apprentice::learn::bc::train(&env, &episodes, &config, &mut |_| {}).unwrap()
    };
    use burn::module::Module;
    let nan = policy.net.clone().map(&mut Poison);
    let mut poisoned = policy.clone();
    poisoned.net = nan;
    h.session().set_policy(Box::new(poisoned), dir.path().display().to_string());
    h.session().driver = Driver::Policy;
    for _ in 0..20 {
        h.app.update();
    }
    let errors = h.app.world().resource::<Errors>().0.clone();
    assert!(errors.iter().any(|e| e.contains(&dir.path().display().to_string()) && e.contains("NaN")), "{errors:?}");
    assert_eq!(h.session().driver, Driver::Human, "the human drives after the refusal");
    h.steps(5);
}

/// Sets every weight to NaN.
struct Poison;
impl burn::module::ModuleMapper for Poison {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::prelude::Tensor<D>>,
    ) -> burn::module::Param<burn::prelude::Tensor<D>> {
        param.map(|t| t.mul_scalar(f32::NAN))
    }
}

#[test]
fn episodes_the_expert_drove_are_recorded_as_scripted() {
    let mut h = Harness::new("mountain_car", Driver::Expert);
    h.start_recording();
    while h.session().outcomes.is_empty() {
        h.app.update();
    }
    h.recording().stop();
    let loaded = h.dataset().load(None).unwrap();
    assert!(!loaded.episodes.is_empty());
    assert!(
        loaded.episodes.iter().all(|f| f.episode.meta.device == "scripted"),
        "{:?}",
        loaded.episodes[0].episode.meta
    );
}

#[test]
fn a_bindings_file_that_does_not_fit_the_actions_is_reported_and_the_defaults_drive() {
    use apprentice::app::ActiveBindings;
    use apprentice::sim::scenario::Bindings;
    let env = apprentice::sim::ScenarioEnv::load("cartpole").unwrap();
    let defaults = env.scenario().bindings.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindings.ron");
    let Some(Bindings::Choices { choices, .. }) = defaults.clone() else { panic!("cartpole binds choices") };
    let broken = Bindings::Choices { idle: 7, choices };
    std::fs::write(&path, ron::to_string(&broken).unwrap()).unwrap();
    let (active, problem) = ActiveBindings::load(defaults, path.clone(), apprentice::sim::Env::action_space(&env));
    let problem = problem.expect("the bad file is reported");
    assert!(problem.contains(&path.display().to_string()) && problem.contains("idle 7"), "{problem}");
    assert!(
        matches!(active.bindings, Some(Bindings::Choices { idle, .. }) if idle < 2),
        "the scenario's bindings are used"
    );
}

/// Trains the Train tab's configuration on the dataset's included episodes until it finishes;
/// returns the run directory.
fn train_to_the_end(h: &mut Harness, epochs: usize) -> std::path::PathBuf {
    h.app.world_mut().resource_scope(|world, mut training: Mut<Training>| {
        training.device = apprentice::learn::device::DeviceChoice::Cpu;
        training.set("epochs", &epochs.to_string()).unwrap();
        let dataset = world.resource::<Recording>().dataset.clone();
        training.start(&world.resource::<Session>().env, &dataset).unwrap();
    });
    while h.app.world().resource::<Training>().is_running() {
        h.app.update();
        std::thread::sleep(Duration::from_millis(1));
    }
    let training = h.app.world().resource::<Training>();
    assert_eq!(training.phase, Phase::Finished, "{:?}", h.app.world().resource::<Errors>().0);
    training.run_dir.clone().unwrap()
}

/// The README's walkthrough: thirty failed keyboard attempts (the right arrow held until the
/// pole falls) beside five good episodes; "exclude failures" in the Episodes tab, then Train.
#[test]
fn excluding_thirty_failed_attempts_trains_a_policy_that_balances_the_pole() {
    use apprentice::data::Filter;
    let mut h = Harness::new("cartpole", Driver::Human);
    h.start_recording();
    h.press(KeyCode::ArrowRight);
    while h.recording().episodes.len() < 30 {
        h.app.update();
    }
    h.release_all();
    h.session().driver = Driver::Expert;
    while h.recording().episodes.len() < 35 {
        h.app.update();
    }
    h.recording().stop();
    let episodes = h.recording().episodes.clone();
    assert_eq!(episodes.iter().filter(|e| e.success).count(), 5, "{episodes:?}");
    let env = h.session().env.clone();

    let all_dir = train_to_the_end(&mut h, 60);
    let with_failures = crate::learn::report(&env, run::load_policy(&all_dir, &env).unwrap().as_ref(), 10);

    let excluded = app::set_matching(&mut h.recording(), &Filter::failures(), false).unwrap();
    assert_eq!(excluded, 30);
    assert_eq!(h.recording().included(), 5);
    assert_eq!(h.dataset().ids().unwrap().len(), 35, "excluding deletes nothing");
    let curated_dir = train_to_the_end(&mut h, 60);
    let curated = crate::learn::report(&env, run::load_policy(&curated_dir, &env).unwrap().as_ref(), 10);
    let config = run::load_config(&curated_dir).unwrap();
    let good: Vec<String> = episodes.iter().filter(|e| e.success).map(|e| e.id.clone()).collect();
    assert_eq!(config.episodes.as_ref(), Some(&good), "the run's config records which episodes it used");
    eprintln!(
        "walkthrough: return {:.1} on all 35 episodes, {:.1} with the 30 failures excluded",
        with_failures.return_mean, curated.return_mean
    );
    assert!(curated.return_mean >= 475.0, "the curated policy balances the pole: {curated:?}");
    assert!(
        with_failures.return_mean < curated.return_mean,
        "the failures hurt: {:.1} with them, {:.1} without",
        with_failures.return_mean,
        curated.return_mean
    );
}

/// At 8× a frame holds eight steps and at "max" as many as fit; every recorded step is still
/// one scenario timestep, so the episodes replay exactly.
#[test]
fn faster_speeds_take_more_steps_per_frame_and_record_exact_episodes() {
    use apprentice::data::ops;
    let mut h = Harness::new("cartpole", Driver::Expert);
    h.start_recording();
    h.session().speed = app::Speed::Times(8.0);
    h.app.update();
    let before = h.session().env.steps();
    h.app.update();
    assert_eq!(h.session().env.steps() - before, 8, "8× takes eight steps per frame");
    h.session().speed = app::Speed::Max;
    while h.recording().episodes.len() < 2 {
        h.app.update();
    }
    h.recording().stop();
    let mut env = h.session().env.clone();
    let files = h.dataset().load(Some(&env)).unwrap().episodes;
    assert!(files.len() >= 2 && files[..2].iter().all(|f| f.episode.len() == 500), "two whole episodes");
    for file in files {
        assert_eq!(ops::replay(&mut env, &file).unwrap(), None, "{} replays exactly", file.id);
    }
}

/// Saving the open scenario file reloads it; a broken save shows its line and column and the
/// previous version keeps running; the next good save clears the error.
#[test]
fn an_edited_scenario_file_reloads_and_a_broken_edit_keeps_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my_cartpole.ron");
    let original = std::fs::read_to_string(apprentice::sim::builtin::builtin_path("cartpole")).unwrap();
    std::fs::write(&path, &original).unwrap();
    let mut h = Harness::new(path.to_str().unwrap(), Driver::Expert);
    h.steps(5);
    assert_eq!(h.session().env.scenario().max_steps, 500);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&path, original.replace("max_steps: 500,", "max_steps: 120,")).unwrap();
    h.app.update();
    assert_eq!(h.session().env.scenario().max_steps, 120, "the edit is running");
    assert!(h.recording().status.contains("reloaded"), "{}", h.recording().status);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&path, original.replace("max_steps: 500,", "max_stepz: 120,")).unwrap();
    h.app.update();
    let error = h.app.world().resource::<Scenarios>().reload_error.clone().expect("the broken edit is reported");
    assert!(error.contains(&format!("{}:10:", path.display())) && error.contains("max_stepz"), "{error}");
    assert_eq!(h.session().env.scenario().max_steps, 120, "the previous version keeps running");
    h.steps(5);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&path, original.replace("max_steps: 500,", "max_steps: 80,")).unwrap();
    h.app.update();
    assert!(h.app.world().resource::<Scenarios>().reload_error.is_none());
    assert_eq!(h.session().env.scenario().max_steps, 80);
}

/// The scenario picker's switch rebuilds the session, dataset and runs for the new scenario.
#[test]
fn switching_scenario_opens_its_own_dataset_and_runs() {
    let mut h = Harness::new("cartpole", Driver::Expert);
    h.steps(3);
    h.app.world_mut().resource_mut::<Scenarios>().request = Some("pendulum".into());
    h.app.update();
    assert_eq!(h.session().env.scenario().name, "pendulum");
    let demos = h.dataset().dir;
    assert!(demos.ends_with("pendulum/demos"), "{}", demos.display());
    assert!(h.app.world().resource::<Training>().runs_dir.ends_with("pendulum/runs"));
    assert!(h.app.world().resource::<Errors>().0.is_empty(), "{:?}", h.app.world().resource::<Errors>().0);
    h.steps(3);
}

/// The ghost rollout is what the policy then does: simulated from the state on screen, its
/// frames are the ones the scene shows as the policy drives on.
#[test]
fn the_ghost_rollout_is_the_policys_own_continuation() {
    let mut h = Harness::new("cartpole", Driver::Policy);
    h.steps(7);
    let (env, obs, policy) = {
        let s = h.session();
        (s.env.clone(), s.obs.clone(), s.policy.as_ref().expect("the bundled policy").policy.clone())
    };
    let mut ghost_policy = policy.clone();
    let ghost = app::ghost_rollout(&env, &obs, ghost_policy.as_mut(), 20);
    assert_eq!(ghost.len(), 20);
    for (k, expected) in ghost.iter().enumerate() {
        h.steps(1);
        assert_eq!(&h.session().frames[1], expected, "step {k} ahead");
    }
}

/// A flow-matching policy drives the app like any other kind: its chunks act in the scene,
/// its sampled continuations reach the ghost channel's policy flag.
#[test]
fn a_flow_policy_drives_the_scene() {
    use apprentice::learn::generative::{self, GenerativeConfig};
    let mut h = Harness::new("pendulum", Driver::Policy);
    let mut env = h.session().env.clone();
    let expert = env.scenario().expert.clone().unwrap();
    let episodes: Vec<_> = (0..4)
        .map(|seed| {
            apprentice::data::ops::record_episode(
                &mut env,
                &expert,
                apprentice::data::ops::Generator::Scripted,
                seed,
                0.0,
            )
            .unwrap()
        })
        .collect();
    let mut config = GenerativeConfig { epochs: 2, ..GenerativeConfig::default() };
    config.policy.hidden = vec![32];
    let policy = generative::train(&env, &episodes, &config).unwrap();
    assert!(apprentice::learn::artifact::PolicyArtifact::stochastic(&policy));
    h.session().set_policy(Box::new(policy), "flow".into());
    h.steps(20);
    let s = h.session();
    assert_eq!(s.effective_driver(), Driver::Policy);
    assert_eq!(s.proposals.source, Some(Source::Policy));
    assert!(matches!(&s.proposals.executed, Some(Action::Continuous(a)) if a.iter().all(|x| x.is_finite())));
    // The Policy view's ghosts: the mode's continuation and sampled ones, each as long as
    // asked, and the first actions of 48 sampled chunks as the scatter.
    let (tracks, actions) = wait_for_ghosts(&mut h);
    let ghosts = h.app.world().resource::<Ghosts>();
    assert_eq!(tracks.len(), 1 + ghosts.samples, "{:?}", tracks.iter().map(|t| &t.label).collect::<Vec<_>>());
    assert!(tracks.iter().all(|t| t.frames.len() == ghosts.horizon));
    assert!(tracks[1..].windows(2).any(|w| w[0].frames != w[1].frames), "sampled continuations differ");
    assert_eq!(actions.len(), 48);
    assert!(actions.windows(2).any(|w| w[0] != w[1]), "sampled chunks differ");
}

/// The ghosts once their thread has simulated them (a few seconds at most).
fn wait_for_ghosts(h: &mut Harness) -> (Vec<Track>, Vec<Action>) {
    let start = std::time::Instant::now();
    while h.app.world().resource::<Ghosts>().tracks.is_empty() {
        assert!(start.elapsed().as_secs() < 30, "no ghost tracks after 30 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.app.update();
    }
    let ghosts = h.app.world().resource::<Ghosts>();
    (ghosts.tracks.clone(), ghosts.actions.clone())
}

/// A run with a learned reward, loaded to drive the scene, turns on the reward view: every
/// step the scene takes is scored by that reward, as the model itself scores the transition.
#[test]
fn the_learned_reward_of_the_loaded_run_scores_each_step_of_the_scene() {
    use apprentice::learn::artifact::Artifact;
    use apprentice::learn::policy::{Activation, Normalizer};
    use apprentice::learn::reward::{Divergence, RewardModel, Transition};
    let mut h = Harness::new("cartpole", Driver::Policy);
    let env = h.session().env.clone();
    let normalizer = Normalizer { mean: vec![0.0; 4], std: vec![1.0; 4] };
    let device = burn::prelude::Device::flex();
    let model = RewardModel::new(&env, (false, Divergence::Js), (&[8], Activation::Relu), normalizer, &device);
    let run = tempfile::tempdir().unwrap();
    model.save(run.path()).unwrap();
    let policy = h.session().policy.as_ref().unwrap().policy.clone();
    h.session().set_policy(policy, run.path().display().to_string());
    h.steps(10);
    let before = h.session().obs.clone();
    h.steps(1);
    let (action, next) = {
        let s = h.session();
        (s.proposals.executed.clone().unwrap(), s.obs.clone())
    };
    let view = h.app.world().resource::<apprentice::app::LearnedReward>();
    assert!(view.enabled && view.model.as_ref().is_some_and(|(_, d)| d == run.path()));
    assert!(view.scores.len() >= 10, "{} scores", view.scores.len());
    let expected = model.score(&[Transition { obs: &before, action: &action, next: &next }])[0];
    assert_eq!(view.scores.back(), Some(&expected));
}

/// The runs tab's Settings: the next run takes a run's algorithm and hyperparameters and keeps
/// this scenario and dataset; an algorithm that cannot act here is refused, the form unchanged.
#[test]
fn a_runs_settings_become_the_next_runs() {
    let mut harness = Harness::new("cartpole", Driver::Expert);
    let dir = tempfile::tempdir().unwrap();
    let mut theirs = run::RunConfig::new("ppo", "cartpole", "elsewhere".into()).unwrap();
    theirs.set("lr", "0.0123").unwrap();
    run::save_config(&dir.path().join("ppo"), &theirs).unwrap();
    let sac = run::RunConfig::new("sac", "pendulum", Default::default()).unwrap();
    run::save_config(&dir.path().join("sac"), &sac).unwrap();
    let env = harness.session().env.fork();
    let mut training = harness.app.world_mut().resource_mut::<Training>();
    let demos = training.config.demos.clone();
    training.use_settings_of(&dir.path().join("ppo"), &env).unwrap();
    assert_eq!(training.config.algorithm, "ppo");
    assert_eq!(training.config.hyperparameters["lr"].as_float(), Some(0.0123));
    assert_eq!((training.config.scenario.as_str(), &training.config.demos), ("cartpole", &demos));
    let error = training.use_settings_of(&dir.path().join("sac"), &env).unwrap_err();
    assert!(error.contains("sac does not handle"), "{error}");
    assert_eq!(training.config.algorithm, "ppo", "a refused run leaves the form as it was");
}
