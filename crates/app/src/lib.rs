//! The desktop app (the `gui` feature): a Bevy window where a user drives a scenario,
//! records demonstrations, trains a policy on its own thread and watches it act. Every
//! plugin here calls the library (`sim`, `data`, `learn`); none re-implements it.

mod autopilot;
mod curate;
mod ghost;
mod overlays;
mod record;
mod render;
mod replay;
mod reward_view;
mod scenarios;
mod session;
mod split;
mod teleop;
mod training;
mod ui;

pub use autopilot::{Autopilot, FrameReport, frame_report};
pub use curate::{Curate, set_matching};
pub use ghost::{Ghosts, Track, rollout as ghost_rollout};
pub use record::Recording;
pub use replay::Replay;
pub use reward_view::LearnedReward;
pub use scenarios::Scenarios;
pub use session::{Driver, Session, Speed, blend};
pub use split::{Comparison, Split};
pub use teleop::{ActiveBindings, Controls, HumanInput, bound_action, neutral};
pub use training::{Phase, TrainOnStart, Training};

use anyhow::Context;
use bevy::prelude::*;
use bevy::window::{ExitCondition, WindowResolution};
use learn::run::{self, RunConfig};
use sim::{Env, ScenarioEnv};
use std::path::{Path, PathBuf};

/// Problems to show the user in a dialog (the app keeps running).
#[derive(Resource, Debug, Default)]
pub struct Errors(pub Vec<String>);

impl Errors {
    pub fn push(&mut self, message: impl Into<String>) {
        let message = message.into();
        bevy::log::warn!("{message}");
        self.0.push(message);
    }
}

/// The order of one fixed step: read the controls, then step the simulation.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSet {
    Input,
    Step,
}

/// What to open.
#[derive(Debug, Clone)]
pub struct Options {
    /// Built-in scenario name or path to a `.ron` file.
    pub scenario: String,
    /// Dataset directory to record into and train from (default: `DATA/<scenario>/demos`).
    pub demos: Option<PathBuf>,
    /// A run directory whose policy to load.
    pub policy: Option<PathBuf>,
    /// A second run directory whose policy opens in the split view beside the first.
    pub compare: Option<PathBuf>,
    /// Who drives at the start.
    pub driver: Driver,
    /// Unattended: render this many frames, then screenshot / report / exit.
    pub autopilot: Option<Autopilot>,
    /// Start training at once (`bench app`).
    pub train: bool,
    /// The loaded policy keeps driving while a run trains (its snapshots do not take over).
    pub keep_policy: bool,
    /// The algorithm the Train tab starts with (a registry name; default `bc`).
    pub algorithm: String,
    /// Window size in logical pixels.
    pub size: (u32, u32),
    /// Where runs and bindings are kept (default: `data::user_data_dir()/<scenario>`).
    pub home: Option<PathBuf>,
}

impl Options {
    pub fn new(scenario: &str) -> Options {
        Options {
            scenario: scenario.into(),
            demos: None,
            policy: None,
            compare: None,
            driver: Driver::Human,
            autopilot: None,
            train: false,
            keep_policy: false,
            algorithm: "bc".into(),
            size: (1280, 760),
            home: None,
        }
    }
}

/// The bundled first-run material: `assets/<scenario>/demos` and `assets/<scenario>/policy`,
/// from the source tree the binary was built in, else from `assets/` beside the binary or in
/// the working directory (a binary copied elsewhere).
pub fn bundled(scenario: &str) -> PathBuf {
    let built_in = sim::builtin::source_root().join("assets");
    let beside_binary = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("assets")));
    [Some(built_in.clone()), beside_binary, Some(PathBuf::from("assets"))]
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
        .unwrap_or(built_in)
        .join(scenario)
}

/// The simulation, input, recording, replay, training, the ghosts' rollouts and the learned
/// reward's scores: everything
/// but the window, so tests can run it under `MinimalPlugins`.
pub fn core_plugin(app: &mut App) {
    app.init_resource::<Errors>().configure_sets(FixedUpdate, (SimSet::Input, SimSet::Step).chain()).add_plugins((
        session::plugin,
        teleop::plugin,
        curate::plugin,
        record::plugin,
        replay::plugin,
        training::plugin,
        split::plugin,
        scenarios::plugin,
        ghost::plugin,
        reward_view::plugin,
    ));
}

/// Rendering, panels and the autopilot: what needs a window.
fn view_plugin(app: &mut App) {
    app.add_plugins((render::plugin, overlays::plugin, ui::plugin, autopilot::plugin));
}

/// The app's state for `options`, loaded through the library so a bad file is a clear
/// error before any window opens. Returns the messages worth telling (recovered recordings).
pub fn resources(options: &Options) -> anyhow::Result<(Session, Recording, Training, ActiveBindings, Vec<String>)> {
    let env = ScenarioEnv::load(&options.scenario)?;
    let name = env.scenario().name.clone();
    let home = options.home.clone().unwrap_or_else(|| data::user_data_dir().join(&name));
    let demos = match &options.demos {
        Some(dir) => dir.clone(),
        None => {
            let dir = home.join("demos");
            seed_demos(&bundled(&name).join("demos"), &dir)?;
            dir
        }
    };
    let (recording, mut messages) =
        Recording::open(&demos).with_context(|| format!("opening the dataset {}", demos.display()))?;
    let mut session = Session::new(env, 1, options.driver);
    let policy = options.policy.clone().or_else(|| Some(bundled(&name).join("policy")).filter(|p| p.exists()));
    if let Some(dir) = policy {
        let loaded =
            run::load_policy(&dir, &session.env).with_context(|| format!("loading the policy {}", dir.display()))?;
        session.set_policy(loaded, dir.display().to_string());
        if options.policy.is_some() || options.driver == Driver::Policy {
            session.driver = Driver::Policy;
        }
    }
    let config = RunConfig::new(&options.algorithm, &options.scenario, demos.clone())?;
    let mut training = Training::new(config, home.join("runs"));
    training.follow_latest = !options.keep_policy;
    let (bindings, problem) = ActiveBindings::load(
        session.env.scenario().bindings.clone(),
        home.join("bindings.ron"),
        session.env.action_space(),
    );
    messages.extend(problem);
    Ok((session, recording, training, bindings, messages))
}

/// Copies the bundled demonstrations into a new dataset directory, once, so a first run has
/// data to train on and the user's recordings never touch the bundled files.
fn seed_demos(bundled: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() || !bundled.join("episodes").is_dir() {
        return Ok(());
    }
    let (from, _) = data::Dataset::existing(bundled)?;
    let (to, _) = data::Dataset::open(dir)?;
    let loaded = from.load(None)?;
    to.append(&loaded.episodes.into_iter().map(|f| f.episode).collect::<Vec<_>>())?;
    Ok(())
}

/// A display the window can open on, or why there is none.
fn check_display() -> anyhow::Result<()> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        anyhow::bail!(
            "no display to open the app on (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
             Everything also runs headless: `apprentice rollout`, `apprentice demos generate`, \
             `apprentice train bc`, `apprentice eval` (see `apprentice --help`), \
             or run the app under a virtual display: `xvfb-run apprentice app`."
        );
    }
    Ok(())
}

/// Opens the window and runs until it is closed.
pub fn run(options: Options) -> anyhow::Result<()> {
    check_display()?;
    let (mut session, mut recording, training, bindings, messages) = resources(&options)?;
    let mut split = Split::default();
    if let Some(dir) = &options.compare {
        let policy = run::load_policy(dir, &session.env)
            .with_context(|| format!("loading the policy to compare {}", dir.display()))?;
        split.open(&mut session, &mut recording, policy, dir.display().to_string());
    }
    let mut errors = Errors::default();
    messages.into_iter().for_each(|m| errors.push(m));
    let title = format!("apprentice — {}", session.env.scenario().name);
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title,
                    resolution: WindowResolution::new(options.size.0, options.size.1),
                    ..default()
                }),
                exit_condition: ExitCondition::OnPrimaryClosed,
                ..default()
            })
            .set(bevy::log::LogPlugin { filter: "warn,wgpu=error,naga=error".into(), ..default() }),
    )
    .add_plugins(bevy_egui::EguiPlugin::default())
    .insert_resource(session)
    .insert_resource(recording)
    .insert_resource(training)
    .insert_resource(bindings)
    .insert_resource(errors)
    .insert_resource(split)
    .insert_resource(Scenarios::new(options.clone()))
    .add_plugins((core_plugin, view_plugin));
    if let Some(pilot) = options.autopilot {
        app.insert_resource(pilot);
    }
    if options.train {
        app.insert_resource(TrainOnStart);
    }
    let exit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || app.run()));
    match exit {
        Ok(AppExit::Success) => Ok(()),
        Ok(AppExit::Error(code)) => anyhow::bail!("the app exited with code {code}"),
        Err(_) => anyhow::bail!(
            "the window could not be opened or the app stopped unexpectedly (see the message above); \
             the headless commands (`apprentice --help`) work without a window"
        ),
    }
}
