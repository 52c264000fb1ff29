#!/usr/bin/env bash
# Training on the GPU against the CPU, on the flow policy of the README's push_t row with each
# denoiser (MLP, and the 1-D U-Net that is slow on a CPU): seconds per epoch from each run's
# metrics.csv. Runs where scripts/gpu_bench.sh runs (it unpacks the binary and the Vulkan
# loader first: run that one before this one in the same command).
# Results go to $OUT (or ./gpu-bench): one metrics file per run and a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-bench}
bin=${APPRENTICE:-/tmp/apprentice}
mkdir -p "$out"
work=$(mktemp -d)
$bin demos generate --scenario push_t --episodes 100 --out "$work/pt100" 2>/dev/null
for denoiser in mlp unet; do
  for device in ${DEVICES-gpu cpu}; do
    run="$work/flow_${denoiser}_$device"
    epochs=$([ "$denoiser" = unet ] && echo 2 || echo 5)
    timeout 110 $bin train flow --scenario push_t --demos "$work/pt100" --out "$run" --device "$device" \
      --set epochs=$epochs --set batch_size=64 --set policy.denoiser=\"$denoiser\" >/dev/null 2>"$run.log"
    code=$?
    cp "$run/metrics.csv" "$out/flow_${denoiser}_$device.csv" 2>/dev/null
    # time/seconds is cumulative: the last row over the epochs done.
    python3 - "$run/metrics.csv" "$denoiser" "$device" "$code" <<'PY' | tee -a "$out/train_summary.txt"
import csv, sys
path, denoiser, device, code = sys.argv[1:]
try:
    rows = list(csv.DictReader(open(path)))
except OSError:
    rows = []
epochs = [r for r in rows if r.get("time/seconds")]
if epochs:
    seconds = float(epochs[-1]["time/seconds"])
    print(f"flow {denoiser} on {device}: {len(epochs)} epochs in {seconds:.1f} s, {seconds / len(epochs):.2f} s per epoch (exit {code})")
else:
    print(f"flow {denoiser} on {device}: no epoch finished (exit {code})")
PY
  done
done
