// Sealing webhook secrets (ops/secret_box.hpp): round trip, a fresh nonce per seal, the webhook id
// bound, another key or a changed byte refused; the key file: created 0600, read as hex or raw,
// refused when the wrong size or readable by others.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "maeul/ops/secret_box.hpp"

namespace {
using maeul::ops::secret_box;
namespace fs = std::filesystem;

secret_box::key key_of(unsigned char fill) {
  secret_box::key k;
  k.fill(fill);
  return k;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("maeul-secret-box-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

void write_file(const fs::path& p, const std::string& text, fs::perms mode) {
  std::ofstream(p, std::ios::binary) << text;
  fs::permissions(p, mode, fs::perm_options::replace);
}

TEST(secret_box, seals_and_opens_with_the_same_key_and_id) {
  secret_box box(key_of(7));
  auto sealed = box.seal("a-webhook-secret-0123456789", "wh_0123456789ab");
  EXPECT_EQ(sealed.find("a-webhook-secret"), std::string::npos) << "no plaintext in the sealed form";
  EXPECT_EQ(sealed.size(), 1 + 8 + 24 + 27 + 16u);
  EXPECT_EQ(box.open(sealed, "wh_0123456789ab"), "a-webhook-secret-0123456789");
  EXPECT_TRUE(box.is_mine(sealed));
}

TEST(secret_box, every_seal_has_its_own_nonce) {
  secret_box box(key_of(7));
  EXPECT_NE(box.seal("same", "wh_1"), box.seal("same", "wh_1"));
}

TEST(secret_box, the_webhook_id_is_bound) {
  secret_box box(key_of(7));
  auto sealed = box.seal("a-webhook-secret-0123456789", "wh_a");
  EXPECT_EQ(box.open(sealed, "wh_b"), std::nullopt) << "a sealed secret moved to another webhook does not open";
}

TEST(secret_box, another_key_or_a_changed_byte_does_not_open) {
  secret_box box(key_of(7)), other(key_of(8));
  auto sealed = box.seal("a-webhook-secret-0123456789", "wh_a");
  EXPECT_FALSE(other.is_mine(sealed));
  EXPECT_EQ(other.open(sealed, "wh_a"), std::nullopt);
  EXPECT_NE(box.key_id(), other.key_id());
  EXPECT_EQ(box.key_id().size(), 16u);
  for (std::size_t i : {std::size_t(0), std::size_t(5), std::size_t(20), sealed.size() - 1}) {
    auto bad = sealed;
    bad[i] = char(bad[i] ^ 1);
    EXPECT_EQ(box.open(bad, "wh_a"), std::nullopt) << "byte " << i << " changed";
  }
  EXPECT_EQ(box.open(sealed.substr(0, 20), "wh_a"), std::nullopt) << "truncated";
  EXPECT_EQ(box.open("", "wh_a"), std::nullopt);
}

TEST(secret_box, a_missing_key_file_is_created_0600_and_read_back) {
  temp_dir d;
  auto p = (d.path / "keys" / "webhooks.key").string();
  bool created = false;
  auto k = secret_box::read_key_file(p, true, &created);
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((d.path / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "its directory is the owner's alone";
  auto again = secret_box::read_key_file(p, true, &created);
  EXPECT_FALSE(created) << "an existing key is kept";
  EXPECT_EQ(k, again);
  EXPECT_NE(k, key_of(0));
  EXPECT_EQ(fs::file_size(p), 65u) << "64 hex digits and a newline";
}

TEST(secret_box, a_missing_key_file_is_an_error_without_create) {
  temp_dir d;
  EXPECT_THROW(secret_box::read_key_file((d.path / "none.key").string(), false), std::runtime_error);
  EXPECT_FALSE(fs::exists(d.path / "none.key"));
}

TEST(secret_box, hex_or_raw_keys_are_read) {
  temp_dir d;
  write_file(d.path / "hex.key", std::string(64, 'a') + "\n", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(secret_box::read_key_file((d.path / "hex.key").string(), false), key_of(0xaa));
  write_file(d.path / "raw.key", std::string(32, '\x11'), fs::perms::owner_read);
  EXPECT_EQ(secret_box::read_key_file((d.path / "raw.key").string(), false), key_of(0x11));
}

TEST(secret_box, bad_key_files_are_refused_naming_the_file) {
  temp_dir d;
  auto expect_refused = [](const fs::path& p, const std::string& says) {
    try {
      secret_box::read_key_file(p.string(), true);
      ADD_FAILURE() << p << " was accepted";
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(p.string()), std::string::npos) << what;
      EXPECT_NE(what.find(says), std::string::npos) << what;
    }
  };
  write_file(d.path / "short.key", std::string(62, 'a'), fs::perms::owner_read);
  expect_refused(d.path / "short.key", "64 hex digits");
  write_file(d.path / "nothex.key", std::string(64, 'g'), fs::perms::owner_read);
  expect_refused(d.path / "nothex.key", "64 hex digits");
  write_file(d.path / "open.key", std::string(64, 'a'), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  expect_refused(d.path / "open.key", "chmod 600");
  fs::create_directories(d.path / "dir.key");
  expect_refused(d.path / "dir.key", "not a regular file");
}

}  // namespace
