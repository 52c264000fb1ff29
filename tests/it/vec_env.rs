//! VecEnv gives exactly what stepping the same environments one by one gives.

use apprentice::sim::{Action, Env, Scenario, ScenarioEnv, VecEnv, VecStep};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

#[test]
fn vec_env_matches_sequential_stepping_with_auto_reset() {
    // 64 cartpoles: threads that finish early take environments from each other's shards,
    // which must not change what any environment sees, on any number of threads (4 shards
    // steal across more than one neighbour even on a 2-core machine; 1 is the caller alone).
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    // Contact-free scenarios share a rapier world between up to 16 environments (packs of
    // 10 and 11 for 21 on one thread, 16 for 64): each still moves bit for bit as alone.
    let cases = [("cartpole", 5, cores), ("cartpole", 64, cores), ("cartpole", 64, 4), ("cartpole", 7, 1)];
    let packed = ["acrobot", "pendulum", "cartpole_continuous", "reacher"].map(|name| (name, 21, 1));
    for (name, n, threads) in
        cases.into_iter().chain(packed).chain(["lunar_lander", "reacher"].map(|name| (name, 5, cores)))
    {
        let env = ScenarioEnv::load(name).unwrap();
        let mut vec_env = VecEnv::with_threads(env.clone(), n, 100, threads);
        let mut singles: Vec<ScenarioEnv> = (0..n).map(|_| env.clone()).collect();
        let mut episodes = vec![0u64; n];
        let first = vec_env.reset();
        for (i, single) in singles.iter_mut().enumerate() {
            assert_eq!(first[i], single.reset(vec_env.episode_seed(i, 0)));
            episodes[i] = 1;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut resets = 0;
        for _ in 0..1000 {
            let actions: Vec<_> = (0..n).map(|_| env.action_space().sample(&mut rng)).collect();
            let steps: Vec<VecStep> = vec_env.step(&actions).unwrap().iter().cloned().collect();
            for i in 0..n {
                let step = singles[i].step(&actions[i]).unwrap();
                assert_eq!(steps[i].reward.to_bits(), step.reward.to_bits());
                assert_eq!((steps[i].terminated, steps[i].truncated), (step.terminated, step.truncated));
                if step.done() {
                    assert_eq!(steps[i].final_obs.as_ref(), Some(&step.obs));
                    let seed = vec_env.episode_seed(i, episodes[i]);
                    episodes[i] += 1;
                    resets += 1;
                    assert_eq!(steps[i].obs, singles[i].reset(seed), "{name}: env {i} restarts from its own seed");
                } else {
                    assert_eq!(steps[i].obs, step.obs);
                }
            }
        }
        assert!(resets >= n, "{name}: every environment restarts at least once ({resets} restarts)");
    }
}

/// A contact-free scenario with every actuator kind, joint motors and limits, a kinematic
/// body, randomized starts, goals, progress rewards and a failure: what a pack must restore
/// when one of its copies starts over.
const EVERY_EFFECT: &str = r#"Scenario(
    name: "every_effect", timestep: 0.05, substeps: 2, gravity: (0.0, -9.8), max_steps: 40,
    bodies: [
        Body(name: "base", kind: Fixed, colliders: [Collider(shape: Ball(0.05), ghost: true)]),
        Body(name: "upper", colliders: [Collider(shape: Cuboid(0.4, 0.05), offset: (0.4, 0.0), mass: 1.0, ghost: true)],
            randomize: Randomize(angle: (-1.0, 1.0), angular_velocity: (-0.5, 0.5), with: ["fore"])),
        Body(name: "fore", position: (0.8, 0.0), angular_damping: 0.3,
            colliders: [Collider(shape: Cuboid(0.4, 0.05), offset: (0.4, 0.0), mass: 0.5, ghost: true)]),
        Body(name: "puck", position: (0.0, 2.0), linear_damping: 0.5,
            colliders: [Collider(shape: Ball(0.1), mass: 0.3, ghost: true)],
            randomize: Randomize(x: (-0.5, 0.5), vy: (-1.0, 1.0))),
        Body(name: "sled", kind: Kinematic, position: (0.0, -1.0), colliders: [Collider(shape: Cuboid(0.2, 0.1), ghost: true)]),
    ],
    joints: [
        Joint(name: "shoulder", body1: "base", body2: "upper", kind: Revolute(limits: (-1.2, 1.2))),
        Joint(name: "elbow", body1: "upper", body2: "fore", anchor1: (0.8, 0.0), kind: Revolute()),
    ],
    actuators: [
        Actuator(name: "servo", effect: MotorPosition(joint: "shoulder", stiffness: 40.0, damping: 5.0), range: (-1.5, 1.5)),
        Actuator(name: "spin", effect: MotorVelocity(joint: "elbow", damping: 20.0, max_force: 5.0), range: (-3.0, 3.0)),
        Actuator(name: "push", effect: Force(body: "puck", direction: (1.0, 0.0)), gain: 3.0),
        Actuator(name: "kick", effect: Impulse(body: "puck", direction: (0.0, 1.0)), gain: 0.2),
        Actuator(name: "twist", effect: Torque(body: "puck")),
        Actuator(name: "slide", effect: Velocity(body: "sled", direction: (1.0, 0.0))),
        Actuator(name: "turn", effect: AngularVelocity(body: "sled")),
    ],
    actions: Box(["servo", "spin", "push", "kick", "twist", "slide", "turn"]),
    observations: [
        Angle("upper"), JointAngle("elbow"), Value(JointRate("elbow")), Position(Body("puck")),
        Velocity(Body("puck")), Position(Body("sled")), Angle("sled"), ToGoal(from: On("fore", (0.8, 0.0))),
    ],
    reward: [(Progress(On("fore", (0.8, 0.0))), 1.0), (ActionCost, -0.01), (Alive, 0.1)],
    failure: [Below(Y(Body("puck")), -2.0)],
    goal: Goal(sample: Polar(center: (0.0, 0.0), radius: (0.5, 1.5), bearing: (-3.1416, 3.1416)), marker: Circle(0.05)),
)"#;

#[test]
fn packed_copies_with_motors_goals_and_every_effect_move_as_they_do_alone() {
    let scenario = Scenario::parse(EVERY_EFFECT, Path::new("every_effect.ron")).unwrap_or_else(|e| panic!("{e}"));
    let env = ScenarioEnv::new(scenario);
    // 12 environments on one thread: one pack of 12 in one world.
    let n = 12;
    let mut vec_env = VecEnv::with_threads(env.clone(), n, 7, 1);
    let mut singles: Vec<ScenarioEnv> = (0..n).map(|_| env.clone()).collect();
    let mut episodes = vec![1u64; n];
    for (i, obs) in vec_env.reset().into_iter().enumerate() {
        assert_eq!(obs, singles[i].reset(vec_env.episode_seed(i, 0)));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut resets, mut failures) = (0, 0);
    for t in 0..600 {
        let actions: Vec<_> = (0..n).map(|_| env.action_space().sample(&mut rng)).collect();
        let steps: Vec<VecStep> = vec_env.step(&actions).unwrap().iter().cloned().collect();
        for (i, single) in singles.iter_mut().enumerate() {
            let step = single.step(&actions[i]).unwrap();
            let alone = (step.reward.to_bits(), step.terminated, step.truncated);
            assert_eq!(
                (steps[i].reward.to_bits(), steps[i].terminated, steps[i].truncated),
                alone,
                "env {i}, step {t}"
            );
            if step.done() {
                assert_eq!(steps[i].final_obs.as_ref(), Some(&step.obs), "env {i}, step {t}");
                let obs = single.reset(vec_env.episode_seed(i, episodes[i]));
                episodes[i] += 1;
                (resets, failures) = (resets + 1, failures + step.terminated as usize);
                assert_eq!(steps[i].obs, obs, "env {i} restarts at step {t} as a fresh one does");
            } else {
                assert_eq!(steps[i].obs, step.obs, "env {i}, step {t}");
            }
        }
    }
    assert!(resets >= 10 * n && failures > 0, "episodes end both ways ({resets} restarts, {failures} failures)");
}

#[test]
fn episode_seeds_are_distinct_across_envs_and_episodes() {
    let v = VecEnv::new(ScenarioEnv::load("cartpole").unwrap(), 4, 10);
    let seeds: std::collections::HashSet<u64> =
        (0..4).flat_map(|i| (0..5).map(move |k| (i, k))).map(|(i, k)| v.episode_seed(i, k)).collect();
    assert_eq!(seeds.len(), 20);
}

#[test]
fn a_bad_action_is_refused_before_any_environment_moves() {
    let env = ScenarioEnv::load("cartpole").unwrap();
    let mut vec_env = VecEnv::new(env, 4, 3);
    let first = vec_env.reset();
    let bad = [Action::Discrete(0), Action::Discrete(1), Action::Discrete(0), Action::Discrete(7)];
    let err = vec_env.step(&bad).err().expect("Discrete(7) does not fit Discrete(2)");
    assert!(err.to_string().contains("Discrete(2)"), "{err}");
    // Every environment is still at its first observation: stepping now matches a fresh copy.
    let good = [Action::Discrete(0), Action::Discrete(1), Action::Discrete(0), Action::Discrete(1)];
    let after: Vec<Vec<f32>> = vec_env.step(&good).unwrap().iter().map(|s| s.obs.clone()).collect();
    let mut fresh = VecEnv::new(ScenarioEnv::load("cartpole").unwrap(), 4, 3);
    assert_eq!(fresh.reset(), first);
    let expected: Vec<Vec<f32>> = fresh.step(&good).unwrap().iter().map(|s| s.obs.clone()).collect();
    assert_eq!(after, expected);
}
