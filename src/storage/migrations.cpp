// The migration runner: a schema_migrations table, an advisory lock, one transaction each.
#include "maeul/storage/migrations.hpp"

#include <chrono>
#include <thread>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "maeul/storage/db_pool.hpp"

namespace maeul::storage {
namespace {

constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";
constexpr const char* current_version_sql = "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr const char* record_sql = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
constexpr long long lock_key = 0x6d6165756c;  // "maeul"

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  try {
    return std::make_unique<pqxx::connection>(url);
  } catch (const pqxx::broken_connection& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    throw unavailable("cannot connect to the database: " + why);
  }
}

int read_version(pqxx::connection& c) {
  pqxx::work tx(c);
  tx.exec(create_table_sql);
  int v = tx.exec(current_version_sql)[0][0].as<int>();
  tx.commit();
  return v;
}

}  // namespace

int schema_version(const std::string& url) {
  auto c = connect(url);
  return read_version(*c);
}

migrate_report migrate(const std::string& url, const std::vector<migration>& all, int lock_timeout_s) {
  auto c = connect(url);
  migrate_report report;
  {
    pqxx::nontransaction tx(*c);
    tx.exec("SET client_min_messages = warning");
  }
  // Try the lock, polling, so that a second instance says why it waits and gives up in time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lock_timeout_s);
  for (bool told = false;;) {
    std::string holder;
    {
      pqxx::nontransaction tx(*c);
      if (tx.exec_params("SELECT pg_try_advisory_lock($1)", lock_key)[0][0].as<bool>()) break;
      auto r = tx.exec_params(
          "SELECT coalesce(string_agg(pid::text, ', '), '?') FROM pg_locks WHERE locktype = 'advisory' "
          "AND granted AND ((classid::bigint << 32) | objid::bigint) = $1",
          lock_key);
      holder = r[0][0].as<std::string>();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw migration_lock_timeout("another session (PostgreSQL backend pid " + holder +
                                   ") has held the migration lock for " + std::to_string(lock_timeout_s) +
                                   " s; is another maeuld migrating? (db.migration_lock_timeout_s)");
    if (!told) {
      spdlog::warn("waiting for the migration lock held by PostgreSQL backend pid {} (another maeuld migrating?)", holder);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  struct unlock {
    pqxx::connection& c;
    ~unlock() {
      try {
        pqxx::nontransaction tx(c);
        tx.exec_params("SELECT pg_advisory_unlock($1)", lock_key);
      } catch (...) {
      }
    }
  } guard{*c};
  report.before = read_version(*c);
  int known = all.empty() ? 0 : all.back().version;
  if (report.before > known)
    throw schema_too_new("the database schema is at version " + std::to_string(report.before) +
                         " but this maeuld knows only up to " + std::to_string(known) + "; upgrade maeuld");
  report.after = report.before;
  for (const auto& m : all) {
    if (m.version <= report.before) continue;
    pqxx::work tx(*c);
    try {
      tx.exec(m.sql);
    } catch (const pqxx::sql_error& e) {
      throw std::runtime_error("migration " + m.name + " failed: " + e.what());
    }
    tx.exec_params(record_sql, m.version, m.name);
    tx.commit();
    report.applied.push_back(m.name);
    report.after = m.version;
  }
  return report;
}

}  // namespace maeul::storage
