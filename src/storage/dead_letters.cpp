// Dead letters of the MQTT door and device grants for the broker's ACL (dead_letters.hpp).
#include "maeul/storage/dead_letters.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/domain/encoding.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/storage/db_pool.hpp"
#include "sql_util.hpp"

namespace maeul::storage {
namespace {

// Insert, then delete everything older than the newest `keep`. By position, not by arithmetic on
// ids: a rolled-back insert or a crash leaves gaps in the sequence. The statement's own subquery
// does not see the new row, so the (keep-1)-th newest existing row is the oldest one kept beside it.
const std::string insert_sql =
    "WITH ins AS (INSERT INTO mqtt_dead_letters (topic, payload, payload_bytes, error, received_at) "
    "VALUES ($1, decode($2, 'hex'), $3, $4, to_timestamp($5::double precision / 1e6)) RETURNING id) "
    "DELETE FROM mqtt_dead_letters WHERE id <= (SELECT id FROM mqtt_dead_letters ORDER BY id DESC "
    "OFFSET $6::bigint - 1 LIMIT 1) AND EXISTS (SELECT 1 FROM ins)";
const std::string list_sql =
    "SELECT id, topic, encode(payload, 'hex'), payload_bytes, error, " + sql::ts("received_at") +
    " FROM mqtt_dead_letters WHERE ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2";
const std::string grants_sql =
    "SELECT name, to_json(sensors)::text FROM api_tokens WHERE role = 'device' AND revoked_at IS NULL "
    "ORDER BY name, id";


std::string from_hex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += char(v(hex[i]) * 16 + v(hex[i + 1]));
  return out;
}

}  // namespace

// Not a coroutine: g++ 12 mishandles a capturing lambda temporary in a co_await expression.
task<bool> dead_letter_store::add(dead_letter d) {
  auto size = std::int64_t(d.payload.size());
  if (d.payload.size() > dead_letter_max_payload) d.payload.resize(dead_letter_max_payload);
  auto hex = domain::hex(d.payload);
  auto keep = keep_;
  return pool_.run<bool>([d, hex, size, keep](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params(insert_sql, d.topic, hex, size, d.error, d.received_us, keep);
    tx.commit();
    return true;
  });
}

task<page> dead_letter_store::list(page_request req) {
  return pool_.run<page>([req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::int64_t after = req.after.empty() ? 0 : std::stoll(req.after);
    auto r = tx.exec_params(list_sql, after, req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) {
      auto payload = from_hex(r[i][2].as<std::string>());
      auto bytes = r[i][3].as<std::int64_t>();
      nlohmann::ordered_json j = {{"id", r[i][0].as<std::int64_t>()},
                                  {"topic", r[i][1].as<std::string>()},
                                  {"payload", payload},
                                  {"payload_bytes", bytes},
                                  {"truncated", bytes > std::int64_t(payload.size())},
                                  {"error", r[i][4].as<std::string>()},
                                  {"received_at", r[i][5].as<std::string>()}};
      p.items.push_back(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    }
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

std::vector<device_grant> device_grants_now(const std::string& url) {
  try {
    pqxx::connection c(url);
    pqxx::read_transaction tx(c);
    std::vector<device_grant> out;
    for (const auto& row : tx.exec(grants_sql)) {
      device_grant g{row[0].as<std::string>(), {}};
      for (auto& s : nlohmann::json::parse(row[1].as<std::string>())) g.sensors.push_back(s.get<std::string>());
      out.push_back(std::move(g));
    }
    return out;
  } catch (const pqxx::broken_connection& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    throw unavailable("cannot connect to the database: " + why);
  }
}

}  // namespace maeul::storage
