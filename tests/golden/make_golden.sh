#!/usr/bin/env bash
# Writes the golden vectors of one format version: tests/golden/v1 (format 1.0),
# tests/golden/v1.1 (format 1.1, the adaptive coder) or tests/golden/v1.2 (format 1.2, the
# rans-wide coder). Only for a new format version: log it in
# the changelog of docs/format.md in the same commit. Vectors of released versions never change,
# so an existing directory is refused unless FORCE=1.
#   BUILD_DIR=build tests/golden/make_golden.sh 1.2
# `models` writes tests/golden/models (codec model files, model format 1.0; logged in the
# changelog of docs/format-model.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../../build}
version=${1:-1.2}
case "$version" in
  1.0) dir=$here/v1 ;;
  1.1) dir=$here/v1.1 ;;
  1.2) dir=$here/v1.2 ;;
  1.3) dir=$here/v1.3 ;;
  models) dir=$here/models ;;
  *) echo "usage: $0 1.0|1.1|1.2|1.3|models" >&2; exit 2 ;;
esac
if [[ -e "$dir" && "${FORCE:-0}" != 1 ]]; then
  echo "$dir exists: golden vectors of a released version never change (FORCE=1 to overwrite)" >&2
  exit 1
fi
if [[ "$version" == models ]]; then
  cmake --build "$build" --target ftc_make_golden_models
  rm -rf "$dir"
  "$build/tests/golden/ftc_make_golden_models" "$dir"
  exit 0
fi
cmake --build "$build" --target ftc_make_golden
rm -rf "$dir"
"$build/tests/golden/ftc_make_golden" "$version" "$dir"
