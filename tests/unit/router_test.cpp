// The router (api/router.hpp): query parsing, role bits, route matching, authentication without a
// database, and the one place where failures become HTTP answers. Requests are dispatched on an
// io_context of the test's own; the db_pool points at a socket directory that does not exist, so
// any attempt to reach the database fails at once (and shows up as 503, never as a hang).
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "maeul/api/metrics.hpp"
#include "maeul/api/router.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/registry.hpp"

namespace {

namespace api = maeul::api;
namespace net = maeul::net;
namespace storage = maeul::storage;
using nlohmann::json;

const std::string bootstrap = "bootstrap-secret-0123456789";

// Runs one awaitable to completion on a fresh io_context; rethrows what it throws.
template <class T>
T run_task(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    err = e;
    if (!e) out = std::move(v);
  });
  ioc.run();
  if (err) std::rethrow_exception(err);
  if (!out) throw std::logic_error("the task did not complete");
  return std::move(*out);
}

std::optional<std::string> header(const net::response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

json problem_body(const net::response& r) {
  EXPECT_EQ(r.content_type, "application/problem+json");
  return json::parse(r.body);
}

// Handlers: free coroutines (no capturing coroutine lambdas). `echo` reports what it was given.
maeul::task<net::response> echo(api::context ctx) {
  json q = json::array();
  for (const auto& [k, v] : ctx.query.items) q.push_back({k, v});
  json body = {{"method", ctx.req.method}, {"path", ctx.req.path}, {"params", ctx.params}, {"query", q},
               {"token_id", ctx.who.token_id}, {"role", ctx.who.role}};
  co_return api::json_response(200, body.dump());
}

maeul::task<net::response> created(api::context) {
  auto r = api::json_response(201, "{\"created\":true}");
  r.headers.emplace_back("Location", "/api/v1/things/new");
  co_return r;
}

maeul::task<net::response> throws_runtime_error(api::context) {
  throw std::runtime_error("password=hunter2 at db.internal:5432");
  co_return net::response{};
}

maeul::task<net::response> throws_unavailable(api::context) {
  throw storage::unavailable("cannot connect to the database: 10.1.2.3 refused");
  co_return net::response{};
}

net::request make_request(std::string method, const std::string& target, std::string authorization = {}) {
  net::request r;
  r.method = std::move(method);
  r.target = target;
  auto q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.authorization = std::move(authorization);
  return r;
}

class router_test : public ::testing::Test {
 protected:
  router_test()
      : pool_(storage::pool_options{"postgresql:///maeul_unit_none?host=/nonexistent/maeul-unit-test", 1, 1, 1000}),
        store_(pool_),
        auth_(store_, bootstrap, 0),
        router_(auth_, metrics_) {
    router_.add("GET", "/healthz", api::public_route, echo);
    router_.add("GET", "/api/v1/things", api::public_route, echo);
    router_.add("POST", "/api/v1/things", api::public_route, created);
    router_.add("GET", "/api/v1/things/{id}", api::public_route, echo);
    router_.add("GET", "/api/v1/zones/{zone}/sensors/{sensor}", api::public_route, echo);
    router_.add("GET", "/boom", api::public_route, throws_runtime_error);
    router_.add("GET", "/db-down", api::public_route, throws_unavailable);
    router_.add("GET", "/api/v1/admin", api::admin_only, echo);
    router_.add("DELETE", "/api/v1/admin", api::admin_only, echo);
    router_.add("GET", "/api/v1/registry", api::registry_readers, echo);
    router_.add("POST", "/api/v1/readings", api::role_device, echo);
    router_.add("GET", "/api/v1/live", api::admin_only, echo);
  }

  net::response dispatch(std::string method, const std::string& target, std::string authorization = {}) {
    return run_task(router_.dispatch(make_request(std::move(method), target, std::move(authorization))));
  }

  storage::db_pool pool_;
  storage::token_store store_;
  api::authenticator auth_;
  api::metrics metrics_;
  api::router router_;
};

}  // namespace

// ---- query strings

TEST(query_params, splits_pairs_in_order) {
  auto q = api::query_params::parse("limit=10&cursor=abc&domain=energy");
  ASSERT_EQ(q.items.size(), 3u);
  EXPECT_EQ(q.items[0], (std::pair<std::string, std::string>{"limit", "10"}));
  EXPECT_EQ(q.items[1], (std::pair<std::string, std::string>{"cursor", "abc"}));
  EXPECT_EQ(q.items[2], (std::pair<std::string, std::string>{"domain", "energy"}));
  EXPECT_EQ(q.get("cursor"), std::optional<std::string>("abc"));
  EXPECT_EQ(q.get("zone"), std::nullopt);
}

TEST(query_params, percent_decodes_keys_and_values_and_plus_is_a_space) {
  auto q = api::query_params::parse("q=hello+world&p=%2Fa%3Fb%26c%3Dd&%6Eame=%EC%86%8D%ec%b4%88&plus=%2B");
  EXPECT_EQ(q.get("q"), std::optional<std::string>("hello world"));
  EXPECT_EQ(q.get("p"), std::optional<std::string>("/a?b&c=d"));
  EXPECT_EQ(q.get("name"), std::optional<std::string>("속초"));
  EXPECT_EQ(q.get("plus"), std::optional<std::string>("+"));
  EXPECT_EQ(api::query_params::parse("near=128.59%2C38.2%2C500").get("near"),
            std::optional<std::string>("128.59,38.2,500"));
}

TEST(query_params, keeps_malformed_escapes_literally) {
  auto q = api::query_params::parse("a=%zz&b=%4&c=100%&d=%%41");
  EXPECT_EQ(q.get("a"), std::optional<std::string>("%zz"));
  EXPECT_EQ(q.get("b"), std::optional<std::string>("%4"));
  EXPECT_EQ(q.get("c"), std::optional<std::string>("100%"));
  EXPECT_EQ(q.get("d"), std::optional<std::string>("%A"));
}

TEST(query_params, repeated_keys_are_all_kept_and_get_returns_the_first) {
  auto q = api::query_params::parse("zone=a&kind=x&zone=b");
  ASSERT_EQ(q.items.size(), 3u);
  EXPECT_EQ(q.items[2], (std::pair<std::string, std::string>{"zone", "b"}));
  EXPECT_EQ(q.get("zone"), std::optional<std::string>("a"));
}

TEST(query_params, empty_values_keys_and_parts) {
  auto q = api::query_params::parse("&flag&empty=&=v&&x=a=b&");
  ASSERT_EQ(q.items.size(), 4u);
  EXPECT_EQ(q.items[0], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q.items[1], (std::pair<std::string, std::string>{"empty", ""}));
  EXPECT_EQ(q.items[2], (std::pair<std::string, std::string>{"", "v"}));
  EXPECT_EQ(q.items[3], (std::pair<std::string, std::string>{"x", "a=b"}));
  EXPECT_EQ(q.get("flag"), std::optional<std::string>(""));
  EXPECT_TRUE(api::query_params::parse("").items.empty());
  EXPECT_TRUE(api::query_params::parse("&&&").items.empty());
}

// ---- roles

TEST(role_bits, each_role_has_its_bit_and_unknown_roles_have_none) {
  EXPECT_EQ(api::role_bit_of("admin"), api::role_admin);
  EXPECT_EQ(api::role_bit_of("operator"), api::role_operator);
  EXPECT_EQ(api::role_bit_of("analyst"), api::role_analyst);
  EXPECT_EQ(api::role_bit_of("device"), api::role_device);
  EXPECT_EQ(api::role_bit_of("welfare_officer"), api::role_welfare_officer);
  for (const char* r : {"", "Admin", "root", "bootstrap", "welfare"}) EXPECT_EQ(api::role_bit_of(r), 0u) << r;
  unsigned all = 0;
  for (auto r : maeul::domain::roles) {
    unsigned b = api::role_bit_of(r);
    EXPECT_NE(b, 0u) << r;
    EXPECT_EQ(all & b, 0u) << "bits are distinct: " << r;
    all |= b;
  }
}

TEST(role_bits, registry_readers_are_every_role_but_device) {
  for (const char* r : {"admin", "operator", "analyst", "welfare_officer"})
    EXPECT_NE(api::role_bit_of(r) & api::registry_readers, 0u) << r;
  EXPECT_EQ(api::role_bit_of("device") & api::registry_readers, 0u);
  EXPECT_EQ(api::role_bit_of("operator") & api::admin_only, 0u);
  EXPECT_NE(api::role_bit_of("admin") & api::admin_only, 0u);
}

// ---- response helpers

TEST(responses, problem_response_maps_status_and_adds_www_authenticate_only_on_401) {
  namespace d = maeul::domain;
  auto r = api::problem_response(d::make_problem(d::problem_kind::unauthorized, "x"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/problem+json");
  ASSERT_TRUE(header(r, "WWW-Authenticate"));
  EXPECT_EQ(header(r, "WWW-Authenticate")->rfind("Bearer", 0), 0u);
  auto f = api::problem_response(d::make_problem(d::problem_kind::forbidden, "x"));
  EXPECT_EQ(f.status, 403);
  EXPECT_FALSE(header(f, "WWW-Authenticate"));
  EXPECT_EQ(json::parse(f.body).at("type"), "https://maeul.city/problems/forbidden");
  auto n = api::no_content();
  EXPECT_EQ(n.status, 204);
  EXPECT_TRUE(n.body.empty());
  EXPECT_TRUE(n.content_type.empty());
  auto j = api::json_response(201, "{}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.content_type, "application/json");
}

// ---- routing

TEST_F(router_test, a_public_route_runs_its_handler_with_the_query) {
  auto r = dispatch("GET", "/api/v1/things?limit=5&domain=energy");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = json::parse(r.body);
  EXPECT_EQ(b.at("path"), "/api/v1/things");
  EXPECT_EQ(b.at("params"), json::array());
  EXPECT_EQ(b.at("query"), json::parse(R"([["limit","5"],["domain","energy"]])"));
  EXPECT_EQ(b.at("role"), "");  // public: no principal
}

TEST_F(router_test, the_method_selects_among_routes_of_one_path) {
  auto r = dispatch("POST", "/api/v1/things");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(header(r, "Location"), std::optional<std::string>("/api/v1/things/new"));
}

TEST_F(router_test, an_unknown_path_is_404_problem) {
  for (const char* path : {"/nope", "/api/v1/things/a/b", "/api/v1", "/"}) {
    auto r = dispatch("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    auto b = problem_body(r);
    EXPECT_EQ(b.at("type"), "https://maeul.city/problems/not-found") << path;
    EXPECT_EQ(b.at("status"), 404);
    EXPECT_FALSE(header(r, "Allow")) << path;
  }
}

TEST_F(router_test, a_known_path_with_another_method_is_405_with_allow) {
  auto r = dispatch("DELETE", "/api/v1/things");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), std::optional<std::string>("GET, POST"));
  EXPECT_EQ(problem_body(r).at("type"), "https://maeul.city/problems/method-not-allowed");
  auto one = dispatch("PUT", "/api/v1/things/abc");
  EXPECT_EQ(one.status, 405);
  EXPECT_EQ(header(one, "Allow"), std::optional<std::string>("GET"));
  auto post_only = dispatch("HEAD", "/api/v1/readings");
  EXPECT_EQ(post_only.status, 405);
  EXPECT_EQ(header(post_only, "Allow"), std::optional<std::string>("POST"));
}

TEST_F(router_test, method_not_allowed_comes_before_authentication) {
  auto r = dispatch("PATCH", "/api/v1/admin");  // protected path, no token
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), std::optional<std::string>("GET, DELETE"));
}

TEST_F(router_test, captures_are_passed_in_order) {
  auto r = dispatch("GET", "/api/v1/things/wl-cheongcho-01");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("params"), json::array({"wl-cheongcho-01"}));
  r = dispatch("GET", "/api/v1/zones/downtown/sensors/wl.01:a");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("params"), json::array({"downtown", "wl.01:a"}));
}

TEST_F(router_test, a_very_deep_path_is_404) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "/a";
  auto r = dispatch("GET", deep);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(problem_body(r).at("status"), 404);
}

TEST_F(router_test, a_capture_does_not_match_a_literal_segment_of_another_route) {
  // "/api/v1/zones/{zone}/sensors/{sensor}": the literal "sensors" must be there.
  auto r = dispatch("GET", "/api/v1/zones/downtown/facilities/x");
  EXPECT_EQ(r.status, 404);
}

TEST_F(router_test, head_runs_the_get_route_and_drops_the_body) {
  auto get = dispatch("GET", "/api/v1/things/abc");
  auto head = dispatch("HEAD", "/api/v1/things/abc");
  ASSERT_EQ(get.status, 200);
  EXPECT_FALSE(get.body.empty());
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.content_type, get.content_type);
}

TEST_F(router_test, a_handler_exception_is_a_500_problem_without_its_message) {
  auto r = dispatch("GET", "/boom");
  EXPECT_EQ(r.status, 500);
  auto b = problem_body(r);
  EXPECT_EQ(b.at("type"), "https://maeul.city/problems/internal");
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("db.internal"), std::string::npos) << r.body;
  EXPECT_FALSE(header(r, "Retry-After"));
}

TEST_F(router_test, an_unavailable_database_is_a_503_with_retry_after) {
  auto r = dispatch("GET", "/db-down");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(problem_body(r).at("type"), "https://maeul.city/problems/unavailable");
  auto retry = header(r, "Retry-After");
  ASSERT_TRUE(retry);
  EXPECT_GT(std::stoi(*retry), 0);
  EXPECT_EQ(r.body.find("10.1.2.3"), std::string::npos) << r.body;
}

TEST_F(router_test, every_answer_is_counted_in_the_metrics) {
  dispatch("GET", "/api/v1/things/a");
  dispatch("GET", "/api/v1/things/b");
  dispatch("GET", "/nope");
  dispatch("GET", "/boom");
  auto text = metrics_.render("");
  EXPECT_NE(text.find("maeul_http_requests_total{route=\"/api/v1/things/{id}\",method=\"GET\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("maeul_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("maeul_http_requests_total{route=\"/boom\",method=\"GET\",status=\"500\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("maeul_http_request_duration_seconds_count{route=\"/api/v1/things/{id}\"} 2\n"),
            std::string::npos)
      << text;
}

TEST_F(router_test, routes_lists_the_table) {
  auto routes = router_.routes();
  ASSERT_EQ(routes.size(), 12u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/healthz");
  EXPECT_EQ(routes[0].roles, api::public_route);
  EXPECT_EQ(routes[7].pattern, "/api/v1/admin");
  EXPECT_EQ(routes[7].roles, api::admin_only);
}

// ---- authentication and authorization (no database is reachable)

TEST_F(router_test, a_protected_route_without_authorization_is_401_with_www_authenticate) {
  auto r = dispatch("GET", "/api/v1/admin");
  EXPECT_EQ(r.status, 401);  // a store lookup would have answered 503: the database was not asked
  EXPECT_EQ(problem_body(r).at("type"), "https://maeul.city/problems/unauthorized");
  auto www = header(r, "WWW-Authenticate");
  ASSERT_TRUE(www);
  EXPECT_EQ(www->rfind("Bearer", 0), 0u) << *www;
}

TEST_F(router_test, a_malformed_authorization_header_is_401_without_the_database) {
  for (const char* h : {"Basic xyz", "Bearer", "Bearer ", "Bearer    ", "Token abc", "bearer"}) {
    auto r = dispatch("GET", "/api/v1/admin", h);
    EXPECT_EQ(r.status, 401) << h;
    EXPECT_TRUE(header(r, "WWW-Authenticate")) << h;
  }
  auto too_long = dispatch("GET", "/api/v1/admin", "Bearer " + std::string(513, 'a'));
  EXPECT_EQ(too_long.status, 401);
}

TEST_F(router_test, the_bootstrap_token_reaches_an_admin_route_without_the_database) {
  auto r = dispatch("GET", "/api/v1/admin", "Bearer " + bootstrap);
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = json::parse(r.body);
  EXPECT_EQ(b.at("role"), "admin");
  EXPECT_EQ(b.at("token_id"), "bootstrap");
  // The scheme is case-insensitive and surrounding spaces are ignored.
  EXPECT_EQ(dispatch("DELETE", "/api/v1/admin", "bearer   " + bootstrap + "  ").status, 200);
  EXPECT_EQ(dispatch("GET", "/api/v1/registry", "BEARER " + bootstrap).status, 200);
}

TEST_F(router_test, the_bootstrap_admin_is_forbidden_on_a_device_only_route) {
  auto r = dispatch("POST", "/api/v1/readings", "Bearer " + bootstrap);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(problem_body(r).at("type"), "https://maeul.city/problems/forbidden");
  EXPECT_FALSE(header(r, "WWW-Authenticate"));
}

TEST_F(router_test, an_access_token_query_parameter_is_accepted_only_without_a_header) {
  auto r = dispatch("GET", "/api/v1/live?access_token=" + bootstrap);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("role"), "admin");
  EXPECT_EQ(dispatch("GET", "/api/v1/live?access_token=" + bootstrap, "Basic xyz").status, 401);
}

TEST_F(router_test, an_access_token_query_parameter_is_ignored_outside_the_live_feed) {
  EXPECT_EQ(dispatch("GET", "/api/v1/admin?access_token=" + bootstrap).status, 401);
  EXPECT_EQ(dispatch("GET", "/api/v1/registry?access_token=" + bootstrap).status, 401);
}

TEST_F(router_test, an_unknown_token_asks_the_store_and_an_unreachable_database_is_503) {
  auto r = dispatch("GET", "/api/v1/admin", "Bearer mt_not-the-bootstrap-token");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(header(r, "Retry-After"));
}

TEST_F(router_test, authenticate_directly) {
  auto who = run_task(auth_.authenticate("Bearer " + bootstrap));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->role, "admin");
  EXPECT_EQ(who->token_id, "bootstrap");
  EXPECT_TRUE(who->sensors.empty());
  EXPECT_FALSE(run_task(auth_.authenticate("Basic " + bootstrap)));
  EXPECT_FALSE(run_task(auth_.authenticate("")));
  EXPECT_FALSE(run_task(auth_.authenticate(bootstrap)));
}

TEST(authenticator, an_empty_bootstrap_token_accepts_nothing_without_the_database) {
  storage::db_pool pool(storage::pool_options{"postgresql:///none?host=/nonexistent/maeul-unit-test", 1, 1, 1000});
  storage::token_store store(pool);
  api::authenticator auth(store, "", 5);
  // "Bearer " + an empty bootstrap token is just "Bearer ": malformed, no lookup.
  EXPECT_FALSE(run_task(auth.authenticate("Bearer ")));
  // A real-looking token goes to the store, which has no database.
  EXPECT_THROW(run_task(auth.authenticate("Bearer mt_abc")), storage::unavailable);
}
