// Feature mosaic and the PNG/JPEG helpers (see mosaic.hpp).
//
// libjpeg reports errors through a callback that must not return; we longjmp back into the
// function that called setjmp. Everything with a destructor in those functions is constructed
// before setjmp and nothing with a destructor lives in the frames that are jumped over (libjpeg's
// C frames and the callbacks below), which keeps the longjmp well-defined in C++.
#include "runtime/mosaic.hpp"

#include <csetjmp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

namespace ftc::runtime::tile {
namespace {

Status bad_image(const Image& image) {
  if (image.channels != 1 && image.channels != 3)
    return {StatusCode::invalid_argument, "image: channels must be 1 or 3, got " + std::to_string(image.channels)};
  if (image.width <= 0 || image.height <= 0 || image.width > 65500 || image.height > 65500)
    return {StatusCode::invalid_argument, "image: size " + std::to_string(image.width) + "x" +
                                              std::to_string(image.height) + " out of range 1..65500"};
  const std::uint64_t need = std::uint64_t(image.width) * std::uint64_t(image.height) * std::uint64_t(image.channels);
  if (image.pixels.size() != need)
    return {StatusCode::invalid_argument, "image: " + std::to_string(image.pixels.size()) + " bytes of pixels, expected " +
                                              std::to_string(need)};
  return Status::Ok();
}

// ---- libjpeg error handling ------------------------------------------------------------------

struct JpegErrorMgr {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  bool truncated;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (msg_level < 0) are signs of damaged data: libjpeg would paper over them (e.g. pad a
// truncated scan with gray); we refuse the image instead. Trace messages are ignored.
void jpeg_on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  err->truncated = cinfo->err->msg_code == JWRN_JPEG_EOF;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_install(JpegErrorMgr& err) {
  jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_on_message;
  err.truncated = false;
  err.message[0] = '\0';
}

struct JpegOut {
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
};

}  // namespace

// ---- PNG ---------------------------------------------------------------------------------------

Result<std::vector<std::uint8_t>> encode_png(const Image& image) {
  FTC_RETURN_IF_ERROR(bad_image(image));
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  std::vector<std::uint8_t> out(PNG_IMAGE_PNG_SIZE_MAX(png));
  png_alloc_size_t size = out.size();
  const int ok = png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr);
  if (!ok || PNG_IMAGE_FAILED(png)) {
    std::string msg = png.message;
    png_image_free(&png);
    return Status{StatusCode::internal, "png: " + msg};
  }
  png_image_free(&png);
  out.resize(size);
  return out;
}

Result<Image> decode_png(std::span<const std::uint8_t> bytes, int channels, std::uint64_t max_pixels) {
  if (channels != 0 && channels != 1 && channels != 3)
    return Status{StatusCode::invalid_argument, "png: channels must be 0, 1 or 3"};
  if (bytes.size() < 8) return Status{StatusCode::truncated, "png: " + std::to_string(bytes.size()) + " bytes"};
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    std::string msg = png.message;
    png_image_free(&png);
    return Status{StatusCode::corrupt, "png: " + msg};
  }
  const std::uint64_t pixels = std::uint64_t(png.width) * png.height;
  if (pixels == 0 || pixels > max_pixels) {
    png_image_free(&png);
    return Status{StatusCode::limit_exceeded, "png: " + std::to_string(png.width) + "x" + std::to_string(png.height) +
                                                  " is over the limit of " + std::to_string(max_pixels) + " pixels"};
  }
  if (channels == 0) channels = (png.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  png.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  Image image;
  image.width = static_cast<std::int32_t>(png.width);
  image.height = static_cast<std::int32_t>(png.height);
  image.channels = channels;
  image.pixels.resize(pixels * std::uint64_t(channels));
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) || PNG_IMAGE_FAILED(png)) {
    std::string msg = png.message;
    png_image_free(&png);
    return Status{StatusCode::corrupt, "png: " + msg};
  }
  png_image_free(&png);
  return image;
}

bool is_png(std::span<const std::uint8_t> bytes) {
  static constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

bool is_jpeg(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

Result<Tensor> to_planar(const Image& image) {
  FTC_RETURN_IF_ERROR(bad_image(image));
  const std::int64_t C = image.channels, H = image.height, W = image.width;
  FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::u8, {C, H, W}));
  std::uint8_t* out = t.data();
  for (std::int64_t y = 0; y < H; ++y)  // interleaved → planar
    for (std::int64_t x = 0; x < W; ++x)
      for (std::int64_t c = 0; c < C; ++c)
        out[(c * H + y) * W + x] = image.pixels[static_cast<std::size_t>((y * W + x) * C + c)];
  return t;
}

// ---- JPEG --------------------------------------------------------------------------------------

Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality) {
  FTC_RETURN_IF_ERROR(bad_image(image));
  if (quality < 1 || quality > 100)
    return Status{StatusCode::invalid_argument, "jpeg: quality " + std::to_string(quality) + " out of range 1..100"};
  std::vector<std::uint8_t> out;
  jpeg_compress_struct cinfo;
  JpegErrorMgr err;
  JpegOut dst;
  jpeg_install(err);
  cinfo.err = &err.mgr;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(dst.buffer);
    return Status{StatusCode::internal, std::string("jpeg: ") + err.message};
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &dst.buffer, &dst.size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  cinfo.optimize_coding = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  const std::size_t stride = std::size_t(image.width) * std::size_t(image.channels);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.pixels.data() + std::size_t(cinfo.next_scanline) * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  out.assign(dst.buffer, dst.buffer + dst.size);
  jpeg_destroy_compress(&cinfo);
  std::free(dst.buffer);
  return out;
}

Result<Image> decode_jpeg(std::span<const std::uint8_t> bytes, int channels, std::uint64_t max_pixels) {
  if (channels != 0 && channels != 1 && channels != 3)
    return Status{StatusCode::invalid_argument, "jpeg: channels must be 0, 1 or 3"};
  if (bytes.size() < 4) return Status{StatusCode::truncated, "jpeg: " + std::to_string(bytes.size()) + " bytes"};
  Image image;
  jpeg_decompress_struct cinfo;
  JpegErrorMgr err;
  jpeg_install(err);
  cinfo.err = &err.mgr;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Status{err.truncated ? StatusCode::truncated : StatusCode::corrupt, std::string("jpeg: ") + err.message};
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
    jpeg_destroy_decompress(&cinfo);
    return Status{StatusCode::corrupt, "jpeg: no image"};
  }
  const std::uint64_t pixels = std::uint64_t(cinfo.image_width) * cinfo.image_height;
  if (pixels == 0 || pixels > max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return Status{StatusCode::limit_exceeded, "jpeg: image over the limit of " + std::to_string(max_pixels) + " pixels"};
  }
  // A progressive image may hold any number of scans, each costing a pass over the image; we
  // never write one, so refuse it rather than let a small file buy a lot of CPU.
  if (cinfo.progressive_mode) {
    jpeg_destroy_decompress(&cinfo);
    return Status{StatusCode::unsupported_feature, "jpeg: progressive JPEG is not supported"};
  }
  const int out_channels = channels != 0 ? channels : cinfo.num_components == 1 ? 1 : 3;
  cinfo.out_color_space = out_channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != out_channels) {
    jpeg_destroy_decompress(&cinfo);
    return Status{StatusCode::unsupported_feature, "jpeg: cannot convert to " + std::to_string(out_channels) + " channels"};
  }
  image.width = static_cast<std::int32_t>(cinfo.output_width);
  image.height = static_cast<std::int32_t>(cinfo.output_height);
  image.channels = out_channels;
  image.pixels.resize(std::size_t(cinfo.output_width) * cinfo.output_height * std::size_t(out_channels));
  const std::size_t stride = std::size_t(cinfo.output_width) * std::size_t(out_channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.pixels.data() + std::size_t(cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return image;
}

// ---- Mosaic ------------------------------------------------------------------------------------

Result<Grid> make_grid(std::int64_t channels, std::int64_t height, std::int64_t width) {
  if (channels <= 0 || height <= 0 || width <= 0)
    return Status{StatusCode::invalid_argument, "mosaic: channels, height and width must be positive"};
  Grid g;
  g.channels = channels;
  g.height = height;
  g.width = width;
  g.cols = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(channels))));
  while (g.cols * g.cols < channels) ++g.cols;                       // guard sqrt rounding
  while (g.cols > 1 && (g.cols - 1) * (g.cols - 1) >= channels) --g.cols;
  g.rows = (channels + g.cols - 1) / g.cols;
  if (g.image_width() > 65500 || g.image_height() > 65500)
    return Status{StatusCode::invalid_argument, "mosaic: " + std::to_string(g.image_width()) + "x" +
                                                    std::to_string(g.image_height()) + " is too large for PNG/JPEG"};
  return g;
}

namespace {

Status check_range(Range r) {
  if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || !(r.lo < r.hi))
    return {StatusCode::invalid_argument, "mosaic: range must be finite with lo < hi"};
  return Status::Ok();
}

// (C, H, W) dims and strides of a rank-3 or batch-1 rank-4 view.
Status chw_of(const TensorView& t, std::int64_t dims[3], std::int64_t strides[3]) {
  FTC_RETURN_IF_ERROR(t.validate());
  if (t.dtype != DType::f32) return {StatusCode::invalid_argument, "mosaic: tensor must be f32"};
  int first = 0;
  if (t.rank == 4) {
    if (t.shape[0] != 1) return {StatusCode::invalid_argument, "mosaic: batch must be 1"};
    first = 1;
  } else if (t.rank != 3) {
    return {StatusCode::invalid_argument, "mosaic: tensor must be (C, H, W) or (1, C, H, W)"};
  }
  for (int i = 0; i < 3; ++i) {
    dims[i] = t.shape[first + i];
    strides[i] = t.strides[first + i];
  }
  return Status::Ok();
}

}  // namespace

Result<Image> to_mosaic(const TensorView& tensor, Range range) {
  FTC_RETURN_IF_ERROR(check_range(range));
  std::int64_t d[3], s[3];
  FTC_RETURN_IF_ERROR(chw_of(tensor, d, s));
  FTC_ASSIGN_OR_RETURN(Grid g, make_grid(d[0], d[1], d[2]));
  Image img;
  img.width = static_cast<std::int32_t>(g.image_width());
  img.height = static_cast<std::int32_t>(g.image_height());
  img.channels = 1;
  img.pixels.assign(std::size_t(img.width) * std::size_t(img.height), 0);
  const auto* base = static_cast<const float*>(tensor.data);
  const double lo = range.lo, scale = 255.0 / (double(range.hi) - double(range.lo));
  for (std::int64_t c = 0; c < g.channels; ++c) {
    const std::int64_t y0 = (c / g.cols) * g.height, x0 = (c % g.cols) * g.width;
    for (std::int64_t y = 0; y < g.height; ++y) {
      std::uint8_t* row = img.pixels.data() + (y0 + y) * img.width + x0;
      const float* src = base + c * s[0] + y * s[1];
      for (std::int64_t x = 0; x < g.width; ++x) {
        const float v = src[x * s[2]];
        double q = 0.0;
        if (v >= range.hi) q = 255.0;
        else if (v > range.lo) q = std::nearbyint((double(v) - lo) * scale);
        row[x] = static_cast<std::uint8_t>(q);
      }
    }
  }
  return img;
}

Result<Tensor> from_mosaic(const Image& image, const Grid& grid, Range range, bool batch_dim) {
  FTC_RETURN_IF_ERROR(check_range(range));
  if (image.channels != 1 || image.width != grid.image_width() || image.height != grid.image_height() ||
      image.pixels.size() != std::size_t(image.width) * std::size_t(image.height))
    return Status{StatusCode::corrupt, "mosaic: image is " + std::to_string(image.width) + "x" +
                                           std::to_string(image.height) + "x" + std::to_string(image.channels) +
                                           ", expected " + std::to_string(grid.image_width()) + "x" +
                                           std::to_string(grid.image_height()) + "x1"};
  Shape shape = {grid.channels, grid.height, grid.width};
  if (batch_dim) shape.insert(shape.begin(), 1);
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::zeros(DType::f32, shape));
  float* dst = out.data_as<float>();
  float lut[256];
  const double step = (double(range.hi) - double(range.lo)) / 255.0;
  for (int q = 0; q < 256; ++q) lut[q] = static_cast<float>(double(range.lo) + q * step);
  for (std::int64_t c = 0; c < grid.channels; ++c) {
    const std::int64_t y0 = (c / grid.cols) * grid.height, x0 = (c % grid.cols) * grid.width;
    for (std::int64_t y = 0; y < grid.height; ++y) {
      const std::uint8_t* row = image.pixels.data() + (y0 + y) * image.width + x0;
      float* d = dst + (c * grid.height + y) * grid.width;
      for (std::int64_t x = 0; x < grid.width; ++x) d[x] = lut[row[x]];
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> encode_mosaic(const TensorView& tensor, Range range, ImageCodec codec, int quality) {
  FTC_ASSIGN_OR_RETURN(Image img, to_mosaic(tensor, range));
  return codec == ImageCodec::png ? encode_png(img) : encode_jpeg(img, quality);
}

Result<Tensor> decode_mosaic(std::span<const std::uint8_t> bytes, const Grid& grid, Range range, ImageCodec codec,
                             bool batch_dim) {
  const std::uint64_t max_pixels = std::uint64_t(grid.image_width()) * std::uint64_t(grid.image_height());
  FTC_ASSIGN_OR_RETURN(Image img, codec == ImageCodec::png ? decode_png(bytes, 1, max_pixels)
                                                           : decode_jpeg(bytes, 1, max_pixels));
  return from_mosaic(img, grid, range, batch_dim);
}

}  // namespace ftc::runtime::tile
