// The non-public address blocklist for webhooks: IPv4 special-purpose blocks (RFC 6890 and the
// IANA registry) and their IPv6 counterparts, with the IPv6 forms that embed an IPv4 address
// judged by that address.
#include "maeul/domain/address.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

namespace maeul::domain {
namespace {

struct block4 {
  std::uint32_t net;
  int bits;
  std::string_view name;
};

constexpr std::uint32_t v4(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

// Each name is the block as a caller logs it; an embedded address repeats it with its carrier.
constexpr block4 blocks4[] = {
    {v4(0, 0, 0, 0), 8, "0.0.0.0/8 (this network)"},
    {v4(10, 0, 0, 0), 8, "10.0.0.0/8 (private network)"},
    {v4(100, 64, 0, 0), 10, "100.64.0.0/10 (carrier-grade NAT)"},
    {v4(127, 0, 0, 0), 8, "127.0.0.0/8 (loopback)"},
    {v4(169, 254, 0, 0), 16, "169.254.0.0/16 (link-local)"},
    {v4(172, 16, 0, 0), 12, "172.16.0.0/12 (private network)"},
    {v4(192, 0, 0, 0), 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {v4(192, 0, 2, 0), 24, "192.0.2.0/24 (documentation)"},
    {v4(192, 88, 99, 0), 24, "192.88.99.0/24 (6to4 relay anycast)"},
    {v4(192, 168, 0, 0), 16, "192.168.0.0/16 (private network)"},
    {v4(198, 18, 0, 0), 15, "198.18.0.0/15 (benchmarking)"},
    {v4(198, 51, 100, 0), 24, "198.51.100.0/24 (documentation)"},
    {v4(203, 0, 113, 0), 24, "203.0.113.0/24 (documentation)"},
    {v4(224, 0, 0, 0), 4, "224.0.0.0/4 (multicast)"},
    {v4(240, 0, 0, 0), 4, "240.0.0.0/4 (reserved, and broadcast)"},
};

std::optional<std::string_view> reserved_v4(std::uint32_t a) {
  for (const auto& b : blocks4)
    if ((a >> (32 - b.bits)) == (b.net >> (32 - b.bits))) return b.name;
  return std::nullopt;
}

std::uint32_t v4_at(const ip_bytes& a, int i) {
  return std::uint32_t(a[i]) << 24 | std::uint32_t(a[i + 1]) << 16 | std::uint32_t(a[i + 2]) << 8 | a[i + 3];
}

// The first `bits` bits of `a` equal those of `prefix` (given as its leading bytes).
bool in(const ip_bytes& a, std::initializer_list<std::uint8_t> prefix, int bits) {
  int i = 0;
  for (auto p : prefix) {
    if (bits <= 0) break;
    std::uint8_t mask = bits >= 8 ? 0xff : std::uint8_t(0xff << (8 - bits));
    if ((a[i] & mask) != (p & mask)) return false;
    bits -= 8;
    ++i;
  }
  return true;
}

bool zero_bytes(const ip_bytes& a, int from, int to) {
  for (int i = from; i < to; ++i)
    if (a[i] != 0) return false;
  return true;
}

// An embedded IPv4 address's block, named with the form that carried it. Few combinations exist
// (blocks4 × carriers), so the names are built once.
std::string_view embedded(std::string_view carrier, std::string_view block) {
  static const auto names = [] {
    std::vector<std::string> all;
    for (std::string_view c : {"NAT64 64:ff9b::/96", "6to4 2002::/16"})
      for (const auto& b : blocks4) all.push_back(std::string(b.name) + " via " + std::string(c));
    return all;
  }();
  for (const auto& n : names)
    if (n.size() == block.size() + 5 + carrier.size() && n.compare(0, block.size(), block) == 0 &&
        n.compare(n.size() - carrier.size(), carrier.size(), carrier) == 0)
      return n;
  return block;
}

std::optional<std::string_view> via(std::string_view carrier, std::uint32_t v4addr) {
  auto b = reserved_v4(v4addr);
  if (!b) return std::nullopt;
  return embedded(carrier, *b);
}

// One part of a loose IPv4 address: decimal, octal (leading 0) or hex (0x).
std::optional<std::uint64_t> loose_part(std::string_view p) {
  if (p.empty()) return std::nullopt;
  int base = 10;
  if (p.size() > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p.remove_prefix(2);
    if (p.empty()) return std::uint64_t(0);  // "0x" alone is 0, as inet_aton reads it
  } else if (p.size() > 1 && p[0] == '0') {
    base = 8;
    p.remove_prefix(1);
  }
  std::uint64_t v = 0;
  for (char c : p) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * std::uint64_t(base) + std::uint64_t(d);
    if (v > 0xffffffffULL) return std::nullopt;
  }
  return v;
}

}  // namespace

ip_bytes ipv4_bytes(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return ip_bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

std::optional<ip_bytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  ip_bytes out{};
  if (s.find(':') == std::string::npos) {
    unsigned char b[4];
    if (inet_pton(AF_INET, s.c_str(), b) != 1) return std::nullopt;
    return ipv4_bytes(b[0], b[1], b[2], b[3]);
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

std::optional<ip_bytes> parse_ipv4_loose(std::string_view text) {
  std::uint64_t parts[4];
  int n = 0;
  for (;;) {
    auto dot = text.find('.');
    if (n == 4) return std::nullopt;
    auto v = loose_part(text.substr(0, dot));
    if (!v) return std::nullopt;
    parts[n++] = *v;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  // The last part fills the bytes the earlier ones leave: a, a.b (b: 24 bits), a.b.c (c: 16 bits).
  std::uint32_t addr = 0;
  for (int i = 0; i < n - 1; ++i) {
    if (parts[i] > 0xff) return std::nullopt;
    addr |= std::uint32_t(parts[i]) << (24 - 8 * i);
  }
  int last_bits = 32 - 8 * (n - 1);
  if (last_bits < 32 && parts[n - 1] >> last_bits) return std::nullopt;
  addr |= std::uint32_t(parts[n - 1]);
  return ipv4_bytes(std::uint8_t(addr >> 24), std::uint8_t(addr >> 16), std::uint8_t(addr >> 8), std::uint8_t(addr));
}

std::optional<std::string_view> reserved_block(const ip_bytes& a) {
  // ::ffff:0:0/96, IPv4-mapped (and every IPv4 address): the IPv4 address decides.
  if (zero_bytes(a, 0, 10) && a[10] == 0xff && a[11] == 0xff) return reserved_v4(v4_at(a, 12));
  if (zero_bytes(a, 0, 16)) return "::/128 (unspecified)";
  if (zero_bytes(a, 0, 15) && a[15] == 1) return "::1/128 (loopback)";
  // ::/96, IPv4-compatible (deprecated by RFC 4291; nothing routes it): refused whole.
  if (zero_bytes(a, 0, 12)) return "::/96 (IPv4-compatible, deprecated)";
  // 64:ff9b::/96, NAT64 well-known prefix: the IPv4 address in the last 32 bits decides.
  if (in(a, {0x00, 0x64, 0xff, 0x9b}, 32) && zero_bytes(a, 4, 12)) return via("NAT64 64:ff9b::/96", v4_at(a, 12));
  // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): where the IPv4 address sits is the operator's choice.
  if (in(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return "64:ff9b:1::/48 (local-use NAT64)";
  // 2002::/16, 6to4: the IPv4 address in bits 16-47 decides.
  if (in(a, {0x20, 0x02}, 16)) return via("6to4 2002::/16", v4_at(a, 2));
  if (in(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return "2001:db8::/32 (documentation)";
  // 2001::/32, Teredo: the client's IPv4 address is obfuscated and behind a NAT; refused whole.
  if (in(a, {0x20, 0x01, 0x00, 0x00}, 32)) return "2001::/32 (Teredo)";
  if (in(a, {0x20, 0x01, 0x00}, 23)) return "2001::/23 (IETF protocol assignments: benchmarking, ORCHID)";
  if (in(a, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64)) return "100::/64 (discard-only)";
  if (in(a, {0xfc}, 7)) return "fc00::/7 (unique local)";
  if (in(a, {0xfe, 0x80}, 10)) return "fe80::/10 (link-local)";
  if (in(a, {0xfe, 0xc0}, 10)) return "fec0::/10 (site-local, deprecated)";
  if (in(a, {0xff}, 8)) return "ff00::/8 (multicast)";
  // Global unicast is 2000::/3 alone (IANA); the rest is reserved or unassigned.
  if (!in(a, {0x20}, 3)) return "outside 2000::/3 (not global unicast)";
  return std::nullopt;
}

}  // namespace maeul::domain
