// The token buckets behind limits.requests_per_s: burst, refill, Retry-After, separate keys, and a
// bounded map.
#include "maeul/api/rate_limit.hpp"

#include <gtest/gtest.h>

#include <string>

using maeul::api::rate_limiter;
using namespace std::chrono_literals;

TEST(RateLimit, ServesTheBurstThenRefusesWithTheWait) {
  rate_limiter r(2, 5);
  auto t = rate_limiter::clock::time_point{} + 100s;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.take("a", t), 0) << i;
  int wait = r.take("a", t);
  EXPECT_EQ(wait, 1);  // one request comes back in 0.5 s: rounded up to a whole second
  EXPECT_EQ(r.take("a", t + 499ms), 1);
  EXPECT_EQ(r.take("a", t + 500ms), 0);
  EXPECT_GT(r.take("a", t + 500ms), 0);
}

TEST(RateLimit, KeysAreSeparate) {
  rate_limiter r(1, 1);
  auto t = rate_limiter::clock::time_point{} + 10s;
  EXPECT_EQ(r.take("token:a", t), 0);
  EXPECT_GT(r.take("token:a", t), 0);
  EXPECT_EQ(r.take("token:b", t), 0);
  EXPECT_EQ(r.take("ip:127.0.0.1", t), 0);
}

TEST(RateLimit, RefillStopsAtTheBurst) {
  rate_limiter r(10, 3);
  auto t = rate_limiter::clock::time_point{} + 10s;
  EXPECT_EQ(r.take("a", t), 0);
  // An hour of quiet refills at most the burst.
  auto later = t + 3600s;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.take("a", later), 0) << i;
  EXPECT_GT(r.take("a", later), 0);
}

TEST(RateLimit, SlowRatesGiveLongerWaits) {
  rate_limiter r(0.1, 1);  // one request every 10 s
  auto t = rate_limiter::clock::time_point{} + 10s;
  EXPECT_EQ(r.take("a", t), 0);
  EXPECT_EQ(r.take("a", t), 10);
  EXPECT_EQ(r.take("a", t + 4s), 6);
}

TEST(RateLimit, ZeroMeansNoLimit) {
  rate_limiter r(0, 1);
  EXPECT_FALSE(r.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(r.take("a"), 0);
  EXPECT_EQ(r.keys(), 0u);
}

TEST(RateLimit, TheMapOfKeysStaysBounded) {
  rate_limiter r(1, 2, 100);
  auto t = rate_limiter::clock::time_point{} + 10s;
  // 10,000 addresses each draining their bucket: never more than 100 held.
  for (int i = 0; i < 10000; ++i) {
    auto key = "ip:10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    r.take(key, t);
    r.take(key, t);
    ASSERT_LE(r.keys(), 100u) << i;
  }
}

TEST(RateLimit, FullBucketsAreDroppedFirst) {
  rate_limiter r(1, 2, 4);
  auto t = rate_limiter::clock::time_point{} + 10s;
  for (auto k : {"a", "b", "c"}) r.take(k, t);
  r.take("d", t + 60s);  // d starts draining later than the others refilled
  r.take("d", t + 60s);
  EXPECT_EQ(r.keys(), 4u);
  // The map is full: a, b and c are full again and hold nothing, d is still draining.
  r.take("e", t + 60s);
  EXPECT_EQ(r.keys(), 2u);
  EXPECT_GT(r.take("d", t + 60s), 0) << "d kept its state";
}
