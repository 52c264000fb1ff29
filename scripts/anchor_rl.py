#!/usr/bin/env python3
"""TRPO, CEM and ES on cartpole: apprentice beside sb3-contrib's TRPO and ARS, in one run.

The anchors are sb3-contrib's TRPO (its defaults, 2 Gymnasium CartPole-v1 environments),
evaluated after every rollout, and its ARS (a linear policy, its defaults, 1 environment),
evaluated after every update. Every run stops at the first evaluation (50 episodes,
deterministic) whose mean return reaches 475; evaluation time is not counted in training
seconds. apprentice's runs use `--eval-every` with the same 50 episodes. Seeds alternate
between the two, so both see the same machine.

    ~/.cache/apprentice-venv/bin/pip install torch stable-baselines3 sb3-contrib
    ~/.cache/apprentice-venv/bin/python scripts/anchor_rl.py [--seeds 0 1 2] [--bin PATH]

Prints one JSON line per run and a summary per method.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET = 475.0
EVAL_EPISODES = 50


def anchor(seed):
    import gymnasium as gym
    import torch
    from sb3_contrib import TRPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(2)
    model = TRPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=seed), seed=seed, device="cpu")
    eval_env = gym.make("CartPole-v1")
    eval_env.reset(seed=10_000 + seed)
    clock = {"trained": 0.0, "since": time.perf_counter(), "result": None}

    class Solve(BaseCallback):
        def _on_training_start(self):
            clock["since"] = time.perf_counter()

        def _on_step(self):
            return clock["result"] is None

        def _on_rollout_end(self):
            clock["trained"] += time.perf_counter() - clock["since"]
            mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True)
            if mean >= TARGET and clock["result"] is None:
                clock["result"] = (self.model.num_timesteps, clock["trained"], float(mean))
            clock["since"] = time.perf_counter()

    model.learn(500_000, callback=Solve())
    steps, seconds, mean = clock["result"] or (None, clock["trained"], None)
    return {"who": "sb3-contrib trpo", "seed": seed, "solved": clock["result"] is not None, "step": steps,
            "seconds": seconds, "eval_return_mean": mean}


def ars(seed):
    """sb3-contrib's ARS with a linear policy. Its callbacks cannot stop training, so it learns
    one update per `learn` call (`reset_num_timesteps=False` runs exactly one) and is
    evaluated between calls, outside the clock."""
    import gymnasium as gym
    import torch
    from sb3_contrib import ARS
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(2)
    model = ARS("LinearPolicy", gym.make("CartPole-v1"), seed=seed, device="cpu")
    eval_env = gym.make("CartPole-v1")
    eval_env.reset(seed=10_000 + seed)
    trained, result = 0.0, None
    while result is None and model.num_timesteps < 500_000:
        since = time.perf_counter()
        model.learn(1, reset_num_timesteps=model.num_timesteps == 0)
        trained += time.perf_counter() - since
        mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True)
        if mean >= TARGET:
            result = (model.num_timesteps, trained, float(mean))
    steps, seconds, mean = result or (None, trained, None)
    return {"who": "sb3-contrib ars", "seed": seed, "solved": result is not None, "step": steps,
            "seconds": seconds, "eval_return_mean": mean}


def ours(algo, seed, binary):
    every = {"trpo": "1", "cem": "1", "es": "1"}[algo]
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run([binary, "train", algo, "--scenario", "cartpole", "--out", str(Path(work) / "run"),
                              "--set", f"seed={seed}", "--device", "cpu", "--eval-every", every,
                              "--eval-episodes", str(EVAL_EPISODES), "--solve-at", str(TARGET), "--json"],
                             check=True, capture_output=True, text=True)
        report = json.loads(out.stdout.strip().splitlines()[-1])
        return {"who": f"apprentice {algo}", "seed": seed,
                **{k: report[k] for k in ("solved", "step", "seconds", "eval_return_mean")}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/apprentice-target"))
    parser.add_argument("--bin", default=str(default_bin / "release/apprentice"))
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        for run in (lambda: ours("trpo", seed, args.bin), lambda: anchor(seed),
                    lambda: ours("cem", seed, args.bin), lambda: ours("es", seed, args.bin), lambda: ars(seed)):
            result = run()
            print(json.dumps(result), flush=True)
            results.append(result)
    for who in sorted({r["who"] for r in results}):
        mine = [r for r in results if r["who"] == who]
        steps = [r["step"] for r in mine if r["solved"]]
        seconds = [r["seconds"] for r in mine if r["solved"]]
        print(json.dumps({"who": who, "solved": f"{len(steps)}/{len(mine)}",
                          "median_step": float(np.median(steps)) if steps else None,
                          "median_seconds": float(np.median(seconds)) if seconds else None}))


if __name__ == "__main__":
    sys.exit(main())
