"""The workload a profile-guided build of the Python package is trained on (`make python`,
scripts/pgo-python.sh): every built-in scenario stepped under random actions, one environment
and a vector of them, so the optimizer learns the branches real stepping takes.

    python scripts/pgo_workload.py [--steps 20000]
"""

import argparse

import apprentice

# Cartpole is what `scripts/python_step_rate.py` measures and what most Python users step first.
HEAVY = {"cartpole": 4}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps per scenario and mode")
    args = parser.parse_args()
    for row in apprentice.scenarios():
        name = row["name"]
        steps = args.steps * HEAVY.get(name, 1)
        env = apprentice.make(name)
        env.action_space.seed(0)
        actions = [env.action_space.sample() for _ in range(1000)]
        env.reset(seed=0)
        for t in range(steps):
            _, _, terminated, truncated, _ = env.step(actions[t % len(actions)])
            if terminated or truncated:
                env.reset()
        envs = apprentice.make_vec(name, 16)
        envs.action_space.seed(0)
        batches = [envs.action_space.sample() for _ in range(64)]
        envs.reset(seed=0)
        for t in range(steps // 16):
            envs.step(batches[t % len(batches)])
        envs.close()
        print(f"{name}: {steps} steps, one env and 16", flush=True)


if __name__ == "__main__":
    main()
