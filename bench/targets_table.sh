#!/usr/bin/env bash
# The per-target table of docs/benchmarks.md: ftc-rans encode / decode MB/s on each Highway target
# this CPU runs (ftc_bench coders --simd-target) and on the scalar kernels, each beside
# htscodecs-rans-o0 held to the same instruction set in the same process, one markdown row per
# input.
#   BUILD=build bench/targets_table.sh [DIR]
# DIR holds the inputs of bench/coders_table.sh (default /tmp/ftc-bench; made there if missing).
# FTC_TARGETS: the targets to try (default: AVX3_ZEN4 AVX3 AVX2 SSE4 SSSE3 NEON SVE SVE2); ones the
# CPU does not run are left out. Each cell is the median of FTC_TABLE_RUNS processes (default 3),
# each the median of --repetitions 5.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
dir=${1:-/tmp/ftc-bench}
ftc_bench=$build/bench/ftc_bench
[[ -f $dir/laplace_1024k.npy ]] || "$build/bench/ftc_make_tensors" "$dir" 64 1024 16384 >/dev/null
read -r -a wanted <<<"${FTC_TARGETS:-AVX3_ZEN4 AVX3 AVX2 SSE4 SSSE3 NEON SVE SVE2}"
targets=()
for t in "${wanted[@]}"; do
  if "$ftc_bench" coders "$dir/relu_64k.npy" --bits 8 --per-channel 1 --coders ftc-rans --repetitions 1 \
    --simd-target "$t" >/dev/null 2>&1; then targets+=("$t"); fi
done
runs=${FTC_TABLE_RUNS:-3}
header="| input | scalar enc / dec MB/s"
for t in "${targets[@]}"; do header+=" | $t"; done
echo "$header |"
sep="|---|---"
for _ in "${targets[@]}"; do sep+="|---"; done
echo "$sep|"
inputs=("relu 64 KiB:relu_64k" "laplace 1 MiB:laplace_1024k" "relu 16 MiB:relu_16384k")
[[ -f $dir/resnet_s1_64.npy ]] && inputs+=("resnet stage 1, N=64:resnet_s1_64")
for entry in "${inputs[@]}"; do
  label=${entry%%:*}
  name=${entry#*:}
  for ((k = 0; k < runs; ++k)); do  # kernels interleaved: the host's bursts spread over all of them
    for kernel in scalar "${targets[@]}"; do
      if [[ $kernel == scalar ]]; then opt=(--scalar); else opt=(--simd-target "$kernel"); fi
      "$ftc_bench" coders "$dir/$name.npy" --bits 8 --per-channel 1 --coders ftc-rans,htscodecs-rans-o0 \
        --repetitions 5 "${opt[@]}" --json
      echo
    done
  done | python3 "$src/bench/bench_rows.py" targets "$label"
done
