// The JSON objects of the API built in SQL (wire_sql.hpp). Built from literals on each call, not
// kept in namespace-scope strings: the stores compose them into their own namespace-scope
// statements during static initialization, in an order across files that C++ does not fix.
#include "wire_sql.hpp"

#include "sql_util.hpp"

namespace maeul::storage::wire {
namespace {

// created_at and updated_at of the unqualified row, after its other members.
std::string stamps() { return ", 'created_at', " + sql::ts("created_at") + ", 'updated_at', " + sql::ts("updated_at"); }

std::string sensor_with(const std::string& extra) {
  return "json_build_object('id', id, 'domain', domain, 'kind', kind, 'name', name, "
         "'location', ST_AsGeoJSON(location, 7)::json, 'zone', zone_id, 'metrics', metrics, "
         "'attributes', attributes" + extra + stamps() + ")";
}

}  // namespace

std::string zone_object() {
  return "json_build_object('id', id, 'name', name, 'boundary', ST_AsGeoJSON(boundary, 7)::json, "
         "'population', population, 'households', households, 'attributes', attributes, "
         "'area_km2', round(area_km2::numeric, 3)" + stamps() + ")";
}

std::string sensor_object() { return sensor_with(""); }

std::string sensor_object_near(const std::string& near) {
  return sensor_with(", 'distance_m', round(ST_Distance(location::geography, " + near + ")::numeric, 1)");
}

std::string facility_object() {
  return "json_build_object('id', id, 'category', category, 'name', name, 'location', ST_AsGeoJSON(location, 7)::json, "
         "'zone', zone_id, 'attributes', attributes" + stamps() + ")";
}

std::string rule_object() {
  return "(spec || jsonb_build_object('created_at', " + sql::ts("created_at") + ", 'updated_at', " +
         sql::ts("updated_at") + "))";
}

std::string alert_object(const std::string& p) {
  return "json_build_object('id', " + p + ".id, 'rule', " + p + ".rule_id, 'rule_name', " + p + ".rule_name, "
         "'kind', " + p + ".kind, 'severity', " + p + ".severity, 'state', " + p + ".state, 'sensor', " + p +
         ".sensor_id, 'zone', " + p + ".zone_id, 'domain', " + p + ".domain, 'metric', " + p + ".metric, 'value', " +
         p + ".value, 'message', " + p + ".message, 'opened_at', " + sql::ts_of(p, "opened_at") +
         ", 'acknowledged_at', " + sql::ts_of(p, "acknowledged_at") + ", 'acknowledged_by', " + p +
         ".acknowledged_by, 'resolved_at', " + sql::ts_of(p, "resolved_at") + ", 'resolved_by', " + p +
         ".resolved_by, 'cleared_at', " + sql::ts_of(p, "cleared_at") + ", 'escalated_at', " +
         sql::ts_of(p, "escalated_at") + ", 'note', " + p + ".note, "
         // API §12: the words in both languages (alerts from before them: the rule's name and the message)
         "'title', coalesce(" + p + ".title, jsonb_build_object('ko', coalesce(" + p + ".rule_name->>'ko', " + p +
         ".rule_name->>'en'), 'en', coalesce(" + p + ".rule_name->>'en', " + p + ".rule_name->>'ko'))), "
         "'text', coalesce(" + p + ".text, jsonb_build_object('ko', " + p + ".message, 'en', " + p + ".message)), "
         "'value_at_open', " + p + ".value, 'current_value', coalesce(" + p + ".current_value, " + p + ".value), "
         "'stage', " + p + ".stage, 'assignee', " + p + ".assignee, 'assigned_at', " + sql::ts_of(p, "assigned_at") +
         ", 'incident', (SELECT min(ix.incident_id) FROM incident_alerts ix WHERE ix.alert_id = " + p + ".id))";
}

std::string webhook_alert_object(const std::string& p) {
  return "(CASE WHEN " + p + ".domain = 'welfare' THEN (" + alert_object(p) +
         "::jsonb || jsonb_build_object('sensor', NULL, 'value', NULL, 'note', NULL, 'message', '', "
         "'value_at_open', NULL, 'current_value', NULL, "
         "'title', jsonb_build_object('ko', coalesce(" + p + ".rule_name->>'ko', " + p + ".rule_name->>'en'), 'en', "
         "coalesce(" + p + ".rule_name->>'en', " + p + ".rule_name->>'ko')), "
         "'text', jsonb_build_object('ko', '세대 확인이 필요합니다 (세부 내용은 복지 담당자만 볼 수 있습니다)', 'en', "
         "'A household needs attention (details for welfare officers only)'), 'household', "
         "coalesce((SELECT ws.attributes->>'household' FROM sensors ws WHERE ws.id = " + p + ".sensor_id), "
         "CASE WHEN " + p + ".subject LIKE 'hh-%' THEN " + p + ".subject END)))::json ELSE " + alert_object(p) + " END)";
}

std::string alert_audit_entry(const std::string& p) {
  return "json_build_object('id', " + p + ".id, 'event', " + p + ".event, 'at', " + sql::ts_of(p, "at") +
         ", 'actor', " + p + ".actor, 'note', " + p + ".note)";
}

std::string alert_audit_list(const std::string& p) {
  return "json_build_object('items', coalesce(json_agg(" + alert_audit_entry(p) + " ORDER BY " + p +
         ".id), '[]'::json))";
}

std::string timeline_entry(const std::string& p) {
  return "json_build_object('at', " + sql::ts_of(p, "at") + ", 'what', " + p + ".what, 'by', " + p +
         ".actor, 'note', " + p + ".note)";
}

std::string incident_object(const std::string& p) {
  return "json_build_object('id', " + p + ".id, 'category', " + p + ".category, 'zone', " + p + ".zone_id, 'location', "
         "ST_AsGeoJSON(" + p + ".location, 7)::json, 'state', CASE WHEN " + p + ".resolved_at IS NULL THEN 'open' ELSE "
         "'resolved' END, 'reported_at', " + sql::ts_of(p, "reported_at") + ", 'dispatched_at', " +
         sql::ts_of(p, "dispatched_at") + ", 'on_scene_at', " + sql::ts_of(p, "on_scene_at") + ", 'resolved_at', " +
         sql::ts_of(p, "resolved_at") + ", 'response_minutes', round((extract(epoch FROM " + p + ".on_scene_at - " + p +
         ".reported_at) / 60)::numeric, 2), 'note', " + p + ".note, 'created_by', " + p + ".created_by, 'alerts', "
         "coalesce((SELECT json_agg(x.alert_id ORDER BY x.alert_id) FROM incident_alerts x WHERE x.incident_id = " + p +
         ".id), '[]'::json), 'timeline', coalesce((SELECT json_agg(" + timeline_entry("ev") + " ORDER BY ev.id) FROM "
         "incident_events ev WHERE ev.incident_id = " + p + ".id), '[]'::json), "
         // API §12: the steps of its category's playbook, in the playbook's order, with their state
         "'steps', coalesce((SELECT json_agg(json_build_object('id', ps.step->>'id', 'text', ps.step->'text', "
         "'role', ps.step->'role', 'done', coalesce(sd.done, false), 'at', " + sql::ts_of("sd", "at") +
         ", 'by', sd.actor, 'note', sd.note) ORDER BY ps.n) FROM playbooks pb CROSS JOIN LATERAL "
         "jsonb_array_elements(pb.steps) WITH ORDINALITY ps(step, n) LEFT JOIN incident_steps sd ON sd.incident_id = " +
         p + ".id AND sd.step_id = ps.step->>'id' WHERE pb.category = " + p + ".category), '[]'::json))";
}

std::string playbook_object() {
  return "json_build_object('category', category, 'steps', steps, 'updated_at', " + sql::ts("updated_at") +
         ", 'updated_by', updated_by)";
}

std::string webhook_object() {
  return "json_build_object('id', id, 'url', url, 'events', to_json(events), 'created_at', " + sql::ts("created_at") +
         ")";
}

std::string delivery_object(const std::string& p) {
  return "json_build_object('id', " + p + ".id, 'event', " + p + ".event, 'state', " + p + ".state, 'attempts', " + p +
         ".attempts, 'last_status', " + p + ".last_status, 'last_error', " + p + ".last_error, 'created_at', " +
         sql::ts_of(p, "created_at") + ", 'next_at', CASE WHEN " + p + ".state = 'pending' THEN " +
         sql::ts_of(p, "next_at") + " END, 'delivered_at', " + sql::ts_of(p, "delivered_at") + ")";
}

std::string delivery_list(const std::string& p) {
  return "json_build_object('items', coalesce(json_agg(" + delivery_object(p) + " ORDER BY " + p +
         ".id DESC), '[]'::json))";
}

std::string webhook_payload(const std::string& id, const std::string& event, const std::string& data) {
  return "json_build_object('id', " + id + ", 'event', " + event + ", 'created_at', " + sql::ts("now()") +
         ", 'data', " + data + ")";
}

std::string token_object() {
  return "json_build_object('id', id, 'name', name, 'role', role, 'sensors', to_json(sensors), 'zones', "
         "to_json(zones), 'domains', to_json(domains), 'expires_at', " + sql::ts("expires_at") + ", 'created_at', " +
         sql::ts("created_at") + ")";
}

std::string user_object() {
  return "json_build_object('username', username, 'display_name', display_name, 'role', role, 'zones', to_json(zones), "
         "'domains', to_json(domains), 'disabled', disabled" + stamps() + ")";
}

std::string grant_change_object() {
  return "json_build_object('id', id, 'at', " + sql::ts("at") +
         ", 'actor', actor, 'username', username, 'action', action, 'before', before, 'after', after)";
}

std::string budget_line_object() {
  return "jsonb_build_object('id', id, 'program', program, 'year', year, 'amount_krw', amount_krw, 'kpis', kpis" +
         stamps() + ")";
}

}  // namespace maeul::storage::wire
