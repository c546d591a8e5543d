#!/usr/bin/env bash
# Checks that a static libftc holds no encoding code: no symbol it defines names an encoder class,
# an encode or quantize function, or the option table, and it references no zstd compression.
#   scripts/check_decoder_only.sh LIBFTC.a
# Exit 0: clean. Exit 1: prints every offending symbol.
set -euo pipefail
lib=${1:?usage: check_decoder_only.sh LIBFTC.a}
[[ -f "$lib" ]] || { echo "check_decoder_only: $lib not found" >&2; exit 1; }

# Defined symbols (code, data, vtables, typeinfo), demangled.
defined=$(nm -C --defined-only "$lib" 2>/dev/null | grep -E '^[0-9a-f]+ [TtWwVvDdRrBb] ' | cut -d' ' -f3- || true)
# Encoder classes and functions: *Encoder*, encode*/…_encoder, quantize (not dequantize), the
# rANS encoder model and kernels, the encoder option table.
encoder_pattern='Encoder|(^|[^a-z_])encode[a-z_]*\(|_encoder\(|(^|[^e])quantize(_[a-z]+)?\(|fit_uniform|build_enc_model|EncModel|EncKernel|encoder_param|set_encoder_option|EncoderOptions::validate'
bad_defined=$(printf '%s\n' "$defined" | grep -E "$encoder_pattern" || true)
# Referenced symbols: zstd compression.
bad_undefined=$(nm --undefined-only "$lib" 2>/dev/null | grep -E 'ZSTD_(compress|createCCtx|freeCCtx|initCStream|CCtx|endStream)' || true)
bad_defined_zstd=$(printf '%s\n' "$defined" | grep -E 'ZSTD_compress|ZSTD_createCCtx' || true)

if [[ -n "$bad_defined$bad_undefined$bad_defined_zstd" ]]; then
  echo "decoder-only check: $lib contains encoding code:" >&2
  printf '%s\n' "$bad_defined" "$bad_defined_zstd" "$bad_undefined" | grep -v '^$' | sort -u | head -n 40 >&2
  exit 1
fi
echo "decoder-only check: $lib holds no encoder and no zstd compression"
