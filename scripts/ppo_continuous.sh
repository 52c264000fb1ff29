#!/usr/bin/env bash
# PPO with its continuous-action defaults on every built-in continuous scenario: 3 seeds ×
# 200k environment steps each, then `eval` on 50 unseen seeds. Prints one line per run (a run
# that diverges prints its error) and a table row per scenario: median return against random.
#
#   [SCENARIOS="push_t pendulum"] scripts/ppo_continuous.sh [OUT_DIR] [STEPS]
set -euo pipefail
BIN=${APPRENTICE:-${CARGO_TARGET_DIR:-$HOME/.cache/apprentice-target}/release/apprentice}
OUT=${1:-/tmp/ppo-continuous}
STEPS=${2:-200000}
SCENARIOS=${SCENARIOS:-"cartpole_continuous pendulum reacher lunar_lander_continuous push_t car_track detour"}
mkdir -p "$OUT"
echo "| scenario | returns (seeds 0, 1, 2) | median | random | NaN |"
echo "|---|---|---|---|---|"
for scenario in $SCENARIOS; do
  returns=() random=0 nan=no
  for seed in 0 1 2; do
    run="$OUT/$scenario-$seed"
    rm -rf "$run"
    if ! "$BIN" train ppo --scenario "$scenario" --out "$run" --set "total_steps=$STEPS" --set "seed=$seed" \
        --json > "$run.train.json" 2> "$run.err"; then
      grep -qi nan "$run.err" && nan=yes
      echo "$scenario seed $seed failed: $(tail -1 "$run.err")" >&2
      returns+=("failed")
      continue
    fi
    report=$("$BIN" eval --policy "$run" --json)
    returns+=("$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["return_mean"], 1))' "$report")")
    random=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["random_return_mean"], 1))' "$report")
  done
  median=$(printf '%s\n' "${returns[@]}" | grep -v failed | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "none")}')
  echo "| $scenario | ${returns[*]} | $median | $random | $nan |"
done
