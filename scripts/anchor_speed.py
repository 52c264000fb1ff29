#!/usr/bin/env python3
"""Issue 20's speed ratios, each measured side by side in one run so the machine's drift cancels.

- dqn: seconds of training per environment step, cartpole with RL-Zoo's DQN settings (256-256
  network, batch 64, 128 gradient steps every 256 env steps), apprentice against
  Stable-Baselines3's DQN;
- bc: behaviour-cloning samples per second on the 8-64-64-2 MLP (Adam, MSE, the loss read back
  every step, 20% of the rows held out and a validation pass over them after every epoch),
  `apprentice bench train --device cpu` against the same loop in PyTorch (also reported
  without the validation pass, the loop measured before 2026-12-06);
- sim: cartpole steps per second on one environment, `apprentice bench sim` against
  Gymnasium's `CartPole-v1` (unwrapped, random actions, reset at episode ends).

The runs alternate, `--rounds` times each; medians and ratios are printed as JSON lines.
PyTorch gets the machine's 2 threads, as apprentice does.

    ~/.cache/apprentice-venv/bin/pip install torch stable-baselines3
    ~/.cache/apprentice-venv/bin/python scripts/anchor_speed.py [dqn bc sim] [--rounds 3] [--bin PATH]
"""

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

BATCHES = (64, 256, 4096)


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- DQN ---------------------------------------------------------------------------------

def ours_dqn(binary, steps, seed):
    with tempfile.TemporaryDirectory() as work:
        run = Path(work) / "run"
        subprocess.run([binary, "train", "dqn", "--scenario", "cartpole", "--out", str(run), "--device", "cpu",
                        "--set", f"total_steps={steps}", "--set", f"seed={seed}"], check=True, capture_output=True)
        rows = list(csv.DictReader(open(run / "metrics.csv")))
        return float(rows[-1]["time/seconds"]) / int(rows[-1]["step"])


def sb3_dqn(steps, seed):
    import gymnasium as gym
    from stable_baselines3 import DQN

    model = DQN("MlpPolicy", gym.make("CartPole-v1"), learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]},
                seed=seed, device="cpu")
    start = time.perf_counter()
    model.learn(steps)
    return (time.perf_counter() - start) / steps


def dqn(args):
    ours, sb3 = [], []
    for k in range(args.rounds):
        ours.append(ours_dqn(args.bin, args.dqn_steps, k))
        sb3.append(sb3_dqn(args.dqn_steps, k))
    report("dqn_ms_per_env_step", {"apprentice": ours, "stable_baselines3": sb3}, scale=1e3)


# --- BC ----------------------------------------------------------------------------------

def torch_bc(batch, seconds, data, validate=True):
    """Training samples per second of PyTorch's BC loop; with `validate`, as `bench train` does:
    20% of the rows held out (not trained on) and one pass over them after every epoch."""
    import torch

    x, y = (torch.from_numpy(a) for a in data)
    held = len(x) // 5 if validate else 0
    (x_val, y_val), (x, y) = (x[:held], y[:held]), (x[held:], y[held:])
    mean, std = x.mean(0), x.std(0) + 1e-6
    net = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def epoch():
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            rows = order[start:start + batch]
            loss = torch.nn.functional.mse_loss(net((x[rows] - mean) / std), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # read back every step, as apprentice logs it
        if held:
            with torch.no_grad():
                torch.nn.functional.mse_loss(net((x_val - mean) / std), y_val).item()
        return len(x)

    epoch()
    start, samples = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        samples += epoch()
    return samples / (time.perf_counter() - start)


def bc(args):
    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    # About as many samples as `bench train`'s 400 reacher demonstrations.
    data = (rng.normal(size=(40_000, 8)).astype(np.float32), rng.normal(size=(40_000, 2)).astype(np.float32))
    rates = {f"{who}_{b}": [] for who in ("apprentice", "pytorch", "pytorch_unvalidated") for b in BATCHES}
    for _ in range(args.rounds):
        for row in run_json([args.bin, "bench", "train", "--device", "cpu", "--json"]):
            if "batch" in row:
                rates[f"apprentice_{row['batch']}"].append(row["samples_per_sec"])
        for b in BATCHES:
            rates[f"pytorch_{b}"].append(torch_bc(b, 3.0, data))
            rates[f"pytorch_unvalidated_{b}"].append(torch_bc(b, 3.0, data, validate=False))
    for b in BATCHES:
        report(f"bc_samples_per_sec_batch_{b}", {"apprentice": rates[f"apprentice_{b}"],
                                                 "pytorch": rates[f"pytorch_{b}"]})
        report(f"bc_samples_per_sec_batch_{b}_pytorch_without_validation",
               {"apprentice": rates[f"apprentice_{b}"], "pytorch": rates[f"pytorch_unvalidated_{b}"]})


# --- Simulation --------------------------------------------------------------------------

def gymnasium_rate(steps):
    import gymnasium as gym
    from python_step_rate import single  # the same loop the Python package's rates use

    actions = [int(a) for a in np.random.default_rng(0).integers(0, 2, size=steps)]
    return single(gym.make("CartPole-v1").unwrapped, steps, actions)


def sim(args):
    ours, gym_rates = [], []
    for _ in range(args.rounds):
        row = run_json([args.bin, "bench", "sim", "--scenario", "cartpole", "--envs", "1", "--steps", "200000",
                        "--json"])[-1]
        ours.append(row["steps_per_sec"])
        gym_rates.append(gymnasium_rate(200_000))
    report("cartpole_steps_per_sec_1_env", {"apprentice": ours, "gymnasium": gym_rates})


def report(what, runs, scale=1.0):
    medians = {who: float(np.median(v)) * scale for who, v in runs.items()}
    (a, anchor), = [(k, v) for k, v in medians.items() if k != "apprentice"]
    print(json.dumps({"what": what, "runs": {k: [x * scale for x in v] for k, v in runs.items()},
                      "median": medians, f"apprentice_over_{a}": medians["apprentice"] / anchor}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["dqn", "bc", "sim"], choices=["dqn", "bc", "sim"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dqn-steps", type=int, default=20_000)
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/apprentice-target"))
    parser.add_argument("--bin", default=str(target / "release/apprentice"))
    args = parser.parse_args()
    for what in args.what:
        {"dqn": dqn, "bc": bc, "sim": sim}[what](args)


if __name__ == "__main__":
    main()
