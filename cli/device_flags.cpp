#include "cli/device_flags.hpp"

#include <cstring>
#include <filesystem>

#include "cli/file_io.hpp"
#include "codec/io/npy.hpp"
#include "runtime/graph.hpp"
#include "runtime/mosaic.hpp"

namespace ftc::cli {

void add_device_flags(CLI::App& sub, DeviceFlags& f, bool head_required) {
  auto* head = sub.add_option("--head", f.head, "Head model (ONNX, from ftc split)");
  if (head_required) head->required();
  sub.add_option("--card", f.card, "Model card (M.json) with the input normalization (default: HEAD.json, else --mean/--std)");
  sub.add_option("--mean", f.mean, "Normalization mean (one, or one per channel)")->delimiter(',');
  sub.add_option("--std", f.std, "Normalization std (one, or one per channel)")->delimiter(',');
  sub.add_option("--scale", f.scale, "Normalization pixel scale (x = (pixel*scale - mean)/std)");
  sub.add_option("--codec-model", f.codec_model, "Fitted codec model (.ftcm): compact model-bound frames");
  f.rate_point_opt = sub.add_option("--rate-point", f.rate_point, "With --codec-model: its rate point (0 = highest rate)")
                         ->check(CLI::Range(0, 15));
  f.codec = add_codec_flags(sub, {EncoderParam::threads});
}

Status DeviceFlags::resolve() {
  // Normalization: card, then flags over it.
  std::string card_path = card;
  if (card_path.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(runtime::model_card_path(head), ec)) card_path = runtime::model_card_path(head);
  }
  if (!card_path.empty()) {
    FTC_ASSIGN_OR_RETURN(auto c, runtime::read_model_card(card_path));
    normalization = c.normalization;
  } else if (mean.empty() || std.empty()) {
    return Status{StatusCode::invalid_argument, head + ": no model card beside it: give --card M.json or --mean and --std"};
  }
  if (!mean.empty()) normalization.mean = mean;
  if (!std.empty()) normalization.std = std;
  if (scale != 1.0 / 255.0 || card_path.empty()) normalization.scale = scale;
  for (double s : normalization.std)
    if (s == 0) return Status{StatusCode::invalid_argument, "--std must be non-zero"};
  // The head's input shape.
  FTC_ASSIGN_OR_RETURN(auto g, runtime::Graph::load(head));
  const auto ins = g.inputs();
  if (ins.size() != 1) return Status{StatusCode::invalid_argument, head + ": the head must have one input"};
  if (!ins[0].shape) return Status{StatusCode::bad_file, head + ": the input has no shape"};
  input_shape = *ins[0].shape;
  for (auto& d : input_shape) d = d < 0 ? 1 : d;
  // The coding.
  FTC_ASSIGN_OR_RETURN(auto given, codec->given());
  if (!codec_model.empty()) {
    if (!given.empty())
      return Status{StatusCode::invalid_argument, "--codec-model and " + flag_text(given.front()) +
                                                      " exclude each other (the model fixes the coding)"};
    FTC_ASSIGN_OR_RETURN(auto m, CodecModel::from_file(codec_model));
    if (static_cast<std::size_t>(rate_point) >= m->rate_point_count())
      return Status{StatusCode::invalid_argument, codec_model + ": --rate-point " + std::to_string(rate_point) + " but the model has " +
                                                      std::to_string(m->rate_point_count())};
    options.codec_model = m;
    options.rate_point = rate_point;
    codec_text = "codec model " + codec_model + " rate point " + std::to_string(rate_point) + " (" +
                 m->rate_point_label(static_cast<std::size_t>(rate_point)) + ")";
    return Status::Ok();
  }
  if (rate_point_opt->count() > 0) return Status{StatusCode::invalid_argument, "--rate-point needs --codec-model"};
  options.channel_axis = 1;
  options.layout = Layout::nchw;
  FTC_RETURN_IF_ERROR(codec->apply(options));
  FTC_RETURN_IF_ERROR(options.validate());
  codec_text = quantizer_name(options.quantizer);
  if (options.quantizer == QuantizerKind::uniform)
    codec_text += " " + std::to_string(options.bits) + "-bit" + (options.channel_axis ? " per channel" : " per tensor");
  codec_text += std::string(" ") + coder_name(options.coder);
  return Status::Ok();
}

Result<Tensor> load_head_input(const std::string& path, const DeviceFlags& f) {
  FTC_ASSIGN_OR_RETURN(auto bytes, read_input(path));
  Tensor image;
  const bool png = runtime::tile::is_png(bytes), jpeg = !png && runtime::tile::is_jpeg(bytes);
  std::uint64_t want = 1;
  for (auto d : f.input_shape) want *= static_cast<std::uint64_t>(d);
  if (png || jpeg) {
    const int channels = f.input_shape.size() >= 3 ? static_cast<int>(f.input_shape[f.input_shape.size() - 3]) : 1;
    auto img = png ? runtime::tile::decode_png(bytes, channels == 3 ? 3 : 1) : runtime::tile::decode_jpeg(bytes, channels == 3 ? 3 : 1);
    if (!img.ok()) return Status{img.status().code(), path + ": " + img.status().message()};
    FTC_ASSIGN_OR_RETURN(image, runtime::tile::to_planar(*img));
  } else {
    auto t = io::read_npy(bytes);
    if (!t.ok()) return Status{t.status().code(), path + ": not PNG, JPEG or .npy: " + t.status().message()};
    if (t->element_count() != want)
      return Status{StatusCode::invalid_argument, path + ": " + std::to_string(t->element_count()) +
                                                      " values, the head's input takes " + std::to_string(want)};
    if (t->dtype() == DType::f32) {
      FTC_ASSIGN_OR_RETURN(Tensor x, Tensor::zeros(DType::f32, f.input_shape));
      std::memcpy(x.data(), t->data(), x.byte_size());
      return x;
    }
    if (t->dtype() != DType::u8) return Status{StatusCode::invalid_argument, path + ": a .npy input must be u8 (an image) or f32"};
    const std::int64_t C = f.input_shape.size() >= 3 ? f.input_shape[f.input_shape.size() - 3] : 1;
    const std::int64_t HW = static_cast<std::int64_t>(want) / C;
    const std::int64_t W = f.input_shape.back(), H = HW / W;
    FTC_ASSIGN_OR_RETURN(image, Tensor::zeros(DType::u8, {C, H, W}));
    std::memcpy(image.data(), t->data(), image.byte_size());
  }
  auto x = runtime::preprocess(image, f.normalization, f.input_shape);
  if (!x.ok()) return Status{x.status().code(), path + ": " + x.status().message()};
  return x;
}

Result<Tensor> load_image(const std::string& path) {
  FTC_ASSIGN_OR_RETURN(auto bytes, read_input(path));
  const bool png = runtime::tile::is_png(bytes), jpeg = !png && runtime::tile::is_jpeg(bytes);
  if (png || jpeg) {
    auto img = png ? runtime::tile::decode_png(bytes) : runtime::tile::decode_jpeg(bytes);
    if (!img.ok()) return Status{img.status().code(), path + ": " + img.status().message()};
    return runtime::tile::to_planar(*img);
  }
  auto t = io::read_npy(bytes);
  if (!t.ok()) return Status{t.status().code(), path + ": not PNG, JPEG or .npy: " + t.status().message()};
  if (t->dtype() != DType::u8) return Status{StatusCode::invalid_argument, path + ": a cloud-only .npy image must be u8"};
  Shape s = t->shape();
  if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
  if (s.size() == 2) s.insert(s.begin(), 1);
  if (s.size() != 3 || (s[0] != 1 && s[0] != 3) || s[1] < 1 || s[2] < 1)
    return Status{StatusCode::invalid_argument, path + ": a .npy image must be (H, W), (C, H, W) or (1, C, H, W) with C 1 or 3"};
  FTC_ASSIGN_OR_RETURN(Tensor image, Tensor::zeros(DType::u8, s));
  std::memcpy(image.data(), t->data(), image.byte_size());
  return image;
}

}  // namespace ftc::cli
