// .npz writer (codec/io/npz.hpp). Layout (APPNOTE 4.3.6): for each member a local file header
// (30 bytes + name) and its data; then one central directory header (46 bytes + name) per member
// and the end of central directory record (22 bytes). Method 0 (stored); CRC-32 is the
// reflected polynomial 0xEDB88320 over the member's bytes. Every field little-endian.
#include "codec/io/npz.hpp"

#include <array>
#include <set>

#include "codec/io/npy.hpp"

namespace ftc::io {
namespace {

std::uint32_t crc32(const std::vector<std::uint8_t>& bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : bytes) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

// The fields a local and a central header share, from "version needed" to "extra length".
void common_fields(std::vector<std::uint8_t>& out, std::uint32_t crc, std::uint32_t size, std::size_t name_len) {
  put16(out, 20);          // version needed to extract: 2.0
  put16(out, 0);           // flags
  put16(out, 0);           // method: stored
  put16(out, 0);           // time 00:00:00
  put16(out, 0x21);        // date 1980-01-01
  put32(out, crc);
  put32(out, size);        // compressed size
  put32(out, size);        // uncompressed size
  put16(out, static_cast<std::uint32_t>(name_len));
  put16(out, 0);           // extra field length
}

}  // namespace

Result<std::vector<std::uint8_t>> write_npz(const std::vector<std::pair<std::string, TensorView>>& members) {
  constexpr std::uint64_t kMax = 0xFFFFFFFFu;
  std::set<std::string> seen;
  std::vector<std::uint8_t> out, central;
  for (const auto& [key, view] : members) {
    if (key.empty() || key.size() > 251 || key.find_first_of("/\\") != std::string::npos || !seen.insert(key).second)
      return Status{StatusCode::invalid_argument, "npz: member name '" + key + "' is empty, too long, repeated or has a slash"};
    const std::string name = key + ".npy";
    FTC_RETURN_IF_ERROR(view.validate());
    const std::vector<std::uint8_t> npy = write_npy(view);
    if (npy.empty()) return Status{StatusCode::invalid_argument, "npz: member '" + key + "' is not a valid tensor"};
    const std::uint64_t offset = out.size();
    if (offset + 30 + name.size() + npy.size() > kMax)
      return Status{StatusCode::limit_exceeded, "npz: archive over 4 GiB (no ZIP64)"};
    const std::uint32_t crc = crc32(npy), size = static_cast<std::uint32_t>(npy.size());
    put32(out, 0x04034b50);  // local file header
    common_fields(out, crc, size, name.size());
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), npy.begin(), npy.end());
    put32(central, 0x02014b50);  // central directory header
    put16(central, 20);          // version made by: 2.0, MS-DOS attributes
    common_fields(central, crc, size, name.size());
    put16(central, 0);           // comment length
    put16(central, 0);           // disk number
    put16(central, 0);           // internal attributes
    put32(central, 0);           // external attributes
    put32(central, static_cast<std::uint32_t>(offset));
    central.insert(central.end(), name.begin(), name.end());
  }
  if (members.size() > 0xFFFF || out.size() + central.size() + 22 > kMax)
    return Status{StatusCode::limit_exceeded, "npz: archive over 4 GiB or 65535 members (no ZIP64)"};
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  put32(out, 0x06054b50);  // end of central directory
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(members.size()));
  put16(out, static_cast<std::uint32_t>(members.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);           // comment length
  return out;
}

}  // namespace ftc::io
