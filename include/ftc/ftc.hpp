// ftc — feature tensor codec. C++ API.
//
// The library never throws: every fallible call returns ftc::Status or ftc::Result<T>.
// Stable C ABI: ftc/ftc.h. Bitstream: docs/format.md.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ftc {

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

// Numeric values are those of the C ABI's ftc_status and never change once released.
// 1..19: the caller's mistake. 20..39: the input (bitstream, file) is bad. 90..: the environment.
enum class StatusCode : int {
  ok = 0,
  invalid_argument = 1,    // caller passed a bad value (null pointer, bad shape, NaN in lossy mode…)
  buffer_too_small = 2,    // caller's output buffer is smaller than needed
  unsupported_option = 3,  // the caller asked for a combination this build does not support
  corrupt = 20,            // bitstream violates the format
  truncated = 21,          // bitstream ends before a structure it declares
  checksum_mismatch = 22,  // a checksum does not match its bytes
  unsupported_version = 23,// format major version (or a critical section) unknown to this decoder
  limit_exceeded = 24,     // a declared size is over a decoder limit
  model_mismatch = 25,     // the frame names a codec model other than the one supplied
  unsupported_feature = 26,// a stage or coder id this decoder does not implement
  bad_file = 27,           // an input file (npy, model file) is malformed or unsupported
  io_error = 90,           // reading or writing a file failed
  out_of_memory = 91,
  internal = 99,
};

const char* status_code_name(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const noexcept { return code_ == StatusCode::ok; }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "<code name>: <message>"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                      // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}               // NOLINT: must not be ok
  bool ok() const noexcept { return v_.index() == 0; }
  const Status& status() const {
    static const Status ok_status;
    return ok() ? ok_status : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define FTC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::ftc::Status ftc_status_ = (expr);        \
    if (!ftc_status_.ok()) return ftc_status_; \
  } while (0)

#define FTC_CONCAT_INNER_(a, b) a##b
#define FTC_CONCAT_(a, b) FTC_CONCAT_INNER_(a, b)
#define FTC_ASSIGN_OR_RETURN(lhs, expr) FTC_ASSIGN_OR_RETURN_IMPL_(FTC_CONCAT_(ftc_result_, __LINE__), lhs, expr)
#define FTC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// ---------------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------------

// Numeric values are the bitstream's dtype codes (docs/format.md §Tensor descriptor).
enum class DType : std::uint8_t {
  f32 = 1, f64 = 2, f16 = 3, bf16 = 4, i8 = 5, u8 = 6, i16 = 7, u16 = 8, i32 = 9,
};
inline constexpr int kMaxRank = 8;

std::size_t dtype_size(DType t) noexcept;
const char* dtype_name(DType t) noexcept;                 // "f32", "bf16", …
std::optional<DType> dtype_from_name(std::string_view s) noexcept;
bool dtype_is_float(DType t) noexcept;                    // f32 f64 f16 bf16
bool dtype_is_valid(std::uint8_t code) noexcept;

using Shape = std::vector<std::int64_t>;

// Product of dims, or nullopt when a dim is negative or the product overflows `limit`.
std::optional<std::uint64_t> checked_element_count(std::span<const std::int64_t> shape,
                                                   std::uint64_t limit = UINT64_MAX) noexcept;

// Non-owning view of a strided tensor (zfp's field is the model). Strides are in elements and
// may be any values that keep every element inside the caller's buffer; NCHW and NHWC are both
// just strides. rank 0 is a scalar with one element.
struct TensorView {
  DType dtype = DType::f32;
  int rank = 0;
  std::array<std::int64_t, kMaxRank> shape{};
  std::array<std::int64_t, kMaxRank> strides{};  // elements
  const void* data = nullptr;

  // C-contiguous view over `data`.
  static TensorView contiguous(DType dtype, std::span<const std::int64_t> shape, const void* data);
  std::uint64_t element_count() const noexcept;
  bool is_contiguous() const noexcept;
  Shape shape_vector() const { return Shape(shape.begin(), shape.begin() + rank); }
  // Checks rank, dims ≥ 0, data != null when elements > 0.
  Status validate() const;
};

// An owning, C-contiguous tensor.
class Tensor {
 public:
  Tensor() = default;
  // Zero-filled; fails on bad shape or when the byte size overflows.
  static Result<Tensor> zeros(DType dtype, Shape shape);
  // Deep copy of a (possibly strided) view into C order.
  static Result<Tensor> copy_of(const TensorView& view);

  DType dtype() const noexcept { return dtype_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return static_cast<int>(shape_.size()); }
  std::uint64_t element_count() const noexcept;
  std::size_t byte_size() const noexcept { return bytes_.size(); }
  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  template <class T> T* data_as() noexcept { return reinterpret_cast<T*>(bytes_.data()); }
  template <class T> const T* data_as() const noexcept { return reinterpret_cast<const T*>(bytes_.data()); }
  TensorView view() const noexcept;

 private:
  DType dtype_ = DType::f32;
  Shape shape_;
  std::vector<std::uint8_t> bytes_;
};

struct NamedTensorView {
  std::string name;  // may be empty; at most 255 bytes (UTF-8)
  TensorView view;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Informative hint of how the dims are laid out; carried in the frame, never used to decode.
enum class Layout : std::uint8_t { unspecified = 0, nchw = 1, nhwc = 2 };

// ---------------------------------------------------------------------------------------------
// Codec stages
// ---------------------------------------------------------------------------------------------

// Numeric values are the bitstream's quantizer ids (docs/format.md §Quantizer).
enum class QuantizerKind : std::uint8_t {
  lossless = 0,   // every bit of every element kept (byte-plane shuffle, then the coder)
  uniform = 1,    // affine n-bit: x̂ = lo + q·step, per tensor or per channel
  cast_f16 = 2,   // IEEE binary16, round to nearest even
  cast_bf16 = 3,  // bfloat16, round to nearest even
  nonuniform = 4, // fitted reconstruction levels and thresholds per channel (codec models only)
};

// Numeric values are the bitstream's coder ids (docs/format.md §Coders).
enum class CoderKind : std::uint8_t {
  raw = 0,   // symbols bit-packed at their width
  zstd = 1,  // byte planes of the symbols, zstd
  rans = 2,  // CDF-driven rANS (codec/entropy/rans)
  adaptive = 3,  // context-adaptive binary rANS, no tables (format 1.1; codec/entropy/adaptive)
  rans_wide = 4, // rans with 32, 64 or 128 interleaved states (format 1.2)
  context_rans = 5,  // one-state rANS, tables chosen by group, position and neighbours (format 1.3)
};

const char* quantizer_name(QuantizerKind k) noexcept;
const char* coder_name(CoderKind k) noexcept;
std::optional<CoderKind> coder_from_name(std::string_view s) noexcept;

// Bounds a decoder enforces before allocating. Defaults are safe for a server; a caller may
// tighten them (or loosen them up to the hard caps in docs/format.md §Limits).
struct DecoderLimits {
  std::uint64_t max_elements = std::uint64_t{1} << 28;       // per frame, all tensors
  std::uint64_t max_output_bytes = std::uint64_t{1} << 30;   // per frame, decoded bytes
  int max_rank = kMaxRank;
  std::uint32_t max_tensors = 256;
  std::uint64_t max_chunks = std::uint64_t{1} << 20;
  // Per frame: entries, slots and symbols of every in-stream coder table of every tensor, summed
  // (docs/format.md §7.1). The frame's budget is frame_table_budget() of this cap.
  std::uint64_t max_table_entries = std::uint64_t{1} << 26;
};

// The table budget of a frame of `frame_bytes` bytes declaring `output_elements` elements in all:
// min(max_table_entries, 16·frame_bytes + output_elements + 2^20), saturating (docs/format.md
// §7.1). A decoder refuses (limit_exceeded) a frame whose coder tables declare more, before
// building them; an encoder refuses to write one.
std::uint64_t frame_table_budget(const DecoderLimits& limits, std::uint64_t frame_bytes,
                                 std::uint64_t output_elements) noexcept;

class CodecModel;

struct EncoderOptions {
  QuantizerKind quantizer = QuantizerKind::uniform;
  int bits = 8;                       // uniform: 1..16
  std::optional<int> channel_axis;    // uniform: per-channel along this axis (negative counts from the end)
  std::optional<double> clip_lo;      // uniform: clip range; both or neither; default min/max of the data
  std::optional<double> clip_hi;
  CoderKind coder = CoderKind::zstd;
  int zstd_level = 3;                 // 1..22 (negative: zstd's fast levels, down to -7)
  // rans: interleaved states. 0: chosen per tensor by chunk size (32 as coder 2 under 64 Ki
  // symbols a chunk, 64 under 256 Ki, else 128, as coder 4, format 1.2); 32: always coder 2 (format 1.0);
  // 64 or 128: always coder 4. rans_wide: 0 means the automatic choice but at least 64.
  int rans_lanes = 0;
  std::uint64_t chunk_elements = 0;   // 0: one chunk per tensor up to 1 Mi elements, then 1 Mi-element chunks
  bool chunk_checksums = true;
  Layout layout = Layout::unspecified;
  int threads = 1;                    // chunks coded in parallel; 1 = calling thread only
  // A fitted codec model (docs/format-model.md): the frame is a compact model-bound frame
  // (docs/format.md §2.3) coded with the model's rate point; the options above that the model
  // fixes (quantizer, bits, clip, coder, chunks) are not used.
  std::shared_ptr<const CodecModel> codec_model;
  int rate_point = 0;                 // with codec_model: 0 .. rate_point_count() − 1 (≤ 15)
  // The limits of the decoder the frames are for: encode() refuses (invalid_argument) a frame that
  // decoder would refuse — elements, output bytes, rank, tensors, chunks, table entries.
  DecoderLimits decoder_limits;

  Status validate() const;
};

// The encoder's options as one table: name, range and meaning of each. EncoderOptions::validate,
// the C ABI's ftc_encoder_set, the command line, the evaluator's sweeps and the Python module all
// check and set options through it. Numeric values are the C ABI's ftc_param values.
enum class EncoderParam : int {
  quantizer = 1, bits = 2, channel_axis = 3, coder = 4, zstd_level = 5, chunk_elements = 6,
  chunk_checksums = 7, threads = 8, layout = 9, rans_lanes = 10,
};

struct EncoderParamSpec {
  EncoderParam id;
  const char* name;                       // as on the command line and in sweeps: "bits", "level", …
  std::int64_t min;                       // inclusive range of the numeric value
  std::int64_t max;
  std::span<const std::int64_t> only;     // when not empty: the only values allowed
  std::span<const char* const> names;     // when not empty: value names, names[v] names value v
  const char* help;
};

// Every option, in EncoderParam order.
std::span<const EncoderParamSpec> encoder_params() noexcept;
const EncoderParamSpec& encoder_param(EncoderParam id) noexcept;
// By name or alias ("per-channel" = channel_axis, "level" = zstd_level, "lanes" = rans_lanes,
// "cast" = quantizer); nullptr when unknown.
const EncoderParamSpec* find_encoder_param(std::string_view name) noexcept;
// invalid_argument naming the option and its range when `value` is outside it. channel_axis takes
// kNoChannelAxis for "per tensor".
inline constexpr std::int64_t kNoChannelAxis = -100;
Status check_encoder_param(EncoderParam id, std::int64_t value);
// Checks, then stores. get_encoder_param reads the stored value back (kNoChannelAxis when unset).
Status set_encoder_param(EncoderOptions& options, EncoderParam id, std::int64_t value);
std::int64_t get_encoder_param(const EncoderOptions& options, EncoderParam id) noexcept;
// NAME=VALUE in text: a number, a value name ("rans-wide", "f16", "nchw"), for per-channel also
// "none", for chunk-checksums also "on"/"off". "clip" takes "LO,HI" or "none". One line of error.
Status set_encoder_option(EncoderOptions& options, std::string_view name, std::string_view value);
// Settings named together that exclude each other, where one would otherwise be ignored: bits,
// per-channel or clip with a quantizer other than uniform; level with a coder other than zstd; lanes
// with a coder other than rans or rans-wide. Settings are (name, value) as set_encoder_option takes
// them (aliases included); an option neither named nor in `free` counts at its default (uniform,
// zstd), an option in `free` (e.g. swept by the evaluator) may take any value. invalid_argument
// naming both settings; values are checked by set_encoder_option, not here.
Status check_encoder_settings_agree(std::span<const std::pair<std::string, std::string>> settings,
                                    std::span<const std::string> free = {});

// A codec model file (.ftcm, docs/format-model.md): statistics fitted once on calibration data —
// channel subset, quantizer levels, entropy tables — that both ends hold, so that frames carry
// only payload. Immutable once loaded; share one across threads, encoders and decoders.
class CodecModel {
 public:
  // Parses and checks every byte (hostile input), and builds each rate point's coder once.
  static Result<std::shared_ptr<const CodecModel>> from_bytes(std::span<const std::uint8_t> bytes);
  static Result<std::shared_ptr<const CodecModel>> from_file(const std::string& path);
  ~CodecModel();

  std::uint64_t id() const noexcept;
  std::uint64_t hash() const noexcept;     // XXH64 of the file: what frames bind to
  std::size_t rate_point_count() const noexcept;
  const std::string& rate_point_label(std::size_t point) const;
  const std::string& tensor_name() const noexcept;
  DType tensor_dtype() const noexcept;
  const Shape& tensor_shape() const noexcept;
  // Elements the quantizer codes at a rate point (after the channel subset).
  std::uint64_t coded_elements(std::size_t point) const;
  std::string metadata(const std::string& key) const;  // "" when absent

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  CodecModel();
  std::unique_ptr<Impl> impl_;
};

// What a frame declares, read from its header without decoding payloads.
struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  Layout layout = Layout::unspecified;
  QuantizerKind quantizer = QuantizerKind::lossless;
  int bits = 0;                       // symbol width
  std::optional<int> channel_axis;
  CoderKind coder = CoderKind::raw;
  std::uint64_t chunk_elements = 0;
  std::uint64_t chunk_count = 0;
  std::uint64_t payload_bytes = 0;    // sum of this tensor's chunk payloads
};

struct FrameInfo {
  int format_major = 0;
  int format_minor = 0;
  std::uint64_t frame_bytes = 0;      // bytes the frame occupies
  std::uint64_t header_bytes = 0;     // magic … header checksum
  bool chunk_checksums = false;
  std::optional<std::uint64_t> model_id;
  std::optional<std::uint64_t> model_hash;
  std::optional<int> rate_point;      // model-bound frames
  std::vector<TensorInfo> tensors;
};

// Worker threads that encoders and decoders code chunks on: started once, when the pool is made,
// and shared by any number of encoders, decoders and calling threads (a server shares one among
// all its requests). The calling thread always takes part in its own call, so a call completes even
// while every worker is busy with other calls. Thread-safe; destroying it joins the workers.
namespace detail {
struct PoolSlot;  // an encoder's or decoder's pool: set by the caller, or made at first use
}

class ThreadPool {
 public:
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int workers() const noexcept;
  // Threads this pool has started in its lifetime: equal to workers(), however many calls it ran.
  std::uint64_t threads_started() const noexcept;
  // Runs f(i) for every i in [0, n) on the calling thread and up to max_threads − 1 workers, and
  // returns when every call has returned. f must not throw.
  void run(std::size_t n, int max_threads, const std::function<void(std::size_t)>& f);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Encoder {
 public:
  explicit Encoder(EncoderOptions options = {});
  const EncoderOptions& options() const noexcept { return options_; }
  EncoderOptions& options() noexcept { return options_; }

  // An upper bound on the frame size of these tensors under this encoder's options; 0 when a
  // view is invalid.
  std::size_t bound(std::span<const NamedTensorView> tensors) const noexcept;

  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const;
  Result<std::vector<std::uint8_t>> encode(const TensorView& tensor) const;

  // Chunks are coded on this pool, by at most options().threads threads. Without one, an encoder
  // whose options ask for more than one thread makes its own pool at its first call and keeps it
  // (copies of the encoder share it).
  void set_pool(std::shared_ptr<ThreadPool> pool);

 private:
  EncoderOptions options_;
  std::shared_ptr<detail::PoolSlot> pool_;
};

class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  const DecoderLimits& limits() const noexcept { return limits_; }
  DecoderLimits& limits() noexcept { return limits_; }

  // Parses and checks the header (and chunk table) without decoding payloads.
  Result<FrameInfo> inspect(std::span<const std::uint8_t> frame) const;
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> frame) const;

  // Threads decoding chunks (the caller's included); the pool as for Encoder::set_pool.
  int threads = 1;
  void set_pool(std::shared_ptr<ThreadPool> pool);
  // Codec models that model-bound frames may name (a server registers every model it serves).
  // invalid_argument when a registered model has the same selector (id mod 256) and another hash.
  Status add_codec_model(std::shared_ptr<const CodecModel> model);

 private:
  Result<std::vector<NamedTensor>> decode_compact(std::span<const std::uint8_t> frame) const;
  Result<const CodecModel*> model_of_compact(std::span<const std::uint8_t> frame) const;
  DecoderLimits limits_;
  std::vector<std::shared_ptr<const CodecModel>> models_;
  std::shared_ptr<detail::PoolSlot> pool_;
};

// Library semantic version (not the format version: see ftc_format_version()).
const char* version_string() noexcept;
inline constexpr int kFormatMajor = 1;
// Newest minor version this library reads and writes. A frame is written with the lowest minor
// version that has every feature it uses (1.0; 1.1 with the adaptive coder; 1.2 with rans-wide;
// 1.3 with context-rans or a codec model).
inline constexpr int kFormatMinor = 3;

}  // namespace ftc
