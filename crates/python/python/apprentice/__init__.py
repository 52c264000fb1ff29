"""apprentice for Python: its scenarios as Gymnasium environments, its demonstration datasets
as numpy arrays, and its exported policies acting with numpy alone.

    env = apprentice.make("cartpole")                 # a gymnasium.Env
    envs = apprentice.make_vec("cartpole", 64)         # a gymnasium.vector.VectorEnv
    demos = apprentice.load_demos("demos/cartpole")    # dict of numpy arrays
    policy = apprentice.load_policy("runs/bc")         # RUN/export.safetensors
    results = apprentice.tune("sweep.toml")            # a sweep's trials on Ray Tune
"""

import warnings
from pathlib import Path

import gymnasium as gym

from . import _core, numpy_policy
from .envs import ApprenticeEnv, ApprenticeVecEnv
from .tune import tune

__all__ = ["make", "make_vec", "load_demos", "load_policy", "scenarios", "tune", "ApprenticeEnv", "ApprenticeVecEnv"]


def make(name_or_path, render_mode=None, **kwargs):
    """A built-in scenario by name, or a `.ron` scenario file, as a `gymnasium.Env`."""
    return ApprenticeEnv(name_or_path, render_mode=render_mode, **kwargs)


def make_vec(name_or_path, n, seed=0):
    """`n` copies of a scenario stepped in parallel in Rust, as a `gymnasium.vector.VectorEnv`."""
    return ApprenticeVecEnv(name_or_path, n, seed=seed)


def scenarios(dir=None):
    """The built-in scenarios (and the `.ron` files in `dir`): name, description, path and
    spaces of each. A file that does not parse is left out with a warning naming its line."""
    rows, skipped = _core.scenarios(None if dir is None else str(dir))
    for message in skipped:
        warnings.warn(f"skipped scenario: {message}", stacklevel=2)
    return rows


def load_demos(dir, scenario=None):
    """A demonstration dataset as flat numpy arrays, every step of every episode in order:
    `observations`, `next_observations`, `actions`, `rewards`, `terminated`, `truncated`,
    `success`, `sources` (codes into `source_names`), `expert_labels` (where
    `has_expert_label`), `episode_index`, `episode_starts` (offsets, one more than there are
    episodes), and `episodes` (each one's id, seed, length, return...). With `scenario`, episodes
    that do not fit it are skipped. Skipped files are warned about, one line each, and listed
    in `skipped`; the rest load."""
    demos = _core.load_demos(str(dir), scenario)
    for message in demos["skipped"]:
        warnings.warn(f"skipped {message}", stacklevel=2)
    return demos


def load_policy(run):
    """A trained run's exported policy (`RUN/export.safetensors`, written by `apprentice train
    ... --export safetensors`) acting with numpy: `policy.reset()`, then `policy.act(obs)`."""
    path = Path(run)
    if path.is_dir():
        path = path / "export.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no exported policy (train with `--export safetensors`)")
    return numpy_policy.load(str(path))


for _row in _core.scenarios(None)[0]:
    gym.register(id=f"apprentice/{_row['name']}", entry_point="apprentice.envs:ApprenticeEnv", kwargs={"name_or_path": _row["name"]})
