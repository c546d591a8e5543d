// ftc encode | decode | info
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/codec_flags.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/limit_flags.hpp"
#include "cli/text.hpp"
#include "bitstream/codec_model.hpp"
#include "bitstream/compact_frame.hpp"
#include "codec/io/npy.hpp"
#include "codec/io/npz.hpp"

namespace ftc::cli {
namespace {

// The tensor name an input file gives: its stem, made valid UTF-8 (the format's names are UTF-8;
// a byte that is not becomes U+FFFD) within the format's 255 bytes.
std::string name_from_path(const std::string& path) {
  if (path == "-") return "";
  return to_utf8(std::filesystem::path(path).stem().string(), 255);
}

// A tensor name usable as a file name as it is: 1..128 bytes of ASCII letters, digits, '_', '-'
// and '.', not starting with '.' (so never ".", ".." or a hidden file, never a path).
bool plain_file_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// The file (and .npz member) names of a frame's tensors, without ".npy" — the rule decode's help
// states: a plain name that no other tensor of the frame has is kept; every other tensor I
// (unnamed, a name with other characters, a name two tensors share) is "tensor<I>", or
// "tensor<I>_<N>" with the smallest N ≥ 1 free when a kept name is already "tensor<I>".
// Distinct by construction, and a function of the names alone.
std::vector<std::string> member_names(const std::vector<NamedTensor>& tensors) {
  std::map<std::string, int> uses;
  for (const auto& t : tensors)
    if (plain_file_name(t.name)) ++uses[t.name];
  std::set<std::string> taken;
  std::vector<std::string> names(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (plain_file_name(tensors[i].name) && uses[tensors[i].name] == 1) taken.insert(names[i] = tensors[i].name);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!names[i].empty()) continue;
    const std::string base = "tensor" + std::to_string(i);
    std::string name = base;
    for (int n = 1; taken.count(name); ++n) name = base + "_" + std::to_string(n);
    taken.insert(names[i] = name);
    if (!tensors[i].name.empty())
      std::fprintf(stderr, "ftc: decode: note: tensor %zu '%s' written as %s.npy (%s)\n", i, printable(tensors[i].name).c_str(),
                   name.c_str(), plain_file_name(tensors[i].name) ? "another tensor has the same name" : "not a plain file name");
  }
  return names;
}

// The tensors as DIR/<member name>.npy, committed together: on any failure no new file is left
// (and DIR is removed again when this call created it).
Status write_npy_directory(const std::string& dir, const std::vector<NamedTensor>& tensors, bool force,
                           const std::string& input) {
  namespace fs = std::filesystem;
  std::error_code ec;
  bool created = false;
  if (!fs::exists(dir, ec)) {
    created = fs::create_directories(dir, ec);
    if (ec) return {StatusCode::io_error, dir + ": " + ec.message()};
  } else if (!fs::is_directory(dir, ec)) {
    return {StatusCode::io_error, dir + ": not a directory (the frame holds several tensors)"};
  }
  const std::vector<std::string> names = member_names(tensors);
  std::vector<io::OutputFile> files;
  Status s;
  for (std::size_t i = 0; i < tensors.size() && s.ok(); ++i) {
    const std::string path = (fs::path(dir) / (names[i] + ".npy")).string();
    if (s = check_not_input(path, {input}); !s.ok()) break;
    auto f = io::OutputFile::create(path, overwrite_if(force));
    if (!f.ok()) {
      s = f.status();
      break;
    }
    files.push_back(std::move(f).value());
    s = io::write_npy(files.back(), tensors[i].tensor.view());
  }
  if (s.ok()) s = io::commit_together(files);
  if (!s.ok()) {
    files.clear();
    if (created) fs::remove(dir, ec);
  }
  return s;
}

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// --codec-model FILE: loaded, or one line of error.
Result<std::shared_ptr<const CodecModel>> load_model(const std::string& path) {
  return CodecModel::from_file(path);
}

// The frame in `path` for `d`, read under the cap its limits give (max_frame_bytes). A stream is
// looked at as it arrives, so that a header `d` refuses (not a frame, over a limit) ends the read
// there: `ftc info - < /dev/zero` stops after its first 64 KiB.
Result<FrameInput> open_frame(const std::string& path, const Decoder& d) {
  return FrameInput::open(path, max_frame_bytes(d.limits()), [&d](std::span<const std::uint8_t> prefix) -> Status {
    if (format::is_compact_frame(prefix)) return {StatusCode::truncated, "model-bound frame: read to its end"};
    return d.inspect(prefix).status();
  });
}

// One line on stderr (stdout may carry the frame): "encoded 2 tensors, 802816 -> 61255 bytes
// (13.11x), uniform 8-bit per channel, coder zstd".
void print_encode_summary(std::span<const NamedTensorView> views, const EncoderOptions& o, std::size_t out_bytes) {
  std::uint64_t in_bytes = 0;
  for (const auto& v : views) in_bytes += v.view.element_count() * dtype_size(v.view.dtype);
  std::string how;
  if (o.codec_model) {
    how = "codec model " + std::to_string(o.codec_model->id()) + " rate point " + std::to_string(o.rate_point) + " (" +
          o.codec_model->rate_point_label(static_cast<std::size_t>(o.rate_point)) + ")";
  } else {
    how = quantizer_name(o.quantizer);
    if (o.quantizer == QuantizerKind::uniform)
      how += " " + std::to_string(o.bits) + "-bit" + (o.channel_axis ? " per channel" : " per tensor");
    how += std::string(", coder ") + coder_name(o.coder);
  }
  const double ratio = out_bytes ? static_cast<double>(in_bytes) / static_cast<double>(out_bytes) : 0.0;
  std::fprintf(stderr, "encoded %zu tensor%s, %llu -> %zu bytes (%.2fx), %s\n", views.size(),
               views.size() == 1 ? "" : "s", static_cast<unsigned long long>(in_bytes), out_bytes, ratio, how.c_str());
}

}  // namespace

Command add_encode(CLI::App& root) {
  struct Args {
    std::vector<std::string> inputs;
    std::vector<std::string> names;
    std::string output;
    bool force = false, quiet = false;
    std::string codec_model;
    int rate_point = 0;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("encode", "Encode .npy tensors into one ftc frame");
  sub->add_option("--codec-model", a->codec_model, "Fitted codec model (.ftcm): a compact model-bound frame");
  auto* rate_point = sub->add_option("--rate-point", a->rate_point, "With --codec-model: the model's rate point (0 = highest rate)");
  sub->add_option("input", a->inputs, "Input .npy files ('-' for stdin); several go into one frame")->required();
  sub->add_option("-o,--output", a->output, "Output .ftc file ('-' for stdout)")->required();
  sub->add_option("--name", a->names,
                  "Tensor names (UTF-8), one per input (default: the file stems, bytes that are not UTF-8 as U+FFFD)");
  auto codec = add_codec_flags(*sub);
  auto limit_flags = add_limit_flags(*sub, /*for_encoder=*/true);
  sub->add_flag("-f,--force", a->force, "Overwrite the output file");
  sub->add_flag("-q,--quiet", a->quiet, "Print no summary");
  return {sub, [a, codec, rate_point, limit_flags]() -> int {
    if (!a->names.empty() && a->names.size() != a->inputs.size()) return fail("encode", "give one --name per input");
    for (const auto& n : a->names)
      if (!is_utf8(n)) return fail("--name", "'" + n + "' is not valid UTF-8");
    std::vector<std::string> inputs = a->inputs;
    if (!a->codec_model.empty()) inputs.push_back(a->codec_model);
    if (Status s = check_not_input(a->output, inputs); !s.ok()) return fail(a->output, s.message());
    EncoderOptions o;
    if (auto s = codec->apply(o); !s.ok()) return fail("encode", s.message());
    limit_flags->apply(o.decoder_limits);
    // A codec model fixes the quantizer, coder and chunks, and its compact frame carries no name:
    // a codec flag or --name beside it would be ignored.
    if (!a->codec_model.empty()) {
      auto given = codec->given();
      if (!given->empty()) return fail("encode", "--codec-model and " + flag_text(given->front()) + " exclude each other (the model fixes the coding)");
      if (!a->names.empty()) return fail("encode", "--codec-model and --name exclude each other (a model-bound frame carries no name)");
    } else if (rate_point->count() > 0) {
      return fail("encode", "--rate-point needs --codec-model");
    }
    if (!a->codec_model.empty()) {
      auto m = load_model(a->codec_model);
      if (!m.ok()) return fail(a->codec_model, m.status().to_string());
      o.codec_model = std::move(m).value();
      o.rate_point = a->rate_point;
    }
    std::vector<Tensor> tensors;
    std::vector<NamedTensorView> views;
    for (std::size_t i = 0; i < a->inputs.size(); ++i) {
      const auto& in = a->inputs[i];
      auto bytes = read_input(in);
      if (!bytes.ok()) return fail(in, bytes.status().message());
      auto t = io::read_npy(*bytes);
      if (!t.ok()) return fail(in, t.status().message());
      tensors.push_back(std::move(t).value());
    }
    for (std::size_t i = 0; i < tensors.size(); ++i)
      views.push_back({a->names.empty() ? name_from_path(a->inputs[i]) : a->names[i], tensors[i].view()});
    auto frame = Encoder(o).encode(views);
    if (!frame.ok()) return fail(a->inputs.size() == 1 ? a->inputs[0] : "encode", frame.status().to_string());
    Status s = write_output(a->output, *frame, a->force);
    if (!s.ok()) return fail(a->output, s.message());
    if (!a->quiet) print_encode_summary(views, o, frame->size());
    return 0;
  }};
}

Command add_decode(CLI::App& root) {
  struct Args {
    std::string input, output;
    bool force = false;
    int threads = 1;
    std::vector<std::string> codec_models;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("decode", "Decode an ftc frame into .npy files");
  sub->add_option("input", a->input, "Input .ftc file ('-' for stdin)")->required();
  sub->add_option("-o,--output", a->output,
                  "Output .npy file ('-' for stdout); .npz (any number of tensors) or a directory when the frame holds several")->required();
  sub->add_flag("-f,--force", a->force, "Overwrite existing files");
  sub->add_option("--threads", a->threads, "Threads decoding chunks")->check(CLI::Range(1, 256));
  auto limit_flags = add_limit_flags(*sub, /*for_encoder=*/false);
  sub->add_option("--codec-model", a->codec_models, "Codec models that model-bound frames may name; repeatable");
  sub->footer(
      "Several tensors go to DIR/NAME.npy (or NAME.npy members of an .npz), all files or none. NAME is the\n"
      "tensor's name when it is a plain file name (1-128 ASCII letters, digits, '_', '-', '.'; not starting\n"
      "with '.') that no other tensor of the frame has; otherwise tensor<I> (I: its index in the frame), or\n"
      "tensor<I>_<N> with the smallest free N when a kept name is already tensor<I>. A renamed tensor that\n"
      "had a name is noted on stderr. An output is never one of the inputs.");
  return {sub, [a, limit_flags]() -> int {
    std::vector<std::string> inputs = a->codec_models;
    inputs.push_back(a->input);
    if (Status s = check_not_input(a->output, inputs); !s.ok()) return fail(a->output, s.message());
    DecoderLimits limits;
    limit_flags->apply(limits);
    Decoder d(limits);
    d.threads = a->threads;
    for (const auto& path : a->codec_models) {
      auto m = load_model(path);
      if (!m.ok()) return fail(path, m.status().to_string());
      if (Status s = d.add_codec_model(std::move(m).value()); !s.ok()) return fail(path, s.to_string());
    }
    auto bytes = open_frame(a->input, d);
    if (!bytes.ok()) return fail(a->input, bytes.status().code() == StatusCode::io_error ? bytes.status().message() : bytes.status().to_string());
    auto tensors = d.decode(bytes->bytes());
    if (!tensors.ok()) return fail(a->input, tensors.status().to_string());
    const auto ends_with = [&](const char* ext) { return a->output.ends_with(ext); };
    if (ends_with(".npz")) {
      const std::vector<std::string> keys = member_names(*tensors);
      std::vector<std::pair<std::string, TensorView>> members;
      for (std::size_t i = 0; i < tensors->size(); ++i) members.emplace_back(keys[i], (*tensors)[i].tensor.view());
      auto npz = io::write_npz(members);
      if (!npz.ok()) return fail(a->output, npz.status().message());
      Status s = write_output(a->output, *npz, a->force);
      return s.ok() ? 0 : fail(a->output, s.message());
    }
    if (tensors->size() == 1) {
      Status s = write_npy_output(a->output, (*tensors)[0].tensor.view(), a->force);
      return s.ok() ? 0 : fail(a->output, s.message());
    }
    if (a->output == "-" || ends_with(".npy"))
      return fail(a->input, "frame holds " + std::to_string(tensors->size()) +
                                " tensors, one .npy holds one: give -o OUT.npz (or a directory)");
    Status s = write_npy_directory(a->output, *tensors, a->force, a->input);
    return s.ok() ? 0 : fail("decode", s.message());
  }};
}

namespace {

// True when the file at `path` begins with a codec model's magic (docs/format-model.md).
bool starts_with_model_magic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[sizeof model::kModelMagic] = {};
  return f.read(magic, sizeof magic) && std::memcmp(magic, model::kModelMagic, sizeof magic) == 0;
}

// ftc info on a .ftcm: what the model holds (parsed and checked like any codec model).
int describe_model(const std::string& path, bool json) {
  auto m = load_model(path);
  if (!m.ok()) return fail(path, m.status().to_string());
  const CodecModel& model = **m;
  const std::string hash = fmt::format("xxh64:{:016x}", model.hash());
  if (json) {
    nlohmann::json j;
    j["codec_model"] = {{"id", model.id()}, {"hash", hash}, {"tensor", model.tensor_name()},
                        {"dtype", dtype_name(model.tensor_dtype())}, {"shape", model.tensor_shape()}};
    j["rate_points"] = nlohmann::json::array();
    for (std::size_t r = 0; r < model.rate_point_count(); ++r)
      j["rate_points"].push_back({{"label", model.rate_point_label(r)}, {"coded_elements", model.coded_elements(r)}});
    std::printf("%s\n", json_text(j).c_str());
    return 0;
  }
  std::printf("ftc codec model, id %llu, %s: tensor '%s' %s %s, %zu rate point(s)\n",
              static_cast<unsigned long long>(model.id()), hash.c_str(), printable(model.tensor_name()).c_str(),
              dtype_name(model.tensor_dtype()), shape_string(model.tensor_shape()).c_str(), model.rate_point_count());
  for (std::size_t r = 0; r < model.rate_point_count(); ++r)
    std::printf("  rate point %zu '%s': %llu coded elements\n", r, printable(model.rate_point_label(r)).c_str(),
                static_cast<unsigned long long>(model.coded_elements(r)));
  return 0;
}

}  // namespace

Command add_info(CLI::App& root) {
  struct Args {
    std::string input;
    bool json = false;
    std::vector<std::string> codec_models;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("info", "Describe an ftc frame without decoding it (or a codec model file)");
  sub->add_option("input", a->input, "Input .ftc file ('-' for stdin), or a .ftcm codec model")->required();
  sub->add_flag("--json", a->json, "Print JSON");
  sub->add_option("--codec-model", a->codec_models, "Codec models that model-bound frames may name; repeatable");
  auto limit_flags = add_limit_flags(*sub, /*for_encoder=*/false);
  return {sub, [a, limit_flags]() -> int {
    DecoderLimits limits;
    limit_flags->apply(limits);
    Decoder decoder(limits);
    for (const auto& path : a->codec_models) {
      auto m = load_model(path);
      if (!m.ok()) return fail(path, m.status().to_string());
      if (Status s = decoder.add_codec_model(std::move(m).value()); !s.ok()) return fail(path, s.to_string());
    }
    // A codec model file given where a frame is expected: describe the model instead of
    // calling it a frame of an unknown version.
    if (a->input != "-" && starts_with_model_magic(a->input)) return describe_model(a->input, a->json);
    // A file is mapped: the header and the chunk lengths are read, the payloads are not.
    auto bytes = open_frame(a->input, decoder);
    if (!bytes.ok()) return fail(a->input, bytes.status().code() == StatusCode::io_error ? bytes.status().message() : bytes.status().to_string());
    auto info = decoder.inspect(bytes->bytes());
    if (!info.ok()) return fail(a->input, info.status().to_string());
    const auto& f = *info;
    if (a->json) {
      nlohmann::json j;
      j["format_version"] = std::to_string(f.format_major) + "." + std::to_string(f.format_minor);
      j["bytes"] = f.frame_bytes;
      j["header_bytes"] = f.header_bytes;
      j["chunk_checksums"] = f.chunk_checksums;
      if (f.model_id) { j["model_id"] = *f.model_id; j["model_hash"] = *f.model_hash; }
      if (f.rate_point) j["rate_point"] = *f.rate_point;
      j["tensors"] = nlohmann::json::array();
      for (const auto& t : f.tensors) {
        nlohmann::json jt{{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                          {"quantizer", quantizer_name(t.quantizer)}, {"bits", t.bits}, {"coder", coder_name(t.coder)},
                          {"chunks", t.chunk_count}, {"payload_bytes", t.payload_bytes}};
        if (t.channel_axis) jt["channel_axis"] = *t.channel_axis;
        j["tensors"].push_back(jt);
      }
      // Single-tensor frames also carry the tensor's fields at the top level.
      if (f.tensors.size() == 1) {
        j["shape"] = f.tensors[0].shape;
        j["dtype"] = dtype_name(f.tensors[0].dtype);
      }
      std::printf("%s\n", json_text(j).c_str());
      return 0;
    }
    std::printf("ftc frame, format %d.%d, %llu bytes (header %llu)%s\n", f.format_major, f.format_minor,
                static_cast<unsigned long long>(f.frame_bytes), static_cast<unsigned long long>(f.header_bytes),
                f.chunk_checksums ? "" : ", no chunk checksums");
    for (std::size_t i = 0; i < f.tensors.size(); ++i) {
      const auto& t = f.tensors[i];
      std::string q = quantizer_name(t.quantizer);
      if (t.quantizer == QuantizerKind::uniform) {
        q += " " + std::to_string(t.bits) + "-bit";
        q += t.channel_axis ? ", per channel along axis " + std::to_string(*t.channel_axis) : ", per tensor";
      }
      std::printf("  tensor %zu '%s': %s %s, %s, coder %s, %llu chunk(s), %llu payload bytes\n", i, printable(t.name).c_str(),
                  dtype_name(t.dtype), shape_string(t.shape).c_str(), q.c_str(), coder_name(t.coder),
                  static_cast<unsigned long long>(t.chunk_count), static_cast<unsigned long long>(t.payload_bytes));
    }
    return 0;
  }};
}

}  // namespace ftc::cli
