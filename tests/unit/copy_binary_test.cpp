// The binary COPY encoder (src/storage/copy_binary.hpp): byte for byte against PostgreSQL's
// documented format; the database tests check that the server accepts it.
#include <gtest/gtest.h>

#include <string>

#include "storage/copy_binary.hpp"

namespace cb = maeul::storage::copy_binary;

namespace {
std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s.push_back(char(c));
  return s;
}
}  // namespace

TEST(CopyBinary, HeaderAndTrailer) {
  std::string out;
  cb::append_header(out);
  EXPECT_EQ(out, std::string("PGCOPY\n\xff\r\n\0", 11) + bytes({0, 0, 0, 0, 0, 0, 0, 0}));
  out.clear();
  cb::append_trailer(out);
  EXPECT_EQ(out, bytes({0xff, 0xff}));
}

TEST(CopyBinary, IntegersAreBigEndianWithTheirLength) {
  std::string out;
  cb::append_row_start(out, 5);
  cb::append_int2(out, -2);
  cb::append_int4(out, 0x01020304);
  cb::append_int8(out, -1);
  EXPECT_EQ(out, bytes({0, 5, 0, 0, 0, 2, 0xff, 0xfe, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff, 0xff, 0xff}));
}

TEST(CopyBinary, Float8IsIeeeBigEndian) {
  std::string out;
  cb::append_float8(out, 1.5);  // 0x3FF8000000000000
  EXPECT_EQ(out, bytes({0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}));
}

TEST(CopyBinary, TimestamptzCountsFrom2000) {
  std::string out;
  cb::append_timestamptz(out, 946684800LL * 1000000 + 1);  // 2000-01-01T00:00:00.000001Z
  EXPECT_EQ(out, bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}));
  out.clear();
  cb::append_timestamptz(out, 0);  // 1970: before PostgreSQL's epoch, negative
  std::string expect = bytes({0, 0, 0, 8});
  cb::put_be(expect, std::uint64_t(-946684800LL * 1000000), 8);
  EXPECT_EQ(out, expect);
}
