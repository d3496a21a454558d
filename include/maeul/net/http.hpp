// The HTTP server's seam: plain request/response values and the server's life cycle. Beast stays
// inside src/net, so the rest of Maeul compiles without it and knows no sockets.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace maeul::net {

struct request {
  std::string method;  // "GET", ...
  std::string target;  // as sent: path?query
  std::string path;    // percent-decoded path
  std::string query;   // raw query string, without '?'
  std::string authorization;
  std::string content_type;
  std::string accept;
  std::string if_none_match;
  std::string cookie;  // the Cookie header, as sent
  std::string origin;  // the Origin header, as sent
  std::string host;    // the Host header, as sent
  // The request came over TLS (the server was given http.tls_cert and http.tls_key): the session
  // cookie is then Secure and the expected Origin https://.
  bool tls = false;
  std::string body;
  std::string remote;  // peer address
  bool websocket_upgrade = false;  // the client asks to switch to the WebSocket protocol
};

// One WebSocket client, as the rest of Maeul sees it. All members are thread-safe: they post to
// the connection's own thread. One write is in flight at a time; queues are bounded.
class ws_peer {
 public:
  virtual ~ws_peer() = default;
  // A reading. When the client falls behind, pending readings are coalesced to the latest per
  // `key` and the client is told how many were dropped.
  virtual void send_observation(const std::string& key, std::shared_ptr<const std::string> frame) = 0;
  // An event that must not be dropped (alerts, answers). A client that lets too many pile up is
  // closed with 1008 "too slow".
  virtual void send_event(std::shared_ptr<const std::string> frame) = 0;
  virtual void close(std::string reason) = 0;
  // False once the connection has closed (any thread may ask).
  virtual bool is_open() const = 0;
};

struct ws_handler {
  std::function<void(std::shared_ptr<ws_peer>)> on_open;
  std::function<void(const std::shared_ptr<ws_peer>&, std::string text)> on_message;
  std::function<void(const std::shared_ptr<ws_peer>&, bool too_slow)> on_close;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a route that accepts a WebSocket upgrade: the connection switches protocols.
  std::shared_ptr<ws_handler> upgrade;
};

// Answers one request. Must not throw (the router is the single try/catch per request).
using handler = std::function<boost::asio::awaitable<response>(request)>;
// Builds the error answer for failures the server sees before any route (400, 413, 431, and 503
// for a connection refused by a connection cap).
using error_builder = std::function<response(int status, std::string detail)>;

struct ws_options {
  std::size_t max_message = 64 * 1024;   // largest client message
  std::size_t soft_queue = 512;          // pending readings before coalescing starts
  std::size_t max_events = 2000;         // pending events before the client is closed
  bool hsts = false;                     // add Strict-Transport-Security to the handshake answer (TLS)
};

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::uint64_t body_limit = 8 * 1024 * 1024;
  std::uint32_t header_limit = 16 * 1024;
  int read_timeout_ms = 15000;   // a request header (and a TLS handshake) must arrive within this
  int idle_timeout_ms = 60000;
  // A request body may take read_timeout_ms plus the time its bytes take at this rate (bytes a
  // second), and a response may take read_timeout_ms plus its size at this rate. 0: no extension.
  std::uint64_t min_body_rate = 16 * 1024;
  // Open connections (HTTP and WebSocket) at most, in all and per client address (IPv4, or IPv6
  // /64); past either, a new connection is answered 503 and closed.
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 256;
  // Both set: HTTPS and WSS only, with these PEM files (certificate chain, private key).
  std::string tls_cert;
  std::string tls_key;
  ws_options ws;
};

struct server_counters {
  std::atomic<std::int64_t> ws_active{0};      // open WebSocket sessions
  std::atomic<std::int64_t> ws_coalesced{0};   // readings dropped for slow clients (latest kept)
  std::atomic<std::int64_t> ws_slow_closed{0}; // clients closed for falling behind on events
  std::atomic<std::int64_t> ws_frames{0};      // frames written
  std::atomic<std::int64_t> active{0};       // open connections
  std::atomic<std::int64_t> accepted{0};     // connections accepted since start
  std::atomic<std::int64_t> timed_out{0};    // connections closed for a read, TLS handshake or write deadline
  std::atomic<std::int64_t> rejected{0};     // requests answered 400/413/431 before routing
  std::atomic<std::int64_t> refused_total{0};   // connections answered 503 for max_connections
  std::atomic<std::int64_t> refused_per_ip{0};  // ... and for max_connections_per_ip
  std::atomic<std::int64_t> tls_failed{0};      // TLS handshakes that failed (timed out ones included)
  std::atomic<std::int64_t> accept_errors{0};   // accept() failures (EMFILE and the like: backed off)
  std::atomic<std::int64_t> tls_reloads{0};     // certificate pairs loaded by SIGHUP
  std::atomic<std::int64_t> tls_reload_failures{0};  // SIGHUP reloads refused (the old pair stayed)
};

// One io_context per I/O thread: a connection lives on one of them for its whole life, so its
// coroutine never needs a strand and the contexts share no locks.
class io_pool {
 public:
  explicit io_pool(int threads);
  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& at(int i) { return *contexts_.at(static_cast<std::size_t>(i)); }
  // The next context, round-robin (thread-safe).
  boost::asio::io_context& next();
  // Runs every context on its own thread (the calling thread runs the first) until stop().
  void run();
  void stop();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::atomic<unsigned> next_{0};
};

class server {
 public:
  // Accepts on the pool's first context and spreads connections over all of them.
  server(io_pool& pool, server_options opts, handler h, error_builder eb);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Loads the TLS pair (when set), binds and starts accepting; returns the bound port. Throws
  // boost::system::system_error when it cannot bind, std::runtime_error (one line naming the file)
  // when the TLS pair cannot be loaded.
  std::uint16_t start();

  // True when serving HTTPS and WSS.
  bool tls() const;

  // Reads tls_cert and tls_key again and uses them for new connections; open connections keep the
  // pair they started with. Returns "" and the new certificate's description in `summary`, or why
  // the new pair was refused (the old one stays). Thread-safe.
  std::string reload_tls(std::string& summary);

  // Stops accepting, closes idle connections, and lets in-flight requests finish and answer
  // with "Connection: close". Thread-safe; returns at once.
  void shutdown();

  const server_counters& counters() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace maeul::net
