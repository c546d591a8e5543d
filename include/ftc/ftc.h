/* ftc — feature tensor codec. Stable C ABI.
 *
 * Opaque handles, numbered status codes, no exceptions cross this boundary. Status values never
 * change once released: 1..19 are the caller's mistakes, 20..39 mean the input is bad.
 * The bitstream is specified in docs/format.md. */
#ifndef FTC_FTC_H
#define FTC_FTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ftc_status {
  FTC_OK = 0,
  FTC_ERROR_INVALID_ARGUMENT = 1,
  FTC_ERROR_BUFFER_TOO_SMALL = 2,
  FTC_ERROR_UNSUPPORTED_OPTION = 3,
  FTC_ERROR_CORRUPT = 20,
  FTC_ERROR_TRUNCATED = 21,
  FTC_ERROR_CHECKSUM = 22,
  FTC_ERROR_UNSUPPORTED_VERSION = 23,
  FTC_ERROR_LIMIT_EXCEEDED = 24,
  FTC_ERROR_MODEL_MISMATCH = 25,
  FTC_ERROR_UNSUPPORTED_FEATURE = 26,
  FTC_ERROR_BAD_FILE = 27,
  FTC_ERROR_IO = 90,
  FTC_ERROR_OUT_OF_MEMORY = 91,
  FTC_ERROR_INTERNAL = 99
} ftc_status;

/* 1 when the status says the input (stream, file) is bad, 0 otherwise. */
int ftc_status_is_input_error(ftc_status status);
/* A static, human-readable name of the status. Never NULL. */
const char* ftc_status_string(ftc_status status);
const char* ftc_version_string(void);
/* Newest format version this library reads and writes: major * 256 + minor. A frame is written
   with the lowest minor version that has every feature it uses. */
unsigned ftc_format_version(void);

typedef enum ftc_dtype {
  FTC_F32 = 1, FTC_F64 = 2, FTC_F16 = 3, FTC_BF16 = 4,
  FTC_I8 = 5, FTC_U8 = 6, FTC_I16 = 7, FTC_U16 = 8, FTC_I32 = 9
} ftc_dtype;

#define FTC_MAX_RANK 8

/* A tensor view. strides (in elements) may be NULL for C order. name may be NULL. */
typedef struct ftc_tensor {
  ftc_dtype dtype;
  uint32_t rank;
  const int64_t* shape;
  const int64_t* strides;
  const void* data;
  const char* name;
} ftc_tensor;

/* ---- Threads ----------------------------------------------------------------------------- */

/* Worker threads that encoders and decoders code chunks on, started once by ftc_pool_create and
 * shared by any number of encoders and decoders (a server makes one for all its requests). An
 * encoder or decoder that asks for more than one thread without a pool makes its own once. */
typedef struct ftc_pool ftc_pool;
ftc_pool* ftc_pool_create(unsigned workers);   /* NULL when out of memory; workers ≤ 256 */
/* NULL is fine. Encoders and decoders the pool was set on keep it alive until they are freed. */
void ftc_pool_free(ftc_pool* pool);

/* ---- Codec models ------------------------------------------------------------------------- */

/* A fitted codec model file (.ftcm, docs/format-model.md), shared by encoders and decoders. Every
 * byte is checked (FTC_ERROR_CORRUPT, _TRUNCATED, _CHECKSUM, _UNSUPPORTED_FEATURE, _LIMIT_EXCEEDED). */
typedef struct ftc_codec_model ftc_codec_model;
ftc_status ftc_codec_model_load(const void* bytes, size_t size, ftc_codec_model** model);
/* NULL is fine. Encoders and decoders the model was set on keep it alive until they are freed. */
void ftc_codec_model_free(ftc_codec_model* model);
uint64_t ftc_codec_model_id(const ftc_codec_model* model);
uint64_t ftc_codec_model_hash(const ftc_codec_model* model);
size_t ftc_codec_model_rate_points(const ftc_codec_model* model);

/* ---- Encoding ---------------------------------------------------------------------------- */

typedef struct ftc_encoder ftc_encoder;

typedef enum ftc_param {
  FTC_PARAM_QUANTIZER = 1,       /* FTC_QUANT_*; default FTC_QUANT_UNIFORM */
  FTC_PARAM_BITS = 2,            /* uniform: 1..16; default 8 */
  FTC_PARAM_CHANNEL_AXIS = 3,    /* uniform: axis for per-channel parameters; -100 = per tensor (default); negative counts from the end */
  FTC_PARAM_CODER = 4,           /* FTC_CODER_*; default FTC_CODER_ZSTD */
  FTC_PARAM_ZSTD_LEVEL = 5,      /* -7..22; default 3 */
  FTC_PARAM_CHUNK_ELEMENTS = 6,  /* 0 = automatic */
  FTC_PARAM_CHUNK_CHECKSUMS = 7, /* 0 or 1; default 1 */
  FTC_PARAM_THREADS = 8,         /* 1..256; default 1 */
  FTC_PARAM_LAYOUT = 9,          /* 0 unspecified, 1 NCHW, 2 NHWC */
  FTC_PARAM_RANS_LANES = 10      /* rans states: 0 automatic (default), 32 (format 1.0), 64, 128 */
} ftc_param;

#define FTC_CHANNEL_AXIS_NONE (-100)

enum { FTC_QUANT_LOSSLESS = 0, FTC_QUANT_UNIFORM = 1, FTC_QUANT_CAST_F16 = 2, FTC_QUANT_CAST_BF16 = 3 };
enum { FTC_CODER_RAW = 0, FTC_CODER_ZSTD = 1, FTC_CODER_RANS = 2, FTC_CODER_ADAPTIVE = 3, FTC_CODER_RANS_WIDE = 4,
       FTC_CODER_CONTEXT_RANS = 5 };

ftc_encoder* ftc_encoder_create(void);
void ftc_encoder_free(ftc_encoder* encoder); /* NULL is fine */
/* Parameters are sticky until ftc_encoder_reset. Out-of-range values: FTC_ERROR_INVALID_ARGUMENT. */
ftc_status ftc_encoder_set(ftc_encoder* encoder, ftc_param param, int64_t value);
/* Chunks are coded on this pool (NULL: the encoder's own), by at most FTC_PARAM_THREADS threads. */
ftc_status ftc_encoder_set_pool(ftc_encoder* encoder, ftc_pool* pool);
/* Frames become compact model-bound frames of `model` at `rate_point` (NULL: back to self-describing
 * frames). FTC_ERROR_INVALID_ARGUMENT for a rate point the model lacks. */
ftc_status ftc_encoder_set_codec_model(ftc_encoder* encoder, const ftc_codec_model* model, int rate_point);
/* Clip range of the uniform quantizer (both ends), instead of the data's min/max. */
ftc_status ftc_encoder_set_clip(ftc_encoder* encoder, double lo, double hi);
void ftc_encoder_reset(ftc_encoder* encoder);
/* Upper bound of the frame size for these tensors under the encoder's current parameters;
 * 0 when a tensor is invalid. */
size_t ftc_encode_bound(const ftc_encoder* encoder, const ftc_tensor* tensors, size_t count);
/* Encodes `count` tensors into one frame. On FTC_ERROR_BUFFER_TOO_SMALL nothing useful is in dst
 * and *dst_size is the size needed. */
ftc_status ftc_encode(ftc_encoder* encoder, const ftc_tensor* tensors, size_t count,
                      void* dst, size_t dst_capacity, size_t* dst_size);

/* ---- Decoding ---------------------------------------------------------------------------- */

typedef struct ftc_decoder ftc_decoder;

typedef enum ftc_limit {
  FTC_LIMIT_MAX_ELEMENTS = 1,      /* default 2^28 per frame */
  FTC_LIMIT_MAX_OUTPUT_BYTES = 2,  /* default 2^30 per frame */
  FTC_LIMIT_MAX_RANK = 3,          /* default 8 */
  FTC_LIMIT_MAX_TENSORS = 4,       /* default 256 */
  FTC_LIMIT_MAX_CHUNKS = 5,        /* default 2^20 */
  FTC_DECODER_THREADS = 6,         /* default 1 */
  /* default 2^26: cap on the entries, slots and symbols of all in-stream coder tables of a frame.
     A frame's table budget is min(this, 16 * frame bytes + declared output elements + 2^20)
     (docs/format.md §7.1); over it, FTC_ERROR_LIMIT_EXCEEDED before the tables are built. */
  FTC_LIMIT_MAX_TABLE_ENTRIES = 7
} ftc_limit;

ftc_decoder* ftc_decoder_create(void);
void ftc_decoder_free(ftc_decoder* decoder); /* NULL is fine */
/* Limits must be > 0; FTC_LIMIT_MAX_RANK at most 8. */
ftc_status ftc_decoder_set_limit(ftc_decoder* decoder, ftc_limit limit, uint64_t value);
/* Encoder side: the limits of the decoder an encoder's frames are for (FTC_LIMIT_*, not
 * FTC_DECODER_THREADS; defaults and ranges as above; sticky until ftc_encoder_reset). ftc_encode
 * then refuses with FTC_ERROR_INVALID_ARGUMENT a frame that decoder would refuse (elements, output
 * bytes, rank, tensors, chunks, table entries). */
ftc_status ftc_encoder_set_decoder_limit(ftc_encoder* encoder, ftc_limit limit, uint64_t value);

/* Chunks are decoded on this pool (NULL: the decoder's own), by at most FTC_DECODER_THREADS threads. */
ftc_status ftc_decoder_set_pool(ftc_decoder* decoder, ftc_pool* pool);

/* Registers a model that model-bound frames may name (several: a server serving several models).
 * FTC_ERROR_INVALID_ARGUMENT when a registered model has the same selector (id mod 256). */
ftc_status ftc_decoder_add_codec_model(ftc_decoder* decoder, const ftc_codec_model* model);

/* Decodes a whole frame into the decoder. The decoded tensors stay valid until the next decode
 * on this decoder or ftc_decoder_free. Any error leaves no tensors. */
ftc_status ftc_decode(ftc_decoder* decoder, const void* src, size_t src_size);
size_t ftc_decoder_tensor_count(const ftc_decoder* decoder);
/* Fills *out with a C-order view of decoded tensor `index` (strides NULL). */
ftc_status ftc_decoder_get_tensor(const ftc_decoder* decoder, size_t index, ftc_tensor* out);

/* Decodes a frame and writes every tensor's elements, C order, one after another, into dst.
 * *dst_size receives the bytes needed. Nothing is written past dst_capacity. */
ftc_status ftc_decode_into(ftc_decoder* decoder, const void* src, size_t src_size,
                           void* dst, size_t dst_capacity, size_t* dst_size);

/* Last error's message on this handle ("" if none). Valid until the next call on the handle. */
const char* ftc_encoder_last_error(const ftc_encoder* encoder);
const char* ftc_decoder_last_error(const ftc_decoder* decoder);

#ifdef __cplusplus
}
#endif

#endif /* FTC_FTC_H */
