// Codecs measured by `ftc eval` (see baselines.hpp).
#include "runtime/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include <zfp.h>
#include <zstd.h>

namespace ftc::runtime {
namespace {

std::uint64_t elements_of(const Shape& s) {
  std::uint64_t n = 1;
  for (auto d : s) n *= static_cast<std::uint64_t>(d);
  return n;
}

// Checks that the tensors match the specs (count, names, shapes, dtype) and returns contiguous
// f32 (or u8) copies only where a view is strided.
Status check_inputs(std::span<const NamedTensorView> tensors, const std::vector<TensorSpec>& specs, DType dtype,
                    const char* who) {
  if (tensors.size() != specs.size())
    return {StatusCode::invalid_argument, std::string(who) + ": " + std::to_string(tensors.size()) +
                                              " tensors, expected " + std::to_string(specs.size())};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TensorView& v = tensors[i].view;
    if (v.dtype != dtype || v.shape_vector() != specs[i].shape)
      return {StatusCode::invalid_argument, std::string(who) + ": tensor '" + tensors[i].name +
                                                "' does not have the expected dtype and shape"};
  }
  return Status::Ok();
}

// A contiguous pointer to the view's data, copying into `keep` when it is strided.
const std::uint8_t* contiguous_bytes(const TensorView& v, Tensor& keep, Status& st) {
  if (v.is_contiguous()) return static_cast<const std::uint8_t*>(v.data);
  auto c = Tensor::copy_of(v);
  if (!c.ok()) {
    st = c.status();
    return nullptr;
  }
  keep = std::move(c).value();
  return keep.data();
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Splits "len32 bytes len32 bytes …" into `n` parts; one part: the whole input, no length.
Result<std::vector<std::span<const std::uint8_t>>> split_parts(std::span<const std::uint8_t> bytes, std::size_t n) {
  std::vector<std::span<const std::uint8_t>> parts;
  if (n == 1) {
    parts.push_back(bytes);
    return parts;
  }
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes.size() - pos < 4) return Status{StatusCode::truncated, "part length"};
    std::uint32_t len = 0;
    for (int k = 0; k < 4; ++k) len |= std::uint32_t(bytes[pos + k]) << (8 * k);
    pos += 4;
    if (bytes.size() - pos < len) return Status{StatusCode::truncated, "part"};
    parts.push_back(bytes.subspan(pos, len));
    pos += len;
  }
  if (pos != bytes.size()) return Status{StatusCode::corrupt, "bytes after the last part"};
  return parts;
}

void append_part(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& part, std::size_t n) {
  if (n > 1) put_u32(out, static_cast<std::uint32_t>(part.size()));
  out.insert(out.end(), part.begin(), part.end());
}

Result<std::vector<NamedTensor>> empty_outputs(const std::vector<TensorSpec>& specs, DType dtype) {
  std::vector<NamedTensor> out;
  for (const auto& s : specs) {
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(dtype, s.shape));
    out.push_back({s.name, std::move(t)});
  }
  return out;
}

// ---- ftc --------------------------------------------------------------------------------------------

class FtcCodec final : public TensorCodec {
 public:
  explicit FtcCodec(const EncoderOptions& o) : enc_(o) {
    dec_.threads = 1;
    if (o.codec_model) (void)dec_.add_codec_model(o.codec_model);  // the only model: no selector clash
  }
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    return enc_.encode(tensors);
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    return dec_.decode(bytes);
  }

 private:
  Encoder enc_;
  Decoder dec_;
};

// ---- float32 raw, float16, zstd ---------------------------------------------------------------------

class RawF32Codec final : public TensorCodec {
 public:
  explicit RawF32Codec(std::vector<TensorSpec> cut) : cut_(std::move(cut)) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_RETURN_IF_ERROR(check_inputs(tensors, cut_, DType::f32, "f32-raw"));
    std::vector<std::uint8_t> out;
    for (const auto& t : tensors) {
      Tensor keep;
      Status st;
      const std::uint8_t* p = contiguous_bytes(t.view, keep, st);
      if (!p) return st;
      out.insert(out.end(), p, p + t.view.element_count() * 4);  // x86/ARM: little-endian floats
    }
    return out;
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    FTC_ASSIGN_OR_RETURN(auto out, empty_outputs(cut_, DType::f32));
    std::size_t pos = 0;
    for (auto& t : out) {
      if (bytes.size() - pos < t.tensor.byte_size()) return Status{StatusCode::truncated, "f32-raw: short payload"};
      std::memcpy(t.tensor.data(), bytes.data() + pos, t.tensor.byte_size());
      pos += t.tensor.byte_size();
    }
    if (pos != bytes.size()) return Status{StatusCode::corrupt, "f32-raw: payload too long"};
    return out;
  }

 private:
  std::vector<TensorSpec> cut_;
};

class F16Codec final : public TensorCodec {
 public:
  explicit F16Codec(std::vector<TensorSpec> cut) : cut_(std::move(cut)) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_RETURN_IF_ERROR(check_inputs(tensors, cut_, DType::f32, "f16"));
    std::vector<std::uint8_t> out;
    for (const auto& t : tensors) {
      Tensor keep;
      Status st;
      const std::uint8_t* p = contiguous_bytes(t.view, keep, st);
      if (!p) return st;
      const float* f = reinterpret_cast<const float*>(p);
      const std::size_t n = t.view.element_count(), at = out.size();
      out.resize(at + 2 * n);
      for (std::size_t i = 0; i < n; ++i) {
        const _Float16 h = static_cast<_Float16>(f[i]);  // IEEE binary16, round to nearest even
        std::memcpy(out.data() + at + 2 * i, &h, 2);
      }
    }
    return out;
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    FTC_ASSIGN_OR_RETURN(auto out, empty_outputs(cut_, DType::f32));
    std::size_t pos = 0;
    for (auto& t : out) {
      const std::size_t n = t.tensor.element_count();
      if (bytes.size() - pos < 2 * n) return Status{StatusCode::truncated, "f16: short payload"};
      float* f = t.tensor.data_as<float>();
      for (std::size_t i = 0; i < n; ++i) {
        _Float16 h;
        std::memcpy(&h, bytes.data() + pos + 2 * i, 2);
        f[i] = static_cast<float>(h);
      }
      pos += 2 * n;
    }
    if (pos != bytes.size()) return Status{StatusCode::corrupt, "f16: payload too long"};
    return out;
  }

 private:
  std::vector<TensorSpec> cut_;
};

class ZstdF32Codec final : public TensorCodec {
 public:
  ZstdF32Codec(std::vector<TensorSpec> cut, int level) : raw_(cut), cut_(std::move(cut)), level_(level) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_ASSIGN_OR_RETURN(auto raw, raw_.encode(tensors));
    std::vector<std::uint8_t> out(ZSTD_compressBound(raw.size()));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level_);
    if (ZSTD_isError(n)) return Status{StatusCode::internal, std::string("zstd: ") + ZSTD_getErrorName(n)};
    out.resize(n);
    return out;
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    std::uint64_t expect = 0;
    for (const auto& s : cut_) expect += 4 * elements_of(s.shape);
    std::vector<std::uint8_t> raw(expect);
    const std::size_t n = ZSTD_decompress(raw.data(), raw.size(), bytes.data(), bytes.size());
    if (ZSTD_isError(n)) return Status{StatusCode::corrupt, std::string("zstd: ") + ZSTD_getErrorName(n)};
    if (n != expect) return Status{StatusCode::corrupt, "zstd: wrong decompressed size"};
    return raw_.decode(raw);
  }

 private:
  RawF32Codec raw_;
  std::vector<TensorSpec> cut_;
  int level_;
};

// ---- zfp --------------------------------------------------------------------------------------------

// (nx, ny, nz): W, H and everything before them folded together; rank ≤ 2 uses fewer dims.
void zfp_dims(const Shape& s, std::size_t d[3], int& dims) {
  const int r = static_cast<int>(s.size());
  if (r <= 1) {
    dims = 1;
    d[0] = r == 0 ? 1 : static_cast<std::size_t>(s[0]);
    d[1] = d[2] = 1;
    return;
  }
  if (r == 2) {
    dims = 2;
    d[0] = static_cast<std::size_t>(s[1]);
    d[1] = static_cast<std::size_t>(s[0]);
    d[2] = 1;
    return;
  }
  dims = 3;
  d[0] = static_cast<std::size_t>(s[r - 1]);
  d[1] = static_cast<std::size_t>(s[r - 2]);
  d[2] = 1;
  for (int i = 0; i < r - 2; ++i) d[2] *= static_cast<std::size_t>(s[i]);
}

zfp_field* zfp_field_for(float* data, const Shape& s) {
  std::size_t d[3];
  int dims;
  zfp_dims(s, d, dims);
  if (dims == 1) return zfp_field_1d(data, zfp_type_float, d[0]);
  if (dims == 2) return zfp_field_2d(data, zfp_type_float, d[0], d[1]);
  return zfp_field_3d(data, zfp_type_float, d[0], d[1], d[2]);
}

class ZfpCodec final : public TensorCodec {
 public:
  ZfpCodec(std::vector<TensorSpec> cut, std::vector<double> tol) : cut_(std::move(cut)), tol_(std::move(tol)) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_RETURN_IF_ERROR(check_inputs(tensors, cut_, DType::f32, "zfp"));
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      Tensor keep;
      Status st;
      const std::uint8_t* p = contiguous_bytes(tensors[i].view, keep, st);
      if (!p) return st;
      zfp_field* field = zfp_field_for(const_cast<float*>(reinterpret_cast<const float*>(p)), cut_[i].shape);
      zfp_stream* zfp = zfp_stream_open(nullptr);
      zfp_stream_set_accuracy(zfp, tol_[i]);
      std::vector<std::uint8_t> buf(zfp_stream_maximum_size(zfp, field));
      bitstream* bs = stream_open(buf.data(), buf.size());
      zfp_stream_set_bit_stream(zfp, bs);
      zfp_stream_rewind(zfp);
      std::size_t n = 0;
      if (zfp_write_header(zfp, field, ZFP_HEADER_FULL)) n = zfp_compress(zfp, field);
      zfp_field_free(field);
      zfp_stream_close(zfp);
      stream_close(bs);
      if (n == 0) return Status{StatusCode::internal, "zfp: compression failed"};
      buf.resize(n);
      append_part(out, buf, cut_.size());
    }
    return out;
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    FTC_ASSIGN_OR_RETURN(auto parts, split_parts(bytes, cut_.size()));
    FTC_ASSIGN_OR_RETURN(auto out, empty_outputs(cut_, DType::f32));
    for (std::size_t i = 0; i < cut_.size(); ++i) {
      // zfp's bit stream reads whole 64-bit words: give it a padded copy.
      std::vector<std::uint8_t> buf(parts[i].begin(), parts[i].end());
      buf.resize((buf.size() + 7) / 8 * 8 + 8, 0);
      bitstream* bs = stream_open(buf.data(), buf.size());
      zfp_stream* zfp = zfp_stream_open(bs);
      zfp_field* field = zfp_field_alloc();
      std::size_t d[3];
      int dims;
      zfp_dims(cut_[i].shape, d, dims);
      bool ok = zfp_read_header(zfp, field, ZFP_HEADER_FULL) != 0 && field->type == zfp_type_float &&
                static_cast<int>(zfp_field_dimensionality(field)) == dims && field->nx == d[0] &&
                (dims < 2 || field->ny == d[1]) && (dims < 3 || field->nz == d[2]);
      if (ok) {
        zfp_field_set_pointer(field, out[i].tensor.data());
        ok = zfp_decompress(zfp, field) != 0;
      }
      zfp_field_free(field);
      zfp_stream_close(zfp);
      stream_close(bs);
      if (!ok) return Status{StatusCode::corrupt, "zfp: bad stream for tensor '" + cut_[i].name + "'"};
    }
    return out;
  }

 private:
  std::vector<TensorSpec> cut_;
  std::vector<double> tol_;
};

// ---- mosaic and images ---------------------------------------------------------------------------

class MosaicCodec final : public TensorCodec {
 public:
  MosaicCodec(std::vector<TensorSpec> cut, std::vector<tile::Range> ranges, tile::ImageCodec codec, int quality)
      : cut_(std::move(cut)), ranges_(std::move(ranges)), codec_(codec), quality_(quality) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_RETURN_IF_ERROR(check_inputs(tensors, cut_, DType::f32, "mosaic"));
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      FTC_ASSIGN_OR_RETURN(auto bytes, tile::encode_mosaic(tensors[i].view, ranges_[i], codec_, quality_));
      append_part(out, bytes, cut_.size());
    }
    return out;
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    FTC_ASSIGN_OR_RETURN(auto parts, split_parts(bytes, cut_.size()));
    std::vector<NamedTensor> out;
    for (std::size_t i = 0; i < cut_.size(); ++i) {
      const Shape& s = cut_[i].shape;
      const bool batch = s.size() == 4;
      FTC_ASSIGN_OR_RETURN(tile::Grid g, tile::make_grid(s[s.size() - 3], s[s.size() - 2], s[s.size() - 1]));
      FTC_ASSIGN_OR_RETURN(Tensor t, tile::decode_mosaic(parts[i], g, ranges_[i], codec_, batch));
      out.push_back({cut_[i].name, std::move(t)});
    }
    return out;
  }

 private:
  std::vector<TensorSpec> cut_;
  std::vector<tile::Range> ranges_;
  tile::ImageCodec codec_;
  int quality_;
};

class ImageCodecImpl final : public TensorCodec {
 public:
  ImageCodecImpl(TensorSpec image, tile::ImageCodec codec, int quality)
      : spec_(std::move(image)), codec_(codec), quality_(quality) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const override {
    FTC_RETURN_IF_ERROR(check_inputs(tensors, {spec_}, DType::u8, "image"));
    Tensor keep;
    Status st;
    const std::uint8_t* p = contiguous_bytes(tensors[0].view, keep, st);
    if (!p) return st;
    const std::int64_t C = spec_.shape[0], H = spec_.shape[1], W = spec_.shape[2];
    tile::Image img;
    img.width = static_cast<std::int32_t>(W);
    img.height = static_cast<std::int32_t>(H);
    img.channels = static_cast<std::int32_t>(C);
    img.pixels.resize(static_cast<std::size_t>(C * H * W));
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < H * W; ++i) img.pixels[i * C + c] = p[c * H * W + i];
    return codec_ == tile::ImageCodec::png ? tile::encode_png(img) : tile::encode_jpeg(img, quality_);
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const override {
    const std::int64_t C = spec_.shape[0], H = spec_.shape[1], W = spec_.shape[2];
    const int ch = static_cast<int>(C);
    const auto max_pixels = static_cast<std::uint64_t>(H * W);
    FTC_ASSIGN_OR_RETURN(tile::Image img, codec_ == tile::ImageCodec::png ? tile::decode_png(bytes, ch, max_pixels)
                                                                          : tile::decode_jpeg(bytes, ch, max_pixels));
    if (img.width != W || img.height != H) return Status{StatusCode::corrupt, "image: wrong size"};
    FTC_ASSIGN_OR_RETURN(Tensor t, tile::to_planar(img));
    std::vector<NamedTensor> out;
    out.push_back({spec_.name, std::move(t)});
    return out;
  }

 private:
  TensorSpec spec_;
  tile::ImageCodec codec_;
  int quality_;
};

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto c = s.find(',', start);
    std::string item(s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

// ---- factories -----------------------------------------------------------------------------------

std::shared_ptr<const TensorCodec> make_ftc_codec(const EncoderOptions& options) {
  return std::make_shared<FtcCodec>(options);
}
std::shared_ptr<const TensorCodec> make_raw_f32_codec(std::vector<TensorSpec> cut) {
  return std::make_shared<RawF32Codec>(std::move(cut));
}
std::shared_ptr<const TensorCodec> make_f16_codec(std::vector<TensorSpec> cut) {
  return std::make_shared<F16Codec>(std::move(cut));
}
std::shared_ptr<const TensorCodec> make_zstd_f32_codec(std::vector<TensorSpec> cut, int level) {
  return std::make_shared<ZstdF32Codec>(std::move(cut), level);
}
std::shared_ptr<const TensorCodec> make_zfp_codec(std::vector<TensorSpec> cut, std::vector<double> tolerance) {
  return std::make_shared<ZfpCodec>(std::move(cut), std::move(tolerance));
}
std::shared_ptr<const TensorCodec> make_mosaic_codec(std::vector<TensorSpec> cut, std::vector<tile::Range> ranges,
                                                     tile::ImageCodec codec, int quality) {
  return std::make_shared<MosaicCodec>(std::move(cut), std::move(ranges), codec, quality);
}
std::shared_ptr<const TensorCodec> make_image_codec(TensorSpec image, tile::ImageCodec codec, int quality) {
  return std::make_shared<ImageCodecImpl>(std::move(image), codec, quality);
}

// ---- sweeps --------------------------------------------------------------------------------------

namespace {

// The encoder options a sweep may vary: every one that make_ftc_config spells in a row's name.
// threads (each configuration codes an image on one thread; --threads spreads the images) and
// layout (informative only) are not among them.
const EncoderParamSpec* sweep_param(std::string_view key) {
  const EncoderParamSpec* p = find_encoder_param(key);
  if (!p || p->id == EncoderParam::threads || p->id == EncoderParam::layout) return nullptr;
  return p;
}

}  // namespace

const std::vector<std::string>& sweep_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& p : encoder_params())
      if (sweep_param(p.name)) k.emplace_back(p.name);
    return k;
  }();
  return keys;
}

Result<SweepAxis> parse_sweep(std::string_view spec) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Status{StatusCode::invalid_argument, "sweep '" + std::string(spec) + "': expected KEY=V1,V2,…"};
  const std::string key(spec.substr(0, eq));
  const EncoderParamSpec* p = sweep_param(key);
  if (!p) {
    std::string known;
    for (const auto& k : sweep_keys()) known += (known.empty() ? "" : ", ") + k;
    return Status{StatusCode::invalid_argument, "sweep: unknown key '" + key + "' (" + known + ")"};
  }
  SweepAxis a;
  a.key = p->name;
  a.values = split_commas(spec.substr(eq + 1));
  if (a.values.empty()) return Status{StatusCode::invalid_argument, "sweep '" + std::string(spec) + "': no values"};
  for (const auto& v : a.values) {  // validate every value now
    EncoderOptions scratch;
    if (Status st = set_encoder_option(scratch, a.key, v); !st.ok())
      return Status{StatusCode::invalid_argument, "sweep '" + std::string(spec) + "': " + st.message()};
  }
  return a;
}

Result<std::vector<EncoderOptions>> expand_sweep(const EncoderOptions& base, const std::vector<SweepAxis>& axes) {
  std::vector<EncoderOptions> out = {base};
  for (const auto& a : axes) {
    const EncoderParamSpec* p = sweep_param(a.key);
    if (!p) return Status{StatusCode::invalid_argument, "sweep: unknown key '" + a.key + "'"};
    std::vector<EncoderOptions> next;
    for (const auto& o : out) {
      for (const auto& v : a.values) {
        EncoderOptions e = o;
        if (Status st = set_encoder_option(e, a.key, v); !st.ok())
          return Status{StatusCode::invalid_argument, "sweep " + a.key + ": " + st.message()};
        // Bits are the uniform quantizer's: a bits value selects it.
        if (p->id == EncoderParam::bits) e.quantizer = QuantizerKind::uniform;
        next.push_back(e);
      }
    }
    out = std::move(next);
  }
  // Drop duplicates (e.g. a bits sweep crossed with quantizer=lossless).
  std::vector<EncoderOptions> uniq;
  std::set<std::string> seen;
  for (const auto& o : out)
    if (seen.insert(make_ftc_config(o).name).second) uniq.push_back(o);
  return uniq;
}

CodecConfig make_ftc_config(const EncoderOptions& o) {
  CodecConfig c;
  if (o.codec_model) {
    // A fitted codec model's rate point: one curve a model, named by its metadata "name".
    const CodecModel& m = *o.codec_model;
    const std::string model_name = m.metadata("name").empty() ? "model" : m.metadata("name");
    c.curve = "ftc-" + model_name;
    const std::string label = m.rate_point_label(static_cast<std::size_t>(o.rate_point));
    c.name = c.curve + " r=" + (label.empty() ? std::to_string(o.rate_point) : label);
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(m.hash()));
    c.params = "codec-model=" + std::string(hash) + " rate-point=" + std::to_string(o.rate_point);
    c.stage = Stage::split;
    c.codec = make_ftc_codec(o);
    return c;
  }
  std::string q, params;
  switch (o.quantizer) {
    case QuantizerKind::uniform:
      q = std::string("u-") + (o.channel_axis ? "pc" + std::to_string(*o.channel_axis) : std::string("pt"));
      params = "quantizer=uniform bits=" + std::to_string(o.bits) +
               " per-channel=" + (o.channel_axis ? std::to_string(*o.channel_axis) : std::string("none"));
      if (o.clip_lo && o.clip_hi) {
        q += "-clip";
        params += " clip=" + fmt_g(*o.clip_lo) + ":" + fmt_g(*o.clip_hi);
      }
      break;
    case QuantizerKind::lossless: q = "lossless"; params = "quantizer=lossless"; break;
    case QuantizerKind::cast_f16: q = "f16"; params = "quantizer=f16"; break;
    case QuantizerKind::cast_bf16: q = "bf16"; params = "quantizer=bf16"; break;
    case QuantizerKind::nonuniform: q = "nu"; params = "quantizer=nonuniform"; break;
  }
  std::string coder = coder_name(o.coder);
  params += std::string(" coder=") + coder_name(o.coder);
  if (o.coder == CoderKind::zstd) {
    params += " level=" + std::to_string(o.zstd_level);
    if (o.zstd_level != 3) coder += "-L" + std::to_string(o.zstd_level);
  }
  // Options left at their defaults are not spelled out.
  const EncoderOptions defaults;
  if (o.rans_lanes != defaults.rans_lanes) {
    params += " lanes=" + std::to_string(o.rans_lanes);
    coder += "-x" + std::to_string(o.rans_lanes);
  }
  if (o.chunk_elements != defaults.chunk_elements) {
    params += " chunk-elements=" + std::to_string(o.chunk_elements);
    coder += "-c" + std::to_string(o.chunk_elements);
  }
  if (o.chunk_checksums != defaults.chunk_checksums) {
    params += std::string(" chunk-checksums=") + (o.chunk_checksums ? "on" : "off");
    coder += o.chunk_checksums ? "-sum" : "-nosum";
  }
  c.curve = "ftc-" + q + "-" + coder;
  c.name = o.quantizer == QuantizerKind::uniform ? c.curve + " b=" + std::to_string(o.bits) : c.curve;
  c.params = params;
  c.stage = Stage::split;
  c.codec = make_ftc_codec(o);
  return c;
}

// ---- baselines -------------------------------------------------------------------------------------

const std::vector<std::string>& baseline_names() {
  static const std::vector<std::string> names = {"raw",        "f16",       "zstd",     "zfp",
                                                 "mosaic-jpeg", "mosaic-png", "cloud-png", "cloud-jpeg"};
  return names;
}

Result<std::vector<std::string>> parse_baselines(std::string_view list) {
  const auto& all = baseline_names();
  std::set<std::string> want;
  for (const auto& item : split_commas(list)) {
    if (item == "all") {
      want.insert(all.begin(), all.end());
    } else if (item == "none") {
    } else if (item == "mosaic") {
      want.insert({"mosaic-jpeg", "mosaic-png"});
    } else if (item == "cloud") {
      want.insert({"cloud-png", "cloud-jpeg"});
    } else if (std::find(all.begin(), all.end(), item) != all.end()) {
      want.insert(item);
    } else {
      std::string known;
      for (const auto& n : all) known += (known.empty() ? "" : ", ") + n;
      return Status{StatusCode::invalid_argument, "unknown baseline '" + item + "' (all, none, " + known + ")"};
    }
  }
  std::vector<std::string> out;
  for (const auto& n : all)
    if (want.count(n)) out.push_back(n);
  return out;
}

Result<std::vector<CodecConfig>> make_baselines(const std::vector<std::string>& names, const std::vector<TensorSpec>& cut,
                                                const std::vector<TensorRange>& ranges, const TensorSpec& image,
                                                const BaselineSettings& settings) {
  std::vector<CodecConfig> out;
  auto need_ranges = [&]() -> Status {
    if (ranges.size() != cut.size())
      return {StatusCode::invalid_argument, "baselines: one calibration range per cut tensor is needed"};
    for (const auto& r : ranges)
      if (!(r.lo < r.hi) || !std::isfinite(r.lo) || !std::isfinite(r.hi))
        return {StatusCode::invalid_argument, "baselines: empty calibration range for '" + r.tensor + "'"};
    return Status::Ok();
  };
  auto add = [&](std::string name, std::string curve, std::string params, Stage stage,
                 std::shared_ptr<const TensorCodec> codec) {
    out.push_back({std::move(name), std::move(curve), std::move(params), stage, std::move(codec), {}, {}, {}});
  };
  for (const auto& n : names) {
    if (n == "raw") {
      add("f32-raw", "f32-raw", "float32 little-endian; no header", Stage::split, make_raw_f32_codec(cut));
    } else if (n == "f16") {
      add("f16", "f16", "IEEE binary16 round-to-nearest-even; no header", Stage::split, make_f16_codec(cut));
    } else if (n == "zstd") {
      add("zstd-f32", "zstd-f32", "zstd level=" + std::to_string(settings.zstd_level) + " on the float32 bytes",
          Stage::split, make_zstd_f32_codec(cut, settings.zstd_level));
    } else if (n == "zfp") {
      FTC_RETURN_IF_ERROR(need_ranges());
      for (double rel : settings.zfp_tolerance) {
        std::vector<double> tol;
        for (const auto& r : ranges) tol.push_back(rel * (double(r.hi) - double(r.lo)));
        add("zfp tol=" + fmt_g(rel), "zfp", "fixed-accuracy tolerance=" + fmt_g(rel) + "*range (" + fmt_g(tol[0]) + ")",
            Stage::split, make_zfp_codec(cut, tol));
      }
    } else if (n == "mosaic-jpeg" || n == "mosaic-png") {
      FTC_RETURN_IF_ERROR(need_ranges());
      std::vector<tile::Range> rs;
      std::string rtext;
      for (const auto& r : ranges) {
        rs.push_back({r.lo, r.hi});
        rtext += (rtext.empty() ? "" : " ") + std::string("[") + fmt_g(r.lo) + ":" + fmt_g(r.hi) + "]";
      }
      if (n == "mosaic-png") {
        add("mosaic-png", "mosaic-png", "8-bit mosaic range " + rtext + " PNG", Stage::split,
            make_mosaic_codec(cut, rs, tile::ImageCodec::png, 0));
      } else {
        for (int q : settings.mosaic_jpeg_quality)
          add("mosaic-jpeg q=" + std::to_string(q), "mosaic-jpeg",
              "8-bit mosaic range " + rtext + " JPEG quality=" + std::to_string(q), Stage::split,
              make_mosaic_codec(cut, rs, tile::ImageCodec::jpeg, q));
      }
    } else if (n == "cloud-png") {
      add("cloud-png", "cloud-png", "input image as PNG; whole model on the server", Stage::input,
          make_image_codec(image, tile::ImageCodec::png, 0));
    } else if (n == "cloud-jpeg") {
      for (int q : settings.cloud_jpeg_quality)
        add("cloud-jpeg q=" + std::to_string(q), "cloud-jpeg",
            "input image as JPEG quality=" + std::to_string(q) + "; whole model on the server", Stage::input,
            make_image_codec(image, tile::ImageCodec::jpeg, q));
    }
  }
  return out;
}

}  // namespace ftc::runtime
