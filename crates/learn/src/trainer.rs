//! The trainer thread: one API for the CLI and the app. Commands go in (pause, resume, stop,
//! set a hyperparameter), events come out (metrics, policy snapshots, errors). A panic or a
//! diverging loss inside training becomes an error event; the caller keeps running and the
//! snapshots it already received stay good. Every metrics row carries `time/seconds`, the
//! time spent training so far (pauses and evaluations excluded), and, with an evaluation
//! schedule, `eval/return_mean` and `eval/success_rate` (NaN on rows without one).

use super::artifact::{Artifact, PolicyArtifact};
use super::error::TrainError;
use super::settings::SettingError;
use sim::rollout::ActError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One log step: the algorithm's step counter and named values (`train/loss`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub step: usize,
    pub values: Vec<(&'static str, f64)>,
}

impl Metrics {
    /// The value logged as `name` (NaN when the row has none).
    pub fn value(&self, name: &str) -> f64 {
        self.values.iter().find(|(n, _)| *n == name).map_or(f64::NAN, |(_, v)| *v)
    }
}

/// A training algorithm that advances in units (an epoch, a round) the thread can stop between.
pub trait Algorithm: Send {
    /// Does one unit of work; `Ok(None)` once training is complete.
    fn advance(&mut self) -> Result<Option<Metrics>, TrainError>;
    /// Changes a hyperparameter from the next unit on; the error says why it cannot.
    fn set(&mut self, key: &str, value: &str) -> Result<(), SettingError>;
    /// The policy worth keeping now (for BC: the best on validation so far), if any yet.
    fn policy(&self) -> Option<Box<dyn PolicyArtifact>>;
    /// What else the run keeps at its end (a critic); nothing by default.
    fn artifacts(&self) -> Vec<Arc<dyn Artifact>> {
        Vec::new()
    }
    /// The step counter metrics are logged against.
    fn step(&self) -> usize;
}

/// Implements [`Algorithm`] for a trainer with `update()` (one unit), `policy()`, a `config`
/// whose hyperparameters named in `$live` change live, and the step counter `$step`.
macro_rules! impl_algorithm {
    ($trainer:ty, $live:expr, |$t:ident| $step:expr) => {
        $crate::trainer::impl_algorithm!($trainer, $live, |$t| $step, artifacts: |_t| Vec::new());
    };
    ($trainer:ty, $live:expr, |$t:ident| $step:expr, artifacts: |$a:ident| $artifacts:expr) => {
        impl $crate::trainer::Algorithm for $trainer {
            fn advance(&mut self) -> Result<Option<$crate::trainer::Metrics>, $crate::error::TrainError> {
                self.update()
            }

            fn set(&mut self, key: &str, value: &str) -> Result<(), $crate::SettingError> {
                $crate::set_live(&mut self.config, key, value, &$live)
            }

            fn policy(&self) -> Option<Box<dyn $crate::artifact::PolicyArtifact>> {
                Some(Box::new(<$trainer>::policy(self)))
            }

            fn artifacts(&self) -> Vec<std::sync::Arc<dyn $crate::artifact::Artifact>> {
                let $a = self;
                $artifacts
            }

            fn step(&self) -> usize {
                let $t = self;
                $step
            }
        }
    };
}
pub(crate) use impl_algorithm;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Pause,
    Resume,
    /// Ends training after the current unit; a `Finished` event follows.
    Stop,
    /// Sets `key` to `value` (TOML syntax, as `--set`).
    Set {
        key: String,
        value: String,
    },
}

#[derive(Debug, Clone)]
pub enum Event {
    Metrics(Metrics),
    /// A hyperparameter change took effect at `step`.
    Changed {
        step: usize,
        key: String,
        value: String,
    },
    /// A change was refused; training goes on unchanged.
    Refused {
        key: String,
        reason: String,
    },
    Paused,
    Resumed,
    /// The current policy, every `snapshot_every` units.
    Snapshot {
        step: usize,
        policy: Box<dyn PolicyArtifact>,
    },
    /// The run's other artifacts (a critic), sent just before `Finished`.
    Artifacts(Vec<Arc<dyn Artifact>>),
    /// Training ended normally or on `Stop`, with its final policy (none if stopped before
    /// the first unit produced one).
    Finished {
        policy: Option<Box<dyn PolicyArtifact>>,
    },
    /// Training failed (diverged, panicked, bad data); nothing more follows.
    Error(String),
}

/// Handle to a training thread (shareable between threads, as a UI's state must be).
/// Dropping it stops the training and waits for the thread.
pub struct Trainer {
    commands: Sender<Command>,
    events: Mutex<Receiver<Event>>,
    thread: Option<JoinHandle<()>>,
}

/// Measures a policy between units on the trainer thread: (mean return, success rate).
pub type Evaluation = Box<dyn FnMut(&dyn PolicyArtifact) -> Result<(f64, f64), ActError> + Send>;

impl Trainer {
    /// Starts a thread that builds the algorithm with `make` (data loading and set-up run on
    /// the thread too) and trains it, sending a snapshot every `snapshot_every` units.
    pub fn spawn<F>(make: F, snapshot_every: usize) -> Trainer
    where
        F: FnOnce() -> Result<Box<dyn Algorithm>, TrainError> + Send + 'static,
    {
        Trainer::spawn_evaluated(make, snapshot_every, None)
    }

    /// As `spawn`, and evaluates the current policy every `every` units with `evaluate`.
    pub fn spawn_evaluated<F>(make: F, snapshot_every: usize, evaluation: Option<(usize, Evaluation)>) -> Trainer
    where
        F: FnOnce() -> Result<Box<dyn Algorithm>, TrainError> + Send + 'static,
    {
        let (commands, inbox) = channel();
        let (outbox, events) = channel();
        let thread = std::thread::Builder::new()
            .name("trainer".into())
            .spawn(move || {
                let result =
                    catch_unwind(AssertUnwindSafe(|| run(make, &inbox, &outbox, snapshot_every.max(1), evaluation)));
                if let Err(panic) = result {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    let _ = outbox.send(Event::Error(format!("training panicked: {message}")));
                }
            })
            .expect("the OS starts a thread");
        Trainer { commands, events: Mutex::new(events), thread: Some(thread) }
    }

    pub fn send(&self, command: Command) {
        // A thread that already ended has nothing left to command.
        let _ = self.commands.send(command);
    }

    /// The next event, waiting for it; `None` once the thread has ended and all were read.
    pub fn next_event(&self) -> Option<Event> {
        self.events.lock().ok()?.recv().ok()
    }

    /// The next event if one is waiting (for a UI frame that must not block).
    pub fn try_event(&self) -> Option<Event> {
        self.events.lock().ok()?.try_recv().ok()
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        self.send(Command::Stop);
        while self.try_event().is_some() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run<F>(
    make: F,
    inbox: &Receiver<Command>,
    outbox: &Sender<Event>,
    snapshot_every: usize,
    mut evaluation: Option<(usize, Evaluation)>,
) where
    F: FnOnce() -> Result<Box<dyn Algorithm>, TrainError>,
{
    let send = |event: Event| outbox.send(event).is_ok();
    let mut algorithm = match make() {
        Ok(a) => a,
        Err(e) => {
            send(Event::Error(e.to_string()));
            return;
        }
    };
    let (mut paused, mut units, mut trained) = (false, 0usize, Duration::ZERO);
    loop {
        let command = if paused { inbox.recv().map_err(|_| TryRecvError::Disconnected) } else { inbox.try_recv() };
        match command {
            Ok(Command::Pause) => paused = send(Event::Paused),
            Ok(Command::Resume) => paused = !send(Event::Resumed),
            Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                finish(algorithm.as_ref(), &send);
                return;
            }
            Ok(Command::Set { key, value }) => {
                let event = match algorithm.set(&key, &value) {
                    Ok(()) => Event::Changed { step: algorithm.step(), key, value },
                    Err(reason) => Event::Refused { key, reason: reason.to_string() },
                };
                if !send(event) {
                    return;
                }
            }
            Err(TryRecvError::Empty) => match timed(&mut trained, || algorithm.advance()) {
                Ok(Some(mut metrics)) => {
                    units += 1;
                    metrics.values.push(("time/seconds", trained.as_secs_f64()));
                    if let Some((every, evaluate)) = &mut evaluation {
                        let due = units % (*every).max(1) == 0;
                        let (ret, success) = match algorithm.policy().filter(|_| due).map(|p| evaluate(p.as_ref())) {
                            Some(Ok(measured)) => measured,
                            Some(Err(e)) => {
                                send(Event::Error(format!("evaluating the policy: {e}")));
                                return;
                            }
                            None => (f64::NAN, f64::NAN),
                        };
                        metrics.values.extend([("eval/return_mean", ret), ("eval/success_rate", success)]);
                    }
                    if !send(Event::Metrics(metrics)) {
                        return;
                    }
                    if units % snapshot_every == 0
                        && let Some(policy) = algorithm.policy()
                        && !send(Event::Snapshot { step: algorithm.step(), policy })
                    {
                        return;
                    }
                }
                Ok(None) => {
                    finish(algorithm.as_ref(), &send);
                    return;
                }
                Err(e) => {
                    send(Event::Error(e.to_string()));
                    return;
                }
            },
        }
    }
}

/// Hands over the run's artifacts and its final policy.
fn finish(algorithm: &dyn Algorithm, send: &dyn Fn(Event) -> bool) {
    let artifacts = algorithm.artifacts();
    if !artifacts.is_empty() && !send(Event::Artifacts(artifacts)) {
        return;
    }
    send(Event::Finished { policy: algorithm.policy() });
}

/// Runs `work`, adding the time it took to `total`.
fn timed<T>(total: &mut Duration, work: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = work();
    *total += start.elapsed();
    out
}
