// The webhook blocklist (domain/address.hpp) over a table of addresses: every reserved block, the
// IPv6 forms that embed an IPv4 address, and public addresses on both sides of each boundary.
#include <gtest/gtest.h>

#include "maeul/domain/address.hpp"

namespace {
using namespace maeul::domain;

struct row {
  const char* text;
  bool reserved;
};

const row table[] = {
    // IPv4: the usual and the less usual reserved blocks, with their public neighbours.
    {"0.0.0.0", true},
    {"0.255.255.255", true},
    {"1.0.0.0", false},
    {"9.255.255.255", false},
    {"10.0.0.1", true},
    {"10.255.255.255", true},
    {"11.0.0.0", false},
    {"100.63.255.255", false},
    {"100.64.0.0", true},
    {"100.127.255.255", true},
    {"100.128.0.0", false},
    {"127.0.0.1", true},
    {"127.255.255.254", true},
    {"128.0.0.1", false},
    {"169.254.169.254", true},  // cloud metadata
    {"169.253.0.1", false},
    {"169.255.0.1", false},
    {"172.15.255.255", false},
    {"172.16.0.1", true},
    {"172.31.255.255", true},
    {"172.32.0.0", false},
    {"192.0.0.8", true},
    {"192.0.1.1", false},
    {"192.0.2.1", true},  // documentation
    {"192.88.99.1", true},  // 6to4 relay anycast
    {"192.167.255.255", false},
    {"192.168.0.1", true},
    {"192.168.255.255", true},
    {"192.169.0.0", false},
    {"198.17.255.255", false},
    {"198.18.0.1", true},  // benchmarking
    {"198.19.255.255", true},
    {"198.20.0.0", false},
    {"198.51.100.7", true},
    {"203.0.113.9", true},
    {"203.0.114.0", false},
    {"223.255.255.255", false},
    {"224.0.0.1", true},  // multicast
    {"239.255.255.255", true},
    {"240.0.0.1", true},  // reserved
    {"255.255.255.255", true},
    {"8.8.8.8", false},
    {"211.234.10.20", false},
    // IPv6: loopback, unspecified, the local and multicast blocks.
    {"::", true},
    {"::1", true},
    {"::2", true},  // IPv4-compatible ::/96: refused whole
    {"::8.8.8.8", true},
    {"fc00::1", true},
    {"fdff:ffff::1", true},
    {"fe00::1", true},  // outside 2000::/3: not global unicast
    {"4000::1", true},
    {"1fff:ffff::1", true},
    {"fe80::1", true},
    {"febf:ffff::1", true},
    {"fec0::1", true},  // site-local
    {"feff::1", true},
    {"ff02::1", true},
    {"ff0e::1", true},
    {"2001:db8::1", true},  // documentation
    {"2001::1", true},      // Teredo
    {"2001:2::1", true},    // benchmarking (2001::/23)
    {"2001:200::1", false},
    {"2001:4860:4860::8888", false},
    {"2400:cb00::1", false},
    {"100::1", true},  // discard-only
    // IPv4-mapped: judged by the IPv4 address.
    {"::ffff:10.0.0.1", true},
    {"::ffff:127.0.0.1", true},
    {"::ffff:a00:1", true},
    {"::ffff:198.18.0.1", true},
    {"::ffff:8.8.8.8", false},
    // NAT64 well-known prefix: judged by the embedded IPv4 address.
    {"64:ff9b::a00:1", true},
    {"64:ff9b::10.0.0.1", true},
    {"64:ff9b::127.0.0.1", true},
    {"64:ff9b::169.254.169.254", true},
    {"64:ff9b::8.8.8.8", false},
    {"64:ff9b:1::8.8.8.8", true},  // local-use NAT64: refused whole
    {"64:ff9b:1:ffff::1", true},
    {"64:ff9b:2::1", true},  // outside both NAT64 prefixes, and outside 2000::/3
    // 6to4: judged by the embedded IPv4 address (bits 16-47).
    {"2002:a00:1::", true},
    {"2002:7f00:1::1", true},
    {"2002:c0a8:101::1", true},
    {"2002:808:808::1", false},
};

TEST(address, blocklist_table) {
  for (const auto& r : table) {
    auto a = parse_ip(r.text);
    ASSERT_TRUE(a) << r.text << " parses";
    auto block = reserved_block(*a);
    EXPECT_EQ(block.has_value(), r.reserved) << r.text << (block ? " is in " + std::string(*block) : " is public");
  }
}

TEST(address, block_names_tell_which) {
  EXPECT_EQ(*reserved_block(*parse_ip("198.18.0.1")), "198.18.0.0/15 (benchmarking)");
  EXPECT_EQ(*reserved_block(*parse_ip("127.0.0.1")), "127.0.0.0/8 (loopback)");
  // An embedded IPv4 address is named with the form that carried it.
  EXPECT_NE(std::string(*reserved_block(*parse_ip("64:ff9b::a00:1"))).find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(std::string(*reserved_block(*parse_ip("64:ff9b::a00:1"))).find("NAT64"), std::string::npos);
  EXPECT_NE(std::string(*reserved_block(*parse_ip("2002:a00:1::"))).find("6to4"), std::string::npos);
}

TEST(address, parse_ip_takes_literals_only) {
  for (const char* t : {"localhost", "example.org", "", "10.0.0", "10.0.0.256", "[::1]", "fe80::1%eth0", "::1 ",
                        "0x7f.0.0.1", "2130706433", "1.2.3.4.5"})
    EXPECT_FALSE(parse_ip(t)) << t;
  EXPECT_EQ(*parse_ip("10.0.0.1"), ipv4_bytes(10, 0, 0, 1));
  EXPECT_EQ(*parse_ip("::ffff:10.0.0.1"), ipv4_bytes(10, 0, 0, 1)) << "IPv4 is kept as IPv4-mapped";
}

TEST(address, loose_ipv4_forms_a_resolver_accepts) {
  EXPECT_EQ(*parse_ipv4_loose("127.1"), ipv4_bytes(127, 0, 0, 1));
  EXPECT_EQ(*parse_ipv4_loose("2130706433"), ipv4_bytes(127, 0, 0, 1));
  EXPECT_EQ(*parse_ipv4_loose("0x7f.0.0.1"), ipv4_bytes(127, 0, 0, 1));
  EXPECT_EQ(*parse_ipv4_loose("012.0.0.1"), ipv4_bytes(10, 0, 0, 1)) << "a leading 0 is octal";
  for (const char* t : {"localhost", "example.org", "", "1.2.3.4.5", "cafe.example", "256.0.0.1.", "::1"})
    EXPECT_FALSE(parse_ipv4_loose(t)) << t;
}

}  // namespace
