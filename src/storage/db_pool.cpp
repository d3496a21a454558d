// DB threads: each owns one connection, reconnects on demand, and reports a lost database as
// storage::unavailable rather than crashing or blocking forever.
#include "maeul/storage/db_pool.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace maeul::storage {
namespace {

std::unique_ptr<pqxx::connection> open(const pool_options& o) {
  try {
    auto c = std::make_unique<pqxx::connection>(o.url);
    // set_variable: pqxx applies these again when it reconnects (activate()).
    c->set_variable("TimeZone", "'UTC'");
    c->set_variable("statement_timeout", std::to_string(o.statement_timeout_ms));  // a number, not input
    // No JIT: every statement of maeuld is short (OLTP, dashboard reads, the compactor), and the
    // planner's cost, not the run time, decides to compile; compiling cost more than it saved
    // (docs/benchmarks.md, "Ingestion").
    c->set_variable("jit", "off");
    return c;
  } catch (const pqxx::broken_connection& e) {
    std::string why = e.what();
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    auto nl = why.find('\n');
    if (nl != std::string::npos) why = why.substr(0, nl);
    throw unavailable("cannot connect to the database: " + why);
  }
}

}  // namespace

// A lost connection shows as broken_connection, or as an SQL error of class 08 (connection
// exception) or 57P (the server terminated the session: admin shutdown, crash, restart).
bool is_lost_connection(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const pqxx::broken_connection&) {
    return true;
  } catch (const pqxx::sql_error& e) {
    const auto& st = e.sqlstate();
    return st.rfind("08", 0) == 0 || st.rfind("57P", 0) == 0;
  } catch (...) {
    return false;
  }
}

bool reconnect_after(std::exception_ptr ep, pqxx::connection_base& c) {
  if (!is_lost_connection(ep)) return false;
  try {
    c.disconnect();
    c.activate();
    return c.is_open();
  } catch (const std::exception&) {
    return false;
  }
}

std::exception_ptr translate_db_error(std::exception_ptr ep) {
  if (!is_lost_connection(ep)) return ep;
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    return std::make_exception_ptr(unavailable("database connection lost: " + why));
  } catch (...) {
    return ep;
  }
}

db_pool::db_pool(pool_options opts) : opts_(std::move(opts)) {
  // libpq reads the connect timeout from the environment when the URL does not set one.
  ::setenv("PGCONNECT_TIMEOUT", std::to_string(opts_.connect_timeout_s).c_str(), 0);
  for (int i = 0; i < opts_.size; ++i) threads_.emplace_back([this] { worker_loop(); });
}

db_pool::~db_pool() { stop(); }

void db_pool::check_connect() { open(opts_); }

void db_pool::submit(job j, std::function<void(std::exception_ptr)> on_unavailable) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < opts_.max_waiting) {
      queue_.push_back({std::move(j), std::move(on_unavailable)});
      cv_.notify_one();
      return;
    }
  }
  on_unavailable(std::make_exception_ptr(unavailable("the database pool is saturated or stopping")));
}

pool_stats db_pool::stats() const {
  pool_stats s;
  s.size = opts_.size;
  s.in_use = in_use_.load();
  s.connected = connected_.load();
  std::lock_guard lock(mutex_);
  s.waiting = static_cast<int>(queue_.size());
  return s;
}

void db_pool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void db_pool::worker_loop() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    item it;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      it = std::move(queue_.front());
      queue_.pop_front();
    }
    ++in_use_;
    try {
      if (!conn || !conn->is_open()) {
        if (conn) --connected_;
        conn.reset();
        conn = open(opts_);
        ++connected_;
      }
    } catch (...) {
      --in_use_;
      it.fail(std::current_exception());
      continue;
    }
    try {
      it.work(*conn);
    } catch (const pqxx::broken_connection&) {
      // the job's own handler normally catches; this is a last resort
      conn.reset();
      --connected_;
    } catch (const std::exception& e) {
      spdlog::error("database job escaped its handler: {}", e.what());
    }
    if (conn && !conn->is_open()) {  // lost and not recovered by the job: open a new one next time
      conn.reset();
      --connected_;
    }
    --in_use_;
  }
  if (conn) --connected_;
}

}  // namespace maeul::storage
