// The route table: every route of the API, its method, path, the roles allowed, and the named
// handler that answers it — in one place (docs/openapi.yaml is checked against it by
// tests/unit/route_table_test.cpp).
#include "handler_list.hpp"

namespace maeul::api {

const std::vector<route_def>& route_table() {
  static const std::vector<route_def> table = {
      // handlers.cpp
      {"GET", "/healthz", public_route, &get_healthz},
      {"GET", "/readyz", public_route, &get_readyz},
      {"GET", "/metrics", admin_only, &get_metrics},  // public with metrics.public = true
      // registry_handlers.cpp
      {"GET", "/api/v1/zones", registry_readers, &get_zones},
      {"POST", "/api/v1/zones", admin_only, &post_zones},
      {"GET", "/api/v1/zones/{id}", registry_readers, &get_zones_by_id},
      {"PUT", "/api/v1/zones/{id}", admin_only, &put_zones_by_id},
      {"DELETE", "/api/v1/zones/{id}", admin_only, &delete_zones_by_id},
      {"GET", "/api/v1/sensors", registry_readers, &get_sensors},
      {"POST", "/api/v1/sensors", admin_only, &post_sensors},
      {"GET", "/api/v1/sensors/{id}", registry_readers, &get_sensors_by_id},
      {"PATCH", "/api/v1/sensors/{id}", admin_only, &patch_sensors_by_id},
      {"DELETE", "/api/v1/sensors/{id}", admin_only, &delete_sensors_by_id},
      {"GET", "/api/v1/facilities", registry_readers, &get_facilities},
      {"POST", "/api/v1/facilities", admin_only, &post_facilities},
      {"GET", "/api/v1/facilities/{id}", registry_readers, &get_facilities_by_id},
      {"PUT", "/api/v1/facilities/{id}", admin_only, &put_facilities_by_id},
      {"PATCH", "/api/v1/facilities/{id}", admin_only, &patch_facilities_by_id},
      {"DELETE", "/api/v1/facilities/{id}", admin_only, &delete_facilities_by_id},
      {"GET", "/api/v1/tokens", admin_only, &get_tokens},
      {"POST", "/api/v1/tokens", admin_only, &post_tokens},
      {"GET", "/api/v1/tokens/{id}", admin_only, &get_tokens_by_id},
      {"DELETE", "/api/v1/tokens/{id}", admin_only, &delete_tokens_by_id},
      {"GET", "/api/v1/tokens/{id}/changes", admin_only, &get_tokens_by_id_changes},
      // observation_handlers.cpp
      {"POST", "/api/v1/observations", role_admin | role_device, &post_observations},
      {"GET", "/api/v1/sensors/{id}/latest", registry_readers, &get_sensors_by_id_latest},
      {"GET", "/api/v1/latest", registry_readers, &get_latest},
      {"GET", "/api/v1/sensors/{id}/series", registry_readers, &get_sensors_by_id_series},
      // operations_handlers.cpp
      {"GET", "/api/v1/live", operations_roles, &get_live},
      {"GET", "/api/v1/rules", operations_roles, &get_rules},
      {"POST", "/api/v1/rules", admin_only, &post_rules},
      {"GET", "/api/v1/rules/{id}", operations_roles, &get_rules_by_id},
      {"PUT", "/api/v1/rules/{id}", admin_only, &put_rules_by_id},
      {"DELETE", "/api/v1/rules/{id}", admin_only, &delete_rules_by_id},
      {"GET", "/api/v1/alerts", operations_roles, &get_alerts},
      {"GET", "/api/v1/alerts/{id}", operations_roles, &get_alerts_by_id},
      {"GET", "/api/v1/alerts/{id}/events", operations_roles, &get_alerts_by_id_events},
      {"POST", "/api/v1/alerts/{id}/ack", operations_roles, &post_alerts_by_id_ack},
      {"POST", "/api/v1/alerts/{id}/resolve", operations_roles, &post_alerts_by_id_resolve},
      {"POST", "/api/v1/alerts/{id}/assign", operations_roles, &post_alerts_by_id_assign},
      {"POST", "/api/v1/alerts/ack", operations_roles, &post_alerts_ack},
      {"GET", "/api/v1/events", operations_roles, &get_events},
      {"POST", "/api/v1/incidents", operations_roles, &post_incidents},
      {"GET", "/api/v1/incidents", operations_roles | role_analyst, &get_incidents},
      {"GET", "/api/v1/incidents/{id}", operations_roles | role_analyst, &get_incidents_by_id},
      {"PATCH", "/api/v1/incidents/{id}", operations_roles, &patch_incidents_by_id},
      {"POST", "/api/v1/incidents/{id}/steps/{step}", operations_roles, &post_incidents_by_id_steps_by_id},
      {"GET", "/api/v1/playbooks", operations_roles | role_analyst, &get_playbooks},
      {"GET", "/api/v1/playbooks/{category}", operations_roles | role_analyst, &get_playbooks_by_id},
      {"PUT", "/api/v1/playbooks/{category}", admin_only, &put_playbooks_by_id},
      {"GET", "/api/v1/handover", operations_roles, &get_handover},
      {"POST", "/api/v1/webhooks", admin_only, &post_webhooks},
      {"GET", "/api/v1/webhooks", admin_only, &get_webhooks},
      {"DELETE", "/api/v1/webhooks/{id}", admin_only, &delete_webhooks_by_id},
      {"GET", "/api/v1/webhooks/{id}/deliveries", admin_only, &get_webhooks_by_id_deliveries},
      // kpi_handlers.cpp
      {"GET", "/api/v1/kpis", registry_readers, &get_kpis},
      {"GET", "/api/v1/kpis/{id}/values", registry_readers, &get_kpis_by_id_values},
      {"GET", "/api/v1/zones/{id}/accessibility", registry_readers, &get_zones_by_id_accessibility},
      {"GET", "/api/v1/budget", registry_readers, &get_budget},
      {"POST", "/api/v1/budget", admin_only, &post_budget},
      {"GET", "/api/v1/budget/{id}", registry_readers, &get_budget_by_id},
      {"PUT", "/api/v1/budget/{id}", admin_only, &put_budget_by_id},
      {"DELETE", "/api/v1/budget/{id}", admin_only, &delete_budget_by_id},
      {"GET", "/public/v1/kpis", public_route, &get_public_kpis},
      {"GET", "/public/v1/report", public_route, &get_public_report},
      // mqtt_handlers.cpp
      {"GET", "/api/v1/ingest/dead-letters", admin_only, &get_ingest_dead_letters},
      // people_handlers.cpp
      {"POST", "/api/v1/users", admin_only, &post_users},
      {"GET", "/api/v1/users", admin_only, &get_users},
      {"GET", "/api/v1/users/{username}", admin_only, &get_users_by_id},
      {"PATCH", "/api/v1/users/{username}", admin_only, &patch_users_by_id},
      {"DELETE", "/api/v1/users/{username}", admin_only, &delete_users_by_id},
      {"GET", "/api/v1/users/{username}/changes", admin_only, &get_users_by_id_changes},
      {"POST", "/api/v1/sessions", public_route, &post_sessions},
      {"DELETE", "/api/v1/sessions/current", any_role, &delete_sessions_current},
      {"GET", "/api/v1/me", any_role, &get_me},
      // status_handlers.cpp
      {"GET", "/api/v1/status", role_admin | role_operator, &get_status},
      // welfare_handlers.cpp
      {"POST", "/api/v1/residents", welfare_roles, &post_residents},
      {"GET", "/api/v1/residents", welfare_roles, &get_residents},
      {"GET", "/api/v1/residents/{id}", welfare_roles, &get_residents_by_id},
      {"PATCH", "/api/v1/residents/{id}", welfare_roles, &patch_residents_by_id},
      {"DELETE", "/api/v1/residents/{id}", welfare_roles, &delete_residents_by_id},
      {"GET", "/api/v1/residents/{id}/export", welfare_roles, &get_residents_by_id_export},
      {"POST", "/api/v1/alerts/{id}/reveal", operations_roles, &post_alerts_by_id_reveal},
      {"GET", "/api/v1/audit/access", admin_only, &get_audit_access},
      {"GET", "/api/v1/audit/verify", admin_only, &get_audit_verify},
      {"GET", "/api/v1/audit/review", admin_only, &get_audit_review},
      {"GET", "/api/v1/retention", registry_readers, &get_retention},
      // transit_handlers.cpp
      {"POST", "/api/v1/transit/gtfs", admin_only, &post_transit_gtfs},
      {"GET", "/api/v1/transit/routes", registry_readers, &get_transit_routes},
      {"GET", "/api/v1/transit/routes/{id}", registry_readers, &get_transit_routes_by_id},
      {"GET", "/api/v1/transit/stops", registry_readers, &get_transit_stops},
      {"POST", "/api/v1/transit/positions", role_admin | role_device, &post_transit_positions},
      {"GET", "/api/v1/transit/routes/{id}/headways", registry_readers, &get_transit_routes_by_id_headways},
      {"GET", "/api/v1/transit/routes/{id}/performance", registry_readers, &get_transit_routes_by_id_performance},
      // transit_plan_handlers.cpp: demand and plan are for analysts and operations, not devices
      {"GET", "/api/v1/transit/routes/{id}/demand", registry_readers, &get_transit_routes_by_id_demand},
      {"GET", "/api/v1/transit/routes/{id}/plan", registry_readers, &get_transit_routes_by_id_plan},
      {"GET", "/api/v1/transit/plan.zip", registry_readers, &get_transit_plan_zip},
  };
  return table;
}

void add_routes(router& r, services& s) {
  auto* sp = &s;
  for (const auto& d : route_table()) {
    unsigned roles = d.fn == &get_metrics && s.metrics_public ? public_route : d.roles;
    r.add(d.method, d.path, roles, [sp, fn = d.fn](context ctx) { return fn(sp, std::move(ctx)); });
  }
}

}  // namespace maeul::api
