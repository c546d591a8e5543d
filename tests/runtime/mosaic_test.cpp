// runtime/mosaic.cpp: grid layout, 8-bit mosaic round trip, PNG/JPEG helpers, hostile input.
#include "runtime/mosaic.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace ftc;
using namespace ftc::runtime::tile;

namespace {

Image gradient(int w, int h, int channels) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(std::size_t(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        img.pixels[(std::size_t(y) * w + x) * channels + c] = static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50) & 255);
  return img;
}

}  // namespace

TEST_CASE("make_grid is near-square and covers every channel") {
  struct Case { std::int64_t c, rows, cols; };
  for (Case k : {Case{1, 1, 1}, Case{2, 1, 2}, Case{3, 2, 2}, Case{4, 2, 2}, Case{5, 2, 3}, Case{16, 4, 4},
                 Case{17, 4, 5}, Case{64, 8, 8}, Case{96, 10, 10}, Case{128, 11, 12}}) {
    auto g = make_grid(k.c, 14, 14);
    REQUIRE(g.ok());
    CHECK(g->rows == k.rows);
    CHECK(g->cols == k.cols);
    CHECK(g->rows * g->cols >= k.c);
    CHECK(g->image_width() == k.cols * 14);
  }
  CHECK(!make_grid(0, 14, 14).ok());
  CHECK(!make_grid(4, 0, 14).ok());
  CHECK(!make_grid(1000000, 100, 100).ok());  // 100000 pixels wide: too large for JPEG
}

TEST_CASE("mosaic places channel c at row c / cols, column c % cols, and round-trips through PNG") {
  const std::int64_t C = 5, H = 3, W = 4;
  std::vector<float> x(C * H * W);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 4.0f;  // 0 .. 4
  const std::int64_t shape[] = {1, C, H, W};
  const TensorView view = TensorView::contiguous(DType::f32, shape, x.data());
  const Range range{0.0f, 4.0f};
  auto img = to_mosaic(view, range);
  REQUIRE(img.ok());
  CHECK(img->width == 3 * W);
  CHECK(img->height == 2 * H);
  // channel 4 → row 1, column 1; its element (h=2, w=3) is x[4·12 + 2·4 + 3].
  const float v = x[4 * 12 + 2 * 4 + 3];
  CHECK(img->pixels[(1 * H + 2) * img->width + 1 * W + 3] == static_cast<std::uint8_t>(std::nearbyint(v * 255.0 / 4.0)));
  // the unused cell (row 1, column 2) is zero
  CHECK(img->pixels[(1 * H) * img->width + 2 * W] == 0);

  auto png = encode_mosaic(view, range, ImageCodec::png);
  REQUIRE(png.ok());
  auto grid = make_grid(C, H, W);
  REQUIRE(grid.ok());
  auto back = decode_mosaic(*png, *grid, range, ImageCodec::png);
  REQUIRE(back.ok());
  CHECK(back->shape() == Shape{1, C, H, W});
  const float* y = back->data_as<float>();
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(y[i] - x[i]) <= 4.0f / 255.0f / 2.0f + 1e-6f);
}

TEST_CASE("mosaic clips to the range and maps NaN to lo") {
  std::vector<float> x = {-5.0f, 0.5f, 99.0f, std::nanf("")};
  const std::int64_t shape[] = {1, 2, 2};  // (C, H, W)
  auto img = to_mosaic(TensorView::contiguous(DType::f32, shape, x.data()), Range{0.0f, 1.0f});
  REQUIRE(img.ok());
  // C = 1 → 1x1 grid of 2x2
  CHECK(img->pixels == std::vector<std::uint8_t>{0, 128, 255, 0});
  CHECK(!to_mosaic(TensorView::contiguous(DType::f32, shape, x.data()), Range{1.0f, 1.0f}).ok());
}

TEST_CASE("mosaic reads strided (NHWC) views") {
  const std::int64_t C = 3, H = 2, W = 2;
  std::vector<float> nhwc(C * H * W);
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t w = 0; w < W; ++w)
      for (std::int64_t c = 0; c < C; ++c) nhwc[(h * W + w) * C + c] = static_cast<float>(c);
  TensorView v;
  v.dtype = DType::f32;
  v.rank = 3;
  v.shape = {C, H, W};
  v.strides = {1, W * C, C};
  v.data = nhwc.data();
  auto img = to_mosaic(v, Range{0.0f, 2.0f});
  REQUIRE(img.ok());
  auto grid = make_grid(C, H, W);
  REQUIRE(grid.ok());
  auto t = from_mosaic(*img, *grid, Range{0.0f, 2.0f}, false);
  REQUIRE(t.ok());
  const float* y = t->data_as<float>();
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t i = 0; i < H * W; ++i) CHECK(std::fabs(y[c * H * W + i] - float(c)) <= 1.001f / 255.0f);  // half a step of 2/255
}

TEST_CASE("PNG is lossless for gray and RGB") {
  for (int channels : {1, 3}) {
    const Image img = gradient(37, 23, channels);
    auto bytes = encode_png(img);
    REQUIRE(bytes.ok());
    auto back = decode_png(*bytes);
    REQUIRE(back.ok());
    CHECK(back->channels == channels);
    CHECK(back->pixels == img.pixels);
  }
}

TEST_CASE("JPEG: higher quality, more bytes, smaller error") {
  const Image img = gradient(64, 48, 1);
  std::size_t prev_size = 0;
  double prev_err = 1e9;
  for (int q : {10, 50, 90}) {
    auto bytes = encode_jpeg(img, q);
    REQUIRE(bytes.ok());
    CHECK(bytes->size() > prev_size);
    auto back = decode_jpeg(*bytes);
    REQUIRE(back.ok());
    REQUIRE(back->pixels.size() == img.pixels.size());
    double err = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i) err += std::fabs(double(back->pixels[i]) - img.pixels[i]);
    err /= double(img.pixels.size());
    CHECK(err < prev_err);
    prev_size = bytes->size();
    prev_err = err;
  }
  CHECK(!encode_jpeg(img, 0).ok());
  CHECK(!encode_jpeg(img, 101).ok());
  auto rgb = encode_jpeg(gradient(16, 16, 3), 80);
  REQUIRE(rgb.ok());
  auto rgb_back = decode_jpeg(*rgb);
  REQUIRE(rgb_back.ok());
  CHECK(rgb_back->channels == 3);
  auto as_gray = decode_jpeg(*rgb, 1);
  REQUIRE(as_gray.ok());
  CHECK(as_gray->channels == 1);
}

TEST_CASE("damaged, truncated and oversized images are refused without crashing") {
  const Image img = gradient(40, 40, 1);
  auto jpg = encode_jpeg(img, 75);
  auto png = encode_png(img);
  REQUIRE(jpg.ok());
  REQUIRE(png.ok());
  for (std::size_t cut : {std::size_t(0), std::size_t(3), std::size_t(20), jpg->size() / 2, jpg->size() - 2}) {
    std::vector<std::uint8_t> t(jpg->begin(), jpg->begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK(!decode_jpeg(t).ok());
  }
  // (a PNG cut inside its final IEND chunk still holds the whole image: libpng accepts it)
  for (std::size_t cut : {std::size_t(0), std::size_t(8), std::size_t(30), png->size() / 2, png->size() - 13}) {
    std::vector<std::uint8_t> t(png->begin(), png->begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK(!decode_png(t).ok());
  }
  std::vector<std::uint8_t> garbage(300, 0xAB);
  CHECK(!decode_jpeg(garbage).ok());
  CHECK(!decode_png(garbage).ok());
  // flip bytes all over the JPEG: either an error or an image of the declared size, never a crash
  for (std::size_t i = 2; i < jpg->size(); i += 7) {
    std::vector<std::uint8_t> d = *jpg;
    d[i] ^= 0x5A;
    auto r = decode_jpeg(d);
    if (r.ok()) CHECK(r->pixels.size() == std::size_t(r->width) * r->height * r->channels);
  }
  CHECK(decode_jpeg(*jpg, 0, 100).status().code() == StatusCode::limit_exceeded);
  CHECK(decode_png(*png, 0, 100).status().code() == StatusCode::limit_exceeded);
  // a mosaic of the wrong size is refused
  auto grid = make_grid(4, 10, 10);  // 20x20, but the image is 40x40
  REQUIRE(grid.ok());
  CHECK(!decode_mosaic(*png, *grid, Range{0.0f, 1.0f}, ImageCodec::png).ok());
}
