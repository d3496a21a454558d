// MQTT routes: the dead letters of the MQTT door (API.md §10).
#include "maeul/api/routes.hpp"
#include "maeul/storage/dead_letters.hpp"

namespace maeul::api {

void add_mqtt_routes(router& r, storage::dead_letter_store& dead) {
  auto* store = &dead;
  // Newest first; cursor and limit as every list (API.md §3).
  r.add("GET", "/api/v1/ingest/dead-letters", admin_only, [store](context ctx) -> task<net::response> {
    auto req = page_params(ctx, id_kind::numeric);
    if (!req) co_return problem_response(req.error());
    co_return list_response(co_await store->list(*req));
  });
}

}  // namespace maeul::api
