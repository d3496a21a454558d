// The API's wire format where PostgreSQL builds it: every SQL fragment that makes a JSON object of
// docs/openapi.yaml lives here, one function per object, named after its component schema. The
// stores put them in their statements; tests/db/wire_json_pgtest.cpp checks what each produces
// against the contract. Private to src/storage.
//
// Each function returns an SQL expression of type json (jsonb where it says so); the caller casts
// it (::text for an answer, ::jsonb for a snapshot). A function without an alias reads the
// unqualified columns of its table; `p` is the alias of the row otherwise.
#pragma once
#include <string>

namespace maeul::storage::wire {

// components.schemas.Zone, from a zones row.
std::string zone_object();
// components.schemas.Sensor, from a sensors row (no distance_m).
std::string sensor_object();
// components.schemas.Sensor with distance_m, the metres from `near` (an SQL geography expression).
std::string sensor_object_near(const std::string& near);
// components.schemas.Facility, from a facilities row.
std::string facility_object();

// components.schemas.Rule (jsonb): the stored spec with its timestamps, from a rules row.
std::string rule_object();
// components.schemas.Alert, from the alerts row `p`.
std::string alert_object(const std::string& p);
// The alert as a webhook receiver gets it: a welfare alert masked as for roles without welfare
// readings (API §8, §9: only the household's pseudonym leaves the building) — `household` from its
// sensor's attributes, `sensor`, `value` and `note` null, `message` empty.
std::string webhook_alert_object(const std::string& p);
// components.schemas.AlertAuditEntry, from the alert_events row `p`.
std::string alert_audit_entry(const std::string& p);
// components.schemas.AlertAuditList, an aggregate over the alert_events rows `p`, in id order.
std::string alert_audit_list(const std::string& p);

// components.schemas.TimelineEntry, from the incident_events row `p`.
std::string timeline_entry(const std::string& p);
// components.schemas.Incident, from the incidents row `p` (its subqueries use the aliases x and ev).
std::string incident_object(const std::string& p);

// components.schemas.Playbook, from a playbooks row.
std::string playbook_object();

// components.schemas.Webhook, from a webhooks row.
std::string webhook_object();
// components.schemas.Delivery, from the webhook_deliveries row `p`.
std::string delivery_object(const std::string& p);
// components.schemas.DeliveryList, an aggregate over the webhook_deliveries rows `p`, newest first.
std::string delivery_list(const std::string& p);
// components.schemas.WebhookPayload, the body of a delivery made now, from SQL expressions of its
// id (text), event (text) and data (json). It has an "id" too, the delivery's id as text, that
// receivers dedupe on (ops.cpp reads it back).
std::string webhook_payload(const std::string& id, const std::string& event, const std::string& data);

// components.schemas.Token, from an api_tokens row (never the hash).
std::string token_object();
// components.schemas.User, from a users row (never the password hash).
std::string user_object();
// components.schemas.GrantChange, from a grant_changes row.
std::string grant_change_object();

// components.schemas.BudgetLine (jsonb), from a budget_lines row.
std::string budget_line_object();

}  // namespace maeul::storage::wire
