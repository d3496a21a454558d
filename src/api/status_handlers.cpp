// GET /api/v1/status: what an operator checks first during an outage (database, spool, webhooks).
#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::api {

// GET /api/v1/status
task<net::response> get_status(services* sp, context) {
  auto* registry = &sp->registry;
  auto info = sp->status;
  {
    bool db_ok = false;
    try {
      db_ok = co_await registry->ping();
    } catch (const std::exception&) {
      db_ok = false;
    }
    auto i = info();
    nlohmann::ordered_json spool = nullptr;
    if (i.spool_enabled)
      spool = {{"bytes", i.spool_bytes}, {"readings", i.spool_readings}, {"segments", i.spool_segments},
               {"replaying", i.replaying}};
    nlohmann::ordered_json mqtt = nullptr;
    if (i.mqtt_enabled)
      mqtt = {{"connected", i.mqtt_connected}, {"stored", i.mqtt_stored}, {"dead_letters", i.mqtt_dead},
              {"in_flight", i.mqtt_in_flight}, {"reconnects", i.mqtt_reconnects}};
    nlohmann::ordered_json body = {
        {"database", db_ok ? "ok" : "unreachable"},
        {"spool", spool},
        {"mqtt", mqtt},
        {"webhooks",
         {{"in_flight", i.webhooks_in_flight},
          {"delivered", i.webhooks_delivered},
          {"failed", i.webhooks_failed},
          {"dead", i.webhooks_dead}}},
        {"tls", i.tls},
        {"version", i.version},
        {"uptime_s", i.uptime_s}};
    co_return json_response(200, body.dump());
  }
}

}  // namespace maeul::api
