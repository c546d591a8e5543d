#!/usr/bin/env bash
# Regenerates tests/golden/v<major>/ from the current encoder. Only for a format change: log it in
# the changelog of docs/format.md in the same commit. Vectors of released versions never change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../../build}
cmake --build "$build" --target ftc_make_golden
rm -rf "$here/v1"
"$build/tests/golden/ftc_make_golden" "$here/v1"
