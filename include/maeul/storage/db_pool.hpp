// The database thread pool: N threads, each with its own pqxx connection. Coroutines reach it
// through run(), which executes a job on a DB thread and resumes the caller on its own executor.
// No pqxx call ever runs on an I/O thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pqxx {
class connection_base;
}

namespace maeul::storage {

// The database cannot be reached (connection refused, broken, or the pool is saturated).
struct unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct pool_options {
  std::string url;
  int size = 4;
  int connect_timeout_s = 5;
  int statement_timeout_ms = 30000;
  std::size_t max_waiting = 10000;
};

struct pool_stats {
  int size = 0;
  int in_use = 0;
  int waiting = 0;
  int connected = 0;
};

// Turns a lost connection (pqxx::broken_connection) into storage::unavailable; other errors pass.
std::exception_ptr translate_db_error(std::exception_ptr ep);
// When `ep` is a lost connection, reconnects `c` (e.g. after a server restart or a terminated
// backend) and returns true: the job may run again once. Otherwise returns false.
bool reconnect_after(std::exception_ptr ep, pqxx::connection_base& c);

class db_pool {
 public:
  using job = std::function<void(pqxx::connection_base&)>;

  explicit db_pool(pool_options opts);
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  // Opens one connection now, on the calling thread; throws unavailable with libpq's reason.
  // For start-up checks only.
  void check_connect();

  // Queues a job; it runs on a DB thread with that thread's connection (connected on demand).
  // A job that cannot get a connection receives none: `on_unavailable` is called instead.
  void submit(job j, std::function<void(std::exception_ptr)> on_unavailable);

  // Runs f(connection&) -> R on a DB thread; resumes on the awaiting coroutine's executor.
  // Rethrows what f throws; throws unavailable when there is no database.
  template <class R, class F>
  boost::asio::awaitable<R> run(F f);

  pool_stats stats() const;

  // Finishes queued jobs, closes connections and joins the threads. Idempotent.
  void stop();

  const pool_options& options() const { return opts_; }

 private:
  struct item {
    job work;
    std::function<void(std::exception_ptr)> fail;
  };
  void worker_loop();

  pool_options opts_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<int> in_use_{0};
  std::atomic<int> connected_{0};
};

template <class R, class F>
boost::asio::awaitable<R> db_pool::run(F f) {
  namespace asio = boost::asio;
  auto init = [this, f = std::move(f)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto done = [shared](std::exception_ptr ep, std::optional<R> value) {
      auto ex = asio::get_associated_executor(*shared);
      asio::post(ex, [shared, ep, value = std::move(value)]() mutable {
        (*shared)(ep, value ? std::move(*value) : R{});
      });
    };
    submit(
        [f = std::move(f), done](pqxx::connection_base& c) mutable {
          for (int attempt = 0;; ++attempt) {
            try {
              std::optional<R> v(f(c));
              done(nullptr, std::move(v));
              return;
            } catch (...) {
              auto ep = std::current_exception();
              // A connection found dead (idle while the server restarted): once more, on a new one.
              if (attempt == 0 && reconnect_after(ep, c)) continue;
              done(translate_db_error(ep), std::nullopt);
              return;
            }
          }
        },
        [done](std::exception_ptr ep) { done(ep, std::nullopt); });
  };
  // Not a coroutine itself: g++ 12 mishandles capturing lambdas passed by value into coroutines.
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, R)>(std::move(init),
                                                                                        asio::use_awaitable);
}

}  // namespace maeul::storage
