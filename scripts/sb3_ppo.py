"""Stable-Baselines3's PPO trained on `apprentice.make("cartpole")`, with RL-Zoo's CartPole-v1
settings, then evaluated on 50 unseen seeds (from 1,000,000, as `apprentice eval` does). It
needs torch, so it stays out of CI. In the venv `make python` installs into:

    ~/.cache/apprentice-venv/bin/python -m pip install torch stable-baselines3
    ~/.cache/apprentice-venv/bin/python scripts/sb3_ppo.py [--seed 0] [--steps 100000] [--json]
"""

import argparse
import json
import time

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

import apprentice


def linear(start):
    """RL-Zoo's `lin_X`: X at the start of training, falling linearly to 0."""
    return lambda progress_remaining: progress_remaining * start


def evaluate(model, episodes, first_seed=1_000_000):
    env = apprentice.make("cartpole")
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=first_seed + k)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    envs = DummyVecEnv([lambda: apprentice.make("cartpole") for _ in range(8)])
    envs.seed(args.seed)
    model = PPO(
        "MlpPolicy", envs, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
        learning_rate=linear(0.001), clip_range=linear(0.2), seed=args.seed, device="cpu", verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    seconds = time.perf_counter() - start
    mean, std = evaluate(model, args.episodes)
    result = {"seed": args.seed, "env_steps": args.steps, "train_seconds": round(seconds, 1),
              "eval_episodes": args.episodes, "return_mean": mean, "return_std": std}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"SB3 PPO on apprentice cartpole, seed {args.seed}: {args.steps} env steps in {seconds:.1f} s; "
              f"eval return {mean:.1f} ± {std:.1f} on {args.episodes} unseen seeds")


if __name__ == "__main__":
    main()
