#!/usr/bin/env bash
# Builds the libFuzzer targets with clang under ASan+UBSan (no recovery) in their own build
# directory and runs each for N seconds (default 30), one at a time, with a capped allocator.
# Used by CI (.ci/run) with a small N; docs/fuzzing.md has the long-run commands and figures.
#
#   fuzz/run_short.sh [SECONDS] [BUILD_DIR] [TARGET…]
#
# Environment: FTC_FUZZ_JOBS (build parallelism, default 2), FTC_FUZZ_KEEP_CORPUS=1 keeps what the
# run finds in BUILD_DIR/corpus-out/<target> (never written into the source tree).
set -euo pipefail

secs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${2:-$src/build-fuzz}
shift $(( $# > 2 ? 2 : $# )) || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_decode fuzz_frame fuzz_rans fuzz_tables fuzz_roundtrip fuzz_decode_into fuzz_adaptive fuzz_model fuzz_compact
           fuzz_npy fuzz_onnx fuzz_idx fuzz_image)
fi

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFTC_BUILD_FUZZ=ON -DFTC_BUILD_TESTS=OFF -DFTC_BUILD_PIPELINE=ON -DFTC_BUILD_TOOLS=OFF \
  -DFTC_BUILD_BENCH=OFF -DFTC_SANITIZE=address,undefined \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j "${FTC_FUZZ_JOBS:-2}" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  work="$build/corpus-out/$t"
  rm -rf "$work" && mkdir -p "$work" "$build/artifacts/$t"
  echo "=== $t: ${secs}s"
  # New inputs go to $work (first directory); the seed corpus and regressions are read only.
  if ! "$build/fuzz/$t" "$work" "$here/corpus/$t" "$here/regressions" \
      -dict="$here/ftc.dict" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2560 -malloc_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" 2>"$build/$t.log"; then
    echo "!!! $t failed; log: $build/$t.log; artifacts: $build/artifacts/$t/"
    tail -n 40 "$build/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|^#[0-9]+.*DONE" "$build/$t.log" | tail -n 3 || true
  fi
  [ "${FTC_FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work"
done
exit $status
