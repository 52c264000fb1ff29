//! `apprentice sweep`: a grid or random search over `--set` keys × seeds. Each trial is a
//! training run plus an evaluation in a process of its own (`sweep --trial K`, which Ray Tune
//! runs too); the sweep writes `results.csv` and `sweep.png` (return against each swept key,
//! one line per seed). Finished trials are kept, so a sweep started again goes on where it
//! stopped.

use super::chart::{Panel, Series, save_png};
use super::output::{json_line, progress};
use crate::learn::run::RunConfig;
use anyhow::{Context, bail};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sweep file (TOML; see the README's "Sweeps"). Relative paths in it are read from
    /// its folder.
    #[arg(long)]
    config: PathBuf,
    /// Print the trials (index, seed, settings) as JSON lines and run nothing.
    #[arg(long, conflicts_with = "trial")]
    list: bool,
    /// Run trial K alone in this process and print its result (what each of the sweep's
    /// processes, and each Ray Tune trial, runs).
    #[arg(long, value_name = "K")]
    trial: Option<usize>,
    /// Trials run at once (default: the sweep file's `parallel`, else the number of cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Print each trial's result as one JSON object per line.
    #[arg(long)]
    json: bool,
}

/// A sweep file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The algorithm every trial trains (any `apprentice train` subcommand).
    pub algorithm: String,
    /// A built-in scenario's name or a scenario file.
    pub scenario: String,
    /// The demonstrations' dataset, for algorithms that learn from them.
    #[serde(default)]
    pub demos: Option<PathBuf>,
    /// Where the trials' runs, `results.csv` and `sweep.png` go (default: a folder named after
    /// the sweep file, beside it).
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Every setting is trained once per seed (`--set seed=N`).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Trials run at once, each in its own process (default: the number of cores).
    #[serde(default)]
    pub parallel: Option<usize>,
    /// Threads each trial computes on; with the same count a trial gives the same result
    /// wherever it runs (locally or on a Ray worker).
    #[serde(default = "one")]
    pub threads: usize,
    /// Evaluation episodes per trial, from seed 1,000,000 (never seen in training).
    #[serde(default = "default_eval_episodes")]
    pub eval_episodes: usize,
    /// Where the trials train: auto, gpu or cpu.
    #[serde(default = "default_device")]
    pub device: String,
    /// Settings every trial shares (`key = value`, as `--set` takes them).
    #[serde(default)]
    pub set: toml::Table,
    /// Keys and the values to try; every combination is a setting.
    #[serde(default)]
    pub grid: toml::Table,
    /// Random search: `samples` draws of the keys in `[random.keys]`.
    #[serde(default)]
    pub random: Option<RandomSearch>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSearch {
    /// How many settings to draw.
    pub samples: usize,
    /// The draws' random seed.
    #[serde(default)]
    pub seed: u64,
    /// Each key's distribution: `{ uniform = [lo, hi] }`, `{ log_uniform = [lo, hi] }`,
    /// `{ int_uniform = [lo, hi] }` or `{ choice = [a, b, ...] }`.
    pub keys: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Draw {
    Uniform([f64; 2]),
    LogUniform([f64; 2]),
    IntUniform([i64; 2]),
    Choice(Vec<toml::Value>),
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn one() -> usize {
    1
}
fn default_eval_episodes() -> usize {
    20
}
fn default_device() -> String {
    "cpu".into()
}

/// One training run of the sweep: a setting of the swept keys and a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub index: usize,
    pub seed: u64,
    /// The swept keys' values, as `--set` takes them (`lr=0.001`).
    pub settings: BTreeMap<String, String>,
}

/// A finished trial: what `sweep --trial K --json` prints and `trials/K/result.json` keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    #[serde(flatten)]
    pub trial: Trial,
    pub run: PathBuf,
    pub return_mean: f64,
    pub return_std: f64,
    pub success_rate: f64,
    pub expert_fraction: f64,
    /// Training time (`time/seconds` of the run's last metrics row).
    pub train_seconds: f64,
}

/// A sweep file read, with its paths resolved and its trials expanded.
pub struct Sweep {
    pub path: PathBuf,
    pub spec: SweepSpec,
    pub out: PathBuf,
    /// The swept keys, in the file's order.
    pub keys: Vec<String>,
    pub trials: Vec<Trial>,
}

impl Sweep {
    pub fn load(path: &Path) -> anyhow::Result<Sweep> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut spec: SweepSpec = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let out = match &spec.out {
            Some(out) => base.join(out),
            None => base.join(path.file_stem().unwrap_or_default()),
        };
        spec.demos = spec.demos.as_ref().map(|d| base.join(d));
        if spec.scenario.ends_with(".ron") {
            spec.scenario = base.join(&spec.scenario).to_string_lossy().into_owned();
        }
        if spec.seeds.is_empty() {
            bail!("{}: `seeds` is empty: give at least one", path.display());
        }
        let (keys, trials) = expand(&spec)
            .and_then(|(keys, trials)| check_settings(&spec, &trials).map(|_| (keys, trials)))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Sweep { path: path.to_owned(), spec, out, keys, trials })
    }

    fn trial_dir(&self, index: usize) -> PathBuf {
        self.out.join("trials").join(format!("{index:03}"))
    }

    /// The `apprentice train` arguments of a trial.
    fn train_args(&self, trial: &Trial) -> Vec<String> {
        let spec = &self.spec;
        let mut args = vec!["apprentice".into(), "train".into(), spec.algorithm.clone()];
        args.extend(["--scenario".into(), spec.scenario.clone()]);
        if let Some(demos) = &spec.demos {
            args.extend(["--demos".into(), demos.to_string_lossy().into_owned()]);
        }
        args.extend(["--out".into(), self.trial_dir(trial.index).to_string_lossy().into_owned()]);
        args.extend(["--device".into(), spec.device.clone()]);
        for set in sets(spec, trial) {
            args.extend(["--set".into(), set]);
        }
        args
    }
}

/// A trial's `--set` overrides: the shared settings, the swept ones, then its seed.
fn sets(spec: &SweepSpec, trial: &Trial) -> Vec<String> {
    let fixed = flatten(&spec.set).into_iter().map(|(k, v)| format!("{k}={v}"));
    let swept = trial.settings.iter().map(|(k, v)| format!("{k}={v}"));
    fixed.chain(swept).chain([format!("seed={}", trial.seed)]).collect()
}

/// Checks every trial's settings against the algorithm's hyperparameters, before any runs.
fn check_settings(spec: &SweepSpec, trials: &[Trial]) -> Result<(), String> {
    let base = RunConfig::new(&spec.algorithm, &spec.scenario, PathBuf::new()).map_err(|e| e.to_string())?;
    for trial in trials {
        let mut config = base.clone();
        let unknown = config.apply(&sets(spec, trial)).map_err(|e| format!("trial {}: {e}", trial.index))?;
        if let Some(set) = unknown.first() {
            return Err(format!(
                "`{set}`: no such hyperparameter of {} (known: {})",
                spec.algorithm,
                config.field_names().join(", ")
            ));
        }
    }
    Ok(())
}

/// Dotted keys and their values as `--set` takes them (nested tables become `a.b`).
fn flatten(table: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
        for (k, v) in table {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                other => out.push((key, other.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", table, &mut out);
    out
}

/// The swept keys and every trial: each grid combination (the last key changing fastest)
/// with each random draw, each trained once per seed.
fn expand(spec: &SweepSpec) -> Result<(Vec<String>, Vec<Trial>), String> {
    let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    let mut keys = Vec::new();
    for (key, values) in flatten(&spec.grid) {
        let toml::Value::Array(values) = values else {
            return Err(format!("grid.{key}: expected a list of values to try, e.g. [0.001, 0.01]"));
        };
        if values.is_empty() {
            return Err(format!("grid.{key}: the list of values is empty"));
        }
        points = combine(&points, &values.into_iter().map(|v| vec![(key.clone(), v)]).collect::<Vec<_>>());
        keys.push(key);
    }
    if let Some(random) = &spec.random {
        let draws = draws("", &random.keys)?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(random.seed);
        let samples: Vec<Vec<(String, toml::Value)>> = (0..random.samples)
            .map(|_| draws.iter().map(|(k, d)| Ok((k.clone(), d.sample(&mut rng, k)?))).collect())
            .collect::<Result<_, String>>()?;
        points = combine(&points, &samples);
        keys.extend(draws.into_iter().map(|(k, _)| k));
    }
    if keys.is_empty() {
        return Err("nothing to sweep: add a [grid] or [random] section".into());
    }
    let trials = points
        .iter()
        .flat_map(|p| spec.seeds.iter().map(move |&seed| (p, seed)))
        .enumerate()
        .map(|(index, (p, seed))| Trial {
            index,
            seed,
            settings: p.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        })
        .collect();
    Ok((keys, trials))
}

/// The distributions of `[random.keys]`, dotted keys for nested tables (`policy.lr`).
fn draws(prefix: &str, table: &toml::Table) -> Result<Vec<(String, Draw)>, String> {
    const KINDS: [&str; 4] = ["uniform", "log_uniform", "int_uniform", "choice"];
    let mut out = Vec::new();
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) if t.len() == 1 && t.keys().all(|k| KINDS.contains(&k.as_str())) => {
                let draw = v.clone().try_into::<Draw>().map_err(|e| format!("random.keys.{key}: {e}"))?;
                out.push((key, draw));
            }
            toml::Value::Table(t) => out.extend(draws(&key, t)?),
            _ => {
                return Err(format!(
                    "random.keys.{key}: expected a distribution, one of {{ {} = ... }}",
                    KINDS.join(" | ")
                ));
            }
        }
    }
    Ok(out)
}

/// Every point extended by every choice (points outer, choices inner).
fn combine<T: Clone>(points: &[Vec<T>], choices: &[Vec<T>]) -> Vec<Vec<T>> {
    points.iter().flat_map(|p| choices.iter().map(move |c| [p.as_slice(), c.as_slice()].concat())).collect()
}

impl Draw {
    fn sample(&self, rng: &mut impl Rng, key: &str) -> Result<toml::Value, String> {
        let bad = || format!("random.keys.{key}: the range's low end must be below its high end");
        Ok(match self {
            Draw::Uniform([lo, hi]) if lo < hi => toml::Value::Float(rng.random_range(*lo..*hi)),
            Draw::LogUniform([lo, hi]) if 0.0 < *lo && lo < hi => {
                toml::Value::Float(rng.random_range(lo.ln()..hi.ln()).exp())
            }
            Draw::IntUniform([lo, hi]) if lo <= hi => toml::Value::Integer(rng.random_range(*lo..=*hi)),
            Draw::Choice(values) if !values.is_empty() => values[rng.random_range(0..values.len())].clone(),
            Draw::LogUniform(_) => return Err(format!("random.keys.{key}: log_uniform needs 0 < lo < hi")),
            Draw::Choice(_) => return Err(format!("random.keys.{key}: choice needs at least one value")),
            _ => return Err(bad()),
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let sweep = Sweep::load(&args.config)?;
    if args.list {
        return sweep.trials.iter().try_for_each(json_line);
    }
    if let Some(k) = args.trial {
        let result = run_trial(&sweep, k)?;
        if !args.json {
            eprintln!("trial {k}: return {:.2} (run {})", result.return_mean, result.run.display());
            return Ok(());
        }
        return json_line(&result);
    }
    let parallel = args.parallel.or(sweep.spec.parallel).unwrap_or_else(cores).max(1);
    let results = run_all(&sweep, parallel, args.json)?;
    write_csv(&sweep, &results)?;
    save_png(
        &sweep.out.join("sweep.png"),
        (480 * sweep.keys.len().min(3) as u32 + 160, 520),
        &panels(&sweep, &results),
    )?;
    let failed: Vec<String> =
        results.iter().filter_map(|r| r.as_ref().err().map(|(k, e)| format!("trial {k}: {e}"))).collect();
    eprintln!(
        "{} of {} trials done; wrote {} and {}",
        results.len() - failed.len(),
        results.len(),
        sweep.out.join("results.csv").display(),
        sweep.out.join("sweep.png").display()
    );
    if !failed.is_empty() {
        bail!(
            "{} trials failed (their logs are in {}):\n{}",
            failed.len(),
            sweep.out.join("trials").display(),
            failed.join("\n")
        );
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Trains and evaluates trial `k` in this process, or returns its kept result.
fn run_trial(sweep: &Sweep, k: usize) -> anyhow::Result<TrialResult> {
    let trial = sweep.trials.get(k).with_context(|| {
        format!("the sweep has {} trials (0 to {})", sweep.trials.len(), sweep.trials.len().saturating_sub(1))
    })?;
    if let Some(kept) = kept_result(sweep, trial) {
        return Ok(kept);
    }
    // Set before any parallel work, so the trial's arithmetic is the same on every machine.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(sweep.spec.threads.max(1)).build_global();
    let dir = sweep.trial_dir(k);
    if dir.exists() {
        // An unfinished run of this trial (a crash, or settings since changed): start it again.
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing the unfinished trial {}", dir.display()))?;
    }
    let cli = <super::Cli as clap::Parser>::try_parse_from(sweep.train_args(trial))
        .map_err(|e| anyhow::anyhow!("trial {k}'s training arguments: {e}"))?;
    super::run(cli).with_context(|| format!("training trial {k} in {}", dir.display()))?;
    let report = super::train::evaluate_run(&dir, None, sweep.spec.eval_episodes, 1_000_000, false, &|| {})?;
    let train_seconds = crate::learn::curves::read(&dir, "time/seconds")
        .ok()
        .and_then(|c| c.points.last().map(|p| p.1))
        .unwrap_or(f64::NAN);
    let result = TrialResult {
        trial: trial.clone(),
        run: dir.clone(),
        return_mean: report.return_mean,
        return_std: report.return_std,
        success_rate: report.success_rate,
        expert_fraction: report.expert_fraction,
        train_seconds,
    };
    let path = dir.join("result.json");
    crate::data::dataset::write_atomic(&path, serde_json::to_string_pretty(&result)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(result)
}

/// A trial's result from an earlier run of the sweep, if its settings are still the same.
fn kept_result(sweep: &Sweep, trial: &Trial) -> Option<TrialResult> {
    let text = std::fs::read_to_string(sweep.trial_dir(trial.index).join("result.json")).ok()?;
    serde_json::from_str::<TrialResult>(&text).ok().filter(|r| r.trial == *trial)
}

type Outcome = Result<TrialResult, (usize, String)>;

/// Runs every trial, `parallel` processes at a time, each `apprentice sweep --trial K` with
/// its output in `logs/K.log` (its run in `trials/K`).
fn run_all(sweep: &Sweep, parallel: usize, json: bool) -> anyhow::Result<Vec<Outcome>> {
    let exe = std::env::current_exe().context("finding the apprentice binary")?;
    for dir in ["trials", "logs"] {
        std::fs::create_dir_all(sweep.out.join(dir)).with_context(|| format!("creating {}", sweep.out.display()))?;
    }
    let bar = progress(sweep.trials.len() as u64, "sweep");
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(sweep.trials.len()) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(trial) = sweep.trials.get(k) else { break };
                    let outcome = kept_result(sweep, trial).map_or_else(|| spawn_trial(&exe, sweep, k), Ok);
                    if let (Ok(result), true) = (&outcome, json) {
                        let _ = json_line(result);
                    }
                    bar.inc(1);
                    outcomes.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|o| match o {
        Ok(r) => r.trial.index,
        Err((k, _)) => *k,
    });
    Ok(outcomes)
}

fn spawn_trial(exe: &Path, sweep: &Sweep, k: usize) -> Outcome {
    let log_path = sweep.out.join("logs").join(format!("{k:03}.log"));
    let fail = |e: String| (k, e);
    let log = std::fs::File::create(&log_path).map_err(|e| fail(format!("{}: {e}", log_path.display())))?;
    let out = std::process::Command::new(exe)
        .args(["sweep", "--config"])
        .arg(&sweep.path)
        .args(["--trial", &k.to_string(), "--json"])
        .stderr(log)
        .output()
        .map_err(|e| fail(format!("starting {}: {e}", exe.display())))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let last = log.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(fail(format!("{} ({})", last.trim(), log_path.display())));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).map_err(|e| fail(format!("its result `{}`: {e}", stdout.trim())))
}

/// `results.csv`: one row per trial (failed ones keep their error), the swept keys as columns.
fn write_csv(sweep: &Sweep, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let quote =
        |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let mut text = format!(
        "trial,seed,{},return_mean,return_std,success_rate,expert_fraction,train_seconds,run,error\n",
        sweep.keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(",")
    );
    for (outcome, trial) in outcomes.iter().zip(&sweep.trials) {
        let settings: Vec<String> = sweep.keys.iter().map(|k| quote(&trial.settings[k])).collect();
        let row = match outcome {
            Ok(r) => format!(
                "{},{},{},{},{},{},{},{}",
                r.return_mean,
                r.return_std,
                r.success_rate,
                r.expert_fraction,
                r.train_seconds,
                quote(&r.run.to_string_lossy()),
                "",
                ""
            ),
            Err((_, e)) => format!(",,,,,,{}", quote(e)),
        };
        text += &format!("{},{},{},{row}\n", trial.index, trial.seed, settings.join(","));
    }
    let path = sweep.out.join("results.csv");
    crate::data::dataset::write_atomic(&path, text.as_bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// One panel per swept key: the mean evaluation return at each of its values (over the other
/// keys' values), one line per seed.
fn panels(sweep: &Sweep, outcomes: &[Outcome]) -> Vec<Panel> {
    let done: Vec<&TrialResult> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    sweep
        .keys
        .iter()
        .map(|key| {
            let mut values: Vec<&str> = Vec::new();
            for value in sweep.trials.iter().map(|t| t.settings[key].as_str()) {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            let numeric: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
            let x_of = |v: &str| match &numeric {
                Some(_) => v.parse::<f64>().unwrap_or(f64::NAN),
                None => values.iter().position(|u| *u == v).unwrap_or(0) as f64,
            };
            let series = sweep
                .spec
                .seeds
                .iter()
                .map(|&seed| {
                    let mut by_x: BTreeMap<u64, (f64, f64, usize)> = BTreeMap::new();
                    for r in done.iter().filter(|r| r.trial.seed == seed) {
                        let x = x_of(&r.trial.settings[key]);
                        let e = by_x.entry(x.to_bits()).or_insert((x, 0.0, 0));
                        (e.1, e.2) = (e.1 + r.return_mean, e.2 + 1);
                    }
                    let mut points: Vec<(f64, f64)> = by_x.values().map(|&(x, sum, n)| (x, sum / n as f64)).collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series { label: format!("seed {seed}"), points, band: None }
                })
                .collect();
            Panel {
                title: format!("{} on {}: {key}", sweep.spec.algorithm, sweep.spec.scenario),
                x_label: key.clone(),
                y_label: "eval return (mean)".into(),
                series,
                log_x: numeric.as_deref().is_some_and(Panel::wants_log),
                categories: numeric.is_none().then(|| values.iter().map(|v| v.to_string()).collect()),
            }
        })
        .collect()
}
