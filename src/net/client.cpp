// Outgoing HTTP(S) POSTs (webhooks).
#include "maeul/net/client.hpp"

#include "maeul/domain/address.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "tls.hpp"

namespace maeul::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

bool parse_url(const std::string& url, url_parts& out) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  out.scheme = url.substr(0, scheme_end);
  if (out.scheme != "http" && out.scheme != "https") return false;
  auto rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    out.host = authority.substr(1, close - 1);
    out.port = close + 1 < authority.size() && authority[close + 1] == ':' ? authority.substr(close + 2) : "";
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    out.port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  }
  if (out.port.empty()) out.port = out.scheme == "https" ? "443" : "80";
  for (char c : out.port)
    if (c < '0' || c > '9') return false;
  return !out.host.empty();
}

namespace {
// The reserved block of a resolved address (domain::reserved_block: the one blocklist of the
// registration check), or nullopt for a public one.
std::optional<std::string_view> reserved(const asio::ip::address& a) {
  domain::ip_bytes b{};
  if (a.is_v4()) {
    auto v4 = a.to_v4().to_bytes();
    b = domain::ipv4_bytes(v4[0], v4[1], v4[2], v4[3]);
  } else {
    auto v6 = a.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), b.begin());
  }
  return domain::reserved_block(b);
}
}  // namespace

namespace {
// Sends the request and reads the answer over a connected (and, for https, handshaken) stream.
// `stream` is owned by the caller's frame, which awaits this to completion.
template <class Stream>
asio::awaitable<client_result> exchange(Stream* stream, url_parts u,
                                        std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  http::request<http::string_body> req{http::verb::post, u.target, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "maeul-webhooks");
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.keep_alive(false);
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(*stream, req, tuple);
  (void)wn;
  if (wec) co_return client_result{0, "cannot send: " + wec.message()};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  auto [rdec, rn] = co_await http::async_read(*stream, buffer, parser, tuple);
  (void)rn;
  if (rdec && rdec != http::error::body_limit) co_return client_result{0, "no answer: " + rdec.message()};
  int status = static_cast<int>(parser.get().result_int());
  co_return client_result{status, status >= 200 && status < 300 ? "" : parser.get().body().substr(0, 200)};
}
}  // namespace

asio::awaitable<client_result> post(asio::any_io_executor ex, std::string url,
                                    std::vector<std::pair<std::string, std::string>> headers, std::string body,
                                    std::chrono::milliseconds timeout, bool allow_private,
                                    std::shared_ptr<const client_tls> tls) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  url_parts u;
  if (!parse_url(url, u)) co_return client_result{0, "not an http:// or https:// URL"};
  bool https = u.scheme == "https";
  if (https && !tls) co_return client_result{0, "https is not available: no TLS context"};
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(u.host, u.port, tuple);
  if (rec) co_return client_result{0, "cannot resolve " + u.host + ": " + rec.message()};
  // The addresses connected to are the ones checked here (the connect below uses these results):
  // a name cannot pass this check and then resolve elsewhere.
  if (!allow_private)
    for (const auto& r : results)
      if (auto block = reserved(r.endpoint().address()))
        co_return client_result{0, "refused: " + u.host + " resolves to " + r.endpoint().address().to_string() +
                                       ", in " + std::string(*block)};
  if (!https) {
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(results, tuple);
    (void)ep;
    if (cec) co_return client_result{0, "cannot connect: " + cec.message()};
    auto res = co_await exchange(&stream, u, std::move(headers), std::move(body));
    beast::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    co_return res;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls->ctx);
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(timeout);  // one deadline for connect, handshake, request and answer
  auto [cec, ep] = co_await lowest.async_connect(results, tuple);
  (void)ep;
  if (cec) co_return client_result{0, "cannot connect: " + cec.message()};
  // SNI carries a DNS name, never an address; the certificate must name the host either way.
  beast::error_code addr_ec;
  asio::ip::make_address(u.host, addr_ec);
  if (addr_ec && SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()) != 1)
    co_return client_result{0, "cannot set the TLS server name " + u.host};
  stream.set_verify_callback(ssl::host_name_verification(u.host));
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, tuple);
  if (hec) co_return client_result{0, "TLS handshake with " + u.host + " failed: " + hec.message()};
  auto res = co_await exchange(&stream, u, std::move(headers), std::move(body));
  // The receiver closes after its answer (Connection: close): no close_notify exchange to wait for.
  beast::error_code ignore;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignore);
  co_return res;
}

}  // namespace maeul::net
