//! Every built-in scenario loads, respects its spaces, is deterministic, and its expert
//! beats random play by a wide margin.

use apprentice::data::{Dataset, ops};
use apprentice::sim::rollout::{rollouts, summarize};
use apprentice::sim::{Action, Env, Policy, RandomPolicy, ScenarioEnv, Space, builtin};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn all() -> Vec<ScenarioEnv> {
    builtin::BUILTINS.iter().map(|(name, _)| ScenarioEnv::load(name).unwrap_or_else(|e| panic!("{e}"))).collect()
}

fn within(space: &Space, obs: &[f32]) -> bool {
    let Space::Box { low, high } = space else { return false };
    obs.len() == low.len() && obs.iter().zip(low.iter().zip(high)).all(|(x, (l, h))| x.is_finite() && l <= x && x <= h)
}

#[test]
fn every_builtin_loads_with_the_promised_name() {
    let names: Vec<String> = all().iter().map(|e| e.scenario().name.clone()).collect();
    let expected = [
        "cartpole",
        "cartpole_continuous",
        "pendulum",
        "acrobot",
        "mountain_car",
        "lunar_lander",
        "lunar_lander_continuous",
        "reacher",
        "push_t",
        "car_track",
        "detour",
    ];
    assert_eq!(names, expected);
    assert!(all().iter().all(|e| e.scenario().expert.is_some()), "every built-in has an expert");
}

#[test]
fn observations_and_actions_respect_their_spaces() {
    for mut env in all() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let obs = env.reset(3);
        assert!(within(env.observation_space(), &obs), "{}: reset obs {obs:?}", env.scenario().name);
        for _ in 0..200 {
            let action = env.action_space().sample(&mut rng);
            env.action_space().check(&action).unwrap();
            let step = env.step(&action).unwrap();
            assert!(within(env.observation_space(), &step.obs), "{}: obs {:?}", env.scenario().name, step.obs);
            assert!(step.reward.is_finite());
            if step.done() {
                env.reset(4);
            }
        }
    }
}

/// A step reads the failure thresholds its observation shows off that observation instead of
/// measuring them again: on every step of random play, in every built-in, it decides failure
/// exactly as measuring each condition on the world does.
#[test]
fn failure_read_off_the_observation_is_failure_measured_on_the_world() {
    use apprentice::sim::observed::FailureTest;
    let mut read_off = Vec::new();
    for mut env in all() {
        let test = FailureTest::new(env.scenario());
        if !test.limits.is_empty() {
            read_off.push(env.scenario().name.clone());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut episodes, mut failures) = (0, 0);
        env.reset(0);
        for t in 0..2000 {
            let step = env.step(&env.action_space().sample(&mut rng)).unwrap();
            let m = env.measure();
            let measured = env.scenario().failure.iter().any(|c| m.condition(c));
            assert_eq!(test.fails(&step.obs, &m), measured, "{} step {t}", env.scenario().name);
            let ends_on_success = step.success && env.scenario().success.as_ref().is_some_and(|s| s.terminate);
            assert_eq!(step.terminated, measured || ends_on_success, "{} step {t}", env.scenario().name);
            if step.done() {
                (episodes, failures) = (episodes + 1, failures + measured as u32);
                env.reset(episodes);
            }
        }
        if env.scenario().name == "cartpole" {
            assert!(failures > 50, "random play topples the pole: {failures} failures in {episodes} episodes");
        }
    }
    assert_eq!(read_off, ["cartpole", "cartpole_continuous"]);
}

#[test]
fn actions_outside_the_space_are_refused() {
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    assert!(env.step(&Action::Discrete(2)).is_err());
    assert!(env.step(&Action::Continuous(vec![0.5])).is_err());
    let mut env = ScenarioEnv::load("reacher").unwrap();
    assert!(env.step(&Action::Continuous(vec![0.5])).is_err(), "wrong length");
    assert!(env.step(&Action::Continuous(vec![f32::NAN, 0.0])).is_err(), "NaN");
}

/// Observations of a seeded episode under seeded random actions, as raw bits.
fn trajectory(env: &mut ScenarioEnv, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bits: Vec<u32> = env.reset(seed).iter().map(|x| x.to_bits()).collect();
    for _ in 0..300 {
        let action = env.action_space().sample(&mut rng);
        let step = env.step(&action).unwrap();
        bits.extend(step.obs.iter().map(|x| x.to_bits()));
        bits.push(step.reward.to_bits());
        if step.done() {
            break;
        }
    }
    bits
}

#[test]
fn same_seed_and_actions_give_identical_observations_bit_for_bit() {
    for env in all() {
        let fresh = trajectory(&mut env.clone(), 7);
        // A used environment (other episodes before) must replay exactly the same.
        let mut used = env.clone();
        trajectory(&mut used, 1);
        trajectory(&mut used, 2);
        assert_eq!(fresh, trajectory(&mut used, 7), "{}", env.scenario().name);
        assert_ne!(fresh, trajectory(&mut env.clone(), 8), "{}: seeds must matter", env.scenario().name);
    }
}

#[test]
fn every_expert_beats_random_play_by_a_wide_margin() {
    for env in all() {
        let name = env.scenario().name.clone();
        let spec = env.scenario().expert.clone().unwrap();
        let expert = summarize(&rollouts(&env, &|| spec.policy(), 12, 1000, &|_| {}).unwrap());
        let random = summarize(
            &rollouts(&env, &|| Box::new(RandomPolicy::new(0)) as Box<dyn Policy>, 12, 1000, &|_| {}).unwrap(),
        );
        assert!(expert.success_rate >= 0.5, "{name}: expert success {}", expert.success_rate);
        assert!(expert.success_rate >= random.success_rate + 0.4, "{name}: {expert:?} vs {random:?}");
        let margin = 0.2 * random.return_mean.abs().max(expert.return_mean.abs()).max(1.0);
        assert!(expert.return_mean > random.return_mean + margin, "{name}: {expert:?} vs {random:?}");
    }
}

#[test]
fn frames_describe_every_collider_and_the_overlays() {
    for mut env in all() {
        env.reset(0);
        let colliders: usize = env.scenario().bodies.iter().map(|b| b.colliders.len()).sum();
        let frame = env.frame();
        let ghosts = env.scenario().goal.as_ref().map_or(0, |g| match &g.marker {
            apprentice::sim::scenario::Marker::Ghost(b) => {
                env.scenario().bodies[env.scenario().body_index(b).unwrap()].colliders.len()
            }
            _ => 0,
        });
        assert_eq!(frame.shapes.len(), colliders + ghosts, "{}", env.scenario().name);
        let [lo, hi] = frame.view;
        assert!(lo[0] < hi[0] && lo[1] < hi[1]);
    }
    let mut car = ScenarioEnv::load("car_track").unwrap();
    car.reset(0);
    car.step(&Action::Continuous(vec![0.0, 1.0])).unwrap();
    let frame = car.frame();
    let rays = frame.overlays.iter().filter(|o| matches!(o, apprentice::sim::frame::Overlay::Ray { .. })).count();
    assert_eq!(rays, 7, "the car's seven range sensors are drawn");
    assert!(
        frame.overlays.iter().any(|o| matches!(o, apprentice::sim::frame::Overlay::Arrow { .. })),
        "throttle arrow"
    );
}

/// Gymnasium CartPole-v1's accelerations `(ẍ, θ̈)` at a state, in its sign convention (θ clockwise).
fn gym_cartpole_accelerations([_, _, theta, theta_dot]: [f64; 4], force: f64) -> (f64, f64) {
    let (g, m_cart, m_pole, half_length) = (9.8, 1.0, 0.1, 0.5);
    let total = m_cart + m_pole;
    let (sin, cos) = theta.sin_cos();
    let temp = (force + m_pole * half_length * theta_dot * theta_dot * sin) / total;
    let theta_acc = (g * sin - cos * temp) / (half_length * (4.0 / 3.0 - m_pole * cos * cos / total));
    (temp - m_pole * half_length * theta_acc * cos / total, theta_acc)
}

/// The cart-pole claims Gymnasium's dynamics: on every step of random play (after the first
/// of an episode, where the randomized velocities settle into the joints) the cart's and the
/// pole's accelerations are those of CartPole-v1's equations within 1%.
#[test]
fn cartpole_follows_gymnasiums_equations() {
    let mut env = ScenarioEnv::load("cartpole").unwrap();
    let dt = f64::from(env.scenario().timestep);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut worst_cart, mut worst_pole, mut checked) = (0.0f64, 0.0f64, 0);
    for seed in 0..20 {
        let mut obs = env.reset(seed);
        loop {
            let action = env.action_space().sample(&mut rng);
            let force = if action == Action::Discrete(1) { 10.0 } else { -10.0 };
            // Ours: x, ẋ, angle and angular velocity counter-clockwise.
            let state = [obs[0], obs[1], -obs[2], -obs[3]].map(f64::from);
            let (cart, pole) = gym_cartpole_accelerations(state, force);
            let step = env.step(&action).unwrap();
            if env.steps() > 1 {
                let our_cart = f64::from(step.obs[1] - obs[1]) / dt;
                let our_pole = -f64::from(step.obs[3] - obs[3]) / dt;
                worst_cart = worst_cart.max((our_cart - cart).abs() / cart.abs());
                worst_pole = worst_pole.max((our_pole - pole).abs() / pole.abs());
                checked += 1;
            }
            if step.done() {
                break;
            }
            obs = step.obs;
        }
    }
    assert!(checked > 300, "only {checked} steps checked");
    assert!(worst_cart < 0.01 && worst_pole < 0.01, "worst relative error: cart {worst_cart}, pole {worst_pole}");
}

#[test]
fn ghost_colliders_lend_their_mass_but_stay_out_of_collision_detection() {
    // Cartpole's colliders are all ghosts: rapier's collision pipeline has nothing to track,
    // and the pole still weighs 0.1 with a 0.06 × 1.0 rod's inertia, centred 0.5 above the hinge.
    let env = ScenarioEnv::load("cartpole").unwrap();
    let world = env.world();
    assert_eq!(world.physics.colliders.len(), 0);
    let pole = world.physics.bodies[world.bodies[2]].mass_properties().local_mprops;
    assert!((pole.mass() - 0.1).abs() < 1e-6, "{pole:?}");
    assert!((pole.principal_inertia() - 0.1 * (0.06f32.powi(2) + 1.0) / 12.0).abs() < 1e-6, "{pole:?}");
    assert!((pole.local_com.y - 0.5).abs() < 1e-6, "{pole:?}");
    // Push-T's block and pusher are solid: they stay colliders.
    let push_t = ScenarioEnv::load("push_t").unwrap();
    assert_eq!(push_t.world().physics.colliders.len(), 4 + 2 + 1);
}

#[test]
fn datasets_recorded_while_ghosts_were_colliders_still_replay_exactly() {
    // Recorded before ghosts left rapier's collider set: their snapshots hold the ghosts, and
    // number the other colliders after them. Lunar lander's pad has two ghost posts and its
    // legs' touch on the pad is observed, so a wrong numbering shows as a lost contact.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (scenario, dir) in
        [("lunar_lander", "tests/fixtures/lunar_lander_before_ghosts"), ("cartpole", "assets/cartpole/demos")]
    {
        // A copy: opening a dataset takes its write locks, and the repository stays untouched.
        let copy = tempfile::tempdir().unwrap();
        copy_dataset(&root.join(dir), copy.path());
        let mut env = ScenarioEnv::load(scenario).unwrap();
        let (dataset, _) = Dataset::open(copy.path()).unwrap();
        for file in &dataset.load(Some(&env)).unwrap().episodes {
            assert_eq!(ops::replay(&mut env, file).unwrap(), None, "{scenario} {}", file.id);
        }
    }
}

/// Copies a dataset directory's manifest and episode files into the empty directory `to`.
fn copy_dataset(from: &Path, to: &Path) {
    std::fs::create_dir(to.join("episodes")).unwrap();
    std::fs::copy(from.join("manifest.json"), to.join("manifest.json")).unwrap();
    for entry in std::fs::read_dir(from.join("episodes")).unwrap() {
        let episode = Path::new("episodes").join(entry.unwrap().file_name());
        std::fs::copy(from.join(&episode), to.join(&episode)).unwrap();
    }
}

const PUSH_POSE: &str = r#"PushPoseDistance(pusher: Body("pusher"), block: Body("tee"), standoff: 0.7)"#;

/// push_t paying only the push-pose shaping, with the push-pose distance observed last.
fn push_t_paying_the_push_pose() -> ScenarioEnv {
    let text = std::fs::read_to_string("scenarios/push_t.ron").unwrap();
    let (start, end) = (text.find("    reward: [").unwrap(), text.find("    success:").unwrap());
    let text = format!("{}    reward: [(Decrease({PUSH_POSE}), 1.0)],\n{}", &text[..start], &text[end..])
        .replace("GoalAngle]", &format!("GoalAngle, Value({PUSH_POSE})]"));
    ScenarioEnv::new(apprentice::sim::Scenario::parse(&text, Path::new("push_t.ron")).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn push_pose_shaping_points_behind_the_block_and_sums_to_the_distance_it_closed() {
    let mut env = push_t_paying_the_push_pose();
    // Observed: pusher (0, 1), block (2, 3), block angle (4, 5), goal (6, 7), goal angle (8, 9), distance 10.
    let expected = |o: &[f32]| {
        let away = [o[2] - o[6], o[3] - o[7]];
        let scale = 0.7 / away[0].hypot(away[1]).max(0.7);
        (o[0] - o[2] - scale * away[0]).hypot(o[1] - o[3] - scale * away[1])
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for seed in 0..4 {
        let first = env.reset(seed);
        assert!((first[10] - expected(&first)).abs() < 1e-5, "{first:?}");
        let (mut last, mut sum) = (first.clone(), 0.0f64);
        for _ in 0..200 {
            let step = env.step(&env.action_space().sample(&mut rng)).unwrap();
            assert!((step.reward - (last[10] - step.obs[10])).abs() < 1e-5, "a step pays its decrease");
            assert!((step.obs[10] - expected(&step.obs)).abs() < 1e-5, "{:?}", step.obs);
            sum += step.reward as f64;
            last = step.obs;
        }
        let closed = (first[10] - last[10]) as f64;
        assert!((sum - closed).abs() < 1e-3, "episode {seed}: paid {sum}, closed {closed}");
    }
}
