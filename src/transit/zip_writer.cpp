// ZIP archives of stored entries (include/maeul/transit/zip_writer.hpp).
#include "maeul/transit/zip_writer.hpp"

#include <cstdint>
#include <stdexcept>

#include <zlib.h>

namespace maeul::transit {
namespace {

void put16(std::string& out, std::uint32_t v) {
  out += char(v & 0xff);
  out += char((v >> 8) & 0xff);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

}  // namespace

std::string zip_store(const std::vector<zip_file>& files, const std::string& comment) {
  if (comment.size() > 0xffff) throw std::length_error("ZIP comment too long");
  // Without ZIP64 the counts are 16-bit and the sizes and offsets 32-bit (0xffffffff would mean
  // "see ZIP64", so it is refused too).
  if (files.size() > 0xffff) throw std::length_error("too many files for a ZIP archive without ZIP64");
  constexpr std::uint64_t max32 = 0xffffffffu;
  std::string out, central;
  const std::uint32_t dos_date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
  for (const auto& f : files) {
    if (f.data.size() >= max32 || f.name.size() > 0xffff || out.size() >= max32 ||
        std::uint64_t(out.size()) + 30 + f.name.size() + f.data.size() >= max32)
      throw std::length_error("file too large for a ZIP archive without ZIP64");
    const auto crc = std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(f.data.data()), uInt(f.data.size())));
    const auto size = std::uint32_t(f.data.size());
    const auto offset = std::uint32_t(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);         // version needed
    put16(out, 0x0800);     // flags: UTF-8 names
    put16(out, 0);          // stored
    put16(out, 0);          // time
    put16(out, dos_date);
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, std::uint32_t(f.name.size()));
    put16(out, 0);          // extra
    out += f.name;
    out += f.data;
    put32(central, 0x02014b50);
    put16(central, 20);     // made by
    put16(central, 20);
    put16(central, 0x0800);
    put16(central, 0);
    put16(central, 0);
    put16(central, dos_date);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, std::uint32_t(f.name.size()));
    put16(central, 0);      // extra
    put16(central, 0);      // comment
    put16(central, 0);      // disk
    put16(central, 0);      // internal attributes
    put32(central, 0);      // external attributes
    put32(central, offset);
    central += f.name;
  }
  if (std::uint64_t(out.size()) >= max32 || std::uint64_t(central.size()) >= max32 ||
      std::uint64_t(out.size()) + central.size() >= max32)
    throw std::length_error("archive too large for a ZIP archive without ZIP64");
  const auto cd_offset = std::uint32_t(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, std::uint32_t(files.size()));
  put16(out, std::uint32_t(files.size()));
  put32(out, std::uint32_t(central.size()));
  put32(out, cd_offset);
  put16(out, std::uint32_t(comment.size()));
  out += comment;
  return out;
}

}  // namespace maeul::transit
