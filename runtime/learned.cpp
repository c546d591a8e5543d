// Learned bottleneck codecs: codec.json → codec.ftcm, and the graphs of a learned model
// (runtime/learned.hpp).
#include "runtime/learned.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "codec/entropy/context_rans.hpp"
#include "codec/io/output_file.hpp"
#include "codec/symbols.hpp"

namespace ftc::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Status bad(const std::string& msg) { return {StatusCode::bad_file, "codec.json: " + msg}; }

// A plain file name: no directory part, not "." or "..", no NUL, 1..255 bytes.
bool plain_file_name(const std::string& s) {
  return !s.empty() && s.size() <= 255 && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

Result<std::string> string_field(const json& j, const char* key, std::size_t max_bytes, bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return bad(std::string("no \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return bad(std::string("\"") + key + "\" must be a string");
  std::string s = it->get<std::string>();
  if (s.size() > max_bytes) return bad(std::string("\"") + key + "\" is longer than " + std::to_string(max_bytes) + " bytes");
  return s;
}

Result<std::vector<std::uint8_t>> read_bytes(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return Status{StatusCode::io_error, path + ": no such file"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status{StatusCode::io_error, path + ": cannot open"};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > max_bytes) return Status{StatusCode::limit_exceeded, path + ": larger than " + std::to_string(max_bytes) + " bytes"};
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return Status{StatusCode::io_error, path + ": read failed"};
  return bytes;
}

constexpr std::uint64_t kMaxGraphBytes = std::uint64_t{2} << 30;

std::uint64_t xxh64(std::span<const std::uint8_t> b) { return XXH64(b.data(), b.size(), 0); }

model::GraphHash xxh64_hash(std::uint64_t h) {
  model::GraphHash g;
  g.kind = model::HashKind::xxh64;
  for (int i = 0; i < 8; ++i) g.digest.push_back(static_cast<std::uint8_t>(h >> (8 * i)));
  return g;
}

std::string hex(std::span<const std::uint8_t> b, bool little_endian_u64) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t k = 0; k < b.size(); ++k) {
    const std::uint8_t v = little_endian_u64 ? b[b.size() - 1 - k] : b[k];
    s += d[v >> 4];
    s += d[v & 15];
  }
  return s;
}

// Keys the packer writes into METADATA; codec.json's metadata may not use them.
constexpr const char* kPackerKeys[] = {"device_graph", "generator", "learned_format", "server_graph", "source_model", "split_at"};

}  // namespace

// ---- codec.json ---------------------------------------------------------------------------------

Result<LearnedSpec> parse_learned_spec(std::string_view text) {
  if (text.size() > kLearnedMaxJsonBytes) return bad("larger than " + std::to_string(kLearnedMaxJsonBytes) + " bytes");
  // nlohmann rejects malformed JSON and ill-formed UTF-8 in strings; no exceptions with allow_exceptions = false.
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON (or not UTF-8)");
  if (!j.is_object()) return bad("not a JSON object");
  LearnedSpec s;
  try {
    FTC_ASSIGN_OR_RETURN(std::string format, string_field(j, "format", 64));
    if (format != kLearnedCodecFormat)
      return bad("format \"" + format + "\" is not \"" + std::string(kLearnedCodecFormat) + "\"");
    FTC_ASSIGN_OR_RETURN(s.model, string_field(j, "model", 255));
    if (!s.model.empty() && !plain_file_name(s.model)) return bad("\"model\" must be a file name without a directory");
    FTC_ASSIGN_OR_RETURN(s.at, string_field(j, "at", 255));
    for (auto [key, out] : {std::pair{"device_graph", &s.device_graph}, {"server_graph", &s.server_graph}}) {
      FTC_ASSIGN_OR_RETURN(std::string name, string_field(j, key, 255, false));
      if (j.contains(key)) {
        if (!plain_file_name(name)) return bad(std::string("\"") + key + "\" must be a file name without a directory");
        *out = name;
      }
    }
    if (s.device_graph == s.server_graph) return bad("device_graph and server_graph name the same file");

    // latent
    auto lt = j.find("latent");
    if (lt == j.end() || !lt->is_object()) return bad("\"latent\" must be an object with name and shape");
    FTC_ASSIGN_OR_RETURN(s.latent_name, string_field(*lt, "name", 255));
    if (s.latent_name.empty()) return bad("latent.name is empty");
    auto sh = lt->find("shape");
    if (sh == lt->end() || !sh->is_array()) return bad("latent.shape must be an array");
    if (sh->size() < 2 || sh->size() > 8) return bad("latent.shape must have 2 to 8 dims (1, C, …), has " + std::to_string(sh->size()));
    std::uint64_t elements = 1;
    for (std::size_t k = 0; k < sh->size(); ++k) {
      const json& d = (*sh)[k];
      if (!d.is_number_integer()) return bad("latent.shape[" + std::to_string(k) + "] must be an integer");
      const std::int64_t v = d.is_number_unsigned() ? static_cast<std::int64_t>(std::min<std::uint64_t>(d.get<std::uint64_t>(), kLearnedMaxElements + 1))
                                                    : d.get<std::int64_t>();
      if (v < 1 || static_cast<std::uint64_t>(v) > kLearnedMaxElements)
        return bad("latent.shape[" + std::to_string(k) + "] = " + std::to_string(v) + " is outside 1.." + std::to_string(kLearnedMaxElements));
      elements *= static_cast<std::uint64_t>(v);  // each factor ≤ 2^24, checked after every step: no overflow
      if (elements > kLearnedMaxElements) return bad("latent has more than " + std::to_string(kLearnedMaxElements) + " elements");
      s.latent_shape.push_back(v);
    }
    if (s.latent_shape[0] != 1) return bad("latent.shape[0] (the batch) must be 1");
    const auto C = static_cast<std::uint64_t>(s.latent_shape[1]);
    if (C > kLearnedMaxChannels) return bad("more than " + std::to_string(kLearnedMaxChannels) + " latent channels");

    // channels
    auto ch = j.find("channels");
    if (ch == j.end() || !ch->is_array()) return bad("\"channels\" must be an array");
    if (ch->size() != C)
      return bad(std::to_string(ch->size()) + " channels for a latent of " + std::to_string(C) + " channels (latent.shape[1])");
    s.channels.resize(static_cast<std::size_t>(C));
    for (std::size_t c = 0; c < C; ++c) {
      const json& e = (*ch)[c];
      const std::string at = "channels[" + std::to_string(c) + "]";
      if (!e.is_object()) return bad(at + " must be an object with lo and pmf");
      auto lo = e.find("lo");
      if (lo == e.end() || !lo->is_number_integer()) return bad(at + ".lo must be an integer");
      if (lo->is_number_unsigned() ? lo->get<std::uint64_t>() > static_cast<std::uint64_t>(kLearnedMaxAbsLo)
                                   : std::llabs(lo->get<std::int64_t>()) > kLearnedMaxAbsLo)
        return bad(at + ".lo is beyond ±" + std::to_string(kLearnedMaxAbsLo));
      s.channels[c].lo = lo->get<std::int64_t>();
      auto pmf = e.find("pmf");
      if (pmf == e.end() || !pmf->is_array()) return bad(at + ".pmf must be an array");
      if (pmf->empty() || pmf->size() > kLearnedMaxAlphabet)
        return bad(at + ".pmf has " + std::to_string(pmf->size()) + " values; 1.." + std::to_string(kLearnedMaxAlphabet) +
                   " (hi - lo + 1) expected");
      auto& p = s.channels[c].pmf;
      p.reserve(pmf->size());
      double sum = 0;
      for (std::size_t k = 0; k < pmf->size(); ++k) {
        const json& v = (*pmf)[k];
        if (!v.is_number()) return bad(at + ".pmf[" + std::to_string(k) + "] must be a number");
        const double x = v.get<double>();
        if (!std::isfinite(x) || !(x > 0)) return bad(at + ".pmf[" + std::to_string(k) + "] must be finite and > 0");
        p.push_back(x);
        sum += x;
      }
      if (!std::isfinite(sum)) return bad(at + ".pmf sums to infinity");
    }

    // metadata
    if (auto md = j.find("metadata"); md != j.end()) {
      if (!md->is_object()) return bad("\"metadata\" must be an object of strings");
      if (md->size() > 1000) return bad("more than 1000 metadata entries");
      for (auto it = md->begin(); it != md->end(); ++it) {
        if (it.key().empty() || it.key().size() > 255) return bad("metadata keys must be 1..255 bytes");
        if (!it->is_string()) return bad("metadata \"" + it.key() + "\" must be a string");
        if (std::find(std::begin(kPackerKeys), std::end(kPackerKeys), it.key()) != std::end(kPackerKeys))
          return bad("metadata \"" + it.key() + "\" is a key the packer writes");
        std::string v = it->get<std::string>();
        if (v.size() > 65536) return bad("metadata \"" + it.key() + "\" is longer than 65536 bytes");
        s.metadata[it.key()] = std::move(v);
      }
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return s;
}

// ---- pmf → integer frequencies -----------------------------------------------------------------
//
// With S = Σ p_k (summed in index order, binary64), each value gets the integer weight
// w_k = floor(p_k / S · 2^40) (entries past the pmf: 0), and the table is
// context_rans_frequencies(w, P), the fitter's table builder: f_k = 1 + floor(spare · w_k / Σw)
// with spare = 2^P − L, and the 2^P − Σ f_k units left go one each to the largest remainders
// (ties: the smaller k). Every f_k ≥ 1 (so every symbol of the alphabet is codable) and Σ f_k =
// 2^P; everything after the weights is exact integer arithmetic, and the weights are correctly
// rounded binary64 operations in a fixed order (no fused multiply-add: -ffp-contract=off), so the
// same pmfs give the same tables on every machine. P = 15 and L ≤ 256 keep the floor of 1 below
// L / 2^15 ≤ 0.8 % of the probability mass.
std::vector<std::uint32_t> pmf_frequencies(std::span<const double> pmf, std::uint32_t alphabet, int precision) {
  std::vector<std::uint64_t> w(alphabet, 0);
  double sum = 0;
  for (double p : pmf) sum += p;
  const double scale = std::ldexp(1.0, 40);
  for (std::size_t k = 0; k < pmf.size() && k < alphabet; ++k) {
    const double v = sum > 0 ? std::floor(pmf[k] / sum * scale) : 0.0;
    w[k] = v > 0 ? static_cast<std::uint64_t>(std::min(v, scale)) : 0;
  }
  return entropy::context_rans_frequencies(w, precision);
}

Result<model::CodecModelFile> learned_codec_model(const LearnedSpec& spec, std::uint64_t device_xxh64,
                                                  std::uint64_t server_xxh64) {
  if (spec.latent_shape.size() < 2 || spec.channels.size() != static_cast<std::size_t>(spec.latent_shape[1]))
    return Status{StatusCode::invalid_argument, "learned codec: one channel entry per latent channel expected"};
  const auto C = static_cast<std::uint32_t>(spec.channels.size());
  std::uint32_t L = 1;
  for (const auto& c : spec.channels) L = std::max<std::uint32_t>(L, static_cast<std::uint32_t>(c.pmf.size()));
  int bits = 1;
  while ((std::uint32_t{1} << bits) < L) ++bits;

  model::CodecModelFile f;
  model::TensorDecl decl;
  decl.name = spec.latent_name;
  decl.dtype = DType::f32;
  decl.layout = spec.latent_shape.size() == 4 ? Layout::nchw : Layout::unspecified;
  decl.shape = spec.latent_shape;
  f.tensors = {decl};

  model::TensorCodec tc;  // identity transform, one chunk
  tc.quantizer.kind = model::QuantKind::uniform;
  tc.quantizer.bits = bits;
  tc.quantizer.axis = 1;
  for (const auto& c : spec.channels) {
    tc.quantizer.lo.push_back(static_cast<float>(c.lo));  // |lo| ≤ 2^24 − 256: exact, and so is lo + s
    tc.quantizer.step.push_back(1.0f);
  }
  entropy::ContextRansModel m;
  m.precision = kLearnedPrecision;
  m.groups = C;
  m.positions = 1;
  m.classes = 1;
  m.row = 1;
  m.plane = 1;
  m.alphabet = L;
  m.base_tables = C;
  if (C > 1) {
    m.table_of.resize(C);
    std::iota(m.table_of.begin(), m.table_of.end(), 0u);
  }
  m.freq.reserve(std::size_t{C} * L);
  for (const auto& c : spec.channels) {
    const auto t = pmf_frequencies(c.pmf, L, kLearnedPrecision);
    m.freq.insert(m.freq.end(), t.begin(), t.end());
  }
  const ContextMap ctx = ContextMap::along(std::span<const std::int64_t>(decl.shape.data(), decl.shape.size()), 1);
  if (auto st = m.validate(bits, ctx); !st.ok()) return Status{st.code(), "learned codec tables: " + st.message()};
  tc.entropy.coder = CoderKind::context_rans;
  m.serialize(tc.entropy.params);

  model::RatePoint rp;
  rp.label = "learned, " + std::to_string(L) + " levels";
  rp.tensors = {std::move(tc)};
  f.rate_points = {std::move(rp)};

  model::Learned learned;
  learned.device_graph = xxh64_hash(device_xxh64);
  learned.server_graph = xxh64_hash(server_xxh64);
  learned.latent = decl;
  f.learned = std::move(learned);

  f.metadata = spec.metadata;
  f.metadata["generator"] = "ftc learn --pack";
  f.metadata["learned_format"] = std::string(kLearnedCodecFormat);
  f.metadata["device_graph"] = spec.device_graph;
  f.metadata["server_graph"] = spec.server_graph;
  if (!spec.model.empty()) f.metadata["source_model"] = spec.model;
  if (!spec.at.empty()) f.metadata["split_at"] = spec.at;

  // The id, as ftc fit chooses it: the low 32 bits of the content hash of the file with id 0.
  FTC_ASSIGN_OR_RETURN(auto bytes0, model::write_codec_model(f));
  f.model_id = model::model_content_hash(bytes0) & 0xFFFFFFFFu;
  if (f.model_id == 0) f.model_id = 1;
  return f;
}

Result<PackResult> pack_learned(const std::string& dir, bool write) {
  const fs::path d(dir);
  const std::string json_path = (d / "codec.json").string();
  auto text = read_bytes(json_path, kLearnedMaxJsonBytes);
  if (!text.ok()) return text.status();
  auto spec = parse_learned_spec(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!spec.ok()) return Status{spec.status().code(), (dir.empty() ? std::string() : dir + "/") + spec.status().message()};
  PackResult r;
  for (auto [name, out] : {std::pair{spec->device_graph, &r.device_hash}, {spec->server_graph, &r.server_hash}}) {
    auto g = read_bytes((d / name).string(), kMaxGraphBytes);
    if (!g.ok()) return g.status();
    *out = xxh64(*g);
  }
  auto file = learned_codec_model(*spec, r.device_hash, r.server_hash);
  if (!file.ok()) return Status{file.status().code(), json_path + ": " + file.status().message()};
  auto bytes = model::write_codec_model(*file);
  if (!bytes.ok()) return Status{bytes.status().code(), json_path + ": " + bytes.status().message()};
  r.path = (d / "codec.ftcm").string();
  r.file = std::move(file).value();
  r.bytes = std::move(bytes).value();
  const auto& rp = r.file.rate_points[0].tensors[0];
  r.bits = rp.quantizer.bits;
  r.table_bytes = rp.entropy.params.size();
  r.alphabet = 1;
  for (const auto& c : spec->channels) r.alphabet = std::max<std::uint32_t>(r.alphabet, static_cast<std::uint32_t>(c.pmf.size()));
  if (write)
    if (auto st = io::write_file(r.path, r.bytes, io::Overwrite::replace); !st.ok()) return st;
  return r;
}

// ---- deployment ---------------------------------------------------------------------------------

std::string graph_hash_text(const model::GraphHash& h) {
  switch (h.kind) {
    case model::HashKind::none: return "none";
    case model::HashKind::xxh64: return "xxh64:" + hex(h.digest, true);
    case model::HashKind::sha256: return "sha256:" + hex(h.digest, false);
  }
  return "?";
}

Result<LearnedGraphs> load_learned_graphs(const model::CodecModelFile& file, const std::string& ftcm_path,
                                          const std::string& device_path, const std::string& server_path) {
  if (!file.learned) return Status{StatusCode::invalid_argument, ftcm_path + ": not a learned codec model (no LEARNED section)"};
  LearnedGraphs g;
  g.learned = *file.learned;
  const fs::path dir = fs::path(ftcm_path).parent_path();
  auto named = [&](const char* key, const char* fallback) {
    auto it = file.metadata.find(key);
    return it != file.metadata.end() && plain_file_name(it->second) ? it->second : std::string(fallback);
  };
  g.device_path = !device_path.empty() ? device_path : (dir / named("device_graph", "device.onnx")).string();
  g.server_path = !server_path.empty() ? server_path : (dir / named("server_graph", "server.onnx")).string();
  for (auto [what, path, want, out] : {std::tuple{"device graph", &g.device_path, &g.learned.device_graph, &g.device},
                                       {"server graph", &g.server_path, &g.learned.server_graph, &g.server}}) {
    FTC_ASSIGN_OR_RETURN(*out, read_bytes(*path, kMaxGraphBytes));
    if (want->kind == model::HashKind::none) continue;
    if (want->kind != model::HashKind::xxh64)
      return Status{StatusCode::unsupported_feature, *path + ": the codec model names the " + what + " by " +
                                                         graph_hash_text(*want) + ", which this build cannot check"};
    const model::GraphHash have = xxh64_hash(xxh64(*out));
    if (have != *want)
      return Status{StatusCode::model_mismatch, *path + ": " + what + " is " + graph_hash_text(have) + " but " + ftcm_path +
                                                    " was packed for " + graph_hash_text(*want)};
  }
  return g;
}

Result<std::optional<model::CodecModelFile>> read_learned_model(const std::string& path) {
  FTC_ASSIGN_OR_RETURN(auto bytes, read_bytes(path, model::ModelLimits{}.max_file_bytes));
  auto f = model::parse_codec_model(bytes);
  if (!f.ok()) return Status{f.status().code(), path + ": " + f.status().message()};
  if (!f->learned) return std::optional<model::CodecModelFile>();
  return std::optional<model::CodecModelFile>(std::move(f).value());
}

Result<std::string> find_reference_model(const model::CodecModelFile& file, const std::string& ftcm_path) {
  auto it = file.metadata.find("source_model");
  if (it == file.metadata.end() || !plain_file_name(it->second))
    return Status{StatusCode::invalid_argument, ftcm_path + ": names no reference model (metadata source_model); give --model"};
  std::vector<fs::path> places;
  fs::path dir = fs::absolute(fs::path(ftcm_path)).parent_path();
  places.push_back(dir);
  for (fs::path p = dir; ; p = p.parent_path()) {
    places.push_back(p / "models");
    if (p == p.root_path() || p.parent_path() == p) break;
  }
  places.push_back(fs::path("models"));
  std::error_code ec;
  for (const auto& p : places)
    if (fs::is_regular_file(p / it->second, ec)) return (p / it->second).lexically_normal().string();
  return Status{StatusCode::invalid_argument, ftcm_path + ": reference model " + it->second +
                                                  " not found beside it nor in a models/ folder above it; give --model"};
}

std::optional<LearnedEstimate> learned_estimate(const std::string& ftcm_path) {
  const auto path = fs::path(ftcm_path).parent_path() / "report.json";
  auto bytes = read_bytes(path.string(), 16u << 20);
  if (!bytes.ok()) return std::nullopt;
  const json j = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto bits_of = [](const json& o) -> std::optional<double> {
    auto b = o.find("estimated_bits_per_image");
    if (b == o.end() || !b->is_number()) return std::nullopt;
    const double v = b->get<double>();
    return std::isfinite(v) && v >= 0 ? std::optional<double>(v) : std::nullopt;
  };
  if (auto t = j.find("test"); t != j.end() && t->is_object())
    if (auto b = bits_of(*t)) return LearnedEstimate{*b / 8.0 + 10.0, "report.json test"};
  if (auto b = bits_of(j)) return LearnedEstimate{*b / 8.0 + 10.0, "report.json held-out"};
  return std::nullopt;
}

}  // namespace ftc::runtime
