// Rules, alerts, incidents and webhooks in PostgreSQL. Each change to an alert or incident, its
// audit event and its webhook deliveries (the outbox) are one statement or one transaction.
#include "maeul/storage/operations.hpp"

#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "maeul/domain/encoding.hpp"
#include "maeul/storage/db_pool.hpp"
#include "sql_util.hpp"
#include "wire_sql.hpp"

namespace maeul::storage {
namespace {

using domain::make_problem;
using domain::problem_kind;
using json = nlohmann::json;

using sql::ts_of;
using wire::alert_object;

// Wraps a data-modifying CTE `a` (alerts rows RETURNING *) with its event and webhook outbox.
// $E: event name; actor and note are the given SQL expressions.
std::string change_sql(const std::string& a_cte, const std::string& event, const std::string& actor,
                       const std::string& note) {
  return "WITH a AS (" + a_cte + "), "
         "e AS (INSERT INTO alert_events (alert_id, event, actor, note, alert) SELECT a.id, '" + event + "', " + actor +
         ", " + note + ", " + alert_object("a") + "::jsonb FROM a RETURNING id, alert_id), "
         "w AS (INSERT INTO webhook_deliveries (id, webhook_id, event, body) OVERRIDING SYSTEM VALUE "
         "SELECT x.did, x.hid, 'alert." + event + "', " +
         wire::webhook_payload("x.did::text", "'alert." + event + "'", wire::webhook_alert_object("x")) + "::text FROM (SELECT "
         "nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) AS did, h.id AS hid, a.* FROM webhooks h, a "
         "WHERE 'alert." + event + "' = ANY (h.events)) x) "
         "SELECT e.id, " + alert_object("a") + "::text, coalesce(a.zone_id, ''), coalesce(a.domain, '') "
         "FROM e JOIN a ON a.id = e.alert_id ORDER BY e.id";
}

// $12 title and $13 text: {"ko","en"} as text ('' for none); $14 the stage reached (-1: unstaged).
const std::string open_sql = change_sql(
    "INSERT INTO alerts (rule_id, rule_name, kind, severity, state, subject, sensor_id, zone_id, domain, metric, value, "
    "message, title, text, stage, current_value) VALUES ($1, $2::jsonb, $3, $4, 'open', $5, NULLIF($6, ''), "
    "NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''), NULLIF($10, '')::float8, $11, NULLIF($12, '')::jsonb, "
    "NULLIF($13, '')::jsonb, NULLIF($14::int, -1), NULLIF($10, '')::float8) "
    "ON CONFLICT (rule_id, subject) WHERE state <> 'resolved' DO NOTHING RETURNING *",
    "opened", "'system'", "NULL");
// A staged rule's alert moved to another stage: its severity follows; a rise returns an
// acknowledged alert to open (the new stage asks for attention again) and restarts its escalation
// clock (severity_at); a fall below critical takes back the escalation. The condition holds: not cleared.
const std::string rises = "array_position(ARRAY['info','warning','critical'], $3::text) > "
                          "array_position(ARRAY['info','warning','critical'], severity)";
const std::string severity_sql = change_sql(
    "UPDATE alerts SET severity = $3, stage = NULLIF($4::int, -1), current_value = NULLIF($5, '')::float8, "
    "message = $6, title = coalesce(NULLIF($7, '')::jsonb, title), text = coalesce(NULLIF($8, '')::jsonb, text), "
    "severity_at = now(), cleared_at = NULL, "
    "escalated_at = CASE WHEN $3 = 'critical' THEN escalated_at END, "
    "state = CASE WHEN state = 'acknowledged' AND " + rises + " THEN 'open' ELSE state END, "
    "acknowledged_at = CASE WHEN state = 'acknowledged' AND " + rises + " THEN NULL ELSE acknowledged_at END, "
    "acknowledged_by = CASE WHEN state = 'acknowledged' AND " + rises + " THEN NULL ELSE acknowledged_by END "
    "WHERE rule_id = $1 AND subject = $2 AND state <> 'resolved' AND severity <> $3 RETURNING *",
    "severity_changed", "'system'", "$6");
// A staged alert that cleared and rises again (same parameters as severity_sql): no longer cleared,
// at the stage reached, back to open if it was acknowledged, its escalation clock restarted.
const std::string rearm_sql = change_sql(
    "UPDATE alerts SET severity = $3, stage = NULLIF($4::int, -1), current_value = NULLIF($5, '')::float8, "
    "message = $6, title = coalesce(NULLIF($7, '')::jsonb, title), text = coalesce(NULLIF($8, '')::jsonb, text), "
    "severity_at = now(), cleared_at = NULL, escalated_at = NULL, "
    "state = CASE WHEN state = 'acknowledged' THEN 'open' ELSE state END, "
    "acknowledged_at = CASE WHEN state = 'acknowledged' THEN NULL ELSE acknowledged_at END, "
    "acknowledged_by = CASE WHEN state = 'acknowledged' THEN NULL ELSE acknowledged_by END "
    "WHERE rule_id = $1 AND subject = $2 AND state <> 'resolved' AND cleared_at IS NOT NULL RETURNING *",
    "severity_changed", "'system'", "$6");
// $3: the username, '' to unassign.
const std::string assign_sql = change_sql(
    "UPDATE alerts SET assignee = NULLIF($3, ''), assigned_at = CASE WHEN $3 = '' THEN NULL ELSE now() END "
    "WHERE id = $1 AND state <> 'resolved' RETURNING *",
    "assigned", "$2", "CASE WHEN $3 = '' THEN 'unassigned' ELSE 'to ' || $3 END");
const std::string clear_sql = change_sql(
    "UPDATE alerts SET cleared_at = now() WHERE rule_id = $1 AND subject = $2 AND state <> 'resolved' "
    "AND cleared_at IS NULL RETURNING *",
    "cleared", "'system'", "$3");
const std::string ack_sql = change_sql(
    "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = $2, "
    "note = coalesce(NULLIF($3, ''), note) WHERE id = $1 AND state = 'open' RETURNING *",
    "acknowledged", "$2", "NULLIF($3, '')");
const std::string resolve_sql = change_sql(
    "UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = $2, "
    "note = coalesce(NULLIF($3, ''), note) WHERE id = $1 AND state IN ('open', 'acknowledged') RETURNING *",
    "resolved", "$2", "NULLIF($3, '')");
const std::string escalate_sql = change_sql(
    "UPDATE alerts SET escalated_at = now() WHERE state = 'open' AND severity = 'critical' AND escalated_at IS NULL "
    "AND cleared_at IS NULL "
    "AND coalesce(severity_at, opened_at) <= now() - $1 * interval '1 second' RETURNING *",
    "escalated", "'system'", "'not acknowledged in time'");

std::vector<alert_event> to_events(const pqxx::result& r, const std::string& event) {
  std::vector<alert_event> out;
  for (const auto& row : r)
    out.push_back({row[0].as<std::int64_t>(), event, row[1].as<std::string>(), row[2].as<std::string>(),
                   row[3].as<std::string>()});
  return out;
}

page to_page(const pqxx::result& r, int limit) {
  page p;
  for (int i = 0; i < int(r.size()) && i < limit; ++i) p.items.push_back(r[i][1].as<std::string>());
  if (int(r.size()) > limit) p.last_id = r[limit - 1][0].as<std::string>();
  return p;
}

std::int64_t after_id(const page_request& req) { return req.after.empty() ? 0 : std::stoll(req.after); }

// jsonb's text form has a space after every ':' and ','; answers are compact like every other.
std::string compact(const std::string& jsonb_text) { return json::parse(jsonb_text).dump(); }

const std::string rule_json = wire::rule_object() + "::text";

std::string incident_json_sql() { return "SELECT " + wire::incident_object("i") + "::text FROM incidents i"; }

std::string epoch_us(int k) { return "(timestamptz 'epoch' + $" + std::to_string(k) + "::bigint * interval '1 microsecond')"; }

std::string int_array(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "}";
}

std::string text_array(const std::vector<std::string>& v) {
  json j = v;
  return j.dump();
}

void incident_webhook(pqxx::work& tx, std::int64_t id, const std::string& event) {
  tx.exec_params("INSERT INTO webhook_deliveries (id, webhook_id, event, body) OVERRIDING SYSTEM VALUE SELECT x.did, "
                 "x.hid, $2, " + wire::webhook_payload("x.did::text", "$2::text", "x.d::json") +
                     "::text FROM (SELECT nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) "
                     "AS did, h.id AS hid, j.d FROM webhooks h, (" + incident_json_sql() + " WHERE i.id = $1) j(d) "
                     "WHERE $2 = ANY (h.events)) x",
                 id, event);
}

outcome<std::string> read_incident(pqxx::transaction_base& tx, std::int64_t id) {
  auto r = tx.exec_params(incident_json_sql() + " WHERE i.id = $1", id);
  if (r.empty()) return make_problem(problem_kind::not_found, "no incident with this id");
  return r[0][0].as<std::string>();
}

// An incident the care loop opens itself (actor "system", reported now, no location: a welfare
// incident names its zone, never the home), linked to `alerts`, with its reported event and webhooks.
std::int64_t open_system_incident(pqxx::work& tx, const std::string& category, const std::string& zone,
                                  const std::string& note, const std::string& alerts) {
  auto id = tx.exec_params1("INSERT INTO incidents (category, zone_id, reported_at, note, created_by) "
                            "VALUES ($1, NULLIF($2, ''), now(), $3, 'system') RETURNING id",
                            category, zone, note)[0]
                .as<std::int64_t>();
  tx.exec_params("INSERT INTO incident_alerts (incident_id, alert_id) SELECT $1, x FROM unnest($2::bigint[]) x", id, alerts);
  tx.exec_params("INSERT INTO incident_events (incident_id, at, what, actor, note) VALUES ($1, now(), 'reported', 'system', $2)",
                 id, note);
  incident_webhook(tx, id, "incident.opened");
  return id;
}

}  // namespace

// ---- rules

task<outcome<std::string>> operations_store::create_rule(rules::rule r) {
  return pool_.run<outcome<std::string>>([r](pqxx::connection_base& c) -> outcome<std::string> {
    try {
      pqxx::work tx(c);
      auto row = tx.exec_params1(
          "INSERT INTO rules (id, name, kind, selector, severity, enabled, spec) SELECT x.id, $2::jsonb, $3, "
          "$4::jsonb, $5, $6, jsonb_set($7::jsonb, '{id}', to_jsonb(x.id)) FROM (SELECT coalesce(NULLIF($1, ''), "
          "'rule_' || substr(md5(random()::text || clock_timestamp()::text), 1, 12)) AS id) x RETURNING " + rule_json,
          r.id, json::parse(r.spec_json)["name"].dump(), r.kind, json::parse(r.spec_json)["selector"].dump(), r.severity,
          r.enabled, r.spec_json);
      tx.commit();
      return compact(row[0].as<std::string>());
    } catch (const pqxx::unique_violation&) {
      return make_problem(problem_kind::conflict, "a rule with id \"" + r.id + "\" exists already");
    }
  });
}

task<outcome<std::string>> operations_store::replace_rule(rules::rule r) {
  return pool_.run<outcome<std::string>>([r](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::work tx(c);
    auto res = tx.exec_params(
        "UPDATE rules SET name = $2::jsonb, kind = $3, selector = $4::jsonb, severity = $5, enabled = $6, "
        "spec = $7::jsonb, updated_at = now() WHERE id = $1 RETURNING " + rule_json,
        r.id, json::parse(r.spec_json)["name"].dump(), r.kind, json::parse(r.spec_json)["selector"].dump(), r.severity,
        r.enabled, r.spec_json);
    tx.commit();
    if (res.empty()) return make_problem(problem_kind::not_found, "no rule with this id");
    return compact(res[0][0].as<std::string>());
  });
}

namespace {
// The rule's selector within the scope of $z (zones) and $z+1 (domains), comma-joined ('' = all).
std::string rule_in_scope(int z) {
  auto p = [](int n) { return "$" + std::to_string(n); };
  return " AND (" + p(z) + " = '' OR NOT selector ? 'zone' OR selector->>'zone' = ANY(string_to_array(" + p(z) +
         ", ','))) AND (" + p(z + 1) + " = '' OR NOT selector ? 'domain' OR selector->>'domain' = "
         "ANY(string_to_array(" + p(z + 1) + ", ',')))";
}
}  // namespace

task<outcome<std::string>> operations_store::get_rule(std::string id, scope in) {
  return pool_.run<outcome<std::string>>([id, in](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT " + rule_json + " FROM rules WHERE id = $1" + rule_in_scope(2), id, in.zones,
                            in.domains);
    if (r.empty()) return make_problem(problem_kind::not_found, "no rule with this id");
    return compact(r[0][0].as<std::string>());
  });
}

task<outcome<bool>> operations_store::delete_rule(std::string id) {
  return pool_.run<outcome<bool>>([id](pqxx::connection_base& c) -> outcome<bool> {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM rules WHERE id = $1 RETURNING id", id);
    tx.commit();
    if (r.empty()) return make_problem(problem_kind::not_found, "no rule with this id");
    return true;
  });
}

task<page> operations_store::list_rules(page_request req, scope in) {
  return pool_.run<page>([req, in](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto p = to_page(tx.exec_params("SELECT id, " + rule_json + " FROM rules WHERE id > $1" + rule_in_scope(3) +
                                        " ORDER BY id LIMIT $2",
                                    req.after, req.limit + 1, in.zones, in.domains),
                     req.limit);
    for (auto& item : p.items) item = compact(item);
    return p;
  });
}

task<std::vector<std::pair<std::string, std::string>>> operations_store::active_subjects() {
  return pool_.run<std::vector<std::pair<std::string, std::string>>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row :
         tx.exec("SELECT rule_id, subject FROM alerts WHERE state <> 'resolved' AND cleared_at IS NULL ORDER BY id"))
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return out;
  });
}

task<std::vector<rules::rule>> operations_store::all_rules() {
  return pool_.run<std::vector<rules::rule>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<rules::rule> out;
    for (const auto& row : tx.exec("SELECT spec::text FROM rules ORDER BY id"))
      out.push_back(rules::rule_from_spec(row[0].as<std::string>()));
    return out;
  });
}

// ---- alerts

namespace {

// The unit of a sensor's metric, "" when unknown.
std::string unit_of(pqxx::work& tx, const std::string& sensor, const std::string& metric) {
  if (sensor.empty() || metric.empty()) return {};
  auto r = tx.exec_params("SELECT coalesce(m->>'unit', '') FROM sensors s, jsonb_array_elements(s.metrics) m "
                          "WHERE s.id = $1 AND m->>'name' = $2 LIMIT 1",
                          sensor, metric);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string localized_json(const domain::localized_name& n) { return json{{"ko", n.ko}, {"en", n.en}}.dump(); }

// A rule's alert reached critical: the open incident of its category in the alert's zone gets the
// alert, or one is opened (API §12). Serialized per (category, zone) by a transaction lock, so two
// alerts turning critical at once, in one instance or several, make one incident.
// The note names the alert and its rule, never the sensor: incidents, their webhooks and the handover
// are read by roles that see welfare alerts only by household pseudonym (API §8).
void incident_for_alert(pqxx::work& tx, const std::string& category, const std::string& zone, std::int64_t alert_id,
                        const std::string& rule_id) {
  tx.exec_params("SELECT pg_advisory_xact_lock(7303, hashtext($1 || '/' || $2))", category, zone);
  auto open = tx.exec_params("SELECT id FROM incidents WHERE category = $1 AND zone_id IS NOT DISTINCT FROM NULLIF($2, '') "
                             "AND resolved_at IS NULL ORDER BY id LIMIT 1",
                             category, zone);
  const std::string what = "alert " + std::to_string(alert_id) + " of rule " + rule_id + " is critical";
  if (open.empty()) {
    open_system_incident(tx, category, zone, what, "{" + std::to_string(alert_id) + "}");
    return;
  }
  auto id = open[0][0].as<std::int64_t>();
  auto added = tx.exec_params("INSERT INTO incident_alerts (incident_id, alert_id) VALUES ($1, $2) ON CONFLICT DO NOTHING "
                              "RETURNING alert_id",
                              id, alert_id);
  if (added.empty()) return;
  tx.exec_params("INSERT INTO incident_events (incident_id, what, actor, note) VALUES ($1, 'alert_attached', 'system', $2)",
                 id, what);
  tx.exec_params("UPDATE incidents SET updated_at = now() WHERE id = $1", id);
  incident_webhook(tx, id, "incident.updated");
}

}  // namespace

task<std::vector<alert_event>> operations_store::apply(std::vector<rules::transition> ts, std::vector<rules::rule> rs) {
  return pool_.run<std::vector<alert_event>>([ts, rs](pqxx::connection_base& c) {
    pqxx::work tx(c, "alerts");
    std::vector<alert_event> out;
    std::map<std::string, std::string> units;  // "sensor\nmetric" -> unit, for this call
    for (const auto& t : ts) {
      if (t.open) {
        auto r = std::find_if(rs.begin(), rs.end(), [&](const rules::rule& x) { return x.id == t.rule_id; });
        if (r == rs.end()) continue;
        json name;
        if (!r->name.ko.empty()) name["ko"] = r->name.ko;
        if (!r->name.en.empty()) name["en"] = r->name.en;
        char value[40] = "";
        if (t.value) std::snprintf(value, sizeof value, "%.17g", *t.value);
        const std::string severity = t.severity.empty() ? r->severity : t.severity;
        auto key = t.sensor + "\n" + t.metric;
        auto u = units.find(key);
        if (u == units.end()) u = units.emplace(key, unit_of(tx, t.sensor, t.metric)).first;
        auto words = rules::describe_alert(*r, t.sensor, t.metric, t.value, u->second, severity, t.stage, t.message);
        if (!t.message_ko.empty()) words.text.ko = t.message_ko;
        const auto title = localized_json(words.title), text = localized_json(words.text);
        std::vector<alert_event> evs;
        if (t.severity_change)
          evs = to_events(tx.exec_params(severity_sql, t.rule_id, t.subject, severity, t.stage, std::string(value),
                                         t.message, title, text),
                          "severity_changed");
        // An open alert (or, when its open was coalesced away, none yet: then it opens at this stage).
        if (!t.severity_change || (evs.empty() && tx.exec_params("SELECT 1 FROM alerts WHERE rule_id = $1 AND subject = $2 "
                                                                 "AND state <> 'resolved'",
                                                                 t.rule_id, t.subject)
                                                      .empty()))
          evs = to_events(tx.exec_params(open_sql, t.rule_id, name.dump(), r->kind, severity, t.subject, t.sensor, t.zone,
                                         t.domain, t.metric, std::string(value), t.message, title, text, t.stage),
                          "opened");
        // A staged alert that cleared (not resolved) and whose value rises again: it returns at the
        // stage reached, instead of staying cleared at its old severity (no escalation, no incident).
        if (evs.empty() && !t.severity_change && t.stage >= 0)
          evs = to_events(tx.exec_params(rearm_sql, t.rule_id, t.subject, severity, t.stage, std::string(value), t.message,
                                         title, text),
                          "severity_changed");
        for (auto& e : evs) {
          if (!r->incident_category.empty() && severity == "critical") {
            auto j = json::parse(e.alert_json);
            incident_for_alert(tx, r->incident_category, e.zone, j["id"].get<std::int64_t>(), r->id);
          }
          out.push_back(std::move(e));
        }
      } else {
        auto res = tx.exec_params(clear_sql, t.rule_id, t.subject, t.message);
        for (auto& e : to_events(res, "cleared")) out.push_back(std::move(e));
      }
    }
    tx.commit();
    return out;
  });
}

task<std::vector<active_subject>> operations_store::active_subject_stages() {
  return pool_.run<std::vector<active_subject>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<active_subject> out;
    for (const auto& row : tx.exec("SELECT rule_id, subject, coalesce(stage, -1) FROM alerts WHERE state <> 'resolved' "
                                   "AND cleared_at IS NULL ORDER BY id"))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>()});
    return out;
  });
}

task<outcome<alert_event>> operations_store::assign(std::int64_t id, std::string to, std::string actor) {
  return pool_.run<outcome<alert_event>>([id, to, actor](pqxx::connection_base& c) -> outcome<alert_event> {
    pqxx::work tx(c);
    if (!to.empty()) {
      auto u = tx.exec_params("SELECT role, disabled FROM users WHERE username = $1", to);
      if (u.empty()) return domain::invalid({{"/to", {}, "no user \"" + to + "\""}});
      if (u[0][1].as<bool>()) return domain::invalid({{"/to", {}, "the user \"" + to + "\" is disabled"}});
      auto role = u[0][0].as<std::string>();
      if (role != "admin" && role != "operator" && role != "welfare_officer")
        return domain::invalid({{"/to", {}, "the user \"" + to + "\" (" + role + ") cannot act on alerts"}});
    }
    auto r = tx.exec_params(assign_sql, id, actor, to);
    if (r.empty()) {
      auto st = tx.exec_params("SELECT state FROM alerts WHERE id = $1", id);
      if (st.empty()) return make_problem(problem_kind::not_found, "no alert with this id");
      return make_problem(problem_kind::conflict, "the alert is " + st[0][0].as<std::string>() + " already");
    }
    tx.commit();
    return to_events(r, "assigned").front();
  });
}

namespace {
outcome<alert_event> change(pqxx::connection_base& c, const std::string& sql_text, const char* event, std::int64_t id,
                            const std::string& actor, const std::string& note) {
  pqxx::work tx(c);
  auto r = tx.exec_params(sql_text, id, actor, note);
  if (r.empty()) {
    auto st = tx.exec_params("SELECT state FROM alerts WHERE id = $1", id);
    if (st.empty()) return make_problem(problem_kind::not_found, "no alert with this id");
    return make_problem(problem_kind::conflict, "the alert is " + st[0][0].as<std::string>() + " already");
  }
  tx.commit();
  return to_events(r, event).front();
}
}  // namespace

task<outcome<alert_event>> operations_store::acknowledge(std::int64_t id, std::string actor, std::string note) {
  return pool_.run<outcome<alert_event>>(
      [id, actor, note](pqxx::connection_base& c) { return change(c, ack_sql, "acknowledged", id, actor, note); });
}

task<outcome<alert_event>> operations_store::resolve(std::int64_t id, std::string actor, std::string note) {
  return pool_.run<outcome<alert_event>>(
      [id, actor, note](pqxx::connection_base& c) { return change(c, resolve_sql, "resolved", id, actor, note); });
}

task<std::vector<alert_event>> operations_store::escalate(int after_s) {
  return pool_.run<std::vector<alert_event>>([after_s](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(escalate_sql, after_s);
    tx.commit();
    return to_events(r, "escalated");
  });
}

// The care loop of the emergency safety service (docs/welfare.md, "The care loop").
// Only the homes that are watched climb: not one whose consent has lapsed or whose resident was
// erased (their readings are withheld or refused, so a silence there means nothing).
const std::string watched_household =
    "NOT EXISTS (SELECT 1 FROM sensors ws JOIN residents wr ON wr.household = ws.attributes->>'household' "
    "WHERE ws.id = a.sensor_id AND (wr.erased_at IS NOT NULL OR wr.consent_expires_at <= now()))";
const std::string welfare_escalate_sql = change_sql(
    "UPDATE alerts a SET escalated_at = now() WHERE a.domain = 'welfare' AND a.kind <> 'consent' AND a.state = 'open' "
    "AND a.cleared_at IS NULL AND a.escalated_at IS NULL AND a.opened_at <= now() - $1 * interval '1 second' AND " +
        watched_household + " RETURNING a.*",
    "escalated", "'system'", "'to the welfare officer: not acknowledged by the care worker in time'");

const std::string consent_renewed_sql = change_sql(
    "UPDATE alerts a SET state = 'resolved', resolved_at = now(), resolved_by = 'system', note = CASE WHEN "
    "r.erased_at IS NULL THEN 'consent renewed' ELSE 'resident erased' END "
    "FROM residents r WHERE a.rule_id = 'welfare:consent-lapsed' AND a.state <> 'resolved' AND r.household = a.subject "
    "AND (r.erased_at IS NOT NULL OR r.consent_expires_at IS NULL OR r.consent_expires_at > now()) RETURNING a.*",
    "resolved", "'system'", "a.note");

task<welfare_ladder_result> operations_store::welfare_ladder(welfare_ladder_options o) {
  return pool_.run<welfare_ladder_result>([o](pqxx::connection_base& c) {
    pqxx::work tx(c, "welfare-ladder");
    // One ladder at a time across instances.
    welfare_ladder_result out;
    if (!tx.exec("SELECT pg_try_advisory_xact_lock(7302)")[0][0].as<bool>()) return out;
    // 1. care worker -> welfare officer
    out.escalated = to_events(tx.exec_params(welfare_escalate_sql, o.officer_after_s), "escalated");
    const std::string unlinked = "NOT EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.alert_id = a.id)";
    // 2. a fire or an emergency call: a critical incident at once (119)
    for (const auto& r : tx.exec("SELECT a.id, coalesce(a.zone_id, ''), s.kind FROM alerts a JOIN sensors s ON s.id = "
                                 "a.sensor_id WHERE a.domain = 'welfare' AND a.severity = 'critical' AND a.state <> "
                                 "'resolved' AND s.kind IN ('emergency_button', 'fire', 'smoke', 'fire_detector', "
                                 "'smoke_detector') AND " + unlinked + " ORDER BY a.id")) {
      auto kind = r[2].as<std::string>();
      bool fire = kind != "emergency_button";
      auto id = open_system_incident(tx, fire ? "fire" : "welfare_emergency", r[1].as<std::string>(),
                                     std::string(fire ? "fire sensor" : "emergency button") + " in a household: alert " +
                                         r[0].as<std::string>() + " (call 119)",
                                     "{" + r[0].as<std::string>() + "}");
      out.incidents.push_back(id);
    }
    // 3. still not acknowledged: a visit task for the care worker
    for (const auto& r : tx.exec_params("SELECT a.id, coalesce(a.zone_id, '') FROM alerts a WHERE a.domain = 'welfare' "
                                        "AND a.kind <> 'consent' AND a.state = 'open' AND a.cleared_at IS NULL AND "
                                        "a.opened_at <= now() - $1 * interval '1 second' AND " + unlinked + " AND " +
                                            watched_household + " ORDER BY a.id",
                                        o.visit_after_s))
      out.incidents.push_back(open_system_incident(tx, "welfare_visit", r[1].as<std::string>(),
                                                   "visit the household: alert " + r[0].as<std::string>() +
                                                       " not acknowledged in time",
                                                   "{" + r[0].as<std::string>() + "}"));
    // 4. a visit not made in time: an incident for 119, on the same alerts
    for (const auto& r : tx.exec_params(
             "SELECT i.id, coalesce(i.zone_id, ''), (SELECT array_agg(ia.alert_id ORDER BY ia.alert_id) FROM "
             "incident_alerts ia WHERE ia.incident_id = i.id)::text FROM incidents i WHERE i.category = 'welfare_visit' "
             "AND i.resolved_at IS NULL AND i.on_scene_at IS NULL AND i.reported_at <= now() - $1 * interval '1 second' "
             // 119 only while the case is still a case: some linked alert neither cleared (the
             // resident stirred) nor resolved, in a home that is watched
             "AND EXISTS (SELECT 1 FROM incident_alerts l JOIN alerts a ON a.id = l.alert_id WHERE l.incident_id = i.id "
             "AND a.cleared_at IS NULL AND a.state <> 'resolved' AND " + watched_household + ") "
             "AND NOT EXISTS (SELECT 1 FROM incident_alerts v JOIN incident_alerts w ON w.alert_id = v.alert_id JOIN "
             "incidents e ON e.id = w.incident_id WHERE v.incident_id = i.id AND e.category = 'welfare_emergency') "
             "ORDER BY i.id",
             o.emergency_after_s))
      out.incidents.push_back(open_system_incident(tx, "welfare_emergency", r[1].as<std::string>(),
                                                   "no visit on the scene in time (task " + r[0].as<std::string>() +
                                                       "): call 119",
                                                   r[2].is_null() ? "{}" : r[2].as<std::string>()));
    // 5. a lapsed consent: one alert to the welfare officer per lapse (its readings are kept only as
    // a count until the consent is renewed), resolved by the system once it is.
    for (const auto& r : tx.exec("SELECT r.household, r.zone_id, to_char(r.consent_expires_at AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD') FROM residents r WHERE r.erased_at IS NULL AND r.consent_expires_at <= now() "
                                 "AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.rule_id = 'welfare:consent-lapsed' AND "
                                 "a.subject = r.household AND a.opened_at >= r.consent_expires_at) ORDER BY r.household")) {
      auto hh = r[0].as<std::string>();
      auto ev = to_events(
          tx.exec_params(open_sql, "welfare:consent-lapsed", R"({"ko":"동의 만료","en":"Consent lapsed"})", "consent",
                         "warning", hh, "", r[1].as<std::string>(), "welfare", "", "",
                         "the consent of household " + hh + " lapsed on " + r[2].as<std::string>() +
                             ": its readings are kept only as a count until it is renewed",
                         json{{"ko", "동의 만료 · " + hh}, {"en", "Consent lapsed · " + hh}}.dump(),
                         json{{"ko", "세대 " + hh + "의 동의가 " + r[2].as<std::string>() +
                                         "에 만료됨: 갱신할 때까지 측정값은 건수로만 보관합니다"},
                              {"en", "The consent of household " + hh + " lapsed on " + r[2].as<std::string>() +
                                         ": its readings are kept only as a count until it is renewed"}}
                             .dump(),
                         -1),
          "opened");
      out.escalated.insert(out.escalated.end(), ev.begin(), ev.end());
    }
    auto renewed = to_events(tx.exec(consent_renewed_sql), "resolved");
    out.escalated.insert(out.escalated.end(), renewed.begin(), renewed.end());
    tx.commit();
    return out;
  });
}

task<outcome<std::string>> operations_store::get_alert(std::int64_t id) {
  return pool_.run<outcome<std::string>>([id](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT " + alert_object("al") + "::text FROM alerts al WHERE al.id = $1", id);
    if (r.empty()) return make_problem(problem_kind::not_found, "no alert with this id");
    return r[0][0].as<std::string>();
  });
}

task<page> operations_store::list_alerts(alert_filter f, page_request req) {
  return pool_.run<page>([f, req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(
        "SELECT al.id, " + alert_object("al") + "::text FROM alerts al WHERE ($1 = '' OR al.state = $1 OR "
        "($1 = 'active' AND al.state <> 'resolved')) AND ($2 = '' OR al.zone_id = $2) AND ($3 = '' OR al.domain = $3) "
        "AND ($4 = '' OR al.severity = $4) AND ($5 = 0 OR al.id < $5) "
        "AND ($7 = '' OR al.zone_id = ANY(string_to_array($7, ','))) "
        "AND ($8 = '' OR al.domain = ANY(string_to_array($8, ','))) "
        "AND ($9 = '' OR ($9 = '-' AND al.assignee IS NULL) OR al.assignee = $9) ORDER BY al.id DESC LIMIT $6",
        f.state, f.zone, f.domain, f.severity, after_id(req), req.limit + 1, f.sc.zones, f.sc.domains, f.assignee);
    return to_page(r, req.limit);
  });
}

task<outcome<std::string>> operations_store::alert_events_of(std::int64_t id) {
  return pool_.run<outcome<std::string>>([id](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    if (tx.exec_params("SELECT 1 FROM alerts WHERE id = $1", id).empty())
      return make_problem(problem_kind::not_found, "no alert with this id");
    auto r = tx.exec_params(
        "SELECT " + wire::alert_audit_list("e") + "::text FROM alert_events e WHERE e.alert_id = $1", id);
    return r[0][0].as<std::string>();
  });
}

task<std::vector<alert_event>> operations_store::events_since(std::int64_t since, int limit) {
  return pool_.run<std::vector<alert_event>>([since, limit](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    // The alert as of the event (its snapshot), falling back to its current state for old events.
    auto r = tx.exec_params("SELECT e.id, e.event, coalesce(e.alert::json, " + alert_object("al") + ")::text, "
                            "coalesce(al.zone_id, ''), coalesce(al.domain, ''), " + ts_of("e", "at") +
                            " FROM alert_events e JOIN alerts al ON al.id = e.alert_id WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                            since, limit);
    std::vector<alert_event> out;
    for (const auto& row : r)
      out.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>(), row[4].as<std::string>()});
    return out;
  });
}

task<std::int64_t> operations_store::last_event_id() {
  return pool_.run<std::int64_t>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return tx.exec("SELECT coalesce(max(id), 0) FROM alert_events")[0][0].as<std::int64_t>();
  });
}

// ---- incidents

task<outcome<std::string>> operations_store::create_incident(incident_input in, std::string actor) {
  return pool_.run<outcome<std::string>>([in, actor](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::work tx(c);
    if (!in.zone.empty() && tx.exec_params("SELECT 1 FROM zones WHERE id = $1", in.zone).empty())
      return domain::invalid({{"/zone", {}, "no zone with id \"" + in.zone + "\""}});
    try {
      auto row = tx.exec_params1(
          "INSERT INTO incidents (category, zone_id, location, reported_at, note, created_by) SELECT $1, "
          "coalesce(NULLIF($2, ''), CASE WHEN $3 THEN (SELECT z.id FROM zones z WHERE ST_Covers(z.boundary, "
          "ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326)) ORDER BY z.id LIMIT 1) END), CASE WHEN $3 THEN "
          "ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326) END, " + epoch_us(6) + ", NULLIF($7, ''), $8 "
          "RETURNING id",
          in.category, in.zone, in.location.has_value(), in.location ? in.location->lon : 0.0,
          in.location ? in.location->lat : 0.0, in.reported_us, in.note, actor);
      auto id = row[0].as<std::int64_t>();
      tx.exec_params("INSERT INTO incident_alerts (incident_id, alert_id) SELECT $1, x FROM unnest($2::bigint[]) x",
                     id, int_array(in.alerts));
      tx.exec_params("INSERT INTO incident_events (incident_id, at, what, actor, note) VALUES ($1, " + epoch_us(2) +
                         ", 'reported', $3, NULLIF($4, ''))",
                     id, in.reported_us, actor, in.note);
      incident_webhook(tx, id, "incident.opened");
      auto out = read_incident(tx, id);
      tx.commit();
      return out;
    } catch (const pqxx::foreign_key_violation&) {
      return domain::invalid({{"/alerts", {}, "names an alert that does not exist"}});
    }
  });
}

task<outcome<std::string>> operations_store::patch_incident(std::int64_t id, incident_patch p, std::string actor) {
  return pool_.run<outcome<std::string>>([id, p, actor](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::work tx(c);
    auto cur = tx.exec_params(
        "SELECT (extract(epoch FROM reported_at) * 1000000)::bigint, (extract(epoch FROM dispatched_at) * 1000000)::bigint, "
        "(extract(epoch FROM on_scene_at) * 1000000)::bigint, (extract(epoch FROM resolved_at) * 1000000)::bigint "
        "FROM incidents WHERE id = $1 FOR UPDATE",
        id);
    if (cur.empty()) return make_problem(problem_kind::not_found, "no incident with this id");
    auto opt = [&](int k) -> std::optional<std::int64_t> {
      if (cur[0][k].is_null()) return std::nullopt;
      return cur[0][k].as<std::int64_t>();
    };
    std::int64_t reported = *opt(0);
    auto dispatched = opt(1), on_scene = opt(2), resolved = opt(3);
    std::vector<domain::field_error> errors;
    // The steps happen once each and in order: reported <= dispatched <= on scene <= resolved;
    // nothing moves after resolved.
    auto step = [&](const std::optional<std::int64_t>& given, std::optional<std::int64_t>& have, const char* field,
                    std::optional<std::int64_t> not_before, const char* what, const char* needs) {
      if (!given) return;
      if (have) {
        errors.push_back({std::string("/") + field, {}, std::string(what) + " is recorded already"});
        return;
      }
      if (resolved && std::string(what) != "resolved") {
        errors.push_back({std::string("/") + field, {}, "the incident is resolved already"});
        return;
      }
      if (!not_before) {
        errors.push_back({std::string("/") + field, {}, std::string("needs ") + needs + " first"});
        return;
      }
      if (*given < *not_before) {
        errors.push_back({std::string("/") + field, {}, "must not be before the previous step"});
        return;
      }
      have = given;
      tx.exec_params(std::string("UPDATE incidents SET ") + field + " = " + epoch_us(2) +
                         ", updated_at = now() WHERE id = $1",
                     id, *given);
      tx.exec_params("INSERT INTO incident_events (incident_id, at, what, actor) VALUES ($1, " + epoch_us(2) +
                         ", $3, $4)",
                     id, *given, std::string(what), actor);
    };
    step(p.dispatched_us, dispatched, "dispatched_at", std::optional<std::int64_t>(reported), "dispatched", "");
    step(p.on_scene_us, on_scene, "on_scene_at", dispatched, "on_scene", "dispatched_at");
    step(p.resolved_us, resolved, "resolved_at",
         std::optional<std::int64_t>(std::max({reported, dispatched.value_or(reported), on_scene.value_or(reported)})),
         "resolved", "");
    if (!errors.empty()) return domain::problem{problem_kind::conflict, "the incident timeline refuses this change", errors};
    if (p.note && !p.note->empty()) {
      tx.exec_params("UPDATE incidents SET note = $2, updated_at = now() WHERE id = $1", id, *p.note);
      tx.exec_params("INSERT INTO incident_events (incident_id, what, actor, note) VALUES ($1, 'note', $2, $3)", id,
                     actor, *p.note);
    }
    incident_webhook(tx, id, "incident.updated");
    auto out = read_incident(tx, id);
    tx.commit();
    return out;
  });
}

task<outcome<std::string>> operations_store::get_incident(std::int64_t id) {
  return pool_.run<outcome<std::string>>([id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return read_incident(tx, id);
  });
}

task<page> operations_store::list_incidents(std::string state, std::string zone, page_request req, scope sc) {
  return pool_.run<page>([state, zone, req, sc](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT i.id, " + wire::incident_object("i") + "::text FROM incidents i"
                                " WHERE ($1 = '' OR ($1 = 'open') = (i.resolved_at IS NULL)) AND ($2 = '' OR i.zone_id = $2) "
                                "AND ($3 = 0 OR i.id < $3) AND ($5 = '' OR i.zone_id = ANY(string_to_array($5, ','))) "
                                "ORDER BY i.id DESC LIMIT $4",
                            state, zone, after_id(req), req.limit + 1, sc.zones);
    return to_page(r, req.limit);
  });
}

// ---- playbooks and steps

namespace {
const std::string playbook_json = wire::playbook_object() + "::text";
}

task<std::vector<std::string>> operations_store::list_playbooks() {
  return pool_.run<std::vector<std::string>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec("SELECT " + playbook_json + " FROM playbooks ORDER BY category LIMIT 1000"))
      out.push_back(compact(row[0].as<std::string>()));
    return out;
  });
}

task<outcome<std::string>> operations_store::get_playbook(std::string category) {
  return pool_.run<outcome<std::string>>([category](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT " + playbook_json + " FROM playbooks WHERE category = $1", category);
    if (r.empty()) return make_problem(problem_kind::not_found, "no playbook for this category");
    return compact(r[0][0].as<std::string>());
  });
}

task<std::string> operations_store::put_playbook(std::string category, std::string steps_json, std::string actor,
                                                 bool* created) {
  auto call = pool_.run<std::pair<std::string, bool>>([category, steps_json, actor](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("INSERT INTO playbooks (category, steps, updated_by) VALUES ($1, $2::jsonb, $3) "
                            "ON CONFLICT (category) DO UPDATE SET steps = EXCLUDED.steps, updated_by = EXCLUDED.updated_by, "
                            "updated_at = now() RETURNING " + playbook_json + ", (xmax = 0)",
                            category, steps_json, actor);
    tx.commit();
    return std::pair<std::string, bool>(compact(r[0][0].as<std::string>()), r[0][1].as<bool>());
  });
  auto res = co_await std::move(call);
  if (created) *created = res.second;
  co_return res.first;
}

task<outcome<std::string>> operations_store::set_step(std::int64_t incident, std::string step, bool done,
                                                      std::string note, std::string actor) {
  return pool_.run<outcome<std::string>>([=](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::work tx(c);
    auto cur = tx.exec_params("SELECT category, resolved_at IS NOT NULL FROM incidents WHERE id = $1 FOR UPDATE", incident);
    if (cur.empty()) return make_problem(problem_kind::not_found, "no incident with this id");
    if (tx.exec_params("SELECT 1 FROM playbooks pb, jsonb_array_elements(pb.steps) s WHERE pb.category = $1 AND "
                       "s->>'id' = $2",
                       cur[0][0].as<std::string>(), step)
            .empty())
      return make_problem(problem_kind::not_found,
                          "no step \"" + step + "\" in the playbook of " + cur[0][0].as<std::string>() + " incidents");
    if (cur[0][1].as<bool>()) return make_problem(problem_kind::conflict, "the incident is resolved already");
    tx.exec_params("INSERT INTO incident_steps (incident_id, step_id, done, actor, note) VALUES ($1, $2, $3, $4, "
                   "NULLIF($5, '')) ON CONFLICT (incident_id, step_id) DO UPDATE SET done = EXCLUDED.done, at = now(), "
                   "actor = EXCLUDED.actor, note = EXCLUDED.note",
                   incident, step, done, actor, note);
    tx.exec_params("INSERT INTO incident_events (incident_id, what, actor, note) VALUES ($1, $2, $3, $4)", incident,
                   std::string(done ? "step_done" : "step_undone"), actor, note.empty() ? step : step + ": " + note);
    tx.exec_params("UPDATE incidents SET updated_at = now() WHERE id = $1", incident);
    incident_webhook(tx, incident, "incident.updated");
    auto out = read_incident(tx, incident);
    tx.commit();
    return out;
  });
}

task<operations_store::handover_data> operations_store::handover(std::int64_t since_us, scope sc) {
  return pool_.run<handover_data>([since_us, sc](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    handover_data out;
    const std::string since = epoch_us(1);
    for (const auto& row : tx.exec_params(
             "SELECT " + alert_object("al") + "::text FROM alerts al WHERE (al.state <> 'resolved' OR EXISTS (SELECT 1 "
             "FROM alert_events e WHERE e.alert_id = al.id AND e.at >= " + since + ")) "
             "AND ($2 = '' OR al.zone_id = ANY(string_to_array($2, ','))) "
             "AND ($3 = '' OR al.domain = ANY(string_to_array($3, ','))) ORDER BY al.id DESC LIMIT 500",
             since_us, sc.zones, sc.domains))
      out.alerts.push_back(row[0].as<std::string>());
    for (const auto& row : tx.exec_params(
             "SELECT " + wire::incident_object("i") + "::text FROM incidents i WHERE (i.resolved_at IS NULL OR "
             "i.updated_at >= " + since + " OR EXISTS (SELECT 1 FROM incident_events v WHERE v.incident_id = i.id AND "
             "v.at >= " + since + ")) AND ($2 = '' OR i.zone_id = ANY(string_to_array($2, ','))) "
             "ORDER BY i.id DESC LIMIT 200",
             since_us, sc.zones))
      out.incidents.push_back(row[0].as<std::string>());
    for (const auto& row : tx.exec_params(
             "SELECT n.j::text, coalesce(n.zone, ''), coalesce(n.domain, '') FROM ("
             "SELECT e.at, e.id, json_build_object('at', " + sql::ts_of("e", "at") + ", 'by', e.actor, 'note', e.note, "
             "'alert', e.alert_id) AS j, a.zone_id AS zone, a.domain FROM alert_events e JOIN alerts a ON a.id = "
             "e.alert_id WHERE e.at >= " + since + " AND e.note IS NOT NULL AND e.actor <> 'system' "
             "UNION ALL SELECT v.at, v.id, json_build_object('at', " + sql::ts_of("v", "at") + ", 'by', v.actor, 'note', "
             "v.note, 'incident', v.incident_id), i.zone_id, NULL FROM incident_events v JOIN incidents i ON i.id = "
             "v.incident_id WHERE v.at >= " + since + " AND v.note IS NOT NULL AND v.what IN ('note', 'step_done', "
             "'step_undone', 'reported')) n ORDER BY n.at, n.id LIMIT 500",
             since_us))
      out.notes.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    return out;
  });
}

// ---- webhooks

namespace {
const std::string webhook_json = wire::webhook_object() + "::text";
}

task<std::string> operations_store::create_webhook(std::string id, std::string url, std::vector<std::string> events,
                                                   std::string sealed_secret) {
  return pool_.run<std::string>([id, url, events, sealed = domain::hex(sealed_secret)](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params1(
        "INSERT INTO webhooks (id, url, events, secret_sealed) VALUES ($1, $2, "
        "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), decode($4, 'hex')) RETURNING " +
            webhook_json,
        id, url, text_array(events), sealed);
    tx.commit();
    return r[0].as<std::string>();
  });
}

task<page> operations_store::list_webhooks(page_request req) {
  return pool_.run<page>([req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return to_page(tx.exec_params("SELECT id, " + webhook_json + " FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2",
                                  req.after, req.limit + 1),
                   req.limit);
  });
}

task<bool> operations_store::delete_webhook(std::string id) {
  return pool_.run<bool>([id](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM webhooks WHERE id = $1 RETURNING id", id);
    tx.commit();
    return !r.empty();
  });
}

task<outcome<std::string>> operations_store::deliveries_of(std::string id, int limit) {
  return pool_.run<outcome<std::string>>([id, limit](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    if (tx.exec_params("SELECT 1 FROM webhooks WHERE id = $1", id).empty())
      return make_problem(problem_kind::not_found, "no webhook with this id");
    auto r = tx.exec_params("SELECT " + wire::delivery_list("d") + "::text FROM (SELECT * FROM webhook_deliveries "
                            "WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2) d",
                            id, limit);
    return r[0][0].as<std::string>();
  });
}

task<std::vector<delivery>> operations_store::claim_deliveries(int limit, int lease_s, int per_webhook,
                                                                std::vector<std::pair<std::string, int>> busy) {
  nlohmann::json in_flight = nlohmann::json::object();
  for (const auto& [hook, n] : busy) in_flight[hook] = n;
  return pool_.run<std::vector<delivery>>([limit, lease_s, per_webhook, busy = in_flight.dump()](pqxx::connection_base& c) {
    pqxx::work tx(c);
    // Per webhook, its oldest due deliveries up to its free slots (so one receiver with a long
    // backlog never hides the others' deliveries), then the oldest due of those overall.
    auto r = tx.exec_params(
        "UPDATE webhook_deliveries d SET next_at = now() + $2 * interval '1 second' FROM webhooks h "
        "WHERE d.webhook_id = h.id AND d.id IN (SELECT c.id FROM webhooks w CROSS JOIN LATERAL ("
        "SELECT id, next_at FROM webhook_deliveries WHERE webhook_id = w.id AND state = 'pending' AND next_at <= now() "
        "ORDER BY next_at, id LIMIT greatest(0, $3 - coalesce(($4::jsonb ->> w.id)::int, 0)) "
        "FOR UPDATE SKIP LOCKED) c ORDER BY c.next_at, c.id LIMIT $1) "
        "RETURNING d.id, h.url, coalesce(h.secret, ''), d.event, d.body, d.attempts, h.id, "
        "coalesce(encode(h.secret_sealed, 'hex'), '')",
        limit, lease_s, per_webhook, busy);
    tx.commit();
    std::vector<delivery> out;
    for (const auto& row : r) {
      delivery d{row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                 row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<int>(), row[6].as<std::string>(), {}};
      if (auto bytes = domain::unhex(row[7].as<std::string>())) d.sealed_secret = std::move(*bytes);
      out.push_back(std::move(d));
    }
    return out;
  });
}

task<bool> operations_store::finish_delivery(std::int64_t id, int status, std::string error, int max_attempts) {
  return pool_.run<bool>([id, status, error, max_attempts](pqxx::connection_base& c) {
    pqxx::work tx(c);
    bool ok = status >= 200 && status < 300;
    auto r = tx.exec_params(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = NULLIF($2, 0), "
        "last_error = NULLIF($3, ''), state = CASE WHEN $4 THEN 'delivered' WHEN attempts + 1 >= $5 THEN 'dead' "
        "ELSE 'pending' END, delivered_at = CASE WHEN $4 THEN now() END, next_at = now() + "
        "least(600, power(2, attempts)) * interval '1 second' WHERE id = $1 AND state = 'pending' RETURNING state",
        id, status, error, ok, max_attempts);
    tx.commit();
    return !r.empty() && r[0][0].as<std::string>() == "dead";
  });
}

task<std::vector<std::pair<std::string, std::int64_t>>> operations_store::drop_excess_deliveries(std::int64_t keep) {
  return pool_.run<std::vector<std::pair<std::string, std::int64_t>>>([keep](pqxx::connection_base& c) {
    pqxx::work tx(c);
    // Per webhook, everything pending past its `keep` newest (by id: the order events happened).
    auto r = tx.exec_params(
        "WITH x AS (SELECT o.id FROM webhooks w CROSS JOIN LATERAL (SELECT id FROM webhook_deliveries "
        "WHERE webhook_id = w.id AND state = 'pending' ORDER BY id DESC OFFSET $1) o), "
        "d AS (UPDATE webhook_deliveries SET state = 'dead', next_at = now(), "
        "last_error = 'dropped: more than ' || $1 || ' deliveries were pending for this webhook "
        "(webhooks.max_pending_per_webhook); the oldest are dropped' "
        "WHERE id IN (SELECT id FROM x) AND state = 'pending' RETURNING webhook_id) "
        "SELECT webhook_id, count(*) FROM d GROUP BY webhook_id ORDER BY webhook_id",
        keep);
    tx.commit();
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<std::int64_t>());
    return out;
  });
}

task<int> operations_store::reseal_webhook_secrets(
    std::function<std::optional<std::string>(const webhook_secret&)> reseal) {
  return pool_.run<int>([reseal = std::move(reseal)](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto rows = tx.exec("SELECT id, secret, coalesce(encode(secret_sealed, 'hex'), '') FROM webhooks ORDER BY id FOR UPDATE");
    int n = 0;
    for (const auto& row : rows) {
      webhook_secret w{row[0].as<std::string>(), std::nullopt, {}};
      if (!row[1].is_null()) w.plain = row[1].as<std::string>();
      if (auto bytes = domain::unhex(row[2].as<std::string>())) w.sealed = std::move(*bytes);
      auto sealed = reseal(w);
      if (!sealed) continue;
      tx.exec_params("UPDATE webhooks SET secret_sealed = decode($2, 'hex'), secret = NULL WHERE id = $1", w.id,
                     domain::hex(*sealed));
      ++n;
    }
    tx.commit();
    return n;
  });
}

}  // namespace maeul::storage

namespace maeul::storage {

task<void> operations_store::load_pseudonym_key() {
  auto call = pool_.run<std::string>([](pqxx::connection_base& c) {
    unsigned char fresh[32];
    if (RAND_bytes(fresh, sizeof fresh) != 1) throw std::runtime_error("RAND_bytes failed");
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO instance_keys (name, key) VALUES ('household_pseudonym', $1) ON CONFLICT DO NOTHING",
                   domain::hex(std::string_view(reinterpret_cast<char*>(fresh), sizeof fresh)));
    auto r = tx.exec1("SELECT key FROM instance_keys WHERE name = 'household_pseudonym'");
    tx.commit();
    return r[0].as<std::string>();
  });
  auto key = co_await std::move(call);  // (named: no temporaries inside a co_await with g++ 12)
  pseudonym_key_ = std::move(key);
}

std::string operations_store::pseudonym(const std::string& subject) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), pseudonym_key_.data(), static_cast<int>(pseudonym_key_.size()),
       reinterpret_cast<const unsigned char*>(subject.data()), subject.size(), md, &len);
  return "hh-" + domain::hex(std::string_view(reinterpret_cast<char*>(md), 8));
}

std::string operations_store::masked(const std::string& alert_json) const {
  auto j = json::parse(alert_json, nullptr, false);
  if (!j.is_object() || j.value("domain", json()) != "welfare") return {};
  auto sensor = j.value("sensor", json());
  std::string household;
  if (sensor.is_string()) {
    // The household the sensor names (a registered resident's pseudonym), else one derived from it.
    if (households_) household = households_->household_of(sensor.get<std::string>());
    if (household.empty()) household = pseudonym(sensor.get<std::string>());
  } else if (auto msg = j.value("message", json()); msg.is_string()) {
    // An alert about a household rather than a sensor (the consent alert) names it in its message.
    const auto& m = msg.get_ref<const std::string&>();
    if (auto at = m.find("hh-"); at != std::string::npos && at + 19 <= m.size() &&
                                 m.find_first_not_of("0123456789abcdef", at + 3) >= at + 19)
      household = m.substr(at, 19);
  }
  return domain::masked_welfare_alert(alert_json, household);
}

}  // namespace maeul::storage
