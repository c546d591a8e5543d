#!/usr/bin/env bash
# Before installation, <build>/pkgconfig/ftc.pc builds a C consumer against the build tree (the
# source headers, the build's libftc.so), which then round-trips.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PKG_CONFIG_PATH="$build/pkgconfig"
cc "$src/tests/install/consumer.c" -o "$tmp/consumer" $(pkg-config --cflags --libs ftc)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir ftc)" "$tmp/consumer"
[[ $(pkg-config --variable=includedir ftc) == "$src/include" ]]
echo "build-tree pkg-config: consumer built and round-tripped"
