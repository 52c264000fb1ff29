//! VecEnv gives exactly what stepping the same environments one by one gives.

use apprentice::sim::{Action, Env, ScenarioEnv, VecEnv, VecStep};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

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
