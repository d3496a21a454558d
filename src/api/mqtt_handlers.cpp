// MQTT routes: the dead letters of the MQTT door (API.md §10).
#include "maeul/api/routes.hpp"
#include "maeul/storage/dead_letters.hpp"

namespace maeul::api {

// GET /api/v1/ingest/dead-letters: newest first; cursor and limit as every list (API.md §3).
task<net::response> get_ingest_dead_letters(services* sp, context ctx) {
  auto* store = sp->dead_letters;
  auto req = page_params(ctx, id_kind::numeric);
  if (!req) co_return problem_response(req.error());
  if (!store) co_return list_response(storage::page{});
  co_return list_response(co_await store->list(*req));
}

}  // namespace maeul::api
