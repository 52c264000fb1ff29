"""Stable-Baselines3's PPO trained on an apprentice scenario through `apprentice.make`, then
evaluated on 50 unseen seeds (from 1,000,000, as `apprentice eval` does) beside random play.
Discrete scenarios get RL-Zoo's CartPole-v1 settings; continuous ones RL-Zoo's Pendulum-v1
settings (`--settings zoo`, gSDE and normalized observations) or SB3's defaults with
normalized observations (`--settings defaults`). It needs torch, so it stays out of CI. In
the venv `make python` installs into:

    ~/.cache/apprentice-venv/bin/python -m pip install torch stable-baselines3
    ~/.cache/apprentice-venv/bin/python scripts/sb3_ppo.py [--scenario cartpole] [--seed 0]
        [--steps 100000] [--settings zoo|defaults] [--json]
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import apprentice


def linear(start):
    """RL-Zoo's `lin_X`: X at the start of training, falling linearly to 0."""
    return lambda progress_remaining: progress_remaining * start


def settings(discrete, which):
    """(number of envs, PPO keyword arguments, normalize observations) for the action kind."""
    if discrete:
        return 8, dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                       learning_rate=linear(0.001), clip_range=linear(0.2)), False
    if which == "zoo":
        return 4, dict(n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0, learning_rate=1e-3,
                       clip_range=0.2, use_sde=True, sde_sample_freq=4), True
    return 1, dict(), True


def evaluate(scenario, act, episodes, first_seed=1_000_000):
    env = apprentice.make(scenario)
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=first_seed + k)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(env, obs))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="cartpole")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--settings", choices=["zoo", "defaults"], default="zoo",
                        help="continuous scenarios: RL-Zoo's Pendulum-v1 settings or SB3's defaults")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    discrete = isinstance(apprentice.make(args.scenario).action_space, gym.spaces.Discrete)
    n_envs, kwargs, normalize = settings(discrete, args.settings)
    envs = DummyVecEnv([lambda: apprentice.make(args.scenario) for _ in range(n_envs)])
    envs.seed(args.seed)
    if normalize:
        envs = VecNormalize(envs, norm_obs=True, norm_reward=False)
    model = PPO("MlpPolicy", envs, seed=args.seed, device="cpu", verbose=0, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    seconds = time.perf_counter() - start
    envs.training = False

    def policy(env, obs):
        if normalize:
            obs = envs.normalize_obs(obs)
        action, _ = model.predict(obs, deterministic=True)
        return int(action) if discrete else action

    mean, std = evaluate(args.scenario, policy, args.episodes)
    random_mean, _ = evaluate(args.scenario, lambda env, obs: env.action_space.sample(), args.episodes)
    result = {"scenario": args.scenario, "seed": args.seed, "env_steps": args.steps,
              "settings": "cartpole zoo" if discrete else args.settings, "train_seconds": round(seconds, 1),
              "eval_episodes": args.episodes, "return_mean": mean, "return_std": std, "random_return_mean": random_mean}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"SB3 PPO on apprentice {args.scenario}, seed {args.seed}: {args.steps} env steps in {seconds:.1f} s; "
              f"eval return {mean:.1f} ± {std:.1f} on {args.episodes} unseen seeds (random {random_mean:.1f})")


if __name__ == "__main__":
    main()
