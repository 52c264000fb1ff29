//! Writing a batch of episodes produced in parallel (`demos generate`, a DAgger round) so
//! that each is on disk as soon as it finishes, and the batch still lands in its own order.
//!
//! Episode `k` is appended to the dataset as soon as episodes `0..k` have been. One that
//! finishes ahead of its turn waits in `DIR/staging/<writer>/`, a durable file, until its
//! turn comes. A writer that is killed leaves its staging directory behind, and the next
//! `Dataset::open` appends what it holds, so only the episodes still being produced are lost.

use super::codec::{self, DataError, io};
use super::dataset::{Dataset, EXTENSION, STAGING, write_new};
use super::episode::Episode;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Name of the lock a live batch writer holds inside its staging directory.
const OWNER: &str = "owner.lock";
/// Lock in the dataset directory that serializes creating, recovering and removing staging
/// directories, so a recovery never sees a writer's directory before its owner lock is held.
const STAGING_LOCK: &str = "staging.lock";

fn staging_guard(dataset: &Dataset) -> Result<fs::File, DataError> {
    dataset.lock_named(STAGING_LOCK)
}

/// Appends a batch's episodes in batch order as they finish (see the module doc).
pub struct OrderedWriter {
    dataset: Dataset,
    staging: PathBuf,
    /// Held while this writer lives, so `recover` leaves its directory alone.
    _owner: fs::File,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The batch index whose turn it is.
    next: usize,
    /// Finished ahead of their turn (also on disk in the staging directory).
    waiting: BTreeMap<usize, Episode>,
    ids: Vec<String>,
}

impl OrderedWriter {
    pub fn new(dataset: &Dataset) -> Result<OrderedWriter, DataError> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let staging = dataset.dir.join(STAGING).join(format!("{}-{nanos}", std::process::id()));
        let _guard = staging_guard(dataset)?;
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        let lock = staging.join(OWNER);
        let owner = fs::File::create(&lock).map_err(io(&lock))?;
        owner.lock().map_err(io(&lock))?;
        Ok(OrderedWriter { dataset: dataset.clone(), staging, _owner: owner, state: Mutex::new(State::default()) })
    }

    /// Hands over episode `k` of the batch: it is appended now if its turn has come (with
    /// every waiting successor), else it waits on disk.
    pub fn put(&self, k: usize, episode: Episode) -> Result<(), DataError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if k != state.next {
            write_new(&self.staged(k), &codec::encode(&episode))?;
            state.waiting.insert(k, episode);
            return Ok(());
        }
        state.ids.extend(self.dataset.append(std::slice::from_ref(&episode))?);
        state.next += 1;
        loop {
            let next = state.next;
            let Some(episode) = state.waiting.remove(&next) else { break };
            state.ids.extend(self.dataset.append(std::slice::from_ref(&episode))?);
            let staged = self.staged(next);
            fs::remove_file(&staged).map_err(io(&staged))?;
            state.next += 1;
        }
        Ok(())
    }

    /// The ids written, in batch order. Episodes still waiting for a predecessor that never
    /// came (its producer failed) are appended now, so nothing finished is dropped.
    pub fn finish(self) -> Result<Vec<String>, DataError> {
        let mut state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        let waiting: Vec<Episode> = std::mem::take(&mut state.waiting).into_values().collect();
        state.ids.extend(self.dataset.append(&waiting)?);
        let _guard = staging_guard(&self.dataset)?;
        fs::remove_dir_all(&self.staging).map_err(io(&self.staging))?;
        remove_if_empty(&self.dataset.dir.join(STAGING));
        Ok(state.ids)
    }

    fn staged(&self, k: usize) -> PathBuf {
        self.staging.join(format!("{k:09}.{EXTENSION}"))
    }
}

fn remove_if_empty(dir: &Path) {
    // Fails, harmlessly, while another writer's directory is still inside.
    let _ = fs::remove_dir(dir);
}

/// Appends the episodes that writers which are no longer running left in `DIR/staging`, in
/// their batch order, and says what it did. Files that do not decode stay where they are
/// and are reported.
pub fn recover(dataset: &Dataset) -> Result<Vec<String>, DataError> {
    let root = dataset.dir.join(STAGING);
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let _guard = staging_guard(dataset)?;
    let Ok(entries) = fs::read_dir(&root) else { return Ok(Vec::new()) };
    let mut messages = Vec::new();
    for dir in entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()) {
        let lock = dir.join(OWNER);
        let owner = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock).map_err(io(&lock))?;
        if owner.try_lock().is_err() {
            continue; // its writer is still running
        }
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .collect();
        files.sort();
        let (mut episodes, mut bad) = (Vec::new(), Vec::new());
        for path in files {
            match fs::read(&path).map_err(io(&path)).and_then(|b| codec::decode(&b, &path)) {
                Ok(e) => episodes.push((path, e)),
                Err(e) => bad.push(e.to_string()),
            }
        }
        let ids = dataset.append(&episodes.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>())?;
        for (path, _) in &episodes {
            fs::remove_file(path).map_err(io(path))?;
        }
        if !ids.is_empty() {
            messages.push(format!(
                "{}: recovered {} episode(s) an interrupted writer had finished, as {}",
                dir.display(),
                ids.len(),
                ids.join(", ")
            ));
        }
        if bad.is_empty() {
            drop(owner);
            fs::remove_dir_all(&dir).map_err(io(&dir))?;
        } else {
            messages.push(format!("{}: left in place, unreadable: {}", dir.display(), bad.join("; ")));
        }
    }
    remove_if_empty(&root);
    Ok(messages)
}
