// runtime/learned.cpp on the fixture tests/data/learned (made by make_learned.py): the packer's
// bytes are deterministic and read back with their LEARNED section; every hostile codec.json
// field is refused with a message naming it; a graph whose bytes changed is refused with
// model_mismatch naming both hashes; latents go through the packed model byte-exact (integers
// reconstruct exactly, values beyond a channel's table clamp), in frames of payload + 6 bytes whose
// size follows the pmfs' entropy; the fixture's graphs run in the OpenCV executor.
#include "runtime/learned.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "codec/entropy/context_rans.hpp"
#include "runtime/executor.hpp"
#include "runtime/graph.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using namespace ftc::runtime;
using nlohmann::json;

namespace {

const std::string kFixture = std::string(FTC_SOURCE_DIR) + "/tests/data/learned";

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("ftc_learned_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// The fixture's four files in a fresh directory.
void copy_fixture(const TempDir& d) {
  for (const char* f : {"device.onnx", "server.onnx", "codec.json", "report.json"})
    fs::copy_file(kFixture + "/" + f, d / f, fs::copy_options::overwrite_existing);
}

json fixture_json() { return json::parse(slurp(kFixture + "/codec.json")); }

Result<std::shared_ptr<const CodecModel>> packed_model(const TempDir& d) {
  copy_fixture(d);
  auto r = pack_learned(d.path.string());
  if (!r.ok()) return r.status();
  return CodecModel::from_bytes(r->bytes);
}

// A latent (1, 4, 7, 7) drawn from the fixture's pmfs with a seeded generator.
Tensor sample_latent(const LearnedSpec& spec, std::mt19937& rng) {
  Tensor t = Tensor::zeros(DType::f32, spec.latent_shape).value();
  float* p = t.data_as<float>();
  const std::size_t inner = t.element_count() / spec.channels.size();
  for (std::size_t c = 0; c < spec.channels.size(); ++c) {
    std::discrete_distribution<int> d(spec.channels[c].pmf.begin(), spec.channels[c].pmf.end());
    for (std::size_t s = 0; s < inner; ++s) p[c * inner + s] = static_cast<float>(spec.channels[c].lo + d(rng));
  }
  return t;
}

}  // namespace

TEST_CASE("pack_learned: deterministic bytes, LEARNED with both XXH64 hashes, the latent, metadata") {
  TempDir d;
  copy_fixture(d);
  auto a = pack_learned(d.path.string());
  REQUIRE_MESSAGE(a.ok(), a.status().to_string());
  auto b = pack_learned(d.path.string(), false);
  REQUIRE(b.ok());
  CHECK(a->bytes == b->bytes);
  const std::string written = slurp(d / "codec.ftcm");
  CHECK(written == std::string(a->bytes.begin(), a->bytes.end()));
  // The same inputs in another directory: the same bytes (nothing of the path goes in).
  TempDir e;
  copy_fixture(e);
  auto c = pack_learned(e.path.string(), false);
  REQUIRE(c.ok());
  CHECK(c->bytes == a->bytes);

  auto f = model::parse_codec_model(a->bytes);
  REQUIRE(f.ok());
  REQUIRE(f->learned.has_value());
  CHECK(f->learned->latent.name == "latent");
  CHECK(f->learned->latent.shape == Shape{1, 4, 7, 7});
  CHECK(f->tensors.at(0) == f->learned->latent);
  CHECK(graph_hash_text(f->learned->device_graph).rfind("xxh64:", 0) == 0);
  CHECK(f->learned->device_graph != f->learned->server_graph);
  CHECK(f->metadata.at("source_model") == "fmnist_resnet.onnx");
  CHECK(f->metadata.at("split_at") == "/stage2/block1/relu_2/Relu_output_0");
  CHECK(f->metadata.at("trained_on").find("fixture") != std::string::npos);
  CHECK(f->model_id != 0);
  CHECK(f->model_id <= 0xFFFFFFFFu);
  REQUIRE(f->rate_points.size() == 1);
  const auto& tc = f->rate_points[0].tensors.at(0);
  CHECK(tc.transform.kind == model::TransformKind::identity);
  CHECK(tc.quantizer.kind == model::QuantKind::uniform);
  CHECK(tc.quantizer.bits == 3);   // 7 values: -3..3
  CHECK(tc.quantizer.lo == std::vector<float>{-3, -3, -2, -3});
  CHECK(tc.quantizer.step == std::vector<float>{1, 1, 1, 1});
  CHECK(tc.entropy.coder == CoderKind::context_rans);
  CHECK(a->alphabet == 7);

  // A changed pmf changes the bytes; a changed graph changes its hash and the bytes.
  json j = fixture_json();
  j["channels"][1]["pmf"][0] = 0.3;
  spit(e / "codec.json", j.dump());
  auto g = pack_learned(e.path.string(), false);
  REQUIRE(g.ok());
  CHECK(g->bytes != a->bytes);
  copy_fixture(e);
  spit(e / "server.onnx", slurp(e / "server.onnx") + " ");
  auto h = pack_learned(e.path.string(), false);
  REQUIRE(h.ok());
  CHECK(h->server_hash != a->server_hash);
  CHECK(h->device_hash == a->device_hash);
}

TEST_CASE("pmf_frequencies: every value >= 1, sum 2^P, padding gets 1, shares follow the pmf") {
  const std::vector<double> pmf = {0.5, 0.25, 0.125, 0.0625, 0.0625};
  const auto f = pmf_frequencies(pmf, 8, 15);
  REQUIRE(f.size() == 8);
  std::uint64_t sum = 0;
  for (auto v : f) {
    sum += v;
    CHECK(v >= 1);
  }
  CHECK(sum == 32768);
  CHECK(f[5] == 1);
  CHECK(f[6] == 1);
  CHECK(f[7] == 1);
  const double spare = 32768 - 8;
  for (std::size_t k = 0; k < pmf.size(); ++k) CHECK(std::fabs(double(f[k]) - (1 + spare * pmf[k])) <= 1.0);
  // A pmf not summing to 1 is normalized; tiny values still get 1.
  const auto g = pmf_frequencies(std::vector<double>{2.0, 1e-300, 2.0}, 3, 15);
  CHECK(g[1] == 1);
  CHECK(g[0] + g[1] + g[2] == 32768);
  CHECK((g[0] == 16383 || g[0] == 16384));
  // 256 values at the lowest precision that fits them.
  const auto h = pmf_frequencies(std::vector<double>(256, 1.0), 256, 8);
  for (auto v : h) CHECK(v == 1);
}

TEST_CASE("parse_learned_spec: every hostile field refused with a message naming it") {
  REQUIRE(parse_learned_spec(fixture_json().dump()).ok());
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"not JSON", [](json& j) { j = "{"; }, "not valid JSON"},
      {"not an object", [](json& j) { j = "[1]"; }, "not a JSON object"},
      {"format", [](json& j) { j["format"] = "ftc-learned-codec/2"; }, "format"},
      {"format type", [](json& j) { j["format"] = 1; }, "\"format\" must be a string"},
      {"no format", [](json& j) { j.erase("format"); }, "no \"format\""},
      {"model path", [](json& j) { j["model"] = "../x.onnx"; }, "\"model\" must be a file name"},
      {"device path", [](json& j) { j["device_graph"] = "/etc/passwd"; }, "\"device_graph\" must be a file name"},
      {"server dotdot", [](json& j) { j["server_graph"] = ".."; }, "\"server_graph\" must be a file name"},
      {"same graphs", [](json& j) { j["server_graph"] = "device.onnx"; }, "the same file"},
      {"latent missing", [](json& j) { j.erase("latent"); }, "\"latent\" must be an object"},
      {"latent name", [](json& j) { j["latent"]["name"] = ""; }, "latent.name is empty"},
      {"latent name long", [](json& j) { j["latent"]["name"] = std::string(300, 'a'); }, "longer than 255"},
      {"shape type", [](json& j) { j["latent"]["shape"] = "1,4,7,7"; }, "latent.shape must be an array"},
      {"shape rank", [](json& j) { j["latent"]["shape"] = {4}; }, "2 to 8 dims"},
      {"shape dim", [](json& j) { j["latent"]["shape"][2] = 0; }, "latent.shape[2] = 0"},
      {"shape negative", [](json& j) { j["latent"]["shape"][3] = -7; }, "latent.shape[3] = -7"},
      {"shape float", [](json& j) { j["latent"]["shape"][3] = 7.5; }, "latent.shape[3] must be an integer"},
      {"shape huge", [](json& j) { j["latent"]["shape"][2] = 18446744073709551615ull; }, "latent.shape[2]"},
      {"elements", [](json& j) { j["latent"]["shape"] = {1, 4, 4096, 4096}; }, "more than 16777216 elements"},
      {"batch", [](json& j) { j["latent"]["shape"][0] = 2; }, "batch"},
      {"channel count", [](json& j) { j["latent"]["shape"][1] = 5; }, "4 channels for a latent of 5 channels"},
      {"channels type", [](json& j) { j["channels"] = 3; }, "\"channels\" must be an array"},
      {"channel type", [](json& j) { j["channels"][2] = 3; }, "channels[2] must be an object"},
      {"lo missing", [](json& j) { j["channels"][1].erase("lo"); }, "channels[1].lo must be an integer"},
      {"lo float", [](json& j) { j["channels"][1]["lo"] = -2.5; }, "channels[1].lo must be an integer"},
      {"lo huge", [](json& j) { j["channels"][0]["lo"] = -100000000; }, "channels[0].lo is beyond"},
      {"pmf missing", [](json& j) { j["channels"][3].erase("pmf"); }, "channels[3].pmf must be an array"},
      {"pmf empty", [](json& j) { j["channels"][3]["pmf"] = json::array(); }, "channels[3].pmf has 0 values"},
      {"pmf long", [](json& j) { j["channels"][0]["pmf"] = std::vector<double>(257, 1.0 / 257); }, "has 257 values"},
      {"pmf zero", [](json& j) { j["channels"][0]["pmf"][3] = 0.0; }, "channels[0].pmf[3] must be finite and > 0"},
      {"pmf negative", [](json& j) { j["channels"][2]["pmf"][1] = -0.1; }, "channels[2].pmf[1] must be finite and > 0"},
      {"pmf string", [](json& j) { j["channels"][2]["pmf"][1] = "0.1"; }, "channels[2].pmf[1] must be a number"},
      {"pmf overflow", [](json& j) { j["channels"][1]["pmf"] = {1e308, 1e308}; }, "sums to infinity"},
      {"metadata type", [](json& j) { j["metadata"] = {1, 2}; }, "\"metadata\" must be an object"},
      {"metadata value", [](json& j) { j["metadata"]["k"] = 3; }, "metadata \"k\" must be a string"},
      {"metadata packer key", [](json& j) { j["metadata"]["generator"] = "me"; }, "a key the packer writes"},
      {"metadata long key", [](json& j) { j["metadata"][std::string(256, 'k')] = "v"; }, "1..255 bytes"},
  };
  for (const auto& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    json j = fixture_json();
    c.mutate(j);
    const std::string text = j.is_string() ? j.get<std::string>() : j.dump();
    auto r = parse_learned_spec(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::bad_file);
    CHECK_MESSAGE(r.status().message().find(c.message) != std::string::npos, r.status().message());
    CHECK(r.status().message().rfind("codec.json: ", 0) == 0);
  }
  // Non-finite numbers cannot be written in JSON; ill-formed UTF-8 is refused as a whole.
  CHECK_FALSE(parse_learned_spec(std::string("{\"format\": \"ftc-learned-codec/1\", \"model\": \"\xff\"}")).ok());
  CHECK_FALSE(parse_learned_spec("{\"channels\": [NaN]}").ok());
  // Through pack_learned, the message names the file.
  TempDir d;
  copy_fixture(d);
  json j = fixture_json();
  j["channels"][0]["pmf"][0] = -1;
  spit(d / "codec.json", j.dump());
  auto p = pack_learned(d.path.string());
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find(d / "codec.json") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "codec.ftcm"));
  // A missing graph.
  copy_fixture(d);
  fs::remove(d / "server.onnx");
  auto q = pack_learned(d.path.string());
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().message().find("server.onnx") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "codec.ftcm"));
}

TEST_CASE("load_learned_graphs: the graphs beside the model; a changed graph is model_mismatch naming both hashes") {
  TempDir d;
  copy_fixture(d);
  auto p = pack_learned(d.path.string());
  REQUIRE(p.ok());
  auto g = load_learned_graphs(p->file, p->path);
  REQUIRE_MESSAGE(g.ok(), g.status().to_string());
  CHECK(g->device_path == d / "device.onnx");
  CHECK(g->device.size() == fs::file_size(d / "device.onnx"));

  // Explicit paths to other copies of the same bytes are accepted.
  TempDir e;
  copy_fixture(e);
  CHECK(load_learned_graphs(p->file, p->path, e / "device.onnx", e / "server.onnx").ok());
  // Swapped graphs, or a changed byte: refused.
  auto swapped = load_learned_graphs(p->file, p->path, e / "server.onnx", e / "device.onnx");
  REQUIRE_FALSE(swapped.ok());
  CHECK(swapped.status().code() == StatusCode::model_mismatch);

  std::string bytes = slurp(d / "server.onnx");
  bytes[bytes.size() / 2] ^= 1;
  spit(d / "server.onnx", bytes);
  auto bad = load_learned_graphs(p->file, p->path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::model_mismatch);
  const std::string want = graph_hash_text(p->file.learned->server_graph);
  CHECK_MESSAGE(bad.status().message().find(want) != std::string::npos, bad.status().message());
  CHECK(bad.status().message().find("xxh64:", bad.status().message().find("xxh64:") + 1) != std::string::npos);
  CHECK(bad.status().message().find("server graph") != std::string::npos);

  // A model without LEARNED.
  model::CodecModelFile plain = p->file;
  plain.learned.reset();
  CHECK(load_learned_graphs(plain, p->path).status().code() == StatusCode::invalid_argument);
  // A missing graph.
  fs::remove(d / "device.onnx");
  CHECK_FALSE(load_learned_graphs(p->file, p->path).ok());
}

TEST_CASE("learned model: latents encode and decode byte-exact in compact frames of payload + 6 bytes") {
  TempDir d;
  auto m = packed_model(d);
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  auto spec = parse_learned_spec(fixture_json().dump());
  REQUIRE(spec.ok());
  EncoderOptions eo;
  eo.codec_model = *m;
  const Encoder enc(eo);
  Decoder dec;
  REQUIRE(dec.add_codec_model(*m).ok());

  std::mt19937 rng(7);
  double bytes = 0, expected_bits = 0;
  constexpr int kFrames = 200;
  for (const auto& c : spec->channels) {
    double h = 0;
    for (double p : c.pmf) h -= p * std::log2(p);
    expected_bits += 49 * h;
  }
  for (int n = 0; n < kFrames; ++n) {
    Tensor t = sample_latent(*spec, rng);
    auto frame = enc.encode(t.view());
    REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
    auto info = dec.inspect(*frame);
    REQUIRE(info.ok());
    REQUIRE(info->tensors.size() == 1);
    CHECK(frame->size() == info->tensors[0].payload_bytes + 6);
    auto back = dec.decode(*frame);
    REQUIRE(back.ok());
    REQUIRE(back->size() == 1);
    REQUIRE(back->at(0).tensor.shape() == t.shape());
    CHECK(std::memcmp(back->at(0).tensor.data(), t.data(), t.byte_size()) == 0);
    bytes += double(frame->size());
  }
  // The coder spends what the pmfs say, within 2 %, plus 4 bytes of rANS state and 6 of header.
  const double mean = bytes / kFrames, want = expected_bits / 8 + 10;
  CHECK_MESSAGE(std::fabs(mean - want) <= 0.02 * want, "mean " << mean << " B, entropy " << want << " B");

  // Values beyond a channel's table: channel 2's table is -2..2 but its symbols run to 7 (3 bits)
  // → -3 clamps to -2, 3 is in the padded alphabet (-2..4) and codes exactly, 9 clamps to 4;
  // channel 0: -7 → -3, 6 → 3.
  Tensor t = Tensor::zeros(DType::f32, {1, 4, 7, 7}).value();
  float* p = t.data_as<float>();
  p[2 * 49 + 0] = -3, p[2 * 49 + 1] = 3, p[2 * 49 + 2] = 9, p[0] = -7, p[1] = 6, p[2] = 0.4f, p[3] = -0.6f;
  auto frame = enc.encode(t.view());
  REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
  auto back = dec.decode(*frame);
  REQUIRE(back.ok());
  const float* q = back->at(0).tensor.data_as<float>();
  CHECK(q[2 * 49 + 0] == -2);
  CHECK(q[2 * 49 + 1] == 3);
  CHECK(q[2 * 49 + 2] == 4);
  CHECK(q[0] == -3);
  CHECK(q[1] == 3);
  CHECK(q[2] == 0);   // non-integers round to the nearest integer
  CHECK(q[3] == -1);
  for (int i = 4; i < 49; ++i) CHECK(q[i] == 0);
}

TEST_CASE("learned fixture: the graphs run in the OpenCV executor, integer latents in -3..3, 10 logits") {
  auto dev = make_opencv_executor(kFixture + "/device.onnx");
  REQUIRE_MESSAGE(dev.ok(), dev.status().to_string());
  auto srv = make_opencv_executor(kFixture + "/server.onnx");
  REQUIRE_MESSAGE(srv.ok(), srv.status().to_string());
  Tensor in = Tensor::zeros(DType::f32, {1, 1, 28, 28}).value();
  for (int i = 0; i < 784; ++i) in.data_as<float>()[i] = static_cast<float>((i * 37 % 255) / 255.0 - 0.3) / 0.35f;
  auto lat = (*dev)->run({{(*dev)->input_names()[0], in.view()}});
  REQUIRE_MESSAGE(lat.ok(), lat.status().to_string());
  REQUIRE(lat->size() == 1);
  const Tensor& y = lat->at(0).tensor;
  REQUIRE(y.shape() == Shape{1, 4, 7, 7});
  std::set<float> seen;
  for (std::size_t i = 0; i < y.element_count(); ++i) {
    const float v = y.data_as<float>()[i];
    CHECK(v == std::nearbyint(v));
    CHECK(v >= -3);
    CHECK(v <= 3);
    seen.insert(v);
  }
  CHECK(seen.size() >= 3);
  auto z = (*srv)->run({{(*srv)->input_names()[0], y.view()}});
  REQUIRE(z.ok());
  CHECK(z->at(0).tensor.element_count() == 10);
}

TEST_CASE("learned_estimate and find_reference_model") {
  TempDir d;
  copy_fixture(d);
  auto p = pack_learned(d.path.string());
  REQUIRE(p.ok());
  auto est = learned_estimate(p->path);
  REQUIRE(est.has_value());
  const json r = json::parse(slurp(d / "report.json"));
  CHECK(est->frame_bytes == doctest::Approx(r["estimated_bits_per_image"].get<double>() / 8 + 10));
  json with_test = r;
  with_test["test"] = {{"estimated_bits_per_image", 80.0}};
  spit(d / "report.json", with_test.dump());
  CHECK(learned_estimate(p->path)->frame_bytes == doctest::Approx(20.0));
  fs::remove(d / "report.json");
  CHECK_FALSE(learned_estimate(p->path).has_value());

  // The reference model: beside the .ftcm, else in a models/ folder above it.
  auto none = find_reference_model(p->file, p->path);
  if (!fs::exists("models/fmnist_resnet.onnx")) {
    REQUIRE_FALSE(none.ok());
    CHECK(none.status().message().find("fmnist_resnet.onnx") != std::string::npos);
  }
  fs::create_directories(d.path / "models");
  spit(d / "models/fmnist_resnet.onnx", "x");
  auto above = find_reference_model(p->file, p->path);
  REQUIRE(above.ok());
  CHECK(*above == d / "models/fmnist_resnet.onnx");
  spit(d / "fmnist_resnet.onnx", "y");
  CHECK(*find_reference_model(p->file, p->path) == d / "fmnist_resnet.onnx");
}

TEST_CASE("pack_learned: the committed fixture codec.ftcm is what the packer writes today") {
  // tests/data/learned/codec.ftcm was written by `ftc learn --pack tests/data/learned`; a change
  // of the packer's bytes (tables, metadata, id) shows here first.
  TempDir d;
  copy_fixture(d);
  auto p = pack_learned(d.path.string(), false);
  REQUIRE(p.ok());
  CHECK(std::string(p->bytes.begin(), p->bytes.end()) == slurp(kFixture + "/codec.ftcm"));
}

TEST_CASE("parse_learned_spec: 3,000 byte-mutated and truncated codec.json files parse or fail as bad_file") {
  // A seeded in-test fuzz of the parser (the fuzz targets cover the binary formats): every input
  // either parses into a spec the model builder accepts, or fails with bad_file; nothing else.
  const std::string base = slurp(kFixture + "/codec.json");
  std::mt19937 rng(16);
  std::size_t parsed = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        case 2: s.insert(at, 1, "0123456789-.e,[]{}\":"[rng() % 20]); break;
        default: s.resize(at); break;
      }
      if (s.empty()) s = "{";
    }
    auto r = parse_learned_spec(s);
    if (!r.ok()) {
      CHECK(r.status().code() == StatusCode::bad_file);
      continue;
    }
    ++parsed;
    auto m = learned_codec_model(*r, 1, 2);
    REQUIRE_MESSAGE(m.ok(), m.status().to_string());
    CHECK(model::write_codec_model(*m).ok());
  }
  CHECK(parsed > 0);  // some mutations (inside a pmf value, the metadata) still parse
}
