// Flags shared by the device-side commands (ftc infer, ftc loadtest): the head, how to normalize
// its input (a model card, or --mean/--std/--scale), and how to code the cut (codec flags, or a
// codec model and its rate point).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/codec_flags.hpp"
#include "ftc/ftc.hpp"
#include "runtime/eval.hpp"

namespace ftc::cli {

struct DeviceFlags {
  std::string head;
  std::string card;                 // model card (JSON) with the normalization
  std::vector<double> mean, std;
  double scale = 1.0 / 255.0;
  std::string codec_model;
  int rate_point = 0;
  std::shared_ptr<CodecFlags> codec;
  CLI::Option* rate_point_opt = nullptr;

  // What the flags give, once parsed.
  runtime::Normalization normalization;
  Shape input_shape;                // the head's input, dynamic dims as 1
  EncoderOptions options;
  std::string codec_text;           // "uniform 4-bit rans per channel" / "codec model … rate point r"

  // Checks the flags, reads the card and the head's input shape, builds the encoder options
  // (default: per channel along axis 1, layout nchw). invalid_argument / bad_file, one line.
  Status resolve();
};

// `head_required` false: the caller checks (ftc infer --cloud needs no head).
void add_device_flags(CLI::App& sub, DeviceFlags& f, bool head_required = true);

// An input file for the head: PNG or JPEG (normalized), a u8 .npy image (H,W), (C,H,W) or
// (1,C,H,W) (normalized), or an f32 .npy already normalized; reshaped to the head's input.
Result<Tensor> load_head_input(const std::string& path, const DeviceFlags& f);

// An input image, as is, u8 planar (C, H, W): PNG or JPEG (1 or 3 channels as stored), or a
// u8 .npy of shape (H, W), (C, H, W) or (1, C, H, W) with C 1 or 3. For cloud-only inference.
Result<Tensor> load_image(const std::string& path);

}  // namespace ftc::cli
