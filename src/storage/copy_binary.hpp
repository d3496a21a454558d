// PostgreSQL's binary COPY format (the "PGCOPY" stream of COPY ... FROM STDIN (FORMAT binary)):
// pure encoding into a byte string, no I/O. Contract: append_header once, then per row
// append_row_start(columns) followed by exactly that many fields, then append_trailer once.
// Integers and floats are big-endian; timestamptz is microseconds since 2000-01-01 00:00:00 UTC
// (integer datetimes, the only kind PostgreSQL 10+ builds).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace maeul::storage::copy_binary {

// Seconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
inline constexpr std::int64_t pg_epoch_offset_us = 946684800LL * 1000000LL;

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
  char b[8];
  for (int i = bytes - 1; i >= 0; --i) {
    b[i] = char(v & 0xff);
    v >>= 8;
  }
  out.append(b, std::size_t(bytes));
}

// Signature, flags (no OIDs), header extension length 0.
inline void append_header(std::string& out) {
  static const char sig[] = "PGCOPY\n\377\r\n";  // 11 bytes with the terminating NUL
  out.append(sig, 11);
  put_be(out, 0, 4);
  put_be(out, 0, 4);
}

inline void append_trailer(std::string& out) { put_be(out, 0xffff, 2); }

inline void append_row_start(std::string& out, int columns) { put_be(out, std::uint16_t(columns), 2); }

inline void append_int2(std::string& out, std::int16_t v) {
  put_be(out, 2, 4);
  put_be(out, std::uint16_t(v), 2);
}

inline void append_int4(std::string& out, std::int32_t v) {
  put_be(out, 4, 4);
  put_be(out, std::uint32_t(v), 4);
}

inline void append_int8(std::string& out, std::int64_t v) {
  put_be(out, 8, 4);
  put_be(out, std::uint64_t(v), 8);
}

inline void append_float8(std::string& out, double v) {
  put_be(out, 8, 4);
  put_be(out, std::bit_cast<std::uint64_t>(v), 8);
}

// A Unix time in microseconds as timestamptz.
inline void append_timestamptz(std::string& out, std::int64_t unix_us) {
  append_int8(out, unix_us - pg_epoch_offset_us);
}

}  // namespace maeul::storage::copy_binary
