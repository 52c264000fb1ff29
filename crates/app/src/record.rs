//! Recording demonstrations into the crash-safe dataset: record / stop / discard, each
//! episode saved when it ends, the episode list kept in step with the files.

use super::session::{Outcome, Session, Stepped};
use super::teleop::HumanInput;
use bevy::prelude::*;
use data::dataset::EpisodeFile;
use data::dataset::ManifestEntry;
use data::recorder::{self, Recorder};
use data::{Curation, DataError, Dataset, EpisodeMeta, Source, ops};

#[derive(Resource)]
pub struct Recording {
    pub dataset: Dataset,
    recorder: Option<Recorder>,
    /// Every episode is recorded while armed, from its first step.
    pub armed: bool,
    /// The dataset's episodes (id, steps, return, success, sources, device), oldest first.
    pub episodes: Vec<ManifestEntry>,
    /// Which of them training leaves out (`DIR/curation.json`).
    pub curation: Curation,
    /// The latest thing that happened ("saved episode 000012 ...") or went wrong.
    pub status: String,
    /// Recording problems for the error dialog (the UI drains it).
    pub problems: Vec<String>,
    /// The human's device when the episode started (`keyboard`, a gamepad's name).
    human_device: String,
}

impl Recording {
    /// Opens (or creates) the dataset in `dir`, recovering an interrupted recording.
    pub fn open(dir: &std::path::Path) -> Result<(Recording, Vec<String>), data::DataError> {
        let (dataset, mut messages) = Dataset::open(dir)?;
        messages.extend(recorder::recover(&dataset)?);
        let mut recording = Recording {
            dataset,
            recorder: None,
            armed: false,
            episodes: Vec::new(),
            curation: Curation::default(),
            status: String::new(),
            problems: Vec::new(),
            human_device: String::new(),
        };
        recording.refresh();
        Ok((recording, messages))
    }

    /// Re-reads the episode list and the curation from the dataset.
    pub fn refresh(&mut self) {
        match self.dataset.manifest() {
            Ok(entries) => self.episodes = entries,
            Err(e) => self.problems.push(e.to_string()),
        }
        match self.dataset.curation() {
            Ok(curation) => self.curation = curation,
            Err(e) => self.problems.push(e.to_string()),
        }
    }

    /// Whether training uses episode `id`.
    pub fn includes(&self, id: &str) -> bool {
        self.curation.includes(id)
    }

    /// Includes or excludes episodes for training (their files stay either way).
    pub fn set_included(&mut self, ids: &[String], included: bool) -> Result<(), DataError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.curation = self.dataset.set_included(ids, included)?;
        let verb = if included { "included" } else { "excluded" };
        self.status = format!(
            "{verb} {} episode(s); {} of {} used for training",
            ids.len(),
            self.included(),
            self.episodes.len()
        );
        Ok(())
    }

    /// How many of the episodes training uses.
    pub fn included(&self) -> usize {
        self.episodes.iter().filter(|e| self.includes(&e.id)).count()
    }

    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Steps in the episode being recorded.
    pub fn steps(&self) -> usize {
        self.recorder.as_ref().map_or(0, |r| r.steps())
    }

    /// Arms recording; the session restarts so the episode is recorded from its start.
    pub fn start(&mut self, session: &mut Session) {
        self.armed = true;
        session.restart(session.seed + 1);
        self.status = "recording: every episode is saved when it ends".into();
    }

    /// Disarms; the episode in progress is saved as far as it got.
    pub fn stop(&mut self) {
        self.armed = false;
        self.save();
    }

    /// Disarms and throws the episode in progress away.
    pub fn discard(&mut self) {
        self.armed = false;
        if let Some(recorder) = self.recorder.take() {
            self.status = format!("discarded an episode of {} steps", recorder.steps());
            if let Err(e) = recorder.discard() {
                self.problems.push(e.to_string());
            }
        }
    }

    /// Before a step: starts the recorder at the episode's current state when armed; the
    /// device recorded is the one at the controls then.
    pub fn prepare(&mut self, session: &Session, human: &HumanInput) {
        if !self.armed || self.recorder.is_some() {
            return;
        }
        let s = session.env.scenario();
        self.human_device = human.device.clone();
        let meta = EpisodeMeta {
            scenario: s.name.clone(),
            scenario_hash: s.source_hash.clone(),
            seed: session.seed,
            device: self.drivers(&[session.effective_driver().source()]),
            tags: vec!["app".into()],
            note: String::new(),
            partial: false,
        };
        match Recorder::start(&self.dataset, meta, session.env.state()) {
            Ok(recorder) => self.recorder = Some(recorder),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Starts recording a new episode from step `t` of `file`: its steps before `t` are
    /// written first, then live steps follow. The session continues from that state.
    pub fn branch(&mut self, file: &EpisodeFile, t: usize, session: &mut Session) -> Result<(), DataError> {
        self.save();
        let (obs, before) = ops::branch(&mut session.env, file, t)?;
        let mut meta = file.episode.meta.clone();
        meta.note = format!("branched from episode {} at step {t}", file.id);
        meta.partial = false;
        let mut recorder = Recorder::start(&self.dataset, meta, file.episode.initial.clone())?;
        for (k, step) in before.iter().enumerate() {
            let next = before.get(k + 1).map_or(&obs, |s| &s.obs);
            recorder.record(step.clone(), next)?;
        }
        session.seed = file.episode.meta.seed;
        session.episode_return = before.iter().map(|s| s.reward).sum();
        session.obs = obs;
        session.show_current();
        self.recorder = Some(recorder);
        self.armed = true;
        self.status = format!("recording a branch of episode {} from step {t}", file.id);
        Ok(())
    }

    /// After a step: appends it to the journal.
    pub fn record(&mut self, stepped: &Stepped) {
        if let Some(recorder) = &mut self.recorder
            && let Err(e) = recorder.record(stepped.record.clone(), &stepped.next_obs)
        {
            self.fail(e.to_string());
        }
    }

    /// "New episode" while recording: saves the episode so far; recording goes on.
    pub fn stop_episode(&mut self) {
        self.save();
    }

    /// The episode ended: save it (the next one starts recording at its first step).
    pub fn episode_ended(&mut self, _outcome: &Outcome) {
        self.save();
    }

    /// Who drove steps of `sources`, in order of first appearance: the human's device, the
    /// scripted expert (`scripted`, as `demos generate` names it) or the `policy`, joined by `+`.
    fn drivers(&self, sources: &[Source]) -> String {
        let mut names: Vec<&str> = Vec::new();
        for source in sources {
            let name = match source {
                Source::Human | Source::Intervention => self.human_device.as_str(),
                Source::Expert => "scripted",
                Source::Policy => "policy",
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join("+")
    }

    fn save(&mut self) {
        let Some(mut recorder) = self.recorder.take() else { return };
        let sources: Vec<Source> = recorder.episode().steps.iter().map(|s| s.source).collect();
        if !sources.is_empty() {
            let device = self.drivers(&sources);
            recorder.set_device(device);
        }
        if recorder.steps() == 0 {
            if let Err(e) = recorder.discard() {
                self.problems.push(e.to_string());
            }
            return;
        }
        let steps = recorder.steps();
        match recorder.finish() {
            Ok(id) => {
                self.status = format!("saved episode {id} ({steps} steps)");
                self.refresh();
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// A write failed: stop recording and tell the user (the journal keeps what was written).
    fn fail(&mut self, message: String) {
        self.armed = false;
        self.recorder = None;
        self.status = format!("recording stopped: {message}");
        self.problems.push(format!("recording stopped: {message}"));
    }
}

/// Closing the window saves the episode in progress (the journal would recover it anyway).
fn save_on_exit(mut exits: MessageReader<AppExit>, mut recording: ResMut<Recording>) {
    if exits.read().next().is_some() {
        recording.stop();
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(Last, save_on_exit);
}
