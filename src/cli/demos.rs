//! `apprentice demos ...`: generate, inspect, curate, diagnose, edit, replay and export
//! demonstration datasets.

use super::output::{json_line, progress};
use crate::data::dataset::{Dataset, Loaded};
use crate::data::ops::{self, Generator};
use crate::data::{Filter, Source};
use crate::data::{lerobot, minari, npz};
use crate::sim::{Env, ScenarioEnv};
use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum Demos {
    /// Record episodes of the scripted expert (or random play), optionally with DART noise.
    Generate {
        #[arg(long)]
        scenario: String,
        #[arg(long, value_enum, default_value = "scripted")]
        expert: Generator,
        #[arg(long, value_parser = super::output::at_least_one)]
        episodes: usize,
        #[arg(long)]
        out: PathBuf,
        /// Noise on executed actions: Gaussian σ as a fraction of half the range (continuous),
        /// probability of a random choice (discrete). The clean label is kept.
        #[arg(long, default_value_t = 0.0)]
        noise: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Episodes, steps, returns, success and who drove.
    Info {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Keep only steps A..B of an episode (it still replays exactly).
    Trim {
        dir: PathBuf,
        #[arg(long)]
        episode: String,
        /// `A..B`, step indices, B exclusive.
        #[arg(long)]
        keep: String,
    },
    /// Leave episodes out of training (their files stay, listed in DIR/curation.json): the
    /// ones named with --episode, or every one the filter flags match.
    Exclude {
        dir: PathBuf,
        #[command(flatten)]
        selection: Selection,
    },
    /// Include excluded episodes again (the same selection as `exclude`).
    Include {
        dir: PathBuf,
        #[command(flatten)]
        selection: Selection,
    },
    /// A policy's loss on each included episode, the step where it departs most from the
    /// demonstration, and the outliers (loss far above the rest).
    Diagnose {
        dir: PathBuf,
        /// The run directory whose policy to score.
        #[arg(long)]
        policy: PathBuf,
        /// Also exclude the flagged episodes from training.
        #[arg(long)]
        exclude_flagged: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete one episode.
    Delete {
        dir: PathBuf,
        #[arg(long)]
        episode: String,
    },
    /// Copy the episodes of A and B into a new dataset C.
    Merge {
        a: PathBuf,
        b: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write DIR/split.json: a seeded train/validation split by episode.
    Split {
        dir: PathBuf,
        /// The fraction of episodes held out for validation, at least 0 and below 1.
        #[arg(long, default_value_t = 0.2, value_parser = validation_fraction)]
        val: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Re-simulate every episode and check its observations bit for bit.
    Replay {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Export for other tools: numpy's .npz, or a Minari or LeRobot dataset directory.
    Export {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "npz")]
        format: Format,
        /// The .npz file, or the dataset directory (minari, lerobot).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import an .npz, a Minari or a LeRobot dataset (as export writes them) into a new dataset.
    Import {
        /// The .npz file, or the dataset directory (minari, lerobot).
        file: PathBuf,
        #[arg(long, value_enum, default_value = "npz")]
        format: Format,
        #[arg(long)]
        scenario: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// The dataset formats of other tools that `export` writes and `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// numpy's .npz: one array per field, every step of every episode in order.
    Npz,
    /// Farama's Minari, parquet storage (`minari.MinariDataset(DIR/data)` loads it).
    Minari,
    /// LeRobot's dataset format v3.0 (parquet plus `meta/`; state only, no videos).
    Lerobot,
}

/// Which episodes `exclude` and `include` act on: named ones, or those a filter matches.
#[derive(Debug, clap::Args)]
pub struct Selection {
    /// An episode id (repeat for several).
    #[arg(long)]
    episode: Vec<String>,
    /// Episodes that failed.
    #[arg(long, conflicts_with = "succeeded")]
    failed: bool,
    /// Episodes that succeeded.
    #[arg(long)]
    succeeded: bool,
    /// Episodes shorter than N steps.
    #[arg(long, value_name = "N")]
    shorter_than: Option<usize>,
    /// Episodes whose return is below R.
    #[arg(long, value_name = "R", allow_hyphen_values = true)]
    return_below: Option<f32>,
    /// Episodes holding a step of this source.
    #[arg(long, value_enum)]
    source: Option<SourceArg>,
    /// Episodes recorded with this device (`keyboard`, `scripted`, a gamepad's name).
    #[arg(long)]
    device: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SourceArg {
    Human,
    Expert,
    Policy,
    Intervention,
}

impl Selection {
    fn filter(&self) -> Option<Filter> {
        let source = self.source.map(|s| match s {
            SourceArg::Human => Source::Human,
            SourceArg::Expert => Source::Expert,
            SourceArg::Policy => Source::Policy,
            SourceArg::Intervention => Source::Intervention,
        });
        let success = match (self.failed, self.succeeded) {
            (true, _) => Some(false),
            (_, true) => Some(true),
            _ => None,
        };
        let filter = Filter {
            success,
            shorter_than: self.shorter_than,
            return_below: self.return_below,
            source,
            device: self.device.clone(),
        };
        (filter != Filter::default()).then_some(filter)
    }

    /// The ids selected in `dataset`; naming nothing is an error, not "everything".
    fn ids(&self, dataset: &Dataset) -> anyhow::Result<Vec<String>> {
        let rows = dataset.manifest()?;
        let mut ids = self.episode.clone();
        if let Some(unknown) = ids.iter().find(|id| !rows.iter().any(|r| &r.id == *id)) {
            bail!("{}: no episode `{unknown}`", dataset.dir.display());
        }
        match self.filter() {
            Some(filter) => ids.extend(filter.select(&rows)),
            None if ids.is_empty() => {
                bail!("name the episodes: --episode ID, or a filter (--failed, --shorter-than N, --source S, ...)")
            }
            None => {}
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

/// Includes or excludes the selection and says what training now uses.
fn curate(dir: &Path, selection: &Selection, included: bool) -> anyhow::Result<()> {
    let dataset = existing(dir)?;
    let ids = selection.ids(&dataset)?;
    let curation = dataset.set_included(&ids, included)?;
    let all = dataset.ids()?;
    let used = all.iter().filter(|id| curation.includes(id)).count();
    let verb = if included { "included" } else { "excluded" };
    eprintln!("{verb} {} episodes; training uses {used} of {}", ids.len(), all.len());
    Ok(())
}

#[derive(Serialize)]
struct DiagnosisRow {
    id: String,
    loss: f32,
    worst_step: usize,
    worst_loss: f32,
    outlier: bool,
}

fn diagnose(dir: &Path, policy: &Path, exclude_flagged: bool, json: bool) -> anyhow::Result<()> {
    let (dataset, env, _) = load_checked(dir)?;
    let policy = crate::learn::run::load_policy(policy, &env)?;
    let loaded = dataset.load_ids(&dataset.included_ids()?, Some(&env))?;
    warn(&loaded);
    let episodes: Vec<_> = loaded.episodes.into_iter().map(|f| (f.id, f.episode)).collect();
    let diagnoses = crate::learn::diagnose::diagnose(policy.as_ref(), &episodes);
    for d in &diagnoses {
        if json {
            let row = DiagnosisRow {
                id: d.id.clone(),
                loss: d.loss,
                worst_step: d.worst_step,
                worst_loss: d.worst_loss,
                outlier: d.outlier,
            };
            json_line(&row)?;
        } else {
            let flag = if d.outlier { "  ⚠ outlier" } else { "" };
            println!("{}  loss {:.4}  departs most at step {} ({:.4}){flag}", d.id, d.loss, d.worst_step, d.worst_loss);
        }
    }
    let flagged: Vec<String> = diagnoses.iter().filter(|d| d.outlier).map(|d| d.id.clone()).collect();
    eprintln!("{} episodes diagnosed, {} flagged", diagnoses.len(), flagged.len());
    if exclude_flagged && !flagged.is_empty() {
        dataset.set_included(&flagged, false)?;
        eprintln!("excluded the {} flagged episodes from training", flagged.len());
    }
    Ok(())
}

pub fn run(demos: Demos) -> anyhow::Result<()> {
    match demos {
        Demos::Generate { scenario, expert, episodes, out, noise, seed } => {
            let env = ScenarioEnv::load(&scenario)?;
            let dataset = open(&out)?;
            let bar = progress(episodes as u64, &format!("generate {}", env.scenario().name));
            let ids = ops::generate(&env, expert, episodes, seed, noise, &dataset, &|| bar.inc(1))?;
            bar.finish_and_clear();
            eprintln!("wrote {} episodes to {}", ids.len(), out.display());
            Ok(())
        }
        Demos::Info { dir, json } => info(&dir, json),
        Demos::Trim { dir, episode, keep } => {
            let (a, b) = keep.split_once("..").context("--keep takes A..B, for example 10..200")?;
            let (a, b): (usize, usize) = (a.trim().parse()?, b.trim().parse()?);
            let (dataset, mut env, loaded) = load_checked(&dir)?;
            let file = find(&loaded, &episode)?;
            let trimmed = ops::trim(&mut env, file, a, b)?;
            dataset.replace(&episode, &trimmed)?;
            eprintln!("episode {episode}: kept steps {a}..{b} ({} steps)", trimmed.len());
            Ok(())
        }
        Demos::Exclude { dir, selection } => curate(&dir, &selection, false),
        Demos::Include { dir, selection } => curate(&dir, &selection, true),
        Demos::Diagnose { dir, policy, exclude_flagged, json } => diagnose(&dir, &policy, exclude_flagged, json),
        Demos::Delete { dir, episode } => {
            let dataset = existing(&dir)?;
            dataset.delete(&episode)?;
            eprintln!("deleted episode {episode}");
            Ok(())
        }
        Demos::Merge { a, b, out } => {
            let target = open(&out)?;
            let mut count = 0;
            for dir in [&a, &b] {
                let loaded = existing(dir)?.load(None)?;
                warn(&loaded);
                let episodes: Vec<_> = loaded.episodes.into_iter().map(|e| e.episode).collect();
                count += target.append(&episodes)?.len();
            }
            eprintln!("merged {count} episodes into {}", out.display());
            Ok(())
        }
        Demos::Split { dir, val, seed } => {
            let dataset = existing(&dir)?;
            let split = ops::split(&dataset.ids()?, val, seed);
            let path = dir.join("split.json");
            crate::data::dataset::write_atomic(&path, &serde_json::to_vec_pretty(&split)?)?;
            eprintln!("{}: {} train, {} validation episodes", path.display(), split.train.len(), split.val.len());
            Ok(())
        }
        Demos::Replay { dir, json } => replay(&dir, json),
        Demos::Export { dir, format, out } => {
            let (_, env, loaded) = load_checked(&dir)?;
            let steps = match format {
                Format::Npz => npz::export(&loaded.episodes, env.action_space(), &out)?,
                Format::Minari => minari::export(&loaded.episodes, &env, &out)?,
                Format::Lerobot => lerobot::export(&loaded.episodes, &env, &out)?,
            };
            eprintln!("exported {} episodes, {steps} steps to {}", loaded.episodes.len(), out.display());
            Ok(())
        }
        Demos::Import { file, format, scenario, out } => {
            let mut env = ScenarioEnv::load(&scenario)?;
            let episodes = match format {
                Format::Npz => npz::import(&file, &mut env)?,
                Format::Minari => kept(minari::import(&file, &mut env)?, &file)?,
                Format::Lerobot => kept(lerobot::import(&file, &mut env)?, &file)?,
            };
            let ids = open(&out)?.append(&episodes)?;
            eprintln!("imported {} episodes into {}", ids.len(), out.display());
            Ok(())
        }
    }
}

/// An import's episodes, each skipped one reported; an error when none could be read.
fn kept(imported: crate::data::Imported, from: &Path) -> anyhow::Result<Vec<crate::data::Episode>> {
    imported.skipped.iter().for_each(|e| eprintln!("skipped {e}"));
    if imported.episodes.is_empty() && !imported.skipped.is_empty() {
        bail!("no episode of {} could be imported", from.display());
    }
    Ok(imported.episodes)
}

pub(super) fn open(dir: &Path) -> anyhow::Result<Dataset> {
    let (dataset, recovered) = Dataset::open(dir)?;
    recovered.iter().for_each(|m| eprintln!("{m}"));
    Ok(dataset)
}

fn existing(dir: &Path) -> anyhow::Result<Dataset> {
    let (dataset, recovered) = Dataset::existing(dir)?;
    recovered.iter().for_each(|m| eprintln!("{m}"));
    Ok(dataset)
}

fn warn(loaded: &Loaded) {
    if let Some(w) = loaded.warning() {
        eprintln!("warning: {w}");
    }
}

/// Opens a dataset, finds its scenario (from the first readable episode) and loads the
/// episodes that fit it.
fn load_checked(dir: &Path) -> anyhow::Result<(Dataset, ScenarioEnv, Loaded)> {
    let dataset = existing(dir)?;
    let all = dataset.load(None)?;
    let first = all.episodes.first().with_context(|| format!("{}: no readable episodes", dir.display()))?;
    let env = ScenarioEnv::load(&first.episode.meta.scenario)?;
    let mut loaded = dataset.load(Some(&env))?;
    loaded.recovered = all.recovered;
    warn(&loaded);
    Ok((dataset, env, loaded))
}

fn find<'a>(loaded: &'a Loaded, id: &str) -> anyhow::Result<&'a crate::data::dataset::EpisodeFile> {
    loaded.episodes.iter().find(|e| e.id == id).with_context(|| format!("no episode `{id}` loaded from this dataset"))
}

#[derive(Serialize)]
struct Info {
    episodes: usize,
    steps: usize,
    /// Return and success statistics are `None` (JSON null) for an empty dataset.
    return_mean: Option<f64>,
    return_min: Option<f64>,
    return_max: Option<f64>,
    success_rate: Option<f64>,
    partial: usize,
    /// Episodes training leaves out (DIR/curation.json).
    excluded: usize,
    scenarios: BTreeMap<String, usize>,
    sources: BTreeMap<String, usize>,
    devices: BTreeMap<String, usize>,
    skipped: Vec<String>,
}

fn info(dir: &Path, json: bool) -> anyhow::Result<()> {
    let dataset = existing(dir)?;
    let loaded = dataset.load(None)?;
    let curation = dataset.curation()?;
    let eps: Vec<_> = loaded.episodes.iter().map(|e| &e.episode).collect();
    let returns: Vec<f64> = eps.iter().map(|e| e.ret() as f64).collect();
    let n = eps.len() as f64;
    let nonempty = |v: f64| (!eps.is_empty()).then_some(v);
    let mut sources = BTreeMap::new();
    let (mut scenarios, mut devices) = (BTreeMap::new(), BTreeMap::new());
    for e in &eps {
        for s in &e.steps {
            *sources.entry(format!("{:?}", s.source).to_lowercase()).or_insert(0) += 1;
        }
        *scenarios.entry(e.meta.scenario.clone()).or_insert(0) += 1;
        *devices.entry(e.meta.device.clone()).or_insert(0) += 1;
    }
    let info = Info {
        episodes: eps.len(),
        steps: loaded.steps(),
        return_mean: nonempty(returns.iter().sum::<f64>() / n),
        return_min: returns.iter().copied().reduce(f64::min),
        return_max: returns.iter().copied().reduce(f64::max),
        success_rate: nonempty(eps.iter().filter(|e| e.success()).count() as f64 / n),
        partial: eps.iter().filter(|e| e.meta.partial).count(),
        excluded: loaded.episodes.iter().filter(|f| !curation.includes(&f.id)).count(),
        scenarios,
        sources,
        devices,
        skipped: loaded.skipped.iter().map(|e| e.to_string()).collect(),
    };
    if json {
        json_line(&info)?;
    } else {
        warn(&loaded);
        match (info.return_mean, info.return_min, info.return_max, info.success_rate) {
            (Some(mean), Some(min), Some(max), Some(success)) => println!(
                "{}: {} episodes ({} excluded from training), {} steps, return {mean:.2} (min {min:.2}, max {max:.2}), success {:.0}%, {} partial",
                dir.display(),
                info.episodes,
                info.excluded,
                info.steps,
                success * 100.0,
                info.partial
            ),
            _ => println!("{}: no episodes yet", dir.display()),
        }
        println!(
            "  scenarios {:?}\n  steps by source {:?}\n  episodes by device {:?}",
            info.scenarios, info.sources, info.devices
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct ReplaySummary {
    episodes: usize,
    exact: usize,
    diverged: usize,
    skipped: usize,
    first_divergence: Option<ops::Divergence>,
}

fn replay(dir: &Path, json: bool) -> anyhow::Result<()> {
    let (_, env, loaded) = load_checked(dir)?;
    let bar = progress(loaded.episodes.len() as u64, "replay");
    let results: Vec<_> = {
        use rayon::prelude::*;
        loaded
            .episodes
            .par_iter()
            .map_init(
                || env.fork(),
                |env, file| {
                    let r = ops::replay(env, file);
                    bar.inc(1);
                    r
                },
            )
            .collect()
    };
    bar.finish_and_clear();
    let mut divergences = Vec::new();
    for r in results {
        if let Some(d) = r? {
            divergences.push(d);
        }
    }
    let summary = ReplaySummary {
        episodes: loaded.episodes.len(),
        exact: loaded.episodes.len() - divergences.len(),
        diverged: divergences.len(),
        skipped: loaded.skipped.len(),
        first_divergence: divergences.into_iter().next(),
    };
    if json {
        json_line(&summary)?;
    } else {
        println!("{}: {} of {} episodes replay exactly", dir.display(), summary.exact, summary.episodes);
        if let Some(d) = &summary.first_divergence {
            println!(
                "  first divergence: episode {}, step {}: recorded {:?}, replayed {:?}",
                d.episode, d.step, d.recorded, d.replayed
            );
        }
    }
    Ok(())
}

/// `--val`: a fraction that leaves some episodes to train on.
fn validation_fraction(text: &str) -> Result<f64, String> {
    let val: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..1.0).contains(&val) {
        Ok(val)
    } else {
        Err(format!("{val} is not in [0, 1): some episodes must be left to train on"))
    }
}
