// The HTTP/1.1 listener and sessions (Beast, C++20 coroutines), plain or TLS: the same session code
// serves tcp::socket and beast::ssl_stream<tcp::socket>. One coroutine per connection on one
// single-threaded io_context (so no strand is needed); every read and write has a deadline, every
// read a size cap; one write in flight per connection; connections counted against global and
// per-address caps at accept.
#include "maeul/domain/encoding.hpp"
#include "maeul/net/http.hpp"
#include "limits.hpp"
#include "tls.hpp"
#include "wire.hpp"
#include "ws_session.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <spdlog/spdlog.h>

namespace maeul::net {
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using tls_stream = beast::ssl_stream<tcp::socket>;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// Refused connections being answered at once at most (each holds a descriptor and a few KiB for
// up to refuse_deadline); past it they are closed without an answer.
constexpr int max_refusing = 1024;
// Time a refused connection gets for its TLS handshake and the 503.
constexpr auto refuse_deadline = std::chrono::seconds(2);
// Bytes asked of one read: a whole TLS record (16 KiB of plaintext), so that one SSL_read takes a
// whole pipeline of requests. The buffer keeps its capacity between requests.
constexpr std::size_t read_chunk = 16 * 1024;

// One connection's deadline and state, whatever its stream. A watchdog coroutine checks the
// deadline a few times a second and closes a connection that missed it; this costs one timer per
// connection instead of re-arming a timer around every read and write.
struct conn_base {
  explicit conn_base(asio::any_io_executor e) : ex(std::move(e)) {}
  virtual ~conn_base() = default;
  // The TCP socket under the stream; null once the stream moved into a WebSocket session.
  virtual tcp::socket* socket() = 0;
  asio::any_io_executor ex;  // the connection's own context
  steady::time_point deadline = steady::time_point::max();
  bool timed_out = false;
  bool closed = false;
  bool busy = false;  // a request is being handled (read and written only on the connection's thread)
};

template <class Stream>
struct conn_state final : conn_base {
  conn_state(Stream s, std::shared_ptr<detail::server_tls> t)
      : conn_base(s.get_executor()), stream(std::move(s)), tls(std::move(t)) {}
  tcp::socket* socket() override { return moved ? nullptr : &beast::get_lowest_layer(stream); }
  Stream stream;
  std::shared_ptr<detail::server_tls> tls;  // the context this connection started with: kept alive
  bool moved = false;
};

struct connection {
  std::shared_ptr<conn_base> state;
  std::weak_ptr<ws_peer> ws;  // set once the connection switched to WebSocket
};

void log_session_exception(std::exception_ptr ep) {
  if (!ep) return;
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    spdlog::error("connection ended by an exception: {}", e.what());
  }
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  io_pool& pool;
  server_options opts;
  handler handle;
  error_builder error;
  tcp::acceptor acceptor;
  server_counters counters;
  std::mutex mutex;  // connections, next_id, limiter
  std::unordered_map<std::uint64_t, connection> connections;
  std::uint64_t next_id = 0;
  detail::conn_limiter limiter;
  std::atomic<bool> stopping{false};
  std::atomic<int> refusing{0};
  // Accept loop only (the first context's thread):
  detail::accept_backoff backoff;
  steady::time_point refusal_logged{};
  std::int64_t refused_since_log = 0;
  // TLS: on when tls_cert and tls_key are set; the context new connections use.
  bool tls_on = false;
  std::mutex tls_mutex;
  std::shared_ptr<detail::server_tls> tls_ctx;

  impl(io_pool& p, server_options o, handler h, error_builder eb)
      : pool(p),
        opts(std::move(o)),
        handle(std::move(h)),
        error(std::move(eb)),
        acceptor(p.at(0)),
        limiter(opts.max_connections, opts.max_connections_per_ip) {}

  std::shared_ptr<detail::server_tls> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls_ctx;
  }

  asio::awaitable<void> accept_loop();
  void refused(tcp::socket socket, detail::conn_limiter::verdict v, const std::string& key);
  asio::awaitable<void> session(tcp::socket socket, std::string key);
  asio::awaitable<void> refuse(tcp::socket socket, std::string detail);
  template <class Stream>
  asio::awaitable<void> serve(std::shared_ptr<conn_state<Stream>> c, std::string key);
  template <class Stream>
  asio::awaitable<void> refuse_on(std::shared_ptr<conn_state<Stream>> c, std::string detail);
  asio::awaitable<void> watchdog(std::shared_ptr<conn_base> c);
  template <class Stream>
  asio::awaitable<bool> write(std::shared_ptr<conn_state<Stream>> c, response res, unsigned version, bool keep_alive,
                              std::chrono::milliseconds base);
  template <class Stream>
  asio::awaitable<void> lingering_close(std::shared_ptr<conn_state<Stream>> c, beast::flat_buffer& buffer,
                                        std::size_t max_bytes, std::chrono::milliseconds max_time,
                                        std::size_t chunk = 65536);
  std::chrono::milliseconds tick() const {
    return std::chrono::milliseconds(std::clamp(std::min(opts.read_timeout_ms, opts.idle_timeout_ms) / 4, 10, 1000));
  }
};

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    tcp::socket socket(pool.next());
    auto [ec] = co_await acceptor.async_accept(socket, use_tuple);
    if (stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      ++counters.accept_errors;
      if (detail::is_resource_exhaustion(ec)) {
        // Out of descriptors or memory: the connection stays in the backlog; retrying at once
        // would spin. Wait, doubling up to 1 s, until a connection closes. An alarm: logged once.
        bool first = false;
        auto wait = backoff.next(first);
        if (first) spdlog::error("accept failed: {}; backing off until connections close", ec.message());
        pause.expires_after(wait);
        co_await pause.async_wait(use_tuple);
        if (stopping) co_return;
      } else {
        spdlog::warn("accept failed: {}", ec.message());
      }
      continue;
    }
    if (auto n = backoff.reset()) spdlog::info("accepting connections again after {} failed attempts", n);
    beast::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    if (rec) continue;  // already gone
    // No Nagle delay: an answer over 16 KiB leaves as head then body, and the body's last
    // segment must not wait for the client's (delayed) ACK of the head. Every write is a whole
    // answer or a whole frame, so nothing gains from coalescing.
    socket.set_option(tcp::no_delay(true), rec);
    std::string key = detail::limit_key(ep.address());
    detail::conn_limiter::verdict v;
    {
      std::lock_guard lock(mutex);
      v = limiter.admit(key);
    }
    if (v != detail::conn_limiter::verdict::admitted) {
      refused(std::move(socket), v, key);
      continue;
    }
    ++counters.accepted;
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket), std::move(key)), log_session_exception);
  }
}

// A connection over a cap: counted, logged at most once a minute, answered 503 on its own
// context (or closed at once when too many refusals are already being answered).
void server::impl::refused(tcp::socket socket, detail::conn_limiter::verdict v, const std::string& key) {
  bool total = v == detail::conn_limiter::verdict::over_total;
  ++(total ? counters.refused_total : counters.refused_per_ip);
  ++refused_since_log;
  std::string detail = total ? "the server has " + std::to_string(opts.max_connections) +
                                   " connections open (http.max_connections); retry later"
                             : "too many connections from your address (http.max_connections_per_ip = " +
                                   std::to_string(opts.max_connections_per_ip) + "); close some and retry";
  auto now = steady::now();
  if (refused_since_log == 1 || now - refusal_logged >= std::chrono::minutes(1)) {
    spdlog::warn("refusing connections: {} (latest from {}; {} refused since the last such line)",
                 total ? "http.max_connections reached" : "http.max_connections_per_ip reached", key,
                 refused_since_log);
    refusal_logged = now;
    refused_since_log = 0;
  }
  if (refusing.load() >= max_refusing) return;  // the socket closes here, unanswered
  auto ex = socket.get_executor();
  asio::co_spawn(ex, refuse(std::move(socket), std::move(detail)), log_session_exception);
}

asio::awaitable<void> server::impl::refuse(tcp::socket socket, std::string detail) {
  auto self = shared_from_this();
  ++refusing;
  struct uncount {
    std::atomic<int>& n;
    ~uncount() { --n; }
  } guard{refusing};
  if (tls_on) {
    auto ctx = current_tls();
    auto c = std::make_shared<conn_state<tls_stream>>(tls_stream(std::move(socket), ctx->ctx), ctx);
    co_await refuse_on(c, std::move(detail));
  } else {
    auto c = std::make_shared<conn_state<tcp::socket>>(std::move(socket), nullptr);
    co_await refuse_on(c, std::move(detail));
  }
}

// Writes the fixed 503 without reading the request, then closes (draining a little so that the
// close does not reset the connection before the client reads the answer). Short deadline.
template <class Stream>
asio::awaitable<void> server::impl::refuse_on(std::shared_ptr<conn_state<Stream>> c, std::string detail) {
  c->deadline = steady::now() + refuse_deadline;
  asio::co_spawn(c->ex, watchdog(c), asio::detached);
  struct close_on_exit {
    std::shared_ptr<conn_base> c;
    ~close_on_exit() {
      c->closed = true;
      beast::error_code ec;
      if (auto* s = c->socket()) s->close(ec);
    }
  } guard{c};
  if constexpr (is_tls<Stream>) {
    auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (hec) co_return;
  }
  if (!co_await write(c, error(503, std::move(detail)), 11, false, std::chrono::milliseconds(1000))) co_return;
  beast::flat_buffer buffer;
  co_await lingering_close(c, buffer, 64 * 1024, std::chrono::milliseconds(500), 4096);
}

asio::awaitable<void> server::impl::watchdog(std::shared_ptr<conn_base> c) {
  asio::steady_timer timer(c->ex);
  while (!c->closed) {
    timer.expires_after(tick());
    co_await timer.async_wait(use_tuple);
    if (c->closed) break;
    if (!c->socket()) break;  // now a WebSocket session, with its own timeouts: no more ticks
    if (steady::now() >= c->deadline) {
      c->timed_out = true;
      beast::error_code ec;
      if (auto* s = c->socket()) {
        s->cancel(ec);
        s->shutdown(tcp::socket::shutdown_both, ec);
      }
      break;
    }
  }
}

// Writes one response; returns false when the write failed (or missed its deadline: `base` plus the
// time the body takes at min_body_rate, so a client that does not read is cut off).
//
// The response goes out in one write: a small one (up to one TLS record) as a single buffer, so
// plain TCP sends it with one send and TLS with one SSL_write, in one record; a larger one as the
// head and then the body (no copy of a large body). No Beast serializer.
template <class Stream>
asio::awaitable<bool> server::impl::write(std::shared_ptr<conn_state<Stream>> c, response res, unsigned version,
                                         bool keep_alive, std::chrono::milliseconds base) {
  detail::wire_head h;
  h.status = res.status;
  h.version = version == 10 ? 10 : 11;
  h.keep_alive = keep_alive;
  h.hsts = is_tls<Stream>;
  h.date = detail::cached_http_date();
  h.content_type = res.content_type;
  if (detail::bodiless_status(res.status)) res.body.clear();
  std::size_t body_size = res.body.size();
  c->deadline = steady::now() + base + detail::body_allowance(body_size, 0, opts.min_body_rate);
  constexpr std::size_t one_buffer_max = 16 * 1024;
  beast::error_code ec;
  if (body_size <= one_buffer_max) {
    std::string wire = detail::serialize_head(h, res.headers, body_size, body_size);
    wire += res.body;
    auto [wec, n] = co_await asio::async_write(c->stream, asio::buffer(wire), use_tuple);
    (void)n;
    ec = wec;
  } else {
    // The head, then the body: two single-buffer writes. (One gathered asio::async_write of both
    // sent the head and never the body under beast::ssl_stream — tests/e2e/tls.test.js caught
    // it; the cause inside flat_stream/asio is not pinned down. A separate head costs one small
    // extra record on a large answer.)
    std::string head = detail::serialize_head(h, res.headers, body_size);
    auto [hec, hn] = co_await asio::async_write(c->stream, asio::buffer(head), use_tuple);
    (void)hn;
    ec = hec;
    if (!ec) {
      auto [bec, bn] = co_await asio::async_write(c->stream, asio::buffer(res.body), use_tuple);
      (void)bn;
      ec = bec;
    }
  }
  if (ec) {
    if (c->timed_out) ++counters.timed_out;
    spdlog::debug("write failed: {}", ec.message());
    co_return false;
  }
  co_return true;
}

// After an early error answer, read and discard what the client is still sending (bounded in
// time and size) so that closing does not reset the connection before the answer is read.
template <class Stream>
asio::awaitable<void> server::impl::lingering_close(std::shared_ptr<conn_state<Stream>> c, beast::flat_buffer& buffer,
                                                   std::size_t max_bytes, std::chrono::milliseconds max_time,
                                                   std::size_t chunk) {
  beast::error_code ec;
  // Plain TCP: end our side so the client sees the end of the answer. (Under TLS a bare TCP
  // half-close would cut the record stream; the client closes after the Connection: close answer.)
  if constexpr (!is_tls<Stream>) c->stream.shutdown(tcp::socket::shutdown_send, ec);
  std::size_t drained = 0;
  c->deadline = steady::now() + max_time;
  while (drained < max_bytes) {
    buffer.consume(buffer.size());
    auto [rec, n] = co_await c->stream.async_read_some(buffer.prepare(chunk), use_tuple);
    if (rec) break;
    drained += n;
  }
}

asio::awaitable<void> server::impl::session(tcp::socket socket, std::string key) {
  auto self = shared_from_this();
  if (tls_on) {
    auto ctx = current_tls();
    auto c = std::make_shared<conn_state<tls_stream>>(tls_stream(std::move(socket), ctx->ctx), ctx);
    co_await serve(c, std::move(key));
  } else {
    auto c = std::make_shared<conn_state<tcp::socket>>(std::move(socket), nullptr);
    co_await serve(c, std::move(key));
  }
}

template <class Stream>
asio::awaitable<void> server::impl::serve(std::shared_ptr<conn_state<Stream>> c, std::string key) {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex);
    id = next_id++;
    connections[id] = connection{c, {}};
  }
  ++counters.active;
  struct unregister {
    impl& s;
    std::uint64_t id;
    std::shared_ptr<conn_base> c;
    std::string key;
    bool armed = true;  // false: moved into a WebSocket session's keeping
    ~unregister() {
      if (!armed) return;
      c->closed = true;
      beast::error_code ec;
      if (auto* sock = c->socket()) sock->close(ec);
      std::lock_guard lock(s.mutex);
      s.connections.erase(id);
      s.limiter.release(key);
      --s.counters.active;
    }
  } guard{*this, id, c, std::move(key)};
  asio::co_spawn(c->ex, watchdog(c), asio::detached);

  std::string remote;
  {
    beast::error_code ec;
    auto ep = c->socket()->remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  auto ms = [](int v) { return std::chrono::milliseconds(v); };

  if constexpr (is_tls<Stream>) {
    // The handshake has the read deadline: a client that never completes it is closed.
    c->deadline = steady::now() + ms(opts.read_timeout_ms);
    // Asio's engine turns SSL_MODE_RELEASE_BUFFERS on for every connection, whatever the context
    // says: keep the record buffers with the connection (tls.cpp says why).
    SSL_clear_mode(c->stream.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (hec) {
      ++counters.tls_failed;
      if (c->timed_out) ++counters.timed_out;
      spdlog::debug("TLS handshake with {} failed: {}", remote, hec.message());
      co_return;
    }
  }

  bool orderly = false;  // we end the connection (not the peer, not an error): say so properly
  for (;;) {
    if (stopping) {
      orderly = true;
      break;
    }
    // Between requests: wait for the first byte of the next one under the idle deadline.
    if (buffer.size() == 0) {
      c->deadline = steady::now() + ms(opts.idle_timeout_ms);
      auto [ec, n] = co_await c->stream.async_read_some(buffer.prepare(read_chunk), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    // The header must then arrive within the read deadline, and the body within the read deadline
    // plus the time its bytes take at min_body_rate (a steady upload is never cut; a trickle is).
    // What is already buffered is parsed first and the stream is read only when the parser needs
    // more: a request that arrived whole (the usual keep-alive case, and each request of a
    // pipeline after the first) costs no trip through the I/O loop.
    http::request_parser<http::string_body> parser;
    parser.body_limit(opts.body_limit);
    parser.header_limit(opts.header_limit);
    parser.eager(true);
    c->deadline = steady::now() + ms(opts.read_timeout_ms);
    beast::error_code ec;
    {
      bool in_body = false;
      steady::time_point body_start;
      std::uint64_t received = 0;  // body bytes read since the header was complete
      for (;;) {
        if (buffer.size() > 0) {
          auto used = parser.put(buffer.data(), ec);
          buffer.consume(used);
          if (ec == http::error::need_more) {
            ec = {};
            // Nothing taken from more than a header's worth of bytes: a chunk-size line or a trailer
            // without end (Beast bounds neither). Refused, or the buffer would grow without bound.
            if (used == 0 && buffer.size() > opts.header_limit) {
              ec = http::error::bad_chunk;
              break;
            }
          } else if (ec) {
            break;
          }
          if (parser.is_done()) break;
          if (!in_body && parser.is_header_done()) {
            in_body = true;
            body_start = steady::now();
          }
          if (used > 0 && buffer.size() > 0) continue;
        }
        if (in_body)
          c->deadline = body_start + detail::body_allowance(received, opts.read_timeout_ms, opts.min_body_rate);
        auto [rec, rn] = co_await c->stream.async_read_some(buffer.prepare(read_chunk), use_tuple);
        if (rec) {
          // As Beast's own read: the end of the stream before any byte of a request is a clean
          // end; within one it is a partial message.
          if (rec == asio::error::eof) {
            if (parser.got_some())
              parser.put_eof(ec);
            else
              ec = http::error::end_of_stream;
            if (!ec && !parser.is_done()) ec = http::error::partial_message;
          } else {
            ec = rec;
          }
          break;
        }
        buffer.commit(rn);
        if (in_body) received += rn;
      }
    }
    if (c->timed_out) {
      ++counters.timed_out;
      break;
    }
    if (ec) {
      int status = 0;
      std::string detail;
      if (ec == http::error::body_limit) {
        status = 413;
        detail = "the request body is larger than " + std::to_string(opts.body_limit) + " bytes";
      } else if (ec == http::error::header_limit) {
        status = 431;
        detail = "the request header is larger than " + std::to_string(opts.header_limit) + " bytes";
      } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                 ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        break;
      } else if (ec.category() == beast::http::make_error_code(http::error::bad_method).category()) {
        status = 400;
        detail = "malformed HTTP request: " + ec.message();
      } else {
        break;
      }
      ++counters.rejected;
      if (co_await write(c, error(status, detail), 11, false, ms(opts.read_timeout_ms)))
        co_await lingering_close(c, buffer, std::size_t(16) << 20, std::chrono::seconds(2));
      co_return;
    }
    c->busy = true;
    c->deadline = steady::time_point::max();  // the handler has its own limits
    auto& msg = parser.get();
    request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = domain::percent_decode(std::string_view(req.target).substr(0, q), false);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.authorization = std::string(msg[http::field::authorization]);
    req.content_type = std::string(msg[http::field::content_type]);
    req.accept = std::string(msg[http::field::accept]);
    req.if_none_match = std::string(msg[http::field::if_none_match]);
    req.cookie = std::string(msg[http::field::cookie]);
    req.origin = std::string(msg[http::field::origin]);
    req.host = std::string(msg[http::field::host]);
    req.remote = remote;
    req.tls = is_tls<Stream>;
    req.websocket_upgrade = websocket::is_upgrade(msg);
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();
    req.body = std::move(msg.body());
    bool upgrade_asked = req.websocket_upgrade;
    response res = co_await handle(std::move(req));
    if (upgrade_asked && res.upgrade && !stopping) {
      auto wo = opts.ws;
      wo.hsts = is_tls<Stream>;
      auto ws = std::make_shared<detail::ws_session<Stream>>(std::move(c->stream), wo, res.upgrade, counters);
      c->moved = true;
      {
        std::lock_guard lock(mutex);
        connections[id].ws = ws;
      }
      // The WebSocket session runs on its own and this coroutine (with its frame, its read buffer
      // and its caller's frame) ends now: memory per subscriber. The connection's bookkeeping
      // (registry entry, per-address count, active gauge) goes with the session and is undone
      // when its run ends, as it was when this coroutine awaited it.
      auto held = std::make_shared<unregister>(unregister{*this, id, c, std::move(guard.key), false});
      held->armed = true;
      guard.armed = false;
      asio::co_spawn(c->ex, ws->run(parser.release()), [self, held](std::exception_ptr e) { log_session_exception(e); });
      co_return;
    }
    bool keep = keep_alive && !stopping;
    bool written = co_await write(c, std::move(res), version, keep, ms(opts.read_timeout_ms));
    c->busy = false;
    if (!written || c->timed_out) break;
    if (!keep) {
      orderly = true;
      break;
    }
  }
  if (!orderly || c->timed_out) co_return;
  beast::error_code ec;
  if constexpr (is_tls<Stream>) {
    // close_notify, then wait (briefly) for the client's.
    c->deadline = steady::now() + ms(std::min(opts.read_timeout_ms, 1000));
    auto [sec] = co_await c->stream.async_shutdown(use_tuple);
    (void)sec;
  } else {
    c->stream.shutdown(tcp::socket::shutdown_send, ec);
  }
}

io_pool::io_pool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

asio::io_context& io_pool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_pool::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
  contexts_[0]->run();  // the work guards keep every context running while idle, until stop()
  for (auto& t : threads) t.join();
}

void io_pool::stop() {
  for (auto& c : contexts_) c->stop();
}

server::server(io_pool& pool, server_options opts, handler h, error_builder eb)
    : impl_(std::make_shared<impl>(pool, std::move(opts), std::move(h), std::move(eb))) {}

server::~server() = default;

std::uint16_t server::start() {
  const auto& o = impl_->opts;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    if (o.tls_cert.empty() || o.tls_key.empty())
      throw std::runtime_error("http.tls_cert and http.tls_key must be set together");
    impl_->tls_ctx = detail::make_server_tls(o.tls_cert, o.tls_key);
    impl_->tls_on = true;
    spdlog::info("TLS certificate: {}", impl_->tls_ctx->summary);
  }
  auto& a = impl_->acceptor;
  auto address = asio::ip::make_address(impl_->opts.host == "localhost" ? "127.0.0.1" : impl_->opts.host);
  tcp::endpoint ep(address, impl_->opts.port);
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  auto port = a.local_endpoint().port();
  asio::co_spawn(a.get_executor(), impl_->accept_loop(), asio::detached);
  return port;
}

void server::shutdown() {
  auto s = impl_;
  if (s->stopping.exchange(true)) return;
  asio::post(s->acceptor.get_executor(), [s] {
    beast::error_code ec;
    s->acceptor.close(ec);
  });
  std::lock_guard lock(s->mutex);
  for (auto& [id, conn] : s->connections) {
    if (auto ws = conn.ws.lock()) {
      ws->close("server shutting down");
      continue;
    }
    auto c = conn.state;
    // On the connection's own thread: an idle connection is closed; a busy one answers its
    // request with "Connection: close" and then ends.
    asio::post(c->ex, [c] {
      if (c->busy || c->closed) return;
      beast::error_code ec;
      if (auto* sock = c->socket()) sock->cancel(ec);
    });
  }
}

const server_counters& server::counters() const { return impl_->counters; }

bool server::tls() const { return impl_->tls_on; }

std::string server::reload_tls(std::string& summary) {
  auto& s = *impl_;
  if (!s.tls_on) return "TLS is off (http.tls_cert and http.tls_key are not set)";
  try {
    auto fresh = detail::make_server_tls(s.opts.tls_cert, s.opts.tls_key);
    summary = fresh->summary;
    {
      std::lock_guard lock(s.tls_mutex);
      s.tls_ctx = std::move(fresh);  // open connections hold their own shared_ptr to the old one
    }
    ++s.counters.tls_reloads;
    return "";
  } catch (const std::exception& e) {
    ++s.counters.tls_reload_failures;
    return e.what();
  }
}

}  // namespace maeul::net
