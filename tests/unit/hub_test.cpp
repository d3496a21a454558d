// The live hub (live/hub.hpp): its pure helpers (matches, observation_frame, alert_frame, per
// API.md §6) and its WebSocket handler driven through a fake ws_peer — subscribe, ping, errors,
// fan-out by filter, alert replay with `since`. No sockets; the io_context only runs the replay.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "maeul/domain/time.hpp"
#include "maeul/live/hub.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace asio = boost::asio;
namespace live = maeul::live;
using maeul::test::t0_us;
using nlohmann::json;

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (auto& [k, v] : j.items()) out.insert(k);
  return out;
}

// ---- matches

struct match_case {
  live::subscription sub;
  const char* sensor;
  const char* zone;
  const char* domain;
  bool matches;
};

live::subscription sub_of(std::set<std::string> domains, std::set<std::string> zones, std::set<std::string> sensors) {
  live::subscription s;
  s.domains = std::move(domains);
  s.zones = std::move(zones);
  s.sensors = std::move(sensors);
  return s;
}

class hub_matches : public testing::TestWithParam<match_case> {};

TEST_P(hub_matches, every_non_empty_filter_must_contain_the_value) {
  const auto& c = GetParam();
  EXPECT_EQ(live::hub::matches(c.sub, c.sensor, c.zone, c.domain), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    filters, hub_matches,
    testing::Values(match_case{sub_of({}, {}, {}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({"disaster"}, {}, {}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({"energy", "disaster"}, {}, {}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({"energy"}, {}, {}), "wl-1", "z1", "disaster", false},
                    match_case{sub_of({}, {"z1"}, {}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({}, {"z2"}, {}), "wl-1", "z1", "disaster", false},
                    match_case{sub_of({}, {"z1"}, {}), "wl-1", "", "disaster", false},
                    match_case{sub_of({}, {}, {"wl-1"}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({}, {}, {"wl-2"}), "wl-1", "z1", "disaster", false},
                    match_case{sub_of({"disaster"}, {"z1"}, {"wl-1"}), "wl-1", "z1", "disaster", true},
                    match_case{sub_of({"disaster"}, {"z1"}, {"wl-2"}), "wl-1", "z1", "disaster", false},
                    match_case{sub_of({"disaster"}, {"z2"}, {"wl-1"}), "wl-1", "z1", "disaster", false},
                    match_case{sub_of({"Disaster"}, {}, {}), "wl-1", "z1", "disaster", false}));

// ---- frames

maeul::domain::reading_event committed(const std::string& sensor, const std::string& zone, const std::string& domain,
                                    std::int64_t ts, double value, const std::string& metric = "level") {
  maeul::domain::reading_event r;
  r.sensor = sensor;
  r.metric = metric;
  r.zone = zone;
  r.domain = domain;
  r.kind = "water_level";
  r.ts_us = ts;
  r.value = value;
  return r;
}

struct frame_case {
  maeul::domain::reading_event reading;
  const char* ts_text;
};

class observation_frames : public testing::TestWithParam<frame_case> {};

TEST_P(observation_frames, carry_the_fields_of_api_section_6) {
  const auto& r = GetParam().reading;
  json f = json::parse(live::hub::observation_frame(r));
  EXPECT_EQ(keys(f), (std::set<std::string>{"type", "sensor", "metric", "ts", "value", "zone", "domain"}));
  EXPECT_EQ(f["type"], "observation");
  EXPECT_EQ(f["sensor"], r.sensor);
  EXPECT_EQ(f["metric"], r.metric);
  EXPECT_EQ(f["ts"], GetParam().ts_text);
  EXPECT_EQ(f["value"].get<double>(), r.value);
  if (r.zone.empty()) {
    EXPECT_TRUE(f["zone"].is_null());
  } else {
    EXPECT_EQ(f["zone"], r.zone);
  }
  EXPECT_EQ(f["domain"], r.domain);
}

INSTANTIATE_TEST_SUITE_P(
    readings, observation_frames,
    testing::Values(frame_case{committed("wl-1", "z1", "disaster", t0_us + 123456, 1.25), "2026-11-21T01:00:00.123Z"},
                    frame_case{committed("m-\"q\"", "", "energy", 0, -3.5e-7, "kwh"), "1970-01-01T00:00:00.000Z"},
                    frame_case{committed("hh-9", "z2", "welfare", t0_us + 999, 0), "2026-11-21T01:00:00.000Z"},
                    frame_case{committed("wl-2", "중앙동", "disaster", t0_us, 1e300), "2026-11-21T01:00:00.000Z"}));

TEST(alert_frames, carry_the_event_id_and_the_alert_object) {
  maeul::domain::alert_event e;
  e.event_id = 9007199254740993LL;  // beyond a double's exact integers: must stay an integer
  e.event = "opened";
  e.alert_json = R"({"id":7,"rule":"t1","state":"open","severity":"critical","zone":"z1","title":{"ko":"수위","en":"Water"}})";
  e.zone = "z1";
  e.domain = "disaster";
  json f = json::parse(live::hub::alert_frame(e));
  EXPECT_EQ(f["type"], "alert");
  ASSERT_TRUE(f["event_id"].is_number_integer());
  EXPECT_EQ(f["event_id"].get<std::int64_t>(), e.event_id);
  EXPECT_EQ(f["alert"], json::parse(e.alert_json));
  EXPECT_EQ(f["event"], "opened");
  for (const char* k : {"type", "event_id", "alert"}) EXPECT_TRUE(f.contains(k)) << k;
}

// ---- the handler, through a fake peer

struct fake_peer final : maeul::net::ws_peer {
  std::vector<std::pair<std::string, std::string>> observations;  // key, frame
  std::vector<std::string> events;
  std::vector<std::string> closes;
  void send_observation(const std::string& key, std::shared_ptr<const std::string> frame) override {
    observations.emplace_back(key, *frame);
  }
  void send_event(std::shared_ptr<const std::string> frame) override { events.push_back(*frame); }
  void close(std::string reason) override { closes.push_back(std::move(reason)); }
  bool is_open() const override { return closes.empty(); }

  json last_event() const { return events.empty() ? json() : json::parse(events.back()); }
};

struct replay_log {
  std::vector<maeul::domain::alert_event> stored;
  std::vector<std::int64_t> calls;
};

asio::awaitable<std::vector<maeul::domain::alert_event>> replay_after(std::shared_ptr<replay_log> log, std::int64_t since) {
  log->calls.push_back(since);
  std::vector<maeul::domain::alert_event> out;
  for (const auto& e : log->stored)
    if (e.event_id > since) out.push_back(e);
  co_return out;
}

maeul::domain::alert_event alert_event(std::int64_t id, const std::string& zone, const std::string& domain) {
  return {id, "opened", R"({"id":)" + std::to_string(id) + R"(,"zone":")" + zone + R"("})", zone, domain};
}

class hub_session : public testing::Test {
 protected:
  asio::io_context ioc;
  std::shared_ptr<replay_log> log = std::make_shared<replay_log>();
  live::hub hub{ioc.get_executor(), [l = log](std::int64_t since) { return replay_after(l, since); },
                41};
  std::shared_ptr<maeul::net::ws_handler> handler = hub.handler();

  std::shared_ptr<fake_peer> open() {
    auto p = std::make_shared<fake_peer>();
    handler->on_open(p);
    return p;
  }
  void send(const std::shared_ptr<fake_peer>& p, const json& msg) { handler->on_message(p, msg.dump()); }
  void publish(std::vector<maeul::domain::reading_event> rs) {
    hub.publish_readings(std::make_shared<const std::vector<maeul::domain::reading_event>>(std::move(rs)));
  }
};

TEST_F(hub_session, a_new_client_is_greeted_with_the_last_event_id) {
  auto p = open();
  EXPECT_EQ(hub.clients(), 1u);
  ASSERT_EQ(p->events.size(), 1u);
  json hello = json::parse(p->events[0]);
  EXPECT_EQ(hello["type"], "hello");
  EXPECT_EQ(hello["event_id"], 41);
  ASSERT_TRUE(hello["server_time"].is_string());
  EXPECT_TRUE(maeul::domain::parse_rfc3339(hello["server_time"].get<std::string>()));
}

TEST_F(hub_session, subscribe_is_acknowledged_with_the_normalized_filters) {
  auto p = open();
  send(p, {{"type", "subscribe"}, {"domains", {"disaster", "energy", 5}}, {"zones", {"z2", "z1", "z1"}}, {"alerts", true}});
  json ack = p->last_event();
  EXPECT_EQ(ack["type"], "subscribed");
  EXPECT_EQ(ack["domains"], json({"disaster", "energy"}));  // non-strings dropped
  EXPECT_EQ(ack["zones"], json({"z1", "z2"}));                // a set: sorted, no duplicates
  EXPECT_EQ(ack["sensors"], json::array());
  EXPECT_EQ(ack["alerts"], true);
  EXPECT_EQ(ack["observations"], true);
}

TEST_F(hub_session, a_revoked_holder_or_ended_session_closes_its_connections_and_only_those) {
  auto open_as = [&](const std::string& holder, const std::string& session, std::int64_t ends) {
    maeul::domain::event_grant g;
    g.holder = holder;
    g.session = session;
    g.ends_at_us = ends;
    auto p = std::make_shared<fake_peer>();
    hub.handler(g)->on_open(p);
    return p;
  };
  auto tok = open_as("token:t1", "", 0);
  auto tok2 = open_as("token:t2", "", 0);
  auto kim1 = open_as("user:kim", "s-a", t0_us + 100);
  auto kim2 = open_as("user:kim", "s-b", t0_us + 900);
  auto lee = open_as("user:lee", "s-c", t0_us + 900);
  EXPECT_EQ(hub.revoke_holder("token:t1"), 1u);
  EXPECT_EQ(tok->closes, (std::vector<std::string>{"credential revoked"}));
  EXPECT_TRUE(tok2->closes.empty());
  EXPECT_EQ(hub.revoke_session("s-b"), 1u);
  EXPECT_EQ(kim2->closes, (std::vector<std::string>{"session ended"}));
  EXPECT_TRUE(kim1->closes.empty());
  EXPECT_EQ(hub.expire(t0_us + 99), 0u);
  EXPECT_EQ(hub.expire(t0_us + 100), 1u);
  EXPECT_EQ(kim1->closes, (std::vector<std::string>{"session expired"}));
  EXPECT_EQ(hub.revoke_holder("user:lee"), 1u);
  EXPECT_FALSE(lee->is_open());
  EXPECT_EQ(hub.revoke_holder(""), 0u) << "an empty holder matches nothing";
  EXPECT_TRUE(tok2->closes.empty());
}

TEST_F(hub_session, a_grant_limits_what_a_connection_sees_whatever_it_subscribes_to) {
  // An operator limited to zone z1 (no welfare readings), and an unlimited welfare officer.
  maeul::domain::event_grant operator_z1{{"z1"}, {}, false};
  auto limited = hub.handler(operator_z1);
  auto op = std::make_shared<fake_peer>();
  limited->on_open(op);
  limited->on_message(op, json({{"type", "subscribe"}, {"alerts", true}, {"zones", {"z1", "z2"}}}).dump());
  auto officer = open();
  send(officer, {{"type", "subscribe"}, {"alerts", true}});
  hub.set_masker([](const std::string& a) { return maeul::domain::masked_welfare_alert(a, "hh-test"); });
  publish({committed("wl-1", "z1", "disaster", t0_us, 1), committed("wl-2", "z2", "disaster", t0_us, 2),
           committed("hh-door", "z1", "welfare", t0_us, 1, "open"), committed("nz", "", "disaster", t0_us, 3)});
  hub.publish_alert(alert_event(42, "z1", "welfare"));
  hub.publish_alert(alert_event(43, "z2", "disaster"));
  auto sensors_of = [](const fake_peer& p) {
    std::vector<std::string> out;
    for (const auto& [key, frame] : p.observations) out.push_back(json::parse(frame)["sensor"].get<std::string>());
    return out;
  };
  auto alert_ids = [](const fake_peer& p) {
    std::vector<std::int64_t> out;
    for (const auto& e : p.events)
      if (auto j = json::parse(e); j["type"] == "alert") out.push_back(j["event_id"].get<std::int64_t>());
    return out;
  };
  EXPECT_EQ(sensors_of(*op), (std::vector<std::string>{"wl-1"})) << "no other zone, no welfare reading, no zoneless sensor";
  EXPECT_EQ(alert_ids(*op), (std::vector<std::int64_t>{42})) << "welfare alerts of its zone, nothing of z2";
  EXPECT_EQ(sensors_of(*officer), (std::vector<std::string>{"wl-1", "wl-2", "hh-door", "nz"}));
  EXPECT_EQ(alert_ids(*officer), (std::vector<std::int64_t>{42, 43}));
  // The welfare alert reached the operator with the household's pseudonym, the officer as it is.
  auto alert_of = [](const fake_peer& p, std::int64_t id) {
    for (const auto& e : p.events)
      if (auto j = json::parse(e); j["type"] == "alert" && j["event_id"] == id) return j["alert"];
    return json();
  };
  EXPECT_EQ(alert_of(*op, 42)["household"], "hh-test");
  EXPECT_FALSE(alert_of(*officer, 42).contains("household"));
  EXPECT_EQ(alert_of(*officer, 42)["zone"], "z1");
}

TEST_F(hub_session, without_a_masker_no_welfare_alert_reaches_a_grant_without_welfare_readings) {
  maeul::domain::event_grant operator_all{{}, {}, false};
  auto limited = hub.handler(operator_all);
  auto op = std::make_shared<fake_peer>();
  limited->on_open(op);
  limited->on_message(op, json({{"type", "subscribe"}, {"alerts", true}}).dump());
  auto before = op->events.size();
  hub.publish_alert(alert_event(50, "z1", "welfare"));
  hub.publish_alert(alert_event(51, "z1", "disaster"));
  ASSERT_EQ(op->events.size(), before + 1);
  EXPECT_EQ(json::parse(op->events.back())["event_id"], 51);
  EXPECT_EQ(json::parse(op->events.back())["type"], "alert");
}

TEST_F(hub_session, readings_reach_only_subscribed_clients_whose_filters_match) {
  auto all = open();
  auto z1 = open();
  auto energy = open();
  auto wl2 = open();
  auto silent = open();  // never subscribes
  send(all, {{"type", "subscribe"}});
  send(z1, {{"type", "subscribe"}, {"zones", {"z1"}}});
  send(energy, {{"type", "subscribe"}, {"domains", {"energy"}}});
  send(wl2, {{"type", "subscribe"}, {"sensors", {"wl-2"}}});
  std::vector<maeul::domain::reading_event> rs = {committed("wl-1", "z1", "disaster", t0_us, 1),
                                               committed("wl-2", "z2", "disaster", t0_us, 2),
                                               committed("em-1", "z1", "energy", t0_us, 3, "kwh")};
  publish(rs);
  auto sensors_of = [](const fake_peer& p) {
    std::vector<std::string> out;
    for (const auto& [key, frame] : p.observations) out.push_back(json::parse(frame)["sensor"].get<std::string>());
    return out;
  };
  EXPECT_EQ(sensors_of(*all), (std::vector<std::string>{"wl-1", "wl-2", "em-1"}));
  EXPECT_EQ(sensors_of(*z1), (std::vector<std::string>{"wl-1", "em-1"}));
  EXPECT_EQ(sensors_of(*energy), (std::vector<std::string>{"em-1"}));
  EXPECT_EQ(sensors_of(*wl2), (std::vector<std::string>{"wl-2"}));
  EXPECT_TRUE(silent->observations.empty());
  EXPECT_EQ(hub.frames_published(), 3 + 2 + 1 + 1);
  ASSERT_EQ(all->observations.size(), 3u);
  EXPECT_EQ(all->observations[2].first, "em-1\nkwh");  // coalescing key: sensor and metric
  EXPECT_EQ(all->observations[0].second, live::hub::observation_frame(rs[0]));
}

TEST_F(hub_session, alerts_reach_clients_that_asked_for_them_in_their_zones_and_domains) {
  auto none = open();
  auto any = open();
  auto z2 = open();
  auto welfare = open();
  send(none, {{"type", "subscribe"}});
  send(any, {{"type", "subscribe"}, {"alerts", true}});
  send(z2, {{"type", "subscribe"}, {"alerts", true}, {"zones", {"z2"}}});
  send(welfare, {{"type", "subscribe"}, {"alerts", true}, {"domains", {"welfare"}}});
  auto before = [](const fake_peer& p) { return p.events.size(); };
  std::size_t n_none = before(*none), n_any = before(*any), n_z2 = before(*z2), n_welfare = before(*welfare);
  auto e = alert_event(12, "z2", "disaster");
  hub.publish_alert(e);
  EXPECT_EQ(none->events.size(), n_none);
  ASSERT_EQ(any->events.size(), n_any + 1);
  EXPECT_EQ(any->events.back(), live::hub::alert_frame(e));
  EXPECT_EQ(z2->events.size(), n_z2 + 1);
  EXPECT_EQ(welfare->events.size(), n_welfare);
  EXPECT_EQ(hub.frames_published(), 2);
}

TEST_F(hub_session, observations_false_keeps_alerts_only) {
  auto p = open();
  send(p, {{"type", "subscribe"}, {"alerts", true}, {"observations", false}});
  publish({committed("wl-1", "z1", "disaster", t0_us, 1)});
  EXPECT_TRUE(p->observations.empty());
  hub.publish_alert(alert_event(3, "z1", "disaster"));
  EXPECT_EQ(p->last_event()["type"], "alert");
}

TEST_F(hub_session, a_new_subscribe_replaces_the_old_one) {
  auto p = open();
  send(p, {{"type", "subscribe"}, {"zones", {"z1"}}});
  send(p, {{"type", "subscribe"}, {"zones", {"z2"}}});
  publish({committed("wl-1", "z1", "disaster", t0_us, 1), committed("wl-2", "z2", "disaster", t0_us, 2)});
  ASSERT_EQ(p->observations.size(), 1u);
  EXPECT_EQ(json::parse(p->observations[0].second)["sensor"], "wl-2");
}

struct message_case {
  const char* name;
  std::string text;
  const char* reply_type;
};

class hub_messages : public testing::TestWithParam<message_case> {};

TEST_P(hub_messages, each_message_gets_one_answer) {
  asio::io_context ioc;
  live::hub h(ioc.get_executor(), nullptr);
  auto handler = h.handler();
  auto p = std::make_shared<fake_peer>();
  handler->on_open(p);
  ASSERT_EQ(p->events.size(), 1u);
  EXPECT_EQ(json::parse(p->events[0])["event_id"], 0);  // no event seen yet
  handler->on_message(p, GetParam().text);
  ASSERT_EQ(p->events.size(), 2u);
  json reply = json::parse(p->events[1]);
  EXPECT_EQ(reply["type"], GetParam().reply_type);
  if (std::string(GetParam().reply_type) == "error") {
    EXPECT_TRUE(reply["detail"].is_string());
  }
  EXPECT_TRUE(p->closes.empty());
}

INSTANTIATE_TEST_SUITE_P(
    texts, hub_messages,
    testing::Values(message_case{"ping", R"({"type":"ping"})", "pong"},
                    message_case{"subscribe", R"({"type":"subscribe"})", "subscribed"},
                    message_case{"unknown_type", R"({"type":"unsubscribe"})", "error"},
                    message_case{"type_not_a_string", R"({"type":1})", "error"},
                    message_case{"no_type", R"({"domains":["energy"]})", "error"},
                    message_case{"an_array", R"([{"type":"ping"}])", "error"},
                    message_case{"not_json", "ping", "error"}, message_case{"empty", "", "error"},
                    message_case{"truncated", R"({"type":"subscribe")", "error"}),
    [](const testing::TestParamInfo<message_case>& i) { return std::string(i.param.name); });

TEST_F(hub_session, a_closed_client_is_forgotten) {
  auto p = open();
  auto q = open();
  send(p, {{"type", "subscribe"}, {"alerts", true}});
  EXPECT_EQ(hub.clients(), 2u);
  handler->on_close(p, false);
  EXPECT_EQ(hub.clients(), 1u);
  std::size_t events = p->events.size();
  publish({committed("wl-1", "z1", "disaster", t0_us, 1)});
  hub.publish_alert(alert_event(1, "z1", "disaster"));
  EXPECT_TRUE(p->observations.empty());
  EXPECT_EQ(p->events.size(), events);
  handler->on_message(p, R"({"type":"subscribe"})");  // a late message from a closed client
  EXPECT_EQ(hub.clients(), 1u);
}

TEST_F(hub_session, since_replays_later_alert_events_in_the_subscribed_zones) {
  log->stored = {alert_event(4, "z1", "disaster"), alert_event(5, "z1", "disaster"), alert_event(6, "z2", "disaster"),
                 alert_event(7, "z1", "disaster"), alert_event(8, "z1", "welfare")};
  auto p = open();
  send(p, {{"type", "subscribe"}, {"alerts", true}, {"zones", {"z1"}}, {"domains", {"disaster"}}, {"since", 4}});
  ioc.run();
  EXPECT_EQ(log->calls, (std::vector<std::int64_t>{4}));  // fewer than a page: one call
  std::vector<std::int64_t> replayed;
  for (const auto& text : p->events) {
    json f = json::parse(text);
    if (f["type"] == "alert") replayed.push_back(f["event_id"].get<std::int64_t>());
  }
  EXPECT_EQ(replayed, (std::vector<std::int64_t>{5, 7}));
  EXPECT_EQ(json::parse(p->events[1])["type"], "subscribed");  // the answer comes before the replay
}

TEST_F(hub_session, since_without_alerts_or_not_an_integer_replays_nothing) {
  log->stored = {alert_event(5, "z1", "disaster")};
  auto p = open();
  send(p, {{"type", "subscribe"}, {"since", 1}});
  send(p, {{"type", "subscribe"}, {"alerts", true}, {"since", "1"}});
  send(p, {{"type", "subscribe"}, {"alerts", true}, {"since", 1.5}});
  ioc.run();
  EXPECT_TRUE(log->calls.empty());
}

// FINDINGS 6: a `subscribe` whose `alerts` (or `observations`) is not a boolean throws out of
// on_message (nlohmann type_error from json::value), which ws_session::run does not catch.
// Enable when FINDINGS 6 (non-boolean "alerts" throws inside the session) is fixed.
TEST_F(hub_session, a_subscribe_with_a_non_boolean_alerts_does_not_throw) {
  auto p = open();
  EXPECT_NO_THROW(send(p, {{"type", "subscribe"}, {"alerts", "yes"}}));
  EXPECT_NO_THROW(send(p, {{"type", "subscribe"}, {"observations", 1}}));
  EXPECT_NO_THROW(send(p, {{"type", "subscribe"}, {"alerts", nullptr}}));
  hub.publish_alert(alert_event(1, "z1", "disaster"));
  for (const auto& text : p->events) EXPECT_NE(json::parse(text)["type"], "alert") << text;
}

}  // namespace

// ---- the readings' fan-out index (one hash lookup per reading, shared frames)

namespace {

std::shared_ptr<const live::subscription> observing(std::set<std::string> sensors, std::set<std::string> zones = {}) {
  auto s = std::make_shared<live::subscription>();
  s->sensors = std::move(sensors);
  s->zones = std::move(zones);
  return s;
}

// Records the frame pointers it is handed, to see that subscribers share one serialization.
struct pointer_peer final : maeul::net::ws_peer {
  std::vector<std::shared_ptr<const std::string>> frames;
  void send_observation(const std::string&, std::shared_ptr<const std::string> frame) override {
    frames.push_back(std::move(frame));
  }
  void send_event(std::shared_ptr<const std::string>) override {}
  void close(std::string) override {}
  bool is_open() const override { return true; }
};

}  // namespace

TEST(fanout_index, visits_the_targets_naming_the_sensor_and_those_naming_none_once_each) {
  auto a = std::make_shared<fake_peer>(), b = std::make_shared<fake_peer>(), all = std::make_shared<fake_peer>(),
       z2 = std::make_shared<fake_peer>();
  live::fanout_index index({{a, observing({"wl-1", "wl-2"})},
                            {b, observing({"wl-2"})},
                            {all, observing({})},
                            {z2, observing({}, {"z2"})}});
  EXPECT_EQ(index.size(), 4u);
  auto visited = [&](const char* sensor, const char* zone) {
    std::vector<maeul::net::ws_peer*> out;
    index.for_each_match(sensor, zone, "disaster",
                         [&](const live::fanout_target& t) { out.push_back(t.peer.lock().get()); });
    return out;
  };
  EXPECT_EQ(visited("wl-1", "z1"), (std::vector<maeul::net::ws_peer*>{a.get(), all.get()}));
  EXPECT_EQ(visited("wl-2", "z2"), (std::vector<maeul::net::ws_peer*>{a.get(), b.get(), all.get(), z2.get()}));
  EXPECT_EQ(visited("wl-9", "z1"), (std::vector<maeul::net::ws_peer*>{all.get()}));
  EXPECT_TRUE(live::fanout_index().empty());
}

TEST(fanout_index, holds_its_peers_weakly) {
  auto p = std::make_shared<fake_peer>();
  std::weak_ptr<fake_peer> w = p;
  live::fanout_index index({{p, observing({"wl-1"})}});
  p.reset();
  EXPECT_TRUE(w.expired());  // a closed session is freed although an index still names it
  int alive = 0;
  index.for_each_match("wl-1", "z1", "disaster", [&](const live::fanout_target& t) { alive += t.peer.lock() ? 1 : 0; });
  EXPECT_EQ(alive, 0);
}

TEST_F(hub_session, subscribers_share_one_frame_per_reading_and_no_frame_outlives_them) {
  auto p = std::make_shared<pointer_peer>(), q = std::make_shared<pointer_peer>();
  handler->on_open(p);
  handler->on_open(q);
  handler->on_message(p, R"({"type":"subscribe","sensors":["wl-1"]})");
  handler->on_message(q, R"({"type":"subscribe"})");
  publish({committed("wl-1", "z1", "disaster", t0_us, 1), committed("wl-2", "z1", "disaster", t0_us, 2)});
  ASSERT_EQ(p->frames.size(), 1u);
  ASSERT_EQ(q->frames.size(), 2u);
  EXPECT_EQ(p->frames[0].get(), q->frames[0].get());  // serialized once for every subscriber
  std::weak_ptr<const std::string> frame = p->frames[0];
  p->frames.clear();
  q->frames.clear();
  EXPECT_TRUE(frame.expired());  // the hub keeps no frame once the sessions have written theirs
}

TEST_F(hub_session, a_changed_subscription_takes_effect_at_the_next_reading) {
  auto p = open();
  send(p, {{"type", "subscribe"}, {"sensors", {"wl-1"}}});
  publish({committed("wl-1", "z1", "disaster", t0_us, 1), committed("wl-2", "z1", "disaster", t0_us, 2)});
  send(p, {{"type", "subscribe"}, {"sensors", {"wl-2"}}});
  publish({committed("wl-1", "z1", "disaster", t0_us + 1000, 3), committed("wl-2", "z1", "disaster", t0_us + 1000, 4)});
  send(p, {{"type", "subscribe"}, {"observations", false}, {"alerts", true}});
  publish({committed("wl-1", "z1", "disaster", t0_us + 2000, 5), committed("wl-2", "z1", "disaster", t0_us + 2000, 6)});
  std::vector<double> values;
  for (const auto& [key, frame] : p->observations) values.push_back(json::parse(frame)["value"].get<double>());
  EXPECT_EQ(values, (std::vector<double>{1, 4}));
  auto q = open();
  send(q, {{"type", "subscribe"}});
  handler->on_close(q, false);
  publish({committed("wl-1", "z1", "disaster", t0_us + 3000, 7)});
  EXPECT_TRUE(q->observations.empty());  // closed before the reading
}
