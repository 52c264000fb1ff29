//! The runs under a directory, summarized for the app's run browser: algorithm, when it was
//! written, its final evaluation and a curve to draw as a sparkline (the evaluations in
//! `RUN/eval.csv`, or else the algorithm's headline metric from `RUN/metrics.csv`).

use super::run::{self, RunError};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `RUN/eval.csv`: one row per evaluation of a snapshot (`step,return_mean,success_rate`).
pub const EVALUATIONS: &str = "eval.csv";

/// One run, as the browser lists it.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub dir: PathBuf,
    pub algorithm: String,
    pub scenario: String,
    /// When the run last wrote its metrics.
    pub modified: Option<SystemTime>,
    /// The last evaluation's mean return, if the run was evaluated.
    pub final_return: Option<f64>,
    /// What the sparkline draws, and its name (`eval/return_mean`, `train/loss`...).
    pub curve: Vec<f64>,
    pub curve_name: String,
    /// Whether it holds a policy to load.
    pub has_policy: bool,
}

/// Every run directory under `dir` (those with a `config.toml`), newest first; a run whose
/// config does not read is listed as its error.
pub fn list(dir: &Path) -> Vec<Result<RunSummary, RunError>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut runs: Vec<Result<RunSummary, RunError>> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.toml").is_file())
        .map(|p| summarize(&p))
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.as_ref().ok().and_then(|s| s.modified)));
    runs
}

/// Reads one run's summary.
pub fn summarize(dir: &Path) -> Result<RunSummary, RunError> {
    let config = run::load_config(dir)?;
    let evaluations = column(&dir.join(EVALUATIONS), "return_mean");
    let (curve, curve_name) = if evaluations.is_empty() {
        let headline = config.entry().map_or("train/loss", |e| e.headline());
        (column(&dir.join("metrics.csv"), headline), headline.to_string())
    } else {
        (evaluations.clone(), "eval/return_mean".to_string())
    };
    let modified = ["metrics.csv", "config.toml"]
        .iter()
        .find_map(|f| std::fs::metadata(dir.join(f)).and_then(|m| m.modified()).ok());
    Ok(RunSummary {
        dir: dir.to_owned(),
        algorithm: config.algorithm,
        scenario: config.scenario,
        modified,
        final_return: evaluations.last().copied(),
        curve,
        curve_name,
        has_policy: dir.join("policy.json").is_file(),
    })
}

/// The finite values of column `name` of a CSV file with a header (none if it is missing).
fn column(path: &Path, name: &str) -> Vec<f64> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let mut lines = text.lines();
    let Some(index) = lines.next().and_then(|h| h.split(',').position(|c| c == name)) else { return Vec::new() };
    lines.filter_map(|l| l.split(',').nth(index)?.parse::<f64>().ok()).filter(|v| v.is_finite()).collect()
}

/// Appends one evaluation to `RUN/eval.csv` (the header first, when the file is new).
pub fn append_evaluation(dir: &Path, step: usize, return_mean: f64, success_rate: f64) -> Result<(), RunError> {
    use std::io::Write;
    let path = dir.join(EVALUATIONS);
    let io = |source| RunError::Io { path: path.clone(), source };
    let fresh = !path.exists();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
    if fresh {
        writeln!(file, "step,return_mean,success_rate").map_err(io)?;
    }
    writeln!(file, "{step},{return_mean},{success_rate}").map_err(io)?;
    file.flush().map_err(io)
}
