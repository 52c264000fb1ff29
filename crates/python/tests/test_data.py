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


def test_a_minari_export_loads_in_minari_and_imports_back(tmp_path, cartpole_demos):
    import minari

    out = tmp_path / "minari"
    cli("demos", "export", cartpole_demos, "--format", "minari", "--out", out)
    dataset = minari.MinariDataset(out / "data")
    demos = apprentice.load_demos(cartpole_demos)
    starts = demos["episode_starts"]
    assert dataset.total_episodes == 10 and dataset.total_steps == len(demos["rewards"])
    assert dataset.observation_space.shape == (4,) and dataset.action_space.n == 2
    for k, episode in enumerate(dataset.iterate_episodes()):
        rows = slice(starts[k], starts[k + 1])
        assert len(episode.observations) == len(episode.rewards) + 1 == starts[k + 1] - starts[k] + 1
        np.testing.assert_array_equal(episode.observations[:-1], demos["observations"][rows])
        np.testing.assert_array_equal(episode.actions, demos["actions"][rows, 0])
        np.testing.assert_array_equal(episode.rewards, demos["rewards"][rows])
        np.testing.assert_array_equal(episode.terminations, demos["terminated"][rows])
        assert episode.infos["success"][-1] == demos["success"][rows][-1]
    # Minari rebuilds the environment from the dataset: apprentice's own, through Gymnasium.
    env = dataset.recover_environment()
    obs, _ = env.reset(seed=int(demos["episodes"][0]["seed"]))
    np.testing.assert_array_equal(obs, demos["observations"][0])

    back = tmp_path / "back"
    cli("demos", "import", out, "--format", "minari", "--scenario", "cartpole", "--out", back)
    again = apprentice.load_demos(back)
    for key in ("observations", "actions", "rewards", "terminated", "truncated", "success", "episode_starts"):
        np.testing.assert_array_equal(again[key], demos[key], err_msg=key)
    assert [e["seed"] for e in again["episodes"]] == [e["seed"] for e in demos["episodes"]]


def test_a_lerobot_export_has_lerobots_layout_and_imports_back(tmp_path, cartpole_demos):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "lerobot"
    cli("demos", "export", cartpole_demos, "--format", "lerobot", "--out", out)
    demos = apprentice.load_demos(cartpole_demos)
    n, starts = len(demos["rewards"]), demos["episode_starts"]
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 50
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (10, n, 1)
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["features"]["observation.state"] == {"dtype": "float32", "shape": [4], "names": None}
    assert info["features"]["action"]["dtype"] == "int64"
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert info["features"][key]["shape"] == [1], key

    data = pq.read_table(out / "data" / "chunk-000" / "file-000.parquet")
    assert data.schema.field("observation.state").type == pa.list_(pa.float32(), 4)
    for key in ("frame_index", "episode_index", "index", "task_index"):
        assert data.schema.field(key).type == pa.int64(), key
    assert data.schema.field("timestamp").type == pa.float32()
    np.testing.assert_array_equal(np.stack(data["observation.state"].to_numpy(zero_copy_only=False)), demos["observations"])
    np.testing.assert_array_equal(data["index"].to_numpy(), np.arange(n))
    np.testing.assert_array_equal(data["episode_index"].to_numpy(), demos["episode_index"])
    np.testing.assert_allclose(data["timestamp"].to_numpy(), data["frame_index"].to_numpy() / 50, rtol=1e-6)

    episodes = pq.read_table(out / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pydict()
    assert episodes["episode_index"] == list(range(10))
    assert episodes["dataset_from_index"] == list(starts[:-1]) and episodes["dataset_to_index"] == list(starts[1:])
    assert episodes["length"] == list(np.diff(starts))
    tasks = pq.read_table(out / "meta" / "tasks.parquet").to_pydict()
    assert tasks["task_index"] == [0] and episodes["tasks"][0] == tasks["task"]
    stats = json.loads((out / "meta" / "stats.json").read_text())
    np.testing.assert_allclose(stats["observation.state"]["mean"], demos["observations"].mean(axis=0), rtol=1e-4, atol=1e-6)

    back = tmp_path / "back"
    cli("demos", "import", out, "--format", "lerobot", "--scenario", "cartpole", "--out", back)
    again = apprentice.load_demos(back)
    for key in ("observations", "next_observations", "actions", "rewards", "terminated", "truncated", "success", "episode_starts"):
        np.testing.assert_array_equal(again[key], demos[key], err_msg=key)
