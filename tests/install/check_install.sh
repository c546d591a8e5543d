#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a C consumer of it twice: through
# find_package(ftc) (shared and static) and through pkg-config. Each consumer must round-trip.
# The installed `ftc` (when the build has one) links no benchmark-only library (htscodecs: only
# bench/ftc_bench links it), and no benchmark program is installed.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
if [[ -x $build/cli/ftc ]]; then
  [[ -x $tmp/prefix/bin/ftc ]] || { echo "ftc was built but not installed" >&2; exit 1; }
  deps=$(ldd "$tmp/prefix/bin/ftc")
  if grep -i htscodecs <<<"$deps"; then
    echo "the installed ftc links htscodecs, a benchmark-only library (bench/ftc_bench)" >&2; exit 1
  fi
fi
if find "$tmp/prefix" -iname '*bench*' | grep .; then
  echo "benchmark files installed (bench/ is never installed)" >&2; exit 1
fi
mkdir "$tmp/consumer"
cp "$src/tests/install/consumer.c" "$tmp/consumer/"
cp "$src/tests/install/CMakeLists.txt.in" "$tmp/consumer/CMakeLists.txt"
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib/x86_64-linux-gnu" "$tmp/consumer/build/consumer_shared"
"$tmp/consumer/build/consumer_static"
pcdir=$(dirname "$(find "$tmp/prefix" -name ftc.pc | head -1)")
export PKG_CONFIG_PATH="$pcdir"
cc "$tmp/consumer/consumer.c" -o "$tmp/consumer_pc" $(pkg-config --cflags --libs ftc)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir ftc)" "$tmp/consumer_pc"
cc "$tmp/consumer/consumer.c" -o "$tmp/consumer_pc_static" $(pkg-config --cflags ftc) \
  "$(pkg-config --variable=libdir ftc)/libftc.a" $(pkg-config --libs-only-l --static ftc | sed 's/-lftc//')
"$tmp/consumer_pc_static"
# The Python package, when built: imported from the installed prefix, not from the build tree.
if compgen -G "$build/python/ftc/_ftc*.so" >/dev/null; then
  init=$(find "$tmp/prefix" -path '*/dist-packages/ftc/__init__.py' | head -1)
  [[ -n $init ]] || { echo "the Python module was built but not installed" >&2; exit 1; }
  site=$(dirname "$(dirname "$init")")
  (cd "$tmp" && PYTHONPATH="$site" "${FTC_PYTHON:-python3}" -c '
import ftc, numpy as np, sys
assert ftc.__file__.startswith(sys.argv[1]), ftc.__file__
x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
assert (ftc.decode(ftc.encode(x, quantizer="lossless")) == x).all()
' "$site")
fi
echo "install consumers: find_package (shared, static) and pkg-config (shared, static) passed; installed ftc links no htscodecs"
