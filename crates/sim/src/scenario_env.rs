//! `ScenarioEnv`: a scenario file run as a Gymnasium-style environment on rapier2d.

use super::env::{Env, Step};
use super::measure::{GoalPose, LapTracker, Measure};
use super::observed::FailureTest;
use super::path::PathGeom;
use super::scenario::{
    ActionSpec, Effect, GoalSampler, Obs, Point, Quantity, Range, RewardTerm, Scenario, ScenarioError,
};
use super::space::{Action, ActionMismatch, Space};
use super::world::{self, BuiltWorld, vec2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rapier2d::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Everything that determines how an environment continues: the physics world and the
/// episode's own state. Restoring it and stepping gives exactly the original trajectory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvState {
    /// The rapier world (bodies, colliders, joints, contacts, broad phase), postcard-encoded.
    pub physics: Vec<u8>,
    /// Goal position and angle.
    pub goal: Option<[f32; 3]>,
    pub steps: u32,
    pub commands: Vec<f32>,
    /// Per path tracker: arc length, laps, last step's laps.
    pub laps: Vec<[f32; 3]>,
    /// Per `Progress` or `Decrease` reward term: its quantity before the last step.
    pub potentials: Vec<f32>,
    pub success_streak: u32,
}

/// A state that does not belong to this environment's scenario.
#[derive(Debug, thiserror::Error)]
#[error("cannot restore the environment state: {0}")]
pub struct RestoreError(pub String);

/// One ray of a ray sensor, from the last observation (for drawing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RayHit {
    pub from: Vector,
    pub to: Vector,
    pub hit: bool,
}

/// An environment built from a scenario file.
#[derive(Clone)]
pub struct ScenarioEnv {
    scenario: Arc<Scenario>,
    /// The world as the file describes it, cloned at every reset.
    template: Arc<BuiltWorld>,
    world: BuiltWorld,
    paths: Arc<Vec<PathGeom>>,
    /// The failure conditions, split once into observed limits and measured conditions.
    failure: Arc<FailureTest>,
    observation_space: Space,
    action_space: Space,
    rng: ChaCha8Rng,
    goal: Option<GoalPose>,
    steps: u32,
    /// Command of every actuator during the last step, clamped to its range.
    commands: Vec<f32>,
    laps: Vec<LapTracker>,
    /// Per `Progress` or `Decrease` reward term: its quantity before the last step.
    potentials: Vec<f32>,
    success_streak: u32,
    rays: Vec<RayHit>,
    needs_broad_phase_at_reset: bool,
    /// Force and torque the actuators push each body with this step, by body index.
    pushes: Vec<(Vector, f32)>,
}

impl ScenarioEnv {
    /// Builds an environment from a validated scenario.
    pub fn new(scenario: Scenario) -> ScenarioEnv {
        let template = Arc::new(world::build(&scenario));
        let paths: Vec<PathGeom> = scenario.paths.iter().map(PathGeom::new).collect();
        let laps = lap_trackers(&scenario);
        let observation_space = observation_space(&scenario);
        let action_space = action_space(&scenario);
        let needs_broad_phase_at_reset = scenario.observations.iter().any(|o| matches!(o, Obs::Rays { .. }));
        let mut env = ScenarioEnv {
            world: (*template).clone(),
            template,
            paths: Arc::new(paths),
            failure: Arc::new(FailureTest::new(&scenario)),
            observation_space,
            action_space,
            rng: ChaCha8Rng::seed_from_u64(0),
            goal: None,
            steps: 0,
            commands: vec![0.0; scenario.actuators.len()],
            laps,
            potentials: Vec::new(),
            success_streak: 0,
            rays: Vec::new(),
            needs_broad_phase_at_reset,
            pushes: vec![(Vector::ZERO, 0.0); scenario.bodies.len()],
            scenario: Arc::new(scenario),
        };
        env.reset(0);
        env
    }

    /// A copy that shares no reference counts with this one. Environments stepped on
    /// different threads should be forks: shared `Arc` counters bounce between cores.
    pub fn fork(&self) -> ScenarioEnv {
        let mut env = self.clone();
        env.scenario = Arc::new((*self.scenario).clone());
        env.template = Arc::new((*self.template).clone());
        env.paths = Arc::new((*self.paths).clone());
        env.failure = Arc::new((*self.failure).clone());
        env
    }

    /// Loads a built-in scenario by name, or a `.ron` file by path.
    pub fn load(name_or_path: &str) -> Result<ScenarioEnv, ScenarioError> {
        Ok(ScenarioEnv::new(super::builtin::resolve(name_or_path)?))
    }

    /// Builds from a file on disk.
    pub fn from_file(path: &Path) -> Result<ScenarioEnv, ScenarioError> {
        Ok(ScenarioEnv::new(Scenario::load(path)?))
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn world(&self) -> &BuiltWorld {
        &self.world
    }
    pub fn goal(&self) -> Option<GoalPose> {
        self.goal
    }
    pub fn steps(&self) -> u32 {
        self.steps
    }
    pub fn commands(&self) -> &[f32] {
        &self.commands
    }
    pub fn rays(&self) -> &[RayHit] {
        &self.rays
    }
    pub fn paths(&self) -> &[PathGeom] {
        &self.paths
    }

    /// The complete state, for snapshots and exact replays.
    pub fn state(&self) -> EnvState {
        EnvState {
            physics: postcard::to_stdvec(&self.world.physics).expect("a rapier world always serializes"),
            goal: self.goal.map(|g| [g.position.x, g.position.y, g.angle]),
            steps: self.steps,
            commands: self.commands.clone(),
            laps: self.laps.iter().map(|t| [t.s, t.laps, t.delta]).collect(),
            potentials: self.potentials.clone(),
            success_streak: self.success_streak,
        }
    }

    /// Puts the environment in `state` and returns the observation there.
    pub fn restore_state(&mut self, state: &EnvState) -> Result<Vec<f32>, RestoreError> {
        let mut physics: PhysicsWorld =
            postcard::from_bytes(&state.physics).map_err(|e| RestoreError(format!("world: {e}")))?;
        if physics.bodies.len() == self.template.physics.bodies.len() {
            super::world::drop_ghosts(&mut physics, &self.scenario, &self.template.bodies);
        }
        let fits = physics.bodies.len() == self.template.physics.bodies.len()
            && physics.colliders.len() == self.template.physics.colliders.len()
            && state.commands.len() == self.commands.len()
            && state.laps.len() == self.laps.len()
            && state.goal.is_some() == self.scenario.goal.is_some();
        if !fits {
            return Err(RestoreError(format!("it was not taken from scenario `{}`", self.scenario.name)));
        }
        let p = &mut self.world.physics;
        (p.gravity, p.integration_parameters) = (physics.gravity, physics.integration_parameters);
        (p.islands, p.broad_phase, p.narrow_phase) = (physics.islands, physics.broad_phase, physics.narrow_phase);
        (p.bodies, p.colliders) = (physics.bodies, physics.colliders);
        (p.impulse_joints, p.multibody_joints, p.soft_bodies) =
            (physics.impulse_joints, physics.multibody_joints, physics.soft_bodies);
        self.world.relist_colliders();
        self.goal = state.goal.map(|[x, y, angle]| GoalPose { position: Vector::new(x, y), angle });
        self.steps = state.steps;
        self.commands.clone_from(&state.commands);
        for (t, [s, laps, delta]) in self.laps.iter_mut().zip(&state.laps) {
            (t.s, t.laps, t.delta) = (*s, *laps, *delta);
        }
        self.potentials.clone_from(&state.potentials);
        self.success_streak = state.success_streak;
        self.enlist_bodies();
        Ok(self.observe())
    }

    /// Puts this environment in `other`'s exact state (both built from one scenario), reusing
    /// this one's allocations: a planner starts thousands of rollouts a second from the state
    /// it plans for.
    pub fn copy_from(&mut self, other: &ScenarioEnv) {
        self.world.restore(&other.world);
        self.goal = other.goal;
        self.steps = other.steps;
        self.commands.clone_from(&other.commands);
        self.laps.clone_from(&other.laps);
        self.potentials.clone_from(&other.potentials);
        self.success_streak = other.success_streak;
        self.rays.clone_from(&other.rays);
    }

    /// Indices of the scenario's dynamic bodies (those physics moves).
    pub fn dynamic_bodies(&self) -> Vec<usize> {
        let dynamic = |b: &&super::scenario::Body| b.kind == super::scenario::BodyKind::Dynamic;
        self.scenario.bodies.iter().enumerate().filter(|(_, b)| dynamic(b)).map(|(i, _)| i).collect()
    }

    /// Position and angle of scenario body `i`: (x, y, angle).
    pub fn body_pose(&self, i: usize) -> [f32; 3] {
        let rb = &self.world.physics.bodies[self.world.bodies[i]];
        [rb.translation().x, rb.translation().y, rb.rotation().angle()]
    }

    /// Moves scenario body `i` by (dx, dy), turns it by `da` and adds (dvx, dvy) to its
    /// velocity, as if the world had been pushed (the perturbed states of corrective labels);
    /// contacts and the queries rays read catch up, so `observation()` sees the pushed world.
    pub fn nudge_body(&mut self, i: usize, [dx, dy, da]: [f32; 3], [dvx, dvy]: [f32; 2]) {
        let w = &mut self.world;
        let rb = &mut w.physics.bodies[w.bodies[i]];
        let pose = Pose::new(rb.translation() + Vector::new(dx, dy), rb.rotation().angle() + da);
        rb.set_position(pose, true);
        rb.set_linvel(rb.linvel() + Vector::new(dvx, dvy), true);
        self.world.physics.detect_collisions(&(), &());
    }

    /// The observation of the current state.
    pub fn observation(&mut self) -> Vec<f32> {
        self.observe()
    }

    /// A read-only view for quantities and conditions.
    pub fn measure(&self) -> Measure<'_> {
        Measure {
            scenario: &self.scenario,
            world: &self.world,
            goal: self.goal,
            paths: &self.paths,
            laps: &self.laps,
            at_limit: self.steps >= self.scenario.max_steps,
        }
    }

    /// Sets per-actuator commands from an action (already checked against the space).
    pub(crate) fn set_commands(&mut self, action: &Action) {
        set_commands(&self.scenario, action, &mut self.commands);
    }

    /// Applies every actuator; `first` marks the first substep of an environment step.
    pub(crate) fn actuate(&mut self, first: bool) {
        let s = &self.scenario;
        let w = &mut self.world;
        let pushes = &mut self.pushes;
        if first {
            pushes.fill((Vector::ZERO, 0.0));
        }
        for (actuator, &command) in s.actuators.iter().zip(&self.commands) {
            let value = actuator.gain * command;
            match &actuator.effect {
                Effect::Force { body, direction, at, local } if first => {
                    let i = s.body_index(body).expect("validated");
                    let rb = &w.physics.bodies[w.bodies[i]];
                    let dir = direction_of(rb, *direction, *local);
                    let point = rb.position().transform_point(vec2(*at));
                    push_at_point(&mut pushes[i], rb, dir * value, point);
                }
                Effect::Torque { body } if first => {
                    let i = s.body_index(body).expect("validated");
                    push_torque(&mut pushes[i], &w.physics.bodies[w.bodies[i]], value);
                }
                Effect::JointTorque { joint } if first => {
                    let j = &s.joints[s.joint_index(joint).expect("validated")];
                    for (body, sign) in [(&j.body1, -1.0), (&j.body2, 1.0)] {
                        let i = s.body_index(body).expect("validated");
                        push_torque(&mut pushes[i], &w.physics.bodies[w.bodies[i]], sign * value);
                    }
                }
                Effect::Impulse { body, direction, at, local } if first => {
                    let rb = &mut w.physics.bodies[w.bodies[s.body_index(body).expect("validated")]];
                    let dir = direction_of(rb, *direction, *local);
                    let point = rb.position().transform_point(vec2(*at));
                    rb.apply_impulse_at_point(dir * value, point, true);
                }
                Effect::Velocity { body, direction, local, exclusive } => {
                    let rb = &mut w.physics.bodies[w.bodies[s.body_index(body).expect("validated")]];
                    let dir = direction_of(rb, *direction, *local).normalize_or_zero();
                    let kept = if *exclusive { Vector::ZERO } else { rb.linvel() - dir * rb.linvel().dot(dir) };
                    rb.set_linvel(kept + dir * value, true);
                }
                Effect::AngularVelocity { body } => {
                    let rb = &mut w.physics.bodies[w.bodies[s.body_index(body).expect("validated")]];
                    rb.set_angvel(value, true);
                }
                Effect::MotorVelocity { joint, damping, max_force } if first => {
                    let j = s.joint_index(joint).expect("validated");
                    let axis = world::motor_axis(&s.joints[j].kind);
                    if let Some(joint) = w.physics.impulse_joints.get_mut(w.joints[j], true) {
                        joint.data.set_motor_velocity(axis, value, *damping);
                        joint.data.set_motor_max_force(axis, max_force.unwrap_or(Real::MAX));
                    }
                }
                Effect::MotorPosition { joint, stiffness, damping, max_force } if first => {
                    let j = s.joint_index(joint).expect("validated");
                    let axis = world::motor_axis(&s.joints[j].kind);
                    if let Some(joint) = w.physics.impulse_joints.get_mut(w.joints[j], true) {
                        joint.data.set_motor_position(axis, value, *stiffness, *damping);
                        joint.data.set_motor_max_force(axis, max_force.unwrap_or(Real::MAX));
                    }
                }
                _ => {}
            }
        }
        if first {
            self.apply_pushes();
        }
    }

    /// Has the next step enlist every body in the simulation (rapier adds a body to its
    /// islands when it is first edited; one that no actuator or randomization touches would
    /// otherwise never move), in handle order, as at the start of every episode.
    fn enlist_bodies(&mut self) {
        self.world.physics.bodies.iter_mut().for_each(drop);
    }

    /// Gives every body this step's force and torque. Forces persist in rapier until changed,
    /// and rapier treats a body borrowed mutably as edited by the user (it re-checks the body's
    /// island and rebuilds the joint solver's layout in the next step), so only bodies whose
    /// push changed are touched.
    fn apply_pushes(&mut self) {
        let bodies = &mut self.world.physics.bodies;
        for (&handle, &(force, torque)) in self.world.bodies.iter().zip(&self.pushes) {
            let rb = &bodies[handle];
            if rb.user_force() == force && rb.user_torque() == torque {
                continue;
            }
            let rb = &mut bodies[handle];
            rb.reset_forces(false);
            rb.reset_torques(false);
            rb.add_force(force, true);
            rb.add_torque(torque, true);
        }
    }

    fn randomize(&mut self) {
        let s = &self.scenario;
        for (i, body) in s.bodies.iter().enumerate() {
            let Some(r) = &body.randomize else { continue };
            let mut draw =
                |range: Range| if range[0] < range[1] { self.rng.random_range(range[0]..range[1]) } else { range[0] };
            let (dx, dy, da) = (draw(r.x), draw(r.y), draw(r.angle));
            let (dvx, dvy, dw) = (draw(r.vx), draw(r.vy), draw(r.angular_velocity));
            let w = &mut self.world;
            let pivot = w.physics.bodies[w.bodies[i]].position().transform_point(vec2(r.pivot));
            let moved = std::iter::once(i).chain(r.with.iter().map(|n| s.body_index(n).expect("validated")));
            for j in moved {
                let rb = &mut w.physics.bodies[w.bodies[j]];
                let rotation = Rotation::new(da);
                let translation = pivot + rotation.transform_vector(rb.translation() - pivot) + Vector::new(dx, dy);
                let angle = rb.rotation().angle() + da;
                rb.set_position(Pose::new(translation, angle), false);
                let spin = (rb.center_of_mass() - pivot).perp() * dw;
                rb.set_linvel(rb.linvel() + Vector::new(dvx, dvy) + spin, false);
                rb.set_angvel(rb.angvel() + dw, false);
            }
        }
    }

    fn sample_goal(&mut self) {
        let Some(goal) = &self.scenario.goal else { return };
        let mut draw = |r: Range| if r[0] < r[1] { self.rng.random_range(r[0]..r[1]) } else { r[0] };
        self.goal = Some(match &goal.sample {
            GoalSampler::Box { x, y, angle } => {
                GoalPose { position: Vector::new(draw(*x), draw(*y)), angle: draw(*angle) }
            }
            GoalSampler::Polar { center, radius, bearing, angle } => {
                let (r, b) = (draw(*radius), draw(*bearing));
                GoalPose { position: vec2(*center) + Vector::new(b.cos(), b.sin()) * r, angle: draw(*angle) }
            }
        });
    }

    /// Restarts path trackers and progress memories from the current state.
    fn reset_trackers(&mut self) {
        for i in 0..self.laps.len() {
            let point = self.measure().point(&self.laps[i].point);
            let t = &mut self.laps[i];
            t.s = self.paths[t.path].project(point).0;
            t.laps = 0.0;
            t.delta = 0.0;
        }
        let m = self.measure();
        self.potentials = self.scenario.reward.iter().filter_map(|(t, _)| potential(&m, t)).collect();
    }

    fn update_trackers(&mut self) {
        for i in 0..self.laps.len() {
            let point = self.measure().point(&self.laps[i].point);
            let t = &mut self.laps[i];
            let path = &self.paths[t.path];
            let s = path.project(point).0;
            t.delta = path.advance(t.s, s) / path.length.max(1e-6);
            t.laps += t.delta;
            t.s = s;
        }
    }

    fn reward(&mut self, success: bool, failure: bool) -> f32 {
        let mut potentials = std::mem::take(&mut self.potentials);
        let mut next_potential = potentials.iter_mut();
        // The decrease since the last step of the next potential term's quantity, now `now`.
        let mut decrease = |now: f32| {
            let before = next_potential.next().expect("reset_trackers keeps one per potential term");
            let gain = *before - now;
            *before = now;
            gain
        };
        let mut total = 0.0;
        let m = self.measure();
        for (term, weight) in &self.scenario.reward {
            let value = match term {
                RewardTerm::Alive => 1.0,
                RewardTerm::Upright(b) => m.angle(b).cos(),
                RewardTerm::GoalDistance(p) => m.goal_distance(p),
                RewardTerm::Progress(p) => decrease(m.goal_distance(p)),
                RewardTerm::Decrease(q) => decrease(m.quantity(q)),
                RewardTerm::PathProgress(path, p) => m.laps_delta(path, p),
                RewardTerm::ActionCost => self.commands.iter().map(|c| c * c).sum(),
                RewardTerm::Success => success as u8 as f32,
                RewardTerm::Crash => failure as u8 as f32,
                RewardTerm::Value(q) => m.quantity(q),
                RewardTerm::Squared(q) => m.quantity(q).powi(2),
            };
            total += weight * value;
        }
        self.potentials = potentials;
        total
    }

    fn observe(&mut self) -> Vec<f32> {
        let mut obs = Vec::with_capacity(self.observation_space.dim());
        let mut rays = std::mem::take(&mut self.rays);
        rays.clear();
        let m = self.measure();
        for term in &self.scenario.observations {
            match term {
                Obs::Position(p) => obs.extend(m.point(p).to_array()),
                Obs::Velocity(p) => obs.extend(m.point_velocity(p).to_array()),
                Obs::Angle(b) => {
                    let a = m.angle(b);
                    obs.extend([a.sin(), a.cos()]);
                }
                Obs::JointAngle(j) => {
                    let a = m.joint_angle(j);
                    obs.extend([a.sin(), a.cos()]);
                }
                Obs::ToGoal { from, local } => {
                    let goal = self.goal.expect("validated").position;
                    let delta = goal - m.point(from);
                    let delta =
                        if *local { m.body(from.body()).rotation().inverse_transform_vector(delta) } else { delta };
                    obs.extend(delta.to_array());
                }
                Obs::Goal => obs.extend(self.goal.expect("validated").position.to_array()),
                Obs::GoalAngle => {
                    let a = self.goal.expect("validated").angle;
                    obs.extend([a.sin(), a.cos()]);
                }
                Obs::Rays { from, count, fov, range } => {
                    let hits = cast_rays(&m, from, *count, *fov, *range);
                    obs.extend(hits.iter().map(|h| (h.from.distance(h.to) / range).min(1.0)));
                    rays.extend(hits);
                }
                Obs::Value(q) => obs.push(m.quantity(q)),
            }
        }
        self.rays = rays;
        obs
    }
}

/// Adds a force at a world point to a body's push, as rapier's `add_force_at_point` adds it
/// (same operations in the same order, so the sums are bit for bit rapier's).
fn push_at_point((force, torque): &mut (Vector, f32), rb: &RigidBody, f: Vector, point: Vector) {
    if f != Vector::ZERO && rb.is_dynamic() {
        *force += f;
        let arm = point - rb.center_of_mass();
        *torque += arm.x * f.y - arm.y * f.x;
    }
}

/// Adds a torque to a body's push, as rapier's `add_torque` adds it.
fn push_torque((_, torque): &mut (Vector, f32), rb: &RigidBody, t: f32) {
    if t != 0.0 && rb.is_dynamic() {
        *torque += t;
    }
}

fn direction_of(rb: &RigidBody, direction: [f32; 2], local: bool) -> Vector {
    let d = vec2(direction);
    if local { rb.rotation().transform_vector(d) } else { d }
}

fn cast_rays(m: &Measure, from: &Point, count: usize, fov: f32, range: f32) -> Vec<RayHit> {
    let body = m.body_handle(from.body());
    let origin = m.point(from);
    let heading = m.angle(from.body());
    let filter = QueryFilter::default().exclude_rigid_body(body).exclude_sensors().groups(InteractionGroups::all());
    let query = m.world.physics.query_pipeline_with_filter(filter);
    (0..count)
        .map(|k| {
            let offset = if count == 1 { 0.0 } else { (k as f32 / (count - 1) as f32 - 0.5) * fov.to_radians() };
            let dir = Vector::from_angle(heading + offset);
            let ray = Ray::new(origin, dir);
            let toi = query.cast_ray(&ray, range, true).map(|(_, toi)| toi);
            RayHit { from: origin, to: origin + dir * toi.unwrap_or(range), hit: toi.is_some() }
        })
        .collect()
}

/// The quantity a `Progress` or `Decrease` term pays the decrease of; `None` for other terms.
fn potential(m: &Measure, term: &RewardTerm) -> Option<f32> {
    match term {
        RewardTerm::Progress(p) => Some(m.goal_distance(p)),
        RewardTerm::Decrease(q) => Some(m.quantity(q)),
        _ => None,
    }
}

fn lap_trackers(s: &Scenario) -> Vec<LapTracker> {
    let mut uses: Vec<(usize, Point)> = Vec::new();
    let mut add = |path: &str, p: &Point| {
        let key = (s.path_index(path).expect("validated"), p.clone());
        if !uses.contains(&key) {
            uses.push(key);
        }
    };
    let mut quantities: Vec<&Quantity> = Vec::new();
    for (term, _) in &s.reward {
        match term {
            RewardTerm::PathProgress(path, p) => add(path, p),
            RewardTerm::Value(q) | RewardTerm::Squared(q) | RewardTerm::Decrease(q) => quantities.push(q),
            _ => {}
        }
    }
    s.observations.iter().for_each(|o| {
        if let Obs::Value(q) = o {
            quantities.push(q)
        }
    });
    let mut conditions: Vec<&super::scenario::Condition> = s.failure.iter().collect();
    conditions.extend(s.success.iter().map(|x| &x.when));
    while let Some(c) = conditions.pop() {
        use super::scenario::Condition::*;
        match c {
            Above(q, _) | Below(q, _) | Outside(q, _) => quantities.push(q),
            All(cs) | Any(cs) => conditions.extend(cs),
            Contact(..) | Survived => {}
        }
    }
    for q in quantities {
        if let Quantity::PathProgress(path, p) = q {
            add(path, p);
        }
    }
    uses.into_iter().map(|(path, point)| LapTracker { path, point, s: 0.0, laps: 0.0, delta: 0.0 }).collect()
}

/// The observation space a scenario produces.
pub fn observation_space(s: &Scenario) -> Space {
    let (mut low, mut high) = (Vec::new(), Vec::new());
    let mut push = |n: usize, lo: f32, hi: f32| {
        low.extend(std::iter::repeat_n(lo, n));
        high.extend(std::iter::repeat_n(hi, n));
    };
    for term in &s.observations {
        match term {
            Obs::Angle(_) | Obs::JointAngle(_) | Obs::GoalAngle => push(2, -1.0, 1.0),
            Obs::Position(_) | Obs::Velocity(_) | Obs::ToGoal { .. } | Obs::Goal => {
                push(2, f32::NEG_INFINITY, f32::INFINITY)
            }
            Obs::Rays { count, .. } => push(*count, 0.0, 1.0),
            Obs::Value(Quantity::Contact(..)) => push(1, 0.0, 1.0),
            Obs::Value(Quantity::Upright(_)) => push(1, -1.0, 1.0),
            Obs::Value(_) => push(1, f32::NEG_INFINITY, f32::INFINITY),
        }
    }
    Space::Box { low, high }
}

fn action_space(s: &Scenario) -> Space {
    match &s.actions {
        ActionSpec::Box(names) => {
            let ranges: Vec<Range> =
                names.iter().map(|n| s.actuators[s.actuator_index(n).expect("validated")].range).collect();
            Space::Box { low: ranges.iter().map(|r| r[0]).collect(), high: ranges.iter().map(|r| r[1]).collect() }
        }
        ActionSpec::Discrete(table) => Space::Discrete { n: table.len() },
        ActionSpec::MultiDiscrete(tables) => Space::MultiDiscrete { nvec: tables.iter().map(|t| t.len()).collect() },
    }
}

impl Env for ScenarioEnv {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.world.restore(&self.template);
        self.start_episode(seed);
        self.enlist_bodies();
        self.observe()
    }

    fn step(&mut self, action: &Action) -> Result<Step, ActionMismatch> {
        self.action_space.check(action)?;
        self.set_commands(action);
        for substep in 0..self.scenario.substeps {
            self.actuate(substep == 0);
            self.world.physics.step();
        }
        Ok(self.finish_step())
    }
}

/// The parts of a reset and a step that a [`crate::pack::Pack`] runs for each of its copies
/// around the physics steps it takes once for all of them.
impl ScenarioEnv {
    /// The same environment driving copy `handles` of a world it shares with other copies;
    /// it moves only while its pack lends it that world.
    pub(crate) fn as_copy(&self, handles: BuiltWorld) -> ScenarioEnv {
        ScenarioEnv { world: handles, ..self.clone() }
    }

    /// Whether copies of this scenario can share one world and each still move exactly as
    /// it does alone: nothing in it can touch anything (every collider is a ghost), so no
    /// contact reaches from one copy to another, and no ray sensor queries the world.
    pub(crate) fn packable(&self) -> bool {
        self.template.colliders.iter().all(Vec::is_empty) && !self.needs_broad_phase_at_reset
    }

    /// Trades this copy's world for `physics`: a pack lends its shared world this way.
    pub(crate) fn swap_physics(&mut self, physics: &mut Box<PhysicsWorld>) {
        std::mem::swap(&mut self.world.physics, physics);
    }

    /// [`Env::reset`] of a packed copy: puts only its own bodies and joints back.
    pub(crate) fn reset_copy(&mut self, seed: u64) -> Vec<f32> {
        self.world.restore_copy(&self.template);
        self.start_episode(seed);
        self.observe()
    }

    /// Everything in a state that [`Env::reset`] sets after the world is put back: the seed's
    /// draws, the goal, the counters and the trackers.
    fn start_episode(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.randomize();
        self.sample_goal();
        if self.needs_broad_phase_at_reset {
            self.world.physics.detect_collisions(&(), &());
        }
        self.steps = 0;
        self.success_streak = 0;
        self.commands.iter_mut().for_each(|c| *c = 0.0);
        self.reset_trackers();
    }

    /// What a step reads off the world after its physics: observation, reward, the ends.
    pub(crate) fn finish_step(&mut self) -> Step {
        self.steps += 1;
        self.update_trackers();
        let obs = self.observe();
        let m = self.measure();
        let failure = self.failure.fails(&obs, &m);
        let goal = self.scenario.success.as_ref();
        let holds = goal.is_some_and(|g| !failure && m.condition(&g.when));
        self.success_streak = if holds { self.success_streak + 1 } else { 0 };
        let success = goal.is_some_and(|g| self.success_streak >= g.hold);
        let terminated = failure || (success && goal.is_some_and(|g| g.terminate));
        let truncated = !terminated && self.steps >= self.scenario.max_steps;
        let reward = self.reward(success, failure);
        Step { obs, reward, terminated, truncated, success }
    }
}

/// Sets `commands` (one per actuator) from an action checked against the scenario's space:
/// a box action sets the actuators it names, a discrete choice zeroes the rest first.
pub fn set_commands(s: &Scenario, action: &Action, commands: &mut [f32]) {
    let clamp = |i: usize, v: f32| v.clamp(s.actuators[i].range[0], s.actuators[i].range[1]);
    match (&s.actions, action) {
        (ActionSpec::Box(names), Action::Continuous(values)) => {
            for (name, &v) in names.iter().zip(values) {
                let i = s.actuator_index(name).expect("validated");
                commands[i] = clamp(i, v);
            }
        }
        (ActionSpec::Discrete(table), Action::Discrete(choice)) => {
            commands.iter_mut().for_each(|c| *c = 0.0);
            for (name, v) in &table[*choice] {
                let i = s.actuator_index(name).expect("validated");
                commands[i] = clamp(i, *v);
            }
        }
        (ActionSpec::MultiDiscrete(tables), Action::MultiDiscrete(choices)) => {
            commands.iter_mut().for_each(|c| *c = 0.0);
            for (table, &choice) in tables.iter().zip(choices) {
                for (name, v) in &table[choice] {
                    let i = s.actuator_index(name).expect("validated");
                    commands[i] = clamp(i, commands[i] + v);
                }
            }
        }
        _ => unreachable!("action checked against the action space"),
    }
}
