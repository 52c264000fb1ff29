#!/usr/bin/env python3
"""GAIL on cartpole from 10 demonstrations: apprentice beside the `imitation` library, in one run.

The anchor is `imitation` 1.0.1's GAIL with a Stable-Baselines3 PPO generator on 8 Gymnasium
CartPole-v1 environments, its documented example settings, and 10 demonstrations of a linear
expert. Both stop at the first evaluation (50 episodes, deterministic) whose mean return
reaches 475; evaluation time is not counted in either's training seconds. Seeds alternate
between the two, so both see the same machine.

    python3 -m venv V && V/bin/pip install imitation==1.0.1
    V/bin/python scripts/anchor_gail.py [--seeds 0 1 2] [--bin target/release/apprentice]

Prints one JSON line per run and a summary.
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
DEMOS = 10


def linear_expert(obs):
    """Push towards where the pole leans, damped by the cart's position and velocity."""
    x, x_dot, theta, theta_dot = obs
    return int(1.0 * x + 1.5 * x_dot + 20.0 * theta + 3.0 * theta_dot > 0)


def expert_trajectories(seed):
    import gymnasium as gym
    from imitation.data.types import TrajectoryWithRew

    env = gym.make("CartPole-v1")
    trajectories = []
    for k in range(DEMOS):
        obs, _ = env.reset(seed=seed * 1000 + k)
        observations, actions, rewards = [obs], [], []
        done = False
        while not done:
            action = linear_expert(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(reward)
            done = terminated or truncated
        trajectories.append(TrajectoryWithRew(
            obs=np.array(observations, dtype=np.float32), acts=np.array(actions), infos=None,
            terminal=terminated, rews=np.array(rewards, dtype=np.float32)))
    returns = [t.rews.sum() for t in trajectories]
    return trajectories, float(np.mean(returns))


def anchor(seed):
    import gymnasium as gym
    import torch
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.rewards.reward_nets import BasicRewardNet
    from imitation.util.networks import RunningNorm
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.ppo import MlpPolicy

    torch.set_num_threads(2)
    trajectories, expert_return = expert_trajectories(seed)
    rng = np.random.default_rng(seed)
    venv = make_vec_env("CartPole-v1", rng=rng, n_envs=8)
    learner = PPO(env=venv, policy=MlpPolicy, batch_size=64, ent_coef=0.0, learning_rate=0.0004, gamma=0.95,
                  n_epochs=5, seed=seed)
    reward_net = BasicRewardNet(observation_space=venv.observation_space, action_space=venv.action_space,
                                normalize_input_layer=RunningNorm)
    trainer = GAIL(demonstrations=trajectories, demo_batch_size=1024, gen_replay_buffer_capacity=512,
                   n_disc_updates_per_round=8, venv=venv, gen_algo=learner, reward_net=reward_net,
                   allow_variable_horizon=True)
    eval_env = gym.make("CartPole-v1")
    eval_env.reset(seed=10_000 + seed)
    clock = {"trained": 0.0, "since": time.perf_counter(), "result": None}

    class Solved(Exception):
        pass

    def after_round(round_num):
        clock["trained"] += time.perf_counter() - clock["since"]
        mean, _ = evaluate_policy(learner, eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True)
        steps = (round_num + 1) * trainer.gen_train_timesteps
        if mean >= TARGET and clock["result"] is None:
            clock["result"] = (steps, clock["trained"], float(mean))
            raise Solved
        clock["since"] = time.perf_counter()

    try:
        trainer.train(800_000, callback=after_round)
    except Solved:
        pass
    steps, seconds, mean = clock["result"] or (None, clock["trained"], None)
    return {"who": "imitation", "seed": seed, "solved": clock["result"] is not None, "step": steps,
            "seconds": seconds, "eval_return_mean": mean, "expert_return": expert_return}


def ours(seed, binary):
    with tempfile.TemporaryDirectory() as work:
        demos, run = Path(work) / "demos", Path(work) / "run"
        subprocess.run([binary, "demos", "generate", "--scenario", "cartpole", "--episodes", str(DEMOS),
                        "--seed", str(seed * 1000), "--out", str(demos)], check=True, capture_output=True)
        out = subprocess.run([binary, "train", "gail", "--scenario", "cartpole", "--demos", str(demos), "--out",
                              str(run), "--set", f"seed={seed}", "--device", "cpu", "--eval-every", "4",
                              "--eval-episodes", str(EVAL_EPISODES), "--solve-at", str(TARGET), "--json"],
                             check=True, capture_output=True, text=True)
        report = json.loads(out.stdout.strip().splitlines()[-1])
        return {"who": "apprentice", "seed": seed, **{k: report[k] for k in ("solved", "step", "seconds",
                                                                            "eval_return_mean")}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/apprentice-target"))
    parser.add_argument("--bin", default=str(default_bin / "release/apprentice"))
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        for run in (lambda: ours(seed, args.bin), lambda: anchor(seed)):
            result = run()
            print(json.dumps(result), flush=True)
            results.append(result)
    for who in ("apprentice", "imitation"):
        mine = [r for r in results if r["who"] == who]
        steps = [r["step"] for r in mine if r["solved"]]
        seconds = [r["seconds"] for r in mine if r["solved"]]
        print(json.dumps({"who": who, "solved": f"{len(steps)}/{len(mine)}",
                          "median_step": float(np.median(steps)) if steps else None,
                          "median_seconds": float(np.median(seconds)) if seconds else None}))


if __name__ == "__main__":
    sys.exit(main())
