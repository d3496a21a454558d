// What operations_store writes for incidents, read back with plain SQL: the incident row, its alert
// links, its timeline events and its webhook deliveries, and what a refused report or change leaves
// untouched. See the table in write_coverage_pgtest.cpp.
#include <set>

#include "maeul/rules/rules.hpp"
#include "maeul/storage/operations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace rules = maeul::rules;

class incident_writes : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    ops_ = std::make_unique<storage::operations_store>(*pool_);
  }
  void TearDown() override {
    ops_.reset();
    fresh_db::TearDown();
  }

 public:
  storage::operations_store& ops() { return *ops_; }

  std::int64_t db_clock_us() { return count("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"); }

  // Two open alerts (for incident_alerts to reference); their ids.
  std::vector<std::int64_t> two_alerts() {
    auto r = rules::parse_rule(json{{"id", "r-high"},
                                    {"name", {{"en", "High"}}},
                                    {"kind", "threshold"},
                                    {"severity", "warning"},
                                    {"metric", "level"},
                                    {"op", ">"},
                                    {"value", 3}});
    if (!r.ok()) throw std::logic_error(r.error().describe());
    std::vector<rules::transition> ts;
    for (const char* s : {"wl-01", "wl-02"}) {
      rules::transition t;
      t.rule_id = "r-high";
      t.subject = t.sensor = s;
      t.value = 4;
      t.message = "level 4 > 3";
      ts.push_back(t);
    }
    std::vector<std::int64_t> ids;
    for (const auto& e : sync(ops().apply(ts, {r.value()})))
      ids.push_back(json::parse(e.alert_json).at("id").get<std::int64_t>());
    if (ids.size() != 2) throw std::logic_error("two alerts expected");
    return ids;
  }

  // incident_events of one incident in order: {at_us, what, actor, note}.
  std::vector<json> events(std::int64_t incident) {
    std::vector<json> out;
    for (const auto& r : query_params("SELECT (extract(epoch FROM at) * 1000000)::bigint, what, actor, note FROM "
                                      "incident_events WHERE incident_id = $1 ORDER BY id",
                                      incident))
      out.push_back({{"at", r[0].as<std::int64_t>()},
                     {"what", r[1].as<std::string>()},
                     {"actor", r[2].is_null() ? json() : json(r[2].as<std::string>())},
                     {"note", r[3].is_null() ? json() : json(r[3].as<std::string>())}});
    return out;
  }

  std::int64_t us_of(const std::string& column, std::int64_t incident) {
    auto r = query_params("SELECT (extract(epoch FROM " + column + ") * 1000000)::bigint FROM incidents WHERE id = $1",
                          incident);
    return r[0][0].is_null() ? -1 : r[0][0].as<std::int64_t>();
  }

  std::string row_text(std::int64_t incident) {
    auto r = query_params("SELECT i::text FROM incidents i WHERE id = $1", incident);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  std::int64_t create(const storage::incident_input& in, const std::string& actor) {
    auto c = sync(ops().create_incident(in, actor));
    if (!c.ok()) throw std::logic_error(c.error().describe());
    return json::parse(c.value()).at("id").get<std::int64_t>();
  }

  std::unique_ptr<storage::operations_store> ops_;
};

}  // namespace

TEST_F(incident_writes, create_incident_writes_its_row_its_alert_links_its_reported_event_and_its_delivery) {
  add_zone(square_zone("cheongho", 128.58, 38.19, 0.05, 1000));
  auto alerts = two_alerts();
  auto hook = json::parse(sync(ops().create_webhook("wh_000000000001", "http://127.0.0.1:9/a", {"incident.opened"}, "k"))).at("id");
  const std::int64_t reported = kst_us(2026, 3, 1, 23, 50) + 123456;  // with microseconds

  storage::incident_input in;
  in.category = "flood";
  in.location = d::point{128.60, 38.20};
  in.reported_us = reported;
  in.alerts = {alerts[1], alerts[0]};
  in.note = "water on the road";
  auto before = db_clock_us();
  auto id = create(in, "kim");
  auto after = db_clock_us();

  auto r = query_params(
      "SELECT category, zone_id, ST_X(location), ST_Y(location), ST_SRID(location), note, created_by, "
      "dispatched_at IS NULL AND on_scene_at IS NULL AND resolved_at IS NULL, created_at = updated_at "
      "FROM incidents WHERE id = $1",
      id);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "flood");
  EXPECT_EQ(r[0][1].as<std::string>(), "cheongho") << "derived from the location";
  EXPECT_NEAR(r[0][2].as<double>(), 128.60, 1e-12);
  EXPECT_NEAR(r[0][3].as<double>(), 38.20, 1e-12);
  EXPECT_EQ(r[0][4].as<int>(), 4326);
  EXPECT_EQ(r[0][5].as<std::string>(), "water on the road");
  EXPECT_EQ(r[0][6].as<std::string>(), "kim");
  EXPECT_TRUE(r[0][7].as<bool>()) << "no step but the report";
  EXPECT_TRUE(r[0][8].as<bool>());
  EXPECT_EQ(us_of("reported_at", id), reported) << "to the microsecond";
  auto created_at = us_of("created_at", id);
  EXPECT_GE(created_at, before);
  EXPECT_LE(created_at, after);

  std::set<std::int64_t> linked;
  for (const auto& row : query_params("SELECT alert_id FROM incident_alerts WHERE incident_id = $1", id))
    linked.insert(row[0].as<std::int64_t>());
  EXPECT_EQ(linked, (std::set<std::int64_t>{alerts[0], alerts[1]}));
  EXPECT_EQ(
      events(id),
      (std::vector<json>{{{"at", reported}, {"what", "reported"}, {"actor", "kim"}, {"note", "water on the road"}}}));
  auto d = query("SELECT webhook_id, event, body FROM webhook_deliveries");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0][0].as<std::string>(), hook.get<std::string>());
  EXPECT_EQ(d[0][1].as<std::string>(), "incident.opened");
  EXPECT_EQ(json::parse(d[0][2].as<std::string>()).at("data").at("id"), id);

  // No location, zone or note: NULLs, in the row and in its event.
  storage::incident_input bare;
  bare.category = "fire";
  bare.reported_us = reported;
  auto id2 = create(bare, "lee");
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE id = " + std::to_string(id2) +
                  " AND zone_id IS NULL AND location IS NULL AND note IS NULL"),
            1);
  EXPECT_EQ(events(id2),
            (std::vector<json>{{{"at", reported}, {"what", "reported"}, {"actor", "lee"}, {"note", nullptr}}}));
  EXPECT_EQ(count("SELECT count(*) FROM incident_alerts WHERE incident_id = " + std::to_string(id2)), 0);

  // A report naming an alert that does not exist, or a zone that does not: 422, and nothing of it
  // stays (the incident row was inserted before the link failed).
  auto counts = [&] {
    return std::vector<std::int64_t>{
        count("SELECT count(*) FROM incidents"), count("SELECT count(*) FROM incident_alerts"),
        count("SELECT count(*) FROM incident_events"), count("SELECT count(*) FROM webhook_deliveries")};
  };
  auto was = counts();
  storage::incident_input bad_alert = in;
  bad_alert.alerts = {alerts[0], 424242};
  auto r1 = sync(ops().create_incident(bad_alert, "kim"));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().kind, maeul::domain::problem_kind::invalid);
  storage::incident_input bad_zone = in;
  bad_zone.zone = "atlantis";
  auto r2 = sync(ops().create_incident(bad_zone, "kim"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind, maeul::domain::problem_kind::invalid);
  EXPECT_EQ(counts(), was);
}

TEST_F(incident_writes, patch_incident_stamps_each_step_and_appends_its_event) {
  const std::int64_t reported = utc_us(2026, 3, 1, 14, 50);
  storage::incident_input in;
  in.category = "flood";
  in.reported_us = reported;
  auto id = create(in, "kim");
  query_params(
      "UPDATE incidents SET created_at = created_at - interval '1 hour', updated_at = updated_at - "
      "interval '1 hour' WHERE id = $1",
      id);
  auto created_at = us_of("created_at", id);
  json::parse(sync(ops().create_webhook("wh_000000000002", "http://127.0.0.1:9/a", {"incident.updated"}, "k")));
  auto deliveries = [&] { return count("SELECT count(*) FROM webhook_deliveries WHERE event = 'incident.updated'"); };

  storage::incident_patch p1;
  p1.dispatched_us = reported + 3 * us_per_min;
  auto before = db_clock_us();
  auto s1 = sync(ops().patch_incident(id, p1, "park"));
  auto after = db_clock_us();
  ASSERT_TRUE(s1.ok()) << s1.error().describe();
  EXPECT_EQ(us_of("dispatched_at", id), reported + 3 * us_per_min);
  EXPECT_EQ(us_of("on_scene_at", id), -1);
  EXPECT_EQ(us_of("created_at", id), created_at);
  auto updated_at = us_of("updated_at", id);
  EXPECT_GE(updated_at, before);
  EXPECT_LE(updated_at, after);
  auto ev = events(id);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1],
            (json{{"at", reported + 3 * us_per_min}, {"what", "dispatched"}, {"actor", "park"}, {"note", nullptr}}));
  EXPECT_EQ(deliveries(), 1);

  storage::incident_patch p2;
  p2.on_scene_us = reported + 10 * us_per_min + 30 * us_per_s;
  p2.note = "crew on site";
  before = db_clock_us();
  auto s2 = sync(ops().patch_incident(id, p2, "park"));
  after = db_clock_us();
  ASSERT_TRUE(s2.ok()) << s2.error().describe();
  EXPECT_EQ(us_of("on_scene_at", id), reported + 10 * us_per_min + 30 * us_per_s);
  EXPECT_EQ(query_params("SELECT note FROM incidents WHERE id = $1", id)[0][0].as<std::string>(), "crew on site");
  ev = events(id);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[2], (json{{"at", reported + 10 * us_per_min + 30 * us_per_s},
                         {"what", "on_scene"},
                         {"actor", "park"},
                         {"note", nullptr}}));
  EXPECT_EQ(ev[3]["what"], "note");
  EXPECT_EQ(ev[3]["actor"], "park");
  EXPECT_EQ(ev[3]["note"], "crew on site");
  EXPECT_GE(ev[3]["at"].get<std::int64_t>(), before) << "a note is stamped when it is written";
  EXPECT_LE(ev[3]["at"].get<std::int64_t>(), after);
  EXPECT_EQ(deliveries(), 2);

  // A refused change (a step recorded already, with one in order beside it) writes nothing at all.
  auto stored = row_text(id);
  storage::incident_patch bad;
  bad.dispatched_us = reported + 4 * us_per_min;
  bad.resolved_us = reported + 20 * us_per_min;
  bad.note = "should not stay";
  auto refused = sync(ops().patch_incident(id, bad, "park"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, maeul::domain::problem_kind::conflict);
  EXPECT_EQ(row_text(id), stored);
  EXPECT_EQ(events(id).size(), 4u);
  EXPECT_EQ(deliveries(), 2);

  storage::incident_patch p3;
  p3.resolved_us = reported + 70 * us_per_min;
  ASSERT_TRUE(sync(ops().patch_incident(id, p3, "lee")).ok());
  EXPECT_EQ(us_of("resolved_at", id), reported + 70 * us_per_min);
  ev = events(id);
  std::vector<std::string> what, by;
  for (const auto& e : ev) {
    what.push_back(e["what"]);
    by.push_back(e["actor"]);
  }
  EXPECT_EQ(what, (std::vector<std::string>{"reported", "dispatched", "on_scene", "note", "resolved"}));
  EXPECT_EQ(by, (std::vector<std::string>{"kim", "park", "park", "park", "lee"}));
  EXPECT_EQ(ev[4]["at"], reported + 70 * us_per_min);
  EXPECT_EQ(deliveries(), 3);

  // An unknown incident: 404 and nothing written anywhere.
  auto total_events = count("SELECT count(*) FROM incident_events");
  auto missing = sync(ops().patch_incident(id + 1000, p2, "x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(count("SELECT count(*) FROM incident_events"), total_events);
  EXPECT_EQ(count("SELECT count(*) FROM incidents"), 1);
  EXPECT_EQ(deliveries(), 3);
}
