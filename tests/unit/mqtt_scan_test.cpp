// MQTT payloads read in one pass (mqtt::parse_message via domain::scan_topic_payload) against the
// DOM reading they replaced (mqtt::detail::parse_message_dom): the same message error, batch,
// pointers and single flag for every payload, named edges and mutations from a fixed seed.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "maeul/mqtt/payload.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace m = maeul::mqtt;
using maeul::test::t0_us;

void expect_same(const std::string& topic, const std::string& payload) {
  SCOPED_TRACE(topic + " " + payload.substr(0, 300));
  auto got = m::parse_message(topic, payload, t0_us);
  auto want = m::detail::parse_message_dom(topic, payload, t0_us);
  EXPECT_EQ(got.error, want.error);
  EXPECT_EQ(got.sensor, want.sensor);
  if (!want.error.empty()) return;
  EXPECT_EQ(got.single, want.single);
  EXPECT_EQ(got.batch.total, want.batch.total);
  EXPECT_EQ(got.batch.pointer_prefix, want.batch.pointer_prefix);
  ASSERT_EQ(got.batch.readings.size(), want.batch.readings.size());
  for (std::size_t i = 0; i < got.batch.readings.size(); ++i) {
    const auto &g = got.batch.readings[i], &w = want.batch.readings[i];
    EXPECT_EQ(g.index, w.index);
    EXPECT_EQ(g.sensor, w.sensor);
    EXPECT_EQ(g.metric, w.metric);
    EXPECT_EQ(g.ts_us, w.ts_us);
    EXPECT_EQ(g.value, w.value);
    EXPECT_EQ(std::signbit(g.value), std::signbit(w.value));
  }
  ASSERT_EQ(got.batch.rejected.size(), want.batch.rejected.size());
  for (std::size_t i = 0; i < got.batch.rejected.size(); ++i) {
    EXPECT_EQ(got.batch.rejected[i].index, want.batch.rejected[i].index);
    EXPECT_EQ(got.batch.rejected[i].error, want.batch.rejected[i].error);
    EXPECT_EQ(got.batch.rejected[i].pointer, want.batch.rejected[i].pointer);
  }
}

const std::string s_topic = "maeul/v1/obs/wl-1", m_topic = "maeul/v1/obs/wl-1/level";
const std::string ts = "\"2026-11-21T01:00:00Z\"";

TEST(mqtt_scan, the_usual_shapes_are_read_in_one_pass_as_the_dom_reads_them) {
  auto batch = "{\"observations\":[{\"metric\":\"level\",\"ts\":" + ts + ",\"value\":1.5},{\"sensor\":\"wl-1\",\"metric\":\"flow\",\"ts\":" +
               ts + ",\"value\":-0},{\"sensor\":\"wl-2\",\"metric\":\"level\",\"ts\":" + ts +
               ",\"value\":2},{\"sensor\":5,\"metric\":\"x\"},7,{\"metric\":\"level\",\"ts\":\"soon\",\"value\":3}]}";
  auto got = m::parse_message(s_topic, batch, t0_us);
  ASSERT_TRUE(got.error.empty()) << got.error;
  EXPECT_FALSE(got.single);
  ASSERT_EQ(got.batch.readings.size(), 2u);
  EXPECT_EQ(got.batch.readings[1].metric, "flow");
  ASSERT_EQ(got.batch.rejected.size(), 4u);
  EXPECT_EQ(got.batch.rejected[0].pointer, "/observations/2/sensor");
  EXPECT_EQ(got.batch.rejected[1].pointer, "/observations/3/sensor");
  EXPECT_EQ(got.batch.rejected[2].pointer, "/observations/4");
  EXPECT_EQ(got.batch.rejected[3].pointer, "/observations/5/ts");
  expect_same(s_topic, batch);

  auto single = m::parse_message(s_topic, "{\"metric\":\"level\",\"ts\":" + ts + ",\"value\":\"x\"}", t0_us);
  ASSERT_TRUE(single.error.empty());
  EXPECT_TRUE(single.single);
  ASSERT_EQ(single.batch.rejected.size(), 1u);
  EXPECT_EQ(single.batch.rejected[0].pointer, "/value");

  for (const std::string& p : std::vector<std::string>{"{\"metric\":\"level\",\"ts\":" + ts + ",\"value\":2}", "{\"sensor\":\"wl-1\",\"metric\":\"l\",\"ts\":" + ts + ",\"value\":2}",
                        "{\"sensor\":\"wl-9\",\"metric\":\"l\",\"ts\":" + ts + ",\"value\":2}", "{\"sensor\":null}", "{}", "[]", "5",
                        "\xEF\xBB\xBF{\"observations\":[]}", "{\"observations\":5}", "{\"observations\":[],\"observations\":[]}",
                        "{\"sensor\":\"zz\",\"observations\":[{\"metric\":\"a\",\"ts\":" + ts + ",\"value\":1}]}", "", "{\"observations\":[1e400]}"})
    expect_same(s_topic, p);
  for (const std::string& p : std::vector<std::string>{"12.5", "-0", " 3 ", "1e400", "1e-400", "\"3\"", "null", "[1]", "{\"ts\":" + ts + ",\"value\":4}",
                        "{\"ts\":" + ts + ",\"value\":4,\"metric\":\"x\"}", "{\"value\":4,\"sensor\":\"wl-1\"}",
                        "{\"ts\":" + ts + ",\"value\":4,\"observations\":[]}", "{\"ts\":\"0000-01-01T00:00:00Z\",\"value\":4}", "01"})
    expect_same(m_topic, p);
}

TEST(mqtt_scan, over_max_readings_is_refused_as_the_dom_refuses) {
  std::string p = "{\"observations\":[";
  for (std::size_t i = 0; i <= m::max_readings; ++i) p += std::string(i ? "," : "") + "1";
  p += "]}";
  auto got = m::parse_message(s_topic, p, t0_us);
  EXPECT_FALSE(got.error.empty());
  expect_same(s_topic, p);
}

TEST(mqtt_scan, mutated_payloads_match_the_dom) {
  std::mt19937 rng(7301);
  const std::vector<std::string> pieces = {"{", "}", "[", "]", ",", ":", "\"", "\\u0041", "0", "-", ".", "1e400", "-0",
                                           " ", "null", "\"sensor\"", "\"wl-1\"", "\"wl-2\"", "\"value\"", "\"ts\"",
                                           "\"metric\"", "\"observations\"", "\xEC\x84\xBC", "\xC3", "5", "\"x\""};
  const std::vector<std::pair<std::string, std::string>> bases = {
      {s_topic, "{\"observations\":[{\"metric\":\"level\",\"ts\":" + ts + ",\"value\":1},{\"sensor\":\"wl-1\",\"metric\":\"m\",\"ts\":" + ts +
                    ",\"value\":2}]}"},
      {s_topic, "{\"metric\":\"level\",\"ts\":" + ts + ",\"value\":1,\"note\":[1,{}]}"},
      {m_topic, "{\"ts\":" + ts + ",\"value\":1}"},
      {m_topic, "-12.5e1"}};
  int ok = 0;
  for (int round = 0; round < 6000; ++round) {
    auto [topic, b] = bases[std::size_t(round) % bases.size()];
    int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % (b.size() + 1);
      switch (rng() % 3) {
        case 0: b.insert(at, pieces[rng() % pieces.size()]); break;
        case 1: if (at < b.size()) b.erase(at, 1 + rng() % 4); break;
        default: if (at < b.size()) b.replace(at, 1, pieces[rng() % pieces.size()]); break;
      }
    }
    if (m::parse_message(topic, b, t0_us).error.empty()) ++ok;
    expect_same(topic, b);
    if (testing::Test::HasFailure()) break;
  }
  EXPECT_GT(ok, 100);
}

}  // namespace
