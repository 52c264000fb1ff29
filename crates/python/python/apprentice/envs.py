"""apprentice's scenarios as Gymnasium environments: `ApprenticeEnv` (one scenario, a real
`gymnasium.Env`) and `ApprenticeVecEnv` (copies stepped in parallel in Rust, a
`gymnasium.vector.VectorEnv` that resets ended episodes in the same step)."""

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from . import _core


def _space(d):
    """A Gymnasium space from `_core`'s description of one."""
    if d["kind"] == "box":
        return gym.spaces.Box(np.array(d["low"], dtype=np.float32), np.array(d["high"], dtype=np.float32), dtype=np.float32)
    if d["kind"] == "discrete":
        return gym.spaces.Discrete(d["n"])
    return gym.spaces.MultiDiscrete(np.array(d["nvec"], dtype=np.int64))


def _seed_from(rng):
    """An episode seed (apprentice's are u64) drawn from the env's own generator."""
    return int(rng.integers(0, 2**63))


class ApprenticeEnv(gym.Env):
    """A scenario (a built-in name or a `.ron` path). `reset(seed=s)` starts the episode
    apprentice's own `reset(s)` starts, so demonstrations replay here step for step. The info
    dict holds `success` (the scenario's success condition held at this step)."""

    # Gymnasium reads the render modes off the class; render_fps is set per scenario below.
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, name_or_path, render_mode=None, render_width=600):
        self._env = _core.Env(str(name_or_path))
        self.scenario = self._env.scenario
        self.observation_space = _space(self._env.observation_space)
        self.action_space = _space(self._env.action_space)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.scenario["timestep"])}
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r}: apprentice renders 'rgb_array' (or None)")
        self.render_mode, self.render_width = render_mode, render_width

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else _seed_from(self.np_random)
        return self._env.reset(episode_seed), {"seed": episode_seed}

    def step(self, action):
        return self._env.step(action)

    def render(self):
        """The scene as an `H × W × 3` uint8 array (`render_width` pixels wide)."""
        if self.render_mode == "rgb_array":
            return self._env.render(self.render_width)
        return None


class ApprenticeVecEnv(gym.vector.VectorEnv):
    """`num_envs` copies of a scenario stepped in parallel by apprentice's `VecEnv` (batched
    numpy in and out, no Python per copy). Episode `k` of copy `i` starts from seed
    `seed + k·n + i`. An ended episode restarts in the same step: its last observation is in
    `infos["final_obs"]` and its `success` in `infos["final_info"]` (masked by `_final_obs`,
    `_final_info`), keyed as Gymnasium's own `SyncVectorEnv` keys its same-step autoreset."""

    def __init__(self, name_or_path, num_envs, seed=0):
        self._env = _core.VecEnv(str(name_or_path), num_envs, seed)
        self.num_envs = num_envs
        self.scenario = self._env.scenario
        self.single_observation_space = _space(self._env.observation_space)
        self.single_action_space = _space(self._env.action_space)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_fps": round(1.0 / self.scenario["timestep"])}
        discrete = isinstance(self.single_action_space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
        self._action_dtype = np.int64 if discrete else np.float32

    def reset(self, *, seed=None, options=None):
        if seed is not None and not isinstance(seed, int):
            raise ValueError("ApprenticeVecEnv.reset takes one int seed (copy i's first episode uses seed + i)")
        self._np_random, _ = gym.utils.seeding.np_random(seed)
        return self._env.reset(seed), {}

    def step(self, actions):
        return self._env.step(np.ascontiguousarray(actions, dtype=self._action_dtype))
