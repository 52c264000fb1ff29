//! The scenario being driven: who drives, stepping at the scenario's fixed timestep, episode
//! bookkeeping and the two latest frames the renderer interpolates between.

use super::record::Recording;
use super::replay::Replay;
use super::teleop::HumanInput;
use bevy::platform::cell::SyncCell;
use bevy::prelude::*;
use data::{Source, StepRecord};
use learn::artifact::{Distribution, PolicyArtifact};
use sim::frame::Frame;
use sim::{Action, Env, Policy, ScenarioEnv};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Who chooses the actions while nobody takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// The keyboard or gamepad.
    Human,
    /// The scenario's scripted expert.
    Expert,
    /// The learned policy (the newest training snapshot, or a loaded checkpoint).
    Policy,
}

impl Driver {
    pub const ALL: [Driver; 3] = [Driver::Human, Driver::Expert, Driver::Policy];

    pub fn label(self) -> &'static str {
        match self {
            Driver::Human => "human",
            Driver::Expert => "expert",
            Driver::Policy => "policy",
        }
    }

    /// How the steps this driver takes are recorded.
    pub fn source(self) -> Source {
        match self {
            Driver::Human => Source::Human,
            Driver::Expert => Source::Expert,
            Driver::Policy => Source::Policy,
        }
    }
}

/// How fast the simulation runs against the wall clock. A recorded step is always one of the
/// scenario's own timesteps, whatever the speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per second of wall clock (0.25 to 8).
    Times(f32),
    /// As many steps as fit in each frame while a machine drives (real time while a human does).
    Max,
}

impl Speed {
    pub const CHOICES: [Speed; 7] = [
        Speed::Times(0.25),
        Speed::Times(0.5),
        Speed::Times(1.0),
        Speed::Times(2.0),
        Speed::Times(4.0),
        Speed::Times(8.0),
        Speed::Max,
    ];

    pub fn label(self) -> String {
        match self {
            Speed::Times(x) => format!("{x}×"),
            Speed::Max => "max".into(),
        }
    }
}

/// Steps the trail of the controlled body keeps.
pub(crate) const TRAIL_STEPS: usize = 90;

/// Wall-clock time per frame that "as fast as possible" spends stepping.
const FAST_FORWARD_BUDGET: Duration = Duration::from_millis(12);

/// What each driver proposed at the last step, for the side view.
#[derive(Debug, Clone, Default)]
pub struct Proposals {
    pub human: Option<Action>,
    pub expert: Option<Action>,
    pub policy: Option<Action>,
    /// What the policy thinks: a mixture's modes, or each choice's probability.
    pub distribution: Option<Distribution>,
    /// The action executed.
    pub executed: Option<Action>,
    pub source: Option<Source>,
}

/// A learned policy driving in the scene, with where it came from.
pub struct LivePolicy {
    pub policy: Box<dyn PolicyArtifact>,
    /// "training step 1200", "runs/cartpole", ...
    pub label: String,
}

/// One step taken, ready to be recorded.
pub struct Stepped {
    pub record: StepRecord,
    pub next_obs: Vec<f32>,
    pub done: bool,
    pub success: bool,
}

/// A finished episode's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub seed: u64,
    pub ret: f32,
    pub success: bool,
    pub driver: Driver,
    /// The policy that drove, if one did.
    pub policy: Option<String>,
}

#[derive(Resource)]
pub struct Session {
    pub env: ScenarioEnv,
    pub obs: Vec<f32>,
    pub seed: u64,
    pub episode_return: f32,
    pub driver: Driver,
    /// The scripted expert (its own thread-safety cell: it is only ever used mutably).
    expert: Option<SyncCell<Box<dyn Policy>>>,
    pub policy: Option<LivePolicy>,
    /// Why stepping is paused (the user, a gamepad unplugged), if it is.
    pub paused: Option<String>,
    /// Weight of the human's action while taking over from a continuous policy
    /// (1 = the human alone; discrete actions go to the human from 0.5 on).
    pub blend: f32,
    /// Simulation speed relative to real time.
    pub speed: Speed,
    /// The previous and the current frame, for interpolation.
    pub frames: [Frame; 2],
    /// Where the frames' focus point was over the last steps, oldest first (the scene's trail).
    pub trail: VecDeque<[f32; 2]>,
    pub proposals: Proposals,
    /// Finished episodes, newest last.
    pub outcomes: Vec<Outcome>,
}

impl Session {
    pub fn new(env: ScenarioEnv, seed: u64, driver: Driver) -> Session {
        let expert = env.scenario().expert.as_ref().map(|e| SyncCell::new(e.policy()));
        let frame = env.frame();
        let mut session = Session {
            obs: Vec::new(),
            env,
            seed,
            episode_return: 0.0,
            driver,
            expert,
            policy: None,
            paused: None,
            blend: 1.0,
            speed: Speed::Times(1.0),
            frames: [frame.clone(), frame],
            trail: VecDeque::new(),
            proposals: Proposals::default(),
            outcomes: Vec::new(),
        };
        session.restart(seed);
        session
    }

    pub fn has_expert(&self) -> bool {
        self.expert.is_some()
    }

    /// Starts a new episode from `seed`.
    pub fn restart(&mut self, seed: u64) {
        self.seed = seed;
        self.obs = self.env.reset(seed);
        self.episode_return = 0.0;
        if let Some(expert) = &mut self.expert {
            expert.get().reset(seed);
        }
        if let Some(live) = &mut self.policy {
            live.policy.reset(seed);
        }
        self.show_current();
    }

    /// Shows the environment's current state without interpolating from the last one.
    pub fn show_current(&mut self) {
        let frame = self.env.frame();
        self.trail.clear();
        self.trail.extend(frame.focus);
        self.frames = [frame.clone(), frame];
    }

    /// After a step: the new frame becomes current, the last one the frame to interpolate
    /// from, and the trail grows.
    pub fn push_frame(&mut self) {
        self.frames.swap(0, 1);
        self.frames[1] = self.env.frame();
        if let Some(focus) = self.frames[1].focus {
            if self.trail.len() == TRAIL_STEPS {
                self.trail.pop_front();
            }
            self.trail.push_back(focus);
        }
    }

    /// Takes over an edited version of the scenario: a fresh episode on the same seed, the
    /// same driver and speed; the policy stays if its spaces still fit. Returns what to tell.
    pub fn reload(&mut self, env: ScenarioEnv) -> String {
        let fits =
            env.observation_space() == self.env.observation_space() && env.action_space() == self.env.action_space();
        let mut next = Session::new(env, self.seed, self.driver);
        (next.speed, next.blend) = (self.speed, self.blend);
        let note = match self.policy.take() {
            Some(live) if fits => {
                next.set_policy(live.policy, live.label);
                String::new()
            }
            Some(_) => "; its spaces changed, so the policy no longer fits and was put aside".into(),
            None => String::new(),
        };
        *self = next;
        note
    }

    /// Makes `policy` the learned driver from the next step on.
    pub fn set_policy(&mut self, mut policy: Box<dyn PolicyArtifact>, label: String) {
        policy.reset(self.seed);
        self.policy = Some(LivePolicy { policy, label });
    }

    /// The driver that actually acts: a policy driver with no policy yet falls back to the human.
    pub fn effective_driver(&self) -> Driver {
        match self.driver {
            Driver::Policy if self.policy.is_none() => Driver::Human,
            Driver::Expert if self.expert.is_none() => Driver::Human,
            d => d,
        }
    }

    /// Takes one environment step: the driver acts, a human at the controls takes over. A
    /// machine's action outside the action space (a policy with NaN weights) is refused:
    /// nothing moves and the error names the driver.
    pub fn step(&mut self, human: &HumanInput) -> Result<Stepped, String> {
        let obs = std::mem::take(&mut self.obs);
        let expert = self.expert.as_mut().map(|e| e.get().act(&self.env, &obs));
        let policy = self.policy.as_mut().map(|p| p.policy.act(&self.env, &obs));
        let distribution = self.policy.as_ref().and_then(|p| p.policy.distribution(&obs));
        let human_action = human.action.clone();
        let driver = self.effective_driver();
        let machine = match driver {
            Driver::Expert => expert.clone(),
            Driver::Policy => policy.clone(),
            Driver::Human => None,
        };
        let idle = || human_action.clone().unwrap_or_else(|| super::teleop::neutral(self.env.action_space()));
        let (action, source) = match (machine, human.active) {
            (None, _) => (idle(), Source::Human),
            (Some(machine), true) => (blend(&machine, &idle(), self.blend), Source::Intervention),
            (Some(machine), false) => (machine, if driver == Driver::Expert { Source::Expert } else { Source::Policy }),
        };
        let step = match self.env.step(&action) {
            Ok(step) => step,
            Err(e) => {
                self.obs = obs;
                let who = match (driver, &self.policy) {
                    (Driver::Policy, Some(p)) => format!("the policy ({})", p.label),
                    (d, _) => format!("the {} driver", d.label()),
                };
                return Err(format!(
                    "{who} acted outside the action space ({e}); its weights may hold NaN. Switched to the human driver."
                ));
            }
        };
        self.episode_return += step.reward;
        self.proposals = Proposals {
            human: human_action,
            expert: expert.clone(),
            policy,
            distribution,
            executed: Some(action.clone()),
            source: Some(source),
        };
        // The expert's label travels only with its own steps: a human's or a policy's steps
        // must not be relabeled by behaviour cloning's `use_expert_labels`.
        let label = (source == Source::Expert).then_some(expert).flatten();
        let record = StepRecord::from_step(obs, action, &step, source, label);
        self.push_frame();
        self.obs = step.obs.clone();
        Ok(Stepped { record, done: step.done(), success: step.success, next_obs: step.obs })
    }

    /// Closes the episode that just ended and starts the next one.
    pub fn finish_episode(&mut self, success: bool) -> Outcome {
        let outcome = Outcome {
            seed: self.seed,
            ret: self.episode_return,
            success,
            driver: self.effective_driver(),
            policy: self.policy.as_ref().filter(|_| self.effective_driver() == Driver::Policy).map(|p| p.label.clone()),
        };
        self.outcomes.push(outcome.clone());
        self.restart(self.seed + 1);
        outcome
    }
}

/// Mixes a machine's and a human's action: `weight` of the human's for continuous actions,
/// the human's choice from 0.5 on for discrete ones.
pub fn blend(machine: &Action, human: &Action, weight: f32) -> Action {
    match (machine, human) {
        (Action::Continuous(m), Action::Continuous(h)) => {
            Action::Continuous(m.iter().zip(h).map(|(m, h)| m + (h - m) * weight).collect())
        }
        _ if weight >= 0.5 => human.clone(),
        _ => machine.clone(),
    }
}

/// Steps the session once per fixed tick unless paused or replaying; records what happened.
pub fn advance(
    mut session: ResMut<Session>,
    human: Res<HumanInput>,
    mut recording: ResMut<Recording>,
    replay: Res<Replay>,
    mut errors: ResMut<super::Errors>,
) {
    if session.paused.is_some() || replay.is_active() {
        return;
    }
    recording.prepare(&session, &human);
    let stepped = match session.step(&human) {
        Ok(stepped) => stepped,
        Err(e) => {
            errors.push(e);
            session.driver = Driver::Human;
            return;
        }
    };
    recording.record(&stepped);
    if stepped.done {
        let outcome = session.finish_episode(stepped.success);
        recording.episode_ended(&outcome);
    }
}

/// Keeps the fixed timestep equal to the scenario's and the clock at the chosen speed (a
/// frame may then hold several steps; the clock's per-frame cap grows with the speed).
fn pace(session: Res<Session>, mut fixed: ResMut<Time<Fixed>>, mut virtual_time: ResMut<Time<Virtual>>) {
    let dt = session.env.scenario().timestep as f64;
    if fixed.timestep().as_secs_f64() != dt {
        fixed.set_timestep_seconds(dt);
    }
    let speed = match session.speed {
        Speed::Times(x) => x.clamp(0.25, 8.0),
        Speed::Max => 1.0,
    };
    if virtual_time.relative_speed() != speed {
        virtual_time.set_relative_speed(speed);
        virtual_time.set_max_delta(Duration::from_secs_f32(0.25 * speed.max(1.0)));
    }
}

/// "As fast as possible": while a machine drives, more fixed steps (the same schedule, so
/// recording and the split view follow) until the frame's budget is spent.
fn fast_forward(world: &mut World) {
    let session = world.resource::<Session>();
    if session.speed != Speed::Max || session.effective_driver() == Driver::Human || session.paused.is_some() {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < FAST_FORWARD_BUDGET {
        world.run_schedule(FixedUpdate);
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(PreUpdate, pace)
        .add_systems(FixedUpdate, advance.in_set(super::SimSet::Step))
        .add_systems(Update, fast_forward);
}
