// MQTT topics and payloads into parsed batches (mqtt/payload.hpp): every form, every error.
#include <gtest/gtest.h>

#include "maeul/config/settings.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/mqtt/payload.hpp"

namespace {

using maeul::mqtt::parse_message;

// 2026-11-21T01:00:00Z
constexpr std::int64_t now = 1795222800LL * 1000000;

TEST(MqttPayload, SingleReadingOnTheSensorTopic) {
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"metric":"level","ts":"2026-11-21T10:00:00+09:00","value":1.25})", now);
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.sensor, "wl-01");
  EXPECT_TRUE(m.single);
  ASSERT_EQ(m.batch.readings.size(), 1u);
  EXPECT_EQ(m.batch.readings[0].sensor, "wl-01");
  EXPECT_EQ(m.batch.readings[0].metric, "level");
  EXPECT_EQ(m.batch.readings[0].ts_us, now);
  EXPECT_DOUBLE_EQ(m.batch.readings[0].value, 1.25);
  EXPECT_TRUE(m.batch.rejected.empty());
}

TEST(MqttPayload, SingleReadingMayNameItsOwnSensor) {
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"sensor":"wl-01","metric":"level","ts":"2026-11-21T01:00:00Z","value":2})", now);
  ASSERT_EQ(m.error, "");
  ASSERT_EQ(m.batch.readings.size(), 1u);
}

TEST(MqttPayload, SingleReadingNamingAnotherSensorIsRefused) {
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"sensor":"wl-02","metric":"level","ts":"2026-11-21T01:00:00Z","value":2})", now);
  EXPECT_NE(m.error.find("/sensor names another sensor"), std::string::npos) << m.error;
}

TEST(MqttPayload, SingleReadingWithBadFieldsIsRejectedWithAPointer) {
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"metric":"level","ts":"yesterday","value":2})", now);
  ASSERT_EQ(m.error, "");
  EXPECT_TRUE(m.batch.readings.empty());
  ASSERT_EQ(m.batch.rejected.size(), 1u);
  EXPECT_EQ(m.batch.rejected[0].pointer, "/ts");
  EXPECT_EQ(m.batch.rejected[0].error, "ts must be an RFC 3339 time with an offset");
  EXPECT_EQ(maeul::mqtt::describe_rejections(m.batch), "/ts: ts must be an RFC 3339 time with an offset");

  auto v = parse_message("maeul/v1/obs/wl-01", R"({"metric":"level","ts":"2026-11-21T01:00:00Z","value":"high"})", now);
  ASSERT_EQ(v.batch.rejected.size(), 1u);
  EXPECT_EQ(v.batch.rejected[0].pointer, "/value");
  auto mm = parse_message("maeul/v1/obs/wl-01", R"({"ts":"2026-11-21T01:00:00Z","value":1})", now);
  ASSERT_EQ(mm.batch.rejected.size(), 1u);
  EXPECT_EQ(mm.batch.rejected[0].pointer, "/metric");
  auto fut = parse_message("maeul/v1/obs/wl-01", R"({"metric":"level","ts":"2026-11-21T01:06:00Z","value":1})", now);
  ASSERT_EQ(fut.batch.rejected.size(), 1u);
  EXPECT_EQ(fut.batch.rejected[0].error, "ts is more than 5 minutes in the future");
}

TEST(MqttPayload, BatchKeepsGoodReadingsAndRejectsOthersInOrder) {
  auto m = parse_message("maeul/v1/obs/wl-01",
                         R"({"observations":[
                              {"metric":"level","ts":"2026-11-21T00:59:00Z","value":1},
                              {"metric":"level","ts":"bad","value":2},
                              {"sensor":"wl-02","metric":"level","ts":"2026-11-21T00:58:00Z","value":3},
                              {"sensor":"wl-01","metric":"level","ts":"2026-11-21T00:57:00Z","value":4},
                              7]})",
                         now);
  ASSERT_EQ(m.error, "");
  EXPECT_FALSE(m.single);
  EXPECT_EQ(m.batch.total, 5u);
  ASSERT_EQ(m.batch.readings.size(), 2u);
  EXPECT_DOUBLE_EQ(m.batch.readings[0].value, 1);
  EXPECT_DOUBLE_EQ(m.batch.readings[1].value, 4);
  EXPECT_EQ(m.batch.readings[1].index, 3u);
  ASSERT_EQ(m.batch.rejected.size(), 3u);
  EXPECT_EQ(m.batch.rejected[0].pointer, "/observations/1/ts");
  EXPECT_EQ(m.batch.rejected[1].pointer, "/observations/2/sensor");
  EXPECT_EQ(m.batch.rejected[1].error, "names another sensor than the topic's \"wl-01\"");
  EXPECT_EQ(m.batch.rejected[2].pointer, "/observations/4");
}

TEST(MqttPayload, EmptyBatchHasNoReadings) {
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"observations":[]})", now);
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.batch.total, 0u);
  EXPECT_TRUE(m.batch.readings.empty());
}

TEST(MqttPayload, BareNumberOnTheMetricTopicTakesTheTimeOfReceipt) {
  auto m = parse_message("maeul/v1/obs/wl-01/level", "3.5", now + 123000);
  ASSERT_EQ(m.error, "");
  EXPECT_TRUE(m.single);
  ASSERT_EQ(m.batch.readings.size(), 1u);
  EXPECT_EQ(m.batch.readings[0].sensor, "wl-01");
  EXPECT_EQ(m.batch.readings[0].metric, "level");
  EXPECT_EQ(m.batch.readings[0].ts_us, now + 123000);
  EXPECT_DOUBLE_EQ(m.batch.readings[0].value, 3.5);
  auto neg = parse_message("maeul/v1/obs/wl-01/level", " -2e1 \n", now);
  ASSERT_EQ(neg.batch.readings.size(), 1u);
  EXPECT_DOUBLE_EQ(neg.batch.readings[0].value, -20);
}

TEST(MqttPayload, TsValueObjectOnTheMetricTopic) {
  auto m = parse_message("maeul/v1/obs/wl-01/level", R"({"ts":"2026-11-21T09:59:00+09:00","value":0.5})", now);
  ASSERT_EQ(m.error, "");
  ASSERT_EQ(m.batch.readings.size(), 1u);
  EXPECT_EQ(m.batch.readings[0].ts_us, now - 60LL * 1000000);
  EXPECT_EQ(m.batch.readings[0].metric, "level");
  auto noval = parse_message("maeul/v1/obs/wl-01/level", R"({"ts":"2026-11-21T09:59:00+09:00"})", now);
  ASSERT_EQ(noval.batch.rejected.size(), 1u);
  EXPECT_EQ(noval.batch.rejected[0].pointer, "/value");
  EXPECT_EQ(noval.batch.rejected[0].error, "value must be a number");
}

TEST(MqttPayload, MetricTopicRefusesOtherShapes) {
  for (const char* p : {R"("3.5")", "true", "null", "[1,2]"}) {
    auto m = parse_message("maeul/v1/obs/wl-01/level", p, now);
    EXPECT_EQ(m.error, "payload on a metric topic must be a number or {\"ts\",\"value\"}") << p;
  }
  auto m = parse_message("maeul/v1/obs/wl-01/level", R"({"metric":"x","ts":"2026-11-21T01:00:00Z","value":1})", now);
  EXPECT_NE(m.error.find("\"metric\" is not allowed here"), std::string::npos) << m.error;
}

TEST(MqttPayload, NotJson) {
  auto m = parse_message("maeul/v1/obs/wl-01", "level=3", now);
  EXPECT_EQ(m.error.rfind("payload is not JSON: ", 0), 0u) << m.error;
  EXPECT_EQ(m.sensor, "wl-01");
  auto e = parse_message("maeul/v1/obs/wl-01/level", "", now);
  EXPECT_EQ(e.error.rfind("payload is not JSON: ", 0), 0u) << e.error;
  auto big = parse_message("maeul/v1/obs/wl-01/level", "1e999", now);
  EXPECT_EQ(big.error.rfind("payload is not JSON: ", 0), 0u) << big.error;
}

TEST(MqttPayload, SensorTopicRefusesNonObjects) {
  for (const char* p : {"3", "[]", R"("x")"}) {
    auto m = parse_message("maeul/v1/obs/wl-01", p, now);
    EXPECT_EQ(m.error, "payload must be a reading {\"metric\",\"ts\",\"value\"} or a batch {\"observations\":[...]}") << p;
  }
  auto m = parse_message("maeul/v1/obs/wl-01", R"({"observations":{}})", now);
  EXPECT_EQ(m.error, "/observations must be an array of {\"metric\",\"ts\",\"value\"}");
}

TEST(MqttPayload, DeepNestingIsRefusedBeforeParsing) {
  std::string deep(100, '[');
  auto m = parse_message("maeul/v1/obs/wl-01", deep, now);
  EXPECT_EQ(m.error, "payload JSON nested too deeply");
}

TEST(MqttPayload, TopicsOutsideTheTreeAreRefused) {
  for (const char* t : {"maeul/v1/obs/", "maeul/v1/obs//level", "maeul/v1/obs/wl-01/", "maeul/v1/obs/a/b/c", "other/x"}) {
    auto m = parse_message(t, "1", now);
    EXPECT_EQ(m.error, std::string("topic \"") + t + "\" is not maeul/v1/obs/{sensor}[/{metric}]") << t;
  }
}

TEST(MqttPayload, DescribeRejectionsIsBounded) {
  maeul::domain::parsed_batch b;
  for (std::size_t i = 0; i < 12; ++i) b.rejected.push_back({i, "bad", "/observations/" + std::to_string(i)});
  auto d = maeul::mqtt::describe_rejections(b, 2);
  EXPECT_EQ(d, "/observations/0: bad; /observations/1: bad; and 10 more");
}

// mqtt.* settings (config/settings.hpp)
maeul::config::settings load(std::string toml) {
  return maeul::config::load_from_string(toml, "test.toml", [](const std::string&) { return std::nullopt; });
}

TEST(MqttSettings, OffByDefault) {
  auto s = load("");
  EXPECT_EQ(s.mqtt.url, "");
  EXPECT_EQ(s.mqtt.client_id, "maeuld");
  EXPECT_EQ(s.mqtt.reconnect_min_ms, 1000);
  EXPECT_EQ(s.mqtt.reconnect_max_ms, 60000);
}

TEST(MqttSettings, UrlsAndDefaultPorts) {
  auto a = load("[mqtt]\nurl = \"mqtt://broker.local\"\n");
  EXPECT_EQ(a.mqtt.host, "broker.local");
  EXPECT_EQ(a.mqtt.port, 1883);
  EXPECT_FALSE(a.mqtt.tls);
  auto b = load("[mqtt]\nurl = \"mqtts://10.0.0.5:18883\"\n");
  EXPECT_EQ(b.mqtt.host, "10.0.0.5");
  EXPECT_EQ(b.mqtt.port, 18883);
  EXPECT_TRUE(b.mqtt.tls);
  auto c = load("[mqtt]\nurl = \"mqtts://[::1]\"\n");
  EXPECT_EQ(c.mqtt.host, "::1");
  EXPECT_EQ(c.mqtt.port, 8883);
}

TEST(MqttSettings, BadUrlsAreConfigErrors) {
  for (const char* u : {"http://x", "mqtt://", "mqtt://x:0", "mqtt://x:70000", "mqtt://u:p@x", "mqtt://x/topic"}) {
    EXPECT_THROW(load(std::string("[mqtt]\nurl = \"") + u + "\"\n"), maeul::config::config_error) << u;
  }
  EXPECT_THROW(load("[mqtt]\nurl = \"mqtt://x\"\nreconnect_min_ms = 5000\nreconnect_max_ms = 1000\n"),
               maeul::config::config_error);
  EXPECT_THROW(load("[mqtt]\nurl = \"mqtts://x\"\nca_file = \"/nonexistent/ca.pem\"\n"), maeul::config::config_error);
}

}  // namespace
