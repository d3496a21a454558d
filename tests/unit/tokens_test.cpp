// Token secrets (storage/registry.hpp): generate_token and hash_token are pure, no database.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "maeul/storage/registry.hpp"

using maeul::storage::generate_token;
using maeul::storage::hash_token;

TEST(hash_token, is_64_lower_case_hex_characters_and_deterministic) {
  auto h = hash_token("mt_example");
  ASSERT_EQ(h.size(), 64u);
  for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << h;
  EXPECT_EQ(hash_token("mt_example"), h);
  EXPECT_NE(hash_token("mt_examplf"), h);
  EXPECT_NE(hash_token("mt_example "), h);
}

TEST(hash_token, is_sha256) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_token("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(generate_token, is_mt_and_43_base64url_characters) {
  auto t = generate_token();
  ASSERT_EQ(t.size(), 3u + 43u) << t;
  EXPECT_EQ(t.substr(0, 3), "mt_");
  for (char c : t.substr(3))
    EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
        << t;
}

TEST(generate_token, is_unique_and_uses_the_whole_alphabet_range) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 1000; ++i) {
    auto t = generate_token();
    EXPECT_TRUE(seen.insert(t).second) << "repeated token " << t;
    // The last character carries only 4 random bits; the others carry 6.
    for (char c : t.substr(3, 42)) chars.insert(c);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // 42,000 random 6-bit characters cover all 64 symbols (missing one has probability ~ 64 * e^-656).
  EXPECT_EQ(chars.size(), 64u);
}
