//! Learning curves read back from runs' `metrics.csv`, and runs that differ only in their
//! seed merged into one curve (mean ± standard deviation), for `apprentice plot` and sweeps.

use super::run::{self, RunConfig, RunError};
use std::path::{Path, PathBuf};

/// One run's values of one metric against its step counter.
#[derive(Debug, Clone)]
pub struct RunCurve {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub metric: String,
    /// What the x values count (`environment steps`, `epochs`...).
    pub x_label: &'static str,
    /// (step, value) for every row where the metric is finite, in step order.
    pub points: Vec<(f64, f64)>,
}

/// Runs merged over seeds: the mean and standard deviation at each step they share.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// What sets the runs apart from the other curves (`lr=0.001`), or the run's name.
    pub label: String,
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    /// Zero for a single run.
    pub std: Vec<f64>,
    /// How many runs (seeds) the curve merges.
    pub runs: usize,
}

/// The metric `apprentice plot` draws when none is asked for: the evaluations' mean return
/// when the run was evaluated, else the algorithm's headline metric.
pub fn default_metric(dir: &Path) -> Result<String, RunError> {
    let config = run::load_config(dir)?;
    let (header, rows) = read_csv(&dir.join("metrics.csv"))?;
    let evaluated = header
        .iter()
        .position(|c| c == "eval/return_mean")
        .is_some_and(|i| rows.iter().any(|r| r.get(i).and_then(|v| v.parse::<f64>().ok()).is_some_and(f64::is_finite)));
    Ok(if evaluated { "eval/return_mean".into() } else { config.entry().map_or("train/loss", |e| e.headline()).into() })
}

/// Reads `metric` of the run in `dir`; an unknown metric is an error naming the ones logged.
pub fn read(dir: &Path, metric: &str) -> Result<RunCurve, RunError> {
    let config = run::load_config(dir)?;
    let path = dir.join("metrics.csv");
    let (header, rows) = read_csv(&path)?;
    let invalid = |what: String| RunError::Invalid { path: path.clone(), what };
    if rows.is_empty() {
        return Err(invalid("no row logged yet (the run made no log step)".into()));
    }
    let column = header.iter().position(|c| c == metric).ok_or_else(|| {
        let logged: Vec<&str> = header.iter().skip(1).filter(|c| *c != "note").map(String::as_str).collect();
        invalid(format!("no metric `{metric}` (logged: {})", logged.join(", ")))
    })?;
    let mut points = Vec::new();
    for (line, row) in rows.iter().enumerate() {
        let cell = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        let step: f64 =
            cell(0).parse().map_err(|_| invalid(format!("line {}: step `{}` is not a number", line + 2, cell(0))))?;
        if let Ok(value) = cell(column).parse::<f64>() {
            if value.is_finite() {
                points.push((step, value));
            }
        }
    }
    if points.is_empty() {
        return Err(invalid(format!("`{metric}` has no finite value")));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x_label = config.entry().map_or("steps", |e| e.step.label());
    Ok(RunCurve { dir: dir.to_owned(), config, metric: metric.into(), x_label, points })
}

/// A CSV file's header and rows (a missing file is an error; the `note` column may hold text).
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Io { path: path.to_owned(), source })?;
    let mut lines = text.lines().map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().unwrap_or_default();
    Ok((header, lines.collect()))
}

/// Merges runs whose configurations are equal once every `seed` is removed, keeping the
/// order in which each group first appears.
pub fn merge_seeds(runs: &[RunCurve]) -> Vec<Curve> {
    let mut groups: Vec<(toml::Value, Vec<&RunCurve>)> = Vec::new();
    for run in runs {
        let key = without_seeds(&run.config);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(run),
            None => groups.push((key, vec![run])),
        }
    }
    let keys: Vec<toml::Value> = groups.iter().map(|(k, _)| k.clone()).collect();
    groups
        .iter()
        .enumerate()
        .map(|(i, (_, members))| {
            let (x, mean, std) = mean_and_std(members);
            let label = distinguishing(&keys, i).unwrap_or_else(|| name(&members[0].dir));
            Curve { label, x, mean, std, runs: members.len() }
        })
        .collect()
}

/// The run's configuration as one TOML value, with every key named `seed` removed.
fn without_seeds(config: &RunConfig) -> toml::Value {
    fn strip(value: &mut toml::Value) {
        if let toml::Value::Table(table) = value {
            table.remove("seed");
            table.iter_mut().for_each(|(_, v)| strip(v));
        }
    }
    let mut value = toml::Value::try_from(config).unwrap_or(toml::Value::Boolean(false));
    strip(&mut value);
    value
}

/// The settings (dotted `key=value`) in which group `i` differs from the others, if any.
fn distinguishing(keys: &[toml::Value], i: usize) -> Option<String> {
    fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| {
                let key =
                    if prefix.is_empty() || prefix == "hyperparameters" { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let flat: Vec<Vec<(String, String)>> = keys
        .iter()
        .map(|k| {
            let mut out = Vec::new();
            flatten("", k, &mut out);
            out
        })
        .collect();
    let differs = |key: &str, value: &str| flat.iter().any(|f| !f.iter().any(|(k, v)| k == key && v == value));
    let parts: Vec<String> =
        flat[i].iter().filter(|(k, v)| differs(k, v)).map(|(k, v)| format!("{k}={}", v.trim_matches('"'))).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A run's name: its directory's last component.
fn name(dir: &Path) -> String {
    dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Mean and standard deviation over runs, at every step any of them logged within the range
/// all of them cover (each run's curve linearly interpolated there).
fn mean_and_std(runs: &[&RunCurve]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let first = runs.iter().map(|r| r.points[0].0).fold(f64::NEG_INFINITY, f64::max);
    let last = runs.iter().map(|r| r.points[r.points.len() - 1].0).fold(f64::INFINITY, f64::min);
    let mut x: Vec<f64> =
        runs.iter().flat_map(|r| r.points.iter().map(|p| p.0)).filter(|s| (first..=last).contains(s)).collect();
    x.sort_by(f64::total_cmp);
    x.dedup();
    let n = runs.len() as f64;
    let (mut mean, mut std) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
    for &s in &x {
        let values: Vec<f64> = runs.iter().map(|r| interpolate(&r.points, s)).collect();
        let m = values.iter().sum::<f64>() / n;
        mean.push(m);
        std.push((values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt());
    }
    (x, mean, std)
}

/// The piecewise-linear curve through `points` (sorted by x) at `x`, held flat past its ends.
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let after = points.partition_point(|p| p.0 < x);
    match (after.checked_sub(1).map(|i| points[i]), points.get(after)) {
        (_, Some(&(x1, y1))) if x1 == x => y1,
        (Some((x0, y0)), Some(&(x1, y1))) => y0 + (y1 - y0) * (x - x0) / (x1 - x0),
        (Some((_, y0)), None) => y0,
        (None, Some(&(_, y1))) => y1,
        (None, None) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &str, lr: f64, seed: i64, points: &[(f64, f64)]) -> RunCurve {
        let mut config = RunConfig::new("bc", "cartpole", PathBuf::from("d")).unwrap();
        config.hyperparameters.insert("lr".into(), toml::Value::Float(lr));
        config.hyperparameters.insert("seed".into(), toml::Value::Integer(seed));
        RunCurve { dir: dir.into(), config, metric: "m".into(), x_label: "epochs", points: points.to_vec() }
    }

    #[test]
    fn seeds_merge_into_mean_and_std_and_settings_label_the_curves() {
        let runs = [
            run("a0", 0.1, 0, &[(0.0, 1.0), (10.0, 3.0)]),
            run("a1", 0.1, 1, &[(0.0, 3.0), (5.0, 3.0), (10.0, 5.0)]),
            run("b0", 0.2, 0, &[(0.0, 7.0)]),
        ];
        let curves = merge_seeds(&runs);
        assert_eq!(curves.len(), 2);
        let a = &curves[0];
        assert_eq!((a.label.as_str(), a.runs), ("lr=0.1", 2));
        assert_eq!(a.x, [0.0, 5.0, 10.0]);
        // At step 5 the first run is interpolated to 2.0: mean 2.5, deviation 0.5.
        assert_eq!(a.mean, [2.0, 2.5, 4.0]);
        assert_eq!(a.std, [1.0, 0.5, 1.0]);
        assert_eq!((curves[1].label.as_str(), curves[1].std.as_slice()), ("lr=0.2", &[0.0][..]));
    }

    #[test]
    fn identical_settings_are_labelled_by_their_directory() {
        let curves = merge_seeds(&[run("runs/first", 0.1, 0, &[(0.0, 1.0)])]);
        assert_eq!(curves[0].label, "first");
    }
}
