//! `apprentice demos ...`: generate, inspect, edit, replay and export demonstration datasets.

use super::output::{json_line, progress};
use crate::data::dataset::{Dataset, Loaded};
use crate::data::npz;
use crate::data::ops::{self, Generator};
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
        #[arg(long)]
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
        #[arg(long, default_value_t = 0.2)]
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
    /// Export to numpy's .npz.
    Export {
        dir: PathBuf,
        #[arg(long, default_value = "npz")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import an .npz (as written by export) into a new dataset.
    Import {
        file: PathBuf,
        #[arg(long)]
        scenario: String,
        #[arg(long)]
        out: PathBuf,
    },
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
            if format != "npz" {
                bail!("unknown export format `{format}`; the one supported is npz");
            }
            let (_, env, loaded) = load_checked(&dir)?;
            let steps = npz::export(&loaded.episodes, env.action_space(), &out)?;
            eprintln!("exported {} episodes, {steps} steps to {}", loaded.episodes.len(), out.display());
            Ok(())
        }
        Demos::Import { file, scenario, out } => {
            let mut env = ScenarioEnv::load(&scenario)?;
            let episodes = npz::import(&file, &mut env)?;
            let ids = open(&out)?.append(&episodes)?;
            eprintln!("imported {} episodes into {}", ids.len(), out.display());
            Ok(())
        }
    }
}

fn open(dir: &Path) -> anyhow::Result<Dataset> {
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
    scenarios: BTreeMap<String, usize>,
    sources: BTreeMap<String, usize>,
    devices: BTreeMap<String, usize>,
    skipped: Vec<String>,
}

fn info(dir: &Path, json: bool) -> anyhow::Result<()> {
    let loaded = existing(dir)?.load(None)?;
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
                "{}: {} episodes, {} steps, return {mean:.2} (min {min:.2}, max {max:.2}), success {:.0}%, {} partial",
                dir.display(),
                info.episodes,
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
