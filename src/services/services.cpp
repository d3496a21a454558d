// Application services: each state change with the invariants that go with it (services.hpp).
#include "maeul/services/services.hpp"
#include "maeul/services/welfare.hpp"

#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "maeul/ingest/ingest.hpp"
#include "maeul/services/access.hpp"
#include "maeul/storage/operations.hpp"
#include "maeul/ops/ops.hpp"
#include "maeul/ops/webhook_policy.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/storage/kpi_store.hpp"

namespace maeul::services {

std::string actor_of(const principal& who) { return who.name + " (" + who.role + ")"; }

// ---- registry

task<outcome<std::string>> registry_service::create_zone(principal, domain::zone_input z) {
  co_return co_await store_.create_zone(std::move(z));
}
task<outcome<std::string>> registry_service::replace_zone(principal, domain::zone_input z) {
  co_return co_await store_.replace_zone(std::move(z));
}
task<outcome<bool>> registry_service::delete_zone(principal, std::string id) {
  co_return co_await store_.delete_zone(std::move(id));
}

task<outcome<std::string>> registry_service::create_sensor(principal, domain::sensor_input s) {
  auto id = s.id;
  auto domain = s.domain;
  auto attributes = nlohmann::json::parse(s.attributes_json, nullptr, false);
  if (welfare_)
    if (auto p = welfare_->check_sensor(domain, attributes)) co_return *p;
  auto res = co_await store_.create_sensor(std::move(s));
  ingest_.invalidate(id);  // a reading that named it before it existed was cached as unknown
  if (res && welfare_) welfare_->sensor_changed(id, domain, attributes);
  co_return res;
}
task<outcome<std::string>> registry_service::replace_sensor(principal, domain::sensor_input s) {
  auto id = s.id;
  auto domain = s.domain;
  auto attributes = nlohmann::json::parse(s.attributes_json, nullptr, false);
  if (welfare_)
    if (auto p = welfare_->check_sensor(domain, attributes)) co_return *p;
  auto res = co_await store_.replace_sensor(std::move(s));
  ingest_.invalidate(id);
  if (res && welfare_) welfare_->sensor_changed(id, domain, attributes);
  co_return res;
}
task<outcome<bool>> registry_service::delete_sensor(principal, std::string id) {
  auto res = co_await store_.delete_sensor(id);
  ingest_.invalidate(id);
  if (res && welfare_) welfare_->book().forget_sensor(id);
  co_return res;
}

task<outcome<std::string>> registry_service::create_facility(principal, domain::facility_input f) {
  co_return co_await store_.create_facility(std::move(f));
}
task<outcome<std::string>> registry_service::replace_facility(principal, domain::facility_input f) {
  co_return co_await store_.replace_facility(std::move(f));
}
task<outcome<bool>> registry_service::delete_facility(principal, std::string id) {
  co_return co_await store_.delete_facility(std::move(id));
}

// ---- observations

task<ingest::result> observation_service::ingest(principal who, domain::parsed_batch batch) {
  // A device token writes only the sensors it names, and one that names none writes nothing; an
  // admin writes any.
  std::optional<std::vector<std::string>> allowed;
  if (who.role == "device") allowed = who.sensors;
  co_return co_await ingest_.ingest(std::move(batch), std::move(allowed));
}

// ---- operations

task<outcome<std::string>> operations_service::create_rule(principal, rules::rule r) {
  auto res = co_await store_.create_rule(std::move(r));
  if (res) co_await ops_.load_rules();  // in effect before the answer: the next reading sees the rule
  co_return res;
}
task<outcome<std::string>> operations_service::replace_rule(principal, rules::rule r) {
  auto res = co_await store_.replace_rule(std::move(r));
  if (res) co_await ops_.load_rules();
  co_return res;
}
task<outcome<bool>> operations_service::delete_rule(principal, std::string id) {
  auto res = co_await store_.delete_rule(std::move(id));
  if (res) co_await ops_.load_rules();
  co_return res;
}

namespace {

// An alert or incident object's zone and domain ("" when absent or null).
std::pair<std::string, std::string> place_of(const std::string& object_json) {
  auto j = nlohmann::json::parse(object_json, nullptr, false);
  auto text = [&](const char* k) {
    return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  return {text("zone"), text("domain")};
}

// An alert object as `who` may see it: welfare alerts reach those who may not read welfare data
// with the household's pseudonym only (storage::operations_store::masked).
std::string seen_by(const principal& who, const storage::operations_store& store, std::string alert_json) {
  if (access::reads_values(who, "welfare")) return alert_json;
  auto m = store.masked(alert_json);
  return m.empty() ? alert_json : m;
}

domain::problem out_of_scope(const char* what) {
  return domain::make_problem(domain::problem_kind::not_found, std::string("no ") + what + " with this id");
}

}  // namespace

task<outcome<domain::alert_event>> operations_service::change_alert(principal who, std::string action, std::int64_t id,
                                                                      std::string note) {
  // An alert outside the principal's scope does not exist for it (API §8).
  auto current = co_await store_.get_alert(id);
  if (!current) co_return current.error();
  if (auto [zone, dom] = place_of(current.value()); !access::in_scope(who, zone, dom)) co_return out_of_scope("alert");
  auto actor = actor_of(who);
  // (no co_await inside ?: — g++ 12 destroys its temporaries wrongly)
  std::optional<outcome<domain::alert_event>> res;
  if (action == "ack")
    res.emplace(co_await store_.acknowledge(id, actor, note));
  else
    res.emplace(co_await store_.resolve(id, actor, note));
  if (*res) {
    std::vector<domain::alert_event> one;
    one.push_back(res->value());
    ops_.publish(one);
    res->value().alert_json = seen_by(who, store_, std::move(res->value().alert_json));
  }
  co_return std::move(*res);
}

task<outcome<domain::alert_event>> operations_service::assign_alert(principal who, std::int64_t id, std::string to) {
  auto current = co_await store_.get_alert(id);
  if (!current) co_return current.error();
  if (auto [zone, dom] = place_of(current.value()); !access::in_scope(who, zone, dom)) co_return out_of_scope("alert");
  auto res = co_await store_.assign(id, std::move(to), actor_of(who));
  if (res) {
    std::vector<domain::alert_event> one;
    one.push_back(res.value());
    ops_.publish(one);
    res.value().alert_json = seen_by(who, store_, std::move(res.value().alert_json));
  }
  co_return res;
}

task<std::vector<operations_service::ack_outcome>> operations_service::ack_alerts(principal who,
                                                                                  std::vector<std::int64_t> ids,
                                                                                  std::string note) {
  std::vector<ack_outcome> out;
  const auto actor = actor_of(who);
  std::vector<domain::alert_event> done;
  for (auto id : ids) {
    ack_outcome o;
    o.id = id;
    auto current = co_await store_.get_alert(id);
    if (!current) {
      o.outcome = "not_found";
    } else if (auto [zone, dom] = place_of(current.value()); !access::in_scope(who, zone, dom)) {
      o.outcome = "not_found";  // out of scope reads exactly like absent
    } else {
      auto res = co_await store_.acknowledge(id, actor, note);
      if (res) {
        o.outcome = "acknowledged";
        done.push_back(res.value());
        o.alert_json = seen_by(who, store_, res.value().alert_json);
      } else {
        // Lost a race or was not open: say what it is now.
        auto now = co_await store_.get_alert(id);
        auto state = now ? nlohmann::json::parse(now.value()).value("state", std::string()) : std::string();
        o.outcome = state == "resolved" ? "resolved" : state == "acknowledged" ? "already_acknowledged" : "not_found";
        if (now) o.alert_json = seen_by(who, store_, now.value());
      }
    }
    out.push_back(std::move(o));
  }
  if (!done.empty()) ops_.publish(done);
  co_return out;
}

task<std::string> operations_service::put_playbook(principal who, std::string category, std::string steps_json,
                                                   bool* created) {
  co_return co_await store_.put_playbook(std::move(category), std::move(steps_json), actor_of(who), created);
}

task<outcome<std::string>> operations_service::set_step(principal who, std::int64_t incident, std::string step,
                                                        bool done, std::string note) {
  // An incident outside the principal's zones does not exist for it.
  auto current = co_await store_.get_incident(incident);
  if (!current) co_return current;
  if (!access::zone_in_scope(who, place_of(current.value()).first)) co_return out_of_scope("incident");
  co_return co_await store_.set_step(incident, std::move(step), done, std::move(note), actor_of(who));
}

task<outcome<std::string>> operations_service::create_incident(principal who, storage::incident_input in) {
  if (!who.zones.empty() && !access::zone_in_scope(who, in.zone))
    co_return domain::invalid({{"/zone", {}, in.zone.empty() ? "is required of a principal limited to zones"
                                                               : "is outside the zones you may act in"}});
  co_return co_await store_.create_incident(std::move(in), actor_of(who));
}
task<outcome<std::string>> operations_service::patch_incident(principal who, std::int64_t id,
                                                                storage::incident_patch p) {
  if (!who.zones.empty()) {
    auto current = co_await store_.get_incident(id);
    if (!current) co_return current;
    if (!access::zone_in_scope(who, place_of(current.value()).first)) co_return out_of_scope("incident");
  }
  co_return co_await store_.patch_incident(id, std::move(p), actor_of(who));
}

std::optional<std::string> operations_service::refuse_webhook_url(const std::string& url) const {
  return ops::refuse_webhook_url(url, ops_.allow_private());
}

task<outcome<std::string>> operations_service::create_webhook(principal, std::string url,
                                                              std::vector<std::string> events, std::string secret) {
  // The id is chosen here so that the sealed secret can be bound to it (associated data).
  unsigned char raw[6];
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  randombytes_buf(raw, sizeof raw);
  std::string id = "wh_" + domain::hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  auto sealed = ops_.seal_secret(secret, id);
  sodium_memzero(secret.data(), secret.size());
  if (!sealed)
    co_return domain::make_problem(domain::problem_kind::unavailable,
                                   "webhooks cannot be registered: no key to seal their secrets "
                                   "(set webhooks.secret_key_file; docs/operations.md)");
  co_return co_await store_.create_webhook(std::move(id), std::move(url), std::move(events), std::move(*sealed));
}
task<bool> operations_service::delete_webhook(principal, std::string id) {
  co_return co_await store_.delete_webhook(std::move(id));
}

// ---- tokens

task<storage::created_token> token_service::create(principal who, domain::token_input t) {
  co_return co_await store_.create(std::move(t), actor_of(who));
}
task<bool> token_service::revoke(principal who, std::string id) {
  bool ok = co_await store_.revoke(id, actor_of(who));
  if (ok && on_revoked_) on_revoked_(id);
  co_return ok;
}

// ---- KPIs

task<outcome<std::vector<storage::kpi_value>>> kpi_service::values(principal who, std::string kpi_domain,
                                                                    storage::kpi_query q) {
  if (!access::domain_in_scope(who, kpi_domain) || (!q.zone.empty() && !access::zone_in_scope(who, q.zone)))
    co_return domain::make_problem(domain::problem_kind::not_found,
                                   q.zone.empty() ? "no KPI with this id" : "no zone with this id");
  kpi::walking_model walk;  // (named: no temporaries inside a co_await with g++ 12)
  auto values = co_await store_.values(q, walk);
  if (!who.zones.empty())
    std::erase_if(values, [&](const storage::kpi_value& v) { return v.zone && !access::zone_in_scope(who, *v.zone); });
  co_return values;
}

task<outcome<storage::accessibility>> kpi_service::access(principal who, std::string zone, double minutes,
                                                          kpi::walking_model walk) {
  auto not_found = domain::make_problem(domain::problem_kind::not_found, "no zone with this id");
  if (!access::zone_in_scope(who, zone)) co_return not_found;
  auto acc = co_await store_.access(std::move(zone), minutes, walk);
  if (acc.empty()) co_return not_found;
  co_return std::move(acc[0]);
}

task<outcome<std::string>> kpi_service::create_budget(principal, std::string id, std::string body_json) {
  co_return co_await store_.create_budget(std::move(id), std::move(body_json));
}
task<outcome<std::string>> kpi_service::replace_budget(principal, std::string id, std::string body_json) {
  co_return co_await store_.replace_budget(std::move(id), std::move(body_json));
}
task<outcome<bool>> kpi_service::delete_budget(principal, std::string id) {
  co_return co_await store_.delete_budget(std::move(id));
}

// ---- the read side: the access matrix's data rules (services/access.hpp)

namespace {

domain::problem hidden(const char* what) {
  // Out of scope reads exactly like absent: nothing tells a caller what it may not see.
  return domain::make_problem(domain::problem_kind::not_found, std::string("no ") + what + " with this id");
}

bool sees_sensor(const principal& who, const storage::sensor_meta& m) {
  return access::sees_values(who, m.zone, m.domain);
}

}  // namespace

task<storage::page> query_service::zones(principal who, storage::page_request req) {
  co_return co_await store_.list_zones(std::move(req), access::scope_of(who));
}

task<outcome<std::string>> query_service::zone(principal who, std::string id) {
  if (!access::zone_in_scope(who, id)) co_return hidden("zone");
  co_return co_await store_.get_zone(std::move(id));
}

task<storage::page> query_service::sensors(principal who, storage::sensor_filter f, storage::page_request req) {
  co_return co_await store_.list_sensors(std::move(f), std::move(req), access::scope_of(who));
}

task<outcome<std::string>> query_service::sensor(principal who, std::string id) {
  auto meta = co_await ingest_.meta_of(id);
  if (!meta || !sees_sensor(who, *meta)) co_return hidden("sensor");
  co_return co_await store_.get_sensor(std::move(id));
}

task<storage::page> query_service::facilities(principal who, storage::facility_filter f, storage::page_request req) {
  co_return co_await store_.list_facilities(std::move(f), std::move(req), access::scope_of(who));
}

task<outcome<std::string>> query_service::facility(principal who, std::string id) {
  auto f = co_await store_.get_facility(std::move(id));
  if (!f || who.zones.empty()) co_return f;
  auto j = nlohmann::json::parse(f.value());
  auto z = j.contains("zone") && j["zone"].is_string() ? j["zone"].get<std::string>() : std::string();
  if (!access::zone_in_scope(who, z)) co_return hidden("facility");
  co_return f;
}

task<outcome<std::vector<domain::reading_event>>> query_service::latest_of(principal who, std::string sensor) {
  auto meta = co_await ingest_.meta_of(sensor);
  if (!meta || !sees_sensor(who, *meta)) co_return hidden("sensor");
  auto items = co_await ingest_.latest_of(std::move(sensor));
  if (!items) co_return hidden("sensor");
  co_return std::move(*items);
}

std::vector<domain::reading_event> query_service::latest(const principal& who, const std::string& domain,
                                                         const std::string& zone, const std::string& kind) const {
  auto items = ingest_.latest(domain, zone, kind);
  std::erase_if(items, [&](const domain::reading_event& r) { return !access::sees_values(who, r.zone, r.domain); });
  return items;
}

std::string query_service::as_seen(const principal& who, std::string alert_json) const {
  return seen_by(who, ops_, std::move(alert_json));
}

task<void> query_service::with_current_values(std::vector<std::string>* alerts) {
  // The latest values are in memory (ingest); one lookup per sensor however many alerts it has.
  std::map<std::string, std::optional<std::vector<domain::reading_event>>> by_sensor;
  for (auto& text : *alerts) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j["sensor"].is_string() || !j["metric"].is_string()) continue;
    auto sensor = j["sensor"].get<std::string>();
    auto it = by_sensor.find(sensor);
    if (it == by_sensor.end()) {
      auto latest = co_await ingest_.latest_of(sensor);
      it = by_sensor.emplace(sensor, std::move(latest)).first;  // bounded by the page: at most 1000
    }
    if (it == by_sensor.end() || !it->second) continue;
    for (const auto& r : *it->second)
      if (r.metric == j["metric"].get_ref<const std::string&>()) {
        j["current_value"] = r.value;
        text = j.dump();
        break;
      }
  }
}

task<storage::page> query_service::alerts(principal who, storage::alert_filter f, storage::page_request req) {
  f.sc = access::scope_of(who);
  auto p = co_await ops_.list_alerts(std::move(f), std::move(req));
  co_await with_current_values(&p.items);
  for (auto& item : p.items) item = as_seen(who, std::move(item));
  co_return p;
}

task<outcome<std::string>> query_service::alert(principal who, std::int64_t id) {
  auto a = co_await ops_.get_alert(id);
  if (!a) co_return a;
  auto [zone, dom] = place_of(a.value());
  if (!access::in_scope(who, zone, dom)) co_return hidden("alert");
  std::vector<std::string> one{std::move(a.value())};
  co_await with_current_values(&one);
  co_return as_seen(who, std::move(one[0]));
}

task<outcome<std::string>> query_service::alert_events(principal who, std::int64_t id) {
  auto a = co_await alert(who, id);
  if (!a) co_return a;
  auto trail = co_await ops_.alert_events_of(id);
  if (!trail || access::reads_values(who, "welfare") || place_of(a.value()).second != "welfare") co_return trail;
  // A welfare alert seen by pseudonym only: the system's notes carry the readings ("heart_rate 38 <
  // 40", "level back to 7"), so they are withheld; people's notes (an acknowledgement's) stay.
  auto j = nlohmann::json::parse(trail.value());
  for (auto& e : j["items"])
    if (e.value("actor", "") == "system") e["note"] = nullptr;
  co_return j.dump();
}

task<std::vector<domain::alert_event>> query_service::events(principal who, std::int64_t since, int limit) {
  // Pages of the feed until `limit` events in scope or its end, so a caller paging by `since`
  // never sees an empty page while events it may see remain (at most 20 pages per request).
  std::vector<domain::alert_event> out;
  for (int round = 0; round < 20 && int(out.size()) < limit; ++round) {
    auto page = co_await ops_.events_since(since, limit);
    for (auto& e : page) {
      since = e.event_id;
      if (access::in_scope(who, e.zone, e.domain) && int(out.size()) < limit) {
        e.alert_json = as_seen(who, std::move(e.alert_json));
        out.push_back(std::move(e));
      }
    }
    if (int(page.size()) < limit) break;
  }
  co_return out;
}

task<storage::page> query_service::incidents(principal who, std::string state, std::string zone,
                                             storage::page_request req) {
  co_return co_await ops_.list_incidents(std::move(state), std::move(zone), std::move(req), access::scope_of(who));
}

task<outcome<std::string>> query_service::incident(principal who, std::int64_t id) {
  auto i = co_await ops_.get_incident(id);
  if (!i || who.zones.empty()) co_return i;
  if (!access::zone_in_scope(who, place_of(i.value()).first)) co_return hidden("incident");
  co_return i;
}

task<std::string> query_service::handover(principal who, std::int64_t since_us, std::int64_t now_us) {
  using nlohmann::json;
  auto data = co_await ops_.handover(since_us, access::scope_of(who));
  co_await with_current_values(&data.alerts);
  auto ts = [](std::int64_t us) { return domain::format_rfc3339_ms(us); };
  json out;
  out["since"] = ts(since_us);
  out["generated_at"] = ts(now_us);
  json alerts = json::array(), incidents = json::array(), done = json::array(), pending = json::array(),
       notes = json::array();
  int open_alerts = 0, critical = 0, unassigned = 0, open_incidents = 0;
  for (auto& a : data.alerts) {
    auto j = json::parse(as_seen(who, std::move(a)));
    if (j["state"] != "resolved") {
      ++open_alerts;
      critical += j["severity"] == "critical";
      unassigned += j["assignee"].is_null();
    }
    alerts.push_back(std::move(j));
  }
  for (const auto& i : data.incidents) {
    auto j = json::parse(i);
    const bool open = j["state"] == "open";
    open_incidents += open;
    for (const auto& st : j["steps"]) {
      json one = {{"incident", j["id"]}, {"category", j["category"]}, {"step", st["id"]}, {"text", st["text"]},
                  {"role", st["role"]}};
      if (st["done"].get<bool>() && st["at"].is_string() && domain::parse_rfc3339(st["at"].get<std::string>()).value_or(0) >= since_us) {
        one["at"] = st["at"];
        one["by"] = st["by"];
        one["note"] = st["note"];
        done.push_back(std::move(one));
      } else if (!st["done"].get<bool>() && open) {
        pending.push_back(std::move(one));
      }
    }
    incidents.push_back(std::move(j));
  }
  for (const auto& n : data.notes) {
    if (!access::in_scope(who, n.zone, n.domain)) continue;
    // Notes on welfare alerts are written by those who know the household: only for those who may read it.
    if (n.domain == "welfare" && !access::reads_values(who, "welfare")) continue;
    notes.push_back(json::parse(n.json));
  }
  out["summary"] = {{"open_alerts", open_alerts}, {"critical_alerts", critical}, {"unassigned_alerts", unassigned},
                    {"open_incidents", open_incidents}, {"steps_done", done.size()}, {"steps_pending", pending.size()}};
  out["alerts"] = std::move(alerts);
  out["incidents"] = std::move(incidents);
  out["steps"] = {{"done", std::move(done)}, {"pending", std::move(pending)}};
  out["notes"] = std::move(notes);
  co_return out.dump();
}

task<storage::page> query_service::rules(principal who, storage::page_request req) {
  co_return co_await ops_.list_rules(req, access::scope_of(who));
}

task<outcome<std::string>> query_service::rule(principal who, std::string id) {
  co_return co_await ops_.get_rule(std::move(id), access::scope_of(who));
}

task<outcome<std::int32_t>> query_service::series_of(principal who, std::string sensor, std::string metric,
                                                     std::vector<std::string>* metrics_out) {
  auto meta = co_await ingest_.meta_of(sensor);
  if (!meta || !sees_sensor(who, *meta)) co_return hidden("sensor");
  auto id = co_await ingest_.series_id(std::move(sensor), std::move(metric), metrics_out);
  if (!id) co_return hidden("sensor");
  co_return *id;
}

}  // namespace maeul::services
