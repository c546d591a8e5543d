#!/usr/bin/env bash
# Installs every Debian 12 package that ftc's build, tests, tools, benchmarks,
# fuzzers, trainer and the split-inference demo need. Idempotent; run as root or with sudo:
#   scripts/install-deps.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # codec core
  libzstd-dev libxxhash-dev libeigen3-dev libhwy-dev libpng-dev libjpeg-dev
  # CLI, tests, benchmarks
  libcli11-dev nlohmann-json3-dev libfmt-dev doctest-dev libbenchmark-dev
  # ONNX pipeline: graph surgery and execution
  libonnx-dev libprotobuf-dev protobuf-compiler
  libopencv-dnn-dev libopencv-core-dev
  # baselines measured beside ftc
  libzfp-dev libfpzip-dev libhtscodecs-dev
  # the Python module (python/) and its tests
  pybind11-dev python3-dev python3-numpy
  # data and plots for the demo
  dataset-fashion-mnist gnuplot-nox
  # fuzzers and sanitizers
  clang libclang-rt-14-dev llvm
  # the split-inference server (server/: cpp-httplib) and its nginx fail-over test
  libcpp-httplib-dev nginx
  # the trainer (train/, `ftc learn`) and its tests (tests/train/)
  python3-torch python3-onnx
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
