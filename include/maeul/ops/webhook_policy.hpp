// What a webhook may point at: the URL rules checked at registration, and the addresses a
// delivery may connect to (webhooks.allow_private). Pure.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maeul/domain/address.hpp"

namespace maeul::ops {

inline constexpr std::size_t max_webhook_url_bytes = 2048;

// Checks a webhook URL at registration. Accepted: http:// or https://, printable ASCII only (no
// space, control character or percent-escaped control character such as %0d%0a), no userinfo
// ("user@"), no fragment, a host that is a DNS name (letters, digits, '-', '.') or an IP literal
// (IPv6 in brackets, without a zone), a port in 1-65535. With `allow_private` false, an IP literal
// (in any form a resolver reads, "127.1" and "2130706433" included) of a reserved block is refused;
// a host name is not resolved here: its addresses are checked at each delivery
// (refuse_destination). Returns the detail for the /url field error, or nullopt when accepted.
std::optional<std::string> refuse_webhook_url(std::string_view url, bool allow_private);

// Checks the addresses a delivery's host name resolved to: the reason it must not be delivered
// ("refused: HOST resolves to ADDR, in BLOCK"), or nullopt when every address is public.
// `addresses` as text (what the resolver gave); one that is not an IP literal is refused too.
std::optional<std::string> refuse_destination(std::string_view host, const std::vector<std::string>& addresses);

}  // namespace maeul::ops
