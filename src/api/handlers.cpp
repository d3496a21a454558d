// System routes: liveness, readiness and metrics; and the answers for pre-routing errors.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/storage/db_pool.hpp"

namespace maeul::api {

net::response early_error(int status, std::string detail) {
  using domain::problem_kind;
  problem_kind kind = status == 413   ? problem_kind::too_large
                      : status == 503 ? problem_kind::unavailable  // a connection over a cap (net/server.cpp)
                                      : problem_kind::malformed;
  auto res = problem_response(domain::make_problem(kind, std::move(detail)));
  if (status == 503) res.headers.emplace_back("Retry-After", "1");
  if (status == 431) {
    res.status = 431;
    res.body = R"({"type":"https://maeul.city/problems/header-too-large","title":"Request header fields too large","status":431,"detail":"the request header is too large"})";
  }
  return res;
}

// Named handlers; routes.cpp puts them in the route table.

// GET /healthz
task<net::response> get_healthz([[maybe_unused]] services* sp, context) {
 co_return json_response(200, R"({"status":"ok"})");
}

// GET /readyz
task<net::response> get_readyz([[maybe_unused]] services* sp, context) {
  auto& s = *sp;

    bool ok = false;
    try {
      ok = co_await s.registry.ping();
    } catch (const std::exception&) {
      ok = false;
    }
    if (ok) co_return json_response(200, R"({"status":"ok","database":"ok"})");
    auto res = problem_response(
        domain::make_problem(domain::problem_kind::unavailable, "the database does not answer"));
    res.headers.emplace_back("Retry-After", "5");
    co_return res;
}

// GET /metrics
task<net::response> get_metrics([[maybe_unused]] services* sp, context) {
  auto& s = *sp;

    net::response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = s.request_metrics.render(s.extra_metrics ? s.extra_metrics() : std::string()) + process_metrics() +
               "# HELP maeul_public_pages_computed_total Public pages (/public/v1/*) computed from the database.\n"
               "# TYPE maeul_public_pages_computed_total counter\n"
               "maeul_public_pages_computed_total " + std::to_string(s.public_pages.computed()) + "\n";
    co_return res;
}


}  // namespace maeul::api
