"""A sweep file's trials run on a Ray cluster through Ray Tune.

Each Ray trial runs `apprentice sweep --config FILE --trial K` (one training run and its
evaluation, on the number of threads the sweep file gives), so a trial's result on Ray is the
one `apprentice sweep` computes locally for the same seed. Every machine of the cluster needs
the `apprentice` binary and the sweep's scenario and demonstrations at the same paths.

    results = apprentice.tune("sweep.toml", address="auto")   # a running cluster
"""

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path


def binary(path=None):
    """The `apprentice` CLI: `path`, else `$APPRENTICE_BIN`, else the one on PATH."""
    found = path or os.environ.get("APPRENTICE_BIN") or shutil.which("apprentice")
    if not found:
        raise FileNotFoundError("no `apprentice` binary: put it on PATH or set APPRENTICE_BIN")
    return str(found)


def _cli(exe, *args):
    done = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"apprentice {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def trials(sweep, apprentice_bin=None):
    """The sweep file's trials, as `apprentice sweep --list` expands them: index, seed, settings."""
    out = _cli(binary(apprentice_bin), "sweep", "--config", Path(sweep).resolve(), "--list", "--json")
    return [json.loads(line) for line in out.splitlines()]


def tune(sweep, address=None, apprentice_bin=None, max_concurrent=None, csv_path=None):
    """Runs every trial of the sweep file `sweep` as a Ray Tune trial and returns their results
    (dicts with `index`, `seed`, `settings`, `return_mean`, `success_rate`, ...) in trial order.

    `address` is passed to `ray.init` (None starts a local Ray; "auto" joins a running
    cluster). The results are also written to `csv_path` (default: `ray_results.csv` beside the
    local sweep's `results.csv`): trial, seed, the swept keys, then the evaluation's figures.
    """
    import ray
    from ray import tune as ray_tune

    exe = binary(apprentice_bin)
    path = Path(sweep).resolve()
    listed = trials(path, exe)
    threads = _threads(path)

    def trainable(config):
        out = _cli(exe, "sweep", "--config", path, "--trial", config["trial"], "--json")
        result = json.loads(out)
        return {key: result[key] for key in ("index", "return_mean", "return_std", "success_rate", "expert_fraction", "train_seconds")}

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    tuner = ray_tune.Tuner(
        ray_tune.with_resources(trainable, {"cpu": threads}),
        param_space={"trial": ray_tune.grid_search([t["index"] for t in listed])},
        tune_config=ray_tune.TuneConfig(max_concurrent_trials=max_concurrent),
        run_config=ray_tune.RunConfig(name=f"apprentice-{path.stem}", storage_path=str(path.parent / ".ray"), verbose=0),
    )
    grid = tuner.fit()
    errors = [str(r.error) for r in grid if r.error]
    if errors:
        raise RuntimeError(f"{len(errors)} Ray trials failed:\n" + "\n".join(errors))
    by_index = {r.metrics["index"]: r.metrics for r in grid}
    results = [{**t, **{k: v for k, v in by_index[t["index"]].items() if k in _COLUMNS}} for t in listed]
    _write_csv(csv_path or _out_dir(path) / "ray_results.csv", results)
    return results


_COLUMNS = ("return_mean", "return_std", "success_rate", "expert_fraction", "train_seconds")


def _sweep_file(path):
    import tomllib

    with open(path, "rb") as f:
        return tomllib.load(f)


def _threads(path):
    return int(_sweep_file(path).get("threads", 1))


def _out_dir(path):
    out = _sweep_file(path).get("out")
    return path.parent / out if out else path.parent / path.stem


def _write_csv(path, results):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(results[0]["settings"]) if results else []
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", "seed", *keys, *_COLUMNS])
        for r in results:
            writer.writerow([r["index"], r["seed"], *(r["settings"][k] for k in keys), *(r[c] for c in _COLUMNS)])
