//! Recording an episode step by step into a journal, so a crash loses nothing finished and
//! at most the tail of the episode in progress.
//!
//! The journal is a sequence of frames `length u32 | CRC-32 u32 | postcard payload`: first
//! the episode's metadata and initial state, then one frame per step. On the next open, a
//! journal with complete steps becomes a partial episode; one without is discarded.

use super::codec::{DataError, io};
use super::dataset::{Dataset, JOURNAL};
use super::episode::{Episode, EpisodeMeta, StepRecord};
use serde::{Deserialize, Serialize};
use sim::scenario_env::EnvState;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct Head {
    meta: EpisodeMeta,
    initial: EnvState,
}

#[derive(Serialize, Deserialize)]
struct Frame {
    step: StepRecord,
    /// The observation after the step (the final observation if the journal ends here).
    next_obs: Vec<f32>,
}

/// An episode being recorded into a dataset.
pub struct Recorder {
    dataset: Dataset,
    journal: fs::File,
    journal_path: PathBuf,
    episode: Episode,
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + payload.len());
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

impl Recorder {
    /// Starts recording an episode that begins in `initial`.
    /// The journal stays locked while the recorder lives, so a second program recording into
    /// the same dataset gets an error instead of overwriting it, and `recover` leaves it alone.
    pub fn start(dataset: &Dataset, meta: EpisodeMeta, initial: EnvState) -> Result<Recorder, DataError> {
        let journal_path = dataset.dir.join(JOURNAL);
        let mut journal = open_journal(&journal_path)?;
        if journal.try_lock().is_err() {
            return Err(DataError::Invalid {
                path: journal_path,
                what: "another program is recording into this dataset right now (its journal is locked)".into(),
            });
        }
        journal.set_len(0).map_err(io(&journal_path))?;
        let head = postcard::to_stdvec(&Head { meta: meta.clone(), initial: initial.clone() }).expect("serializes");
        journal.write_all(&frame(&head)).map_err(io(&journal_path))?;
        journal.sync_data().map_err(io(&journal_path))?;
        let episode = Episode { meta, initial, steps: Vec::new(), final_obs: Vec::new() };
        Ok(Recorder { dataset: dataset.clone(), journal, journal_path, episode })
    }

    /// Appends one step; `next_obs` is the observation after it.
    pub fn record(&mut self, step: StepRecord, next_obs: &[f32]) -> Result<(), DataError> {
        let f = Frame { step, next_obs: next_obs.to_vec() };
        let payload = postcard::to_stdvec(&f).expect("serializes");
        // One write per step: the OS has it even if this process dies right after.
        self.journal.write_all(&frame(&payload)).map_err(io(&self.journal_path))?;
        self.episode.steps.push(f.step);
        self.episode.final_obs = f.next_obs;
        Ok(())
    }

    pub fn steps(&self) -> usize {
        self.episode.steps.len()
    }

    /// The episode recorded so far.
    pub fn episode(&self) -> &Episode {
        &self.episode
    }

    /// Who drove, as saved in the episode's metadata (set when the driver changed mid-episode).
    pub fn set_device(&mut self, device: String) {
        self.episode.meta.device = device;
    }

    /// Saves the episode into the dataset and drops the journal; returns the new id.
    pub fn finish(self) -> Result<String, DataError> {
        let ids = self.dataset.append(std::slice::from_ref(&self.episode))?;
        fs::remove_file(&self.journal_path).map_err(io(&self.journal_path))?;
        Ok(ids.into_iter().next().expect("one id per episode"))
    }

    /// Throws the episode away (an explicit user choice).
    pub fn discard(self) -> Result<(), DataError> {
        fs::remove_file(&self.journal_path).map_err(io(&self.journal_path))
    }
}

/// Opens (or creates) the journal without truncating it: it may be another recorder's.
fn open_journal(path: &Path) -> Result<fs::File, DataError> {
    fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path).map_err(io(path))
}

/// Reads the complete frames of a journal; a torn last frame ends the list.
fn read_frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        frames.push(payload);
        at += 8 + len;
    }
    frames
}

/// Turns an interrupted recording into a partial episode (or discards it when no step was
/// complete) and says what happened.
pub fn recover(dataset: &Dataset) -> Result<Vec<String>, DataError> {
    let path = dataset.dir.join(JOURNAL);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let journal = open_journal(&path)?;
    if journal.try_lock().is_err() {
        return Ok(Vec::new()); // a live recorder's episode in progress
    }
    let bytes = fs::read(&path).map_err(io(&path))?;
    let frames = read_frames(&bytes);
    let head: Option<Head> = frames.first().and_then(|f| postcard::from_bytes(f).ok());
    let steps: Vec<Frame> = frames.iter().skip(1).map_while(|f| postcard::from_bytes(f).ok()).collect();
    let message = match head {
        Some(head) if !steps.is_empty() => {
            let mut meta = head.meta;
            meta.partial = true;
            let final_obs = steps.last().map(|f| f.next_obs.clone()).unwrap_or_default();
            let count = steps.len();
            let episode =
                Episode { meta, initial: head.initial, steps: steps.into_iter().map(|f| f.step).collect(), final_obs };
            let id = dataset.append(std::slice::from_ref(&episode))?;
            format!(
                "{}: recovered an interrupted recording: {count} steps kept as episode {} (flagged partial)",
                display(&path),
                id[0]
            )
        }
        _ => format!("{}: discarded an interrupted recording that had no complete step", display(&path)),
    };
    fs::remove_file(&path).map_err(io(&path))?;
    Ok(vec![message])
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
