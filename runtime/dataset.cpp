// Labelled image data sets (runtime/dataset.hpp).
#include "runtime/dataset.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string_view>


#include "codec/io/npy.hpp"
#include "runtime/mosaic.hpp"
#include "runtime/idx.hpp"

namespace ftc::runtime {
namespace {

constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

Status bad_spec(const std::string& spec, const std::string& why) {
  return {StatusCode::invalid_argument,
          "data set '" + spec + "': " + why +
              " (expected fashion-mnist:test|train[:N], images:DIR[:N], npy:X.npy[,Y.npy][:nchw|:nhwc][:N])"};
}

std::optional<std::uint64_t> parse_count(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

// Splits "BODY[:N]" into BODY and N (0: all), where only an all-digit suffix counts as N.
std::pair<std::string, std::uint64_t> split_limit(const std::string& body) {
  auto p = body.rfind(':');
  if (p != std::string::npos)
    if (auto n = parse_count(std::string_view(body).substr(p + 1))) return {body.substr(0, p), *n};
  return {body, 0};
}

// --------------------------------------------------------------------------- Fashion-MNIST (IDX)

class IdxDataset final : public Dataset {
 public:
  IdxDataset(std::string name, IdxArray images, IdxArray labels)
      : name_(std::move(name)), images_(std::move(images)), labels_(std::move(labels)) {}
  std::size_t size() const override { return images_.dims[0]; }
  std::string name() const override { return name_; }
  std::int32_t label(std::size_t i) const override { return i < size() ? labels_.data[i] : -1; }
  Result<Sample> get(std::size_t i) const override {
    if (i >= size()) return Status(StatusCode::invalid_argument, name_ + ": index " + std::to_string(i) + " out of range");
    const std::int64_t h = images_.dims[1], w = images_.dims[2];
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::u8, Shape{1, h, w}));
    std::memcpy(t.data(), images_.data.data() + i * static_cast<std::size_t>(h * w), static_cast<std::size_t>(h * w));
    return Sample{std::move(t), static_cast<std::int32_t>(labels_.data[i])};
  }

 private:
  std::string name_;
  IdxArray images_, labels_;
};

Result<std::unique_ptr<Dataset>> open_fashion_mnist(const std::string& spec, const std::string& rest,
                                                    const std::string& dir_arg) {
  auto [split, limit] = split_limit(rest);
  if (split == "t10k") split = "test";
  if (split != "test" && split != "train") return bad_spec(spec, "unknown split '" + split + "'");
  std::string dir = dir_arg;
  if (dir.empty())
    if (const char* env = std::getenv("FTC_FASHION_MNIST_DIR"); env && *env) dir = env;
  if (dir.empty()) dir = kDefaultFashionMnistDir;
  const std::string stem = dir + "/" + (split == "test" ? "t10k" : "train");
  auto pick = [](const std::string& base) {
    return std::filesystem::exists(base + ".gz") || !std::filesystem::exists(base) ? base + ".gz" : base;
  };
  const std::string ipath = pick(stem + "-images-idx3-ubyte"), lpath = pick(stem + "-labels-idx1-ubyte");
  if (!std::filesystem::exists(ipath))
    return Status(StatusCode::io_error, ipath + ": not found (install Debian's dataset-fashion-mnist, or set "
                                                "FTC_FASHION_MNIST_DIR)");
  FTC_ASSIGN_OR_RETURN(IdxArray images, read_idx_file(ipath, limit));
  FTC_ASSIGN_OR_RETURN(IdxArray labels, read_idx_file(lpath, limit));
  if (images.dims.size() != 3) return Status(StatusCode::bad_file, ipath + ": expected a 3-D IDX array of images");
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    return Status(StatusCode::bad_file, lpath + ": label count does not match " + ipath);
  for (auto l : labels.data)
    if (l > 9) return Status(StatusCode::bad_file, lpath + ": label " + std::to_string(l) + " outside 0..9");
  std::string name = "fashion-mnist:" + split + (limit ? ":" + std::to_string(images.dims[0]) : std::string());
  return std::unique_ptr<Dataset>(new IdxDataset(std::move(name), std::move(images), std::move(labels)));
}

// --------------------------------------------------------------------------- image folder

// Images of a data set are model inputs: 16 Mpixel (48 MiB as RGB) is far beyond any of them.
constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t{1} << 28;
constexpr std::uint64_t kMaxLabelsCsvBytes = std::uint64_t{1} << 30;

// The contents of a regular file of at most `max_bytes` (a device, a FIFO or a larger file is
// refused before reading).
Result<std::vector<std::uint8_t>> read_regular_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status(StatusCode::io_error, path + ": not a regular file");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status(StatusCode::io_error, path + ": " + ec.message());
  if (size > max_bytes)
    return Status(StatusCode::limit_exceeded, path + ": " + std::to_string(size) + " bytes, over the limit of " +
                                                  std::to_string(max_bytes));
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::io_error, path + ": cannot open");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(f.gcount()) != size) return Status(StatusCode::io_error, path + ": read failed");
  return bytes;
}

class ImageFolderDataset final : public Dataset {
 public:
  ImageFolderDataset(std::string name, std::string dir, std::vector<std::pair<std::string, std::int32_t>> items)
      : name_(std::move(name)), dir_(std::move(dir)), items_(std::move(items)) {}
  std::size_t size() const override { return items_.size(); }
  std::string name() const override { return name_; }
  std::int32_t label(std::size_t i) const override { return i < size() ? items_[i].second : -1; }
  Result<Sample> get(std::size_t i) const override {
    if (i >= size()) return Status(StatusCode::invalid_argument, name_ + ": index " + std::to_string(i) + " out of range");
    const std::string path = dir_ + "/" + items_[i].first;
    if (!std::filesystem::exists(path)) return Status(StatusCode::io_error, path + ": not found");
    // PNG and JPEG through the codec's own libpng/libjpeg decoders (gray stays one channel,
    // colour becomes RGB, alpha is dropped). Not OpenCV's imgcodecs: it drags in ~120 shared
    // libraries (GDAL, GDCM, OpenEXR, ...) whose loading cost every ftc process ~0.13 s.
    FTC_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, read_regular_file(path, kMaxImageFileBytes));
    Result<tile::Image> decoded = Status(StatusCode::bad_file, path + ": not a PNG or JPEG image");
    // Deflate expands at most 1032:1 and a 1-bit PNG row holds 8 pixels per byte, so a PNG of
    // `size` bytes holds at most 8 · 1032 · size pixels: a larger declared size is a lie, refused
    // before allocating. JPEG has no such bound (progressive end-of-band runs): the cap only.
    if (tile::is_png(bytes))
      decoded = tile::decode_png(bytes, 0, std::min<std::uint64_t>(kMaxImagePixels, 8 * 1032 * std::uint64_t{bytes.size()}));
    else if (tile::is_jpeg(bytes))
      decoded = tile::decode_jpeg(bytes, 0, kMaxImagePixels);
    if (!decoded.ok()) return Status(StatusCode::bad_file, path + ": " + decoded.status().message());
    FTC_ASSIGN_OR_RETURN(Tensor t, tile::to_planar(*decoded));
    return Sample{std::move(t), items_[i].second};
  }

 private:
  std::string name_, dir_;
  std::vector<std::pair<std::string, std::int32_t>> items_;
};

std::string trim(std::string s) {
  const char* ws = " \t\r\n\"";
  s.erase(0, s.find_first_not_of(ws));
  auto e = s.find_last_not_of(ws);
  s.erase(e == std::string::npos ? 0 : e + 1);
  return s;
}

Result<std::unique_ptr<Dataset>> open_image_folder(const std::string& spec, const std::string& rest) {
  auto [dir, limit] = split_limit(rest);
  if (dir.empty()) return bad_spec(spec, "no directory");
  const std::string csv = dir + "/labels.csv";
  {
    std::error_code ec;
    if (std::filesystem::exists(csv, ec) && !std::filesystem::is_regular_file(csv, ec))
      return Status(StatusCode::io_error, csv + ": not a regular file");
    if (std::filesystem::exists(csv, ec) && std::filesystem::file_size(csv, ec) > kMaxLabelsCsvBytes)
      return Status(StatusCode::limit_exceeded, csv + ": over the limit of " + std::to_string(kMaxLabelsCsvBytes) + " bytes");
  }
  std::ifstream f(csv);
  if (!f) return Status(StatusCode::io_error, csv + ": cannot open (an image folder needs labels.csv: file,label)");
  std::vector<std::pair<std::string, std::int32_t>> items;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (trim(line).empty() || line[0] == '#') continue;
    auto comma = line.rfind(',');
    if (comma == std::string::npos) return Status(StatusCode::bad_file, csv + ":" + std::to_string(lineno) + ": expected file,label");
    std::string file = trim(line.substr(0, comma)), label = trim(line.substr(comma + 1));
    std::int32_t v = 0;
    auto r = std::from_chars(label.data(), label.data() + label.size(), v);
    if (label.empty() || r.ec != std::errc() || r.ptr != label.data() + label.size()) {
      if (items.empty() && lineno == 1) continue;  // a header row
      return Status(StatusCode::bad_file, csv + ":" + std::to_string(lineno) + ": label '" + label + "' is not an integer");
    }
    if (v < 0) return Status(StatusCode::bad_file, csv + ":" + std::to_string(lineno) + ": label " + std::to_string(v) + " is negative");
    items.emplace_back(file, v);
    if (limit && items.size() == limit) break;
  }
  if (items.empty()) return Status(StatusCode::bad_file, csv + ": no entries");
  return std::unique_ptr<Dataset>(new ImageFolderDataset("images:" + dir, dir, std::move(items)));
}

// --------------------------------------------------------------------------- .npy batches

// Images (N, H, W), (N, C, H, W) or, channels last, (N, H, W, C); samples are (C, H, W).
class NpyDataset final : public Dataset {
 public:
  NpyDataset(std::string name, Tensor x, bool channels_last, std::vector<std::int32_t> y, std::size_t n)
      : name_(std::move(name)), x_(std::move(x)), channels_last_(channels_last), y_(std::move(y)), n_(n) {}
  std::size_t size() const override { return n_; }
  std::string name() const override { return name_; }
  std::int32_t label(std::size_t i) const override { return i < size() && !y_.empty() ? y_[i] : -1; }
  Result<Sample> get(std::size_t i) const override {
    if (i >= size()) return Status(StatusCode::invalid_argument, name_ + ": index " + std::to_string(i) + " out of range");
    Shape s(x_.shape().begin() + 1, x_.shape().end());
    if (s.size() == 2) s.insert(s.begin(), 1);
    if (channels_last_) s = {s[2], s[0], s[1]};
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::u8, s));
    const std::uint8_t* src = x_.data() + i * t.byte_size();
    if (!channels_last_) {
      std::memcpy(t.data(), src, t.byte_size());
    } else {  // (H, W, C) → (C, H, W)
      const std::size_t c = static_cast<std::size_t>(s[0]), hw = static_cast<std::size_t>(s[1] * s[2]);
      for (std::size_t p = 0; p < hw; ++p)
        for (std::size_t k = 0; k < c; ++k) t.data()[k * hw + p] = src[p * c + k];
    }
    return Sample{std::move(t), y_.empty() ? -1 : y_[i]};
  }

 private:
  std::string name_;
  Tensor x_;
  bool channels_last_;
  std::vector<std::int32_t> y_;
  std::size_t n_;
};

// Whether rank-4 images (N, A, B, C) are channels last: by the spec's layout word, else by the
// shape when only one of A and C can be a channel count (1 or 3).
Result<bool> images_channels_last(const Tensor& x, const std::string& xpath, const std::string& layout) {
  if (x.rank() != 4) return false;
  const auto is_channels = [](std::int64_t d) { return d == 1 || d == 3; };
  const bool first = is_channels(x.shape()[1]), last = is_channels(x.shape()[3]);
  if (layout == "nchw" || layout == "nhwc") {
    const bool channels_last = layout == "nhwc";
    if (!(channels_last ? last : first))
      return Status(StatusCode::bad_file, xpath + ": expected C = 1 or 3 in " + (channels_last ? "(N,H,W,C)" : "(N,C,H,W)"));
    return channels_last;
  }
  if (first && last)
    return Status(StatusCode::bad_file, xpath + ": (N,C,H,W) or (N,H,W,C) images? The shape fits both: add :nchw or :nhwc to the data spec");
  if (!first && !last)
    return Status(StatusCode::bad_file, xpath + ": expected C = 1 or 3 in (N,C,H,W) or (N,H,W,C)");
  return last;
}

Result<std::unique_ptr<Dataset>> open_npy(const std::string& spec, const std::string& rest) {
  auto [files, limit] = split_limit(rest);
  std::string layout;  // "npy:X.npy,Y.npy:nhwc[:N]"
  for (const char* word : {":nchw", ":nhwc"})
    if (files.ends_with(word)) {
      layout = word + 1;
      files.resize(files.size() - 5);
    }
  auto comma = files.find(',');
  std::string xpath = files.substr(0, comma), ypath = comma == std::string::npos ? "" : files.substr(comma + 1);
  if (xpath.empty()) return bad_spec(spec, "no .npy file");
  FTC_ASSIGN_OR_RETURN(Tensor x, io::read_npy_file(xpath));
  if (x.dtype() != DType::u8) return Status(StatusCode::bad_file, xpath + ": images must be uint8, not " + std::string(dtype_name(x.dtype())));
  if (x.rank() != 3 && x.rank() != 4)
    return Status(StatusCode::bad_file, xpath + ": expected (N,H,W), (N,C,H,W) or (N,H,W,C) images, got rank " + std::to_string(x.rank()));
  FTC_ASSIGN_OR_RETURN(const bool channels_last, images_channels_last(x, xpath, layout));
  std::size_t n = static_cast<std::size_t>(x.shape()[0]);
  std::vector<std::int32_t> labels;
  if (!ypath.empty()) {
    // Any integer dtype: NumPy's default int64 included.
    FTC_ASSIGN_OR_RETURN(io::IntegerArray y, io::read_npy_integers_file(ypath));
    if (y.shape.size() != 1 || static_cast<std::size_t>(y.shape[0]) != n)
      return Status(StatusCode::bad_file, ypath + ": expected (N,) labels with N = " + std::to_string(n));
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t v = y.values[i];
      if (v < 0) return Status(StatusCode::bad_file, ypath + ": label " + std::to_string(v) + " at index " + std::to_string(i) + " is negative");
      if (v > std::numeric_limits<std::int32_t>::max())
        return Status(StatusCode::bad_file, ypath + ": label " + std::to_string(v) + " at index " + std::to_string(i) + " is out of range");
      labels.push_back(static_cast<std::int32_t>(v));
    }
  }
  if (limit && limit < n) n = static_cast<std::size_t>(limit);
  return std::unique_ptr<Dataset>(new NpyDataset("npy:" + files, std::move(x), channels_last, std::move(labels), n));
}

}  // namespace

Result<std::unique_ptr<Dataset>> open_dataset(const std::string& spec, const std::string& fashion_mnist_dir) {
  auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "fashion-mnist" || kind == "fmnist") return open_fashion_mnist(spec, rest.empty() ? "test" : rest, fashion_mnist_dir);
  if (kind == "images") return open_image_folder(spec, rest);
  if (kind == "npy") return open_npy(spec, rest);
  return bad_spec(spec, "unknown kind '" + kind + "'");
}

}  // namespace ftc::runtime
