//! The episode file format: a versioned, checksummed header around a postcard payload.
//!
//! ```text
//! magic "APPRNTEP" | version u32 | payload length u64 | CRC-32 of payload u32 | payload
//! ```
//! postcard is compact (varints), fast and well kept; the CRC catches torn or flipped bytes.

use super::episode::Episode;
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"APPRNTEP";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 4;

/// What can be wrong with demonstration data, and where.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an apprentice episode file (bad magic bytes)")]
    NotAnEpisode { path: PathBuf },
    #[error("{path}: truncated: {found} bytes where the header promises {expected}")]
    Truncated { path: PathBuf, found: usize, expected: usize },
    #[error("{path}: corrupted: checksum mismatch")]
    Checksum { path: PathBuf },
    #[error("{path}: corrupted: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path}: format version {found} is newer than this apprentice reads (up to {supported}); upgrade apprentice"
    )]
    FutureVersion { path: PathBuf, found: u32, supported: u32 },
    #[error(
        "{path}: episode {episode}: recorded on scenario `{scenario}` with hash {found}, but the scenario file now hashes to {expected}; pass the file it was recorded on (`--scenario FILE`) or record it again"
    )]
    ScenarioChanged { path: PathBuf, episode: String, scenario: String, found: String, expected: String },
    #[error("{path}: episode {episode}: recorded on scenario `{found}`, not `{expected}`")]
    WrongScenario { path: PathBuf, episode: String, found: String, expected: String },
    #[error("{path}: episode {episode}, step {step}: {what}")]
    Shape { path: PathBuf, episode: String, step: usize, what: String },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io { path: path.to_owned(), source }
}

/// Encodes an episode as a complete file.
pub fn encode(episode: &Episode) -> Vec<u8> {
    let payload = postcard::to_stdvec(episode).expect("episodes always serialize");
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// Decodes a complete episode file; `path` labels errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Episode, DataError> {
    let path = path.to_owned();
    if bytes.len() < HEADER {
        if bytes.len() >= 8 && &bytes[..8] != MAGIC {
            return Err(DataError::NotAnEpisode { path });
        }
        return Err(DataError::Truncated { path, found: bytes.len(), expected: HEADER });
    }
    if &bytes[..8] != MAGIC {
        return Err(DataError::NotAnEpisode { path });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > VERSION {
        return Err(DataError::FutureVersion { path, found: version, supported: VERSION });
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER..];
    if payload.len() < len {
        return Err(DataError::Truncated { path, found: bytes.len(), expected: HEADER + len });
    }
    let payload = &payload[..len];
    if crc32fast::hash(payload) != crc {
        return Err(DataError::Checksum { path });
    }
    postcard::from_bytes(payload).map_err(|e| DataError::Corrupt { path, detail: e.to_string() })
}
