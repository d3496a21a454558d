// Token buckets per key (api/rate_limit.hpp).
#include "maeul/api/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace maeul::api {

rate_limiter::rate_limiter(double per_second, double burst, std::size_t max_keys)
    : per_second_(std::max(0.0, per_second)), burst_(std::max(1.0, burst)), max_keys_(std::max<std::size_t>(2, max_keys)) {}

std::size_t rate_limiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

int rate_limiter::take(const std::string& key, clock::time_point now) {
  if (per_second_ <= 0) return 0;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) shrink(now);
    buckets_.emplace(key, bucket{burst_ - 1, now});
    return 0;
  }
  auto& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / per_second_)));
}

void rate_limiter::shrink(clock::time_point now) {
  auto level = [&](const bucket& b) {
    return std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * per_second_);
  };
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = level(it->second) >= burst_ ? buckets_.erase(it) : std::next(it);
  if (buckets_.size() < max_keys_) return;
  std::vector<double> levels;
  levels.reserve(buckets_.size());
  for (const auto& [k, b] : buckets_) levels.push_back(level(b));
  auto mid = levels.begin() + static_cast<std::ptrdiff_t>(levels.size() / 2);
  std::nth_element(levels.begin(), mid, levels.end());
  double cut = *mid;
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = level(it->second) >= cut ? buckets_.erase(it) : std::next(it);
}

}  // namespace maeul::api
