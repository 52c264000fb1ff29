//! Training from the app: the library's trainer thread driven by buttons, its events turned
//! into plots, checkpoints and the live policy, and a small evaluation of every snapshot.

use super::record::Recording;
use super::session::Session;
use bevy::prelude::*;
use data::Dataset;
use learn::artifact::PolicyArtifact;
use learn::device::{DeviceChoice, select_device};
use learn::registry::Plot;
use learn::run::{self, RunConfig};
use learn::sink::{self, Next, RunSink};
use learn::trainer::{Command, Event, Metrics, Trainer};
use sim::ScenarioEnv;
use sim::rollout::ActError;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

/// Episodes of each snapshot's evaluation (from the sink's evaluation seed).
const EVAL_EPISODES: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    Running,
    Paused,
    Finished,
    Failed(String),
}

/// A snapshot's evaluation, arriving from its thread: (step, mean return and success rate).
type Measured = (usize, Result<(f64, f64), ActError>);

#[derive(Resource)]
pub struct Training {
    /// The next run's configuration (edited in the panel; live keys also during a run).
    pub config: RunConfig,
    pub device: DeviceChoice,
    trainer: Option<Trainer>,
    /// Writes the run directory from the trainer's events, as the CLI's does.
    sink: Option<RunSink>,
    pub phase: Phase,
    /// Every metrics row of the run, and each snapshot's evaluation as a row of its own.
    pub rows: Vec<Metrics>,
    /// Hyperparameter changes: (step, "lr=0.0003"), drawn as marks on the plots.
    pub marks: Vec<(usize, String)>,
    /// Where runs are written; each Train press makes `runs/<n>`.
    pub runs_dir: PathBuf,
    pub run_dir: Option<PathBuf>,
    /// The newest policy, with its training step.
    pub latest: Option<(usize, Box<dyn PolicyArtifact>)>,
    /// The newest policy drives the scene as soon as it arrives.
    pub follow_latest: bool,
    evaluation: Option<Mutex<Receiver<Measured>>>,
    pub status: String,
}

impl Training {
    pub fn new(config: RunConfig, runs_dir: PathBuf) -> Training {
        Training {
            config,
            device: DeviceChoice::Auto,
            trainer: None,
            sink: None,
            phase: Phase::Idle,
            rows: Vec::new(),
            marks: Vec::new(),
            runs_dir,
            run_dir: None,
            latest: None,
            follow_latest: true,
            evaluation: None,
            status: String::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Paused)
    }

    /// Takes the run in `dir`'s algorithm, hyperparameters and expert for the next run, which
    /// keeps this scenario and dataset. Refused while a run trains, or for an algorithm that
    /// cannot act in `env`.
    pub fn use_settings_of(&mut self, dir: &std::path::Path, env: &ScenarioEnv) -> Result<(), String> {
        if self.is_running() {
            return Err("a run is training: stop it first".into());
        }
        let theirs = run::load_config(dir).map_err(|e| e.to_string())?;
        let entry = theirs.entry().map_err(|e| e.to_string())?;
        if !entry.needs.fits(sim::Env::action_space(env)) {
            return Err(format!("{} does not handle the actions of {}", entry.name, env.scenario().name));
        }
        let ours = &self.config;
        let (scenario, demos) = (ours.scenario.clone(), ours.demos.clone());
        self.config = RunConfig { scenario, demos, episodes: None, init: None, reward: None, ..theirs };
        self.status = format!("the next run trains with the settings of {}", dir.display());
        Ok(())
    }

    /// Starts a run in a new run directory, on the dataset's current episodes if the
    /// algorithm learns from demonstrations.
    pub fn start(&mut self, env: &ScenarioEnv, dataset: &Dataset) -> Result<(), String> {
        self.config.episodes = None;
        let episodes = if self.config.uses_demos() { self.episodes(env, dataset)? } else { Vec::new() };
        let device = select_device(self.device).map_err(|e| e.to_string())?;
        let out = next_run_dir(&self.runs_dir);
        self.config.demos = dataset.dir.clone();
        self.sink = Some(RunSink::create(&out, &self.config, env, false).map_err(|e| e.to_string())?);
        let count = episodes.len();
        let make = {
            let (config, env, out) = (self.config.clone(), env.fork(), out.clone());
            move || run::algorithm(&config, &env, episodes, &device.device, &out, None)
        };
        self.trainer = Some(Trainer::spawn(make, 5));
        self.rows.clear();
        self.marks.clear();
        self.phase = Phase::Running;
        let data = if self.config.uses_demos() { format!(" on {count} episodes") } else { String::new() };
        self.status =
            format!("training {}{data} ({}) into {}", self.config.algorithm, device.description, out.display());
        self.run_dir = Some(out);
        Ok(())
    }

    /// The dataset's included episodes to learn from (none is an error); the config
    /// records which.
    fn episodes(&mut self, env: &ScenarioEnv, dataset: &Dataset) -> Result<Vec<data::Episode>, String> {
        self.config.demos = dataset.dir.clone();
        let loaded = run::demonstrations(&mut self.config, env).map_err(|e| e.to_string())?;
        if !loaded.notes.is_empty() {
            self.status = loaded.notes.join("; ");
        }
        if loaded.episodes.is_empty() {
            return Err(format!(
                "{}: no included episodes to learn from: record some, or include some in the Episodes tab",
                dataset.dir.display()
            ));
        }
        Ok(loaded.episodes)
    }

    pub fn send(&self, command: Command) {
        if let Some(t) = &self.trainer {
            t.send(command);
        }
    }

    /// Sets a hyperparameter: live during a run (the trainer says whether it can), else for
    /// the next run.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        if self.is_running() {
            self.send(Command::Set { key: key.into(), value: value.into() });
            return Ok(());
        }
        self.config.set(key, value).map_err(|e| e.to_string())
    }

    /// The points of `series` on `plot`: (x in the plot's unit, value), finite values only.
    pub fn points(&self, plot: &Plot, series: &str) -> Vec<[f64; 2]> {
        self.rows
            .iter()
            .filter_map(|row| {
                let (x, y) = (x_of(row, plot), row.value(series));
                (x.is_finite() && y.is_finite()).then_some([x, y])
            })
            .collect()
    }

    /// Where the change marks fall on `plot`'s x axis: the first row logged at or after each.
    pub fn marks_on(&self, plot: &Plot) -> Vec<(f64, String)> {
        self.marks
            .iter()
            .filter_map(|(step, change)| {
                let row = self.rows.iter().find(|r| r.step >= *step)?;
                Some((x_of(row, plot), change.clone()))
            })
            .collect()
    }

    /// Saves the newest policy into the run directory (it is also saved at every snapshot).
    pub fn save_checkpoint(&self, env: &ScenarioEnv) -> Result<PathBuf, String> {
        let (Some(dir), Some((_, policy))) = (&self.run_dir, &self.latest) else {
            return Err("no policy to save yet: train first".into());
        };
        run::save(dir, &self.config, env, policy.as_ref()).map_err(|e| e.to_string())?;
        Ok(dir.clone())
    }

    /// An evaluation row at `step`, carrying the x columns of the metrics row logged there.
    fn push_evaluation(&mut self, step: usize, ret: f64, success: f64) {
        let mut values = self
            .rows
            .iter()
            .rev()
            .find(|r| r.step == step)
            .map_or(Vec::new(), |r| r.values.iter().filter(|(name, _)| !name.contains('/')).copied().collect());
        values.extend([("eval/return_mean", ret), ("eval/success_rate", success)]);
        self.rows.push(Metrics { step, values });
    }
}

/// A row's x on `plot`: its step counter, or the column the plot is drawn against.
fn x_of(row: &Metrics, plot: &Plot) -> f64 {
    if plot.x == "step" { row.step as f64 } else { row.value(plot.x) }
}

/// `runs/1`, `runs/2`, ...: the first number not taken.
fn next_run_dir(runs: &std::path::Path) -> PathBuf {
    (1..).map(|n| runs.join(n.to_string())).find(|p| !p.exists()).expect("some number is free")
}

/// Evaluates a snapshot on its own thread, so training and the window never wait for it.
fn evaluate_in_background(env: &ScenarioEnv, step: usize, policy: Box<dyn PolicyArtifact>) -> Receiver<Measured> {
    let (tx, rx) = channel();
    let env = env.fork();
    std::thread::spawn(move || {
        let _ = tx.send((step, sink::measure(&env, policy.as_ref(), EVAL_EPISODES)));
    });
    rx
}

/// Reads the trainer's events: the sink writes the run, the plots and the scene follow.
pub fn poll(mut training: ResMut<Training>, mut session: ResMut<Session>, mut errors: ResMut<super::Errors>) {
    if let Some(rx) = &training.evaluation
        && let Some((step, measured)) = rx.lock().ok().and_then(|rx| rx.try_recv().ok())
    {
        training.evaluation = None;
        match measured {
            Ok((ret, success)) => {
                training.push_evaluation(step, ret, success);
                if let Some(Err(e)) = training.sink.as_mut().map(|s| s.evaluated(step, ret, success)) {
                    errors.push(format!("saving the evaluation: {e}"));
                }
            }
            Err(e) => errors.push(format!("evaluating the snapshot at step {step}: {e}")),
        }
    }
    let Some(trainer) = &training.trainer else { return };
    let mut events = Vec::new();
    while let Some(event) = trainer.try_event() {
        events.push(event);
    }
    for event in events {
        handle(&mut training, &mut session, &mut errors, event);
    }
}

fn handle(training: &mut Training, session: &mut Session, errors: &mut super::Errors, event: Event) {
    let next = match training.sink.as_mut().map(|sink| sink.handle(&event)) {
        Some(Ok(next)) => next,
        Some(Err(e)) => {
            errors.push(format!("saving the run: {e}"));
            Next::Continue
        }
        None => Next::Continue,
    };
    match event {
        Event::Metrics(m) => training.rows.push(m),
        Event::Changed { step, key, value } => {
            training.marks.push((step, format!("{key}={value}")));
            // The trainer took it: the panel shows it and the next run keeps it.
            let _ = training.config.set(&key, &value);
        }
        Event::Refused { key, reason } => errors.push(format!("cannot change `{key}` now: {reason}")),
        Event::Paused => training.phase = Phase::Paused,
        Event::Resumed => training.phase = Phase::Running,
        Event::Snapshot { step, policy } => snapshot(training, session, step, policy),
        Event::Artifacts(_) => {}
        Event::Finished { .. } => {}
        Event::Error(_) => {}
    }
    match next {
        Next::Finished(policy) => {
            // A run that learns a model, not a policy (dynamics), keeps only its artifacts.
            let what = if policy.is_some() { "the policy is" } else { "the run's artifacts are" };
            if let Some(policy) = policy {
                let step = training.latest.as_ref().map_or(0, |l| l.0);
                snapshot(training, session, step, policy);
            }
            training.phase = Phase::Finished;
            training.trainer = None;
            training.status = format!(
                "{what} saved in {}",
                training.run_dir.as_ref().map_or(String::new(), |d| d.display().to_string())
            );
        }
        Next::Failed(e) => {
            errors.push(format!("training failed: {e}"));
            training.phase = Phase::Failed(e);
            training.trainer = None;
        }
        Next::Stop => training.send(Command::Stop),
        Next::Continue => {}
    }
}

/// A new policy (already saved by the sink): swapped into the scene, evaluated.
fn snapshot(training: &mut Training, session: &mut Session, step: usize, policy: Box<dyn PolicyArtifact>) {
    if training.follow_latest {
        session.set_policy(policy.clone(), format!("training step {step}"));
    }
    if training.evaluation.is_none() {
        training.evaluation = Some(Mutex::new(evaluate_in_background(&session.env, step, policy.clone())));
    }
    training.latest = Some((step, policy));
}

/// Starts training at launch when asked (`bench app`).
#[derive(Resource)]
pub struct TrainOnStart;

fn train_on_start(
    mut commands: Commands,
    mut training: ResMut<Training>,
    mut session: ResMut<Session>,
    recording: Res<Recording>,
    mut errors: ResMut<super::Errors>,
) {
    commands.remove_resource::<TrainOnStart>();
    match training.start(&session.env, &recording.dataset) {
        Ok(()) if session.driver == super::Driver::Human => session.driver = super::Driver::Policy,
        Ok(()) => {}
        Err(e) => errors.push(e),
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(Update, (train_on_start.run_if(resource_exists::<TrainOnStart>), poll).chain());
}
