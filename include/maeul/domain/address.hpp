// Which IP addresses are not on the public internet: the blocklist that keeps webhooks (with
// webhooks.allow_private = false) away from loopback, private, link-local and reserved networks,
// including IPv6 forms that embed an IPv4 address. Pure.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace maeul::domain {

// An IP address as 16 bytes; IPv4 addresses as IPv4-mapped IPv6 (::ffff:a.b.c.d).
using ip_bytes = std::array<std::uint8_t, 16>;

ip_bytes ipv4_bytes(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

// `text` as an IP literal: dotted IPv4 ("10.0.0.1") or IPv6 without brackets or zone ("::1",
// "::ffff:10.0.0.1"). nullopt for anything else, host names included.
std::optional<ip_bytes> parse_ip(std::string_view text);

// `text` as an IPv4 address in any of the forms a resolver accepts besides the dotted quad
// (inet_aton: "127.1", "2130706433", "0x7f.0.0.1", "017.0.0.1"). nullopt when it is none of them.
std::optional<ip_bytes> parse_ipv4_loose(std::string_view text);

// The reserved or non-public block `a` falls in, as "10.0.0.0/8 (private network)", or nullopt
// for a public address. IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// addresses are judged by the IPv4 address they embed; IPv4-compatible (::/96), local-use NAT64
// (64:ff9b:1::/48) and Teredo (2001::/32) addresses are refused whole (their target is not public
// or cannot be told). The returned text is a static string.
std::optional<std::string_view> reserved_block(const ip_bytes& a);

}  // namespace maeul::domain
