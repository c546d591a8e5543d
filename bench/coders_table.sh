#!/usr/bin/env bash
# The entropy-coder table of docs/benchmarks.md: `ftc_bench coders` on the synthetic and real
# inputs, one process per input, printed as one markdown row per input.
#   BUILD=build bench/coders_table.sh [DIR]
# DIR holds the inputs (default /tmp/ftc-bench); missing ones are made with ftc_make_tensors and,
# for the real feature tensors, ftc_dump_features (a build with FTC_BUILD_PIPELINE=ON).
# Extra ftc_bench coders options come from FTC_BENCH_ARGS (default: --repetitions 5); each input runs
# FTC_TABLE_RUNS processes (default 3) and its MB/s are the medians over them (sizes are exact).
# FTC_TABLE_AXIS is the --per-channel axis (default 1); "none" codes with one per-tensor context,
# as ftc encode does without --per-channel.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
dir=${1:-/tmp/ftc-bench}
ftc_bench=$build/bench/ftc_bench
mkdir -p "$dir"
[[ -f $dir/laplace_65536k.npy ]] || "$build/bench/ftc_make_tensors" "$dir" 64 1024 16384 65536 >/dev/null
dump=$build/bench/ftc_dump_features
m=$src/models
real=()
if [[ -x $dump ]]; then
  [[ -f $dir/resnet_s1_64.npy ]] || "$dump" "$m/fmnist_resnet.onnx" /stage1/block1/relu_2/Relu_output_0 64 "$dir/resnet_s1_64.npy" >/dev/null
  [[ -f $dir/resnet_s2_64.npy ]] || "$dump" "$m/fmnist_resnet.onnx" /stage2/block1/relu_2/Relu_output_0 64 "$dir/resnet_s2_64.npy" >/dev/null
  [[ -f $dir/mbv2_s2_64.npy ]] || "$dump" "$m/fmnist_mobilenetv2.onnx" /stage2/block2/Add_output_0 64 "$dir/mbv2_s2_64.npy" >/dev/null
  [[ -f $dir/resnet_s2_1.npy ]] || "$dump" "$m/fmnist_resnet.onnx" /stage2/block1/relu_2/Relu_output_0 1 "$dir/resnet_s2_1.npy" >/dev/null
  real=("resnet stage 1, N=64:resnet_s1_64" "resnet stage 2, N=64:resnet_s2_64" "mobilenetv2 stage 2, N=64:mbv2_s2_64"
        "resnet stage 2, N=1:resnet_s2_1")
fi
inputs=("relu 64 KiB:relu_64k" "relu 1 MiB:relu_1024k" "laplace 1 MiB:laplace_1024k" "relu 16 MiB:relu_16384k"
        "laplace 16 MiB:laplace_16384k" "relu 64 MiB:relu_65536k" "laplace 64 MiB:laplace_65536k" "${real[@]}")
read -r -a extra <<<"${FTC_BENCH_ARGS:---repetitions 5}"
echo "| input | ftc-rans: bits/sym, enc / dec MB/s (lanes, table bytes) | hts-o0 | zstd-19 | decode ÷ hts-o0 | payload ÷ entropy | payload ÷ own tables' ideal | per-channel tables forced: bytes ÷ ftc-rans | … its payload ÷ entropy |"
echo "|---|---|---|---|---|---|---|---|---|"
runs=${FTC_TABLE_RUNS:-3}
axis=(--per-channel "${FTC_TABLE_AXIS:-1}")
[[ ${FTC_TABLE_AXIS:-1} == none ]] && axis=()
for entry in "${inputs[@]}"; do
  label=${entry%%:*}
  name=${entry#*:}
  for ((k = 0; k < runs; ++k)); do
    "$ftc_bench" coders "$dir/$name.npy" --bits 8 "${axis[@]}" --coders ftc-rans,zstd-19,htscodecs-rans-o0 \
      "${extra[@]}" --json
    echo
  done | python3 "$src/bench/bench_rows.py" coders "$label"
done
