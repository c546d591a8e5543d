// IDX reader (runtime/idx.hpp). Layout: 2 zero bytes, a type byte (0x08 = u8), a rank byte, then
// one big-endian u32 per dim, then the data in C order.
#include "runtime/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <new>
#include <optional>

namespace ftc::runtime {
namespace {

// Reads up to n bytes into dst; returns how many (0 at the end of the data), or an error.
using ReadFn = std::function<Result<std::size_t>(std::uint8_t* dst, std::size_t n)>;

Result<bool> read_exact(const ReadFn& read, std::uint8_t* dst, std::size_t n) {
  while (n > 0) {
    FTC_ASSIGN_OR_RETURN(std::size_t got, read(dst, n));
    if (got == 0) return false;
    dst += got;
    n -= got;
  }
  return true;
}

// `plain_size`: the bytes the source holds, when known before reading (an uncompressed file).
Result<IdxArray> read_idx_from(const ReadFn& read, std::optional<std::uint64_t> plain_size, const std::string& name,
                               std::uint64_t max_items) {
  std::uint8_t magic[4];
  FTC_ASSIGN_OR_RETURN(bool ok, read_exact(read, magic, 4));
  if (!ok) return Status(StatusCode::bad_file, name + ": truncated IDX header (or not gzip/IDX)");
  if (magic[0] != 0 || magic[1] != 0) return Status(StatusCode::bad_file, name + ": not an IDX file (bad magic)");
  if (magic[2] != 0x08)
    return Status(StatusCode::bad_file, name + ": IDX element type code " + std::to_string(magic[2]) + " unsupported (only 8 = unsigned byte)");
  const int rank = magic[3];
  if (rank < 1 || rank > kMaxRank) return Status(StatusCode::bad_file, name + ": IDX rank " + std::to_string(rank) + " unsupported");
  IdxArray a;
  std::uint64_t total = 1;  // bytes of the part kept
  for (int i = 0; i < rank; ++i) {
    std::uint8_t b[4];
    FTC_ASSIGN_OR_RETURN(bool got, read_exact(read, b, 4));
    if (!got) return Status(StatusCode::bad_file, name + ": truncated IDX header");
    std::uint32_t d = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
    if (i == 0 && max_items > 0 && d > max_items) d = static_cast<std::uint32_t>(max_items);
    a.dims.push_back(d);
    total *= d;  // total ≤ 2^32 before, d < 2^32: no wrap
    if (total > kMaxIdxBytes)
      return Status(StatusCode::limit_exceeded, name + ": IDX array of over " + std::to_string(kMaxIdxBytes) + " bytes");
  }
  const std::uint64_t header = 4 + 4 * static_cast<std::uint64_t>(rank);
  if (plain_size && (*plain_size < header || *plain_size - header < total))
    return Status(StatusCode::bad_file, name + ": IDX data shorter than its header declares (" +
                                            std::to_string(*plain_size - std::min(*plain_size, header)) + " of " +
                                            std::to_string(total) + " bytes)");
  // Grow as the data arrives: at most twice what the source really holds (plus one chunk).
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::size_t filled = 0;
  try {
    while (filled < total) {
      const std::size_t next = static_cast<std::size_t>(std::min<std::uint64_t>(total, std::max(2 * filled, filled + kChunk)));
      a.data.resize(next);
      FTC_ASSIGN_OR_RETURN(bool got, read_exact(read, a.data.data() + filled, next - filled));
      if (!got)
        return Status(StatusCode::bad_file, name + ": IDX data shorter than its header declares (" +
                                                std::to_string(total) + " bytes)");
      filled = next;
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::out_of_memory, name + ": out of memory for " + std::to_string(total) + " bytes of IDX data");
  }
  return a;
}

struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

struct Inflater {
  z_stream z{};
  bool live = false;
  ~Inflater() {
    if (live) inflateEnd(&z);
  }
};

}  // namespace

Result<IdxArray> read_idx_file(const std::string& path, std::uint64_t max_items) {
  GzFile g;
  g.f = gzopen(path.c_str(), "rb");
  if (!g.f) return Status(StatusCode::io_error, path + ": cannot open");
  gzbuffer(g.f, 1 << 18);
  // gzdirect is known only after the first read; the size of a plain regular file bounds the data.
  std::optional<std::uint64_t> plain_size;
  bool probed = false;
  const ReadFn read = [&](std::uint8_t* dst, std::size_t n) -> Result<std::size_t> {
    const unsigned chunk = n > (1u << 30) ? (1u << 30) : static_cast<unsigned>(n);
    const int got = gzread(g.f, dst, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(g.f, &err);
      return Status(StatusCode::bad_file, path + ": " + (msg ? msg : "gzip read error"));
    }
    if (!probed && got > 0) {
      probed = true;
      std::error_code ec;
      if (gzdirect(g.f) && std::filesystem::is_regular_file(path, ec))
        if (auto size = std::filesystem::file_size(path, ec); !ec) plain_size = size;
    }
    return static_cast<std::size_t>(got);
  };
  // One byte is read first, which tells gzdirect and so sets plain_size before the size check.
  std::uint8_t first[1];
  FTC_ASSIGN_OR_RETURN(std::size_t got, read(first, 1));
  bool consumed = got == 1;
  const ReadFn rest = [&](std::uint8_t* dst, std::size_t n) -> Result<std::size_t> {
    if (consumed && n > 0) {
      consumed = false;
      dst[0] = first[0];
      return std::size_t{1};
    }
    return read(dst, n);
  };
  return read_idx_from(rest, plain_size, path, max_items);
}

Result<IdxArray> read_idx(std::span<const std::uint8_t> bytes, const std::string& name, std::uint64_t max_items) {
  if (bytes.size() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b) {
    std::size_t at = 0;
    const ReadFn read = [&](std::uint8_t* dst, std::size_t n) -> Result<std::size_t> {
      const std::size_t k = std::min(n, bytes.size() - at);
      std::copy_n(bytes.data() + at, k, dst);
      at += k;
      return k;
    };
    return read_idx_from(read, bytes.size(), name, max_items);
  }
  Inflater inf;
  if (inflateInit2(&inf.z, 16 + MAX_WBITS) != Z_OK) return Status(StatusCode::internal, name + ": zlib inflateInit2 failed");
  inf.live = true;
  inf.z.next_in = const_cast<Bytef*>(bytes.data());
  bool ended = false;
  std::size_t left = bytes.size();
  // Inflates until it produces something, the stream ends, or no input is left (a truncated
  // stream reads as ended: the caller reports the missing bytes).
  const ReadFn read = [&](std::uint8_t* dst, std::size_t n) -> Result<std::size_t> {
    inf.z.next_out = dst;
    inf.z.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    const uInt out_before = inf.z.avail_out;
    while (!ended && inf.z.avail_out == out_before) {
      const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
      inf.z.avail_in = in_chunk;
      const int rc = inflate(&inf.z, Z_NO_FLUSH);
      const uInt used = in_chunk - inf.z.avail_in;
      left -= used;
      if (rc == Z_STREAM_END) ended = true;
      else if (rc == Z_BUF_ERROR || (rc == Z_OK && used == 0 && inf.z.avail_out == out_before)) ended = true;
      else if (rc != Z_OK) return Status(StatusCode::bad_file, name + ": corrupt gzip data");
    }
    return static_cast<std::size_t>(out_before - inf.z.avail_out);
  };
  return read_idx_from(read, std::nullopt, name, max_items);
}

}  // namespace ftc::runtime
