// The edge's pure rules (src/net/limits.hpp): connection counting per address and in all, the
// key an address is counted under, the body deadline that grows with the bytes received, and the
// accept loop's back-off on descriptor exhaustion.
#include "net/limits.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>

namespace {
namespace asio = boost::asio;
namespace d = maeul::net::detail;
using verdict = d::conn_limiter::verdict;
using ms = std::chrono::milliseconds;

std::string key_of(const char* address) { return d::limit_key(asio::ip::make_address(address)); }

}  // namespace

TEST(limits, ipv4_counts_per_address_ipv4_mapped_as_ipv4_ipv6_per_64) {
  EXPECT_EQ(key_of("127.0.0.1"), "127.0.0.1");
  EXPECT_NE(key_of("127.0.0.1"), key_of("127.0.0.2"));
  EXPECT_EQ(key_of("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(key_of("2001:db8:1:2:aaaa::1"), key_of("2001:db8:1:2:bbbb::2"));  // one /64
  EXPECT_NE(key_of("2001:db8:1:2::1"), key_of("2001:db8:1:3::1"));
  EXPECT_EQ(key_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
}

TEST(limits, the_per_address_cap_refuses_that_address_only_and_frees_on_release) {
  d::conn_limiter l(100, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.admit("a"), verdict::admitted);
  EXPECT_EQ(l.admit("a"), verdict::over_per_ip);
  EXPECT_EQ(l.admit("b"), verdict::admitted);  // others are still served
  EXPECT_EQ(l.total(), 4u);
  EXPECT_EQ(l.count("a"), 3u);
  l.release("a");
  EXPECT_EQ(l.admit("a"), verdict::admitted);
  EXPECT_EQ(l.total(), 4u);
}

TEST(limits, the_global_cap_refuses_everyone_until_a_connection_closes) {
  d::conn_limiter l(2, 10);
  EXPECT_EQ(l.admit("a"), verdict::admitted);
  EXPECT_EQ(l.admit("b"), verdict::admitted);
  EXPECT_EQ(l.admit("c"), verdict::over_total);
  EXPECT_EQ(l.admit("a"), verdict::over_total);
  EXPECT_EQ(l.keys(), 2u);  // a refusal adds no entry
  l.release("b");
  EXPECT_EQ(l.admit("c"), verdict::admitted);
}

TEST(limits, the_map_holds_only_addresses_with_open_connections) {
  d::conn_limiter l(100000, 5);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.admit("k" + std::to_string(i)), verdict::admitted);
  EXPECT_EQ(l.keys(), 1000u);
  for (int i = 0; i < 1000; ++i) l.release("k" + std::to_string(i));
  EXPECT_EQ(l.keys(), 0u);
  EXPECT_EQ(l.total(), 0u);
  l.release("never-admitted");  // ignored, no underflow
  EXPECT_EQ(l.total(), 0u);
  d::conn_limiter none(10, 0);
  EXPECT_EQ(none.admit("x"), verdict::over_per_ip);
  EXPECT_EQ(none.keys(), 0u);
}

TEST(limits, a_body_at_the_minimum_rate_is_never_cut_and_a_trickle_is) {
  const int read_timeout = 1000;
  const std::uint64_t rate = 16 * 1024;
  EXPECT_EQ(d::body_allowance(0, read_timeout, rate), ms(1000));
  EXPECT_EQ(d::body_allowance(16 * 1024, read_timeout, rate), ms(2000));
  EXPECT_EQ(d::body_allowance(8 * 1024 * 1024, read_timeout, rate), ms(1000 + 512000));
  // A client sending exactly `rate` bytes a second: after t seconds its deadline is t + 1 s away
  // from the body's start, always ahead of now.
  for (int t = 1; t <= 600; t += 7) EXPECT_GT(d::body_allowance(rate * std::uint64_t(t), read_timeout, rate), ms(t * 1000));
  // One byte a second: by t = 2 s the allowance (1 s + 2 bytes' worth) has passed.
  EXPECT_LT(d::body_allowance(2, read_timeout, rate), ms(2000));
  EXPECT_EQ(d::body_allowance(1 << 20, read_timeout, 0), ms(1000));  // rate 0: no extension
}

TEST(limits, accept_backs_off_on_descriptor_exhaustion_doubling_to_a_second) {
  using boost::system::error_code;
  EXPECT_TRUE(d::is_resource_exhaustion(error_code(EMFILE, boost::system::system_category())));
  EXPECT_TRUE(d::is_resource_exhaustion(error_code(ENFILE, boost::system::system_category())));
  EXPECT_TRUE(d::is_resource_exhaustion(error_code(ENOBUFS, boost::system::system_category())));
  EXPECT_TRUE(d::is_resource_exhaustion(error_code(ENOMEM, boost::system::generic_category())));
  EXPECT_TRUE(d::is_resource_exhaustion(asio::error::no_descriptors));
  EXPECT_FALSE(d::is_resource_exhaustion(asio::error::connection_aborted));
  EXPECT_FALSE(d::is_resource_exhaustion(error_code(EMFILE, asio::error::get_misc_category())));

  d::accept_backoff b;
  EXPECT_FALSE(b.in_episode());
  bool first = false;
  EXPECT_EQ(b.next(first), ms(50));
  EXPECT_TRUE(first);
  std::vector<ms> waits;
  for (int i = 0; i < 6; ++i) {
    waits.push_back(b.next(first));
    EXPECT_FALSE(first);  // logged once an episode
  }
  EXPECT_EQ(waits, (std::vector<ms>{ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)}));
  EXPECT_EQ(b.reset(), 7u);
  EXPECT_FALSE(b.in_episode());
  EXPECT_EQ(b.reset(), 0u);
  EXPECT_EQ(b.next(first), ms(50));
  EXPECT_TRUE(first);
}
