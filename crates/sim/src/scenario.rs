//! The scenario file format (`scenarios/*.ron`): a whole task as data, and its loader.
//!
//! Every struct denies unknown fields, so a typo is an error with a line and column,
//! never a silently ignored setting. After parsing, `validate` checks what the grammar
//! cannot: names that refer to bodies, joints, actuators and paths; ranges; finite numbers.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A 2D vector as written in files: `(x, y)`.
pub type V2 = [f32; 2];
/// A closed interval `(min, max)`.
pub type Range = [f32; 2];

/// A complete task: physics world, actions, observations, reward, termination, expert.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short identifier, used on the command line.
    pub name: String,
    /// One sentence shown to users.
    #[serde(default)]
    pub description: String,
    /// Seconds of simulated time per environment step.
    pub timestep: f32,
    /// Physics steps per environment step (each `timestep / substeps` long).
    #[serde(default = "one")]
    pub substeps: u32,
    /// Constraint-solver iterations per physics step (rapier's solver substeps): more hold
    /// stiff joint chains and stacks tighter, fewer cost less. One integrates like a plain
    /// explicit step, the way Gymnasium's classic-control tasks do.
    #[serde(default = "four")]
    pub solver_iterations: u32,
    /// Gravity in m/s².
    #[serde(default = "earth_gravity")]
    pub gravity: V2,
    /// Steps after which an episode is truncated.
    pub max_steps: u32,
    pub bodies: Vec<Body>,
    #[serde(default)]
    pub joints: Vec<Joint>,
    /// Named effects that action dimensions drive.
    pub actuators: Vec<Actuator>,
    /// How an action maps to actuator commands.
    pub actions: ActionSpec,
    /// Observation terms, concatenated in order.
    pub observations: Vec<Obs>,
    /// Reward: a weighted sum of named terms, `(term, weight)`.
    pub reward: Vec<(RewardTerm, f32)>,
    /// Any of these ends the episode as a failure (a crash).
    #[serde(default)]
    pub failure: Vec<Condition>,
    /// What counts as solving the task.
    #[serde(default)]
    pub success: Option<Success>,
    /// A goal pose sampled at every reset.
    #[serde(default)]
    pub goal: Option<Goal>,
    /// Named polylines (track centre lines) used by observations, rewards and experts.
    #[serde(default)]
    pub paths: Vec<NamedPath>,
    /// Default teleoperation bindings.
    #[serde(default)]
    pub bindings: Option<Bindings>,
    /// The scripted expert that demonstrates this task.
    #[serde(default)]
    pub expert: Option<crate::experts::ExpertSpec>,
    /// Settings of the sampling planner for this task (`--expert planner`), where its
    /// defaults do not suit it: a reward that pays off beyond 30 steps needs a longer horizon.
    #[serde(default)]
    pub planner: Option<crate::planner::PlannerConfig>,
    /// World rectangle the camera should show, `((min_x, min_y), (max_x, max_y))`;
    /// fitted to the bodies when absent.
    #[serde(default)]
    pub view: Option<[V2; 2]>,
    /// Content hash of the file this scenario was parsed from (hex BLAKE3, 32 chars):
    /// datasets record it to notice when a scenario changed under their episodes.
    #[serde(skip)]
    pub source_hash: String,
}

fn one() -> u32 {
    1
}

/// rapier's default solver iterations.
fn four() -> u32 {
    4
}
fn earth_gravity() -> V2 {
    [0.0, -9.81]
}
fn unit() -> f32 {
    1.0
}
fn grey() -> [f32; 3] {
    [0.6, 0.6, 0.65]
}
fn half() -> f32 {
    0.5
}

/// A rigid body and its colliders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub name: String,
    #[serde(default)]
    pub kind: BodyKind,
    #[serde(default)]
    pub position: V2,
    /// Radians.
    #[serde(default)]
    pub angle: f32,
    #[serde(default)]
    pub velocity: V2,
    #[serde(default)]
    pub angular_velocity: f32,
    pub colliders: Vec<Collider>,
    /// RGB in 0..1, used for every collider without its own color.
    #[serde(default = "grey")]
    pub color: [f32; 3],
    #[serde(default)]
    pub linear_damping: f32,
    #[serde(default)]
    pub angular_damping: f32,
    #[serde(default = "unit")]
    pub gravity_scale: f32,
    /// Continuous collision detection, for fast small bodies.
    #[serde(default)]
    pub ccd: bool,
    /// Uniform offsets added at every reset.
    #[serde(default)]
    pub randomize: Option<Randomize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum BodyKind {
    #[default]
    Dynamic,
    Fixed,
    Kinematic,
}

/// Ranges of uniform noise added to a body's initial state at reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Randomize {
    #[serde(default)]
    pub x: Range,
    #[serde(default)]
    pub y: Range,
    #[serde(default)]
    pub angle: Range,
    #[serde(default)]
    pub vx: Range,
    #[serde(default)]
    pub vy: Range,
    #[serde(default)]
    pub angular_velocity: Range,
    /// Point (body frame) that rotations and spins turn about, e.g. a hinge.
    #[serde(default)]
    pub pivot: V2,
    /// Other bodies moved rigidly along (links hanging from this one).
    #[serde(default)]
    pub with: Vec<String>,
}

/// A collision shape attached to a body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collider {
    pub shape: Shape,
    /// Position relative to the body.
    #[serde(default)]
    pub offset: V2,
    #[serde(default)]
    pub angle: f32,
    /// kg/m²; ignored when `mass` is set.
    #[serde(default = "unit")]
    pub density: f32,
    /// Total mass of this collider in kg.
    #[serde(default)]
    pub mass: Option<f32>,
    #[serde(default = "half")]
    pub friction: f32,
    #[serde(default)]
    pub restitution: f32,
    /// A sensor detects contacts but exerts no force.
    #[serde(default)]
    pub sensor: bool,
    /// Takes part in no contact at all (drawn only, still has mass).
    #[serde(default)]
    pub ghost: bool,
    #[serde(default)]
    pub color: Option<[f32; 3]>,
}

/// Collision shapes, in metres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    /// Radius.
    Ball(f32),
    /// Half-width, half-height.
    Cuboid(f32, f32),
    /// Half-length of the segment along the local y axis, radius.
    Capsule(f32, f32),
    /// Convex polygon, counter-clockwise points.
    Polygon(Vec<V2>),
    /// Open chain of segments (terrain, walls).
    Polyline(Vec<V2>),
}

/// A joint between two bodies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joint {
    pub name: String,
    pub body1: String,
    pub body2: String,
    /// Anchor in `body1`'s frame.
    #[serde(default)]
    pub anchor1: V2,
    /// Anchor in `body2`'s frame.
    #[serde(default)]
    pub anchor2: V2,
    pub kind: JointKind,
    #[serde(default)]
    pub motor: Option<Motor>,
    /// Whether the two bodies collide with each other.
    #[serde(default)]
    pub collide: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JointKind {
    /// A hinge; optional angle limits in radians.
    Revolute {
        #[serde(default)]
        limits: Option<Range>,
    },
    /// A slider along `axis` (in body1's frame); optional position limits in metres.
    Prismatic {
        axis: V2,
        #[serde(default)]
        limits: Option<Range>,
    },
    /// Welds the two bodies.
    Fixed,
}

/// A joint motor driving towards a target position and/or velocity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Motor {
    #[serde(default)]
    pub target_position: f32,
    #[serde(default)]
    pub target_velocity: f32,
    #[serde(default)]
    pub stiffness: f32,
    #[serde(default)]
    pub damping: f32,
    /// Largest force or torque the motor may exert; unlimited when absent.
    #[serde(default)]
    pub max_force: Option<f32>,
}

/// A named effect driven by a command value (an action component).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actuator {
    pub name: String,
    pub effect: Effect,
    /// Physical amount per unit of command (N, N·m, N·s, m/s, rad/s, ...).
    #[serde(default = "unit")]
    pub gain: f32,
    /// Valid command range; commands are clamped into it.
    #[serde(default = "unit_range")]
    pub range: Range,
}

fn unit_range() -> Range {
    [-1.0, 1.0]
}

/// What an actuator does with `gain × command`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Effect {
    /// A force along `direction`, applied at `at` (body frame); `local` directions turn with the body.
    Force {
        body: String,
        direction: V2,
        #[serde(default)]
        at: V2,
        #[serde(default)]
        local: bool,
    },
    /// A torque.
    Torque { body: String },
    /// Equal and opposite torques on a joint's two bodies (+ on body2), as a motor in the joint would.
    JointTorque { joint: String },
    /// An impulse applied once per environment step.
    Impulse {
        body: String,
        direction: V2,
        #[serde(default)]
        at: V2,
        #[serde(default)]
        local: bool,
    },
    /// Sets the body's velocity component along `direction` to the value; `exclusive` also
    /// zeroes the perpendicular component (a wheel that does not skid).
    Velocity {
        body: String,
        direction: V2,
        #[serde(default)]
        local: bool,
        #[serde(default)]
        exclusive: bool,
    },
    /// Sets the body's angular velocity.
    AngularVelocity { body: String },
    /// Sets a joint motor's target velocity (motor stiffness 0, the given damping).
    MotorVelocity {
        joint: String,
        #[serde(default = "unit")]
        damping: f32,
        #[serde(default)]
        max_force: Option<f32>,
    },
    /// Sets a joint motor's target position (a PD servo).
    MotorPosition {
        joint: String,
        stiffness: f32,
        damping: f32,
        #[serde(default)]
        max_force: Option<f32>,
    },
}

/// How actions map onto actuator commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ActionSpec {
    /// One continuous dimension per listed actuator, in order; bounds are the actuators' ranges.
    Box(Vec<String>),
    /// A table of choices, each a list of `(actuator, command)`; unlisted actuators get 0.
    Discrete(Vec<Vec<(String, f32)>>),
    /// One table of choices per dimension; commands of all dimensions add up.
    MultiDiscrete(Vec<Vec<Vec<(String, f32)>>>),
}

/// A point on a body: its origin, or a point given in its frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Point {
    Body(String),
    On(String, V2),
}

impl Point {
    pub fn body(&self) -> &str {
        match self {
            Point::Body(b) | Point::On(b, _) => b,
        }
    }
    pub fn local(&self) -> V2 {
        match self {
            Point::Body(_) => [0.0, 0.0],
            Point::On(_, p) => *p,
        }
    }
}

/// A scalar measured on the world; the common language of rewards, conditions and observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Quantity {
    X(Point),
    Y(Point),
    VelocityX(Point),
    VelocityY(Point),
    Speed(Point),
    /// Body angle wrapped to (-π, π].
    Angle(String),
    AngularVelocity(String),
    /// cos(angle): 1 upright, -1 upside down.
    Upright(String),
    /// Revolute joint angle, wrapped to (-π, π].
    JointAngle(String),
    /// Prismatic joint displacement.
    JointPosition(String),
    /// Joint angular or linear rate.
    JointRate(String),
    /// Distance from the point to the goal position.
    GoalDistance(Point),
    /// Absolute angle between the body and the goal angle, in (0, π).
    GoalAngleError(String),
    /// Distance from `pusher` to where a push that carries `block` toward the goal starts:
    /// `standoff` behind the block on the line from the goal through it. Nearer the goal than
    /// `standoff`, the spot is only as far behind as the block is from the goal, so it slides
    /// onto the block instead of jumping as the block reaches the goal.
    PushPoseDistance {
        pusher: Point,
        block: Point,
        standoff: f32,
    },
    /// 1 while any collider of the first body touches the second, else 0.
    Contact(String, String),
    /// Laps travelled along a named closed path (1.0 = one full lap).
    PathProgress(String, Point),
    /// Distance from the point to the named path.
    PathDistance(String, Point),
}

/// One observation term; its width is given per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Obs {
    /// x, y (2).
    Position(Point),
    /// vx, vy (2).
    Velocity(Point),
    /// sin, cos of the body angle (2).
    Angle(String),
    /// sin, cos of a revolute joint angle (2).
    JointAngle(String),
    /// Goal position relative to the point, in world axes (2) or the point body's axes.
    ToGoal {
        from: Point,
        #[serde(default)]
        local: bool,
    },
    /// Goal position (2).
    Goal,
    /// sin, cos of the goal angle (2).
    GoalAngle,
    /// Distances along `count` rays fanned over `fov` degrees around the body's +x axis,
    /// divided by `range` (1 = nothing within range).
    Rays { from: Point, count: usize, fov: f32, range: f32 },
    /// Any scalar quantity (1).
    Value(Quantity),
}

/// A reward term; the reward is Σ weight × term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RewardTerm {
    /// 1 every step.
    Alive,
    /// cos(body angle).
    Upright(String),
    /// Distance from the point to the goal.
    GoalDistance(Point),
    /// Decrease of the goal distance over the step.
    Progress(Point),
    /// Decrease of a quantity over the step. Potential-based shaping (Ng et al. 1999): an
    /// episode's sum is the start value minus the end one, so it guides without paying for
    /// loitering; all it changes in what is best is a bonus for where the episode ends.
    Decrease(Quantity),
    /// Laps advanced along a path over the step.
    PathProgress(String, Point),
    /// Σ command² over actuators.
    ActionCost,
    /// 1 on the step the task is solved.
    Success,
    /// 1 on the step a failure condition ends the episode.
    Crash,
    /// A quantity as is.
    Value(Quantity),
    /// A quantity squared.
    Squared(Quantity),
}

/// A boolean test on the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    Above(Quantity, f32),
    Below(Quantity, f32),
    /// Outside the closed range.
    Outside(Quantity, Range),
    /// Any collider of the first body touches the second body.
    Contact(String, String),
    /// The episode reached `max_steps`.
    Survived,
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

/// When the task counts as solved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Success {
    pub when: Condition,
    /// Consecutive steps the condition must hold.
    #[serde(default = "one")]
    pub hold: u32,
    /// End the episode on success.
    #[serde(default = "yes")]
    pub terminate: bool,
}

fn yes() -> bool {
    true
}

/// The goal pose drawn at every reset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub sample: GoalSampler,
    pub marker: Marker,
    #[serde(default = "goal_green")]
    pub color: [f32; 3],
}

fn goal_green() -> [f32; 3] {
    [0.2, 0.85, 0.35]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum GoalSampler {
    /// Uniform in a box of positions and angles.
    Box {
        x: Range,
        y: Range,
        #[serde(default)]
        angle: Range,
    },
    /// Uniform radius and bearing (radians) around a centre.
    Polar {
        center: V2,
        radius: Range,
        bearing: Range,
        #[serde(default)]
        angle: Range,
    },
}

/// How the goal is drawn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Marker {
    /// A disc of this radius.
    Circle(f32),
    /// The named body's shapes, drawn at the goal pose.
    Ghost(String),
}

/// A named polyline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPath {
    pub name: String,
    pub points: Vec<V2>,
    /// The last point joins the first.
    #[serde(default)]
    pub closed: bool,
}

/// Default teleoperation bindings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Bindings {
    /// Per continuous action dimension.
    Axes(Vec<AxisBinding>),
    /// Per discrete choice; `idle` is chosen while nothing is pressed.
    Choices { idle: usize, choices: Vec<ChoiceBinding> },
}

impl Bindings {
    /// Whether these bindings can drive `space`: one axis per continuous dimension, one
    /// binding per discrete choice with `idle` among them.
    pub fn check(&self, space: &crate::Space) -> Result<(), String> {
        match (self, space) {
            (Bindings::Axes(axes), crate::Space::Box { low, .. }) if axes.len() != low.len() => {
                Err(format!("{} axes bound, but the action space has {} dimensions", axes.len(), low.len()))
            }
            (Bindings::Axes(_), crate::Space::Box { .. }) => Ok(()),
            (Bindings::Choices { idle, choices }, crate::Space::Discrete { n }) if choices.len() != *n || idle >= n => {
                Err(format!("need one binding per choice ({n}) and idle < {n}; got {} and idle {idle}", choices.len()))
            }
            (Bindings::Choices { .. }, crate::Space::Discrete { .. }) => Ok(()),
            (_, space) => Err(format!("these bindings do not fit the action space {space}")),
        }
    }
}

/// Keys and gamepad inputs driving one continuous dimension.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisBinding {
    #[serde(default)]
    pub negative: Vec<Key>,
    #[serde(default)]
    pub positive: Vec<Key>,
    #[serde(default)]
    pub axis: Option<PadAxis>,
    #[serde(default)]
    pub invert: bool,
}

/// Keys and gamepad buttons selecting one discrete choice.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBinding {
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub buttons: Vec<PadButton>,
}

/// Keyboard keys, named as Bevy's `KeyCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[rustfmt::skip]
pub enum Key {
    ArrowLeft, ArrowRight, ArrowUp, ArrowDown, Space, Enter, ShiftLeft, ShiftRight,
    KeyA, KeyB, KeyC, KeyD, KeyE, KeyF, KeyG, KeyH, KeyI, KeyJ, KeyK, KeyL, KeyM,
    KeyN, KeyO, KeyP, KeyQ, KeyR, KeyS, KeyT, KeyU, KeyV, KeyW, KeyX, KeyY, KeyZ,
    Digit0, Digit1, Digit2, Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9,
}

/// Every key a binding can name (for rebinding from a key press).
#[rustfmt::skip]
pub const ALL_KEYS: [Key; 44] = {
    use Key::*;
    [
        ArrowLeft, ArrowRight, ArrowUp, ArrowDown, Space, Enter, ShiftLeft, ShiftRight,
        KeyA, KeyB, KeyC, KeyD, KeyE, KeyF, KeyG, KeyH, KeyI, KeyJ, KeyK, KeyL, KeyM,
        KeyN, KeyO, KeyP, KeyQ, KeyR, KeyS, KeyT, KeyU, KeyV, KeyW, KeyX, KeyY, KeyZ,
        Digit0, Digit1, Digit2, Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9,
    ]
};

/// Gamepad axes, named as Bevy's `GamepadAxis` (triggers read 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PadAxis {
    LeftStickX,
    LeftStickY,
    RightStickX,
    RightStickY,
    LeftZ,
    RightZ,
}

/// Gamepad buttons, named as Bevy's `GamepadButton`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[rustfmt::skip]
pub enum PadButton {
    South, East, North, West, LeftTrigger, RightTrigger, LeftTrigger2, RightTrigger2,
    DPadUp, DPadDown, DPadLeft, DPadRight,
}

/// A scenario file that could not be used: where, and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
    #[error("unknown scenario `{0}`: not a built-in name (see `apprentice scenarios`) nor an existing .ron file")]
    Unknown(String),
}

/// Scenario files take optional values bare (the IMPLICIT_SOME extension), so a `Some(…)`
/// on the failing line is most likely the mistake: say so, with the line's own value.
fn some_hint(text: &str, line: usize) -> String {
    let Some(source) = text.lines().nth(line.saturating_sub(1)) else { return String::new() };
    let Some(start) = source.find("Some(") else { return String::new() };
    let inner = &source[start + 5..];
    let mut depth = 1;
    let Some(end) = inner.char_indices().find_map(|(i, c)| {
        depth += match c {
            '(' | '[' => 1,
            ')' | ']' => -1,
            _ => 0,
        };
        (depth == 0).then_some(i)
    }) else {
        return String::new();
    };
    let (written, bare) = (&source[start..start + 5 + end + 1], &inner[..end]);
    format!(" (optional values are written bare in scenario files: `{bare}`, not `{written}`)")
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Io { path: path.to_owned(), source })?;
        Scenario::parse(&text, path)
    }

    /// Parses and validates scenario text; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let mut scenario: Scenario = ron::Options::default()
            .with_default_extension(
                ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
            )
            .from_str(text)
            .map_err(|e| ScenarioError::Invalid {
                path: path.to_owned(),
                line: e.span.start.line,
                column: e.span.start.col,
                message: format!("{}{}", e.code, some_hint(text, e.span.start.line)),
            })?;
        crate::scenario_check::validate(&scenario).map_err(|issue| {
            let (line, column) = issue.locate(text);
            ScenarioError::Invalid { path: path.to_owned(), line, column, message: issue.message }
        })?;
        scenario.source_hash = blake3::hash(text.as_bytes()).to_hex()[..32].to_string();
        Ok(scenario)
    }

    pub fn body_index(&self, name: &str) -> Option<usize> {
        index_of(self.bodies.iter().map(|b| b.name.as_str()), name)
    }
    pub fn joint_index(&self, name: &str) -> Option<usize> {
        index_of(self.joints.iter().map(|j| j.name.as_str()), name)
    }
    pub fn actuator_index(&self, name: &str) -> Option<usize> {
        index_of(self.actuators.iter().map(|a| a.name.as_str()), name)
    }
    pub fn path_index(&self, name: &str) -> Option<usize> {
        index_of(self.paths.iter().map(|p| p.name.as_str()), name)
    }
}

/// Where `name` is among `names`. Observations, rewards, actuators and experts look names up
/// every step, and for names a few bytes long comparing in line costs less than calling `memcmp`.
fn index_of<'a>(mut names: impl Iterator<Item = &'a str>, name: &str) -> Option<usize> {
    names.position(|n| n.len() == name.len() && n.bytes().zip(name.bytes()).all(|(x, y)| x == y))
}
