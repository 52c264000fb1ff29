//! Builds a rapier2d world from a scenario: bodies, colliders and joints, with name → handle maps.

use super::scenario::{BodyKind, Collider, JointKind, Scenario, Shape, V2};
use rapier2d::prelude::*;

/// A rapier world and the handles of the scenario's bodies, joints and colliders, by index.
pub struct BuiltWorld {
    /// Boxed so that the copies of a [`crate::pack::Pack`] can pass their shared world between
    /// them by swapping a pointer.
    pub physics: Box<PhysicsWorld>,
    /// `bodies[i]` is the handle of `scenario.bodies[i]`.
    pub bodies: Vec<RigidBodyHandle>,
    /// `joints[i]` is the handle of `scenario.joints[i]`.
    pub joints: Vec<ImpulseJointHandle>,
    /// `colliders[i]` lists the colliders of `scenario.bodies[i]`, in file order.
    pub colliders: Vec<Vec<ColliderHandle>>,
}

impl Clone for BuiltWorld {
    /// An exact copy of the simulation state; solver workspaces start empty, as rapier's
    /// own snapshots do, so a copy steps exactly like the original.
    fn clone(&self) -> Self {
        let p = &self.physics;
        BuiltWorld {
            physics: Box::new(PhysicsWorld {
                gravity: p.gravity,
                integration_parameters: p.integration_parameters,
                physics_pipeline: PhysicsPipeline::new(),
                collision_pipeline: CollisionPipeline::new(),
                islands: p.islands.clone(),
                broad_phase: p.broad_phase.clone(),
                narrow_phase: p.narrow_phase.clone(),
                bodies: p.bodies.clone(),
                colliders: p.colliders.clone(),
                impulse_joints: p.impulse_joints.clone(),
                multibody_joints: p.multibody_joints.clone(),
                soft_bodies: p.soft_bodies.clone(),
                ccd_solver: p.ccd_solver.clone(),
            }),
            bodies: self.bodies.clone(),
            joints: self.joints.clone(),
            colliders: self.colliders.clone(),
        }
    }
}

impl BuiltWorld {
    /// Copies `from`'s simulation state into this world, keeping this world's solver
    /// workspaces (and their allocations): the fast path of every reset.
    pub fn restore(&mut self, from: &BuiltWorld) {
        let (p, f) = (&mut self.physics, &from.physics);
        p.gravity = f.gravity;
        p.integration_parameters = f.integration_parameters;
        p.islands.clone_from(&f.islands);
        p.broad_phase.clone_from(&f.broad_phase);
        p.narrow_phase.clone_from(&f.narrow_phase);
        p.bodies.clone_from(&f.bodies);
        p.colliders.clone_from(&f.colliders);
        p.impulse_joints.clone_from(&f.impulse_joints);
        p.multibody_joints.clone_from(&f.multibody_joints);
        p.soft_bodies.clone_from(&f.soft_bodies);
        p.ccd_solver.clone_from(&f.ccd_solver);
        // A restored older snapshot (`drop_ghosts`) may have numbered its colliders otherwise.
        self.colliders.clone_from(&from.colliders);
    }

    /// Puts this copy's bodies and joints as `template` (a world of this copy alone) has them,
    /// touching nothing else in the world it shares with other copies: how one copy of a
    /// [`crate::pack::Pack`] starts over. The bodies are touched in handle order, as
    /// [`BuiltWorld::restore`] and a fresh episode's step leave them.
    pub fn restore_copy(&mut self, template: &BuiltWorld) {
        let t = &template.physics;
        for (&handle, &from) in self.bodies.iter().zip(&template.bodies) {
            let (rb, from) = (&mut self.physics.bodies[handle], &t.bodies[from]);
            rb.set_position(*from.position(), true);
            rb.set_linvel(from.linvel(), true);
            rb.set_angvel(from.angvel(), true);
            rb.reset_forces(true);
            rb.reset_torques(true);
        }
        for (&handle, &from) in self.joints.iter().zip(&template.joints) {
            let (Some(joint), Some(from)) =
                (self.physics.impulse_joints.get_mut(handle, true), t.impulse_joints.get(from))
            else {
                continue;
            };
            (joint.data, joint.impulses) = (from.data, from.impulses);
        }
    }

    /// Each body's collider handles, read from the physics (after restoring a snapshot).
    pub fn relist_colliders(&mut self) {
        let bodies = &self.physics.bodies;
        self.colliders =
            self.bodies.iter().map(|&h| bodies.get(h).map_or_else(Vec::new, |b| b.colliders().to_vec())).collect();
    }
}

pub fn vec2(v: V2) -> Vector {
    Vector::new(v[0], v[1])
}

/// Builds the world in the scenario's initial state (no randomization).
pub fn build(s: &Scenario) -> BuiltWorld {
    let (physics, mut copies) = build_copies(s, 1);
    let mut world = copies.pop().expect("one copy");
    world.physics = physics;
    world
}

/// `n` copies of the scenario in one world (packing is only for scenarios whose colliders
/// are all ghosts, so none touches another, see [`crate::pack::Pack`]): the shared world, and
/// each copy's handles around a placeholder world.
pub fn build_copies(s: &Scenario, n: usize) -> (Box<PhysicsWorld>, Vec<BuiltWorld>) {
    let mut physics = empty(s);
    let copies = (0..n).map(|_| add_copy(&mut physics, s)).collect();
    // Fill the broad phase so scene queries (ray sensors) work before the first step.
    physics.detect_collisions(&(), &());
    (physics, copies)
}

/// A world with the scenario's gravity and integration settings and nothing in it.
fn empty(s: &Scenario) -> Box<PhysicsWorld> {
    let mut physics = Box::new(PhysicsWorld::new());
    physics.gravity = vec2(s.gravity);
    physics.integration_parameters.dt = s.timestep / s.substeps as f32;
    physics.integration_parameters.num_solver_iterations = s.solver_iterations as usize;
    physics
}

/// Adds the scenario's bodies, colliders and joints to `physics`; returns their handles
/// around an empty placeholder world.
fn add_copy(physics: &mut PhysicsWorld, s: &Scenario) -> BuiltWorld {
    let mut bodies = Vec::with_capacity(s.bodies.len());
    let mut colliders = Vec::with_capacity(s.bodies.len());
    for body in &s.bodies {
        let builder = match body.kind {
            BodyKind::Dynamic => RigidBodyBuilder::dynamic(),
            BodyKind::Fixed => RigidBodyBuilder::fixed(),
            BodyKind::Kinematic => RigidBodyBuilder::kinematic_velocity_based(),
        }
        .translation(vec2(body.position))
        .rotation(body.angle)
        .linvel(vec2(body.velocity))
        .angvel(body.angular_velocity)
        .linear_damping(body.linear_damping)
        .angular_damping(body.angular_damping)
        .gravity_scale(body.gravity_scale)
        .ccd_enabled(body.ccd)
        // Episodes are short and bodies must respond to actions at once: never sleep.
        .can_sleep(false);
        // Ghost colliders touch nothing and only give their body its mass: their mass
        // properties go onto the body directly, and rapier's collision pipeline (broad and
        // narrow phase) never sees them. Rays skip ghosts either way (`cast_rays`).
        let (ghosts, solid): (Vec<&Collider>, Vec<&Collider>) = body.colliders.iter().partition(|c| is_ghost(c));
        let builder = match ghosts.is_empty() {
            true => builder,
            false => builder.additional_mass_properties(ghost_mass(&ghosts)),
        };
        let handle = physics.insert_body(builder);
        let handles = solid.into_iter().map(|c| physics.insert_collider(collider(c), Some(handle))).collect();
        bodies.push(handle);
        colliders.push(handles);
    }
    let joints = s
        .joints
        .iter()
        .map(|j| {
            let b1 = bodies[s.body_index(&j.body1).expect("validated")];
            let b2 = bodies[s.body_index(&j.body2).expect("validated")];
            physics.insert_impulse_joint(b1, b2, joint(j))
        })
        .collect();
    BuiltWorld { physics: Box::new(PhysicsWorld::new()), bodies, joints, colliders }
}

/// A collider that only lends its body mass: a ghost that is not a sensor.
fn is_ghost(c: &Collider) -> bool {
    c.ghost && !c.sensor
}

/// `physics`, a snapshot from before ghosts left the collider set (2026-12-06), with its ghost
/// colliders removed and their mass put on their bodies, as [`build`] does now: datasets
/// recorded before still restore, and replay exactly. Snapshots without ghosts pass unchanged.
pub fn drop_ghosts(physics: &mut PhysicsWorld, s: &Scenario, bodies: &[RigidBodyHandle]) {
    for (spec, &handle) in s.bodies.iter().zip(bodies) {
        let ghosts: Vec<&Collider> = spec.colliders.iter().filter(|c| is_ghost(c)).collect();
        let Some(body) = physics.bodies.get(handle).filter(|_| !ghosts.is_empty()) else { continue };
        let none = InteractionGroups::none();
        let stale: Vec<ColliderHandle> = (body.colliders().iter().copied())
            .filter(|&h| physics.colliders.get(h).is_some_and(|c| c.collision_groups() == none && !c.is_sensor()))
            .collect();
        if stale.is_empty() {
            continue;
        }
        let p = &mut *physics;
        for h in stale {
            p.colliders.remove(h, &mut p.islands, &mut p.bodies, &mut p.soft_bodies, false);
        }
        if let Some(body) = physics.bodies.get_mut(handle) {
            body.set_additional_mass_properties(ghost_mass(&ghosts), false);
        }
    }
}

/// The summed mass properties of `ghosts`, in their body's frame, as rapier sums its colliders'.
fn ghost_mass(ghosts: &[&Collider]) -> MassProperties {
    ghosts.iter().fold(MassProperties::default(), |sum, c| {
        let built = collider(c).build();
        sum + built.mass_properties().transform_by(built.position())
    })
}

fn collider(c: &Collider) -> ColliderBuilder {
    let points = |p: &[V2]| p.iter().map(|&v| vec2(v)).collect::<Vec<_>>();
    let builder = match &c.shape {
        Shape::Ball(r) => ColliderBuilder::ball(*r),
        Shape::Cuboid(hx, hy) => ColliderBuilder::cuboid(*hx, *hy),
        Shape::Capsule(h, r) => ColliderBuilder::capsule_y(*h, *r),
        // Validation guarantees 3+ points; a degenerate hull falls back to its bounding box.
        Shape::Polygon(p) => ColliderBuilder::convex_hull(&points(p)).unwrap_or_else(|| {
            let (lo, hi) = bounds(p);
            ColliderBuilder::cuboid(((hi[0] - lo[0]) / 2.0).max(1e-3), ((hi[1] - lo[1]) / 2.0).max(1e-3))
        }),
        Shape::Polyline(p) => ColliderBuilder::polyline(points(p), None),
    };
    let builder = builder
        .translation(vec2(c.offset))
        .rotation(c.angle)
        .friction(c.friction)
        .restitution(c.restitution)
        .sensor(c.sensor);
    let builder = if c.ghost { builder.collision_groups(InteractionGroups::none()) } else { builder };
    match c.mass {
        Some(m) => builder.mass(m),
        None => builder.density(c.density),
    }
}

/// Axis-aligned bounds of a point list, `(min, max)`.
pub fn bounds(points: &[V2]) -> (V2, V2) {
    points.iter().fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
        ([lo[0].min(p[0]), lo[1].min(p[1])], [hi[0].max(p[0]), hi[1].max(p[1])])
    })
}

fn joint(j: &super::scenario::Joint) -> GenericJoint {
    let (a1, a2) = (vec2(j.anchor1), vec2(j.anchor2));
    let mut joint: GenericJoint = match &j.kind {
        JointKind::Revolute { limits } => {
            let mut b = RevoluteJointBuilder::new().local_anchor1(a1).local_anchor2(a2);
            if let Some(l) = limits {
                b = b.limits(*l);
            }
            b.build().into()
        }
        JointKind::Prismatic { axis, limits } => {
            let mut b = PrismaticJointBuilder::new(vec2(*axis).normalize()).local_anchor1(a1).local_anchor2(a2);
            if let Some(l) = limits {
                b = b.limits(*l);
            }
            b.build().into()
        }
        JointKind::Fixed => FixedJointBuilder::new().local_anchor1(a1).local_anchor2(a2).build().into(),
    };
    joint.set_contacts_enabled(j.collide);
    if let Some(m) = &j.motor {
        let axis = motor_axis(&j.kind);
        joint.set_motor(axis, m.target_position, m.target_velocity, m.stiffness, m.damping);
        if let Some(f) = m.max_force {
            joint.set_motor_max_force(axis, f);
        }
    }
    joint
}

/// The joint axis a motor drives: rotation for hinges, translation for sliders.
pub fn motor_axis(kind: &JointKind) -> JointAxis {
    match kind {
        JointKind::Prismatic { .. } => JointAxis::LinX,
        _ => JointAxis::AngX,
    }
}
