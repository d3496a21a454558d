// User accounts, sessions, failed sign-ins and the append-only grant audit (storage/users.hpp).
#include "maeul/storage/users.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/storage/db_pool.hpp"
#include "sql_util.hpp"
#include "wire_sql.hpp"

namespace maeul::storage {
namespace {

using domain::make_problem;
using domain::problem_kind;
using json = nlohmann::json;

const std::string user_json = wire::user_object() + "::text";
const std::string insert_sql =
    "INSERT INTO users (username, display_name, role, zones, domains, password_hash) "
    "VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
    "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6) RETURNING " + user_json;
const std::string audit_sql =
    "INSERT INTO grant_changes (actor, username, action, before, after) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)";
const std::string get_sql = "SELECT " + user_json + " FROM users WHERE username = $1";
const std::string list_sql =
    "SELECT username, " + user_json + " FROM users WHERE username > $1 ORDER BY username LIMIT $2";
const std::string lock_row_sql =
    "SELECT display_name, role, to_json(zones)::text, to_json(domains)::text, disabled FROM users "
    "WHERE username = $1 FOR UPDATE";
const std::string update_sql =
    "UPDATE users SET display_name = $2, role = $3, zones = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
    "domains = ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), disabled = $6, "
    "password_hash = CASE WHEN $7 = '' THEN password_hash ELSE $7 END, updated_at = now() "
    "WHERE username = $1 RETURNING " + user_json;
const std::string end_user_sessions_sql =
    "UPDATE user_sessions SET ended_at = now() WHERE username = $1 AND ended_at IS NULL";
const std::string delete_sql = "DELETE FROM users WHERE username = $1";
const std::string changes_sql = "SELECT id, " + wire::grant_change_object() +
                                "::text FROM grant_changes WHERE subject = 'user' AND username = $1 AND id > $2 ORDER BY id LIMIT $3";
const std::string credentials_sql = "SELECT password_hash, disabled FROM users WHERE username = $1";
// The last max_failures failures within the window; locked when there are that many, until the
// oldest of them leaves the window.
const std::string lockout_sql =
    "WITH recent AS (SELECT at FROM sign_in_failures WHERE username = $1 "
    "AND at > now() - make_interval(secs => $2::float8) ORDER BY at DESC LIMIT $3::int) "
    "SELECT count(*)::int, COALESCE(ceil(EXTRACT(EPOCH FROM min(at) + make_interval(secs => $2::float8) - now()))::int, 0) "
    "FROM recent";
const std::string failure_sql = "INSERT INTO sign_in_failures (username, remote) VALUES ($1, $2)";
const std::string clear_failures_sql = "DELETE FROM sign_in_failures WHERE username = $1";
const std::string prune_failures_sql = "DELETE FROM sign_in_failures WHERE at < now() - interval '1 day'";
const std::string session_insert_sql =
    "INSERT INTO user_sessions (id_hash, username, expires_at) "
    "VALUES ($1, $2, now() + make_interval(secs => $3::float8)) "
    "RETURNING (EXTRACT(EPOCH FROM expires_at) * 1000000)::bigint";
const std::string use_session_sql =
    "UPDATE user_sessions s SET last_seen_at = now() FROM users u "
    "WHERE s.id_hash = $1 AND u.username = s.username AND s.ended_at IS NULL AND s.expires_at > now() "
    "AND s.last_seen_at > now() - make_interval(secs => $2::float8) AND NOT u.disabled "
    "RETURNING u.username, u.role, to_json(u.zones)::text, to_json(u.domains)::text, "
    "(EXTRACT(EPOCH FROM s.expires_at) * 1000000)::bigint, u.display_name";
const std::string end_session_sql =
    "UPDATE user_sessions SET ended_at = now() WHERE id_hash = $1 AND ended_at IS NULL RETURNING id_hash";


void audit(pqxx::work& tx, const std::string& actor, const std::string& username, const std::string& action,
           const json& before, const json& after) {
  // NULL jsonb as the SQL text 'null' would be a JSON null, not SQL NULL: both read the same to admins.
  tx.exec_params(audit_sql, actor, username, action, before.dump(), after.dump());
}

json rights_of(const domain::user_input& u) {
  return {{"display_name", u.display_name}, {"role", u.role}, {"zones", u.zones}, {"domains", u.domains},
          {"disabled", false}};
}

outcome<std::string> insert_user(pqxx::connection_base& c, const domain::user_input& u, const std::string& hash,
                                 const std::string& actor) {
  try {
    pqxx::work tx(c);
    auto row = tx.exec_params1(insert_sql, u.username, u.display_name, u.role, json(u.zones).dump(),
                               json(u.domains).dump(), hash);
    audit(tx, actor, u.username, "create", nullptr, rights_of(u));
    tx.commit();
    return row[0].as<std::string>();
  } catch (const pqxx::unique_violation&) {
    return make_problem(problem_kind::conflict, "a user named \"" + u.username + "\" exists already");
  }
}

lockout_state read_lockout(pqxx::transaction_base& tx, const std::string& username, int max_failures, int window_s) {
  auto r = tx.exec_params1(lockout_sql, username, window_s, max_failures);
  lockout_state s;
  s.failures = r[0].as<int>();
  if (s.failures >= max_failures) s.retry_after_s = std::max(1, r[1].as<int>());
  return s;
}

}  // namespace

task<outcome<std::string>> user_store::create(domain::user_input u, std::string password_hash, std::string actor) {
  return pool_.run<outcome<std::string>>(
      [u, password_hash, actor](pqxx::connection_base& c) { return insert_user(c, u, password_hash, actor); });
}

task<page> user_store::list(page_request req) {
  return pool_.run<page>([req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(list_sql, req.after, req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) p.items.push_back(r[i][1].as<std::string>());
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

task<outcome<std::string>> user_store::get(std::string username) {
  return pool_.run<outcome<std::string>>([username](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(get_sql, username);
    if (r.empty()) return make_problem(problem_kind::not_found, "no user named \"" + username + "\"");
    return r[0][0].as<std::string>();
  });
}

task<outcome<patched_user>> user_store::patch(std::string username, domain::user_patch p, std::string new_hash,
                                              std::string actor) {
  return pool_.run<outcome<patched_user>>(
      [username, p, new_hash, actor](pqxx::connection_base& c) -> outcome<patched_user> {
        pqxx::work tx(c);
        auto cur = tx.exec_params(lock_row_sql, username);
        if (cur.empty()) return make_problem(problem_kind::not_found, "no user named \"" + username + "\"");
        json before = {{"display_name", cur[0][0].as<std::string>()},
                       {"role", cur[0][1].as<std::string>()},
                       {"zones", json::parse(cur[0][2].as<std::string>())},
                       {"domains", json::parse(cur[0][3].as<std::string>())}};
        bool was_disabled = cur[0][4].as<bool>();
        json after = before;
        if (p.display_name) after["display_name"] = *p.display_name;
        if (p.role) after["role"] = *p.role;
        if (p.zones) after["zones"] = *p.zones;
        if (p.domains) after["domains"] = *p.domains;
        bool disabled = p.disabled.value_or(was_disabled);
        auto row = tx.exec_params1(update_sql, username, after["display_name"].get<std::string>(),
                                   after["role"].get<std::string>(), after["zones"].dump(), after["domains"].dump(),
                                   disabled, new_hash);
        // One grant row per kind of change, holding only the fields that changed.
        json b = json::object(), a = json::object();
        for (auto& [k, v] : after.items())
          if (before[k] != v) {
            b[k] = before[k];
            a[k] = v;
          }
        if (!a.empty()) audit(tx, actor, username, "change", b, a);
        if (disabled != was_disabled)
          audit(tx, actor, username, disabled ? "disable" : "enable", json{{"disabled", was_disabled}},
                json{{"disabled", disabled}});
        if (!new_hash.empty()) audit(tx, actor, username, "password", nullptr, json{{"password", "changed"}});
        patched_user out;
        out.sessions_ended = (disabled && !was_disabled) || !new_hash.empty();
        if (out.sessions_ended) tx.exec_params(end_user_sessions_sql, username);
        tx.commit();
        out.json = row[0].as<std::string>();
        return out;
      });
}

task<outcome<bool>> user_store::remove(std::string username, std::string actor) {
  return pool_.run<outcome<bool>>([username, actor](pqxx::connection_base& c) -> outcome<bool> {
    pqxx::work tx(c);
    auto cur = tx.exec_params(get_sql + " FOR UPDATE", username);
    if (cur.empty()) return make_problem(problem_kind::not_found, "no user named \"" + username + "\"");
    auto before = json::parse(cur[0][0].as<std::string>());
    tx.exec_params(delete_sql, username);
    audit(tx, actor, username, "delete", before, nullptr);
    tx.commit();
    return true;
  });
}

task<page> user_store::changes(std::string username, page_request req) {
  return pool_.run<page>([username, req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::int64_t after = req.after.empty() ? 0 : std::stoll(req.after);
    auto r = tx.exec_params(changes_sql, username, after, req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) p.items.push_back(r[i][1].as<std::string>());
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

task<std::optional<user_credentials>> user_store::credentials(std::string username) {
  return pool_.run<std::optional<user_credentials>>([username](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(credentials_sql, username);
    if (r.empty()) return std::optional<user_credentials>{};
    return std::optional<user_credentials>(user_credentials{r[0][0].as<std::string>(), r[0][1].as<bool>()});
  });
}

task<lockout_state> user_store::lockout(std::string username, int max_failures, int window_s) {
  return pool_.run<lockout_state>([username, max_failures, window_s](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return read_lockout(tx, username, max_failures, window_s);
  });
}

task<lockout_state> user_store::record_failure(std::string username, std::string remote, int max_failures,
                                               int window_s) {
  return pool_.run<lockout_state>([username, remote, max_failures, window_s](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params(failure_sql, username, remote);
    tx.exec(prune_failures_sql);  // the table holds at most a day of failures
    auto s = read_lockout(tx, username, max_failures, window_s);
    tx.commit();
    return s;
  });
}

task<created_session> user_store::create_session(std::string username, std::string id_hash, int max_s) {
  return pool_.run<created_session>([username, id_hash, max_s](pqxx::connection_base& c) {
    pqxx::work tx(c);
    created_session out;
    out.expires_at_us = tx.exec_params1(session_insert_sql, id_hash, username, max_s)[0].as<std::int64_t>();
    tx.exec_params(clear_failures_sql, username);
    out.user_json = tx.exec_params1(get_sql, username)[0].as<std::string>();
    tx.commit();
    return out;
  });
}

task<std::optional<principal>> user_store::use_session(std::string id_hash, int idle_s) {
  return pool_.run<std::optional<principal>>([id_hash, idle_s](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(use_session_sql, id_hash, idle_s);
    tx.commit();
    if (r.empty()) return std::optional<principal>{};
    principal p;
    p.kind = "user";
    p.name = r[0][0].as<std::string>();
    p.role = r[0][1].as<std::string>();
    p.zones = sql::strings_of(r[0][2].as<std::string>());
    p.domains = sql::strings_of(r[0][3].as<std::string>());
    p.session_hash = id_hash;
    p.expires_at_us = r[0][4].as<std::int64_t>();
    p.display_name = r[0][5].as<std::string>();
    return std::optional<principal>(std::move(p));
  });
}

task<bool> user_store::end_session(std::string id_hash) {
  return pool_.run<bool>([id_hash](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params(end_session_sql, id_hash);
    tx.commit();
    return !r.empty();
  });
}

outcome<std::string> create_user_now(const std::string& url, const domain::user_input& u,
                                     const std::string& password_hash) {
  try {
    pqxx::connection c(url);
    return insert_user(c, u, password_hash, "cli");
  } catch (const pqxx::broken_connection& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    throw unavailable("cannot connect to the database: " + why);
  }
}

}  // namespace maeul::storage
