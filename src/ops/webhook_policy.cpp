// Webhook URL rules and the delivery-time address check (ops/webhook_policy.hpp).
#include "maeul/ops/webhook_policy.hpp"

#include "maeul/net/client.hpp"

namespace maeul::ops {
namespace {

bool hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// A DNS name: labels of letters, digits and '-' (not first or last), 1-63 bytes each, 253 in all,
// with an optional final dot.
bool dns_name(std::string_view h) {
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (h.empty() || h.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    if (++label > 63) return false;
  }
  return label > 0 && h.back() != '-';
}

std::string refused_literal(std::string_view host, std::string_view block) {
  return "must not point at a private or reserved address (" + std::string(host) + " is in " + std::string(block) +
         "); webhooks.allow_private is false";
}

}  // namespace

std::optional<std::string> refuse_webhook_url(std::string_view url, bool allow_private) {
  if (url.size() > max_webhook_url_bytes) return "must be at most 2048 bytes";
  for (std::size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (c < 0x21 || c > 0x7e)
      return "must be printable ASCII without spaces or control characters (percent-encode other characters)";
    if (c == '%') {
      if (i + 2 >= url.size() || !hex_digit(url[i + 1]) || !hex_digit(url[i + 2]))
        return "has a '%' that does not start a %XX escape";
      int v = hex_value(url[i + 1]) * 16 + hex_value(url[i + 2]);
      if (v < 0x20 || v == 0x7f) return "must not hold an escaped control character (such as %0d%0a)";
    }
  }
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "must be an http:// or https:// URL";
  auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return "must be an http:// or https:// URL";
  auto rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return "must not have a fragment ('#')";
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) return "must not hold a user name or password ('user@host')";
  if (authority.empty()) return "must name a host";

  std::string_view host, port;
  bool bracketed = authority.front() == '[';
  if (bracketed) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed '[' in its host";
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "has characters after the ']' of its host";
    if (!after.empty()) port = after.substr(1);
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (authority.find(':') != std::string_view::npos && !bracketed && port.empty()) return "has an empty port";
  if (bracketed && authority.back() == ':') return "has an empty port";
  if (!port.empty()) {
    if (port.size() > 5) return "must have a port in 1-65535";
    unsigned p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return "must have a port in 1-65535";
      p = p * 10 + unsigned(c - '0');
    }
    if (p < 1 || p > 65535) return "must have a port in 1-65535";
  }

  std::optional<domain::ip_bytes> literal;
  if (bracketed) {
    if (host.find(':') == std::string_view::npos || !(literal = domain::parse_ip(host)))
      return "must have an IPv6 address (without a zone) between '[' and ']'";
  } else if (auto v4 = domain::parse_ipv4_loose(host)) {
    literal = v4;
  } else if (!dns_name(host)) {
    return "must have a host name of letters, digits, '-' and '.', or an IP address";
  }
  if (literal && !allow_private)
    if (auto block = domain::reserved_block(*literal)) return refused_literal(host, *block);

  // Delivery reads the URL with net::parse_url: it must read the same host.
  net::url_parts u;
  std::string s(url);
  if (!net::parse_url(s, u) || u.host != host) return "must have a '/' after its host";
  return std::nullopt;
}

std::optional<std::string> refuse_destination(std::string_view host, const std::vector<std::string>& addresses) {
  if (addresses.empty()) return "refused: " + std::string(host) + " resolves to no address";
  for (const auto& text : addresses) {
    auto a = domain::parse_ip(text);
    if (!a) return "refused: " + std::string(host) + " resolves to " + text + ", not an IP address";
    if (auto block = domain::reserved_block(*a))
      return "refused: " + std::string(host) + " resolves to " + text + ", in " + std::string(*block) +
             " (webhooks.allow_private is false)";
  }
  return std::nullopt;
}

}  // namespace maeul::ops
