// runtime/dataset.cpp and runtime/idx.cpp: Fashion-MNIST IDX, image folders, .npy batches.
#include "runtime/dataset.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include "codec/io/npy.hpp"
#include "runtime/mosaic.hpp"
#include "runtime/idx.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using namespace ftc::runtime;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("ftc_dataset_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void be32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

void write_gz(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

// n images of h×w with pixel (i, y, x) = i*16 + y*w + x (mod 256); labels i % 10.
void write_fake_fmnist(const fs::path& dir, const char* split, std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> img = {0, 0, 8, 3}, lab = {0, 0, 8, 1};
  be32(img, n);
  be32(img, h);
  be32(img, w);
  be32(lab, n);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t k = 0; k < h * w; ++k) img.push_back(static_cast<std::uint8_t>(i * 16 + k));
    lab.push_back(static_cast<std::uint8_t>(i % 10));
  }
  write_gz(dir / (std::string(split) + "-images-idx3-ubyte.gz"), img);
  write_gz(dir / (std::string(split) + "-labels-idx1-ubyte.gz"), lab);
}

}  // namespace

TEST_CASE("fashion-mnist from IDX files in a given directory") {
  TempDir d;
  write_fake_fmnist(d.path, "t10k", 12, 4, 5);
  write_fake_fmnist(d.path, "train", 30, 4, 5);
  auto ds = open_dataset("fashion-mnist:test", d.path.string());
  REQUIRE_MESSAGE(ds.ok(), ds.status().to_string());
  CHECK((*ds)->size() == 12);
  CHECK((*ds)->name() == "fashion-mnist:test");
  auto s = (*ds)->get(3);
  REQUIRE(s.ok());
  CHECK(s->label == 3);
  CHECK(s->image.dtype() == DType::u8);
  CHECK(s->image.shape() == Shape{1, 4, 5});
  CHECK(s->image.data()[0] == 48);
  CHECK(s->image.data()[19] == 48 + 19);
  CHECK_FALSE((*ds)->get(12).ok());

  auto tr = open_dataset("fashion-mnist:train:7", d.path.string());
  REQUIRE(tr.ok());
  CHECK((*tr)->size() == 7);
  CHECK((*tr)->name() == "fashion-mnist:train:7");
  CHECK((*tr)->get(6)->label == 6);

  // FTC_FASHION_MNIST_DIR is the fallback when no directory is passed.
  ::setenv("FTC_FASHION_MNIST_DIR", d.path.c_str(), 1);
  auto env = open_dataset("fashion-mnist:test:2");
  ::unsetenv("FTC_FASHION_MNIST_DIR");
  REQUIRE(env.ok());
  CHECK((*env)->size() == 2);

  CHECK_FALSE(open_dataset("fashion-mnist:valid", d.path.string()).ok());
  CHECK_FALSE(open_dataset("cifar:test").ok());
  CHECK(open_dataset("fashion-mnist:test", (d.path / "nope").string()).status().code() == StatusCode::io_error);
}

TEST_CASE("IDX: truncated and malformed files") {
  TempDir d;
  std::vector<std::uint8_t> img = {0, 0, 8, 3};
  be32(img, 5);
  be32(img, 2);
  be32(img, 2);
  img.resize(img.size() + 7);  // 20 bytes declared
  write_gz(d.path / "short.gz", img);
  auto r = read_idx_file((d.path / "short.gz").string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::bad_file);
  write_gz(d.path / "magic.gz", {1, 2, 3, 4});
  CHECK(read_idx_file((d.path / "magic.gz").string()).status().code() == StatusCode::bad_file);
  write_gz(d.path / "type.gz", {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK(read_idx_file((d.path / "type.gz").string()).status().code() == StatusCode::bad_file);
  // An uncompressed file reads too.
  std::ofstream((d.path / "plain").string(), std::ios::binary).write("\0\0\x08\x01\0\0\0\x02\x07\x09", 10);
  auto p = read_idx_file((d.path / "plain").string());
  REQUIRE(p.ok());
  CHECK(p->dims == std::vector<std::uint32_t>{2});
  CHECK(p->data == std::vector<std::uint8_t>{7, 9});
}

TEST_CASE("the installed Fashion-MNIST (dataset-fashion-mnist)") {
  const char* dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(std::string(dir) + "/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist not installed: skipped");
    return;
  }
  auto test = open_dataset("fashion-mnist:test", dir);
  REQUIRE_MESSAGE(test.ok(), test.status().to_string());
  CHECK((*test)->size() == 10000);
  auto s = (*test)->get(9999);
  REQUIRE(s.ok());
  CHECK(s->image.shape() == Shape{1, 28, 28});
  CHECK(s->label >= 0);
  CHECK(s->label <= 9);
  auto train = open_dataset("fashion-mnist:train:5000", dir);
  REQUIRE(train.ok());
  CHECK((*train)->size() == 5000);
  // The label histogram of the first 5000 training images covers all ten classes.
  std::vector<int> hist(10);
  for (std::size_t i = 0; i < (*train)->size(); ++i) ++hist[(*train)->get(i)->label];
  for (int h : hist) CHECK(h > 300);
}

TEST_CASE("image folder with labels.csv") {
  TempDir d;
  auto write_file = [&](const char* name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(d.path / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  tile::Image gray{4, 3, 1, {}};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) gray.pixels.push_back(static_cast<std::uint8_t>(10 * y + x));
  tile::Image color{2, 2, 3, {}};
  for (int p = 0; p < 4; ++p) color.pixels.insert(color.pixels.end(), {3, 2, 1});  // R=3 G=2 B=1
  write_file("a.png", *tile::encode_png(gray));
  write_file("b.png", *tile::encode_png(color));
  std::ofstream((d.path / "labels.csv").string()) << "file,label\na.png,4\n\"b.png\", 7\n";
  auto ds = open_dataset("images:" + d.path.string());
  REQUIRE_MESSAGE(ds.ok(), ds.status().to_string());
  REQUIRE((*ds)->size() == 2);
  auto a = (*ds)->get(0);
  REQUIRE(a.ok());
  CHECK(a->label == 4);
  CHECK(a->image.shape() == Shape{1, 3, 4});
  CHECK(a->image.data()[2 * 4 + 3] == 23);
  auto b = (*ds)->get(1);
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  CHECK(b->label == 7);
  CHECK(b->image.shape() == Shape{3, 2, 2});
  CHECK(b->image.data()[0] == 3);  // RGB planes: R first
  CHECK(b->image.data()[4] == 2);
  CHECK(b->image.data()[8] == 1);

  auto one = open_dataset("images:" + d.path.string() + ":1");
  REQUIRE(one.ok());
  CHECK((*one)->size() == 1);

  // A JPEG (flat colour survives its quantization up to ±2), and a file that is neither.
  tile::Image flat{8, 8, 1, std::vector<std::uint8_t>(64, 90)};
  write_file("c.jpg", *tile::encode_jpeg(flat, 95));
  write_file("d.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  std::ofstream((d.path / "labels.csv").string()) << "c.jpg,2\nd.png,3\n";
  auto cd = open_dataset("images:" + d.path.string());
  REQUIRE(cd.ok());
  auto c = (*cd)->get(0);
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->image.shape() == Shape{1, 8, 8});
  CHECK(std::abs(int{c->image.data()[27]} - 90) <= 2);
  CHECK((*cd)->get(1).status().code() == StatusCode::bad_file);

  std::ofstream((d.path / "labels.csv").string()) << "a.png,4\nmissing.png,1\nb.png,x\n";
  CHECK(open_dataset("images:" + d.path.string()).status().code() == StatusCode::bad_file);
  std::ofstream((d.path / "labels.csv").string()) << "a.png,4\nmissing.png,1\n";
  auto m = open_dataset("images:" + d.path.string());
  REQUIRE(m.ok());
  CHECK((*m)->get(1).status().code() == StatusCode::io_error);
}

TEST_CASE(".npy batches") {
  TempDir d;
  std::vector<std::uint8_t> x(4 * 2 * 3);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(i);
  const std::int64_t xs[3] = {4, 2, 3};
  const std::int32_t y[4] = {3, 1, 4, 1};
  const std::int64_t ys[1] = {4};
  REQUIRE(io::write_npy_file((d.path / "x.npy").string(), TensorView::contiguous(DType::u8, xs, x.data())).ok());
  REQUIRE(io::write_npy_file((d.path / "y.npy").string(), TensorView::contiguous(DType::i32, ys, y)).ok());
  auto ds = open_dataset("npy:" + (d.path / "x.npy").string() + "," + (d.path / "y.npy").string());
  REQUIRE_MESSAGE(ds.ok(), ds.status().to_string());
  CHECK((*ds)->size() == 4);
  auto s = (*ds)->get(2);
  REQUIRE(s.ok());
  CHECK(s->label == 4);
  CHECK(s->image.shape() == Shape{1, 2, 3});
  CHECK(s->image.data()[0] == 12);
  auto nolabel = open_dataset("npy:" + (d.path / "x.npy").string() + ":3");
  REQUIRE(nolabel.ok());
  CHECK((*nolabel)->size() == 3);
  CHECK((*nolabel)->get(0)->label == -1);
  // float images and mismatched label counts are refused
  std::vector<float> xf(24);
  REQUIRE(io::write_npy_file((d.path / "xf.npy").string(), TensorView::contiguous(DType::f32, xs, xf.data())).ok());
  CHECK(open_dataset("npy:" + (d.path / "xf.npy").string()).status().code() == StatusCode::bad_file);
  const std::int64_t ys3[1] = {3};
  REQUIRE(io::write_npy_file((d.path / "y3.npy").string(), TensorView::contiguous(DType::i32, ys3, y)).ok());
  CHECK(open_dataset("npy:" + (d.path / "x.npy").string() + "," + (d.path / "y3.npy").string()).status().code() ==
        StatusCode::bad_file);
}

TEST_CASE(".npy batches: (N,H,W,C) images become (C,H,W) samples; the layout suffix settles an ambiguous shape") {
  TempDir d;
  // 2 images of 2×3 pixels, 3 channels, channels last: value 100 n + 10 p + c at pixel p = 3 h + w.
  std::vector<std::uint8_t> x(2 * 2 * 3 * 3);
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 6; ++p)
      for (int c = 0; c < 3; ++c) x[static_cast<std::size_t>((n * 6 + p) * 3 + c)] = static_cast<std::uint8_t>(100 * n + 10 * p + c);
  const std::int64_t xs[4] = {2, 2, 3, 3};
  REQUIRE(io::write_npy_file((d.path / "x.npy").string(), TensorView::contiguous(DType::u8, xs, x.data())).ok());
  const std::string path = (d.path / "x.npy").string();
  auto ds = open_dataset("npy:" + path);  // C = 3 is the last axis only (axis 1 is 2)
  REQUIRE_MESSAGE(ds.ok(), ds.status().to_string());
  auto s = (*ds)->get(1);
  REQUIRE(s.ok());
  CHECK(s->image.shape() == Shape{3, 2, 3});
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 6; ++p) CHECK(s->image.data()[c * 6 + p] == 100 + 10 * p + c);
  // An explicit :nchw that does not fit is refused, and so is a shape that fits both without a suffix.
  CHECK(open_dataset("npy:" + path + ":nchw").status().code() == StatusCode::bad_file);
  const std::int64_t amb[4] = {1, 3, 2, 3};
  REQUIRE(io::write_npy_file((d.path / "a.npy").string(), TensorView::contiguous(DType::u8, amb, x.data())).ok());
  auto ambiguous = open_dataset("npy:" + (d.path / "a.npy").string());
  CHECK(ambiguous.status().code() == StatusCode::bad_file);
  CHECK(ambiguous.status().message().find(":nchw or :nhwc") != std::string::npos);
  auto as_nchw = open_dataset("npy:" + (d.path / "a.npy").string() + ":nchw:1");
  REQUIRE_MESSAGE(as_nchw.ok(), as_nchw.status().to_string());
  CHECK((*as_nchw)->get(0)->image.shape() == Shape{3, 2, 3});
  auto as_nhwc = open_dataset("npy:" + (d.path / "a.npy").string() + ":nhwc");
  REQUIRE_MESSAGE(as_nhwc.ok(), as_nhwc.status().to_string());
  CHECK((*as_nhwc)->get(0)->image.shape() == Shape{3, 3, 2});
}
