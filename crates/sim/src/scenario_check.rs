//! Checks on a parsed scenario that the grammar cannot express, each pointing at the text.

use super::scenario::*;
use std::collections::HashSet;

/// A problem in a scenario, with text anchors that locate it in the file.
#[derive(Debug)]
pub struct Issue {
    pub message: String,
    /// Strings searched for one after the other; the last one found gives the position.
    pub anchors: Vec<String>,
    /// Search the anchors as alternatives instead: the earliest found gives the position.
    pub any_of: bool,
}

impl Issue {
    fn new(message: impl Into<String>, anchors: &[&str]) -> Issue {
        Issue { message: message.into(), anchors: anchors.iter().map(|a| a.to_string()).collect(), any_of: false }
    }

    fn any_of(message: impl Into<String>, anchors: &[&str]) -> Issue {
        Issue { any_of: true, ..Issue::new(message, anchors) }
    }

    /// 1-based line and column of the issue in `text` (1:1 when no anchor is found).
    pub fn locate(&self, text: &str) -> (usize, usize) {
        let at = if self.any_of {
            self.anchors.iter().filter_map(|a| text.find(a.as_str())).min()
        } else {
            let (mut at, mut from) = (None, 0);
            for anchor in &self.anchors {
                if let Some(offset) = text[from..].find(anchor.as_str()) {
                    at = Some(from + offset);
                    from += offset + anchor.len();
                }
            }
            at
        };
        let at = at.unwrap_or(0);
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        (text[..at].matches('\n').count() + 1, text[line_start..at].chars().count() + 1)
    }
}

/// A name one part of a scenario uses to refer to another.
pub enum Ref<'a> {
    Body(&'a str),
    Joint(&'a str),
    Path(&'a str),
    Goal,
}

/// Validates everything the parser cannot; the first problem found is returned.
pub fn validate(s: &Scenario) -> Result<(), Issue> {
    check_finite(s)?;
    check_globals(s)?;
    check_unique("bodies", s.bodies.iter().map(|b| b.name.as_str()))?;
    check_unique("joints", s.joints.iter().map(|j| j.name.as_str()))?;
    check_unique("actuators", s.actuators.iter().map(|a| a.name.as_str()))?;
    check_unique("paths", s.paths.iter().map(|p| p.name.as_str()))?;
    for body in &s.bodies {
        check_body(body)?;
    }
    check_randomize_with(s)?;
    for joint in &s.joints {
        check_joint(s, joint)?;
    }
    for actuator in &s.actuators {
        check_actuator(s, actuator)?;
    }
    check_actions(s)?;
    check_paths(s)?;
    check_goal(s)?;
    for obs in &s.observations {
        if let Obs::Rays { count, range, fov, .. } = obs
            && (*count == 0 || *range <= 0.0 || *fov < 0.0)
        {
            return Err(Issue::new("Rays needs count ≥ 1, range > 0 and fov ≥ 0", &["Rays"]));
        }
    }
    let mut refs = Vec::new();
    s.observations.iter().for_each(|o| obs_refs(o, &mut refs));
    s.reward.iter().for_each(|(t, _)| reward_refs(t, &mut refs));
    s.failure.iter().for_each(|c| condition_refs(c, &mut refs));
    if let Some(success) = &s.success {
        condition_refs(&success.when, &mut refs);
    }
    if let Some(expert) = &s.expert {
        expert.references(&mut refs);
    }
    for r in refs {
        check_ref(s, r)?;
    }
    if let Some(expert) = &s.expert {
        expert.check(s).map_err(|m| Issue::new(format!("expert: {m}"), &["expert"]))?;
    }
    Ok(())
}

/// NaN and infinities are never meaningful in a scenario.
fn check_finite(s: &Scenario) -> Result<(), Issue> {
    let text = ron::to_string(s).unwrap_or_default();
    for token in ["NaN", "inf"] {
        if text.contains(token) {
            return Err(Issue::new(format!("`{token}` is not allowed: every number must be finite"), &[token]));
        }
    }
    Ok(())
}

fn check_globals(s: &Scenario) -> Result<(), Issue> {
    if s.timestep <= 0.0 {
        return Err(Issue::new("timestep must be > 0 seconds", &["timestep"]));
    }
    if s.substeps == 0 {
        return Err(Issue::new("substeps must be ≥ 1", &["substeps"]));
    }
    if !(1..=64).contains(&s.solver_iterations) {
        return Err(Issue::new("solver_iterations must be between 1 and 64", &["solver_iterations"]));
    }
    if s.max_steps == 0 {
        return Err(Issue::new("max_steps must be ≥ 1", &["max_steps"]));
    }
    if s.bodies.is_empty() {
        return Err(Issue::new("a scenario needs at least one body", &["bodies"]));
    }
    if s.observations.is_empty() {
        return Err(Issue::new("a scenario needs at least one observation term", &["observations"]));
    }
    Ok(())
}

fn check_unique<'a>(plural: &str, names: impl Iterator<Item = &'a str>) -> Result<(), Issue> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            let quoted = format!("\"{name}\"");
            return Err(Issue::new(
                format!("two {plural} are named `{name}`; names must be unique"),
                &[&quoted, &quoted],
            ));
        }
    }
    Ok(())
}

fn check_range(range: Range, what: &str, anchors: &[&str], allow_empty: bool) -> Result<(), Issue> {
    let bad = if allow_empty { range[0] > range[1] } else { range[0] >= range[1] };
    if bad {
        let need = if allow_empty { "min ≤ max" } else { "min < max" };
        return Err(Issue::new(format!("{what}: range ({}, {}) is empty; need {need}", range[0], range[1]), anchors));
    }
    Ok(())
}

fn check_body(b: &Body) -> Result<(), Issue> {
    let anchor = format!("\"{}\"", b.name);
    if b.colliders.is_empty() {
        return Err(Issue::new(format!("body `{}` has no colliders", b.name), &[&anchor]));
    }
    for c in &b.colliders {
        let bad_shape = match &c.shape {
            Shape::Ball(r) => (*r <= 0.0).then_some("Ball radius must be > 0"),
            Shape::Cuboid(hx, hy) => (*hx <= 0.0 || *hy <= 0.0).then_some("Cuboid half-extents must be > 0"),
            Shape::Capsule(h, r) => (*h < 0.0 || *r <= 0.0).then_some("Capsule needs half-length ≥ 0 and radius > 0"),
            Shape::Polygon(p) => (p.len() < 3).then_some("Polygon needs at least 3 points"),
            Shape::Polyline(p) => (p.len() < 2).then_some("Polyline needs at least 2 points"),
        };
        if let Some(message) = bad_shape {
            return Err(Issue::new(format!("body `{}`: {message}", b.name), &[&anchor, "shape"]));
        }
        if c.density < 0.0 || c.mass.is_some_and(|m| m <= 0.0) || c.friction < 0.0 || c.restitution < 0.0 {
            return Err(Issue::new(
                format!("body `{}`: density, friction and restitution must be ≥ 0 and mass > 0", b.name),
                &[&anchor],
            ));
        }
    }
    if let Some(r) = &b.randomize {
        for (range, field) in [(r.x, "x"), (r.y, "y"), (r.angle, "angle"), (r.vx, "vx"), (r.vy, "vy")] {
            check_range(range, &format!("body `{}` randomize.{field}", b.name), &[&anchor, "randomize", field], true)?;
        }
        check_range(
            r.angular_velocity,
            &format!("body `{}` randomize.angular_velocity", b.name),
            &[&anchor, "randomize"],
            true,
        )?;
    }
    Ok(())
}

fn check_randomize_with(s: &Scenario) -> Result<(), Issue> {
    for body in &s.bodies {
        for other in body.randomize.iter().flat_map(|r| &r.with) {
            check_ref(s, Ref::Body(other))?;
        }
    }
    Ok(())
}

fn missing(what: &str, name: &str, known: impl Iterator<Item = impl AsRef<str>>, anchors: &[&str]) -> Issue {
    let known: Vec<String> = known.map(|k| k.as_ref().to_string()).collect();
    Issue::new(format!("no {what} is named `{name}` (known: {})", known.join(", ")), anchors)
}

fn check_joint(s: &Scenario, j: &Joint) -> Result<(), Issue> {
    let anchor = format!("\"{}\"", j.name);
    for body in [&j.body1, &j.body2] {
        if s.body_index(body).is_none() {
            let quoted = format!("\"{body}\"");
            return Err(missing("body", body, s.bodies.iter().map(|b| &b.name), &[&anchor, &quoted]));
        }
    }
    if j.body1 == j.body2 {
        return Err(Issue::new(format!("joint `{}` joins body `{}` to itself", j.name, j.body1), &[&anchor]));
    }
    match &j.kind {
        JointKind::Revolute { limits: Some(l) } | JointKind::Prismatic { limits: Some(l), .. } => {
            check_range(*l, &format!("joint `{}` limits", j.name), &[&anchor, "limits"], false)?
        }
        _ => {}
    }
    if let JointKind::Prismatic { axis, .. } = &j.kind
        && axis[0] == 0.0
        && axis[1] == 0.0
    {
        return Err(Issue::new(format!("joint `{}`: prismatic axis is zero", j.name), &[&anchor, "axis"]));
    }
    if matches!(j.kind, JointKind::Fixed) && j.motor.is_some() {
        return Err(Issue::new(format!("joint `{}`: a fixed joint cannot have a motor", j.name), &[&anchor, "motor"]));
    }
    Ok(())
}

fn check_actuator(s: &Scenario, a: &Actuator) -> Result<(), Issue> {
    let anchor = format!("\"{}\"", a.name);
    check_range(a.range, &format!("actuator `{}`", a.name), &[&anchor, "range"], false)?;
    let (body, joint) = match &a.effect {
        Effect::Force { body, .. }
        | Effect::Torque { body }
        | Effect::Impulse { body, .. }
        | Effect::Velocity { body, .. }
        | Effect::AngularVelocity { body } => (Some(body), None),
        Effect::MotorVelocity { joint, .. } | Effect::MotorPosition { joint, .. } | Effect::JointTorque { joint } => {
            (None, Some(joint))
        }
    };
    if let Some(body) = body
        && s.body_index(body).is_none()
    {
        let quoted = format!("\"{body}\"");
        return Err(missing("body", body, s.bodies.iter().map(|b| &b.name), &[&anchor, &quoted]));
    }
    if let Some(joint) = joint {
        let quoted = format!("\"{joint}\"");
        let Some(j) = s.joint_index(joint) else {
            return Err(missing("joint", joint, s.joints.iter().map(|j| &j.name), &[&anchor, &quoted]));
        };
        if matches!(s.joints[j].kind, JointKind::Fixed) {
            return Err(Issue::new(
                format!("actuator `{}` drives fixed joint `{joint}`, which cannot move", a.name),
                &[&anchor, &quoted],
            ));
        }
    }
    Ok(())
}

fn check_actions(s: &Scenario) -> Result<(), Issue> {
    let check_table = |table: &Vec<Vec<(String, f32)>>| -> Result<(), Issue> {
        if table.is_empty() {
            return Err(Issue::new("a discrete action table needs at least one choice", &["actions"]));
        }
        for (name, _) in table.iter().flatten() {
            if s.actuator_index(name).is_none() {
                let quoted = format!("\"{name}\"");
                return Err(missing("actuator", name, s.actuators.iter().map(|a| &a.name), &["actions", &quoted]));
            }
        }
        Ok(())
    };
    let (dims, choices) = match &s.actions {
        ActionSpec::Box(names) => {
            if names.is_empty() {
                return Err(Issue::new("a Box action space needs at least one actuator", &["actions"]));
            }
            for name in names {
                if s.actuator_index(name).is_none() {
                    let quoted = format!("\"{name}\"");
                    return Err(missing("actuator", name, s.actuators.iter().map(|a| &a.name), &["actions", &quoted]));
                }
            }
            (names.len(), None)
        }
        ActionSpec::Discrete(table) => {
            check_table(table)?;
            (1, Some(table.len()))
        }
        ActionSpec::MultiDiscrete(tables) => {
            if tables.is_empty() {
                return Err(Issue::new("a MultiDiscrete action space needs at least one dimension", &["actions"]));
            }
            tables.iter().try_for_each(check_table)?;
            (tables.len(), None)
        }
    };
    match (&s.bindings, choices) {
        (Some(Bindings::Axes(axes)), None) if axes.len() != dims => Err(Issue::new(
            format!("bindings: {} axes bound, but the action space has {dims} dimensions", axes.len()),
            &["bindings"],
        )),
        (Some(Bindings::Choices { idle, choices: bound }), Some(n)) if bound.len() != n || *idle >= n => {
            Err(Issue::new(
                format!(
                    "bindings: need one binding per choice ({n}) and idle < {n}; got {} and idle {idle}",
                    bound.len()
                ),
                &["bindings"],
            ))
        }
        (Some(Bindings::Axes(_)), Some(_)) => {
            Err(Issue::new("bindings: a Discrete action space is bound with Choices, not Axes", &["bindings"]))
        }
        (Some(Bindings::Choices { .. }), None) if !matches!(s.actions, ActionSpec::MultiDiscrete(_)) => {
            Err(Issue::new("bindings: a Box action space is bound with Axes, not Choices", &["bindings"]))
        }
        (Some(Bindings::Choices { .. }), None) => Err(Issue::new(
            "bindings: MultiDiscrete action spaces have no default bindings yet; remove them",
            &["bindings"],
        )),
        _ => Ok(()),
    }
}

fn check_paths(s: &Scenario) -> Result<(), Issue> {
    for p in &s.paths {
        if p.points.len() < 2 {
            let anchor = format!("\"{}\"", p.name);
            return Err(Issue::new(format!("path `{}` needs at least 2 points", p.name), &[&anchor]));
        }
    }
    Ok(())
}

fn check_goal(s: &Scenario) -> Result<(), Issue> {
    let Some(goal) = &s.goal else { return Ok(()) };
    match &goal.sample {
        GoalSampler::Box { x, y, angle } => {
            for (r, f) in [(x, "x"), (y, "y"), (angle, "angle")] {
                check_range(*r, &format!("goal {f}"), &["goal", f], true)?;
            }
        }
        GoalSampler::Polar { radius, bearing, angle, .. } => {
            for (r, f) in [(radius, "radius"), (bearing, "bearing"), (angle, "angle")] {
                check_range(*r, &format!("goal {f}"), &["goal", f], true)?;
            }
        }
    }
    if let Marker::Ghost(body) = &goal.marker {
        check_ref(s, Ref::Body(body))?;
    }
    Ok(())
}

fn check_ref(s: &Scenario, r: Ref) -> Result<(), Issue> {
    match r {
        Ref::Body(name) if s.body_index(name).is_none() => {
            let quoted = format!("\"{name}\"");
            Err(missing("body", name, s.bodies.iter().map(|b| &b.name), &[&quoted]))
        }
        Ref::Joint(name) if s.joint_index(name).is_none() => {
            let quoted = format!("\"{name}\"");
            Err(missing("joint", name, s.joints.iter().map(|j| &j.name), &[&quoted]))
        }
        Ref::Path(name) if s.path_index(name).is_none() => {
            let quoted = format!("\"{name}\"");
            Err(missing("path", name, s.paths.iter().map(|p| &p.name), &[&quoted]))
        }
        Ref::Goal if s.goal.is_none() => Err(Issue::any_of(
            "a goal term is used but the scenario has no `goal`",
            &[
                "GoalDistance",
                "GoalAngleError",
                "PushPoseDistance",
                "Progress(",
                "ToGoal",
                "GoalAngle",
                "Goal,",
                "Goal]",
                "Reacher",
                "Lander",
                "PushT",
            ],
        )),
        _ => Ok(()),
    }
}

pub fn point_refs<'a>(p: &'a Point, out: &mut Vec<Ref<'a>>) {
    out.push(Ref::Body(p.body()));
}

pub fn quantity_refs<'a>(q: &'a Quantity, out: &mut Vec<Ref<'a>>) {
    use Quantity::*;
    match q {
        X(p) | Y(p) | VelocityX(p) | VelocityY(p) | Speed(p) => point_refs(p, out),
        Angle(b) | AngularVelocity(b) | Upright(b) => out.push(Ref::Body(b)),
        JointAngle(j) | JointPosition(j) | JointRate(j) => out.push(Ref::Joint(j)),
        GoalDistance(p) => {
            out.push(Ref::Goal);
            point_refs(p, out)
        }
        GoalAngleError(b) => out.extend([Ref::Goal, Ref::Body(b)]),
        PushPoseDistance { pusher, block, .. } => {
            out.push(Ref::Goal);
            point_refs(pusher, out);
            point_refs(block, out)
        }
        Contact(a, b) => out.extend([Ref::Body(a), Ref::Body(b)]),
        PathProgress(path, p) | PathDistance(path, p) => {
            out.push(Ref::Path(path));
            point_refs(p, out)
        }
    }
}

fn obs_refs<'a>(o: &'a Obs, out: &mut Vec<Ref<'a>>) {
    match o {
        Obs::Position(p) | Obs::Velocity(p) | Obs::Rays { from: p, .. } => point_refs(p, out),
        Obs::Angle(b) => out.push(Ref::Body(b)),
        Obs::JointAngle(j) => out.push(Ref::Joint(j)),
        Obs::ToGoal { from, .. } => {
            out.push(Ref::Goal);
            point_refs(from, out)
        }
        Obs::Goal | Obs::GoalAngle => out.push(Ref::Goal),
        Obs::Value(q) => quantity_refs(q, out),
    }
}

fn reward_refs<'a>(t: &'a RewardTerm, out: &mut Vec<Ref<'a>>) {
    match t {
        RewardTerm::Upright(b) => out.push(Ref::Body(b)),
        RewardTerm::GoalDistance(p) | RewardTerm::Progress(p) => {
            out.push(Ref::Goal);
            point_refs(p, out)
        }
        RewardTerm::PathProgress(path, p) => {
            out.push(Ref::Path(path));
            point_refs(p, out)
        }
        RewardTerm::Value(q) | RewardTerm::Squared(q) | RewardTerm::Decrease(q) => quantity_refs(q, out),
        RewardTerm::Alive | RewardTerm::ActionCost | RewardTerm::Success | RewardTerm::Crash => {}
    }
}

fn condition_refs<'a>(c: &'a Condition, out: &mut Vec<Ref<'a>>) {
    match c {
        Condition::Above(q, _) | Condition::Below(q, _) | Condition::Outside(q, _) => quantity_refs(q, out),
        Condition::Contact(a, b) => out.extend([Ref::Body(a), Ref::Body(b)]),
        Condition::Survived => {}
        Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| condition_refs(c, out)),
    }
}
