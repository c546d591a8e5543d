#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. installs the Debian packages (scripts/install-deps.sh; a no-op when present),
#   2. Release build + every test (unit, golden vectors, corruption, C ABI, CLI, ONNX pipeline,
#      fuzz-corpus replay, installed-package consumers),
#   3. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (no recovery),
#   4. the multi-threaded coding tests under ThreadSanitizer,
#   5. the cross stage (scripts/cross_test.sh): the core for aarch64, armhf and s390x under
#      qemu-user, its frames byte-identical to x86-64's (FTC_CROSS=0 skips it locally),
#   6. a short libFuzzer run of every fuzz target (FTC_FUZZ_SECONDS each, default 30).
# FTC_QUICK=1 runs steps 1 and 2 only. The fuzz corpora and regressions are replayed once, under
# the sanitizers (step 3; ctest label `corpus`, left out of step 2 with -LE corpus), since a
# replay finds little without them; FTC_QUICK=1 replays them in step 2 instead. At the end (also
# when a stage fails) a summary prints each stage's wall time.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${FTC_BUILD_ROOT:-$src/build}
jobs=${FTC_JOBS:-$(nproc)}

# Stage timing: step NAME closes the running stage and opens the next; the EXIT trap closes the
# last one (marked FAILED when the script exits non-zero) and prints every stage's wall time and
# CPU time (user + system of the stage's finished child processes, from /proc/$$/stat). On a shared
# machine the wall time grows with the load; CPU ÷ cores is what the stage needs of an idle one.
ticks=$(getconf CLK_TCK)
cpu_ticks() {  # cutime + cstime of this shell: fields 16 and 17 of /proc/PID/stat
  local line f
  read -r line </proc/$$/stat
  read -r -a f <<<"${line##*) }"
  echo $((f[13] + f[14]))
}
stage_names=() stage_secs=() stage_cpu=() stage_name="" stage_start=0 stage_cpu0=0
suite_start=$SECONDS suite_cpu0=$(cpu_ticks)
close_stage() {
  [[ -n $stage_name ]] || return 0
  stage_names+=("$stage_name$1")
  stage_secs+=($((SECONDS - stage_start)))
  stage_cpu+=($((($(cpu_ticks) - stage_cpu0) / ticks)))
  stage_name=""
}
step() {
  close_stage ""
  stage_name="$*" stage_start=$SECONDS stage_cpu0=$(cpu_ticks)
  printf '\n=== %s ===\n' "$*"
}
summary() {
  local rc=$?
  close_stage "$([[ $rc == 0 ]] || echo " (FAILED)")"
  printf '\n=== time per stage: wall, CPU (user + system) ===\n'
  local i
  for i in "${!stage_names[@]}"; do
    printf '%6d s %7d s  %s\n' "${stage_secs[$i]}" "${stage_cpu[$i]}" "${stage_names[$i]}"
  done
  printf '%6d s %7d s  total\n' $((SECONDS - suite_start)) $((($(cpu_ticks) - suite_cpu0) / ticks))
  return $rc
}
trap summary EXIT

step "dependencies"
"$src/scripts/install-deps.sh"

step "release build"
cmake -S "$src" -B "$out/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/release" -j "$jobs"
step "release tests"
if [[ "${FTC_QUICK:-0}" == 1 ]]; then
  ctest --test-dir "$out/release" -j "$jobs" --output-on-failure
  exit 0
fi
ctest --test-dir "$out/release" -j "$jobs" --output-on-failure -LE corpus

step "decoder-only build decodes every golden vector"
cmake -S "$src" -B "$out/decoder-only" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFTC_DECODER_ONLY=ON >/dev/null
cmake --build "$out/decoder-only" -j "$jobs"
# No encoder class, encode/quantize function or zstd compression in the decoder-only library; the
# same check on the full library must fail, or the check has stopped seeing encoders.
"$src/scripts/check_decoder_only.sh" "$out/decoder-only/codec/libftc.a"
if "$src/scripts/check_decoder_only.sh" "$out/release/codec/libftc.a" >/dev/null 2>&1; then
  echo "check_decoder_only.sh finds no encoder in the full library: the check is broken" >&2; exit 1
fi
ctest --test-dir "$out/decoder-only" --output-on-failure

step "AddressSanitizer + UndefinedBehaviorSanitizer: build"
# The ONNX pipeline is left out here: OpenCV and protobuf keep process-lifetime allocations that
# LeakSanitizer reports as leaks; the codec, CLI and every decoder path are in.
cmake -S "$src" -B "$out/asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTC_SANITIZE=address,undefined \
  -DFTC_BUILD_PIPELINE=OFF -DFTC_BUILD_BENCH=OFF >/dev/null
cmake --build "$out/asan" -j "$jobs"
step "AddressSanitizer + UndefinedBehaviorSanitizer: tests and fuzz-corpus replay"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$out/asan" -j "$jobs" --output-on-failure

step "ThreadSanitizer: multi-threaded encode and decode"
cmake -S "$src" -B "$out/tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTC_SANITIZE=thread \
  -DFTC_BUILD_PIPELINE=OFF -DFTC_BUILD_BENCH=OFF -DFTC_BUILD_TOOLS=OFF >/dev/null
cmake --build "$out/tsan" -j "$jobs" --target roundtrip_test golden_test rans_test
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$out/tsan" --output-on-failure -R '^(roundtrip_test|golden_test|rans_test)$'

step "cross stage: aarch64 (NEON, SVE), armhf, s390x under qemu-user, frames identical to x86-64"
# docs/devices.md; FTC_CROSS=0 leaves it out of a local run (CI always runs it).
if [[ "${FTC_CROSS:-1}" != 0 ]]; then
  FTC_BUILD_ROOT="$out" FTC_JOBS="$jobs" "$src/scripts/cross_test.sh"
fi

step "short fuzz run"
"$src/fuzz/run_short.sh" "${FTC_FUZZ_SECONDS:-30}" "$out/fuzz"

echo
echo "all test stages passed"
