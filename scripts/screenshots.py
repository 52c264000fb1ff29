#!/usr/bin/env python3
"""Takes the README's screenshots of the real app under Xvfb (`make screenshots`).

Each picture opens the app with an autopilot that saves a screenshot after N frames, while
xdotool clicks the controls the app lists in APPRENTICE_UI_MAP, as a person's mouse would.
The data each picture needs (failed and good episodes, trained runs, a broken scenario
edit) is made first with the headless CLI. Writes docs/screenshots/*.png.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
BIN = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/apprentice-target")) / "release/apprentice"
BUILTINS = ["cartpole", "cartpole_continuous", "pendulum", "acrobot", "mountain_car", "lunar_lander",
            "lunar_lander_continuous", "reacher", "push_t", "car_track", "detour"]


def cli(*args, data):
    subprocess.run([str(BIN), *args], check=True, env={**os.environ, "APPRENTICE_DATA": str(data)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Display:
    def __enter__(self):
        self.x = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.name = ":" + self.x.stdout.readline().strip()
        return self

    def __exit__(self, *_):
        self.x.kill()


def shot(display, name, data, args, clicks=(), frames=240, before_clicks=None):
    """Opens the app, performs `clicks` (control names, or callables), saves `name`.png."""
    data.mkdir(parents=True, exist_ok=True)
    ui_map = data / "ui.json"
    ui_map.unlink(missing_ok=True)
    png = OUT / f"{name}.png"
    env = {**os.environ, "DISPLAY": display.name, "APPRENTICE_DATA": str(data), "APPRENTICE_UI_MAP": str(ui_map)}
    app = subprocess.Popen([str(BIN), "app", *args, "--frames", str(frames), "--screenshot", str(png), "--exit"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    xdo = lambda *a: subprocess.run(["xdotool", *a], env=env, check=True, capture_output=True, text=True).stdout

    def find(control):
        for _ in range(300):
            try:
                return json.loads(ui_map.read_text())[control]
            except (FileNotFoundError, KeyError, json.JSONDecodeError):
                time.sleep(0.1)
        sys.exit(f"{name}: the app never drew {control!r}")

    if clicks:
        window = xdo("search", "--sync", "--name", "apprentice").split()[0]
        find("record")
        if before_clicks:
            before_clicks()
        for control in clicks:
            if callable(control):
                control()
                continue
            l, t, r, b = find(control)
            xdo("mousemove", "--window", window, str(round((l + r) / 2)), str(round((t + b) / 2)))
            time.sleep(0.2)
            xdo("mousedown", "1")
            time.sleep(0.15)
            xdo("mouseup", "1")
            time.sleep(0.4)
        # Park the pointer away from the controls so no tooltip covers them.
        xdo("mousemove", "--window", window, "300", "740")
    if app.wait(timeout=300) != 0:
        sys.exit(f"{name}: the app failed")
    print("wrote", png.relative_to(ROOT))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="apprentice-shots-"))
    seen = lambda d: (d.mkdir(parents=True, exist_ok=True), (d / "welcome-seen").write_text(""))
    with Display() as display:
        # Every scenario, the expert driving.
        scenes = work / "scenes"
        seen(scenes)
        for scenario in BUILTINS:
            shot(display, scenario, scenes, ["--scenario", scenario, "--autopilot", "expert"], frames=90)

        # The first-run card on a fresh data directory.
        shot(display, "first_run", work / "fresh", ["--scenario", "cartpole"], frames=60)

        # Curation: 6 random (failed) episodes among 20 of the expert's, diagnosed with the
        # bundled policy, which flags them.
        curate = work / "curate"
        seen(curate)
        demos = curate / "cartpole" / "demos"
        cli("demos", "generate", "--scenario", "cartpole", "--episodes", "20", "--seed", "100",
            "--out", str(demos), data=curate)
        cli("demos", "generate", "--scenario", "cartpole", "--episodes", "6", "--expert", "random",
            "--out", str(demos), data=curate)
        shot(display, "curation", curate, ["--scenario", "cartpole", "--autopilot", "policy"],
             clicks=["tab Episodes", "diagnose"], frames=300)

        # What the policy thinks: probability bars and the ghost rollout (cartpole), and a
        # mixture head's modes and samples (reacher).
        shot(display, "policy_view", scenes, ["--scenario", "cartpole", "--autopilot", "policy"],
             clicks=["tab Policy view"], frames=240)
        mixture = work / "runs" / "reacher_mixture"
        cli("demos", "generate", "--scenario", "reacher", "--episodes", "20", "--noise", "0.3",
            "--out", str(work / "reacher_demos"), data=scenes)
        cli("train", "bc", "--scenario", "reacher", "--demos", str(work / "reacher_demos"), "--out", str(mixture),
            "--set", "policy.head=\"mixture\"", "--set", "epochs=40", "--device", "cpu", data=scenes)
        shot(display, "policy_view_mixture", scenes,
             ["--scenario", "reacher", "--policy", str(mixture), "--autopilot", "policy"],
             clicks=["tab Policy view"], frames=240)

        # The run browser: three runs of the bundled demos, evaluated as they train.
        browse = work / "browse"
        seen(browse)
        bundled = ROOT / "assets" / "cartpole" / "demos"
        for k, sets in enumerate([["epochs=2", "policy.hidden=[4]"], ["epochs=12", "policy.hidden=[16]"],
                                  ["epochs=60"]], start=1):
            cli("train", "bc", "--scenario", "cartpole", "--demos", str(bundled),
                "--out", str(browse / "cartpole" / "runs" / str(k)), *[a for v in sets for a in ("--set", v)],
                "--eval-every", "1", "--eval-episodes", "3", "--device", "cpu", data=browse)
        cli("train", "dagger", "--scenario", "cartpole", "--demos", str(bundled),
            "--out", str(browse / "cartpole" / "runs" / "4"), "--set", "rounds=4", "--set", "bc.epochs=20",
            "--eval-every", "1", "--eval-episodes", "3", "--device", "cpu", data=browse)
        shot(display, "run_browser", browse, ["--scenario", "cartpole", "--autopilot", "policy"],
             clicks=["tab Runs", "run 2"], frames=200)

        # A broken edit of the open scenario file, shown in the app while the previous version runs.
        edit = work / "edit"
        seen(edit)
        scenario = edit / "my_cartpole.ron"
        text = (ROOT / "scenarios" / "cartpole.ron").read_text()
        scenario.write_text(text)
        broken = lambda: (time.sleep(1.0), scenario.write_text(text.replace("max_steps: 500,", "max_stepz: 500,")))
        shot(display, "hot_reload_error", edit, ["--scenario", str(scenario), "--autopilot", "expert"],
             clicks=[broken], frames=200)

        # Training: BC on cartpole (the panel's plots), SAC on pendulum from the menu, and the
        # split view of the bundled policy against an early PPO checkpoint.
        shot(display, "training_panel", scenes, ["--scenario", "cartpole", "--train"], frames=600)
        shot(display, "sac_training", scenes, ["--scenario", "pendulum", "--train", "--algorithm", "sac"],
             frames=1500)
        ppo = work / "runs" / "ppo_early"
        cli("train", "ppo", "--scenario", "cartpole", "--out", str(ppo), "--set", "total_steps=8192",
            "--device", "cpu", data=scenes)
        shot(display, "split_view", scenes, ["--scenario", "cartpole", "--policy", str(ROOT / "assets/cartpole/policy"),
                                             "--compare", str(ppo), "--autopilot", "policy"],
             clicks=["tab Policy view"], frames=360)

        # A flow-matching policy on detour: its sampled continuations split left and right of
        # the cup (two ways of doing the task), drawn as ghosts from the state on screen.
        cli("demos", "generate", "--scenario", "detour", "--episodes", "200", "--out", str(work / "detour_demos"),
            data=scenes)
        flow = work / "runs" / "detour_flow"
        cli("train", "flow", "--scenario", "detour", "--demos", str(work / "detour_demos"), "--out", str(flow),
            "--set", "epochs=600", "--set", "batch_size=64", "--device", "cpu", data=scenes)
        shot(display, "flow_samples", scenes, ["--scenario", "detour", "--policy", str(flow), "--autopilot", "policy"],
             frames=14)

        # The learned-reward view: GAIL's discriminator from 20 lander demos colours the trail.
        cli("demos", "generate", "--scenario", "lunar_lander_continuous", "--episodes", "20", "--out",
            str(work / "lander_demos"), data=scenes)
        lander = work / "runs" / "lander_gail"
        cli("train", "gail", "--scenario", "lunar_lander_continuous", "--demos", str(work / "lander_demos"), "--out",
            str(lander), "--set", "generator=\"sac\"", "--set", "total_steps=80000", "--set", "sac.learning_starts=10000",
            "--set", "sac.tau=0.01", "--set", "sac.lr=0.00073", "--device", "cpu", data=scenes)
        shot(display, "learned_reward", scenes, ["--scenario", "lunar_lander_continuous", "--policy", str(lander), "--autopilot", "policy"],
             clicks=["tab Policy view"], frames=110)

        # MPC on the true simulator driving: its sampled candidates (grey), the elites
        # (orange) and the plan it settled on (green outlines), replanned every step.
        shot(display, "mpc_lander", scenes, ["--scenario", "lunar_lander_continuous", "--policy", "planner",
                                             "--autopilot", "policy"], frames=40)
        shot(display, "mpc_planner", scenes, ["--scenario", str(ROOT / "examples/scenarios/drone.ron"), "--policy",
                                              "planner", "--autopilot", "policy"], frames=14)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
