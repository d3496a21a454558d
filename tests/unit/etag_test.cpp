// The server's one entity tag (api::etag_of): the first 96 bits of the body's SHA-256, quoted.
#include <gtest/gtest.h>

#include "maeul/api/static_files.hpp"

namespace {

TEST(etag_of, is_the_quoted_first_96_bits_of_the_sha256) {
  // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ...; SHA-256("abc") = ba7816bf 8f01cfea 414140de ...
  EXPECT_EQ(maeul::api::etag_of(""), "\"e3b0c44298fc1c149afbf4c8\"");
  EXPECT_EQ(maeul::api::etag_of("abc"), "\"ba7816bf8f01cfea414140de\"");
}

TEST(etag_of, differs_for_bodies_that_differ_by_one_byte) {
  EXPECT_NE(maeul::api::etag_of("{\"v\":1}"), maeul::api::etag_of("{\"v\":2}"));
}

}  // namespace
