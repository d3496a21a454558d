// The welfare vault's pure parts: envelope sealing and its key rotation and erasure, the key file,
// the phone's blind index, the access records' hash chain, residents' validation and the household
// book (privacy/vault.hpp, domain/welfare.hpp).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maeul/domain/welfare.hpp"
#include "maeul/privacy/vault.hpp"

namespace {

using namespace maeul;
using json = nlohmann::json;

TEST(vault, a_sealed_record_opens_with_its_key_and_id_only) {
  privacy::keyring ring({privacy::random_key()});
  auto r = ring.seal_new(R"({"name":"Kim"})", "r-1");
  EXPECT_EQ(r.key_id, ring.current_id());
  EXPECT_EQ(r.sealed.find("Kim"), std::string::npos) << "no plain text in the sealed bytes";
  EXPECT_EQ(ring.open(r, "r-1").value_or(""), R"({"name":"Kim"})");
  EXPECT_FALSE(ring.open(r, "r-2")) << "a record copied under another id does not open";
  auto changed = r;
  changed.sealed[changed.sealed.size() / 2] ^= 1;
  EXPECT_FALSE(ring.open(changed, "r-1")) << "a changed byte is found";
  privacy::keyring other({privacy::random_key()});
  EXPECT_FALSE(other.open(r, "r-1")) << "another key opens nothing";
  auto swapped = r;
  swapped.key_id = other.current_id();
  EXPECT_FALSE(other.open(swapped, "r-1"));
}

TEST(vault, erasure_destroys_the_data_key_and_nothing_opens_the_record) {
  privacy::keyring ring({privacy::random_key()});
  auto r = ring.seal_new("secret", "r-1");
  auto erased = r;
  erased.wrapped_key.clear();
  EXPECT_FALSE(ring.open(erased, "r-1"));
  EXPECT_FALSE(ring.rewrap(erased, "r-1"));
}

TEST(vault, rotation_rewraps_under_the_new_key_and_the_old_key_is_not_needed_after) {
  auto k1 = privacy::random_key(), k2 = privacy::random_key();
  privacy::keyring old_ring({k1});
  auto r = old_ring.seal_new("identity", "r-9");
  privacy::keyring both({k2, k1});
  auto moved = both.rewrap(r, "r-9");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->first, privacy::key_id(k2));
  auto after = r;
  after.key_id = moved->first;
  after.wrapped_key = moved->second;
  privacy::keyring new_only({k2});
  EXPECT_EQ(new_only.open(after, "r-9").value_or(""), "identity");
  EXPECT_FALSE(new_only.open(r, "r-9")) << "the record as it was before needs the old key";
  auto resealed = new_only.reseal(after, "identity 2", "r-9");
  ASSERT_TRUE(resealed);
  after.sealed = *resealed;
  EXPECT_EQ(new_only.open(after, "r-9").value_or(""), "identity 2");
}

TEST(vault, the_blind_index_is_keyed_and_reads_both_phone_forms_as_one) {
  EXPECT_EQ(privacy::normalize_phone("010-1234-5678"), "01012345678");
  EXPECT_EQ(privacy::normalize_phone("+82 10 1234 5678"), "01012345678");
  EXPECT_EQ(privacy::normalize_phone("(033) 639-2000"), "0336392000");
  EXPECT_EQ(privacy::normalize_phone("12-34"), "");
  auto k1 = privacy::random_key(), k2 = privacy::random_key();
  privacy::keyring a({k1}), b({k2}), both({k2, k1});
  EXPECT_EQ(a.blind_index("01012345678"), a.blind_index("01012345678"));
  EXPECT_NE(a.blind_index("01012345678"), a.blind_index("01012345679"));
  EXPECT_NE(a.blind_index("01012345678"), b.blind_index("01012345678")) << "the index dies with its key";
  auto all = both.blind_indexes("01012345678");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], b.blind_index("01012345678"));
  EXPECT_EQ(all[1], a.blind_index("01012345678"));
  EXPECT_EQ(a.blind_index("01012345678").size(), 32u);
}

TEST(vault, the_chain_hash_covers_every_field_and_the_previous_hash) {
  privacy::access_fields f{7, 1700000000000000, "kim (welfare_officer)", "welfare_officer", "10.0.0.1", "read", "r-1", 0, "weekly call"};
  std::string prev(32, '\0');
  auto h = privacy::chain_hash(prev, f);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(h, privacy::chain_hash(prev, f));
  auto differs = [&](auto change) {
    auto g = f;
    change(g);
    return privacy::chain_hash(prev, g) != h;
  };
  EXPECT_TRUE(differs([](auto& g) { g.seq = 8; }));
  EXPECT_TRUE(differs([](auto& g) { g.at_us += 1; }));
  EXPECT_TRUE(differs([](auto& g) { g.actor = "lee (welfare_officer)"; }));
  EXPECT_TRUE(differs([](auto& g) { g.ip = "10.0.0.2"; }));
  EXPECT_TRUE(differs([](auto& g) { g.action = "export"; }));
  EXPECT_TRUE(differs([](auto& g) { g.resident = "r-2"; }));
  EXPECT_TRUE(differs([](auto& g) { g.alert_id = 3; }));
  EXPECT_TRUE(differs([](auto& g) { g.purpose = "weekly cal"; }));
  // Length prefixes: moving a character from one field to the next is a different record.
  EXPECT_TRUE(differs([](auto& g) {
    g.actor = "kim (welfare_officer)w";
    g.role = "elfare_officer";
  }));
  std::string other_prev(32, '\1');
  EXPECT_NE(privacy::chain_hash(other_prev, f), h);
}

TEST(vault, key_files_hold_one_key_per_line_and_refuse_loose_permissions) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("maeul-vault-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto path = (dir / "privacy.key").string();
  EXPECT_THROW(privacy::read_key_file(path, false, nullptr, "privacy.key_file"), std::runtime_error) << "missing";
  auto k1 = privacy::random_key(), k2 = privacy::random_key();
  privacy::write_key_file(path, {k2, k1}, "privacy.key_file");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto keys = privacy::read_key_file(path, false, nullptr, "privacy.key_file");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], k2);
  EXPECT_EQ(keys[1], k1);
  ::chmod(path.c_str(), 0644);
  try {
    privacy::read_key_file(path, false, nullptr, "privacy.key_file");
    ADD_FAILURE() << "a key file others may read was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("privacy.key_file " + path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
  }
  ::chmod(path.c_str(), 0600);
  std::ofstream(path) << "not a key\n";
  EXPECT_THROW(privacy::read_key_file(path, false, nullptr, "privacy.key_file"), std::runtime_error);
  fs::remove_all(dir);
}

TEST(welfare_validate, a_resident_needs_a_name_a_zone_and_consent_and_each_bad_field_is_named) {
  auto ok = domain::validate_resident(json::parse(R"({"name":"Kim","zone":"z1","phone":"010-1234-5678",
    "guardians":[{"name":"Lee","phone":"010-2222-3333","relation":"son"}],
    "consent":{"purpose":"care","basis":"consent","granted_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z"}})"));
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(ok->identity["name"], "Kim");
  EXPECT_EQ(ok->zone, "z1");
  EXPECT_TRUE(ok->consent.expires_at_us.has_value());
  EXPECT_FALSE(ok->identity.contains("zone")) << "only identity fields are sealed";

  auto bad = domain::validate_resident(json::parse(R"({"name":"","zone":"z 1","phone":"abc","birth_year":1800,
    "guardians":[{"name":"Lee"}],"risk_level":"extreme","wat":1,
    "consent":{"purpose":"care","basis":"consent","granted_at":"2026-01-01T00:00:00Z","expires_at":"2025-01-01T00:00:00Z"}})"));
  ASSERT_FALSE(bad);
  std::set<std::string> pointers;
  for (const auto& e : bad.error().errors) pointers.insert(e.pointer);
  for (const char* p : {"/name", "/zone", "/phone", "/birth_year", "/guardians/0/phone", "/risk_level", "/wat",
                        "/consent/expires_at"})
    EXPECT_TRUE(pointers.count(p)) << p;
  auto no_consent = domain::validate_resident(json::parse(R"({"name":"Kim","zone":"z1"})"));
  ASSERT_FALSE(no_consent);
  EXPECT_EQ(no_consent.error().errors.at(0).pointer, "/consent");
  EXPECT_FALSE(domain::validate_resident_patch(json::object()));
  EXPECT_TRUE(domain::validate_resident_patch(json::parse(R"({"risk_level":"low"})")));
}

TEST(welfare_book, households_sensors_and_lapsed_consent) {
  domain::household_book book;
  EXPECT_TRUE(domain::is_household_pseudonym("hh-0123456789abcdef"));
  EXPECT_FALSE(domain::is_household_pseudonym("hh-0123456789ABCDEF"));
  EXPECT_FALSE(domain::is_household_pseudonym("hh-0123"));
  book.put("hh-a", {"z1", 0});
  book.put("hh-b", {"z1", 1000});
  EXPECT_EQ(book.check("hh-a", 5000), domain::household_book::status::active);
  EXPECT_EQ(book.check("hh-b", 999), domain::household_book::status::active);
  EXPECT_EQ(book.check("hh-b", 1000), domain::household_book::status::lapsed);
  EXPECT_EQ(book.check("hh-x", 0), domain::household_book::status::unknown);
  book.set_sensor("door-1", "hh-a");
  EXPECT_EQ(book.household_of("door-1"), "hh-a");
  book.set_sensor("door-1", "");
  EXPECT_EQ(book.household_of("door-1"), "");
  book.count_withheld("hh-b", 2);
  book.count_withheld("hh-x", 5);  // unknown households are not counted (the map stays bounded)
  auto taken = book.take_withheld();
  EXPECT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken["hh-b"], 2);
  EXPECT_TRUE(book.take_withheld().empty());
  EXPECT_EQ(book.withheld_total(), 2);
  book.forget("hh-a");
  EXPECT_EQ(book.check("hh-a", 0), domain::household_book::status::unknown);
}

}  // namespace
