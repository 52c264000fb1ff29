#!/usr/bin/env bash
# Prints the README's scenario table: each built-in expert and random play over 100 seeded
# episodes, measured by `apprentice rollout` (release build).
set -euo pipefail
bin=${APPRENTICE:-${CARGO_TARGET_DIR:-$HOME/.cache/apprentice-target}/release/apprentice}
echo "| scenario | actions | obs | expert return (mean ± std) | expert success | random success |"
echo "|---|---|---|---|---|---|"
"$bin" scenarios --json | while read -r row; do
  name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$row")
  expert=$("$bin" rollout --scenario "$name" --policy expert --episodes 100 --seed 0 --json | tail -n 1)
  random=$("$bin" rollout --scenario "$name" --policy random --episodes 100 --seed 0 --json | tail -n 1)
  python3 - "$row" "$expert" "$random" <<'PY'
import json, sys
row, e, r = (json.loads(a) for a in sys.argv[1:])
space = row["action_space"]
actions = f"Discrete({space['n']})" if space["type"] == "discrete" else f"Box({len(space['low'])})" if space["type"] == "box" else f"MultiDiscrete({space['nvec']})"
print(f"| `{row['name']}` | {actions} | {row['obs_dim']} | {e['return_mean']:.1f} ± {e['return_std']:.1f} | {e['success_rate']:.2f} | {r['success_rate']:.2f} |")
PY
done
