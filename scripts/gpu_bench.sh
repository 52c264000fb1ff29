#!/usr/bin/env bash
# The README's GPU figures, on a machine with a GPU but no Rust toolchain and no display:
# `bench train` on the GPU (wgpu) and on the CPU (flex), then `bench app` in a real window
# under Xvfb. Everything it needs travels beside it, unpacked into /tmp:
#   .bin/apprentice.xz   the release binary (xz), built on the development machine
#   .gl/*.deb            the Vulkan loader and GL dispatch (unpacked into /, as the GPU
#                        machine's notes ask)
#   .xdeb/*.deb          Xvfb, xkbcomp and the X client libraries winit loads (into /tmp/xr)
# Results go to $OUT (or ./gpu-bench): the GPU's name, one JSON line per measurement, logs.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-bench}
mkdir -p "$out"

for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/xr
for f in .xdeb/*.deb; do dpkg -x "$f" /tmp/xr; done
export LD_LIBRARY_PATH=/tmp/xr/usr/lib/x86_64-linux-gnu:/tmp/xr/lib/x86_64-linux-gnu
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.bin/apprentice.xz'), open('/tmp/apprentice', 'wb'))"
chmod +x /tmp/apprentice
bin=/tmp/apprentice

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
nproc | sed 's/^/cores: /' | tee -a "$out/gpu.txt"

# Training: the wgpu backend on the GPU, then the CPU backend on this machine's cores.
for device in ${DEVICES-gpu cpu}; do
  timeout 120 $bin bench train --device "$device" --json >"$out/train_$device.json" 2>"$out/train_$device.log"
  echo "bench train --device $device: exit $?"; cat "$out/train_$device.json"; grep -i "device" "$out/train_$device.log" | head -3
done

# The app: a real window on a virtual display (xkbcomp where Xvfb looks for it).
[ -x /usr/bin/xkbcomp ] || ln -sf /tmp/xr/usr/bin/xkbcomp /usr/bin/xkbcomp
/tmp/xr/usr/bin/Xvfb :99 -screen 0 1920x1080x24 -nolisten tcp -xkbdir /tmp/xr/usr/share/X11/xkb >"$out/xvfb.log" 2>&1 &
xvfb=$!
sleep 2
export DISPLAY=:99 XKB_CONFIG_ROOT=/tmp/xr/usr/share/X11/xkb
for run in 1 2; do
  timeout 150 $bin bench app --json >"$out/app_$run.json" 2>"$out/app_$run.log"
  echo "bench app ($run): exit $?"; cat "$out/app_$run.json"; grep -iE "adapter|AdapterInfo|gpu|error" "$out/app_$run.log" | head -5
done
kill $xvfb 2>/dev/null
true
