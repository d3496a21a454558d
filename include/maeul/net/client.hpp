// A small HTTP/1.1 client for outgoing webhook deliveries: one request per connection, a deadline
// on the whole exchange, a cap on the answer's size. No Beast in this header.
#pragma once
#include <chrono>
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
// Parses http://host[:port]/path?query (and https, reported as unsupported by post()).
bool parse_url(const std::string& url, url_parts& out);

// POSTs `body` to `url`. `allow_private`: false refuses loopback, link-local and private addresses.
boost::asio::awaitable<client_result> post(boost::asio::any_io_executor ex, std::string url,
                                           std::vector<std::pair<std::string, std::string>> headers, std::string body,
                                           std::chrono::milliseconds timeout, bool allow_private);

}  // namespace maeul::net
