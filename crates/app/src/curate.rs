//! Curating demonstrations: the dataset's include/exclude list, and diagnostics of the current
//! policy against each included episode (its loss, where it departs most, the outliers),
//! computed on their own thread so the window never waits.

use super::record::Recording;
use bevy::prelude::*;
use data::{DataError, Filter};
use learn::artifact::PolicyArtifact;
use learn::diagnose::{Diagnosis, diagnose};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

#[derive(Resource, Default)]
pub struct Curate {
    /// The latest diagnosis of each episode, by id, with the policy it was made with.
    pub diagnoses: BTreeMap<String, Diagnosis>,
    pub diagnosed_with: Option<String>,
    /// A diagnosis in progress: the policy's label and the result to come.
    pending: Option<(String, Mutex<Receiver<Result<Vec<Diagnosis>, DataError>>>)>,
}

impl Curate {
    pub fn is_running(&self) -> bool {
        self.pending.is_some()
    }

    /// Diagnoses `policy` on the dataset's included episodes, on a thread of its own.
    pub fn start(&mut self, recording: &Recording, policy: Box<dyn PolicyArtifact>, label: String) {
        let dataset = recording.dataset.clone();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let result = dataset.included_ids().and_then(|ids| dataset.load_ids(&ids, None)).map(|loaded| {
                let episodes: Vec<(String, data::Episode)> =
                    loaded.episodes.into_iter().map(|f| (f.id, f.episode)).collect();
                diagnose(policy.as_ref(), &episodes)
            });
            let _ = tx.send(result);
        });
        self.pending = Some((label, Mutex::new(rx)));
    }

    /// The flagged episodes still included.
    pub fn flagged(&self, recording: &Recording) -> Vec<String> {
        self.diagnoses.values().filter(|d| d.outlier && recording.includes(&d.id)).map(|d| d.id.clone()).collect()
    }
}

/// Excludes (or includes) every episode `filter` matches; returns how many changed.
pub fn set_matching(recording: &mut Recording, filter: &Filter, included: bool) -> Result<usize, DataError> {
    let ids: Vec<String> =
        filter.select(&recording.episodes).into_iter().filter(|id| recording.includes(id) != included).collect();
    recording.set_included(&ids, included)?;
    Ok(ids.len())
}

/// Collects a finished diagnosis.
fn poll(mut curate: ResMut<Curate>, mut recording: ResMut<Recording>, mut errors: ResMut<super::Errors>) {
    let Some((label, rx)) = &curate.pending else { return };
    let Some(result) = rx.lock().ok().and_then(|rx| rx.try_recv().ok()) else { return };
    let label = label.clone();
    curate.pending = None;
    match result {
        Ok(diagnoses) => {
            let flagged = diagnoses.iter().filter(|d| d.outlier).count();
            recording.status = format!("diagnosed {} episodes with {label}: {flagged} flagged", diagnoses.len());
            curate.diagnoses = diagnoses.into_iter().map(|d| (d.id.clone(), d)).collect();
            curate.diagnosed_with = Some(label);
        }
        Err(e) => errors.push(format!("diagnosing the episodes: {e}")),
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Curate>().add_systems(Update, poll);
}
