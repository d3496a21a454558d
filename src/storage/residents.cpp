// The welfare vault's tables: residents (sealed) and the chained access records (storage/residents.hpp).
#include "maeul/storage/residents.hpp"

#include <chrono>
#include <memory>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "maeul/domain/encoding.hpp"
#include "maeul/storage/db_pool.hpp"
#include "sql_util.hpp"

namespace maeul::storage {
namespace {

using domain::make_problem;
using domain::problem_kind;
using json = nlohmann::json;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string text_array(const std::vector<std::string>& v) { return json(v).dump(); }

// Bytes travel as hex text both ways ('\x..' is what decode/encode give).
std::string hex_or_empty(const pqxx::field& f) {
  if (f.is_null()) return {};
  auto b = domain::unhex(f.as<std::string>());
  return b ? *b : std::string();
}

const std::string columns =
    "r.id, r.household, r.zone_id, r.care_worker, r.risk_level, r.consent_purpose, r.consent_basis, "
    "(extract(epoch FROM r.consent_granted_at) * 1000000)::bigint, "
    "(extract(epoch FROM r.consent_expires_at) * 1000000)::bigint, coalesce(r.key_id, ''), "
    "encode(r.data_key, 'hex'), encode(r.sealed, 'hex'), encode(r.phone_index, 'hex'), r.withheld_readings, "
    "(extract(epoch FROM r.created_at) * 1000000)::bigint, (extract(epoch FROM r.updated_at) * 1000000)::bigint";

resident_row row_of(const pqxx::row& x) {
  resident_row r;
  r.id = x[0].as<std::string>();
  r.household = x[1].as<std::string>();
  r.zone = x[2].as<std::string>();
  r.care_worker = x[3].as<std::string>();
  r.risk_level = x[4].as<std::string>();
  r.consent_purpose = x[5].as<std::string>();
  r.consent_basis = x[6].as<std::string>();
  r.consent_granted_us = x[7].as<std::int64_t>();
  if (!x[8].is_null()) r.consent_expires_us = x[8].as<std::int64_t>();
  r.sealed.key_id = x[9].as<std::string>();
  r.sealed.wrapped_key = hex_or_empty(x[10]);
  r.sealed.sealed = hex_or_empty(x[11]);
  r.phone_index = hex_or_empty(x[12]);
  r.withheld = x[13].as<std::int64_t>();
  r.created_us = x[14].as<std::int64_t>();
  r.updated_us = x[15].as<std::int64_t>();
  return r;
}

// A time in microseconds as a timestamptz, exactly.
const char* us_ts(int n) {
  static const std::string forms[] = {"('epoch'::timestamptz + $1 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $2 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $3 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $4 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $5 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $6 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $7 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $8 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $9 * interval '1 microsecond')",
                                      "('epoch'::timestamptz + $10 * interval '1 microsecond')"};
  return forms[n - 1].c_str();
}

const std::string insert_sql = std::string(
    "INSERT INTO residents AS r (id, household, zone_id, care_worker, risk_level, consent_purpose, consent_basis, "
    "consent_granted_at, consent_expires_at, key_id, data_key, sealed, phone_index) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, ") + us_ts(8) + ", CASE WHEN $9::bigint IS NULL THEN NULL ELSE " + us_ts(9) +
    " END, $10, decode($11, 'hex'), decode($12, 'hex'), decode(nullif($13, ''), 'hex')) RETURNING " + columns;

const std::string open_alert_sql =
    "SELECT a.id FROM alerts a JOIN sensors s ON s.id = a.sensor_id "
    "WHERE s.domain = 'welfare' AND s.attributes->>'household' = $1 AND a.state <> 'resolved' "
    "ORDER BY (a.severity = 'critical') DESC, a.id DESC LIMIT 1";

const std::string in_scope = "(jsonb_array_length($2::jsonb) = 0 OR r.zone_id IN (SELECT jsonb_array_elements_text($2::jsonb)))";

// A card's read: the row and its household's open alert (open_alert_sql, column 16) in one
// statement, prepared once per pool connection.
const std::string card_alert =
    "coalesce((SELECT a.id FROM alerts a JOIN sensors s ON s.id = a.sensor_id WHERE s.domain = 'welfare' AND "
    "s.attributes->>'household' = r.household AND a.state <> 'resolved' "
    "ORDER BY (a.severity = 'critical') DESC, a.id DESC LIMIT 1), 0)";
const std::string card_sql = "SELECT " + columns + ", " + card_alert +
                             " FROM residents r WHERE r.id = $1 AND r.erased_at IS NULL AND " + in_scope;
const std::string household_card_sql =
    "SELECT " + columns + " FROM residents r WHERE r.household = $1 AND r.erased_at IS NULL";

// The appender's one statement, its own transaction: under the head row's lock it checks that the
// head is still (seq $4, hash $5), inserts the batch ($1, chained from that head) and moves the
// head to ($2, $3). No row back: the head had moved meanwhile (the batch is chained again).
const char* const batch_sql =
    "WITH h AS (SELECT one FROM access_head WHERE one AND seq = $4 AND hash = decode($5, 'hex') FOR UPDATE), "
    "ins AS (INSERT INTO access_records (seq, at, actor, role, ip, action, resident, alert_id, purpose, prev_hash, hash) "
    "SELECT x.seq, 'epoch'::timestamptz + x.at * interval '1 microsecond', x.actor, x.role, x.ip, x.action, "
    "nullif(x.resident, ''), nullif(x.alert, 0), x.purpose, decode(x.prev, 'hex'), decode(x.hash, 'hex') "
    "FROM jsonb_to_recordset($1::jsonb) AS x(seq bigint, at bigint, actor text, role text, ip text, action text, "
    "resident text, alert bigint, purpose text, prev text, hash text) WHERE EXISTS (SELECT 1 FROM h)) "
    "UPDATE access_head SET seq = $2, hash = decode($3, 'hex') WHERE one AND EXISTS (SELECT 1 FROM h) RETURNING seq";
const char* const head_sql = "SELECT seq, encode(hash, 'hex') FROM access_head WHERE one";

std::int64_t open_alert_of(pqxx::transaction_base& tx, const std::string& household) {
  auto r = tx.exec_params(open_alert_sql, household);
  return r.empty() ? 0 : r[0][0].as<std::int64_t>();
}

}  // namespace

void append_access(pqxx::transaction_base& tx, const access_entry& a, const std::string& resident,
                   std::int64_t alert_id) {
  auto head = tx.exec1("SELECT seq, encode(hash, 'hex') FROM access_head WHERE one FOR UPDATE");
  privacy::access_fields f;
  f.seq = head[0].as<std::int64_t>() + 1;
  f.at_us = now_us();
  f.actor = a.actor;
  f.role = a.role;
  f.ip = a.ip;
  f.action = a.action;
  f.resident = resident;
  f.alert_id = alert_id;
  f.purpose = a.purpose;
  auto prev = domain::unhex(head[1].as<std::string>()).value_or(std::string());
  auto hash = domain::hex(privacy::chain_hash(prev, f));
  tx.exec_params(std::string("INSERT INTO access_records (seq, at, actor, role, ip, action, resident, alert_id, purpose, "
                             "prev_hash, hash) VALUES ($1, ") + us_ts(2) +
                     ", $3, $4, $5, $6, nullif($7, ''), nullif($8, 0), $9, decode($10, 'hex'), decode($11, 'hex'))",
                 f.seq, f.at_us, f.actor, f.role, f.ip, f.action, f.resident, f.alert_id, f.purpose,
                 head[1].as<std::string>(), hash);
  tx.exec_params("UPDATE access_head SET seq = $1, hash = decode($2, 'hex') WHERE one", f.seq, hash);
}

task<domain::outcome<resident_row>> resident_store::create(resident_row r, access_entry a) {
  return pool_.run<domain::outcome<resident_row>>([r, a](pqxx::connection_base& c) -> domain::outcome<resident_row> {
    try {
      pqxx::work tx(c);
      // The fence of a key rotation: the key id must be active, under a share lock that the
      // rotation's retiring UPDATE waits for (and rechecks after).
      tx.exec_params("INSERT INTO vault_keys (key_id) VALUES ($1) ON CONFLICT DO NOTHING", r.sealed.key_id);
      if (tx.exec_params("SELECT 1 FROM vault_keys WHERE key_id = $1 AND retired_at IS NULL FOR SHARE", r.sealed.key_id)
              .empty())
        throw retired_key("key id " + r.sealed.key_id + " was retired by a key rotation");
      std::optional<std::int64_t> expires = r.consent_expires_us;
      auto row = tx.exec_params1(insert_sql, r.id, r.household, r.zone, r.care_worker, r.risk_level, r.consent_purpose,
                                 r.consent_basis, r.consent_granted_us, expires, r.sealed.key_id,
                                 domain::hex(r.sealed.wrapped_key), domain::hex(r.sealed.sealed),
                                 domain::hex(r.phone_index));
      append_access(tx, a, r.id, 0);
      tx.commit();
      return row_of(row);
    } catch (const pqxx::foreign_key_violation&) {
      return domain::invalid({{"/zone", {}, "no zone \"" + r.zone + "\""}});
    }
  });
}

task<std::vector<resident_row>> resident_store::list(std::vector<std::string> zones, std::string zone,
                                                     page_request req, access_entry a) {
  return pool_.run<std::vector<resident_row>>([zones, zone, req, a](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("SELECT " + columns + " FROM residents r WHERE r.erased_at IS NULL AND r.id > $1 AND " +
                                in_scope + " AND ($3 = '' OR r.zone_id = $3) ORDER BY r.id LIMIT $4",
                            req.after, text_array(zones), zone, req.limit + 1);
    std::vector<resident_row> out;
    for (const auto& x : r) out.push_back(row_of(x));
    append_access(tx, a, "", 0);
    tx.commit();
    return out;
  });
}

task<std::optional<resident_row>> resident_store::read(std::string id, std::vector<std::string> zones, access_entry a) {
  auto call = pool_.run<std::optional<resident_row>>([id, zones](pqxx::connection_base& c) -> std::optional<resident_row> {
    c.prepare("resident_card", card_sql);  // once per connection (pqxx: the same definition again is a no-op)
    pqxx::nontransaction tx(c);            // one read-only statement: its own snapshot, no BEGIN/COMMIT
    auto r = tx.exec_prepared("resident_card", id, text_array(zones));
    if (r.empty()) return std::nullopt;
    auto row = row_of(r[0]);
    row.open_alert = r[0][16].as<std::int64_t>();
    return row;
  });
  auto row = co_await std::move(call);
  if (!row) co_return std::nullopt;
  // Answered only once its record is committed (a refusal or failure throws: no answer).
  auto record = appender_.append(std::move(a), row->id, row->open_alert);
  co_await std::move(record);
  co_return row;
}

task<std::optional<resident_row>> resident_store::read_household(std::string household, std::int64_t alert_id,
                                                                 access_entry a) {
  auto call = pool_.run<std::optional<resident_row>>([household](pqxx::connection_base& c) -> std::optional<resident_row> {
    c.prepare("resident_household_card", household_card_sql);
    pqxx::nontransaction tx(c);
    auto r = tx.exec_prepared("resident_household_card", household);
    if (r.empty()) return std::nullopt;
    return row_of(r[0]);
  });
  auto row = co_await std::move(call);
  if (!row) co_return std::nullopt;
  row->open_alert = alert_id;
  auto record = appender_.append(std::move(a), row->id, alert_id);
  co_await std::move(record);
  co_return row;
}

task<std::vector<resident_row>> resident_store::by_phone(std::vector<std::string> indexes,
                                                         std::vector<std::string> zones, access_entry a) {
  return pool_.run<std::vector<resident_row>>([indexes, zones, a](pqxx::connection_base& c) {
    pqxx::work tx(c);
    std::vector<std::string> hexes;
    for (const auto& i : indexes) hexes.push_back(domain::hex(i));
    auto r = tx.exec_params("SELECT " + columns + " FROM residents r WHERE r.erased_at IS NULL AND " + in_scope +
                                " AND r.phone_index IN (SELECT decode(x, 'hex') FROM jsonb_array_elements_text($1::jsonb) x) "
                                "ORDER BY r.id LIMIT 20",
                            text_array(hexes), text_array(zones));
    std::vector<resident_row> out;
    for (const auto& x : r) {
      out.push_back(row_of(x));
      out.back().open_alert = open_alert_of(tx, out.back().household);
      append_access(tx, a, out.back().id, out.back().open_alert);
    }
    if (out.empty()) append_access(tx, a, "", 0);  // a lookup that found nobody is still a lookup
    tx.commit();
    return out;
  });
}

task<domain::outcome<resident_row>> resident_store::update(std::string id, std::vector<std::string> zones,
                                                           change_fn change, access_entry a) {
  return pool_.run<domain::outcome<resident_row>>(
      [id, zones, change, a](pqxx::connection_base& c) -> domain::outcome<resident_row> {
        try {
          pqxx::work tx(c);
          auto cur = tx.exec_params("SELECT " + columns + " FROM residents r WHERE r.id = $1 AND r.erased_at IS NULL AND " +
                                        in_scope + " FOR UPDATE",
                                    id, text_array(zones));
          if (cur.empty()) return make_problem(problem_kind::not_found, "no resident \"" + id + "\"");
          auto next = change(row_of(cur[0]));
          if (!next) return next.error();
          const auto& n = *next;
          std::optional<std::int64_t> expires = n.consent_expires_us;
          auto row = tx.exec_params1(
              std::string("UPDATE residents r SET zone_id = $2, care_worker = $3, risk_level = $4, consent_purpose = $5, "
                          "consent_basis = $6, consent_granted_at = ") + us_ts(7) +
                  ", consent_expires_at = CASE WHEN $8::bigint IS NULL THEN NULL ELSE " + us_ts(8) +
                  " END, sealed = decode($9, 'hex'), phone_index = decode(nullif($10, ''), 'hex'), updated_at = now() "
                  "WHERE id = $1 RETURNING " + columns,
              id, n.zone, n.care_worker, n.risk_level, n.consent_purpose, n.consent_basis, n.consent_granted_us,
              expires, domain::hex(n.sealed.sealed), domain::hex(n.phone_index));
          auto out = row_of(row);
          out.open_alert = open_alert_of(tx, out.household);
          append_access(tx, a, id, out.open_alert);
          tx.commit();
          return out;
        } catch (const pqxx::foreign_key_violation&) {
          return domain::invalid({{"/zone", {}, "no such zone"}});
        }
      });
}

task<std::optional<resident_row>> resident_store::erase(std::string id, std::vector<std::string> zones,
                                                        access_entry a) {
  return pool_.run<std::optional<resident_row>>([id, zones, a](pqxx::connection_base& c) -> std::optional<resident_row> {
    std::optional<resident_row> out;
    {
      pqxx::work tx(c);
      auto r = tx.exec_params("UPDATE residents r SET data_key = NULL, phone_index = NULL, erased_at = now(), "
                              "updated_at = now() WHERE r.id = $1 AND r.erased_at IS NULL AND " +
                                  in_scope + " RETURNING " + columns,
                              id, text_array(zones));
      if (r.empty()) return std::nullopt;
      out = row_of(r[0]);
      append_access(tx, a, id, 0);
      tx.commit();
    }
    // The row versions that still held the wrapped key are dead now; VACUUM makes their space
    // reusable at once instead of some time later (a base backup taken before this still holds
    // them: they die with the KEK at the next key rotation, docs/security.md).
    try {
      pqxx::nontransaction nt(c);
      nt.exec("VACUUM residents");
    } catch (const pqxx::sql_error& e) {
      spdlog::warn("welfare: VACUUM residents after an erasure failed: {}", e.what());
    }
    return out;
  });
}

task<std::string> resident_store::held_about(std::string id, std::string household) {
  return pool_.run<std::string>([id, household](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto sensors = tx.exec_params1(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'zone', zone_id) ORDER BY id), '[]')::text "
        "FROM sensors WHERE domain = 'welfare' AND attributes->>'household' = $1",
        household);
    auto alerts = tx.exec_params1(
        "SELECT coalesce(json_agg(json_build_object('id', a.id, 'rule', a.rule_id, 'severity', a.severity, 'state', "
        "a.state, 'sensor', a.sensor_id, 'opened_at', " + sql::ts_of("a", "opened_at") + ") ORDER BY a.id), '[]')::text "
        "FROM alerts a LEFT JOIN sensors s ON s.id = a.sensor_id WHERE (s.domain = 'welfare' AND "
        "s.attributes->>'household' = $1) OR (a.domain = 'welfare' AND a.sensor_id IS NULL AND a.subject = $1)",
        household);
    auto records = tx.exec_params1(
        "SELECT coalesce(json_agg(json_build_object('at', " + sql::ts_of("x", "at") + ", 'actor', x.actor, 'role', "
        "x.role, 'action', x.action, 'purpose', x.purpose) ORDER BY x.seq), '[]')::text "
        "FROM access_records x WHERE x.resident = $1",
        id);
    json out = {{"sensors", json::parse(sensors[0].as<std::string>())},
                {"alerts", json::parse(alerts[0].as<std::string>())},
                {"access_records", json::parse(records[0].as<std::string>())}};
    return out.dump();
  });
}

task<std::vector<household_fact>> resident_store::households() {
  return pool_.run<std::vector<household_fact>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<household_fact> out;
    for (const auto& x : tx.exec("SELECT household, zone_id, coalesce((extract(epoch FROM consent_expires_at) * "
                                 "1000000)::bigint, 0) FROM residents WHERE erased_at IS NULL"))
      out.push_back({x[0].as<std::string>(), x[1].as<std::string>(), x[2].as<std::int64_t>()});
    return out;
  });
}

task<std::vector<std::pair<std::string, std::string>>> resident_store::welfare_sensors() {
  return pool_.run<std::vector<std::pair<std::string, std::string>>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& x : tx.exec("SELECT id, attributes->>'household' FROM sensors WHERE domain = 'welfare' AND "
                                 "attributes ? 'household' AND jsonb_typeof(attributes->'household') = 'string'"))
      out.emplace_back(x[0].as<std::string>(), x[1].as<std::string>());
    return out;
  });
}

task<bool> resident_store::add_withheld(std::unordered_map<std::string, std::int64_t> counts) {
  return pool_.run<bool>([counts](pqxx::connection_base& c) {
    pqxx::work tx(c);
    for (const auto& [hh, n] : counts)
      tx.exec_params("UPDATE residents SET withheld_readings = withheld_readings + $2 WHERE household = $1", hh, n);
    tx.commit();
    return true;
  });
}

task<std::int64_t> resident_store::sealed_count() {
  return pool_.run<std::int64_t>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return tx.exec1("SELECT count(*) FROM residents WHERE data_key IS NOT NULL")[0].as<std::int64_t>();
  });
}

task<std::vector<std::string>> resident_store::key_ids() {
  return pool_.run<std::vector<std::string>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& x : tx.exec("SELECT DISTINCT key_id FROM residents WHERE data_key IS NOT NULL ORDER BY 1"))
      out.push_back(x[0].as<std::string>());
    return out;
  });
}

task<page> resident_store::access(access_filter f, page_request req) {
  return pool_.run<page>([f, req](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::int64_t after = 0;
    try {
      after = req.after.empty() ? 0 : std::stoll(req.after);
    } catch (...) {
      after = 0;
    }
    auto r = tx.exec_params(
        "SELECT x.seq, json_build_object('id', x.seq, 'at', " + sql::ts_of("x", "at") +
            ", 'actor', x.actor, 'role', x.role, 'ip', x.ip, 'action', x.action, 'resident', x.resident, "
            "'alert', x.alert_id, 'purpose', x.purpose)::text FROM access_records x WHERE x.seq > $1 "
            "AND ($2 = '' OR x.resident = $2) AND ($3 = '' OR x.actor = $3) "
            "AND ($4::bigint = 0 OR x.at >= 'epoch'::timestamptz + $4::bigint * interval '1 microsecond') "
            "AND ($5::bigint = 0 OR x.at < 'epoch'::timestamptz + $5::bigint * interval '1 microsecond') ORDER BY x.seq LIMIT $6",
        after, f.resident, f.actor, f.from_us, f.to_us, req.limit + 1);
    page p;
    for (int i = 0; i < int(r.size()) && i < req.limit; ++i) p.items.push_back(r[i][1].as<std::string>());
    if (int(r.size()) > req.limit) p.last_id = r[req.limit - 1][0].as<std::string>();
    return p;
  });
}

task<verify_result> resident_store::verify() {
  return pool_.run<verify_result>([](pqxx::connection_base& c) {
    // One snapshot: the records and the head as of one moment, read in seq order in chunks.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    verify_result out;
    std::string prev(32, '\0');
    std::int64_t expect = 1;
    bool done = false;
    while (!done) {
      auto r = tx.exec_params(
          "SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, actor, role, ip, action, coalesce(resident, ''), "
          "coalesce(alert_id, 0), purpose, encode(prev_hash, 'hex'), encode(hash, 'hex') FROM access_records "
          "WHERE seq >= $1 ORDER BY seq LIMIT 5000",
          expect);
      if (r.size() < 5000) done = true;
      for (const auto& x : r) {
        privacy::access_fields f;
        f.seq = x[0].as<std::int64_t>();
        f.at_us = x[1].as<std::int64_t>();
        f.actor = x[2].as<std::string>();
        f.role = x[3].as<std::string>();
        f.ip = x[4].as<std::string>();
        f.action = x[5].as<std::string>();
        f.resident = x[6].as<std::string>();
        f.alert_id = x[7].as<std::int64_t>();
        f.purpose = x[8].as<std::string>();
        auto stored_prev = domain::unhex(x[9].as<std::string>()).value_or(std::string());
        auto stored = domain::unhex(x[10].as<std::string>()).value_or(std::string());
        // A missing record (a gap in seq), a broken link or a changed field: the first bad one.
        if (f.seq != expect || stored_prev != prev || privacy::chain_hash(prev, f) != stored) {
          out.ok = false;
          out.first_bad = std::min(f.seq, expect);
          out.records = expect - 1;
          return out;
        }
        prev = stored;
        ++expect;
      }
    }
    out.records = expect - 1;
    auto head = tx.exec1("SELECT seq, encode(hash, 'hex') FROM access_head WHERE one");
    // Records cut off the end: the head still names the last one written.
    if (head[0].as<std::int64_t>() != out.records ||
        domain::unhex(head[1].as<std::string>()).value_or(std::string()) != prev) {
      out.ok = false;
      out.first_bad = out.records + 1;
    }
    return out;
  });
}

task<std::string> resident_store::review(std::int64_t from_us, std::int64_t to_us) {
  return pool_.run<std::string>([from_us, to_us](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params1(
        "SELECT coalesce(json_agg(t ORDER BY t.actor), '[]')::text FROM ("
        "SELECT actor, max(role) AS role, count(DISTINCT resident) FILTER (WHERE action IN ('read', 'reveal', 'export', "
        "'lookup')) AS residents_read, count(*) FILTER (WHERE action = 'read') AS reads, "
        "count(*) FILTER (WHERE action = 'list') AS lists, count(*) FILTER (WHERE action = 'lookup') AS lookups, "
        "count(*) FILTER (WHERE action = 'reveal') AS reveals, count(*) FILTER (WHERE action = 'export') AS exports, "
        "count(*) FILTER (WHERE action IN ('create', 'change')) AS changes, "
        "count(*) FILTER (WHERE action = 'erase') AS erasures, "
        "count(*) FILTER (WHERE action IN ('read', 'reveal', 'export', 'lookup') AND alert_id IS NULL AND resident IS NOT NULL) "
        "AS outside_open_alert FROM access_records WHERE at >= 'epoch'::timestamptz + $1 * interval '1 microsecond' "
        "AND at < 'epoch'::timestamptz + $2 * interval '1 microsecond' GROUP BY actor) t",
        from_us, to_us);
    return r[0].as<std::string>();
  });
}

task<std::string> resident_store::key_state(std::string key_id) {
  return pool_.run<std::string>([key_id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT retired_at IS NULL FROM vault_keys WHERE key_id = $1", key_id);
    if (r.empty()) return std::string();
    return std::string(r[0][0].as<bool>() ? "active" : "retired");
  });
}

task<bool> resident_store::register_key(std::string key_id) {
  return pool_.run<bool>([key_id](pqxx::connection_base& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("INSERT INTO vault_keys (key_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING key_id", key_id);
    tx.commit();
    return !r.empty();
  });
}

void retire_keys_now(const std::string& url, const std::string& current) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec_params("INSERT INTO vault_keys (key_id) VALUES ($1) ON CONFLICT (key_id) DO UPDATE SET retired_at = NULL",
                 current);
  // Waits for every registration holding a share lock on an old id; a later one sees it retired.
  tx.exec_params("UPDATE vault_keys SET retired_at = now() WHERE key_id <> $1 AND retired_at IS NULL", current);
  tx.commit();
}

std::int64_t not_under_now(const std::string& url, const std::string& current) {
  pqxx::connection c(url);
  pqxx::read_transaction tx(c);
  return tx.exec_params1("SELECT count(*) FROM residents WHERE data_key IS NOT NULL AND key_id <> $1", current)[0]
      .as<std::int64_t>();
}

namespace {
std::int64_t rotate_pass(const std::string& url, const privacy::keyring& ring, int batch, bool skip_locked) {
  pqxx::connection c(url);
  std::int64_t moved = 0;
  for (;;) {
    pqxx::work tx(c);
    auto r = tx.exec_params("SELECT " + columns + " FROM residents r WHERE r.data_key IS NOT NULL AND r.key_id <> $1 "
                            "ORDER BY r.id LIMIT $2 FOR UPDATE" + std::string(skip_locked ? " SKIP LOCKED" : ""),
                            ring.current_id(), batch);
    if (r.empty()) break;
    for (const auto& x : r) {
      auto row = row_of(x);
      auto wrapped = ring.rewrap(row.sealed, row.id);
      auto plain = ring.open(row.sealed, row.id);
      if (!wrapped || !plain)
        throw std::runtime_error("resident " + row.id + ": its data key (key id " + row.sealed.key_id +
                                 ") opens with no key of the key file");
      auto identity = json::parse(*plain, nullptr, false);
      std::string index;
      if (identity.is_object() && identity.contains("phone") && identity["phone"].is_string()) {
        auto n = privacy::normalize_phone(identity["phone"].get<std::string>());
        if (!n.empty()) index = ring.blind_index(n);
      }
      tx.exec_params("UPDATE residents SET key_id = $2, data_key = decode($3, 'hex'), "
                     "phone_index = decode(nullif($4, ''), 'hex') WHERE id = $1",
                     row.id, wrapped->first, domain::hex(wrapped->second), domain::hex(index));
      ++moved;
    }
    tx.commit();
  }
  return moved;
}
}  // namespace

// ---- the access appender

access_appender::access_appender(const db_pool& pool, appender_options o)
    : url_(pool.options().url), statement_timeout_ms_(pool.options().statement_timeout_ms), opts_(o) {
  if (opts_.max_batch == 0) opts_.max_batch = 1;
  thread_ = std::thread([this] { loop(); });
}

access_appender::~access_appender() { stop(); }

void access_appender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

appender_stats access_appender::stats() const {
  std::lock_guard lock(mutex_);
  auto s = stats_;
  s.waiting = queue_.size();
  return s;
}

void access_appender::enqueue(item it) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < opts_.max_waiting) {
      queue_.push_back(std::move(it));
      cv_.notify_one();
      return;
    }
    ++stats_.refused;
  }
  it.done(std::make_exception_ptr(unavailable("too many access records waiting to be committed")), 0);
}

task<std::int64_t> access_appender::append(access_entry a, std::string resident, std::int64_t alert_id) {
  namespace asio = boost::asio;
  auto init = [this, a = std::move(a), resident = std::move(resident), alert_id](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    item it{std::move(a), std::move(resident), alert_id, [shared](std::exception_ptr ep, std::int64_t seq) {
              auto ex = asio::get_associated_executor(*shared);
              asio::post(ex, [shared, ep, seq]() mutable { (*shared)(ep, seq); });
            }};
    enqueue(std::move(it));
  };
  // Not a coroutine itself (as db_pool::run).
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::int64_t)>(
      std::move(init), asio::use_awaitable);
}

namespace {

struct chained {
  std::string records_json;  // the batch for batch_sql's $1
  std::int64_t last_seq = 0;
  std::string last_hash_hex;
  std::vector<std::int64_t> seqs;  // per item; 0: the item cannot be stored (its error in errors)
  std::vector<std::exception_ptr> errors;
};

// Chains `items` after (seq, hash) in their order. An item whose text is not valid UTF-8 (or
// cannot be serialized) gets its error and no seq; the others are chained without it.
template <class Item>
chained chain_after(const std::vector<Item>& items, std::int64_t seq, const std::string& hash_hex) {
  chained out;
  out.seqs.assign(items.size(), 0);
  out.errors.assign(items.size(), nullptr);
  std::string prev_hex = hash_hex;
  std::string prev = domain::unhex(hash_hex).value_or(std::string());
  out.records_json = "[";
  const auto at = now_us();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    privacy::access_fields f;
    f.seq = seq + 1;
    f.at_us = at;
    f.actor = it.entry.actor;
    f.role = it.entry.role;
    f.ip = it.entry.ip;
    f.action = it.entry.action;
    f.resident = it.resident;
    f.alert_id = it.alert_id;
    f.purpose = it.entry.purpose;
    auto hash = privacy::chain_hash(prev, f);
    auto hash_hex_now = domain::hex(hash);
    std::string piece;
    try {
      piece = json{{"seq", f.seq}, {"at", f.at_us}, {"actor", f.actor}, {"role", f.role}, {"ip", f.ip},
                   {"action", f.action}, {"resident", f.resident}, {"alert", f.alert_id}, {"purpose", f.purpose},
                   {"prev", prev_hex}, {"hash", hash_hex_now}}
                  .dump();
    } catch (const std::exception& e) {
      out.errors[i] = std::make_exception_ptr(std::invalid_argument(std::string("access record: ") + e.what()));
      continue;
    }
    if (out.records_json.size() > 1) out.records_json += ',';
    out.records_json += piece;
    out.seqs[i] = ++seq;
    prev = std::move(hash);
    prev_hex = std::move(hash_hex_now);
  }
  out.records_json += ']';
  out.last_seq = seq;
  out.last_hash_hex = prev_hex;
  return out;
}

}  // namespace

void access_appender::loop() {
  std::unique_ptr<pqxx::connection> conn;
  // The head this connection last wrote or read; stale when another transaction appended since
  // (the batch statement then answers no row and the head is read again).
  std::optional<std::pair<std::int64_t, std::string>> head;

  // One batch, chained and committed; returns each item's seq (0 with its error in errors).
  auto commit_once = [&](const std::vector<item>& batch) -> chained {
    if (!conn || !conn->is_open()) {
      conn.reset();
      head.reset();
      try {
        conn = std::make_unique<pqxx::connection>(url_);
      } catch (const pqxx::broken_connection& e) {
        std::string why = e.what();
        throw unavailable("cannot connect to the database: " + why.substr(0, why.find('\n')));
      }
      conn->set_variable("TimeZone", "'UTC'");
      conn->set_variable("statement_timeout", std::to_string(statement_timeout_ms_));
      conn->prepare("access_batch", batch_sql);
      conn->prepare("access_head", head_sql);
    }
    for (int attempt = 0;; ++attempt) {
      if (!head) {
        pqxx::nontransaction nt(*conn);
        auto r = nt.exec_prepared("access_head");
        head.emplace(r[0][0].as<std::int64_t>(), r[0][1].as<std::string>());
      }
      auto c = chain_after(batch, head->first, head->second);
      if (c.last_seq == head->first) return c;  // nothing storable
      if (attempt >= 20) {
        // Appends in other transactions keep moving the head: chain under its lock instead.
        pqxx::work tx(*conn);
        auto r = tx.exec("SELECT seq, encode(hash, 'hex') FROM access_head WHERE one FOR UPDATE");
        c = chain_after(batch, r[0][0].as<std::int64_t>(), r[0][1].as<std::string>());
        tx.exec_prepared("access_batch", c.records_json, c.last_seq, c.last_hash_hex, r[0][0].as<std::int64_t>(),
                         r[0][1].as<std::string>());
        tx.commit();
        head.emplace(c.last_seq, c.last_hash_hex);
        return c;
      }
      pqxx::nontransaction nt(*conn);  // the statement is its own transaction: one round trip, one commit
      auto r = nt.exec_prepared("access_batch", c.records_json, c.last_seq, c.last_hash_hex, head->first, head->second);
      if (!r.empty()) {
        head.emplace(c.last_seq, c.last_hash_hex);
        return c;
      }
      head.reset();  // moved by another transaction: read it and chain again
    }
  };

  auto answer = [&](const std::vector<item>& batch, const chained& c) {
    std::int64_t ok = 0, bad = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (c.errors[i]) {
        ++bad;
        batch[i].done(c.errors[i], 0);
      } else {
        ++ok;
        batch[i].done(nullptr, c.seqs[i]);
      }
    }
    std::lock_guard lock(mutex_);
    stats_.appended += ok;
    stats_.failed += bad;
    ++stats_.batches;
  };

  auto fail = [&](const std::vector<item>& batch, std::exception_ptr ep) {
    for (const auto& it : batch) it.done(ep, 0);
    std::lock_guard lock(mutex_);
    stats_.failed += std::int64_t(batch.size());
  };

  // Commits a batch; a lost connection is retried once on a new one (never after a commit whose
  // outcome is unknown); any other error is retried record by record, so that one bad record
  // fails alone.
  std::function<void(const std::vector<item>&, bool)> commit = [&](const std::vector<item>& batch, bool retried) {
    std::exception_ptr ep;
    bool in_doubt = false;
    try {
      auto c = commit_once(batch);
      answer(batch, c);
      return;
    } catch (const pqxx::in_doubt_error&) {
      in_doubt = true;
      ep = std::make_exception_ptr(unavailable("the commit of access records was interrupted"));
    } catch (...) {
      ep = std::current_exception();
    }
    head.reset();
    if (!in_doubt && !retried && conn && reconnect_after(ep, *conn)) return commit(batch, true);
    if (!in_doubt && conn && !conn->is_open()) conn.reset();
    bool lost = false;
    try {
      std::rethrow_exception(translate_db_error(ep));
    } catch (const unavailable&) {
      lost = true;
    } catch (...) {
    }
    if (!lost && batch.size() > 1) {
      for (const auto& it : batch) commit(std::vector<item>{it}, retried);
      return;
    }
    fail(batch, translate_db_error(ep));
  };

  for (;;) {
    std::vector<item> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      while (!queue_.empty() && batch.size() < opts_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch, false);
  }
}

std::int64_t rotate_keys_now(const std::string& url, const privacy::keyring& ring, int batch) {
  return rotate_pass(url, ring, batch, true);
}

std::int64_t rotate_remaining_now(const std::string& url, const privacy::keyring& ring) {
  return rotate_pass(url, ring, 200, false);
}

}  // namespace maeul::storage
