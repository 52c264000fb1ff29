#!/usr/bin/env bash
# Prints how long the builds a change costs take on this machine:
#   1. a cold `make test` on a fresh clone with an empty target dir (builds and runs every test),
#   2. `touch` one learn-layer file, then the test binaries (`cargo test --release --no-run`),
#   3. the same touch, then the release app binary (`cargo build --release --bin apprentice`),
#   4. `touch` one app file, then the release app binary,
#   5. a real edit in learn (TD3's default noise, put back afterwards), then the test binaries
#      and the release app: unlike a touch, it changes the code every crate above learn sees.
# Steps 2–4 use the warm target dir that `make` uses. `--skip-cold` leaves out step 1
# (about 25 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/apprentice-target}
# As the Makefile does (once: RUSTFLAGS is part of every build's fingerprint).
if command -v mold >/dev/null && [[ "${RUSTFLAGS:-}" != *fuse-ld=mold* ]]; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi

seconds() { # command... → prints the wall seconds it took (its output goes to a log)
  local start end
  start=$(date +%s.%N)
  "$@" >>"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { s = b - a; printf "%d min %02d s", s / 60, s % 60 }'
}

log=$(mktemp -t build-times.XXXXXX.log)
echo "machine: $(nproc) cores, $(uname -m); rustc $(rustc --version | cut -d' ' -f2); log: $log"

if [ "${1:-}" != "--skip-cold" ]; then
  clone=$(mktemp -d -t apprentice-clone.XXXXXX)
  git clone -q "$root" "$clone/apprentice"
  cold_target=$(mktemp -d -t apprentice-cold-target.XXXXXX)
  echo "cold make test (fresh clone, empty target dir): $(CARGO_TARGET_DIR=$cold_target seconds make -C "$clone/apprentice" test)"
  rm -rf "$clone" "$cold_target"
fi

# Warm the target dir first, so each measurement below is the rebuild alone.
cargo test --release --workspace --no-run >>"$log" 2>&1
cargo build --release --bin apprentice >>"$log" 2>&1

touch crates/learn/src/td3.rs
echo "touch crates/learn/src/td3.rs, test binaries:  $(seconds cargo test --release --workspace --no-run)"
touch crates/learn/src/td3.rs
echo "touch crates/learn/src/td3.rs, release app:    $(seconds cargo build --release --bin apprentice)"
touch crates/app/src/render.rs
echo "touch crates/app/src/render.rs, release app:   $(seconds cargo build --release --bin apprentice)"

# A change of code, not only of a timestamp; the file is restored however the script ends.
edited=crates/learn/src/td3.rs
cp "$edited" "$log.td3"
trap 'cp "$log.td3" "$edited"' EXIT
sed -i 's/exploration_noise: 0.1,/exploration_noise: 0.15,/' "$edited"
echo "edit crates/learn/src/td3.rs, test binaries:   $(seconds cargo test --release --workspace --no-run)"
sed -i 's/exploration_noise: 0.15,/exploration_noise: 0.2,/' "$edited"
echo "edit crates/learn/src/td3.rs, release app:     $(seconds cargo build --release --bin apprentice)"
