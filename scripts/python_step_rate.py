"""Steps per second from Python: `apprentice.make("cartpole")` and `make_vec("cartpole", 64)`
against Gymnasium's own `CartPole-v1` (unwrapped), alternated in one run so the machine's
drift cancels. Run it in the venv `make python` installs into:

    ~/.cache/apprentice-venv/bin/python scripts/python_step_rate.py [--steps 200000] [--rounds 5] [--json]
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np


def single(env, steps, actions):
    """Steps one environment `steps` times, resetting where an episode ends; steps/s."""
    env.reset(seed=0)
    start = time.perf_counter()
    for t in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[t])
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vectorized(envs, steps, actions):
    """Steps a vector env until `steps` environment steps in all (it resets by itself)."""
    envs.reset(seed=0)
    rounds = steps // envs.num_envs
    start = time.perf_counter()
    for t in range(rounds):
        envs.step(actions[t % len(actions)])
    return rounds * envs.num_envs / (time.perf_counter() - start)


def main():
    import apprentice  # here, so `single` imports without the package (scripts/anchor_speed.py)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    # Python ints, as a Python agent would pass them.
    actions = [int(a) for a in rng.integers(0, 2, size=args.steps)]
    batches = rng.integers(0, 2, size=(256, args.envs))
    gymnasium_env = gym.make("CartPole-v1").unwrapped
    ours, ours_vec = apprentice.make("cartpole"), apprentice.make_vec("cartpole", args.envs)
    rates = {"gymnasium": [], "apprentice": [], "apprentice_vec": []}
    for _ in range(args.rounds):
        rates["gymnasium"].append(single(gymnasium_env, args.steps, actions))
        rates["apprentice"].append(single(ours, args.steps, actions))
        rates["apprentice_vec"].append(vectorized(ours_vec, args.steps, batches))
    median = {k: float(np.median(v)) for k, v in rates.items()}
    result = {
        "steps_per_sec": median,
        "apprentice_vs_gymnasium": median["apprentice"] / median["gymnasium"],
        "apprentice_vec_vs_gymnasium": median["apprentice_vec"] / median["gymnasium"],
        "envs": args.envs,
        "rounds": args.rounds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in median.items():
            print(f"{k:<16} {v:>12,.0f} steps/s (median of {args.rounds})")
        print(f"make: {result['apprentice_vs_gymnasium']:.2f}x Gymnasium; make_vec({args.envs}): {result['apprentice_vec_vs_gymnasium']:.2f}x")


if __name__ == "__main__":
    main()
