/* A user's program: includes only ftc.h, links the installed library, round-trips a tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftc/ftc.h>

int main(void) {
  float x[64];
  for (int i = 0; i < 64; ++i) x[i] = (float)(i % 7) - 3.0f;
  const int64_t shape[2] = {8, 8};
  ftc_tensor t = {FTC_F32, 2, shape, NULL, x, NULL};
  ftc_encoder* e = ftc_encoder_create();
  ftc_decoder* d = ftc_decoder_create();
  if (!e || !d) return 1;
  ftc_encoder_set(e, FTC_PARAM_QUANTIZER, FTC_QUANT_LOSSLESS);
  size_t cap = ftc_encode_bound(e, &t, 1), size = 0;
  void* buf = malloc(cap);
  float y[64];
  size_t got = 0;
  if (ftc_encode(e, &t, 1, buf, cap, &size) != FTC_OK) return 2;
  if (ftc_decode_into(d, buf, size, y, sizeof y, &got) != FTC_OK || got != sizeof y) return 3;
  if (memcmp(x, y, sizeof x) != 0) return 4;
  printf("consumer: ftc %s round-tripped %zu bytes\n", ftc_version_string(), size);
  free(buf);
  ftc_encoder_free(e);
  ftc_decoder_free(d);
  return 0;
}
