#!/usr/bin/env bash
# What the core adds to an aarch64 app (docs/benchmarks.md, "Footprint on aarch64"):
#   - stripped libftc.so of a full, an encoder-only (FTC_ENCODER_ONLY) and a decoder-only
#     (FTC_DECODER_ONLY) core;
#   - stripped size of a minimal C app that encodes (or decodes) one frame through the C ABI,
#     linked with libftc.a and libzstd.a (-ffunction-sections, --gc-sections), minus the same app
#     without ftc calls; libstdc++ and Highway's libhwy.so stay shared (Debian ships no static
#     libhwy), and libhwy.so's own stripped size is listed apart;
#   - the largest parts of each app, by symbol family.
#   bench/footprint.sh [OUT]        OUT defaults to build/footprint
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build/footprint}
tri=aarch64-linux-gnu
"$src/scripts/install-cross-deps.sh" "$src/build/cross" >/dev/null
sysroot=$src/build/cross/sysroot/arm64
lib=$sysroot/usr/lib/$tri
flags="-Os -ffunction-sections -fdata-sections"
mkdir -p "$out"
for v in full:"" enc:-DFTC_ENCODER_ONLY=ON dec:-DFTC_DECODER_ONLY=ON; do
  name=${v%%:*}
  cmake -S "$src" -B "$out/$name" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchains/$tri.cmake" -DFTC_CROSS_SYSROOT="$sysroot" \
    -DFTC_BUILD_PIPELINE=OFF -DFTC_BUILD_TOOLS=OFF -DFTC_BUILD_BENCH=OFF -DFTC_BUILD_TESTS=OFF ${v#*:} \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
  cmake --build "$out/$name" --target ftc_static ftc_shared >/dev/null
  $tri-strip -o "$out/libftc-$name.so" "$out/$name/codec/libftc.so"
done

cat > "$out/app_enc.c" <<'C'
#include <ftc/ftc.h>
#include <stdlib.h>
int main(void) {
  static float x[64 * 28 * 28];
  int64_t shape[4] = {1, 64, 28, 28};
  ftc_tensor t = {FTC_F32, 4, shape, NULL, x, "features"};
  ftc_encoder* enc = ftc_encoder_create();
  ftc_encoder_set(enc, FTC_PARAM_BITS, 8);
  ftc_encoder_set(enc, FTC_PARAM_CODER, FTC_CODER_RANS);
  size_t cap = ftc_encode_bound(enc, &t, 1), size = 0;
  void* buf = malloc(cap);
  ftc_status s = ftc_encode(enc, &t, 1, buf, cap, &size);
  ftc_encoder_free(enc);
  free(buf);
  return s == FTC_OK ? 0 : 1;
}
C
cat > "$out/app_dec.c" <<'C'
#include <ftc/ftc.h>
#include <stdio.h>
int main(int argc, char** argv) {
  static unsigned char frame[1 << 20];
  FILE* f = fopen(argc > 1 ? argv[1] : "frame.ftc", "rb");
  size_t n = f ? fread(frame, 1, sizeof frame, f) : 0;
  ftc_decoder* dec = ftc_decoder_create();
  ftc_decoder_set_limit(dec, FTC_LIMIT_MAX_OUTPUT_BYTES, 64 << 20);
  ftc_status s = ftc_decode(dec, frame, n);
  ftc_tensor t;
  if (s == FTC_OK) s = ftc_decoder_get_tensor(dec, 0, &t);
  ftc_decoder_free(dec);
  return s == FTC_OK ? 0 : 1;
}
C
cat > "$out/app_none.c" <<'C'
#include <stdio.h>
int main(int argc, char** argv) { (void)argv; printf("%d\n", argc); return 0; }
C
link() {  # link APP LIBFTC.a OUT
  $tri-g++ $flags -Wl,--gc-sections -I"$src/include" -x c "$1" -x none "$2" "$lib/libzstd.a" -L"$lib" -lhwy \
    -Wl,-rpath-link,"$lib" -lpthread -o "$3"
}
$tri-gcc $flags -Wl,--gc-sections "$out/app_none.c" -o "$out/app_none"
link "$out/app_enc.c" "$out/enc/codec/libftc.a" "$out/app_enc"
link "$out/app_dec.c" "$out/dec/codec/libftc.a" "$out/app_dec"
link "$out/app_enc.c" "$out/full/codec/libftc.a" "$out/app_enc_fullcore"
for a in app_none app_enc app_dec app_enc_fullcore; do $tri-strip -o "$out/$a.stripped" "$out/$a"; done
size() { stat -c %s "$1"; }
base=$(size "$out/app_none.stripped")
$tri-strip -o "$out/libhwy.so.stripped" "$lib/libhwy.so.1.0.3"
echo "stripped libftc.so, aarch64: full $(size "$out/libftc-full.so") B, encoder-only $(size "$out/libftc-enc.so") B, decoder-only $(size "$out/libftc-dec.so") B"
echo "app increment (stripped app - stripped empty app, libftc.a + libzstd.a static):"
echo "  encoder-only core: $(( $(size "$out/app_enc.stripped") - base )) B"
echo "  decoder-only core: $(( $(size "$out/app_dec.stripped") - base )) B"
echo "  full core, encoding app (--gc-sections): $(( $(size "$out/app_enc_fullcore.stripped") - base )) B"
echo "  plus shared libhwy.so.1 (stripped): $(size "$out/libhwy.so.stripped") B"
# Largest parts: code and data sizes of each app's symbols, by family.
for a in app_enc app_dec; do
  echo "$a by symbol family (bytes):"
  $tri-nm -C --size-sort -S "$out/$a" | awk '
    function hex(h,   i, v) { v = 0; h = tolower(h); for (i = 1; i <= length(h); ++i) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    $3 ~ /^[bB]$/ { next }  # zero-filled data: no bytes in the file
    { sz = hex($2); $1 = $2 = $3 = ""; s = substr($0, 4)
      f = "other"
      if (s ~ /^(ZSTD|HUF|FSE|HIST|POOL|ZSTDMT|COVER|ZDICT|ERR_)/ || s ~ /zstd/) f = "zstd"
      else if (s ~ /N_SVE2_128/) f = "ftc SVE2_128 kernels"
      else if (s ~ /N_SVE_256/) f = "ftc SVE_256 kernels"
      else if (s ~ /N_SVE2::/) f = "ftc SVE2 kernels"
      else if (s ~ /N_SVE::/) f = "ftc SVE kernels"
      else if (s ~ /N_NEON/) f = "ftc NEON kernels"
      else if (s ~ /N_SCALAR|N_EMU128/) f = "ftc scalar (Highway) kernels"
      else if (s ~ /ftc::entropy::rans|rans_detail/) f = "ftc rANS (portable)"
      else if (s ~ /ftc::entropy/) f = "ftc other coders"
      else if (s ~ /ftc::quant/) f = "ftc quantizers"
      else if (s ~ /ftc::|^ftc_/) f = "ftc frame, API, tensors"
      else if (s ~ /std::|__gnu_cxx|__cxx/) f = "C++ library templates"
      tot[f] += sz }
    END { for (f in tot) printf "%8d  %s\n", tot[f], f }' | sort -nr | head -n 12
done
