// API tokens: random 256-bit secrets, stored only as SHA-256 hashes.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/domain/encoding.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/registry.hpp"
#include "sql_util.hpp"
#include "wire_sql.hpp"

namespace maeul::storage {
namespace {

const std::string token_json = wire::token_object() + "::text";
const std::string insert_sql =
    "INSERT INTO api_tokens (id, name, role, sensors, zones, domains, expires_at, created_by, token_hash) "
    "VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
    "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
    "CASE WHEN $7::bigint IS NULL THEN NULL ELSE to_timestamp($7::bigint / 1e6) END, $8, $9) RETURNING " + token_json;
// Every grant and revocation of a right is kept (API §8): tokens share users' append-only record.
const std::string record_sql =
    "INSERT INTO grant_changes (actor, username, action, before, after, subject) "
    "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'token')";
const std::string lookup_sql =
    "SELECT id, name, role, to_json(sensors)::text, to_json(zones)::text, to_json(domains)::text, "
    "COALESCE((extract(epoch FROM expires_at) * 1e6)::bigint, 0) FROM api_tokens "
    "WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";
const std::string list_sql = "SELECT id, " + token_json +
                             " FROM api_tokens WHERE revoked_at IS NULL AND id > $1 ORDER BY id LIMIT $2";
const std::string get_sql = "SELECT " + token_json + " FROM api_tokens WHERE id = $1 AND revoked_at IS NULL";
const std::string revoke_sql =
    "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING " + token_json;
const std::string changes_sql = "SELECT id, " + wire::grant_change_object() +
                                "::text FROM grant_changes WHERE subject = 'token' AND username = $1 AND id > $2 "
                                "ORDER BY id LIMIT $3";

std::string random_bytes(std::size_t n) {
  std::string b(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return b;
}

created_token insert(pqxx::connection_base& c, const domain::token_input& t, const std::string& actor) {
  created_token out;
  out.token = generate_token();
  pqxx::work tx(c);
  std::optional<std::int64_t> expires = t.expires_at_us;
  auto id = "tok_" + domain::hex(random_bytes(6));
  auto row = tx.exec_params1(insert_sql, id, t.name, t.role, nlohmann::json(t.sensors).dump(),
                             nlohmann::json(t.zones).dump(), nlohmann::json(t.domains).dump(), expires, actor,
                             hash_token(out.token));
  tx.exec_params(record_sql, actor, id, "create", std::optional<std::string>(), row[0].as<std::string>());
  tx.commit();
  auto j = nlohmann::ordered_json::parse(row[0].as<std::string>());
  j["token"] = out.token;
  out.json = j.dump();
  return out;
}

}  // namespace

std::string generate_token() { return "mt_" + domain::base64url_encode(random_bytes(32)); }

std::string hash_token(const std::string& token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return domain::hex(std::string_view(reinterpret_cast<char*>(md), len));
}

task<std::optional<principal>> token_store::lookup(std::string token_hash) {
  return pool_.run<std::optional<principal>>([token_hash](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(lookup_sql, token_hash);
    if (r.empty()) return std::optional<principal>{};
    principal p;
    p.token_id = r[0][0].as<std::string>();
    p.name = r[0][1].as<std::string>();
    p.role = r[0][2].as<std::string>();
    p.sensors = sql::strings_of(r[0][3].as<std::string>());
    p.zones = sql::strings_of(r[0][4].as<std::string>());
    p.domains = sql::strings_of(r[0][5].as<std::string>());
    p.expires_at_us = r[0][6].as<std::int64_t>();
    return std::optional<principal>(std::move(p));
  });
}

task<created_token> token_store::create(domain::token_input t, std::string actor) {
  return pool_.run<created_token>([t, actor](pqxx::connection_base& c) { return insert(c, t, actor); });
}

task<page> token_store::list(page_request req) {
  return pool_.run<page>([req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(list_sql, req.after, req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) p.items.push_back(r[i][1].as<std::string>());
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

task<std::optional<std::string>> token_store::get(std::string id) {
  return pool_.run<std::optional<std::string>>([id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(get_sql, id);
    if (r.empty()) return std::optional<std::string>{};
    return std::optional<std::string>(r[0][0].as<std::string>());
  });
}

task<bool> token_store::revoke(std::string id, std::string actor) {
  return pool_.run<bool>([id, actor](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(revoke_sql, id);
    if (r.empty()) return false;
    tx.exec_params(record_sql, actor, id, "revoke", r[0][0].as<std::string>(), std::optional<std::string>());
    tx.commit();
    return true;
  });
}

task<page> token_store::changes(std::string id, page_request req) {
  return pool_.run<page>([id, req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(changes_sql, id, std::stoll(req.after.empty() ? "0" : req.after), req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) p.items.push_back(r[i][1].as<std::string>());
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

created_token create_token_now(const std::string& url, const domain::token_input& t) {
  try {
    pqxx::connection c(url);
    return insert(c, t, "cli");
  } catch (const pqxx::broken_connection& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    throw unavailable("cannot connect to the database: " + why);
  }
}

}  // namespace maeul::storage
