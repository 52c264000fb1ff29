#!/usr/bin/env bash
# Builds and installs the Python package with profile-guided optimization (`make python`):
# an instrumented build runs scripts/pgo_workload.py (every built-in scenario stepped from
# Python), and the final build is optimized with the branch and call counts it recorded. On
# this machine one cartpole steps about 1.4x faster than the same `dist` build without a
# profile, and make_vec(64) 1.2x (README, Python section); the results are bit for bit the same.
#
#   scripts/pgo-python.sh VENV PROFILE [PGO]
#
# PGO=0 builds once without a profile (what `make test` installs). Without llvm-profdata
# (rustup's llvm-tools component, installed here when missing) it says so and builds without
# a profile. The two builds keep target dirs of their own under CARGO_TARGET_DIR, so a
# rebuild after a change recompiles only what changed.
set -euo pipefail
venv=${1:?usage: scripts/pgo-python.sh VENV PROFILE [PGO]}
profile=${2:?usage: scripts/pgo-python.sh VENV PROFILE [PGO]}
target=${CARGO_TARGET_DIR:-$HOME/.cache/apprentice-target}
build() { VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --profile "$profile" -q -m crates/python/Cargo.toml; }
if [ "${3:-1}" != 1 ]; then
    build
    exit
fi

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
[ -x "$profdata" ] || rustup component add llvm-tools >/dev/null 2>&1 || true
if [ ! -x "$profdata" ]; then
    echo "pgo-python: no $profdata (rustup component add llvm-tools); building without a profile" >&2
    build
    exit
fi

data="$target/pgo-python"
rm -rf "$data/raw"
mkdir -p "$data/raw"
echo "pgo-python: 1/3 instrumented build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$data/raw" CARGO_TARGET_DIR="$target/pgo-generate" build
echo "pgo-python: 2/3 recording the workload" >&2
"$venv/bin/python" -W ignore scripts/pgo_workload.py >/dev/null
"$profdata" merge -o "$data/merged.profdata" "$data/raw"
echo "pgo-python: 3/3 optimized build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$data/merged.profdata" CARGO_TARGET_DIR="$target/pgo-use" build
