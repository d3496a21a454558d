// Application services: the only way to change Maeul's state. One per resource family; each takes
// the principal asking, and keeps the invariants that go with a change itself — the sensor index
// forgets a changed sensor, the rule engine reloads a changed rule set, an operator's alert change
// is emitted to the event sink, a revoked token is forgotten by the authenticator. Every door (the
// HTTP API today; MQTT, the spool replayer, a CLI import tomorrow) calls these, never the stores'
// write methods, so no door can skip an invariant. Reads may go to the stores directly.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/events.hpp"
#include "maeul/domain/observation.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::storage {
class operations_store;
class kpi_store;
struct incident_input;
struct incident_patch;
struct alert_filter;
}  // namespace maeul::storage
namespace maeul::ingest {
class service;
struct result;
}  // namespace maeul::ingest
namespace maeul::storage {
class observation_store;
struct series_query;
struct series_point;
}  // namespace maeul::storage
namespace maeul::ops {
class service;
}  // namespace maeul::ops

namespace maeul::services {

template <class T>
using outcome = domain::outcome<T>;
using storage::principal;

// "name (role)": how a principal is named in audit trails (acknowledged_by, timelines).
std::string actor_of(const principal& who);

class welfare_service;

// Zones, sensors and facilities. A sensor write makes the ingest index forget the sensor; a welfare
// sensor that names a household (attributes.household) must name a registered one, and the
// household book follows every sensor write (services/welfare.hpp).
class registry_service {
 public:
  registry_service(storage::registry& store, ingest::service& ingest) : store_(store), ingest_(ingest) {}
  // Set once before serving (none: households are not checked).
  void set_welfare(welfare_service& w) { welfare_ = &w; }

  task<outcome<std::string>> create_zone(principal who, domain::zone_input z);
  task<outcome<std::string>> replace_zone(principal who, domain::zone_input z);
  task<outcome<bool>> delete_zone(principal who, std::string id);

  task<outcome<std::string>> create_sensor(principal who, domain::sensor_input s);
  task<outcome<std::string>> replace_sensor(principal who, domain::sensor_input s);
  task<outcome<bool>> delete_sensor(principal who, std::string id);

  task<outcome<std::string>> create_facility(principal who, domain::facility_input f);
  task<outcome<std::string>> replace_facility(principal who, domain::facility_input f);
  task<outcome<bool>> delete_facility(principal who, std::string id);

 private:
  storage::registry& store_;
  ingest::service& ingest_;
  welfare_service* welfare_ = nullptr;
};

// Readings from any door: a device principal writes only the sensors its token names.
class observation_service {
 public:
  explicit observation_service(ingest::service& ingest) : ingest_(ingest) {}
  task<ingest::result> ingest(principal who, domain::parsed_batch batch);

 private:
  ingest::service& ingest_;
};

// Rules, alerts, incidents and webhooks. A rule change is in effect before the call completes;
// an alert change is emitted to the event sink once committed.
class operations_service {
 public:
  operations_service(storage::operations_store& store, ops::service& ops) : store_(store), ops_(ops) {}

  task<outcome<std::string>> create_rule(principal who, rules::rule r);
  task<outcome<std::string>> replace_rule(principal who, rules::rule r);
  task<outcome<bool>> delete_rule(principal who, std::string id);

  // action: "ack" or "resolve".
  task<outcome<domain::alert_event>> change_alert(principal who, std::string action, std::int64_t id, std::string note);
  // Assigns an alert of the principal's scope to a user ("" unassigns); storage::operations_store::assign.
  task<outcome<domain::alert_event>> assign_alert(principal who, std::int64_t id, std::string to);
  // Acknowledges several alerts at once, each on its own (one failing leaves the others done).
  // Per id, in the order given: "acknowledged" (with the alert), "already_acknowledged",
  // "resolved" (too late to acknowledge), or "not_found" (unknown, or outside the caller's scope:
  // the two look the same).
  struct ack_outcome {
    std::int64_t id = 0;
    std::string outcome;
    std::string alert_json;  // the alert as the caller sees it; "" for not_found
  };
  task<std::vector<ack_outcome>> ack_alerts(principal who, std::vector<std::int64_t> ids, std::string note);

  // Creates or replaces the playbook of an incident category (`steps_json` validated:
  // rules::parse_playbook_steps); `created` tells which.
  task<std::string> put_playbook(principal who, std::string category, std::string steps_json, bool* created);
  // Marks a step of an incident of the principal's scope done or not (storage: set_step).
  task<outcome<std::string>> set_step(principal who, std::int64_t incident, std::string step, bool done,
                                      std::string note);

  task<outcome<std::string>> create_incident(principal who, storage::incident_input in);
  task<outcome<std::string>> patch_incident(principal who, std::int64_t id, storage::incident_patch p);

  // Why `url` cannot be a webhook's (the /url field error's detail), or nullopt (ops/webhook_policy.hpp,
  // with webhooks.allow_private).
  std::optional<std::string> refuse_webhook_url(const std::string& url) const;
  // Stores the webhook with its secret sealed (never in clear); 503 when no key is set
  // (webhooks.secret_key_file), so that no secret is stored unsealed.
  task<outcome<std::string>> create_webhook(principal who, std::string url, std::vector<std::string> events,
                                            std::string secret);
  task<bool> delete_webhook(principal who, std::string id);

 private:
  storage::operations_store& store_;
  ops::service& ops_;
};

// API tokens. A revoked token is forgotten by every cache that holds it (`on_revoked`).
class token_service {
 public:
  token_service(storage::token_store& store, std::function<void(const std::string& token_id)> on_revoked)
      : store_(store), on_revoked_(std::move(on_revoked)) {}
  task<storage::created_token> create(principal who, domain::token_input t);
  task<bool> revoke(principal who, std::string id);

 private:
  storage::token_store& store_;
  std::function<void(const std::string&)> on_revoked_;
};

// The read side of the registry and the readings, with the access matrix's data rules
// (services/access.hpp): lists hold only what the principal's scope covers, a single item outside
// it is 404 as if it did not exist, and welfare sensors and their values only reach admin and
// welfare_officer (403 for a welfare sensor's values to a role that sees welfare only otherwise).
class query_service {
 public:
  query_service(storage::registry& store, ingest::service& ingest, storage::operations_store& ops)
      : store_(store), ingest_(ingest), ops_(ops) {}

  task<storage::page> zones(principal who, storage::page_request req);
  task<outcome<std::string>> zone(principal who, std::string id);
  task<storage::page> sensors(principal who, storage::sensor_filter f, storage::page_request req);
  task<outcome<std::string>> sensor(principal who, std::string id);
  task<storage::page> facilities(principal who, storage::facility_filter f, storage::page_request req);
  task<outcome<std::string>> facility(principal who, std::string id);

  // The newest value of each metric of one sensor.
  task<outcome<std::vector<domain::reading_event>>> latest_of(principal who, std::string sensor);
  // Newest values across sensors, filtered (domain, zone, kind: '' for any) and to what `who` sees.
  std::vector<domain::reading_event> latest(const principal& who, const std::string& domain, const std::string& zone,
                                            const std::string& kind) const;
  // The series id of (sensor, metric) once `who` may read it: 404 unknown or out of scope, 403 a
  // welfare sensor to a role that may not read it; 0 with `metrics_out` filled: no such metric.
  task<outcome<std::int32_t>> series_of(principal who, std::string sensor, std::string metric,
                                        std::vector<std::string>* metrics_out);

  // Alerts and incidents of the principal's scope (welfare alerts included: every role that may
  // list alerts sees those of its scope). Out of scope: absent from lists, 404 by id.
  task<storage::page> alerts(principal who, storage::alert_filter f, storage::page_request req);
  task<outcome<std::string>> alert(principal who, std::int64_t id);
  task<outcome<std::string>> alert_events(principal who, std::int64_t id);
  task<std::vector<domain::alert_event>> events(principal who, std::int64_t since, int limit);
  task<storage::page> incidents(principal who, std::string state, std::string zone, storage::page_request req);
  // Rules whose selector is within the scope (a rule naming no zone or domain applies everywhere).
  task<storage::page> rules(principal who, storage::page_request req);
  task<outcome<std::string>> rule(principal who, std::string id);
  task<outcome<std::string>> incident(principal who, std::int64_t id);
  // The shift handover since `since_us` (API §12) as the principal may see it, as JSON text:
  // {"since","generated_at","summary","alerts","incidents","steps":{"done","pending"},"notes"}.
  task<std::string> handover(principal who, std::int64_t since_us, std::int64_t now_us);

 private:
  std::string as_seen(const principal& who, std::string alert_json) const;
  // Sets each alert's current_value to the latest reading of its metric held in memory (kept as
  // recorded when none is), before masking. `alerts`: alert objects as JSON text.
  task<void> with_current_values(std::vector<std::string>* alerts);
  storage::registry& store_;
  ingest::service& ingest_;
  storage::operations_store& ops_;
};

// Budget lines of the KPI report.
class kpi_service {
 public:
  explicit kpi_service(storage::kpi_store& store) : store_(store) {}
  task<outcome<std::string>> create_budget(principal who, std::string id, std::string body_json);
  task<outcome<std::string>> replace_budget(principal who, std::string id, std::string body_json);
  task<outcome<bool>> delete_budget(principal who, std::string id);

  // KPI values within the principal's scope: a KPI of a domain outside its domains, or a zone
  // outside its zones, is 404; the values of other zones are left out (city-wide ones stay: they
  // are on the public page too).
  task<outcome<std::vector<storage::kpi_value>>> values(principal who, std::string kpi_domain, storage::kpi_query q);
  // The accessibility of one zone of the scope (404 outside it, or unknown).
  task<outcome<storage::accessibility>> access(principal who, std::string zone, double minutes,
                                               kpi::walking_model walk);

 private:
  storage::kpi_store& store_;
};

}  // namespace maeul::services
