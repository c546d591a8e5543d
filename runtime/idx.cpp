// IDX reader (runtime/idx.hpp). Layout: 2 zero bytes, a type byte (0x08 = u8), a rank byte, then
// one big-endian u32 per dim, then the data in C order.
#include "runtime/idx.hpp"

#include <zlib.h>

namespace ftc::runtime {
namespace {

struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

bool read_exact(gzFile f, void* dst, std::size_t n) {
  auto* p = static_cast<std::uint8_t*>(dst);
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : static_cast<unsigned>(n);
    int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

Result<IdxArray> read_idx_file(const std::string& path, std::uint64_t max_items) {
  GzFile g;
  g.f = gzopen(path.c_str(), "rb");
  if (!g.f) return Status(StatusCode::io_error, path + ": cannot open");
  gzbuffer(g.f, 1 << 18);
  std::uint8_t magic[4];
  if (!read_exact(g.f, magic, 4)) return Status(StatusCode::bad_file, path + ": truncated IDX header (or not gzip/IDX)");
  if (magic[0] != 0 || magic[1] != 0) return Status(StatusCode::bad_file, path + ": not an IDX file (bad magic)");
  if (magic[2] != 0x08)
    return Status(StatusCode::bad_file, path + ": IDX element type code " + std::to_string(magic[2]) + " unsupported (only 8 = unsigned byte)");
  const int rank = magic[3];
  if (rank < 1 || rank > kMaxRank) return Status(StatusCode::bad_file, path + ": IDX rank " + std::to_string(rank) + " unsupported");
  IdxArray a;
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    std::uint8_t b[4];
    if (!read_exact(g.f, b, 4)) return Status(StatusCode::bad_file, path + ": truncated IDX header");
    std::uint32_t d = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
    if (i == 0 && max_items > 0 && d > max_items) d = static_cast<std::uint32_t>(max_items);
    a.dims.push_back(d);
    total *= d;
    if (total > (std::uint64_t{1} << 34)) return Status(StatusCode::limit_exceeded, path + ": IDX array over 16 GiB");
  }
  a.data.resize(total);
  if (!read_exact(g.f, a.data.data(), a.data.size()))
    return Status(StatusCode::bad_file, path + ": IDX data shorter than its header declares");
  return a;
}

}  // namespace ftc::runtime
