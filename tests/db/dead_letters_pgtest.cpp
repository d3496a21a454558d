// MQTT dead letters and device grants (storage/dead_letters.hpp): what add writes, that the table
// keeps only the newest N, newest-first paging, payload truncation and non-UTF-8 payloads.
#include "pg_support.hpp"

#include "maeul/storage/dead_letters.hpp"

namespace {

using namespace maeul_test;

class dead_letters : public fresh_db {};

TEST_F(dead_letters, add_writes_the_row_and_keeps_only_the_newest) {
  storage::dead_letter_store store(*pool_, 3);
  for (int i = 0; i < 5; ++i)
    sync(store.add({"maeul/v1/obs/s" + std::to_string(i), "p" + std::to_string(i), "e" + std::to_string(i),
                    utc_us(2026, 11, 21, 1, 0, i)}));
  auto r = query_params("SELECT topic, convert_from(payload, 'UTF8'), payload_bytes, error, "
                        "extract(epoch FROM received_at)::bigint FROM mqtt_dead_letters ORDER BY id");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][0].as<std::string>(), "maeul/v1/obs/s2");
  EXPECT_EQ(r[2][1].as<std::string>(), "p4");
  EXPECT_EQ(r[2][2].as<int>(), 2);
  EXPECT_EQ(r[2][3].as<std::string>(), "e4");
  EXPECT_EQ(r[2][4].as<std::int64_t>() * us_per_s, utc_us(2026, 11, 21, 1, 0, 4));
}

TEST_F(dead_letters, list_is_newest_first_with_a_cursor) {
  storage::dead_letter_store store(*pool_, 100);
  for (int i = 0; i < 3; ++i) sync(store.add({"t" + std::to_string(i), "x", "e", utc_us(2026, 11, 21)}));
  auto p1 = sync(store.list({"", 2}));
  ASSERT_EQ(p1.items.size(), 2u);
  EXPECT_EQ(json::parse(p1.items[0]).at("topic"), "t2");
  EXPECT_EQ(json::parse(p1.items[1]).at("topic"), "t1");
  ASSERT_TRUE(p1.last_id.has_value());
  auto p2 = sync(store.list({*p1.last_id, 2}));
  ASSERT_EQ(p2.items.size(), 1u);
  EXPECT_EQ(json::parse(p2.items[0]).at("topic"), "t0");
  EXPECT_FALSE(p2.last_id.has_value());
  auto j = json::parse(p2.items[0]);
  EXPECT_EQ(j.at("received_at"), "2026-11-21T00:00:00.000Z");
  EXPECT_EQ(j.at("truncated"), false);
}

TEST_F(dead_letters, long_and_binary_payloads) {
  storage::dead_letter_store store(*pool_, 100);
  std::string big(storage::dead_letter_max_payload + 100, 'a');
  sync(store.add({"big", big, "e", utc_us(2026, 11, 21)}));
  sync(store.add({"bin", std::string("\xff\x00z", 3), "e", utc_us(2026, 11, 21)}));
  auto page = sync(store.list({"", 10}));
  ASSERT_EQ(page.items.size(), 2u);
  auto bin = json::parse(page.items[0]);
  EXPECT_EQ(bin.at("payload"), std::string("\xEF\xBF\xBD") + std::string("\0z", 2));
  EXPECT_EQ(bin.at("payload_bytes"), 3);
  auto b = json::parse(page.items[1]);
  EXPECT_EQ(b.at("payload").get<std::string>().size(), storage::dead_letter_max_payload);
  EXPECT_EQ(b.at("payload_bytes"), storage::dead_letter_max_payload + 100);
  EXPECT_EQ(b.at("truncated"), true);
}

TEST_F(dead_letters, device_grants_lists_active_device_tokens_with_their_sensors) {
  storage::token_store tokens(*pool_);
  sync(tokens.create({"gauge-b", "device", {"wl-02", "wl-03"}}, "test"));
  sync(tokens.create({"gauge-a", "device", {"wl-01"}}, "test"));
  sync(tokens.create({"ops", "operator", {}}, "test"));
  auto gone = json::parse(sync(tokens.create({"gauge-c", "device", {"wl-09"}}, "test")).json).at("id").get<std::string>();
  sync(tokens.revoke(gone, "test"));
  auto g = storage::device_grants_now(url_);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].token_name, "gauge-a");
  EXPECT_EQ(g[0].sensors, std::vector<std::string>{"wl-01"});
  EXPECT_EQ(g[1].token_name, "gauge-b");
  EXPECT_EQ((g[1].sensors), (std::vector<std::string>{"wl-02", "wl-03"}));
}

}  // namespace
