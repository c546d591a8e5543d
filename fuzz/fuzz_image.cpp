// runtime::tile::decode_png / decode_jpeg — the images ftc serve takes from clients as cloud-only
// bodies (and image-folder data sets). Input: 1 option byte (bits 0-1: channels 0 = as stored, 1,
// 3, 0; bits 2-4: k, the pixel limit 4^(k+1), 4 … 65,536), then the image; a PNG signature picks
// the PNG decoder, anything else the JPEG one, as the server does. A decoded image has exactly
// width·height·channels bytes, at most the limit's pixels and the channels asked for; a refused
// one says corrupt, truncated, limit_exceeded or unsupported_feature (progressive JPEG, whose
// scan count is unbounded; never invalid_argument: the options are valid),
// and the declared size is checked before the pixels are allocated (-malloc_limit_mb catches
// the rest).
#include "fuzz/fuzz_common.hpp"
#include "runtime/mosaic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr int kChannels[4] = {0, 1, 3, 0};
  const int channels = kChannels[data[0] & 3];
  const std::uint64_t max_pixels = std::uint64_t{4} << (2 * ((data[0] >> 2) & 7));
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  const bool png = ftc::runtime::tile::is_png(bytes);
  auto img = png ? ftc::runtime::tile::decode_png(bytes, channels, max_pixels)
                 : ftc::runtime::tile::decode_jpeg(bytes, channels, max_pixels);
  if (!img.ok()) {
    const auto c = img.status().code();
    FTC_FUZZ_CHECK(c == ftc::StatusCode::corrupt || c == ftc::StatusCode::truncated ||
                   c == ftc::StatusCode::limit_exceeded || c == ftc::StatusCode::unsupported_feature);
    return 0;
  }
  FTC_FUZZ_CHECK(img->width > 0 && img->height > 0);
  const std::uint64_t pixels = std::uint64_t(img->width) * std::uint64_t(img->height);
  FTC_FUZZ_CHECK(pixels <= max_pixels);
  FTC_FUZZ_CHECK(channels == 0 ? (img->channels == 1 || img->channels == 3) : img->channels == channels);
  FTC_FUZZ_CHECK(img->pixels.size() == pixels * std::uint64_t(img->channels));
  return 0;
}
