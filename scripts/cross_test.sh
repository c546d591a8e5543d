#!/usr/bin/env bash
# Cross stage of the test suite (docs/devices.md): the core built for aarch64, armhf and s390x
# (big-endian) with Debian's cross compilers, run under qemu-user:
#   1. installs the cross compilers, qemu-user and the targets' libraries (install-cross-deps.sh);
#   2. native build of the identity driver (tests/cross/cross_frames.cpp): the reference frames,
#      their hashes and decoded hashes on this x86-64 machine;
#   3. per target: the core and its tests, cross-compiled; on every emulated CPU of the target
#      the golden-vector, round-trip, rANS and adaptive-coder tests, then the driver, whose frames
#      must be byte-identical to x86-64's and whose decodes of x86-64's frames must hash the same.
#      aarch64 runs as a NEON-only core (cortex-a72) and with SVE/SVE2 at 128, 256 and 512 bits;
#      each driver run covers every Highway target that CPU supports;
#   4. an aarch64 encoder-only core (FTC_ENCODER_ONLY) links without the decoder.
# Exit non-zero on the first build failure, test failure or difference from x86-64.
#   FTC_BUILD_ROOT (default build): builds under $FTC_BUILD_ROOT/cross.
#   FTC_CROSS_TARGETS (default "aarch64 armhf s390x"): the targets to run.
#   FTC_JOBS: build parallelism.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${FTC_BUILD_ROOT:-$src/build}/cross
jobs=${FTC_JOBS:-$(nproc)}
targets=${FTC_CROSS_TARGETS:-aarch64 armhf s390x}
started=$(date +%s)
step() { printf '\n=== cross: %s (%ss) ===\n' "$*" "$(( $(date +%s) - started ))"; }
fail() { echo "cross: $*" >&2; echo "cross stage FAILED after $(( $(date +%s) - started )) s" >&2; exit 1; }

step "dependencies"
"$src/scripts/install-cross-deps.sh" "$out"

common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DFTC_BUILD_PIPELINE=OFF -DFTC_BUILD_BENCH=OFF -DFTC_BUILD_TOOLS=OFF)
if command -v ccache >/dev/null; then common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
tests=(golden_test roundtrip_test rans_test adaptive_test)

step "x86-64 reference frames"
cmake -S "$src" -B "$out/native" "${common[@]}" >/dev/null
cmake --build "$out/native" -j "$jobs" --target cross_frames
rm -rf "$out/ref"
mkdir -p "$out/ref"
"$out/native/tests/cross/cross_frames" encode "$out/ref/frames" > "$out/ref/encode.txt" || fail "x86-64 driver failed"
cut -d' ' -f1,4 "$out/ref/encode.txt" > "$out/ref/decode.txt"
echo "$(wc -l < "$out/ref/encode.txt") frames"

# target → Debian architecture, triplet, qemu binary, CPUs to emulate (qemu -cpu values).
declare -A arch=([aarch64]=arm64 [armhf]=armhf [s390x]=s390x)
declare -A triplet=([aarch64]=aarch64-linux-gnu [armhf]=arm-linux-gnueabihf [s390x]=s390x-linux-gnu)
declare -A qemu=([aarch64]=qemu-aarch64 [armhf]=qemu-arm [s390x]=qemu-s390x)
declare -A cpus=([aarch64]="cortex-a72 max,sve-max-vq=1 max,sve-max-vq=2 max,sve-max-vq=4" [armhf]="max" [s390x]="max")
# The doctest suites on these CPUs (each already loops over every Highway target it supports).
declare -A test_cpus=([aarch64]="max,sve-max-vq=1 max,sve-max-vq=2 max,sve-max-vq=4" [armhf]="max" [s390x]="max")

for t in $targets; do
  [[ -n ${arch[$t]:-} ]] || fail "unknown target $t (aarch64, armhf, s390x)"
  step "$t: build"
  a=${arch[$t]}
  tri=${triplet[$t]}
  sysroot="$out/sysroot/$a"
  cmake -S "$src" -B "$out/$t" "${common[@]}" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchains/$tri.cmake" \
    -DFTC_CROSS_SYSROOT="$sysroot" >/dev/null
  cmake --build "$out/$t" -j "$jobs" --target "${tests[@]}" cross_frames
  bin() { find "$out/$t/tests" -type f -name "$1" -perm -u+x | head -n 1; }
  for cpu in ${cpus[$t]}; do
    run=("${qemu[$t]}" -L "/usr/$tri" -E "LD_LIBRARY_PATH=$sysroot/usr/lib/$tri:$sysroot/lib/$tri" -cpu "$cpu")
    if [[ " ${test_cpus[$t]} " == *" $cpu "* ]]; then
      for test in "${tests[@]}"; do
        step "$t -cpu $cpu: $test"
        "${run[@]}" "$(bin "$test")" --no-version || fail "$t -cpu $cpu: $test failed"
      done
    fi
    step "$t -cpu $cpu: frames against x86-64"
    res="$out/$t/result-${cpu//[,=]/_}"
    rm -rf "$res"
    mkdir -p "$res"
    "${run[@]}" "$(bin cross_frames)" encode "$res/frames" > "$res/encode.txt" || fail "$t -cpu $cpu: driver failed (kernels disagree or a frame failed)"
    "${run[@]}" "$(bin cross_frames)" decode "$out/ref/frames" > "$res/decode.txt" || fail "$t -cpu $cpu: decoding x86-64's frames failed"
    diff -u "$out/ref/encode.txt" "$res/encode.txt" || fail "$t -cpu $cpu: frames differ from x86-64 (above: - x86-64, + $t)"
    diff -u "$out/ref/decode.txt" "$res/decode.txt" || fail "$t -cpu $cpu: decoded hashes of x86-64's frames differ (above)"
    cmp -s <(cd "$out/ref/frames" && sha256sum -- *.ftc) <(cd "$res/frames" && sha256sum -- *.ftc) ||
      fail "$t -cpu $cpu: written frame files differ from x86-64's"
    echo "$t -cpu $cpu: $(wc -l < "$res/encode.txt") frames byte-identical to x86-64, all decodes equal"
  done
done

if [[ " $targets " == *" aarch64 "* ]]; then
  step "aarch64 encoder-only core: links alone, holds no decoder"
  cmake -S "$src" -B "$out/aarch64-encoder-only" "${common[@]}" -DFTC_ENCODER_ONLY=ON \
    -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchains/aarch64-linux-gnu.cmake" -DFTC_CROSS_SYSROOT="$out/sysroot/arm64" \
    -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--no-undefined >/dev/null
  cmake --build "$out/aarch64-encoder-only" -j "$jobs" --target ftc_shared
  so=$(find "$out/aarch64-encoder-only/codec" -name 'libftc.so.*.*' | head -n 1)
  if aarch64-linux-gnu-nm -DC --defined-only "$so" | grep -E ' (ftc_decode|ftc_decoder_create|ftc::Decoder::decode)'; then
    fail "the encoder-only core exports a decoder (above)"
  fi
  aarch64-linux-gnu-nm -DC --defined-only "$so" | grep -q ' ftc_encode$' || fail "the encoder-only core lacks ftc_encode"
fi

echo
echo "cross stage passed: ${targets} in $(( $(date +%s) - started )) s"
