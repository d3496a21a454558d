// The named route handlers of every resource family (defined in src/api/*_handlers.cpp), for the
// one route table in src/api/routes.cpp. Internal to the api module.
#pragma once
#include "maeul/api/routes.hpp"

namespace maeul::api {

// handlers.cpp
task<net::response> get_healthz(services* sp, context ctx);
task<net::response> get_readyz(services* sp, context ctx);
task<net::response> get_metrics(services* sp, context ctx);
// registry_handlers.cpp
task<net::response> get_zones(services* sp, context ctx);
task<net::response> post_zones(services* sp, context ctx);
task<net::response> get_zones_by_id(services* sp, context ctx);
task<net::response> put_zones_by_id(services* sp, context ctx);
task<net::response> delete_zones_by_id(services* sp, context ctx);
task<net::response> get_sensors(services* sp, context ctx);
task<net::response> post_sensors(services* sp, context ctx);
task<net::response> get_sensors_by_id(services* sp, context ctx);
task<net::response> patch_sensors_by_id(services* sp, context ctx);
task<net::response> delete_sensors_by_id(services* sp, context ctx);
task<net::response> get_facilities(services* sp, context ctx);
task<net::response> post_facilities(services* sp, context ctx);
task<net::response> get_facilities_by_id(services* sp, context ctx);
task<net::response> put_facilities_by_id(services* sp, context ctx);
task<net::response> patch_facilities_by_id(services* sp, context ctx);
task<net::response> delete_facilities_by_id(services* sp, context ctx);
task<net::response> get_tokens(services* sp, context ctx);
task<net::response> post_tokens(services* sp, context ctx);
task<net::response> get_tokens_by_id(services* sp, context ctx);
task<net::response> delete_tokens_by_id(services* sp, context ctx);
task<net::response> get_tokens_by_id_changes(services* sp, context ctx);
// observation_handlers.cpp
task<net::response> post_observations(services* sp, context ctx);
task<net::response> get_sensors_by_id_latest(services* sp, context ctx);
task<net::response> get_latest(services* sp, context ctx);
task<net::response> get_sensors_by_id_series(services* sp, context ctx);
// operations_handlers.cpp
task<net::response> get_live(services* sp, context ctx);
task<net::response> get_rules(services* sp, context ctx);
task<net::response> post_rules(services* sp, context ctx);
task<net::response> get_rules_by_id(services* sp, context ctx);
task<net::response> put_rules_by_id(services* sp, context ctx);
task<net::response> delete_rules_by_id(services* sp, context ctx);
task<net::response> get_alerts(services* sp, context ctx);
task<net::response> get_alerts_by_id(services* sp, context ctx);
task<net::response> get_alerts_by_id_events(services* sp, context ctx);
task<net::response> post_alerts_by_id_ack(services* sp, context ctx);
task<net::response> post_alerts_by_id_assign(services* sp, context ctx);
task<net::response> post_alerts_ack(services* sp, context ctx);
task<net::response> get_playbooks(services* sp, context ctx);
task<net::response> get_playbooks_by_id(services* sp, context ctx);
task<net::response> put_playbooks_by_id(services* sp, context ctx);
task<net::response> post_incidents_by_id_steps_by_id(services* sp, context ctx);
task<net::response> get_handover(services* sp, context ctx);
task<net::response> post_alerts_by_id_resolve(services* sp, context ctx);
task<net::response> get_events(services* sp, context ctx);
task<net::response> post_incidents(services* sp, context ctx);
task<net::response> get_incidents(services* sp, context ctx);
task<net::response> get_incidents_by_id(services* sp, context ctx);
task<net::response> patch_incidents_by_id(services* sp, context ctx);
task<net::response> post_webhooks(services* sp, context ctx);
task<net::response> get_webhooks(services* sp, context ctx);
task<net::response> delete_webhooks_by_id(services* sp, context ctx);
task<net::response> get_webhooks_by_id_deliveries(services* sp, context ctx);
// kpi_handlers.cpp
task<net::response> get_kpis(services* sp, context ctx);
task<net::response> get_kpis_by_id_values(services* sp, context ctx);
task<net::response> get_zones_by_id_accessibility(services* sp, context ctx);
task<net::response> get_budget(services* sp, context ctx);
task<net::response> post_budget(services* sp, context ctx);
task<net::response> get_budget_by_id(services* sp, context ctx);
task<net::response> put_budget_by_id(services* sp, context ctx);
task<net::response> delete_budget_by_id(services* sp, context ctx);
task<net::response> get_public_kpis(services* sp, context ctx);
task<net::response> get_public_report(services* sp, context ctx);
// mqtt_handlers.cpp
task<net::response> get_ingest_dead_letters(services* sp, context ctx);
// people_handlers.cpp
task<net::response> post_users(services* sp, context ctx);
task<net::response> get_users(services* sp, context ctx);
task<net::response> get_users_by_id(services* sp, context ctx);
task<net::response> patch_users_by_id(services* sp, context ctx);
task<net::response> delete_users_by_id(services* sp, context ctx);
task<net::response> get_users_by_id_changes(services* sp, context ctx);
task<net::response> post_sessions(services* sp, context ctx);
task<net::response> delete_sessions_current(services* sp, context ctx);
task<net::response> get_me(services* sp, context ctx);
// status_handlers.cpp
task<net::response> get_status(services* sp, context ctx);
// welfare_handlers.cpp
task<net::response> post_residents(services* sp, context ctx);
task<net::response> get_residents(services* sp, context ctx);
task<net::response> get_residents_by_id(services* sp, context ctx);
task<net::response> patch_residents_by_id(services* sp, context ctx);
task<net::response> delete_residents_by_id(services* sp, context ctx);
task<net::response> get_residents_by_id_export(services* sp, context ctx);
task<net::response> post_alerts_by_id_reveal(services* sp, context ctx);
task<net::response> get_audit_access(services* sp, context ctx);
task<net::response> get_audit_verify(services* sp, context ctx);
task<net::response> get_audit_review(services* sp, context ctx);
task<net::response> get_retention(services* sp, context ctx);
// transit_handlers.cpp
task<net::response> post_transit_gtfs(services* sp, context ctx);
task<net::response> get_transit_routes(services* sp, context ctx);
task<net::response> get_transit_routes_by_id(services* sp, context ctx);
task<net::response> get_transit_stops(services* sp, context ctx);
task<net::response> post_transit_positions(services* sp, context ctx);
task<net::response> get_transit_routes_by_id_headways(services* sp, context ctx);
task<net::response> get_transit_routes_by_id_performance(services* sp, context ctx);
// transit_plan_handlers.cpp
task<net::response> get_transit_routes_by_id_demand(services* sp, context ctx);
task<net::response> get_transit_routes_by_id_plan(services* sp, context ctx);
task<net::response> get_transit_plan_zip(services* sp, context ctx);

}  // namespace maeul::api
