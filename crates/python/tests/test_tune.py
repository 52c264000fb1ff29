"""Sweeps on Ray: a Ray head started on 127.0.0.1 runs a small sweep's trials through Ray Tune,
and every trial's result equals the local `apprentice sweep`'s for the same setting and seed."""

import csv
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import apprentice
from conftest import apprentice as cli, binary

SWEEP = """algorithm = "bc"
scenario = "cartpole"
demos = "{demos}"
seeds = [0, 1]
eval_episodes = 5
[set]
epochs = 4
[grid]
lr = [0.001, 0.01]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A one-machine Ray cluster on the loopback address, stopped after the test."""
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = free_port()
    start = [ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", "--object-store-memory=100000000"]
    done = subprocess.run(start, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    yield f"127.0.0.1:{port}"
    import ray

    ray.shutdown()
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)


def test_a_sweep_on_a_local_ray_head_matches_the_local_run(tmp_path, cartpole_demos, ray_head):
    local_file = tmp_path / "lr.toml"
    local_file.write_text(SWEEP.format(demos=cartpole_demos))
    cli("sweep", "--config", local_file, "--parallel", "2")
    with open(tmp_path / "lr" / "results.csv") as f:
        local = {row["trial"]: row for row in csv.DictReader(f)}

    ray_file = tmp_path / "lr_ray.toml"
    ray_file.write_text('out = "on_ray"\n' + SWEEP.format(demos=cartpole_demos))
    results = apprentice.tune(ray_file, address=ray_head, apprentice_bin=binary())

    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert (tmp_path / "on_ray" / "trials" / "003" / "result.json").is_file(), "Ray ran the trials itself"
    for r in results:
        row = local[str(r["index"])]
        assert (str(r["seed"]), r["settings"]["lr"]) == (row["seed"], row["lr"])
        assert r["return_mean"] == float(row["return_mean"]), (r, row)
        assert r["success_rate"] == float(row["success_rate"])
    with open(tmp_path / "on_ray" / "ray_results.csv") as f:
        assert len(list(csv.DictReader(f))) == 4
