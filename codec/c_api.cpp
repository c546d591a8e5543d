// The C ABI (include/ftc/ftc.h): the only place C meets C++. Nothing throws across it.
#include <cstring>
#include <new>

#include "ftc/ftc.h"
#include "ftc/ftc.hpp"

struct ftc_pool {
  std::shared_ptr<ftc::ThreadPool> pool;
};

struct ftc_codec_model {
  std::shared_ptr<const ftc::CodecModel> model;
};

struct ftc_encoder {
  ftc::Encoder encoder;
  std::string last_error;
};

struct ftc_decoder {
  ftc::Decoder decoder;
  std::vector<ftc::NamedTensor> tensors;
  std::vector<std::vector<std::int64_t>> shapes;
  std::string last_error;
};

namespace {

static_assert(static_cast<int>(ftc::StatusCode::corrupt) == FTC_ERROR_CORRUPT);
static_assert(static_cast<int>(ftc::StatusCode::limit_exceeded) == FTC_ERROR_LIMIT_EXCEEDED);
static_assert(static_cast<int>(ftc::StatusCode::internal) == FTC_ERROR_INTERNAL);
static_assert(static_cast<int>(ftc::DType::i32) == FTC_I32);

ftc_status to_c(const ftc::Status& s) { return static_cast<ftc_status>(static_cast<int>(s.code())); }

template <class H>
ftc_status fail(H* h, const ftc::Status& s) {
  if (h) h->last_error = s.message();
  return to_c(s);
}

ftc::Result<std::vector<ftc::NamedTensorView>> views_of(const ftc_tensor* tensors, size_t count) {
  if (!tensors && count) return ftc::Status{ftc::StatusCode::invalid_argument, "tensors is NULL"};
  std::vector<ftc::NamedTensorView> views(count);
  for (size_t i = 0; i < count; ++i) {
    const ftc_tensor& t = tensors[i];
    if (t.rank > FTC_MAX_RANK) return ftc::Status{ftc::StatusCode::invalid_argument, "rank over 8"};
    if (t.rank && !t.shape) return ftc::Status{ftc::StatusCode::invalid_argument, "shape is NULL"};
    if (!ftc::dtype_is_valid(static_cast<std::uint8_t>(t.dtype)) || static_cast<int>(t.dtype) > 255)
      return ftc::Status{ftc::StatusCode::invalid_argument, "unknown dtype"};
    auto& v = views[i].view;
    v = ftc::TensorView::contiguous(static_cast<ftc::DType>(t.dtype),
                                    std::span<const std::int64_t>(t.shape, t.rank), t.data);
    if (t.strides)
      for (uint32_t d = 0; d < t.rank; ++d) v.strides[d] = t.strides[d];
    if (t.name) views[i].name = t.name;
  }
  return views;
}

// One FTC_LIMIT_* into `l` (FTC_DECODER_THREADS is not a limit: the caller handles it).
ftc::Status set_limit(ftc::DecoderLimits& l, ftc_limit limit, uint64_t value) {
  if (value == 0) return {ftc::StatusCode::invalid_argument, "limits must be > 0"};
  switch (limit) {
    case FTC_LIMIT_MAX_ELEMENTS: l.max_elements = value; return {};
    case FTC_LIMIT_MAX_OUTPUT_BYTES: l.max_output_bytes = value; return {};
    case FTC_LIMIT_MAX_RANK:
      if (value > FTC_MAX_RANK) return {ftc::StatusCode::invalid_argument, "max rank is at most 8"};
      l.max_rank = static_cast<int>(value);
      return {};
    case FTC_LIMIT_MAX_TENSORS:
      if (value > UINT32_MAX) return {ftc::StatusCode::invalid_argument, "max tensors too large"};
      l.max_tensors = static_cast<std::uint32_t>(value);
      return {};
    case FTC_LIMIT_MAX_CHUNKS: l.max_chunks = value; return {};
    case FTC_LIMIT_MAX_TABLE_ENTRIES: l.max_table_entries = value; return {};
    case FTC_DECODER_THREADS: break;
  }
  return {ftc::StatusCode::invalid_argument, "unknown limit"};
}

}  // namespace

extern "C" {

int ftc_status_is_input_error(ftc_status s) { return s >= 20 && s < 40; }
const char* ftc_status_string(ftc_status s) { return ftc::status_code_name(static_cast<ftc::StatusCode>(s)); }
const char* ftc_version_string(void) { return ftc::version_string(); }
unsigned ftc_format_version(void) { return ftc::kFormatMajor * 256u + ftc::kFormatMinor; }

ftc_pool* ftc_pool_create(unsigned workers) {
  if (workers > 256) return nullptr;
  try {
    return new ftc_pool{std::make_shared<ftc::ThreadPool>(static_cast<int>(workers))};
  } catch (...) {
    return nullptr;
  }
}
void ftc_pool_free(ftc_pool* p) { delete p; }

ftc_status ftc_codec_model_load(const void* bytes, size_t size, ftc_codec_model** out) {
  if (!out || (!bytes && size)) return FTC_ERROR_INVALID_ARGUMENT;
  *out = nullptr;
  try {
    auto m = ftc::CodecModel::from_bytes(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(bytes), size));
    if (!m.ok()) return to_c(m.status());
    *out = new ftc_codec_model{std::move(m).value()};
    return FTC_OK;
  } catch (const std::bad_alloc&) {
    return FTC_ERROR_OUT_OF_MEMORY;
  } catch (...) {
    return FTC_ERROR_INTERNAL;
  }
}
void ftc_codec_model_free(ftc_codec_model* m) { delete m; }
uint64_t ftc_codec_model_id(const ftc_codec_model* m) { return m ? m->model->id() : 0; }
uint64_t ftc_codec_model_hash(const ftc_codec_model* m) { return m ? m->model->hash() : 0; }
size_t ftc_codec_model_rate_points(const ftc_codec_model* m) { return m ? m->model->rate_point_count() : 0; }

#ifndef FTC_DECODER_ONLY
ftc_encoder* ftc_encoder_create(void) {
  try {
    return new ftc_encoder();
  } catch (...) {
    return nullptr;
  }
}
void ftc_encoder_free(ftc_encoder* e) { delete e; }
void ftc_encoder_reset(ftc_encoder* e) {
  if (e) e->encoder.options() = {};
}

ftc_status ftc_encoder_set(ftc_encoder* e, ftc_param param, int64_t value) {
  if (!e) return FTC_ERROR_INVALID_ARGUMENT;
  if (param < FTC_PARAM_QUANTIZER || param > FTC_PARAM_RANS_LANES)
    return fail(e, {ftc::StatusCode::invalid_argument, "unknown parameter"});
  static_assert(FTC_CHANNEL_AXIS_NONE == ftc::kNoChannelAxis);
  static_assert(static_cast<int>(ftc::EncoderParam::rans_lanes) == FTC_PARAM_RANS_LANES);
  const ftc::Status s = ftc::set_encoder_param(e->encoder.options(), static_cast<ftc::EncoderParam>(param), value);
  return s.ok() ? FTC_OK : fail(e, s);
}

ftc_status ftc_encoder_set_decoder_limit(ftc_encoder* e, ftc_limit limit, uint64_t value) {
  if (!e) return FTC_ERROR_INVALID_ARGUMENT;
  if (limit == FTC_DECODER_THREADS)
    return fail(e, {ftc::StatusCode::invalid_argument, "FTC_DECODER_THREADS is not a limit of the frame"});
  const ftc::Status s = set_limit(e->encoder.options().decoder_limits, limit, value);
  return s.ok() ? FTC_OK : fail(e, s);
}

ftc_status ftc_encoder_set_pool(ftc_encoder* e, ftc_pool* p) {
  if (!e) return FTC_ERROR_INVALID_ARGUMENT;
  e->encoder.set_pool(p ? p->pool : nullptr);
  return FTC_OK;
}

ftc_status ftc_encoder_set_codec_model(ftc_encoder* e, const ftc_codec_model* m, int rate_point) {
  if (!e) return FTC_ERROR_INVALID_ARGUMENT;
  auto& o = e->encoder.options();
  if (!m) {
    o.codec_model.reset();
    return FTC_OK;
  }
  if (rate_point < 0 || static_cast<std::size_t>(rate_point) >= m->model->rate_point_count())
    return fail(e, {ftc::StatusCode::invalid_argument, "rate point outside the model's"});
  o.codec_model = m->model;
  o.rate_point = rate_point;
  return FTC_OK;
}

ftc_status ftc_encoder_set_clip(ftc_encoder* e, double lo, double hi) {
  if (!e) return FTC_ERROR_INVALID_ARGUMENT;
  if (!(lo <= hi)) return fail(e, {ftc::StatusCode::invalid_argument, "clip range needs lo <= hi"});
  e->encoder.options().clip_lo = lo;
  e->encoder.options().clip_hi = hi;
  return FTC_OK;
}

size_t ftc_encode_bound(const ftc_encoder* e, const ftc_tensor* tensors, size_t count) {
  if (!e) return 0;
  try {
    auto views = views_of(tensors, count);
    if (!views.ok()) return 0;
    return e->encoder.bound(*views);
  } catch (...) {
    return 0;
  }
}

ftc_status ftc_encode(ftc_encoder* e, const ftc_tensor* tensors, size_t count, void* dst, size_t cap, size_t* size) {
  if (!e || !size || (!dst && cap)) return fail(e, {ftc::StatusCode::invalid_argument, "NULL argument"});
  try {
    auto views = views_of(tensors, count);
    if (!views.ok()) return fail(e, views.status());
    auto bytes = e->encoder.encode(*views);
    if (!bytes.ok()) return fail(e, bytes.status());
    *size = bytes->size();
    if (bytes->size() > cap)
      return fail(e, {ftc::StatusCode::buffer_too_small, "frame needs " + std::to_string(bytes->size()) + " bytes"});
    std::memcpy(dst, bytes->data(), bytes->size());
    e->last_error.clear();
    return FTC_OK;
  } catch (const std::bad_alloc&) {
    return fail(e, {ftc::StatusCode::out_of_memory, "out of memory"});
  } catch (...) {
    return fail(e, {ftc::StatusCode::internal, "unexpected exception"});
  }
}

const char* ftc_encoder_last_error(const ftc_encoder* e) { return e ? e->last_error.c_str() : ""; }
#endif  // FTC_DECODER_ONLY

#ifndef FTC_ENCODER_ONLY
ftc_decoder* ftc_decoder_create(void) {
  try {
    return new ftc_decoder();
  } catch (...) {
    return nullptr;
  }
}
void ftc_decoder_free(ftc_decoder* d) { delete d; }

ftc_status ftc_decoder_add_codec_model(ftc_decoder* d, const ftc_codec_model* m) {
  if (!d || !m) return FTC_ERROR_INVALID_ARGUMENT;
  try {
    const ftc::Status s = d->decoder.add_codec_model(m->model);
    return s.ok() ? FTC_OK : fail(d, s);
  } catch (const std::bad_alloc&) {
    return FTC_ERROR_OUT_OF_MEMORY;
  }
}

ftc_status ftc_decoder_set_pool(ftc_decoder* d, ftc_pool* p) {
  if (!d) return FTC_ERROR_INVALID_ARGUMENT;
  d->decoder.set_pool(p ? p->pool : nullptr);
  return FTC_OK;
}

ftc_status ftc_decoder_set_limit(ftc_decoder* d, ftc_limit limit, uint64_t value) {
  if (!d) return FTC_ERROR_INVALID_ARGUMENT;
  if (limit == FTC_DECODER_THREADS) {
    if (value == 0 || value > 256) return fail(d, {ftc::StatusCode::invalid_argument, "threads must be 1..256"});
    d->decoder.threads = static_cast<int>(value);
    return FTC_OK;
  }
  const ftc::Status s = set_limit(d->decoder.limits(), limit, value);
  return s.ok() ? FTC_OK : fail(d, s);
}

static ftc_status decode_to_handle(ftc_decoder* d, const void* src, size_t n) {
  d->tensors.clear();
  d->shapes.clear();
  if (!src && n) return fail(d, {ftc::StatusCode::invalid_argument, "src is NULL"});
  auto r = d->decoder.decode(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(src), n));
  if (!r.ok()) return fail(d, r.status());
  d->tensors = std::move(r).value();
  for (const auto& t : d->tensors) d->shapes.push_back(t.tensor.shape());
  d->last_error.clear();
  return FTC_OK;
}

ftc_status ftc_decode(ftc_decoder* d, const void* src, size_t n) {
  if (!d) return FTC_ERROR_INVALID_ARGUMENT;
  try {
    return decode_to_handle(d, src, n);
  } catch (const std::bad_alloc&) {
    d->tensors.clear();
    return fail(d, {ftc::StatusCode::out_of_memory, "out of memory"});
  } catch (...) {
    d->tensors.clear();
    return fail(d, {ftc::StatusCode::internal, "unexpected exception"});
  }
}

size_t ftc_decoder_tensor_count(const ftc_decoder* d) { return d ? d->tensors.size() : 0; }

ftc_status ftc_decoder_get_tensor(const ftc_decoder* d, size_t i, ftc_tensor* out) {
  if (!d || !out || i >= d->tensors.size()) return FTC_ERROR_INVALID_ARGUMENT;
  const auto& t = d->tensors[i];
  out->dtype = static_cast<ftc_dtype>(t.tensor.dtype());
  out->rank = static_cast<uint32_t>(t.tensor.rank());
  out->shape = d->shapes[i].data();
  out->strides = nullptr;
  out->data = t.tensor.data();
  out->name = t.name.c_str();
  return FTC_OK;
}

ftc_status ftc_decode_into(ftc_decoder* d, const void* src, size_t n, void* dst, size_t cap, size_t* size) {
  if (!d || !size || (!dst && cap)) return FTC_ERROR_INVALID_ARGUMENT;
  ftc_status s = ftc_decode(d, src, n);
  if (s != FTC_OK) return s;
  size_t need = 0;
  for (const auto& t : d->tensors) need += t.tensor.byte_size();
  *size = need;
  if (need > cap) {
    d->tensors.clear();
    return fail(d, {ftc::StatusCode::buffer_too_small, "decoded tensors need " + std::to_string(need) + " bytes"});
  }
  auto* o = static_cast<std::uint8_t*>(dst);
  for (const auto& t : d->tensors) {
    if (t.tensor.byte_size()) std::memcpy(o, t.tensor.data(), t.tensor.byte_size());
    o += t.tensor.byte_size();
  }
  return FTC_OK;
}

const char* ftc_decoder_last_error(const ftc_decoder* d) { return d ? d->last_error.c_str() : ""; }

#endif  // FTC_ENCODER_ONLY

}  // extern "C"
