//! Every kind of actuator effect moves its body or joint the way its command says.

use apprentice::sim::{Action, Env, Scenario, ScenarioEnv};
use std::path::Path;

/// A free body `box` hinged (via `hinge`) to a fixed `base`, with one actuator `a` whose
/// effect is `effect`, and no gravity.
fn rig(effect: &str, hinged: bool) -> ScenarioEnv {
    let joints =
        if hinged { r#"joints: [Joint(name: "hinge", body1: "base", body2: "box", kind: Revolute())],"# } else { "" };
    let text = format!(
        r#"Scenario(
            name: "rig", timestep: 0.05, gravity: (0.0, 0.0), max_steps: 100,
            bodies: [
                Body(name: "base", kind: Fixed, colliders: [Collider(shape: Ball(0.05), ghost: true)]),
                Body(name: "box", colliders: [Collider(shape: Cuboid(0.5, 0.1), offset: (0.5, 0.0), mass: 1.0, ghost: true)]),
            ],
            {joints}
            actuators: [Actuator(name: "a", effect: {effect}, gain: 1.0, range: (-2.0, 2.0))],
            actions: Box(["a"]),
            observations: [Position(Body("box")), Value(Angle("box")), Value(AngularVelocity("box"))],
            reward: [(Alive, 1.0)],
        )"#
    );
    ScenarioEnv::new(Scenario::parse(&text, Path::new("rig.ron")).unwrap_or_else(|e| panic!("{e}")))
}

/// Observation (x, y, angle, angular velocity) after `steps` steps of command `u`.
fn drive(env: &mut ScenarioEnv, u: f32, steps: usize) -> Vec<f32> {
    env.reset(0);
    let mut obs = Vec::new();
    for _ in 0..steps {
        obs = env.step(&Action::Continuous(vec![u])).unwrap().obs;
    }
    obs
}

#[test]
fn forces_and_impulses_push_along_their_direction() {
    let mut force = rig(r#"Force(body: "box", direction: (0.0, 1.0))"#, false);
    assert!(drive(&mut force, 1.0, 10)[1] > 0.05, "up");
    assert!(drive(&mut force, -1.0, 10)[1] < -0.05, "down");
    let mut impulse = rig(r#"Impulse(body: "box", direction: (1.0, 0.0))"#, false);
    assert!(drive(&mut impulse, 1.0, 5)[0] > 0.05);
}

#[test]
fn torques_turn_counter_clockwise_for_positive_commands() {
    let mut torque = rig(r#"Torque(body: "box")"#, false);
    assert!(drive(&mut torque, 1.0, 10)[2] > 0.05);
    let mut joint_torque = rig(r#"JointTorque(joint: "hinge")"#, true);
    assert!(drive(&mut joint_torque, -1.0, 10)[2] < -0.05);
}

#[test]
fn velocity_effects_set_the_velocity() {
    let mut spin = rig(r#"AngularVelocity(body: "box")"#, false);
    let obs = drive(&mut spin, 1.5, 3);
    assert!((obs[3] - 1.5).abs() < 1e-3, "{obs:?}");
    let mut slide = rig(r#"Velocity(body: "box", direction: (1.0, 0.0))"#, false);
    let obs = drive(&mut slide, 2.0, 10);
    assert!((obs[0] - 2.0 * 0.5).abs() < 0.02, "moved 2 m/s for 0.5 s: {obs:?}");
}

#[test]
fn joint_motors_servo_to_their_targets() {
    let mut position = rig(r#"MotorPosition(joint: "hinge", stiffness: 50.0, damping: 10.0)"#, true);
    let angle = drive(&mut position, 1.0, 60)[2];
    assert!((angle - 1.0).abs() < 0.05, "hinge angle {angle} should reach the target 1 rad");
    let mut velocity = rig(r#"MotorVelocity(joint: "hinge", damping: 50.0)"#, true);
    let rate = drive(&mut velocity, -1.0, 20)[3];
    assert!((rate + 1.0).abs() < 0.05, "hinge rate {rate} should reach −1 rad/s");
}

#[test]
fn commands_are_clamped_to_the_actuator_range() {
    let mut spin = rig(r#"AngularVelocity(body: "box")"#, false);
    let obs = drive(&mut spin, 9.0, 2);
    assert!((obs[3] - 2.0).abs() < 1e-3, "range (-2, 2): {obs:?}");
    assert_eq!(spin.commands(), &[2.0]);
}
