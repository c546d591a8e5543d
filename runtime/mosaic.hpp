// Feature mosaic: the seed system's way of sending a feature tensor (Ulhaq & Bajić, 2020).
// The C channels of a (C, H, W) tensor are clipped to a fixed range, quantized to 8 bits and
// tiled into one near-square grayscale image, which an ordinary image codec (JPEG, PNG) codes.
// ftc measures it as a baseline (ftc eval); the PNG/JPEG helpers also code the input images of
// the cloud-only baseline and decode image-folder data sets. libpng and libjpeg, linked by
// ftc_runtime only: the core library links neither.
//
// Decoding checks the image's declared size against a pixel limit before allocating and never
// aborts the process on a damaged image (libjpeg's default error handler calls exit()).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime::tile {

// An 8-bit image, row-major, channels interleaved (1 = gray, 3 = RGB).
struct Image {
  std::int32_t width = 0;
  std::int32_t height = 0;
  std::int32_t channels = 1;
  std::vector<std::uint8_t> pixels;  // height · width · channels
};

inline constexpr std::uint64_t kDefaultMaxPixels = std::uint64_t{1} << 26;

// PNG (lossless; zlib's default level). Fails with invalid_argument on a bad image.
Result<std::vector<std::uint8_t>> encode_png(const Image& image);
// JPEG, baseline Huffman (optimized tables), 4:2:0 for RGB; quality 1..100.
Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality);
// Decode to 1 or 3 channels (`channels`: 0 = as stored). corrupt / truncated / limit_exceeded
// on a bad or oversized image.
Result<Image> decode_png(std::span<const std::uint8_t> bytes, int channels = 0,
                         std::uint64_t max_pixels = kDefaultMaxPixels);
Result<Image> decode_jpeg(std::span<const std::uint8_t> bytes, int channels = 0,
                          std::uint64_t max_pixels = kDefaultMaxPixels);

// Whether `bytes` start with the PNG signature (89 50 4E 47 0D 0A 1A 0A) / JPEG's SOI + a marker (FF D8 FF).
bool is_png(std::span<const std::uint8_t> bytes);
bool is_jpeg(std::span<const std::uint8_t> bytes);

// The image as a u8 tensor (C, H, W), channels planar.
Result<Tensor> to_planar(const Image& image);

// The grid of a mosaic: `cols` = ceil(sqrt(C)), `rows` = ceil(C / cols); channel c sits at
// row c / cols, column c % cols. Cells past the last channel are filled with 0.
struct Grid {
  std::int64_t channels = 0, height = 0, width = 0;  // of one channel
  std::int64_t rows = 0, cols = 0;
  std::int64_t image_width() const { return cols * width; }
  std::int64_t image_height() const { return rows * height; }
};
Result<Grid> make_grid(std::int64_t channels, std::int64_t height, std::int64_t width);

// The fixed clip range of the mosaic's 8-bit quantizer: q = round((clamp(x, lo, hi) − lo) ·
// 255 / (hi − lo)), x̂ = lo + q · (hi − lo) / 255. lo < hi, both finite.
struct Range {
  float lo = 0.0f;
  float hi = 1.0f;
};

enum class ImageCodec { png, jpeg };

// `tensor`: f32, shape (C, H, W) or (1, C, H, W), any strides. NaN maps to lo.
Result<Image> to_mosaic(const TensorView& tensor, Range range);
// Inverse: an image of the grid's size (1 channel) back to a f32 (C, H, W) tensor, or
// (1, C, H, W) when `batch_dim` is set.
Result<Tensor> from_mosaic(const Image& image, const Grid& grid, Range range, bool batch_dim = true);

// to_mosaic + image codec. `quality` is used by JPEG only. The bytes are one complete PNG or
// JPEG file — the seed system sends nothing else: the server knows the shape and the range.
Result<std::vector<std::uint8_t>> encode_mosaic(const TensorView& tensor, Range range, ImageCodec codec,
                                                int quality = 70);
Result<Tensor> decode_mosaic(std::span<const std::uint8_t> bytes, const Grid& grid, Range range,
                             ImageCodec codec, bool batch_dim = true);

}  // namespace ftc::runtime::tile
