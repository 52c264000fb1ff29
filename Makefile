# apprentice: `make run` opens the desktop app, `make test` runs every test, `make bench` measures
# speed (fully optimized: the `dist` profile). All install missing system packages first. The
# cargo target dir lives outside the clone so later builds and CI runs on the same machine reuse it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/apprentice-target
# mesa-vulkan-drivers: a software Vulkan adapter, so wgpu (training and the app) runs without a GPU.
# xvfb, xauth: a virtual display for the app's real-window tests (and `xvfb-run` for users).
# libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6: what winit loads to open a window on X11.
# xdotool: real mouse and keyboard events for the app's walkthrough test.
# mold: a linker several times faster than ld on Bevy and Burn's large binaries.
SYSTEM_PACKAGES := pkg-config libudev-dev mesa-vulkan-drivers libvulkan1 xvfb xauth libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 mold xdotool
# The Python package's virtual environment: outside the clone, like the target dir, so later
# runs reuse it. `make python VENV=path` installs into another one.
VENV ?= $(HOME)/.cache/apprentice-venv
# minari: its own loader reads our exports (its parquet storage imports Pillow without declaring it). ray[tune]: the sweep test starts a Ray head on 127.0.0.1 (pinned: Tune's API moves between releases).
PYTHON_PACKAGES := maturin numpy gymnasium pytest "ray[tune]==2.60.0" "minari[arrow]==0.5.4" pillow
# Added once: RUSTFLAGS is part of every build's fingerprint, so a second copy of the flag
# (a shell that already exports it) would rebuild everything.
MOLD := $(shell command -v mold 2>/dev/null)
ifneq ($(MOLD),)
ifeq ($(findstring fuse-ld=mold,$(RUSTFLAGS)),)
export RUSTFLAGS += -C link-arg=-fuse-ld=mold
endif
endif

.PHONY: run test system-packages numpy python bench build-times screenshots

run: system-packages
	cargo run --release --

# The tests install the Python package from the quick-to-rebuild `release` profile, no profile-guided pass.
test: PYTHON_PROFILE = release
test: PYTHON_PGO = 0
test: system-packages numpy python
	cargo test --release --workspace --exclude apprentice-python
	@# The CLI builds without the app (with the workspace's dependency features: nothing rebuilds
	@# but our own library), and neither it nor the sim, data and learn layers depend on Bevy or egui.
	cargo build --release --workspace --exclude apprentice-python --no-default-features --lib
	@! cargo tree -p apprentice --no-default-features -e normal --prefix none | grep -E '^(bevy|egui|bevy_egui) '
	@! cargo tree -p apprentice-sim -p apprentice-data -p apprentice-learn -e normal --prefix none | grep -E '^(bevy|egui|bevy_egui) '
	@# The Python package (built and installed by `make python`) against the binary just built.
	APPRENTICE_BIN=$(CARGO_TARGET_DIR)/release/apprentice $(VENV)/bin/python -m pytest -q crates/python/tests

# The Python package (crates/python: pyo3 + maturin) built and installed into the virtual
# environment VENV, with what it and its tests need from PyPI. Users get the `dist` profile
# (fat LTO over rapier and the sim layer: make_vec steps about 10% faster) optimized with a
# recorded profile (scripts/pgo-python.sh: 1.2-1.4x faster again; two builds, about 15
# minutes cold and 10 after a sim change, against 2 for `dist` alone and 45 s for `release`).
# PYTHON_PGO=0 skips it.
PYTHON_PROFILE ?= dist
PYTHON_PGO ?= 1
python: system-packages
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --disable-pip-version-check $(PYTHON_PACKAGES)
	scripts/pgo-python.sh $(VENV) $(PYTHON_PROFILE) $(PYTHON_PGO)

# Three rebuild times of this machine (see the README): scripts/build-times.sh.
build-times: system-packages numpy
	scripts/build-times.sh

# The README's pictures of the real window (Xvfb, xdotool clicks): scripts/screenshots.py.
screenshots: system-packages
	cargo build --release
	python3 scripts/screenshots.py

# The headless binary (no Bevy to link-time optimize) is enough for the simulation and
# training benchmarks; `bench app` needs the default build.
DIST := cargo run --profile dist --no-default-features --
bench: system-packages
	$(DIST) bench sim --scenario cartpole --envs 1 --steps 200000 --json
	$(DIST) bench sim --scenario cartpole --envs 64 --steps 200000 --json
	@# The same two runs alternated ten times: the speed-up with the machine's drift cancelled.
	$(DIST) bench scaling --scenario cartpole --envs 64 --steps 200000 --pairs 10 --json
	$(DIST) bench train --device cpu --json

# The export test checks files with numpy itself.
numpy:
	@python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy || \
	  { echo "numpy is needed by the tests: python3 -m pip install numpy"; exit 1; }

# Installs what the build needs with apt-get when possible; otherwise prints the command.
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "Missing system packages:$$missing. Install them with your package manager, then re-run make."; exit 1; \
	  elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq $$missing; \
	  else echo "Missing system packages:$$missing. Run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
