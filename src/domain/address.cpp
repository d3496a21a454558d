// The non-public address blocklist (stub: the table test must fail first).
#include "maeul/domain/address.hpp"

namespace maeul::domain {
ip_bytes ipv4_bytes(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return ip_bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}
std::optional<ip_bytes> parse_ip(std::string_view) { return ip_bytes{}; }
std::optional<ip_bytes> parse_ipv4_loose(std::string_view) { return std::nullopt; }
std::optional<std::string_view> reserved_block(const ip_bytes&) { return std::nullopt; }
}  // namespace maeul::domain
