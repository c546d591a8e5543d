#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine:
#   1. installs the Debian packages (scripts/install-deps.sh; a no-op when present),
#   2. builds the ftc command (Release, in build/release — the tree scripts/test.sh uses),
#   3. fits a codec model on 4,000 training images (`ftc fit`, ~20 s), then runs `ftc eval` on the
#      bundled ResNet-style model at its recommended split over the 10,000
#      Fashion-MNIST test images: uniform per-channel quantization at 1,2,3,4,5,6,8 bits with the
#      zstd and rANS coders (1 bit extends the curves down to where the baselines lose accuracy, so that
#      BD-rates have an overlap), and every baseline (float32, float16, zstd-f32, zfp, the 8-bit
#      JPEG/PNG feature mosaic, cloud-only PNG/JPEG of the input image),
#   4. prints the table and where the table, CSV, JSON and plot are (out/demo/).
# Extra arguments go to `ftc eval` (e.g. --limit 1000, --threads 4, --sweep bits=4,8).
# FTC_DEMO_MODEL, FTC_DEMO_OUT, FTC_BUILD_ROOT and FTC_JOBS override the defaults;
# FTC_SKIP_DEPS=1 skips step 1.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FTC_BUILD_ROOT:-$src/build}/release
out=${FTC_DEMO_OUT:-$src/out/demo}
model=${FTC_DEMO_MODEL:-$src/models/fmnist_resnet.onnx}
jobs=${FTC_JOBS:-$(nproc)}
step() { printf '\n=== %s ===\n' "$*" >&2; }

if [[ "${FTC_SKIP_DEPS:-0}" != 1 ]]; then
  step "dependencies"
  "$src/scripts/install-deps.sh"
fi

step "build (ftc command, Release, $build)"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j "$jobs" --target ftc_cli
ftc="$build/cli/ftc"

[[ -f "$model" ]] || { echo "demo: $model not found (train it: train/train.py)" >&2; exit 1; }
mkdir -p "$out"
start=$(date +%s)
step "ftc fit: a codec model of $(basename "$model")'s split features on fashion-mnist:train"
"$ftc" fit --model "$model" --data fashion-mnist:train:4000 -o "$out/fitted.ftcm" -f
# Learned bottlenecks trained from this model (ftc learn), when models/learned/ holds them.
learned=()
for f in "$src"/models/learned/*/codec.ftcm; do
  if [[ -f "$f" ]] && grep -q "\"model\": \"$(basename "$model")\"" "$(dirname "$f")/codec.json" 2>/dev/null; then
    learned+=(--codec-model "$f")
  fi
done
step "ftc eval: $(basename "$model") over fashion-mnist:test"
rc=0
"$ftc" eval --model "$model" --data fashion-mnist:test --baselines all --codec-model "$out/fitted.ftcm" "${learned[@]}" \
  --table "$out/table.txt" --csv "$out/results.csv" --json "$out/results.json" --plot "$out/rate_accuracy.png" \
  "$@" || rc=$?
secs=$(( $(date +%s) - start ))

cat >&2 <<EOF

demo finished in ${secs} s (ftc eval exit code $rc). Results in $out/:
  table.txt          the table above (every configuration, BD-rates against the JPEG feature mosaic)
  fitted.ftcm        the codec model ftc fit made (its rate points are the ftc-model rows)
  results.csv        one row per configuration
  results.json       the same with the run's context (reference top-1, uncompressed-split check)
  rate_accuracy.png  top-1 against bytes per image, every curve (data: rate_accuracy.dat, script: rate_accuracy.gp)
EOF
exit $rc
