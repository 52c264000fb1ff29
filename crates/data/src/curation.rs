//! Which episodes of a dataset training uses: the user's exclusions, kept beside the episodes
//! in `DIR/curation.json`, so leaving an episode out never deletes it, and filters that pick
//! episodes by outcome, length, return, source or device.

use super::codec::{DataError, io};
use super::dataset::{Dataset, ManifestEntry, write_atomic};
use super::episode::Source;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

pub const CURATION: &str = "curation.json";

/// The dataset's curation file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curation {
    /// Episode ids training leaves out (their files stay).
    pub excluded: BTreeSet<String>,
}

impl Curation {
    pub fn includes(&self, id: &str) -> bool {
        !self.excluded.contains(id)
    }
}

/// A filter over the episode list; `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Episodes that succeeded (`Some(true)`) or failed (`Some(false)`).
    pub success: Option<bool>,
    /// Fewer steps than this.
    pub shorter_than: Option<usize>,
    /// A return below this.
    pub return_below: Option<f32>,
    /// Holding a step of this source.
    pub source: Option<Source>,
    /// Recorded with this device (`keyboard`, `scripted`, a gamepad's name; a part of a
    /// `keyboard+policy` device matches).
    pub device: Option<String>,
}

impl Filter {
    /// Failed episodes: what "exclude failures" leaves out.
    pub fn failures() -> Filter {
        Filter { success: Some(false), ..Filter::default() }
    }

    pub fn matches(&self, e: &ManifestEntry) -> bool {
        self.success.is_none_or(|s| e.success == s)
            && self.shorter_than.is_none_or(|n| e.steps < n)
            && self.return_below.is_none_or(|r| e.ret < r)
            && self.source.is_none_or(|s| e.sources.contains(&s))
            && self.device.as_ref().is_none_or(|d| e.device.split('+').any(|part| part == d))
    }

    /// The ids of the episodes that match.
    pub fn select(&self, episodes: &[ManifestEntry]) -> Vec<String> {
        episodes.iter().filter(|e| self.matches(e)).map(|e| e.id.clone()).collect()
    }
}

impl Dataset {
    fn curation_path(&self) -> PathBuf {
        self.dir.join(CURATION)
    }

    /// The dataset's curation (no file: every episode is included). A file that does not
    /// read is an error naming it, never a silent "include everything".
    pub fn curation(&self) -> Result<Curation, DataError> {
        let path = self.curation_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| DataError::Invalid { path, what: format!("not a curation file: {e}") }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Curation::default()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Includes or excludes `ids` (under the writer lock, written atomically); returns the
    /// curation now on disk.
    pub fn set_included(&self, ids: &[String], included: bool) -> Result<Curation, DataError> {
        let _lock = self.lock()?;
        let mut curation = self.curation()?;
        for id in ids {
            if included {
                curation.excluded.remove(id);
            } else {
                curation.excluded.insert(id.clone());
            }
        }
        let json = serde_json::to_vec_pretty(&curation).expect("curation serializes");
        write_atomic(&self.curation_path(), &json)?;
        Ok(curation)
    }

    /// The ids on disk that the curation includes, in order.
    pub fn included_ids(&self) -> Result<Vec<String>, DataError> {
        let curation = self.curation()?;
        Ok(self.ids()?.into_iter().filter(|id| curation.includes(id)).collect())
    }
}
