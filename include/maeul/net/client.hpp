// A small HTTP/1.1 client for outgoing webhook deliveries: one request per connection, a deadline
// on the whole exchange, a cap on the answer's size; https:// with the receiver's certificate and
// host name verified. No Beast or OpenSSL in this header.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace maeul::net {

struct client_result {
  int status = 0;     // 0 when no HTTP answer came
  std::string error;  // why, when status is 0 (or the answer's first bytes otherwise)
};

struct url_parts {
  std::string scheme, host, port, target;
};
// Parses http://host[:port]/path?query and https://host[:port]/path?query.
bool parse_url(const std::string& url, url_parts& out);

// What https:// deliveries verify the receiver against (src/net/tls.hpp). Thread-safe to share.
struct client_tls;
// TLS 1.2 or newer, peer verification on, trusting the CAs in `ca_file` (PEM), or the system's
// CAs when it is empty. Throws std::runtime_error naming the file when it cannot be loaded.
std::shared_ptr<const client_tls> make_client_tls(const std::string& ca_file);

// POSTs `body` to `url`. `allow_private`: false refuses loopback, link-local and private addresses.
// https:// needs `tls`: the receiver's certificate must chain to its CAs and name the URL's host
// (DNS name or IP address; the name is also sent as SNI). Without `tls`, https:// is refused.
boost::asio::awaitable<client_result> post(boost::asio::any_io_executor ex, std::string url,
                                           std::vector<std::pair<std::string, std::string>> headers, std::string body,
                                           std::chrono::milliseconds timeout, bool allow_private,
                                           std::shared_ptr<const client_tls> tls = nullptr);

}  // namespace maeul::net
