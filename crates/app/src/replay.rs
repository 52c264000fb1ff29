//! Replaying a recorded episode: play it, scrub to any step (re-simulated exactly from its
//! initial state), trim it, delete it, or branch: restore step t and record on from there.

use super::record::Recording;
use super::session::Session;
use bevy::prelude::*;
use data::DataError;
use data::dataset::EpisodeFile;
use data::ops;
use sim::Env;

#[derive(Resource, Default)]
pub struct Replay {
    /// The episode on screen, if one is.
    pub file: Option<EpisodeFile>,
    /// The step shown: the state before step `t` (`t = len` shows the end).
    pub t: usize,
    pub playing: bool,
    /// Steps kept by Trim.
    pub keep: (usize, usize),
}

impl Replay {
    pub fn is_active(&self) -> bool {
        self.file.is_some()
    }

    pub fn len(&self) -> usize {
        self.file.as_ref().map_or(0, |f| f.episode.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shows episode `id` from its first step; live stepping pauses meanwhile.
    pub fn open(&mut self, recording: &Recording, id: &str, session: &mut Session) -> Result<(), DataError> {
        let file = recording.dataset.read(id)?;
        data::dataset::check_fits(&session.env, id, &file.path, &file.episode)?;
        self.keep = (0, file.episode.len());
        self.file = Some(file);
        self.playing = false;
        self.seek(0, session)
    }

    /// Re-simulates the episode up to step `t` and shows it.
    pub fn seek(&mut self, t: usize, session: &mut Session) -> Result<(), DataError> {
        let Some(file) = &self.file else { return Ok(()) };
        self.t = t.min(file.episode.len());
        let (obs, _) = ops::branch(&mut session.env, file, self.t)?;
        session.obs = obs;
        session.show_current();
        Ok(())
    }

    /// Leaves the replay; live play starts a fresh episode.
    pub fn close(&mut self, session: &mut Session) {
        if self.file.take().is_some() {
            session.restart(session.seed + 1);
        }
        self.playing = false;
    }

    /// Replaces the episode with steps `keep.0..keep.1` of it.
    pub fn trim(&mut self, recording: &mut Recording, session: &mut Session) -> Result<String, DataError> {
        let Some(file) = &self.file else { return Ok(String::new()) };
        let (a, b) = self.keep;
        let trimmed = ops::trim(&mut session.env, file, a, b)?;
        recording.dataset.replace(&file.id, &trimmed)?;
        recording.refresh();
        let id = file.id.clone();
        self.open(recording, &id, session)?;
        Ok(format!("trimmed episode {id} to steps {a}..{b}"))
    }

    pub fn delete(&mut self, recording: &mut Recording, session: &mut Session) -> Result<String, DataError> {
        let Some(file) = &self.file else { return Ok(String::new()) };
        let id = file.id.clone();
        recording.dataset.delete(&id)?;
        recording.refresh();
        self.close(session);
        Ok(format!("deleted episode {id}"))
    }

    /// Restores step `t` and records a new episode from there: the steps before `t` are kept,
    /// the rest is driven live. The original episode stays as it was.
    pub fn branch(&mut self, recording: &mut Recording, session: &mut Session) -> Result<String, DataError> {
        let Some(file) = self.file.take() else { return Ok(String::new()) };
        let t = self.t;
        recording.branch(&file, t, session)?;
        self.playing = false;
        Ok(format!("branched episode {} at step {t}: recording on from here", file.id))
    }
}

/// Plays the episode forward one recorded step per fixed tick.
fn play(mut replay: ResMut<Replay>, mut session: ResMut<Session>) {
    if !replay.playing {
        return;
    }
    let t = replay.t;
    let Some(action) = replay.file.as_ref().and_then(|f| f.episode.steps.get(t)).map(|s| s.action.clone()) else {
        replay.playing = false;
        return;
    };
    if let Ok(step) = session.env.step(&action) {
        session.obs = step.obs;
        session.push_frame();
        replay.t += 1;
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Replay>().add_systems(FixedUpdate, play.in_set(super::SimSet::Step));
}
