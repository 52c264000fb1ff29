//! Scenarios inside the app: switching to another built-in or `.ron` file (the dataset,
//! runs and bindings follow it), and reloading the open scenario file whenever it changes
//! on disk. An edit that does not load leaves the previous version running and its error,
//! with line and column, on screen.

use super::curate::Curate;
use super::record::Recording;
use super::replay::Replay;
use super::session::Session;
use super::split::Split;
use super::training::Training;
use super::{Errors, Options};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use sim::ScenarioEnv;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file's modification time and length: what a save changes.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[derive(Resource)]
pub struct Scenarios {
    /// How the app was opened: a switch starts from these options.
    launch: Options,
    /// The open scenario: a built-in name or the path of its file.
    pub current: String,
    /// The open file, watched for edits, and how it looked when last read.
    watched: Option<(PathBuf, Stamp)>,
    /// The open file's latest edit did not load: why (the previous version keeps running).
    pub reload_error: Option<String>,
    /// A scenario to switch to, asked for by the UI.
    pub request: Option<String>,
}

impl Scenarios {
    pub fn new(launch: Options) -> Scenarios {
        let current = launch.scenario.clone();
        let mut scenarios =
            Scenarios { launch, current: String::new(), watched: None, reload_error: None, request: None };
        scenarios.open(current);
        scenarios
    }

    fn open(&mut self, current: String) {
        let path = PathBuf::from(&current);
        self.watched = path.is_file().then(|| (path.clone(), stamp(&path)));
        self.current = current;
        self.reload_error = None;
    }

    /// The file being watched, if the scenario is one.
    pub fn file(&self) -> Option<&Path> {
        self.watched.as_ref().map(|(p, _)| p.as_path())
    }

    /// `.ron` scenario files to offer: the examples beside the source tree and the user's
    /// own under `DATA/scenarios`.
    pub fn files() -> Vec<PathBuf> {
        let dirs = [sim::builtin::source_root().join("examples/scenarios"), data::user_data_dir().join("scenarios")];
        dirs.iter().filter_map(|d| sim::builtin::scenario_files(d).ok()).flatten().collect()
    }

    /// Copies built-in scenario `name` to `DATA/scenarios/<name>.ron` (kept if it exists) to
    /// edit in any editor while the app reloads it; returns the path.
    pub fn editable_copy(name: &str) -> std::io::Result<PathBuf> {
        let text = sim::builtin::BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("`{name}` is not a built-in scenario"))
        })?;
        let path = data::user_data_dir().join("scenarios").join(format!("{name}.ron"));
        if !path.exists() {
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            std::fs::write(&path, text)?;
        }
        Ok(path)
    }
}

/// Reloads the open scenario file when it changed; a failed load keeps the running version.
fn watch(
    mut scenarios: ResMut<Scenarios>,
    mut session: ResMut<Session>,
    mut recording: ResMut<Recording>,
    mut replay: ResMut<Replay>,
    mut split: ResMut<Split>,
) {
    let Some((path, seen)) = &mut scenarios.watched else { return };
    let now = stamp(path);
    if now == *seen {
        return;
    }
    *seen = now;
    let path = path.clone();
    match ScenarioEnv::load(&path.to_string_lossy()) {
        Ok(env) => {
            recording.stop_episode();
            replay.close(&mut session);
            split.close();
            let note = session.reload(env);
            scenarios.reload_error = None;
            recording.status = format!("reloaded {}{note}", path.display());
        }
        Err(e) => scenarios.reload_error = Some(e.to_string()),
    }
}

/// Switches to the requested scenario: everything the app holds for a scenario is rebuilt
/// for it, through the same `resources` that opened the window.
fn switch(world: &mut World) {
    let Some(request) = world.resource_mut::<Scenarios>().request.take() else { return };
    if world.resource::<Training>().is_running() {
        world.resource_mut::<Errors>().push("stop the training run before switching scenario");
        return;
    }
    let launch = world.resource::<Scenarios>().launch.clone();
    let options = match ScenarioEnv::load(&request) {
        Ok(env) => Options {
            scenario: request.clone(),
            demos: None,
            policy: None,
            compare: None,
            autopilot: None,
            train: false,
            algorithm: world.resource::<Training>().config.algorithm.clone(),
            home: launch.home.as_ref().map(|h| h.join(&env.scenario().name)),
            ..launch
        },
        Err(e) => {
            world.resource_mut::<Errors>().push(e.to_string());
            return;
        }
    };
    world.resource_mut::<Recording>().stop();
    let (session, recording, training, bindings, messages) = match super::resources(&options)
        .or_else(|_| super::resources(&Options { algorithm: "bc".into(), ..options }))
    {
        Ok(resources) => resources,
        Err(e) => {
            world.resource_mut::<Errors>().push(format!("{e:#}"));
            return;
        }
    };
    world.insert_resource(session);
    world.insert_resource(recording);
    world.insert_resource(training);
    world.insert_resource(bindings);
    world.insert_resource(Split::default());
    world.insert_resource(Replay::default());
    world.insert_resource(Curate::default());
    messages.into_iter().for_each(|m| world.resource_mut::<Errors>().push(m));
    world.resource_mut::<Scenarios>().open(request);
}

/// The window's title names the scenario.
fn title(session: Res<Session>, mut windows: Query<&mut Window, With<PrimaryWindow>>) {
    let title = format!("apprentice — {}", session.env.scenario().name);
    for mut window in &mut windows {
        if window.title != title {
            window.title = title.clone();
        }
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(PreUpdate, (switch, watch).chain().run_if(resource_exists::<Scenarios>)).add_systems(Update, title);
}
