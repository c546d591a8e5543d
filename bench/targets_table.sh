#!/usr/bin/env bash
# The per-target table of docs/benchmarks.md: ftc-rans encode / decode MB/s on each Highway target
# this CPU runs (ftc bench coders --simd-target) and on the scalar kernels, each beside
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
ftc=$build/cli/ftc
[[ -f $dir/laplace_1024k.npy ]] || "$build/bench/ftc_make_tensors" "$dir" 64 1024 16384 >/dev/null
read -r -a wanted <<<"${FTC_TARGETS:-AVX3_ZEN4 AVX3 AVX2 SSE4 SSSE3 NEON SVE SVE2}"
targets=()
for t in "${wanted[@]}"; do
  if "$ftc" bench coders "$dir/relu_64k.npy" --bits 8 --per-channel 1 --coders ftc-rans --repetitions 1 \
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
      "$ftc" bench coders "$dir/$name.npy" --bits 8 --per-channel 1 --coders ftc-rans,htscodecs-rans-o0 \
        --repetitions 5 "${opt[@]}" --json
      echo
    done
  done | python3 -c '
import json, statistics, sys
text, reports, dec, at = sys.stdin.read(), [], json.JSONDecoder(), 0
while text[at:].strip():
    at += len(text[at:]) - len(text[at:].lstrip())
    obj, at = dec.raw_decode(text, at)
    reports.append(obj)
kernels = []
for r in reports:
    if r["rans_kernels"] not in kernels: kernels.append(r["rans_kernels"])
def row(r, name): return next(c for c in r["coders"] if c["name"] == name)
def cell(rs, name):
    e = statistics.median(row(r, name)["encode_MBps"] for r in rs)
    d = statistics.median(row(r, name)["decode_MBps"] for r in rs)
    return "%s / %s" % (format(round(e), ","), format(round(d), ","))
# A cell a kernel: ftc-rans, then htscodecs-rans-o0 held to the same instruction set.
cells = [sys.argv[1]] + ["%s (hts %s)" % (cell([r for r in reports if r["rans_kernels"] == k], "ftc-rans"),
                                          cell([r for r in reports if r["rans_kernels"] == k], "htscodecs-rans-o0"))
                         for k in kernels]
print("| " + " | ".join(cells) + " |")
' "$label"
done
