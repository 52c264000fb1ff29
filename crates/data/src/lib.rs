//! Demonstrations: the episode data model, crash-safe dataset directories, and the tools
//! that generate, inspect, edit, replay and export them.

pub mod codec;
mod columns;
pub mod curation;
pub mod dataset;
pub mod episode;
pub mod lerobot;
pub mod minari;
pub mod npz;
pub mod ops;
pub mod recorder;
pub mod staged;

pub use codec::DataError;
pub use columns::Imported;
pub use curation::{Curation, Filter};
pub use dataset::{Dataset, Loaded, user_data_dir};
pub use episode::{Episode, EpisodeMeta, Source, StepRecord};
pub use recorder::Recorder;
