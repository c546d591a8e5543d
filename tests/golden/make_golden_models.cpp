// Writes the golden codec model files of model format 1.0 (docs/format-model.md §13) into
// DIR/valid, DIR/invalid and DIR/MODEL_MANIFEST. Run by `tests/golden/make_golden.sh models`;
// every regeneration is logged in the changelog of docs/format-model.md. Valid files come from
// the library's writer (fitted-looking contents from a fixed integer recipe, no library RNG);
// invalid ones are assembled byte by byte so that exactly one rule is broken, then sealed with a
// correct checksum so that the broken rule is the one a reader reports.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <xxhash.h>

#include "bitstream/byte_io.hpp"
#include "bitstream/codec_model.hpp"
#include "codec/entropy/rans.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;
using namespace ftc::model;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(s >> 33);
  }
};

fs::path root;
std::string manifest;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "make_golden_models: %s\n", what.c_str());
  std::exit(1);
}

void write_file(const fs::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A valid model: written by the library, read back equal; `canonical` when re-writing the parsed
// model gives the same bytes.
void valid_bytes(const std::string& name, const Bytes& bytes, bool canonical) {
  auto m = parse_codec_model(bytes);
  if (!m.ok()) die(name + ": " + m.status().to_string());
  auto again = write_codec_model(*m);
  if (!again.ok() || (*again == bytes) != canonical) die(name + ": re-write does not behave as declared");
  write_file(root / "valid" / (name + ".ftcm"), bytes);
  char line[256];
  std::snprintf(line, sizeof line, "valid %s.ftcm %016llx %016llx %zu %zu %d\n", name.c_str(),
                static_cast<unsigned long long>(model_content_hash(bytes)), static_cast<unsigned long long>(m->model_id),
                m->tensors.size(), m->rate_points.size(), canonical ? 1 : 0);
  manifest += line;
}

void valid(const std::string& name, const CodecModelFile& m) {
  auto bytes = write_codec_model(m);
  if (!bytes.ok()) die(name + ": " + bytes.status().to_string());
  if (!(*parse_codec_model(*bytes) == m)) die(name + ": does not read back");
  valid_bytes(name, *bytes, true);
}

void invalid(const std::string& name, const Bytes& bytes, StatusCode expect) {
  auto m = parse_codec_model(bytes);
  if (m.ok() || m.status().code() != expect)
    die("invalid model " + name + ": expected " + status_code_name(expect) + ", got " + m.status().to_string());
  write_file(root / "invalid" / (name + ".ftcm"), bytes);
  manifest += "invalid " + name + ".ftcm " + std::to_string(static_cast<int>(expect)) + "\n";
}

// ---- Fitted-looking contents. -----------------------------------------------------------------

// Per-channel rANS tables of `bits`-bit symbols over `groups` contexts from synthetic histograms
// (geometric around a per-channel mode), with escapes so that unseen values stay codable. The
// top value 2^bits − 1 never occurs in the histograms: the escape's index n must fit a symbol
// (docs/format-rans.md §1.3), and build_rans_tables does not escape that value by itself when
// the caller asks for an escape.
Bytes rans_tables(int bits, std::uint32_t groups, std::uint64_t seed) {
  entropy::RansHistograms h;
  h.bits = bits;
  Lcg g{seed};
  const std::uint32_t n = 1u << bits;
  h.counts.assign(groups, std::vector<std::uint64_t>(n, 0));
  for (std::uint32_t c = 0; c < groups; ++c) {
    const std::uint32_t mode = g.next() % n;
    for (std::uint32_t v = 0; v < n; ++v) {
      const std::uint32_t d = v > mode ? v - mode : mode - v;
      h.counts[c][v] = d >= 20 || v == n - 1 ? 0 : (std::uint64_t{4096} >> (d / 2 + (g.next() & 1)));
    }
  }
  entropy::RansModelOptions o;
  o.escape_count = 1;
  o.count_table_cost = false;
  o.precision = 12;
  auto t = entropy::build_rans_tables(h, o);
  if (!t.ok()) die("rans tables: " + t.status().to_string());
  if (!t->validate(groups).ok()) die("rans tables: " + t->validate(groups).to_string());
  return t->serialized();
}

Quantizer uniform(int bits, std::optional<int> axis, std::size_t groups, std::uint64_t seed) {
  Quantizer q;
  q.kind = QuantKind::uniform;
  q.bits = bits;
  q.axis = axis;
  Lcg g{seed};
  for (std::size_t i = 0; i < groups; ++i) {
    q.lo.push_back(-static_cast<float>(g.next() % 64) / 64.0f);
    q.step.push_back(static_cast<float>(1 + g.next() % 256) / 1024.0f);
  }
  return q;
}

CodecModelFile uniform_rans() {
  CodecModelFile m;
  m.model_id = 1;
  m.tensors = {{"layer2.0.relu", DType::f32, Layout::nchw, {1, 16, 8, 8}}};
  TensorCodec tc;
  tc.quantizer = uniform(4, 1, 16, 11);
  tc.entropy.coder = CoderKind::rans;
  tc.entropy.params = rans_tables(4, 16, 12);
  m.rate_points = {RatePoint{"4 bit", {tc}}};
  m.metadata = {{"fitted_on", "synthetic: tests/golden/make_golden_models.cpp"}, {"tool", "ftc_make_golden_models"}};
  return m;
}

CodecModelFile nonuniform() {
  CodecModelFile m;
  m.model_id = 2;
  m.tensors = {{"features", DType::f32, Layout::nchw, {1, 8, 4, 4}}};
  TensorCodec tc;
  Quantizer& q = tc.quantizer;
  q.kind = QuantKind::nonuniform;
  q.bits = 3;
  q.axis = 1;
  q.levels = 7;
  for (int g = 0; g < 8; ++g) {
    const float s = 0.25f * static_cast<float>(g + 1);
    // Levels 0, ±s, ±2.5s, ±5s; the thresholds around 0 sit at 0.8 s (a dead zone wider than the
    // midpoints), the others at the midpoints.
    const float lv[7] = {-5 * s, -2.5f * s, -s, 0, s, 2.5f * s, 5 * s};
    const float th[6] = {-3.75f * s, -1.75f * s, -0.8f * s, 0.8f * s, 1.75f * s, 3.75f * s};
    q.level.insert(q.level.end(), lv, lv + 7);
    q.threshold.insert(q.threshold.end(), th, th + 6);
  }
  tc.entropy.coder = CoderKind::rans;
  tc.entropy.params = rans_tables(3, 8, 21);
  m.rate_points = {RatePoint{"3 bit dead zone", {tc}}};
  return m;
}

CodecModelFile pca() {
  CodecModelFile m;
  m.model_id = 3;
  m.tensors = {{"backbone.out", DType::f32, Layout::nchw, {1, 32, 7, 7}}};
  TensorCodec tc;
  Transform& t = tc.transform;
  t.kind = TransformKind::pca;
  t.axis = 1;
  t.components = 8;
  for (int c = 0; c < 32; ++c) t.mean.push_back(static_cast<float>(c % 5) / 8.0f);
  // Rows 0..7 of the Sylvester-Hadamard matrix of order 32, scaled by 1/sqrt(32): orthonormal.
  const float s = 1.0f / std::sqrt(32.0f);
  for (int k = 0; k < 8; ++k)
    for (int c = 0; c < 32; ++c) t.basis.push_back(__builtin_popcount(static_cast<unsigned>(k & c)) % 2 ? -s : s);
  tc.quantizer = uniform(6, 1, 8, 31);
  tc.entropy.coder = CoderKind::zstd;
  m.rate_points = {RatePoint{"K=8", {tc}}};
  m.metadata = {{"explained_variance", "0.93"}};
  return m;
}

CodecModelFile rate_points() {
  CodecModelFile m;
  m.model_id = 0x5A17C0DE00000004ull;
  m.tensors = {{"split", DType::f32, Layout::nchw, {1, 16, 8, 8}}, {"skip", DType::f16, Layout::nhwc, {1, 4, 4, 8}}};
  // r0: lossless; r1: f16 cast + 8-bit per channel with 64-lane rANS; r2: 4-bit rANS + channel
  // subset with the adaptive coder; r3: PCA K=4 at 2 bits + a 1-level non-uniform skip tensor.
  TensorCodec a0, b0;
  a0.entropy.coder = CoderKind::zstd;
  b0.entropy.coder = CoderKind::zstd;
  TensorCodec a1, b1;
  a1.quantizer.kind = QuantKind::cast_f16;
  a1.entropy.coder = CoderKind::raw;
  b1.quantizer = uniform(8, 3, 8, 41);
  b1.entropy.coder = CoderKind::rans_wide;
  b1.entropy.params = rans_tables(8, 8, 42);
  b1.entropy.params.insert(b1.entropy.params.begin(), 1);
  b1.chunk_elements = 64;
  TensorCodec a2, b2;
  a2.quantizer = uniform(4, 1, 16, 51);
  a2.entropy.coder = CoderKind::rans;
  a2.entropy.params = rans_tables(4, 16, 52);
  b2.transform.kind = TransformKind::channel_subset;
  b2.transform.axis = 3;
  b2.transform.kept = {0, 1, 2, 5};
  b2.transform.fill = {0.0f, 0.125f, -0.5f, 0.0f};
  b2.quantizer = uniform(3, std::nullopt, 1, 53);
  b2.entropy.coder = CoderKind::adaptive;
  b2.entropy.params = {1, 5, 4, 16};
  TensorCodec a3, b3;
  a3.transform.kind = TransformKind::pca;
  a3.transform.axis = 1;
  a3.transform.components = 4;
  a3.transform.mean.assign(16, 0.5f);
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 16; ++c) a3.transform.basis.push_back(c == 4 * k || c == 4 * k + 1 ? 0.70710677f : 0.0f);
  a3.quantizer = uniform(2, 1, 4, 61);
  a3.entropy.coder = CoderKind::raw;
  b3.quantizer.kind = QuantKind::nonuniform;
  b3.quantizer.bits = 1;
  b3.quantizer.levels = 1;
  b3.quantizer.level = {0.0f};
  b3.entropy.coder = CoderKind::raw;
  m.rate_points = {RatePoint{"lossless", {a0, b0}}, RatePoint{"f16 / 8 bit", {a1, b1}}, RatePoint{"4 bit", {a2, b2}},
                   RatePoint{"PCA 4 @ 2 bit", {a3, b3}}};
  Learned l;
  l.device_graph.kind = HashKind::xxh64;
  for (int i = 0; i < 8; ++i) l.device_graph.digest.push_back(static_cast<std::uint8_t>(0x10 + i));
  l.server_graph.kind = HashKind::sha256;
  for (int i = 0; i < 32; ++i) l.server_graph.digest.push_back(static_cast<std::uint8_t>(0xA0 + i));
  l.latent = {"split", DType::f32, Layout::nchw, {1, 16, 8, 8}};
  m.learned = l;
  m.metadata = {{"created", "2026-12-01"}, {"fitted_on", "calibration set \xc3\xa0 512 images"}, {"tool", "ftc fit"},
                {"tool_version", "0.3.0"}};
  return m;
}

CodecModelFile minimal() {
  CodecModelFile m;
  m.tensors = {{"", DType::u8, Layout::unspecified, {}}};
  m.rate_points = {RatePoint{"", {TensorCodec{}}}};
  return m;
}

// ---- An assembler for hand-built (valid with extensions, or invalid) files. -------------------

struct Asm {
  Bytes b;
  Asm& u8(unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); return *this; }
  Asm& varint(std::uint64_t v) { ByteWriter(b).varint(v); return *this; }
  Asm& f32(float v) { ByteWriter(b).f32le(v); return *this; }
  Asm& raw(const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); return *this; }
  Asm& str8(const std::string& s) { u8(static_cast<unsigned>(s.size())); b.insert(b.end(), s.begin(), s.end()); return *this; }
  Asm& blob(const Bytes& x) { varint(x.size()); return raw(x); }
};

Bytes decl(const std::string& name, DType dt, const std::vector<std::uint64_t>& dims) {
  Asm a;
  a.str8(name).u8(static_cast<unsigned>(dt)).u8(1).u8(static_cast<unsigned>(dims.size()));
  for (auto d : dims) a.varint(d);
  return a.b;
}
Bytes section(std::uint64_t tag, const Bytes& body) { return Asm().varint(tag).blob(body).b; }
Bytes tensors(const std::vector<Bytes>& decls) {
  Asm a;
  a.varint(decls.size());
  for (const auto& d : decls) a.raw(d);
  return section(kTagTensors, a.b);
}
Bytes record(const Bytes& transform, const Bytes& quantizer, const Bytes& entropy, const Bytes& ext = {}) {
  return Asm().blob(Asm().raw(transform).raw(quantizer).raw(entropy).varint(0).raw(ext).b).b;
}
Bytes rate_point(const std::vector<Bytes>& records) {
  Asm a;
  a.str8("r");
  for (const auto& r : records) a.raw(r);
  return section(kTagRatePoint, a.b);
}
Bytes file(const std::vector<Bytes>& sections, unsigned major = 1, unsigned minor = 0) {
  Asm a;
  a.u8('F').u8('T').u8('C').u8('M').u8(major).u8(minor);
  ByteWriter(a.b).u64le(100);
  for (const auto& s : sections) a.raw(s);
  ByteWriter(a.b).u64le(XXH64(a.b.data(), a.b.size(), 0));
  return a.b;
}

const Bytes kIdentity = {0};
const Bytes kRaw = {0, 0, 0};
Bytes uniform_q(unsigned bits, unsigned axis1, const std::vector<std::pair<float, float>>& ls) {
  Asm a;
  a.u8(1).u8(bits).varint(axis1);
  for (auto [lo, step] : ls) a.f32(lo).f32(step);
  return a.b;
}
Bytes nonuniform_q(unsigned bits, std::uint64_t L, const std::vector<float>& v) {
  Asm a;
  a.u8(4).u8(bits).varint(0).varint(L);
  for (float f : v) a.f32(f);
  return a.b;
}
const Bytes kX = decl("x", DType::f32, {1, 4, 2, 2});
const Bytes kQ = uniform_q(4, 0, {{0.0f, 0.5f}});
Bytes one(const Bytes& transform, const Bytes& quantizer, const Bytes& entropy = kRaw, const Bytes& d = kX) {
  return file({tensors({d}), rate_point({record(transform, quantizer, entropy)})});
}
Bytes pca_t(unsigned axis, std::uint64_t k, const std::vector<float>& floats) {
  Asm a;
  a.u8(2).u8(axis).varint(k);
  for (float f : floats) a.f32(f);
  return a.b;
}

void vectors() {
  valid("uniform_rans", uniform_rans());
  valid("nonuniform_deadzone", nonuniform());
  valid("pca_hadamard", pca());
  valid("rate_points_learned", rate_points());
  valid("minimal", minimal());
  // A later minor version's additions a 1.0 reader skips: trailing record fields and
  // non-critical sections before, between and after the known ones (not canonical: re-writing
  // drops the record fields and moves the sections last).
  valid_bytes("minor_extensions",
              file({section(2, {'a'}), tensors({kX}), rate_point({record(kIdentity, kQ, kRaw, {0xEE, 0xFF})}), section(8, {}),
                    section(kTagMetadata, Asm().varint(1).str8("k").blob({'v'}).b), section(1000, {1, 2, 3})},
                   1, 3),
              false);

  // §2 File.
  const Bytes good = one(kIdentity, kQ);
  Bytes x = good;
  x[3] = 'F';
  invalid("bad_magic", x, StatusCode::corrupt);
  invalid("major_2", file({tensors({kX}), rate_point({record(kIdentity, kQ, kRaw)})}, 2, 0), StatusCode::unsupported_version);
  x = good;
  x[x.size() / 2] ^= 0x01;
  invalid("checksum", x, StatusCode::checksum_mismatch);
  invalid("shorter_than_header", Bytes(good.begin(), good.begin() + 21), StatusCode::truncated);
  // §3 Sections.
  invalid("no_tensors", file({}), StatusCode::corrupt);
  invalid("no_rate_point", file({tensors({kX})}), StatusCode::corrupt);
  const Bytes rp = rate_point({record(kIdentity, kQ, kRaw)});
  const Bytes learned = section(kTagLearned, Asm().u8(0).u8(0).raw(decl("z", DType::f32, {4})).b);
  const Bytes meta = section(kTagMetadata, Asm().varint(0).b);
  invalid("metadata_before_learned", file({tensors({kX}), rp, meta, learned}), StatusCode::corrupt);
  invalid("tensors_twice", file({tensors({kX}), tensors({kX}), rp}), StatusCode::corrupt);
  invalid("critical_unknown_section", file({tensors({kX}), rp, section(5, {})}), StatusCode::unsupported_feature);
  invalid("section_past_end", file({tensors({kX}), Asm().varint(kTagRatePoint).varint(200).b}), StatusCode::truncated);
  // §4 Tensor declarations.
  invalid("tensor_count_0", file({section(kTagTensors, {0}), rp}), StatusCode::corrupt);
  invalid("name_not_utf8", one(kIdentity, kQ, kRaw, decl("\xc0\x80", DType::f32, {4})), StatusCode::corrupt);
  invalid("rank_9", one(kIdentity, kQ, kRaw, decl("x", DType::f32, {1, 1, 1, 1, 1, 1, 1, 1, 1})), StatusCode::corrupt);
  invalid("dim_over_2_48", one(kIdentity, kQ, kRaw, decl("x", DType::f32, {(std::uint64_t{1} << 48) + 1, 0})), StatusCode::corrupt);
  invalid("elements_over_limit", one(kIdentity, kQ, kRaw, decl("x", DType::f32, {1u << 15, 1u << 14})), StatusCode::limit_exceeded);
  // §5 Rate points.
  invalid("record_past_rate_point", file({tensors({kX}), section(kTagRatePoint, Asm().str8("r").varint(40).raw(kIdentity).b)}),
          StatusCode::truncated);
  invalid("rate_point_trailing_byte", file({tensors({kX}), section(kTagRatePoint, Asm().str8("r").raw(record(kIdentity, kQ, kRaw)).u8(0).b)}),
          StatusCode::corrupt);
  // §6 Transforms.
  invalid("transform_3", one({3}, kQ), StatusCode::unsupported_feature);
  invalid("subset_not_increasing", one(Asm().u8(1).u8(1).varint(2).varint(2).varint(1).f32(0).f32(0).b, kQ), StatusCode::corrupt);
  invalid("pca_integer_dtype", one(pca_t(1, 1, std::vector<float>(8, 0.5f)), kQ, kRaw, decl("x", DType::i8, {1, 4, 2, 2})),
          StatusCode::corrupt);
  std::vector<float> f8(8, 0.5f);
  f8[6] = NAN;
  invalid("pca_basis_nan", one(pca_t(1, 1, f8), kQ), StatusCode::corrupt);
  invalid("pca_basis_over_limit", one(pca_t(1, 512, {}), kQ, kRaw, decl("x", DType::f32, {1, 1u << 16, 1, 1})), StatusCode::limit_exceeded);
  invalid("pca_floats_past_record", one(pca_t(1, 2, {}), kQ, kRaw, decl("x", DType::f32, {1, 64, 1, 1})), StatusCode::truncated);
  // §7 Quantizers.
  invalid("quantizer_5", one(kIdentity, {5}), StatusCode::unsupported_feature);
  invalid("cast_on_integer", one(kIdentity, {2}, kRaw, decl("x", DType::i16, {4})), StatusCode::corrupt);
  invalid("uniform_negative_step", one(kIdentity, uniform_q(4, 0, {{0.0f, -0.5f}})), StatusCode::corrupt);
  invalid("uniform_groups_past_record", one(kIdentity, uniform_q(4, 2, {{0.0f, 0.5f}, {0.0f, 0.5f}})), StatusCode::truncated);
  invalid("groups_over_limit", one(kIdentity, Asm().u8(1).u8(8).varint(2).b, kRaw, decl("x", DType::f32, {1, (1u << 16) + 1})),
          StatusCode::limit_exceeded);
  invalid("nonuniform_levels_over_bits", one(kIdentity, nonuniform_q(1, 3, {-1, 0, 1, -0.5f, 0.5f})), StatusCode::corrupt);
  invalid("nonuniform_levels_not_increasing", one(kIdentity, nonuniform_q(2, 3, {-1, 1, 0, -0.5f, 0.5f})), StatusCode::corrupt);
  invalid("nonuniform_threshold_outside", one(kIdentity, nonuniform_q(2, 3, {-1, 0, 1, -0.5f, 1.5f})), StatusCode::corrupt);
  // §8 Entropy models.
  invalid("coder_6", one(kIdentity, kQ, {6, 0, 0}), StatusCode::unsupported_feature);
  invalid("raw_with_params", one(kIdentity, kQ, {0, 1, 7, 0}), StatusCode::corrupt);
  invalid("coder_state", one(kIdentity, kQ, {2, 0, 1, 9}), StatusCode::unsupported_feature);
  // §10, §11.
  invalid("hash_kind_3", file({tensors({kX}), rp, section(kTagLearned, Asm().u8(3).raw(Bytes(8, 0)).u8(0).raw(decl("z", DType::f32, {4})).b)}),
          StatusCode::unsupported_feature);
  invalid("metadata_keys_unsorted", file({tensors({kX}), rp, section(kTagMetadata, Asm().varint(2).str8("tool").blob({}).str8("fitted_on").blob({}).b)}),
          StatusCode::corrupt);
  invalid("metadata_value_not_utf8", file({tensors({kX}), rp, section(kTagMetadata, Asm().varint(1).str8("k").blob({0xED, 0xA0, 0x80}).b)}),
          StatusCode::corrupt);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_golden_models DIR\n");
    return 2;
  }
  root = argv[1];
  fs::create_directories(root / "valid");
  fs::create_directories(root / "invalid");
  vectors();
  std::ofstream(root / "MODEL_MANIFEST")
      << "# docs/format-model.md §13. valid FILE XXH64-of-file model_id tensors rate_points canonical(re-write gives the same bytes)\n"
         "# invalid FILE ftc_status code\n"
      << manifest;
  std::printf("wrote %s\n", (root / "MODEL_MANIFEST").c_str());
  return 0;
}
