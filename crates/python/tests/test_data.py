"""Datasets and policies from Python: a corrupt episode file is reported and the rest load;
a trained run's exported policy balances the cart-pole with numpy alone."""

import numpy as np
import pytest

import apprentice
from conftest import apprentice as cli


def test_load_demos_gives_arrays_per_step(cartpole_demos):
    demos = apprentice.load_demos(cartpole_demos)
    n = len(demos["rewards"])
    assert demos["observations"].shape == (n, 4) and demos["observations"].dtype == np.float32
    assert demos["actions"].shape == (n, 1) and demos["actions"].dtype == np.int64
    assert len(demos["episodes"]) == 10 and demos["skipped"] == []
    lengths = np.diff(demos["episode_starts"])
    assert list(lengths) == [e["length"] for e in demos["episodes"]]
    assert np.all(demos["episode_index"][demos["episode_starts"][:-1]] == np.arange(10))
    assert {demos["source_names"][s] for s in demos["sources"]} == {"expert"}


def test_a_corrupt_episode_file_is_reported_and_the_rest_load(tmp_path):
    out = tmp_path / "d"
    cli("demos", "generate", "--scenario", "cartpole", "--episodes", "4", "--out", out)
    victim = sorted((out / "episodes").iterdir())[1]
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.warns(UserWarning, match=victim.name):
        demos = apprentice.load_demos(out)
    assert len(demos["episodes"]) == 3 and len(demos["skipped"]) == 1
    assert victim.stem not in [e["id"] for e in demos["episodes"]]


def test_load_demos_refuses_a_directory_that_is_not_a_dataset(tmp_path):
    with pytest.raises(ValueError, match="not a dataset directory"):
        apprentice.load_demos(tmp_path)


def test_a_trained_run_acts_from_python(tmp_path, cartpole_demos):
    run = tmp_path / "bc"
    cli("train", "bc", "--scenario", "cartpole", "--demos", cartpole_demos, "--out", run, "--set", "epochs=30", "--export", "safetensors")
    policy = apprentice.load_policy(run)
    env = apprentice.make("cartpole")
    returns = []
    for seed in range(3):
        obs, _ = env.reset(seed=1000 + seed)
        policy.reset()
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
            total += reward
            done = terminated or truncated
        returns.append(total)
    assert np.mean(returns) >= 475, returns
