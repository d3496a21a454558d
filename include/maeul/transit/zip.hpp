// A small, strict reader of ZIP archives held in memory (a GTFS feed): the end of central
// directory, the central directory's entries, each entry's local header, and its data stored or
// deflated (raw inflate through zlib). Pure: no file or network I/O.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace maeul::transit {

// A malformed archive, an unsupported feature (ZIP64, encryption, a method other than stored or
// deflate), a CRC mismatch, or a limit exceeded. what() is a sentence fit for an API answer.
struct zip_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Limits checked against the declared sizes before anything is unpacked, and again while inflating
// (the inflater stops at the cap whatever the headers say).
struct zip_limits {
  std::uint64_t max_entry_bytes = 64ull << 20;   // one entry, uncompressed
  std::uint64_t max_total_bytes = 256ull << 20;  // all entries, uncompressed
  std::uint64_t max_ratio = 200;                 // uncompressed / compressed, per entry over 1 MiB
  std::size_t max_entries = 1000;
};

struct zip_entry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

// The entries of the central directory, checked against `limits` (count, declared sizes, total,
// ratio) and the archive's bounds. Throws zip_error.
std::vector<zip_entry> zip_entries(std::string_view archive, const zip_limits& limits = {});

// The uncompressed bytes of one entry: its local header checked against the central directory,
// inflated with the output capped at the declared size (more output is an error), CRC-32 checked.
// Throws zip_error.
std::string zip_read(std::string_view archive, const zip_entry& entry, const zip_limits& limits = {});

}  // namespace maeul::transit
