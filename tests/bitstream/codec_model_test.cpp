// Codec model file syntax (docs/format-model.md): round trip of every field, determinism, the
// byte layout against an independent assembly, each MUST rule's rejection with its status,
// limits, truncation and bit flips.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xxhash.h>

#include "bitstream/byte_io.hpp"
#include "bitstream/codec_model.hpp"
#include "codec/entropy/rans.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;
using namespace ftc::model;
using Bytes = std::vector<std::uint8_t>;

namespace {

// ---- An independent assembler of the §2–§11 syntax (not the library's writer). -------------

struct Asm {
  Bytes b;
  Asm& u8(unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); return *this; }
  Asm& varint(std::uint64_t v) { ByteWriter(b).varint(v); return *this; }
  Asm& f32(float v) { ByteWriter(b).f32le(v); return *this; }
  Asm& raw(const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); return *this; }
  Asm& str8(const std::string& s) { u8(static_cast<unsigned>(s.size())); b.insert(b.end(), s.begin(), s.end()); return *this; }
  Asm& blob(const Bytes& x) { varint(x.size()); return raw(x); }
};

Bytes decl(const std::string& name, DType dt, const std::vector<std::uint64_t>& dims, unsigned layout = 1) {
  Asm a;
  a.str8(name).u8(static_cast<unsigned>(dt)).u8(layout).u8(static_cast<unsigned>(dims.size()));
  for (auto d : dims) a.varint(d);
  return a.b;
}

Bytes section(std::uint64_t tag, const Bytes& body) { return Asm().varint(tag).blob(body).b; }

Bytes seal(Bytes f) {
  const std::uint64_t h = XXH64(f.data(), f.size(), 0);
  ByteWriter(f).u64le(h);
  return f;
}

Bytes file(const std::vector<Bytes>& sections, std::uint64_t id = 0x1122334455667788ull, unsigned major = 1, unsigned minor = 0) {
  Asm a;
  a.u8('F').u8('T').u8('C').u8('M').u8(major).u8(minor);
  ByteWriter(a.b).u64le(id);
  for (const auto& s : sections) a.raw(s);
  return seal(a.b);
}

Bytes tensors(const std::vector<Bytes>& decls) {
  Asm a;
  a.varint(decls.size());
  for (const auto& d : decls) a.raw(d);
  return section(kTagTensors, a.b);
}

// A record: transform, quantizer, entropy model, chunk_elements, extension bytes.
Bytes record(const Bytes& transform, const Bytes& quantizer, const Bytes& entropy, std::uint64_t chunk = 0, const Bytes& ext = {}) {
  Asm body;
  body.raw(transform).raw(quantizer).raw(entropy).varint(chunk).raw(ext);
  return Asm().blob(body.b).b;
}

Bytes rate_point(const std::vector<Bytes>& records, const std::string& label = "r") {
  Asm a;
  a.str8(label);
  for (const auto& r : records) a.raw(r);
  return section(kTagRatePoint, a.b);
}

const Bytes kIdentity = {0};
Bytes uniform_q(unsigned bits, unsigned axis1, const std::vector<std::pair<float, float>>& ls) {
  Asm a;
  a.u8(1).u8(bits).varint(axis1);
  for (auto [lo, step] : ls) a.f32(lo).f32(step);
  return a.b;
}
const Bytes kRaw = {0, 0, 0};  // coder raw, no params, no state

// One f32 [1,4,2,2] tensor, one rate point: `transform`, `quantizer`, `entropy`.
Bytes one_tensor(const Bytes& transform, const Bytes& quantizer, const Bytes& entropy = kRaw,
                 const Bytes& d = decl("x", DType::f32, {1, 4, 2, 2})) {
  return file({tensors({d}), rate_point({record(transform, quantizer, entropy)})});
}

const Bytes kPerTensor4 = uniform_q(4, 0, {{0.f, 0.5f}});

StatusCode code_of(const Bytes& f, const ModelLimits& l = {}) {
  auto r = parse_codec_model(f, l);
  return r.ok() ? StatusCode::ok : r.status().code();
}

bool is_input_error(StatusCode c) { return static_cast<int>(c) >= 20 && static_cast<int>(c) < 40; }

// ---- A model using every field. -------------------------------------------------------------

Bytes rans_blob(int bits, std::uint32_t groups) {
  entropy::RansTables t;
  t.bits = bits;
  t.precision = 12;
  t.tables.push_back({{2048, 1024, 768}, 256});
  auto v = t.validate(groups);
  REQUIRE(v.ok());
  return t.serialized();
}

CodecModelFile sample_model() {
  CodecModelFile m;
  m.model_id = 42;
  m.tensors = {{"layer3.out", DType::f32, Layout::nchw, {1, 8, 4, 4}}, {"aux", DType::f32, Layout::unspecified, {2, 3}}};

  RatePoint q2;
  q2.label = "q2";
  {
    TensorCodec a;
    a.quantizer.kind = QuantKind::uniform;
    a.quantizer.bits = 2;
    a.quantizer.axis = 1;
    for (int g = 0; g < 8; ++g) { a.quantizer.lo.push_back(-0.25f * static_cast<float>(g)); a.quantizer.step.push_back(0.125f + static_cast<float>(g)); }
    a.entropy.coder = CoderKind::rans;
    a.entropy.params = rans_blob(2, 8);
    a.chunk_elements = 64;
    TensorCodec b;
    b.transform.kind = TransformKind::channel_subset;
    b.transform.axis = 1;
    b.transform.kept = {0, 2};
    b.transform.fill = {0.75f};
    b.quantizer.kind = QuantKind::nonuniform;
    b.quantizer.bits = 2;
    b.quantizer.axis = 1;  // groups = kept channels = 2
    b.quantizer.levels = 3;
    b.quantizer.level = {-1.f, 0.f, 1.f, -2.f, 0.f, 3.f};
    b.quantizer.threshold = {-0.8f, 0.8f, -1.5f, 1.0f};  // dead zones wider than midpoints
    b.entropy.coder = CoderKind::raw;
    q2.tensors = {a, b};
  }
  RatePoint q4;
  q4.label = "q4 (PCA)";
  {
    TensorCodec a;
    a.transform.kind = TransformKind::pca;
    a.transform.axis = 1;
    a.transform.components = 3;
    for (int c = 0; c < 8; ++c) a.transform.mean.push_back(0.1f * static_cast<float>(c));
    for (int i = 0; i < 24; ++i) a.transform.basis.push_back(static_cast<float>((i * 7) % 11) / 11.f - 0.5f);
    a.quantizer.kind = QuantKind::uniform;
    a.quantizer.bits = 4;
    a.quantizer.axis = 1;  // groups = K = 3
    a.quantizer.lo = {-1.f, -2.f, -3.f};
    a.quantizer.step = {0.1f, 0.2f, 0.f};
    a.entropy.coder = CoderKind::zstd;
    TensorCodec b;
    b.quantizer.kind = QuantKind::cast_f16;
    b.entropy.coder = CoderKind::adaptive;
    b.entropy.params = {1, 5, 3, 6};
    q4.tensors = {a, b};
  }
  RatePoint ll;
  ll.label = "lossless";
  {
    TensorCodec a;
    a.entropy.coder = CoderKind::rans_wide;
    a.entropy.params = rans_blob(8, 1);
    a.entropy.params.insert(a.entropy.params.begin(), 1);  // lane exponent: 64 lanes
    TensorCodec b;
    b.quantizer.kind = QuantKind::cast_bf16;
    ll.tensors = {a, b};
  }
  m.rate_points = {q2, q4, ll};
  Learned l;
  l.device_graph = {HashKind::xxh64, {1, 2, 3, 4, 5, 6, 7, 8}};
  l.server_graph.kind = HashKind::sha256;
  for (int i = 0; i < 32; ++i) l.server_graph.digest.push_back(static_cast<std::uint8_t>(255 - i));
  l.latent = {"z", DType::f16, Layout::nchw, {1, 16, 4, 4}};
  m.learned = l;
  m.metadata["fitted_on"] = "imagenet-val[0:512] \xc3\xa9t\xc3\xa9";
  m.metadata["tool"] = "ftc-fit 0.3.0";
  return m;
}

}  // namespace

TEST_CASE("every field round-trips and the writer is deterministic") {
  const CodecModelFile m = sample_model();
  auto bytes = write_codec_model(m);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  auto back = parse_codec_model(*bytes);
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(*back == m);
  // Spot checks that the equality compares what was written.
  CHECK(back->model_id == 42);
  CHECK(back->rate_points.size() == 3);
  CHECK(back->rate_points[1].label == "q4 (PCA)");
  CHECK(back->rate_points[1].tensors[0].transform.basis.size() == 24);
  CHECK(back->rate_points[0].tensors[1].quantizer.threshold[3] == 1.0f);
  CHECK(back->learned->server_graph.digest[31] == 224);
  CHECK(back->metadata.at("fitted_on") == m.metadata.at("fitted_on"));
  CHECK(coded_shape(back->tensors[0], back->rate_points[1].tensors[0].transform) == Shape{1, 3, 4, 4});
  CHECK(coded_shape(back->tensors[1], back->rate_points[0].tensors[1].transform) == Shape{2, 2});

  // Same struct, same bytes: twice, from a copy, and with metadata inserted in another order.
  CHECK(*write_codec_model(m) == *bytes);
  CodecModelFile m2 = *back;
  m2.metadata.clear();
  m2.metadata["tool"] = "ftc-fit 0.3.0";
  m2.metadata["fitted_on"] = m.metadata.at("fitted_on");
  CHECK(*write_codec_model(m2) == *bytes);
  // Re-writing a parsed file gives its bytes back.
  CHECK(*write_codec_model(*back) == *bytes);
  // The content hash is XXH64 of the bytes; changing anything changes it.
  CHECK(model_content_hash(*bytes) == XXH64(bytes->data(), bytes->size(), 0));
  m2.rate_points[2].label = "lossless!";
  CHECK(model_content_hash(*write_codec_model(m2)) != model_content_hash(*bytes));
}

TEST_CASE("the rANS blob of a model builds the existing rANS decoder") {
  const CodecModelFile m = *parse_codec_model(*write_codec_model(sample_model()));
  const TensorCodec& tc = m.rate_points[0].tensors[0];
  const Shape coded = coded_shape(m.tensors[0], tc.transform);
  const auto groups = static_cast<std::uint32_t>(quantizer_groups(tc.quantizer, coded));
  CHECK(groups == 8);
  auto tables = entropy::RansTables::parse(tc.entropy.params, tc.quantizer.bits, groups);
  REQUIRE_MESSAGE(tables.ok(), tables.status().to_string());
  CHECK(tables->tables[0].escape == 256);
  ContextMap ctx;
  ctx.groups = groups;
  ctx.inner = 16;
  CHECK(entropy::make_rans_decoder(tc.entropy.params, tc.quantizer.bits, ctx).ok());
  const auto& wide = m.rate_points[2].tensors[0].entropy.params;
  CHECK(entropy::make_rans_wide_decoder(wide, 8, ContextMap{}).ok());
}

TEST_CASE("the writer's bytes are the layout of the spec") {
  CodecModelFile m;
  m.model_id = 0x0102030405060708ull;
  m.tensors = {{"x", DType::f32, Layout::nchw, {1, 4, 2, 2}}};
  TensorCodec tc;
  tc.quantizer.kind = QuantKind::uniform;
  tc.quantizer.bits = 4;
  tc.quantizer.lo = {0.f};
  tc.quantizer.step = {0.5f};
  m.rate_points = {RatePoint{"r", {tc}}};
  const Bytes expect = file({tensors({decl("x", DType::f32, {1, 4, 2, 2})}), rate_point({record(kIdentity, kPerTensor4, kRaw)})},
                            0x0102030405060708ull);
  CHECK(*write_codec_model(m) == expect);
  // Header bytes, spelled out (§2).
  const Bytes head = {'F', 'T', 'C', 'M', 1, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  CHECK(Bytes(expect.begin(), expect.begin() + 14) == head);
  CHECK(parse_codec_model(expect).ok());
}

TEST_CASE("header MUST rules (§2)") {
  const Bytes good = one_tensor(kIdentity, kPerTensor4);
  REQUIRE(code_of(good) == StatusCode::ok);
  CHECK(code_of(Bytes{'F', 'T', 'C'}) == StatusCode::truncated);
  CHECK(code_of(Bytes{'F', 'T', 'C', 'M', 1}) == StatusCode::truncated);
  CHECK(code_of(Bytes(good.begin(), good.begin() + 21)) == StatusCode::truncated);
  Bytes x = good;
  x[3] = 'X';
  CHECK(code_of(x) == StatusCode::corrupt);
  x = good;
  x[4] = 2;  // major 2: refused before the checksum is looked at
  CHECK(code_of(x) == StatusCode::unsupported_version);
  x[4] = 0;
  CHECK(code_of(x) == StatusCode::unsupported_version);
  // Any minor version is read.
  auto minor7 = parse_codec_model(file({tensors({decl("x", DType::f32, {1, 4, 2, 2})}), rate_point({record(kIdentity, kPerTensor4, kRaw)})}, 5, 1, 7));
  REQUIRE(minor7.ok());
  CHECK(minor7->minor == 7);
  x = good;
  x[20] ^= 0x10;
  CHECK(code_of(x) == StatusCode::checksum_mismatch);
  x = good;
  x.back() ^= 1;
  CHECK(code_of(x) == StatusCode::checksum_mismatch);
  ModelLimits l;
  l.max_file_bytes = good.size() - 1;
  CHECK(code_of(good, l) == StatusCode::limit_exceeded);
  l.max_file_bytes = good.size();
  CHECK(code_of(good, l) == StatusCode::ok);
  // Nothing but header and checksum: no TENSORS section.
  CHECK(code_of(file({})) == StatusCode::corrupt);
}

TEST_CASE("section MUST rules (§3)") {
  const Bytes t = tensors({decl("x", DType::f32, {1, 4, 2, 2})});
  const Bytes rp = rate_point({record(kIdentity, kPerTensor4, kRaw)});
  const Bytes learned = section(kTagLearned, Asm().u8(0).u8(0).raw(decl("z", DType::f32, {3})).b);
  const Bytes meta = section(kTagMetadata, Asm().varint(1).str8("k").blob({'v'}).b);
  CHECK(code_of(file({t, rp, rp, learned, meta})) == StatusCode::ok);
  CHECK(code_of(file({t})) == StatusCode::corrupt);             // no rate point
  CHECK(code_of(file({rp, t, rp})) == StatusCode::corrupt);     // rate point before TENSORS
  CHECK(code_of(file({t, t, rp})) == StatusCode::corrupt);      // TENSORS twice
  CHECK(code_of(file({t, learned, rp})) == StatusCode::corrupt);
  CHECK(code_of(file({t, rp, learned, learned})) == StatusCode::corrupt);
  CHECK(code_of(file({t, rp, meta, learned})) == StatusCode::corrupt);
  CHECK(code_of(file({t, rp, meta, meta})) == StatusCode::corrupt);
  CHECK(code_of(file({t, rp, meta, rp})) == StatusCode::corrupt);
  CHECK(code_of(file({t, rp, learned, rp})) == StatusCode::corrupt);
  // A section running past the checksum.
  Bytes cut = t;
  cut[1] = static_cast<std::uint8_t>(cut[1] + 40);
  CHECK(code_of(file({cut, rp})) == StatusCode::truncated);
  // Unknown critical sections are refused; unknown non-critical ones are kept, anywhere.
  CHECK(code_of(file({t, rp, section(5, {1, 2})})) == StatusCode::unsupported_feature);
  CHECK(code_of(file({t, rp, section(1001, {})})) == StatusCode::unsupported_feature);
  auto m = parse_codec_model(file({section(8, {9, 9}), t, rp, section(2, {}), meta, section(1u << 20, {7})}));
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  REQUIRE(m->unknown_sections.size() == 3);
  CHECK(m->unknown_sections[0] == UnknownSection{8, {9, 9}});
  CHECK(m->unknown_sections[2] == UnknownSection{1u << 20, {7}});
  // The writer puts them last; the result reads back as the same model.
  auto w = write_codec_model(*m);
  REQUIRE(w.ok());
  CHECK(*parse_codec_model(*w) == *m);
  CHECK(*w == file({t, rp, meta, section(8, {9, 9}), section(2, {}), section(1u << 20, {7})}));
}

TEST_CASE("tensor declaration MUST rules (§4)") {
  const Bytes rp = rate_point({record(kIdentity, {0}, kRaw)});
  auto with = [&](const Bytes& d) { return code_of(file({tensors({d}), rp})); };
  CHECK(with(decl("x", DType::f32, {3})) == StatusCode::ok);
  CHECK(with(decl("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", DType::f32, {3})) == StatusCode::ok);
  CHECK(with(decl("\xc3", DType::f32, {3})) == StatusCode::corrupt);              // cut sequence
  CHECK(with(decl("\xc0\xaf", DType::f32, {3})) == StatusCode::corrupt);          // overlong
  CHECK(with(decl("\xed\xa0\x80", DType::f32, {3})) == StatusCode::corrupt);      // surrogate
  CHECK(with(decl("\xf4\x90\x80\x80", DType::f32, {3})) == StatusCode::corrupt);  // above U+10FFFF
  CHECK(with(decl("\xff", DType::f32, {3})) == StatusCode::corrupt);
  CHECK(with(decl("x", static_cast<DType>(0), {3})) == StatusCode::corrupt);
  CHECK(with(decl("x", static_cast<DType>(10), {3})) == StatusCode::corrupt);
  CHECK(with(decl("x", DType::f32, {3}, 3)) == StatusCode::corrupt);
  CHECK(with(decl("x", DType::f32, {1, 1, 1, 1, 1, 1, 1, 1})) == StatusCode::ok);
  CHECK(with(decl("x", DType::f32, {1, 1, 1, 1, 1, 1, 1, 1, 1})) == StatusCode::corrupt);
  CHECK(with(decl("x", DType::f32, {std::uint64_t{1} << 48, 0})) == StatusCode::ok);  // no elements
  CHECK(with(decl("x", DType::f32, {(std::uint64_t{1} << 48) + 1, 0})) == StatusCode::corrupt);
  CHECK(with(decl("x", DType::f32, {std::uint64_t{1} << 28})) == StatusCode::ok);
  CHECK(with(decl("x", DType::f32, {(std::uint64_t{1} << 28) + 1})) == StatusCode::limit_exceeded);
  CHECK(with(decl("x", DType::f32, {std::uint64_t{1} << 20, std::uint64_t{1} << 20})) == StatusCode::limit_exceeded);
  // Counts.
  auto count = [&](std::uint64_t n, const Bytes& rest) {
    return code_of(file({section(kTagTensors, Asm().varint(n).raw(rest).b), rp}));
  };
  CHECK(count(0, {}) == StatusCode::corrupt);
  CHECK(count(2, decl("x", DType::f32, {3})) == StatusCode::truncated);
  CHECK(count(std::uint64_t{1} << 62, {}) == StatusCode::limit_exceeded);
  CHECK(count(1, Asm().raw(decl("x", DType::f32, {3})).u8(0).b) == StatusCode::corrupt);  // trailing byte
  ModelLimits l;
  l.max_tensors = 1;
  const Bytes two = tensors({decl("a", DType::f32, {3}), decl("b", DType::f32, {3})});
  const Bytes rp2 = rate_point({record(kIdentity, {0}, kRaw), record(kIdentity, {0}, kRaw)});
  CHECK(code_of(file({two, rp2})) == StatusCode::ok);
  CHECK(code_of(file({two, rp2}), l) == StatusCode::limit_exceeded);
}

TEST_CASE("rate point and record MUST rules (§5)") {
  const Bytes t = tensors({decl("x", DType::f32, {1, 4, 2, 2})});
  const Bytes rec = record(kIdentity, kPerTensor4, kRaw);
  auto rp_body = [](const std::string& label, const Bytes& rest) { return Asm().str8(label).raw(rest).b; };
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("", rec))})) == StatusCode::ok);
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("\xfe", rec))})) == StatusCode::corrupt);
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("r", {}))})) == StatusCode::truncated);  // no record
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("r", Asm().raw(rec).u8(0).b))})) == StatusCode::corrupt);
  Bytes long_len = rec;
  long_len[0] = static_cast<std::uint8_t>(long_len[0] + 1);  // record length past its section
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("r", long_len))})) == StatusCode::truncated);
  // A record shorter than its fields: the fields run past the record, not into the next one.
  Bytes short_len = rec;
  short_len[0] = static_cast<std::uint8_t>(short_len[0] - 1);
  CHECK(code_of(file({t, section(kTagRatePoint, rp_body("r", Asm().raw(short_len).u8(0).b))})) == StatusCode::truncated);
  // Bytes after the known fields of a record belong to a later minor version: skipped.
  auto ext = parse_codec_model(file({t, rate_point({record(kIdentity, kPerTensor4, kRaw, 9, {0xAA, 0xBB})})}));
  REQUIRE(ext.ok());
  CHECK(ext->rate_points[0].tensors[0].chunk_elements == 9);
  // Rate point limit.
  ModelLimits l;
  l.max_rate_points = 2;
  const Bytes rp = rate_point({rec});
  CHECK(code_of(file({t, rp, rp}), l) == StatusCode::ok);
  CHECK(code_of(file({t, rp, rp, rp}), l) == StatusCode::limit_exceeded);
}

TEST_CASE("transform MUST rules (§6)") {
  // Channel subset of 4 channels along axis 1.
  auto subset = [](unsigned axis, std::uint64_t k, const std::vector<std::uint64_t>& kept, const std::vector<float>& fill) {
    Asm a;
    a.u8(1).u8(axis).varint(k);
    for (auto c : kept) a.varint(c);
    for (float f : fill) a.f32(f);
    return a.b;
  };
  auto m = parse_codec_model(one_tensor(subset(1, 2, {1, 3}, {0.5f, -0.5f}), uniform_q(4, 2, {{0, 1}, {0, 2}})));
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  CHECK(m->rate_points[0].tensors[0].transform.kept == std::vector<std::uint64_t>{1, 3});
  CHECK(m->rate_points[0].tensors[0].quantizer.lo.size() == 2);  // groups over the coded shape
  CHECK(code_of(one_tensor(subset(1, 4, {0, 1, 2, 3}, {}), kPerTensor4)) == StatusCode::ok);
  CHECK(code_of(one_tensor(subset(4, 1, {0}, {0, 0, 0}), kPerTensor4)) == StatusCode::corrupt);  // axis ≥ rank
  CHECK(code_of(one_tensor(subset(1, 0, {}, {0, 0, 0, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 5, {0, 1, 2, 3, 4}, {}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 2, {3, 1}, {0, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 2, {1, 1}, {0, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 2, {1, 4}, {0, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 2, {1, 3}, {0, NAN}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 2, {1, 3}, {INFINITY, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(subset(1, 1, {7}, {}), kPerTensor4, kRaw, decl("x", DType::f32, {1, 64, 1, 1}))) == StatusCode::truncated);
  // A huge channel count asks for fill values the record cannot hold: refused before allocating.
  CHECK(code_of(one_tensor(subset(0, 1, {0}, {}), kPerTensor4, kRaw, decl("x", DType::f32, {std::uint64_t{1} << 48, 0}))) ==
        StatusCode::truncated);
  // Subsets apply to integer tensors too.
  CHECK(code_of(one_tensor(subset(1, 1, {2}, {0, 0, 0}), {0}, kRaw, decl("x", DType::u8, {1, 4, 2, 2}))) == StatusCode::ok);

  auto pca = [](unsigned axis, std::uint64_t k, const std::vector<float>& floats) {
    Asm a;
    a.u8(2).u8(axis).varint(k);
    for (float f : floats) a.f32(f);
    return a.b;
  };
  std::vector<float> f12(12, 0.25f);  // C = 4 means, K = 2 → 8 basis values
  auto p = parse_codec_model(one_tensor(pca(1, 2, f12), uniform_q(4, 2, {{0, 1}, {0, 1}})));
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  CHECK(p->rate_points[0].tensors[0].transform.basis.size() == 8);
  CHECK(p->rate_points[0].tensors[0].quantizer.lo.size() == 2);  // per-channel groups = K, not C
  CHECK(code_of(one_tensor(pca(1, 2, f12), kPerTensor4, kRaw, decl("x", DType::i16, {1, 4, 2, 2}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(pca(1, 2, f12), kPerTensor4, kRaw, decl("x", DType::bf16, {1, 4, 2, 2}))) == StatusCode::ok);
  CHECK(code_of(one_tensor(pca(4, 2, f12), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(pca(1, 0, {0, 0, 0, 0}), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(pca(1, 5, std::vector<float>(24, 0)), kPerTensor4)) == StatusCode::corrupt);
  std::vector<float> bad = f12;
  bad[2] = NAN;  // a mean
  CHECK(code_of(one_tensor(pca(1, 2, bad), kPerTensor4)) == StatusCode::corrupt);
  bad = f12;
  bad[11] = -INFINITY;  // a basis value
  CHECK(code_of(one_tensor(pca(1, 2, bad), kPerTensor4)) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(pca(1, 2, {}), kPerTensor4, kRaw, decl("x", DType::f32, {1, 64, 1, 1}))) == StatusCode::truncated);
  ModelLimits l;
  l.max_basis_floats = 7;
  CHECK(code_of(one_tensor(pca(1, 2, f12), kPerTensor4), l) == StatusCode::limit_exceeded);
  l.max_basis_floats = 8;
  CHECK(code_of(one_tensor(pca(1, 2, f12), kPerTensor4), l) == StatusCode::ok);
  // K·C overflowing 64 bits is over any limit, not wrapped; within the limit it must fit the record.
  const Bytes huge = decl("x", DType::f32, {std::uint64_t{1} << 48, 0});
  CHECK(code_of(one_tensor(pca(0, std::uint64_t{1} << 40, {}), kPerTensor4, kRaw, huge), unlimited_model_limits()) == StatusCode::limit_exceeded);
  CHECK(code_of(one_tensor(pca(0, 1, {}), kPerTensor4, kRaw, huge), unlimited_model_limits()) == StatusCode::truncated);
  CHECK(code_of(one_tensor(pca(0, 1, {}), kPerTensor4, kRaw, huge)) == StatusCode::limit_exceeded);
  CHECK(code_of(one_tensor({3}, kPerTensor4)) == StatusCode::unsupported_feature);
}

TEST_CASE("quantizer MUST rules (§7)") {
  CHECK(code_of(one_tensor(kIdentity, {0})) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, {2})) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, {3}, kRaw, decl("x", DType::f64, {2}))) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, {2}, kRaw, decl("x", DType::f16, {2}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, {3}, kRaw, decl("x", DType::i32, {2}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, {5})) == StatusCode::unsupported_feature);
  // Uniform: docs/format.md §4.2's bytes.
  const std::vector<std::pair<float, float>> four = {{0, 1}, {1, 1}, {2, 1}, {3, 0}};
  CHECK(code_of(one_tensor(kIdentity, uniform_q(16, 2, four))) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(0, 0, {{0, 1}}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(17, 0, {{0, 1}}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 5, {{0, 1}}))) == StatusCode::corrupt);  // axis > rank
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 0, {{0, -1}}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 0, {{NAN, 1}}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 0, {{0, INFINITY}}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 2, {{0, 1}, {0, 1}, {0, 1}}))) == StatusCode::truncated);
  ModelLimits l;
  l.max_groups = 3;
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 2, four)), l) == StatusCode::limit_exceeded);
  l.max_groups = 4;
  CHECK(code_of(one_tensor(kIdentity, uniform_q(4, 2, four)), l) == StatusCode::ok);

  // Non-uniform: bits, axis+1, L, then per group L levels and L − 1 thresholds.
  auto nu = [](unsigned bits, unsigned axis1, std::uint64_t L, const std::vector<float>& v) {
    Asm a;
    a.u8(4).u8(bits).varint(axis1).varint(L);
    for (float f : v) a.f32(f);
    return a.b;
  };
  const std::vector<float> g3 = {-1, 0, 1, -0.9f, 0.9f};  // dead zone: thresholds beyond the midpoints
  auto ok = parse_codec_model(one_tensor(kIdentity, nu(2, 0, 3, g3)));
  REQUIRE_MESSAGE(ok.ok(), ok.status().to_string());
  CHECK(ok->rate_points[0].tensors[0].quantizer.level == std::vector<float>{-1, 0, 1});
  CHECK(ok->rate_points[0].tensors[0].quantizer.threshold == std::vector<float>{-0.9f, 0.9f});
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 1, {7}))) == StatusCode::ok);               // one level
  CHECK(code_of(one_tensor(kIdentity, nu(1, 0, 2, {0, 1, 1}))) == StatusCode::ok);         // threshold on a level
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 0, {}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(1, 0, 3, g3))) == StatusCode::corrupt);           // L > 2^bits
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 1, 0, -0.9f, 0.9f}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 0, -0.9f, 0.f}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, 0.5f, 0.4f}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, 0.f, 0.f}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, -1.5f, 0.9f}))) == StatusCode::corrupt);  // below its level
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, -0.9f, 1.5f}))) == StatusCode::corrupt);  // above the next
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, NAN, 1, -0.9f, 0.9f}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, -0.9f, INFINITY}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, {-1, 0, 1, -0.9f}))) == StatusCode::truncated);
  CHECK(code_of(one_tensor(kIdentity, nu(2, 2, 3, g3))) == StatusCode::truncated);  // 4 groups declared
  CHECK(code_of(one_tensor(kIdentity, nu(17, 0, 3, g3))) == StatusCode::corrupt);
  l = {};
  l.max_levels = 2;
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, g3)), l) == StatusCode::limit_exceeded);
  l.max_levels = 3;
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, g3)), l) == StatusCode::ok);
  l.max_groups = 0;
  CHECK(code_of(one_tensor(kIdentity, nu(2, 0, 3, g3)), l) == StatusCode::limit_exceeded);
  // 2^16 levels in 2^40 groups: the float count is checked before anything is allocated.
  CHECK(code_of(one_tensor(kIdentity, nu(16, 1, 65536, {}), kRaw, decl("x", DType::f32, {std::uint64_t{1} << 40, 0})),
                unlimited_model_limits()) == StatusCode::truncated);
}

TEST_CASE("entropy model MUST rules (§8)") {
  auto ent = [](unsigned coder, const Bytes& params, const Bytes& state = {}) { return Asm().u8(coder).blob(params).blob(state).b; };
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(1, {}))) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(0, {1}))) == StatusCode::corrupt);
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(1, {1}))) == StatusCode::corrupt);
  // The reader carries rans / adaptive / rans-wide blobs as bytes (their coder checks them).
  auto m = parse_codec_model(one_tensor(kIdentity, kPerTensor4, ent(3, {1, 5, 2, 4})));
  REQUIRE(m.ok());
  CHECK(m->rate_points[0].tensors[0].entropy.params == Bytes{1, 5, 2, 4});
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(6, {}))) == StatusCode::unsupported_feature);
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(2, {1, 2}, {0}))) == StatusCode::unsupported_feature);
  Bytes past = ent(2, {1, 2});
  past[1] = 9;  // params length past the record
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, past)) == StatusCode::truncated);
  ModelLimits l;
  l.max_blob_bytes = 3;
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(2, {1, 2, 3})), l) == StatusCode::ok);
  CHECK(code_of(one_tensor(kIdentity, kPerTensor4, ent(2, {1, 2, 3, 4})), l) == StatusCode::limit_exceeded);
}

TEST_CASE("LEARNED and METADATA MUST rules (§10, §11)") {
  const Bytes t = tensors({decl("x", DType::f32, {1, 4, 2, 2})});
  const Bytes rp = rate_point({record(kIdentity, kPerTensor4, kRaw)});
  const Bytes z = decl("z", DType::f16, {1, 8});
  auto learned = [&](const Bytes& body) { return code_of(file({t, rp, section(kTagLearned, body)})); };
  CHECK(learned(Asm().u8(1).raw(Bytes(8, 1)).u8(2).raw(Bytes(32, 2)).raw(z).b) == StatusCode::ok);
  CHECK(learned(Asm().u8(3).raw(Bytes(8, 1)).u8(0).raw(z).b) == StatusCode::unsupported_feature);
  CHECK(learned(Asm().u8(2).raw(Bytes(8, 1)).b) == StatusCode::truncated);
  CHECK(learned(Asm().u8(0).u8(0).raw(z).u8(0).b) == StatusCode::corrupt);
  CHECK(learned(Asm().u8(0).u8(0).raw(decl("z", DType::f16, {1, 8}, 7)).b) == StatusCode::corrupt);

  auto meta = [&](const Bytes& body, const ModelLimits& l = {}) { return code_of(file({t, rp, section(kTagMetadata, body)}), l); };
  CHECK(meta(Asm().varint(0).b) == StatusCode::ok);
  CHECK(meta(Asm().varint(2).str8("a").blob({}).str8("b").blob({'1'}).b) == StatusCode::ok);
  CHECK(meta(Asm().varint(2).str8("b").blob({}).str8("a").blob({}).b) == StatusCode::corrupt);  // order
  CHECK(meta(Asm().varint(2).str8("a").blob({}).str8("a").blob({}).b) == StatusCode::corrupt);  // repeat
  CHECK(meta(Asm().varint(2).str8("a").blob({}).str8("\xc3\xa9").blob({}).b) == StatusCode::ok);  // bytewise: 0xC3 > 'a'
  CHECK(meta(Asm().varint(1).str8("").blob({'v', 'w'}).b) == StatusCode::corrupt);
  CHECK(meta(Asm().varint(1).str8("k").blob({0xC3}).b) == StatusCode::corrupt);
  CHECK(meta(Asm().varint(1).str8("\x80").blob({}).b) == StatusCode::corrupt);
  CHECK(meta(Asm().varint(1).str8("k").varint(5).u8('v').b) == StatusCode::truncated);
  CHECK(meta(Asm().varint(3).str8("k").blob({}).b) == StatusCode::truncated);
  CHECK(meta(Asm().varint(1).str8("k").blob({}).u8(0).b) == StatusCode::corrupt);
  ModelLimits l;
  l.max_metadata_entries = 1;
  CHECK(meta(Asm().varint(2).str8("a").blob({}).str8("b").blob({}).b, l) == StatusCode::limit_exceeded);
  l = {};
  l.max_blob_bytes = 2;
  CHECK(meta(Asm().varint(1).str8("k").blob({'a', 'b'}).b, l) == StatusCode::ok);
  CHECK(meta(Asm().varint(1).str8("k").blob({'a', 'b', 'c'}).b, l) == StatusCode::limit_exceeded);
}

TEST_CASE("every truncation of a valid model is an input error") {
  const Bytes f = *write_codec_model(sample_model());
  for (std::size_t n = 0; n < f.size(); ++n) {
    const auto c = code_of(Bytes(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n)));
    CAPTURE(n);
    CHECK(is_input_error(c));
    CHECK(c != StatusCode::ok);
  }
  // Truncated and re-sealed: the structure itself must report the cut, except where the cut
  // falls after a complete rate point or LEARNED section (a model with fewer optional parts).
  int valid = 0;
  for (std::size_t n = kModelHeaderBytes; n + kModelChecksumBytes < f.size(); ++n) {
    auto r = parse_codec_model(seal(Bytes(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n))));
    CAPTURE(n);
    if (r.ok()) {
      ++valid;
      CHECK(r->metadata.empty());
    } else {
      CHECK((r.status().code() == StatusCode::truncated || r.status().code() == StatusCode::corrupt));
    }
  }
  CHECK(valid == 4);  // after rate points 1, 2, 3 and after LEARNED
}

TEST_CASE("every bit flip is an error, or with the checksum re-sealed an error or another valid model") {
  const CodecModelFile m = sample_model();
  const Bytes f = *write_codec_model(m);
  int errors = 0, valid_other = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes x = f;
      x[i] ^= static_cast<std::uint8_t>(1u << bit);
      CAPTURE(i);
      CAPTURE(bit);
      const auto c = code_of(x);
      CHECK(c != StatusCode::ok);
      CHECK(is_input_error(c));
      if (i + kModelChecksumBytes >= f.size()) continue;
      Bytes resealed = seal(Bytes(x.begin(), x.end() - kModelChecksumBytes));
      auto r = parse_codec_model(resealed);
      if (!r.ok()) {
        CHECK(is_input_error(r.status().code()));
        ++errors;
        continue;
      }
      ++valid_other;
      auto w = write_codec_model(*r);
      REQUIRE_MESSAGE(w.ok(), w.status().to_string());
      CHECK(*parse_codec_model(*w) == *r);
      // The bytes come back, unless the flip made an unknown section (the writer puts it last)
      // or left bytes at the end of a record (a later minor's fields, skipped and not kept).
      if (*w != resealed) CHECK((w->size() < resealed.size() || !r->unknown_sections.empty()));
    }
  }
  // Both outcomes occur: float bits and labels give other valid models, structure bits errors.
  CHECK(errors > 100);
  CHECK(valid_other > 100);
}

TEST_CASE("the writer refuses what the reader would not read back") {
  const CodecModelFile good = sample_model();
  REQUIRE(write_codec_model(good).ok());
  auto refused = [](const CodecModelFile& m) {
    auto r = write_codec_model(m);
    return !r.ok() && r.status().code() == StatusCode::invalid_argument;
  };
  CodecModelFile m = good;
  m.tensors[0].name = std::string(256, 'a');
  CHECK(refused(m));
  m = good;
  m.tensors[1].name = "\xff";
  CHECK(refused(m));
  m = good;
  m.rate_points[1].tensors[0].transform.basis[5] = NAN;
  CHECK(refused(m));
  m = good;
  m.rate_points[1].tensors[0].transform.basis.pop_back();
  CHECK(refused(m));
  m = good;
  m.rate_points[1].tensors[0].transform.components = 9;
  CHECK(refused(m));
  m = good;
  m.rate_points[2].tensors[0].quantizer.bits = 8;  // lossless does not use bits
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors[1].quantizer.threshold[0] = -2.f;
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors[1].quantizer.level.pop_back();
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors[0].quantizer.step[0] = -1.f;
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors.pop_back();
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors[1].entropy.params = {1};  // raw takes no params
  CHECK(refused(m));
  m = good;
  m.rate_points[0].tensors[0].entropy.state = {1};
  CHECK(refused(m));
  m = good;
  m.learned->device_graph.digest.pop_back();
  CHECK(refused(m));
  m = good;
  m.metadata[""] = "x";
  CHECK(refused(m));
  m = good;
  m.metadata["k"] = "\xc3";
  CHECK(refused(m));
  m = good;
  m.unknown_sections.push_back({5, {}});  // critical
  CHECK(refused(m));
  m = good;
  m.unknown_sections.push_back({kTagLearned, {}});  // a known tag
  CHECK(refused(m));
  m = good;
  m.rate_points.clear();
  CHECK(refused(m));
  m = good;
  m.tensors[0].shape.push_back(-1);
  CHECK(refused(m));
  m = good;
  m.minor = 256;
  CHECK(refused(m));
}

TEST_CASE("default limits bound every allocation by the file's size") {
  // Every count and array size a small file can declare is refused before allocating: the
  // parse of each of these tiny files touches no more than a few kilobytes.
  const Bytes big = decl("x", DType::f32, {std::uint64_t{1} << 48, 0});
  const Bytes rp = rate_point({record(kIdentity, {0}, kRaw)});
  CHECK(code_of(file({tensors({big}), rp}), unlimited_model_limits()) == StatusCode::ok);
  CHECK(code_of(file({section(kTagTensors, Asm().varint(std::uint64_t{1} << 30).b), rp}), unlimited_model_limits()) ==
        StatusCode::truncated);
  CHECK(code_of(file({tensors({decl("x", DType::f32, {3})}), section(kTagMetadata, Asm().varint(1u << 30).b)}),
                unlimited_model_limits()) == StatusCode::corrupt);  // METADATA before a rate point
  CHECK(code_of(file({tensors({decl("x", DType::f32, {3})}), rp, section(kTagMetadata, Asm().varint(1u << 30).b)}),
                unlimited_model_limits()) == StatusCode::truncated);
  const Bytes wide_uniform = Asm().u8(1).u8(8).varint(1).b;  // per channel over 2^40 channels, no values
  CHECK(code_of(file({tensors({decl("x", DType::f32, {std::uint64_t{1} << 40, 0})}), rate_point({record(kIdentity, wide_uniform, kRaw)})}),
                unlimited_model_limits()) == StatusCode::truncated);
  CHECK(code_of(file({tensors({decl("x", DType::f32, {std::uint64_t{1} << 40, 0})}), rate_point({record(kIdentity, wide_uniform, kRaw)})})) ==
        StatusCode::limit_exceeded);
}
