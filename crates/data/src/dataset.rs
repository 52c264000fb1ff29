//! A dataset is a directory: one file per finished episode, written atomically, a manifest
//! that can always be rebuilt from them, and the journal of the recording in progress.
//!
//! ```text
//! DIR/episodes/ep-000001.apd   finished episodes (see `codec`)
//! DIR/manifest.json            summary per episode (rebuilt when missing or stale)
//! DIR/recording.journal        the episode being recorded (see `recorder`)
//! DIR/writer.lock              the advisory lock every writer holds while it adds episodes
//! DIR/staging/<writer>/        episodes a batch writer finished ahead of their turn
//! DIR/staging.lock             held while staging directories are created, recovered, removed
//! ```
//!
//! Several programs may write one dataset at once (two `demos generate`, the app and a
//! DAgger run): each append takes `writer.lock`, so ids never collide, and a finished
//! episode file is created with a hard link, which fails rather than replace a file.

use super::codec::{self, DataError, io};
use super::episode::{Episode, Source};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim::{Env, ScenarioEnv};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EXTENSION: &str = "apd";
pub const JOURNAL: &str = "recording.journal";
pub const LOCK: &str = "writer.lock";
pub const STAGING: &str = "staging";

/// A dataset directory.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
}

/// A loaded episode and where it came from.
#[derive(Debug, Clone)]
pub struct EpisodeFile {
    /// The file stem, e.g. `ep-000007`.
    pub id: String,
    pub path: PathBuf,
    pub episode: Episode,
}

/// The result of loading: what loaded, what was skipped and why, what was recovered.
#[derive(Debug)]
pub struct Loaded {
    pub episodes: Vec<EpisodeFile>,
    pub skipped: Vec<DataError>,
    /// Messages about an interrupted recording found on opening.
    pub recovered: Vec<String>,
}

impl Loaded {
    /// One line per skipped file, for the user.
    pub fn warning(&self) -> Option<String> {
        (!self.skipped.is_empty()).then(|| {
            let lines: Vec<String> = self.skipped.iter().map(|e| format!("  skipped {e}")).collect();
            format!("{} episode file(s) skipped; the rest loaded:\n{}", self.skipped.len(), lines.join("\n"))
        })
    }

    pub fn steps(&self) -> usize {
        self.episodes.iter().map(|e| e.episode.len()).sum()
    }
}

/// One manifest row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub id: String,
    pub scenario: String,
    pub steps: usize,
    #[serde(rename = "return")]
    pub ret: f32,
    pub success: bool,
    pub sources: Vec<Source>,
    pub device: String,
    pub partial: bool,
}

impl ManifestEntry {
    pub fn of(id: &str, e: &Episode) -> ManifestEntry {
        ManifestEntry {
            id: id.to_string(),
            scenario: e.meta.scenario.clone(),
            steps: e.len(),
            ret: e.ret(),
            success: e.success(),
            sources: e.sources(),
            device: e.meta.device.clone(),
            partial: e.meta.partial,
        }
    }
}

/// Where the user's data lives (the app's datasets, runs and scenario copies):
/// `$APPRENTICE_DATA`, else `$XDG_DATA_HOME/apprentice`, else `~/.local/share/apprentice`.
pub fn user_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("APPRENTICE_DATA") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".local/share"));
    base.join("apprentice")
}

/// Whether `dir` is a folder with something in it (false when it does not exist): what a
/// dataset, a run or an export checks before writing into a folder that may be another's.
pub fn holds_files(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
/// temp file, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let tmp = write_temp(path, bytes)?;
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_parent(path);
    Ok(())
}

/// Writes `bytes` to a new file `path`, whole or not at all, and never over an existing
/// file: temp file, fsync, hard link (which fails if `path` exists), fsync the directory.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let tmp = write_temp(path, bytes)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked.map_err(io(path))?;
    sync_parent(path);
    Ok(())
}

/// `bytes` in a durable temp file beside `path`, named for this process and thread so
/// concurrent writers never share one.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf, DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_digit(), "");
    let tmp = dir.join(format!(".{name}.{}-{thread}.tmp", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    Ok(tmp)
}

fn sync_parent(path: &Path) {
    if let Ok(d) = fs::File::open(path.parent().unwrap_or(Path::new("."))) {
        let _ = d.sync_all();
    }
}

impl Dataset {
    /// Opens a dataset directory, creating it if needed, and recovers what an interrupted
    /// writer left: a recording (see `recorder::recover`) and staged episodes (`staged`).
    /// A folder of other files (a run, an export) is refused: episodes never go among them.
    pub fn open(dir: &Path) -> Result<(Dataset, Vec<String>), DataError> {
        if holds_files(dir) && !dir.join("episodes").is_dir() {
            let what = "holds other files and is not a dataset: give a new or empty folder, or a dataset";
            return Err(DataError::Invalid { path: dir.to_owned(), what: what.into() });
        }
        fs::create_dir_all(dir.join("episodes")).map_err(io(dir))?;
        let dataset = Dataset { dir: dir.to_owned() };
        let mut recovered = super::recorder::recover(&dataset)?;
        recovered.extend(super::staged::recover(&dataset)?);
        Ok((dataset, recovered))
    }

    /// Waits for and takes the dataset's writer lock; it is released when the file drops.
    pub(crate) fn lock(&self) -> Result<fs::File, DataError> {
        self.lock_named(LOCK)
    }

    /// Waits for and takes the lock file `name` in the dataset directory.
    pub(crate) fn lock_named(&self, name: &str) -> Result<fs::File, DataError> {
        let path = self.dir.join(name);
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(file)
    }

    /// Opens a dataset that must already exist.
    pub fn existing(dir: &Path) -> Result<(Dataset, Vec<String>), DataError> {
        if !dir.join("episodes").is_dir() {
            return Err(DataError::Invalid {
                path: dir.to_owned(),
                what: "not a dataset directory (no episodes/ inside)".into(),
            });
        }
        Dataset::open(dir)
    }

    pub fn episodes_dir(&self) -> PathBuf {
        self.dir.join("episodes")
    }

    pub fn episode_path(&self, id: &str) -> PathBuf {
        self.episodes_dir().join(format!("{id}.{EXTENSION}"))
    }

    /// Episode ids on disk, in order.
    pub fn ids(&self) -> Result<Vec<String>, DataError> {
        let dir = self.episodes_dir();
        let mut ids: Vec<String> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// `count` fresh ids after the largest in use.
    pub fn next_ids(&self, count: usize) -> Result<Vec<String>, DataError> {
        let last = self.ids()?.iter().filter_map(|id| id.strip_prefix("ep-")?.parse::<u64>().ok()).max().unwrap_or(0);
        Ok((1..=count as u64).map(|k| format!("ep-{:06}", last + k)).collect())
    }

    /// Writes a new episode file under `id` (an error if one exists).
    fn write(&self, id: &str, episode: &Episode) -> Result<PathBuf, DataError> {
        let path = self.episode_path(id);
        write_new(&path, &codec::encode(episode))?;
        Ok(path)
    }

    /// Writes new episodes under fresh ids and adds them to the manifest, holding the writer
    /// lock so that another program appending at the same time gets other ids.
    pub fn append(&self, episodes: &[Episode]) -> Result<Vec<String>, DataError> {
        let _lock = self.lock()?;
        let ids = self.next_ids(episodes.len())?;
        ids.par_iter().zip(episodes).try_for_each(|(id, e)| self.write(id, e).map(|_| ()))?;
        let mut rows = self.manifest()?;
        rows.retain(|r| !ids.contains(&r.id));
        rows.extend(ids.iter().zip(episodes).map(|(id, e)| ManifestEntry::of(id, e)));
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        self.save_manifest(&rows)?;
        Ok(ids)
    }

    /// Replaces an existing episode (after an explicit edit such as trim).
    pub fn replace(&self, id: &str, episode: &Episode) -> Result<(), DataError> {
        let _lock = self.lock()?;
        write_atomic(&self.episode_path(id), &codec::encode(episode))?;
        let mut rows = self.manifest()?;
        rows.retain(|r| r.id != id);
        rows.push(ManifestEntry::of(id, episode));
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        self.save_manifest(&rows)
    }

    /// Deletes one episode file (an explicit user command).
    pub fn delete(&self, id: &str) -> Result<(), DataError> {
        let _lock = self.lock()?;
        let path = self.episode_path(id);
        if !path.is_file() {
            return Err(DataError::Invalid {
                path: self.dir.clone(),
                what: format!("no episode `{id}` in this dataset"),
            });
        }
        fs::remove_file(&path).map_err(io(&path))?;
        let mut rows = self.manifest()?;
        rows.retain(|r| r.id != id);
        self.save_manifest(&rows)
    }

    /// The manifest, rebuilt from the episode files when it is missing, unreadable or
    /// does not list exactly the files on disk.
    pub fn manifest(&self) -> Result<Vec<ManifestEntry>, DataError> {
        let path = self.dir.join("manifest.json");
        let ids = self.ids()?;
        if let Some(rows) = fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Vec<ManifestEntry>>(&b).ok())
            && rows.iter().map(|r| &r.id).eq(ids.iter())
        {
            return Ok(rows);
        }
        let loaded = self.load(None)?;
        Ok(loaded.episodes.iter().map(|e| ManifestEntry::of(&e.id, &e.episode)).collect())
    }

    fn save_manifest(&self, rows: &[ManifestEntry]) -> Result<(), DataError> {
        let json = serde_json::to_vec_pretty(rows).expect("manifest serializes");
        write_atomic(&self.dir.join("manifest.json"), &json)
    }

    /// Reads one episode.
    pub fn read(&self, id: &str) -> Result<EpisodeFile, DataError> {
        let path = self.episode_path(id);
        let bytes = fs::read(&path).map_err(io(&path))?;
        let episode = codec::decode(&bytes, &path)?;
        Ok(EpisodeFile { id: id.to_string(), path, episode })
    }

    /// Loads every episode in parallel. Unreadable files and, when `scenario` is given,
    /// episodes that do not fit it are skipped and reported; the rest load.
    pub fn load(&self, scenario: Option<&ScenarioEnv>) -> Result<Loaded, DataError> {
        self.load_ids(&self.ids()?, scenario)
    }

    /// Loads the episodes `ids` as `load` does (a missing one is skipped and reported).
    pub fn load_ids(&self, ids: &[String], scenario: Option<&ScenarioEnv>) -> Result<Loaded, DataError> {
        let results: Vec<Result<EpisodeFile, DataError>> = ids
            .par_iter()
            .map(|id| {
                let file = self.read(id)?;
                if let Some(env) = scenario {
                    check_fits(env, id, &file.path, &file.episode)?;
                }
                Ok(file)
            })
            .collect();
        let (mut episodes, mut skipped) = (Vec::new(), Vec::new());
        for r in results {
            match r {
                Ok(e) => episodes.push(e),
                Err(e) => skipped.push(e),
            }
        }
        Ok(Loaded { episodes, skipped, recovered: Vec::new() })
    }
}

/// An episode fits a scenario when it was recorded on it, unchanged, with the right sizes.
pub fn check_fits(env: &ScenarioEnv, id: &str, path: &Path, e: &Episode) -> Result<(), DataError> {
    let s = env.scenario();
    let episode = id.to_string();
    if e.meta.scenario != s.name {
        return Err(DataError::WrongScenario {
            path: path.to_owned(),
            episode,
            found: e.meta.scenario.clone(),
            expected: s.name.clone(),
        });
    }
    if e.meta.scenario_hash != s.source_hash {
        return Err(DataError::ScenarioChanged {
            path: path.to_owned(),
            episode,
            scenario: s.name.clone(),
            found: e.meta.scenario_hash.clone(),
            expected: s.source_hash.clone(),
        });
    }
    let obs_dim = env.observation_space().dim();
    for (k, step) in e.steps.iter().enumerate() {
        let what = if step.obs.len() != obs_dim {
            Some(format!("observation has {} values; scenario `{}` observes {obs_dim}", step.obs.len(), s.name))
        } else if let Err(m) = env.action_space().check(&step.action) {
            Some(m.to_string())
        } else {
            None
        };
        if let Some(what) = what {
            return Err(DataError::Shape { path: path.to_owned(), episode, step: k, what });
        }
    }
    Ok(())
}
