// Request rates per principal (or per address for anonymous requests): a token bucket per key,
// refilled at `per_second` up to `burst`. Thread-safe; the map of keys is bounded.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace maeul::api {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  // per_second 0: no limit. burst: the most requests at once after a quiet spell (at least 1).
  rate_limiter(double per_second, double burst, std::size_t max_keys = 100000);

  // Takes one request from `key`'s bucket at `now`. 0 when allowed, else the whole seconds to wait
  // before one is (at least 1), for Retry-After.
  int take(const std::string& key, clock::time_point now = clock::now());

  bool enabled() const { return per_second_ > 0; }
  std::size_t keys() const;

 private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  // Drops the buckets that are full again (they hold nothing a new bucket would not); when every
  // bucket is still draining, drops the fullest half.
  void shrink(clock::time_point now);

  double per_second_;
  double burst_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace maeul::api
