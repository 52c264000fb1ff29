"""The scenarios as Gymnasium environments: Gymnasium's own checker, replays bit for bit,
the vectorized copies against single ones, pictures, clear errors, and the workload the
profile-guided build is trained on."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import apprentice
from conftest import ROOT, apprentice as cli

BUILTINS = [row["name"] for row in apprentice.scenarios()]


def test_every_builtin_scenario_is_listed():
    assert len(BUILTINS) == 11 and "cartpole" in BUILTINS and "push_t" in BUILTINS


# Gymnasium's advice, not its API: Box bounds may be infinite (unbounded velocities are
# observed as such) and action ranges are the scenario's physical units.
ADVICE = ("infinity. This is probably too", "we recommend using a symmetric and normalized space")


@pytest.mark.parametrize("name", BUILTINS + [str(ROOT / "examples/scenarios/puck.ron")])
def test_gymnasiums_checker_passes(name):
    # Through gymnasium.make, so the checker also remakes it in every render mode from its spec.
    env_id = f"apprentice/{name}" if name in BUILTINS else "apprentice-test/puck"
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point="apprentice.envs:ApprenticeEnv", kwargs={"name_or_path": name})
    env = gym.make(env_id, render_mode="rgb_array").unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    complaints = [str(w.message) for w in caught if not any(a in str(w.message) for a in ADVICE)]
    assert complaints == []


def test_registered_with_gymnasium():
    env = gym.make("apprentice/pendulum")
    obs, _ = env.reset(seed=3)
    assert obs.shape == (3,) and obs.dtype == np.float32
    assert env.step(env.action_space.sample())[0].shape == (3,)


@pytest.mark.parametrize("scenario,noise", [("cartpole", "0.0"), ("pendulum", "0.3"), ("lunar_lander", "0.2")])
def test_a_numpy_loop_replays_apprentices_episodes_bit_for_bit(tmp_path, scenario, noise):
    cli("demos", "generate", "--scenario", scenario, "--episodes", "3", "--noise", noise, "--out", tmp_path / "d")
    demos = apprentice.load_demos(tmp_path / "d", scenario=scenario)
    env = apprentice.make(scenario)
    starts = demos["episode_starts"]
    assert len(demos["episodes"]) == 3 and starts[-1] == len(demos["rewards"]) > 0
    for e, episode in enumerate(demos["episodes"]):
        obs, _ = env.reset(seed=episode["seed"])
        for t in range(starts[e], starts[e + 1]):
            assert obs.tobytes() == demos["observations"][t].tobytes(), f"episode {e}, step {t - starts[e]}"
            action = demos["actions"][t]
            obs, reward, terminated, truncated, info = env.step(action[0] if scenario != "pendulum" else action)
            assert np.float32(reward) == demos["rewards"][t]
            assert (terminated, truncated, info["success"]) == (
                demos["terminated"][t],
                demos["truncated"][t],
                demos["success"][t],
            )
            assert obs.tobytes() == demos["next_observations"][t].tobytes()
        assert terminated or truncated


def test_vec_env_gives_the_single_environments_trajectories():
    n, seed, steps = 4, 10, 300
    vec = apprentice.make_vec("cartpole", n, seed=seed)
    singles = [apprentice.make("cartpole") for _ in range(n)]
    episodes = [0] * n
    obs = vec.reset(seed=seed)[0]
    single_obs = np.stack([s.reset(seed=seed + i)[0] for i, s in enumerate(singles)])
    rng = np.random.default_rng(0)
    ended_somewhere = False
    for _ in range(steps):
        assert obs.tobytes() == single_obs.tobytes()
        actions = rng.integers(0, 2, size=n)
        obs, rewards, terminated, truncated, infos = vec.step(actions)
        rows = []
        for i, s in enumerate(singles):
            o, r, term, trunc, info = s.step(int(actions[i]))
            assert (r, term, trunc) == (rewards[i], terminated[i], truncated[i])
            # Keyed as Gymnasium's own SyncVectorEnv keys a same-step autoreset.
            assert infos["_success"][i] and infos["success"][i] == info["success"]
            if term or trunc:
                ended_somewhere = True
                assert infos["_final_obs"][i] and infos["final_obs"][i].tobytes() == o.tobytes()
                assert infos["_final_info"][i] and infos["final_info"]["_success"][i]
                assert infos["final_info"]["success"][i] == info["success"]
                episodes[i] += 1
                o, _ = s.reset(seed=seed + episodes[i] * n + i)
            elif "final_obs" in infos:
                assert infos["final_obs"][i] is None
                assert not (infos["_final_obs"][i] or infos["_final_info"][i] or infos["final_info"]["_success"][i])
            rows.append(o)
        single_obs = np.stack(rows)
    assert ended_somewhere


def test_vec_env_takes_box_actions_and_refuses_wrong_shapes():
    vec = apprentice.make_vec("reacher", 3)
    obs, _ = vec.reset(seed=1)
    obs, rewards, *_ = vec.step(vec.action_space.sample())
    assert obs.shape == (3, vec.single_observation_space.shape[0]) and rewards.shape == (3,)
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((2, 2), dtype=np.float32))
    # A batch with one dimension too few or too many is named, not a cryptic cast error.
    with pytest.raises(ValueError, match=r"shape \(3, 2\), got \[6\]"):
        vec.step(np.zeros(6))
    cartpoles = apprentice.make_vec("cartpole", 3)
    cartpoles.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\), got \[3, 1\]"):
        cartpoles.step(np.zeros((3, 1)))


def test_render_draws_the_scene_as_it_moves():
    env = apprentice.make("cartpole", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3 and first.shape[1] == 600
    # Something besides the background is drawn.
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 10
    for _ in range(20):
        env.step(1)
    assert not np.array_equal(first, env.render())


def test_errors_say_what_and_where(tmp_path):
    with pytest.raises(ValueError, match="unknown scenario `nope`"):
        apprentice.make("nope")
    bad = tmp_path / "bad.ron"
    bad.write_text((ROOT / "scenarios/cartpole.ron").read_text().replace("max_steps: 500", "max_steps: \"many\""))
    with pytest.raises(ValueError, match=r"bad\.ron:\d+:\d+"):
        apprentice.make(bad)
    env = apprentice.make("cartpole")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="does not fit the action space"):
        env.step(5)


def test_the_profile_guided_builds_workload_steps_every_scenario():
    """`make python` trains its optimized build on scripts/pgo_workload.py: it must keep running
    (and cover every built-in scenario) as the package changes."""
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(ROOT / "scripts/pgo_workload.py"), "--steps", "64"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    stepped = [line.split(":")[0] for line in done.stdout.splitlines()]
    assert stepped == BUILTINS
