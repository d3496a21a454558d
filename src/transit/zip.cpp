// The strict ZIP reader (transit/zip.hpp): little-endian records read with bounds checks.
#include "maeul/transit/zip.hpp"

#include <zlib.h>

#include <cstring>

namespace maeul::transit {
namespace {

constexpr std::uint32_t eocd_sig = 0x06054b50, central_sig = 0x02014b50, local_sig = 0x04034b50;

std::uint32_t u32(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) throw zip_error("the archive is truncated");
  auto b = reinterpret_cast<const unsigned char*>(s.data() + at);
  return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
}
std::uint16_t u16(std::string_view s, std::size_t at) {
  if (at + 2 > s.size()) throw zip_error("the archive is truncated");
  auto b = reinterpret_cast<const unsigned char*>(s.data() + at);
  return std::uint16_t(b[0] | b[1] << 8);
}

}  // namespace

std::vector<zip_entry> zip_entries(std::string_view a, const zip_limits& limits) {
  if (a.size() < 22) throw zip_error("not a ZIP archive (too short)");
  // The end of central directory record: the last 22 bytes, or earlier when a comment follows it
  // (at most 65535 bytes of comment).
  std::size_t eocd = std::string_view::npos;
  std::size_t lowest = a.size() > 22 + 65535 ? a.size() - 22 - 65535 : 0;
  for (std::size_t i = a.size() - 22;; --i) {
    if (u32(a, i) == eocd_sig && i + 22 + u16(a, i + 20) == a.size()) {
      eocd = i;
      break;
    }
    if (i == lowest) break;
  }
  if (eocd == std::string_view::npos) throw zip_error("not a ZIP archive (no end of central directory)");
  if (u16(a, eocd + 4) != 0 || u16(a, eocd + 6) != 0) throw zip_error("multi-disk archives are not supported");
  std::size_t count = u16(a, eocd + 10);
  std::uint64_t cd_size = u32(a, eocd + 12), cd_offset = u32(a, eocd + 16);
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff)
    throw zip_error("ZIP64 archives are not supported");
  if (count != u16(a, eocd + 8)) throw zip_error("the central directory's entry counts disagree");
  if (count > limits.max_entries)
    throw zip_error("the archive holds " + std::to_string(count) + " entries, more than " +
                    std::to_string(limits.max_entries));
  if (cd_offset + cd_size > eocd) throw zip_error("the central directory lies outside the archive");
  std::vector<zip_entry> out;
  std::uint64_t total = 0;
  std::size_t p = cd_offset;
  for (std::size_t i = 0; i < count; ++i) {
    if (p + 46 > cd_offset + cd_size || u32(a, p) != central_sig)
      throw zip_error("central directory entry " + std::to_string(i) + " is malformed");
    zip_entry e;
    e.flags = u16(a, p + 8);
    e.method = u16(a, p + 10);
    e.crc32 = u32(a, p + 16);
    e.compressed_size = u32(a, p + 20);
    e.uncompressed_size = u32(a, p + 24);
    std::size_t name_len = u16(a, p + 28), extra_len = u16(a, p + 30), comment_len = u16(a, p + 32);
    e.local_header_offset = u32(a, p + 42);
    if (p + 46 + name_len + extra_len + comment_len > cd_offset + cd_size)
      throw zip_error("central directory entry " + std::to_string(i) + " runs past the directory");
    e.name.assign(a.data() + p + 46, name_len);
    p += 46 + name_len + extra_len + comment_len;
    if (e.compressed_size == 0xffffffff || e.uncompressed_size == 0xffffffff || e.local_header_offset == 0xffffffff)
      throw zip_error("ZIP64 entries are not supported (" + e.name + ")");
    if (e.flags & 1) throw zip_error("encrypted entries are not supported (" + e.name + ")");
    if (e.method != 0 && e.method != 8)
      throw zip_error("entry " + e.name + " uses compression method " + std::to_string(e.method) +
                      "; only stored (0) and deflate (8) are supported");
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      throw zip_error("stored entry " + e.name + " declares different sizes");
    if (e.uncompressed_size > limits.max_entry_bytes)
      throw zip_error("entry " + e.name + " would unpack to " + std::to_string(e.uncompressed_size) +
                      " bytes, more than the limit of " + std::to_string(limits.max_entry_bytes));
    if (e.uncompressed_size > (1u << 20) && e.uncompressed_size > e.compressed_size * limits.max_ratio)
      throw zip_error("entry " + e.name + " has a compression ratio above " + std::to_string(limits.max_ratio) +
                      " (a zip bomb?)");
    total += e.uncompressed_size;
    if (total > limits.max_total_bytes)
      throw zip_error("the archive would unpack to more than " + std::to_string(limits.max_total_bytes) + " bytes");
    if (e.local_header_offset + 30 + e.compressed_size > cd_offset)
      throw zip_error("entry " + e.name + " lies outside the archive's data");
    out.push_back(std::move(e));
  }
  return out;
}

std::string zip_read(std::string_view a, const zip_entry& e, const zip_limits& limits) {
  std::size_t p = e.local_header_offset;
  if (u32(a, p) != local_sig) throw zip_error("entry " + e.name + " has no local header");
  if (u16(a, p + 8) != e.method) throw zip_error("entry " + e.name + "'s local header disagrees on the method");
  std::size_t name_len = u16(a, p + 26), extra_len = u16(a, p + 28);
  if (std::string_view(a.data() + std::min(a.size(), p + 30), std::min(a.size() - std::min(a.size(), p + 30), name_len)) != e.name)
    throw zip_error("entry " + e.name + "'s local header names another file");
  std::size_t data = p + 30 + name_len + extra_len;
  if (data + e.compressed_size > a.size()) throw zip_error("entry " + e.name + " is truncated");
  std::string_view in(a.data() + data, e.compressed_size);
  std::uint64_t cap = std::min(e.uncompressed_size, limits.max_entry_bytes);
  std::string out;
  if (e.method == 0) {
    out.assign(in);
  } else {
    out.resize(cap);
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw zip_error("cannot start the inflater");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = uInt(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(cap);
    int rc = inflate(&zs, Z_FINISH);
    std::uint64_t produced = zs.total_out;
    // Output that fills the cap with input left, or a stream not ended there, is more than declared.
    bool more = false;
    if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_out == 0)) {
      unsigned char probe[1];
      zs.next_out = probe;
      zs.avail_out = 1;
      int rc2 = inflate(&zs, Z_FINISH);
      more = zs.avail_out == 0;
      if (!more && rc2 == Z_STREAM_END) rc = Z_STREAM_END;
    }
    inflateEnd(&zs);
    if (more) throw zip_error("entry " + e.name + " inflates to more than its declared " + std::to_string(cap) + " bytes");
    if (rc != Z_STREAM_END) throw zip_error("entry " + e.name + " is not valid deflate data");
    if (produced != e.uncompressed_size)
      throw zip_error("entry " + e.name + " inflates to " + std::to_string(produced) + " bytes, not the declared " +
                      std::to_string(e.uncompressed_size));
  }
  auto crc = ::crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size()));
  if (crc != e.crc32) throw zip_error("entry " + e.name + " fails its CRC-32 check");
  return out;
}

}  // namespace maeul::transit
