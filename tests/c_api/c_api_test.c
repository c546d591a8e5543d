/* Exercises the C ABI from C: includes only ftc/ftc.h. Exit 0 when every check passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftc/ftc.h"

static int failures = 0;
#define CHECK(cond)                                                 \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                   \
    }                                                               \
  } while (0)

int main(void) {
  enum { C = 8, H = 5, W = 5, N = C * H * W };
  float x[N];
  for (int i = 0; i < N; ++i) x[i] = (float)sin(0.37 * i) * (float)(1 + i / (H * W));
  const int64_t shape[4] = {1, C, H, W};
  ftc_tensor t = {FTC_F32, 4, shape, NULL, x, "features"};

  ftc_encoder* enc = ftc_encoder_create();
  CHECK(enc != NULL);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_BITS, 8) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CHANNEL_AXIS, 1) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_BITS, 17) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(enc, (ftc_param)999, 1) == FTC_ERROR_INVALID_ARGUMENT);

  size_t bound = ftc_encode_bound(enc, &t, 1);
  CHECK(bound > 0);
  unsigned char* frame = malloc(bound);
  size_t size = 0;
  /* Too small a buffer: caller error, and the size needed is reported. */
  CHECK(ftc_encode(enc, &t, 1, frame, 4, &size) == FTC_ERROR_BUFFER_TOO_SMALL);
  CHECK(size > 4 && size <= bound);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);

  ftc_decoder* dec = ftc_decoder_create();
  CHECK(ftc_decode(dec, frame, size) == FTC_OK);
  CHECK(ftc_decoder_tensor_count(dec) == 1);
  ftc_tensor out;
  CHECK(ftc_decoder_get_tensor(dec, 0, &out) == FTC_OK);
  CHECK(out.dtype == FTC_F32 && out.rank == 4 && out.shape[1] == C);
  CHECK(strcmp(out.name, "features") == 0);
  const float* y = (const float*)out.data;
  for (int c = 0; c < C; ++c) {
    float lo = 1e30f, hi = -1e30f;
    for (int i = 0; i < H * W; ++i) {
      float v = x[c * H * W + i];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    const float half_step = (hi - lo) / 255.0f / 2.0f;
    for (int i = 0; i < H * W; ++i) CHECK(fabsf(x[c * H * W + i] - y[c * H * W + i]) <= half_step * 1.0001f + 1e-6f);
  }

  /* decode_into: a too-small buffer keeps its canary, and the size is reported. */
  float small[N + 1];
  small[3] = 12345.0f;
  size_t need = 0;
  CHECK(ftc_decode_into(dec, frame, size, small, 3 * sizeof(float), &need) == FTC_ERROR_BUFFER_TOO_SMALL);
  CHECK(need == sizeof(float) * N);
  CHECK(small[3] == 12345.0f);
  CHECK(ftc_decode_into(dec, frame, size, small, sizeof small, &need) == FTC_OK);

  /* Bad input is told apart from caller mistakes. */
  frame[size / 2] ^= 0x10;
  ftc_status s = ftc_decode(dec, frame, size);
  CHECK(s != FTC_OK && ftc_status_is_input_error(s));
  CHECK(strlen(ftc_decoder_last_error(dec)) > 0);
  CHECK(ftc_decoder_tensor_count(dec) == 0);
  CHECK(ftc_decode(dec, frame, 2) == FTC_ERROR_TRUNCATED);
  CHECK(!ftc_status_is_input_error(FTC_ERROR_BUFFER_TOO_SMALL));
  CHECK(ftc_decoder_set_limit(dec, FTC_LIMIT_MAX_ELEMENTS, 0) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(strcmp(ftc_status_string(FTC_ERROR_CHECKSUM), "checksum mismatch") == 0);
  CHECK(ftc_format_version() == 0x103);  /* newest format read and written: 1.2 */

  /* Lossless is bit-exact. */
  CHECK(ftc_encoder_set(enc, FTC_PARAM_QUANTIZER, FTC_QUANT_LOSSLESS) == FTC_OK);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(ftc_decode(dec, frame, size) == FTC_OK);
  CHECK(ftc_decoder_get_tensor(dec, 0, &out) == FTC_OK);
  CHECK(memcmp(out.data, x, sizeof x) == 0);

  /* rans lanes (format 1.2): 0 automatic, 32 (coder 2, frame 1.0), 64 or 128 (coder 4, frame
     1.2); nothing else. Coder ids 0..4. A refused value leaves the previous one in place. */
  CHECK(ftc_encoder_set(enc, FTC_PARAM_QUANTIZER, FTC_QUANT_UNIFORM) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CODER, FTC_CODER_RANS_WIDE) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CODER, 6) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CODER, -1) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 0) == FTC_OK);
  bound = ftc_encode_bound(enc, &t, 1);  /* rans bounds count 128 flushed states */
  frame = realloc(frame, bound);
  CHECK(frame != NULL);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(frame[3] == 0x12);  /* rans-wide: at least 64 lanes */
  float wide[N], narrow[N];
  CHECK(ftc_decode_into(dec, frame, size, wide, sizeof wide, &need) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CODER, FTC_CODER_RANS) == FTC_OK);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(frame[3] == 0x10);  /* 200 elements: automatic lanes are 32, coder 2 */
  CHECK(ftc_decode_into(dec, frame, size, narrow, sizeof narrow, &need) == FTC_OK);
  CHECK(memcmp(wide, narrow, sizeof wide) == 0);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 32) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 128) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 64) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 48) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 256) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, -32) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(frame[3] == 0x12);  /* 64 lanes kept after the refused 48: coder 4 */
  CHECK(ftc_decode_into(dec, frame, size, wide, sizeof wide, &need) == FTC_OK);
  CHECK(memcmp(wide, narrow, sizeof wide) == 0);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_RANS_LANES, 32) == FTC_OK);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(frame[3] == 0x10);

  /* One pool shared by the encoder and the decoder; the handle may be freed while they use it. */
  ftc_pool* pool = ftc_pool_create(3);
  CHECK(pool != NULL);
  CHECK(ftc_pool_create(100000) == NULL);
  CHECK(ftc_encoder_set_pool(enc, pool) == FTC_OK);
  CHECK(ftc_decoder_set_pool(dec, pool) == FTC_OK);
  ftc_pool_free(pool);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_THREADS, 4) == FTC_OK);
  CHECK(ftc_encoder_set(enc, FTC_PARAM_CHUNK_ELEMENTS, 25) == FTC_OK);
  CHECK(ftc_decoder_set_limit(dec, FTC_DECODER_THREADS, 4) == FTC_OK);
  CHECK(ftc_encode(enc, &t, 1, frame, bound, &size) == FTC_OK);
  CHECK(ftc_decode_into(dec, frame, size, wide, sizeof wide, &need) == FTC_OK);
  CHECK(memcmp(wide, narrow, sizeof wide) == 0);
  CHECK(ftc_encoder_set_pool(NULL, NULL) == FTC_ERROR_INVALID_ARGUMENT);
  ftc_pool_free(NULL);

  /* A codec model: a golden compact frame decodes once the model is registered, not before. */
  {
    unsigned char model_bytes[8192], frame13[4096];
    FILE* mf = fopen(FTC_SOURCE_DIR "/tests/golden/v1.3/models/golden13.ftcm", "rb");
    FILE* ff = fopen(FTC_SOURCE_DIR "/tests/golden/v1.3/valid/compact_rate_point1.ftc", "rb");
    CHECK(mf != NULL && ff != NULL);
    if (mf && ff) {
      size_t mn = fread(model_bytes, 1, sizeof model_bytes, mf), fn = fread(frame13, 1, sizeof frame13, ff);
      ftc_codec_model* model = NULL;
      CHECK(ftc_codec_model_load(model_bytes, mn - 1, &model) != FTC_OK && model == NULL);
      CHECK(ftc_codec_model_load(model_bytes, mn, &model) == FTC_OK && model != NULL);
      CHECK(ftc_codec_model_id(model) == 0x13 && ftc_codec_model_rate_points(model) == 2);
      ftc_decoder* md = ftc_decoder_create();
      CHECK(ftc_decode(md, frame13, fn) == FTC_ERROR_MODEL_MISMATCH);
      CHECK(ftc_decoder_add_codec_model(md, model) == FTC_OK);
      ftc_codec_model_free(model);
      CHECK(ftc_decode(md, frame13, fn) == FTC_OK);
      CHECK(ftc_decoder_tensor_count(md) == 1);
      ftc_decoder_free(md);
    }
    if (mf) fclose(mf);
    if (ff) fclose(ff);
  }

  ftc_encoder_free(enc);
  ftc_decoder_free(dec);
  ftc_encoder_free(NULL);
  ftc_decoder_free(NULL);
  free(frame);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("c_api_test: all checks passed\n");
  return failures ? 1 : 0;
}
