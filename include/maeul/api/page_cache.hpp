// Public pages (/public/v1/...) computed at most once per `ttl` per key, whatever the anonymous
// load: a fresh copy is answered from memory, and while one request computes a page the others
// asking for it wait for that result instead of each going to the database. Bounded.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "maeul/asio/task.hpp"

namespace maeul::api {

class page_cache {
 public:
  using clock = std::chrono::steady_clock;
  explicit page_cache(clock::duration ttl = std::chrono::seconds(60), std::size_t max_keys = 256)
      : ttl_(ttl), max_keys_(max_keys) {}

  // The page under `key`: from memory when younger than ttl, else from `compute` (once, for every
  // request waiting on it). An exception from compute reaches the request that ran it; the others
  // then try again themselves.
  task<std::string> get(std::string key, std::function<task<std::string>()> compute);

  // Forgets every page (the data behind them changed: a budget line was written).
  void clear();

  // How many times compute ran (for tests and /metrics).
  std::size_t computed() const;

 private:
  struct entry {
    std::string body;
    clock::time_point at{};
    bool have = false;
    bool computing = false;
  };
  clock::duration ttl_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::map<std::string, entry> entries_;
  std::size_t computed_ = 0;
  std::uint64_t generation_ = 0;  // bumped by clear(): a page computed across it is not kept
};

}  // namespace maeul::api
