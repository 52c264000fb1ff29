//! The one consumer of a trainer's events that the CLI and the app share: it writes
//! `metrics.csv` as rows arrive, saves each snapshot and the final artifacts, exports, stops
//! a run that reaches `--solve-at` and keeps the policy that reached it. What each front end
//! adds (a progress bar, plots, the live policy) it does beside the sink, from the same events.

use super::artifact::{Artifact, PolicyArtifact};
use super::metrics::MetricsWriter;
use super::run::{self, RunConfig, RunError};
use super::trainer::{Evaluation, Event, Metrics};
use serde::Serialize;
use sim::ScenarioEnv;
use sim::rollout::{ActError, rollouts, summarize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The checks during training (`--eval-every`, the app's evaluation plot) start from this
/// seed: clear of the seeds demonstrations use, and of `apprentice eval`'s (1,000,000 on), so
/// a run stopped by `--solve-at` is judged afterwards on episodes its stopping rule never saw.
pub const CHECK_SEED: u64 = 2_000_000;

/// Mean return and success rate of `policy` on `episodes` seeded episodes from [`CHECK_SEED`].
pub fn measure(env: &ScenarioEnv, policy: &dyn PolicyArtifact, episodes: usize) -> Result<(f64, f64), ActError> {
    let stats = rollouts(env, &|| policy.boxed() as Box<dyn sim::Policy>, episodes, CHECK_SEED, &|_| {})?;
    let summary = summarize(&stats);
    Ok((summary.return_mean, summary.success_rate))
}

/// [`measure`] for a trainer thread's between-unit evaluation.
pub fn evaluation(env: &ScenarioEnv, episodes: usize) -> Evaluation {
    let env = env.fork();
    Box::new(move |policy: &dyn PolicyArtifact| measure(&env, policy, episodes))
}

/// How a run with `--solve-at` ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solved {
    pub algorithm: String,
    pub scenario: String,
    pub solved: bool,
    /// The step counter at the solving evaluation (environment steps for RL algorithms).
    pub step: usize,
    /// Training time up to it.
    pub seconds: f64,
    pub eval_return_mean: f64,
}

/// What the front end should do after an event.
#[derive(Debug)]
pub enum Next {
    Continue,
    /// The run reached `--solve-at`: send `Command::Stop`.
    Stop,
    /// The run is over; its final policy (already saved) is here.
    Finished(Option<Box<dyn PolicyArtifact>>),
    /// Training failed with this message; the last good checkpoint stays on disk.
    Failed(String),
}

/// A run directory being written from a trainer's events.
pub struct RunSink {
    pub dir: PathBuf,
    env: ScenarioEnv,
    metrics: MetricsWriter,
    solve_at: Option<f64>,
    pub solved: Option<Solved>,
    /// The snapshot right after the solving evaluation: the policy it evaluated.
    kept: Option<Box<dyn PolicyArtifact>>,
    artifacts: Vec<Arc<dyn Artifact>>,
    /// Also write the policy's export file at the end.
    pub export: bool,
    /// Where the export went.
    pub exported: Option<PathBuf>,
}

impl RunSink {
    /// Writes `config.toml` into `dir` and opens `metrics.csv`: a fresh run starts a fresh
    /// log, a resumed one appends to its own. `dir` is new, empty or a run (which the new run
    /// replaces): a run never writes among other files, a dataset's say.
    pub fn create(dir: &Path, config: &RunConfig, env: &ScenarioEnv, resumed: bool) -> Result<RunSink, RunError> {
        if data::dataset::holds_files(dir) && !dir.join("config.toml").is_file() {
            let what = "holds other files and is not a run directory: give a new or empty folder";
            return Err(RunError::Invalid { path: dir.to_owned(), what: what.into() });
        }
        run::save_config(dir, config)?;
        let path = dir.join("metrics.csv");
        if !resumed {
            for old in [path.clone(), dir.join(super::runs::EVALUATIONS)] {
                match std::fs::remove_file(&old) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(RunError::Io { path: old, source: e });
                    }
                    _ => {}
                }
            }
        }
        let metrics = MetricsWriter::open(&path).map_err(|source| RunError::Io { path: path.clone(), source })?;
        Ok(RunSink {
            dir: dir.to_owned(),
            env: env.fork(),
            metrics,
            solve_at: None,
            solved: None,
            kept: None,
            artifacts: Vec::new(),
            export: false,
            exported: None,
        })
    }

    /// Stops the run at the first evaluation whose mean return reaches `target`.
    pub fn solve_at(mut self, target: f64, config: &RunConfig) -> RunSink {
        self.solve_at = Some(target);
        self.solved = Some(Solved {
            algorithm: config.algorithm.clone(),
            scenario: config.scenario.clone(),
            solved: false,
            step: 0,
            seconds: f64::NAN,
            eval_return_mean: f64::NAN,
        });
        self
    }

    /// Takes one event; a file that cannot be written is the error.
    pub fn handle(&mut self, event: &Event) -> Result<Next, RunError> {
        let path = self.metrics.path().to_owned();
        let io = |source| RunError::Io { path: path.clone(), source };
        Ok(match event {
            Event::Metrics(m) => {
                self.metrics.write(m).map_err(io)?;
                let eval = m.value("eval/return_mean");
                if eval.is_finite() {
                    self.evaluated(m.step, eval, m.value("eval/success_rate"))?;
                }
                self.check_solved(m)
            }
            Event::Changed { key, value, .. } => {
                self.metrics.note(format!("{key}={value}"));
                Next::Continue
            }
            Event::Snapshot { step, policy } => {
                run::save_policy(&self.dir, &self.env, policy.as_ref())?;
                if self.solved.as_ref().is_some_and(|s| s.solved && s.step == *step) && self.kept.is_none() {
                    self.kept = Some(policy.clone());
                }
                Next::Continue
            }
            Event::Artifacts(artifacts) => {
                self.artifacts = artifacts.clone();
                Next::Continue
            }
            Event::Finished { policy } => {
                // A solved run keeps the policy that solved it, not the one the stop found.
                let policy = self.kept.take().or_else(|| policy.clone());
                run::save_artifacts(&self.dir, &self.env, policy.as_deref(), &self.artifacts)?;
                if let Some(p) = policy.as_ref().filter(|_| self.export) {
                    self.exported = Some(p.export(&self.dir, &self.env)?);
                }
                Next::Finished(policy)
            }
            Event::Error(e) => Next::Failed(e.clone()),
            Event::Refused { .. } | Event::Paused | Event::Resumed => Next::Continue,
        })
    }

    /// Records an evaluation of the snapshot at `step` in `RUN/eval.csv`.
    pub fn evaluated(&mut self, step: usize, return_mean: f64, success_rate: f64) -> Result<(), RunError> {
        super::runs::append_evaluation(&self.dir, step, return_mean, success_rate)
    }

    /// Until solved, the report follows the run (its end if it never is).
    fn check_solved(&mut self, m: &Metrics) -> Next {
        let (Some(target), Some(s)) = (self.solve_at, &mut self.solved) else { return Next::Continue };
        if s.solved {
            return Next::Continue;
        }
        let eval = m.value("eval/return_mean");
        (s.step, s.seconds) = (m.step, m.value("time/seconds"));
        if eval.is_finite() {
            s.eval_return_mean = eval;
        }
        if eval >= target {
            s.solved = true;
            return Next::Stop;
        }
        Next::Continue
    }
}
