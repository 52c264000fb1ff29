//! Training from the app: the library's trainer thread driven by buttons, its events turned
//! into plots, checkpoints and the live policy, and a small evaluation of every snapshot.

use super::record::Recording;
use super::session::Session;
use crate::data::Dataset;
use crate::learn::device::{DeviceChoice, select_device};
use crate::learn::metrics::MetricsWriter;
use crate::learn::policy::MlpPolicy;
use crate::learn::run::{self, RunConfig};
use crate::learn::trainer::{Command, Event, Trainer};
use crate::sim::rollout::{rollouts, summarize};
use crate::sim::{Policy, ScenarioEnv};
use bevy::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

/// Episodes of each snapshot's evaluation (seeds kept clear of demo seeds).
const EVAL_EPISODES: usize = 5;
const EVAL_SEED: u64 = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    Running,
    Paused,
    Finished,
    Failed(String),
}

/// One plotted series: (training step, value) points.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<[f64; 2]>,
}

#[derive(Resource)]
pub struct Training {
    /// The next run's configuration (edited in the panel; live keys also during a run).
    pub config: RunConfig,
    pub device: DeviceChoice,
    trainer: Option<Trainer>,
    pub phase: Phase,
    /// `train/loss`, `val/loss`, `eval/return_mean`, `eval/success_rate`, ...
    pub series: Vec<Series>,
    /// Hyperparameter changes: (step, "lr=0.0003"), drawn as marks on the plots.
    pub marks: Vec<(f64, String)>,
    /// Where runs are written; each Train press makes `runs/<n>`.
    pub runs_dir: PathBuf,
    pub run_dir: Option<PathBuf>,
    metrics: Option<MetricsWriter>,
    /// The newest policy, with its training step.
    pub latest: Option<(usize, MlpPolicy)>,
    /// The newest policy drives the scene as soon as it arrives.
    pub follow_latest: bool,
    evaluation: Option<Mutex<Receiver<(usize, f64, f64)>>>,
    pub status: String,
}

impl Training {
    pub fn new(config: RunConfig, runs_dir: PathBuf) -> Training {
        Training {
            config,
            device: DeviceChoice::Auto,
            trainer: None,
            phase: Phase::Idle,
            series: Vec::new(),
            marks: Vec::new(),
            runs_dir,
            run_dir: None,
            metrics: None,
            latest: None,
            follow_latest: true,
            evaluation: None,
            status: String::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Paused)
    }

    /// Starts a run in a new run directory, on the dataset's current episodes if the
    /// algorithm learns from demonstrations.
    pub fn start(&mut self, env: &ScenarioEnv, dataset: &Dataset) -> Result<(), String> {
        let episodes = if self.config.uses_demos() { self.episodes(env, dataset)? } else { Vec::new() };
        let device = select_device(self.device).map_err(|e| e.to_string())?;
        let out = next_run_dir(&self.runs_dir);
        self.config.demos = dataset.dir.clone();
        run::save_config(&out, &self.config).map_err(|e| e.to_string())?;
        self.metrics = Some(MetricsWriter::open(&out.join("metrics.csv")).map_err(|e| format!("{}: {e}", out.display()))?);
        let count = episodes.len();
        let make = {
            let (config, env, out) = (self.config.clone(), env.fork(), out.clone());
            move || run::algorithm(&config, &env, episodes, &device.device, &out, None)
        };
        self.trainer = Some(Trainer::spawn(make, 5));
        self.series.clear();
        self.marks.clear();
        self.phase = Phase::Running;
        let data = if self.config.uses_demos() { format!(" on {count} episodes") } else { String::new() };
        self.status = format!("training {}{data} ({}) into {}", self.config.algorithm, device.description, out.display());
        self.run_dir = Some(out);
        Ok(())
    }

    /// The dataset's episodes to learn from (an empty dataset is an error).
    fn episodes(&mut self, env: &ScenarioEnv, dataset: &Dataset) -> Result<Vec<crate::data::Episode>, String> {
        let loaded = dataset.load(Some(env)).map_err(|e| e.to_string())?;
        if let Some(w) = loaded.warning() {
            self.status = w;
        }
        let episodes: Vec<_> = loaded.episodes.into_iter().map(|f| f.episode).collect();
        if episodes.is_empty() {
            return Err(format!("{}: no episodes to learn from yet: record some first", dataset.dir.display()));
        }
        Ok(episodes)
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
        self.config.set(key, value)
    }

    fn push(&mut self, name: &str, step: usize, value: f64) {
        if !value.is_finite() {
            return;
        }
        let index = match self.series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.series.push(Series { name: name.into(), points: Vec::new() });
                self.series.len() - 1
            }
        };
        self.series[index].points.push([step as f64, value]);
    }

    /// Saves the newest policy into the run directory (it is also saved at every snapshot).
    pub fn save_checkpoint(&self, env: &ScenarioEnv) -> Result<PathBuf, String> {
        let (Some(dir), Some((_, policy))) = (&self.run_dir, &self.latest) else {
            return Err("no policy to save yet: train first".into());
        };
        run::save(dir, &self.config, env, policy).map_err(|e| e.to_string())?;
        Ok(dir.clone())
    }
}

/// `runs/1`, `runs/2`, ...: the first number not taken.
fn next_run_dir(runs: &std::path::Path) -> PathBuf {
    (1..).map(|n| runs.join(n.to_string())).find(|p| !p.exists()).expect("some number is free")
}

/// Evaluates a snapshot on its own thread; the result arrives as (step, return, success).
fn evaluate_in_background(env: &ScenarioEnv, step: usize, policy: MlpPolicy) -> Receiver<(usize, f64, f64)> {
    let (tx, rx) = channel();
    let env = env.fork();
    std::thread::spawn(move || {
        let stats = rollouts(&env, &|| Box::new(policy.clone()) as Box<dyn Policy>, EVAL_EPISODES, EVAL_SEED, &|_| {});
        let summary = summarize(&stats);
        let _ = tx.send((step, summary.return_mean, summary.success_rate));
    });
    rx
}

/// Reads the trainer's events: metrics to plots and metrics.csv, snapshots to the scene.
pub fn poll(mut training: ResMut<Training>, mut session: ResMut<Session>, mut errors: ResMut<super::Errors>) {
    if let Some(rx) = &training.evaluation
        && let Some((step, ret, success)) = rx.lock().ok().and_then(|rx| rx.try_recv().ok())
    {
        training.evaluation = None;
        training.push("eval/return_mean", step, ret);
        training.push("eval/success_rate", step, success);
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
    match event {
        Event::Metrics(m) => {
            for (name, value) in &m.values {
                if name.contains('/') {
                    training.push(name, m.step, *value);
                }
            }
            if let Some(w) = &mut training.metrics
                && let Err(e) = w.write(&m)
            {
                errors.push(format!("{}: {e}", w.path().display()));
            }
        }
        Event::Changed { step, key, value } => {
            training.marks.push((step as f64, format!("{key}={value}")));
            if let Some(w) = &mut training.metrics {
                w.note(format!("{key}={value}"));
            }
            // The trainer took it: the panel shows it and the next run keeps it.
            let _ = training.config.set(&key, &value);
        }
        Event::Refused { key, reason } => errors.push(format!("cannot change `{key}` now: {reason}")),
        Event::Paused => training.phase = Phase::Paused,
        Event::Resumed => training.phase = Phase::Running,
        Event::Snapshot { step, policy } => snapshot(training, session, step, policy),
        Event::Finished { policy } => {
            if let Some(policy) = policy {
                let step = training.latest.as_ref().map_or(0, |l| l.0);
                snapshot(training, session, step, policy);
            }
            training.phase = Phase::Finished;
            training.trainer = None;
            training.status = format!(
                "finished; the policy is saved in {}",
                training.run_dir.as_ref().map_or(String::new(), |d| d.display().to_string())
            );
        }
        Event::Error(e) => {
            errors.push(format!("training failed: {e}"));
            training.phase = Phase::Failed(e);
            training.trainer = None;
        }
    }
}

/// A new policy: saved, swapped into the scene, evaluated.
fn snapshot(training: &mut Training, session: &mut Session, step: usize, policy: MlpPolicy) {
    if let Some(dir) = &training.run_dir
        && let Err(e) = run::save_policy(dir, &session.env, &policy)
    {
        training.status = format!("could not save the snapshot: {e}");
    }
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
