"""Shared fixtures: the `apprentice` binary (the CLI makes the datasets and runs these tests
read) and the repository root."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def binary():
    """The CLI: `$APPRENTICE_BIN`, else the release build in the cargo target dir."""
    default = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/apprentice-target")) / "release/apprentice"
    return os.environ.get("APPRENTICE_BIN", str(default))


def apprentice(*args):
    """Runs the CLI and returns what it printed; a failure fails the test with its stderr."""
    done = subprocess.run([binary(), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, f"apprentice {' '.join(map(str, args))} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def cartpole_demos(tmp_path_factory):
    out = tmp_path_factory.mktemp("demos") / "cartpole"
    apprentice("demos", "generate", "--scenario", "cartpole", "--episodes", "10", "--out", out)
    return out
