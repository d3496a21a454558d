// The HTTP/1.1 listener and sessions (Beast, C++20 coroutines). One coroutine per connection on
// one single-threaded io_context (so no strand is needed); every read has a deadline and a size cap; one write in flight per connection.
#include "maeul/domain/encoding.hpp"
#include "maeul/net/http.hpp"
#include "ws_session.hpp"

#include <atomic>
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <unordered_map>
#include <spdlog/spdlog.h>

namespace maeul::net {
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {


// One connection's socket and its deadline. A watchdog coroutine checks the deadline a few times
// a second and closes a connection that missed it; this costs one timer per connection instead
// of re-arming a timer around every read and write.
struct conn_state {
  explicit conn_state(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool timed_out = false;
  bool closed = false;
  bool busy = false;  // a request is being handled (read and written only on the connection's thread)
};

struct connection {
  std::shared_ptr<conn_state> state;
  std::weak_ptr<ws_peer> ws;  // set once the connection switched to WebSocket
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  io_pool& pool;
  server_options opts;
  handler handle;
  error_builder error;
  tcp::acceptor acceptor;
  server_counters counters;
  std::mutex mutex;
  std::unordered_map<std::uint64_t, connection> connections;
  std::uint64_t next_id = 0;
  std::atomic<bool> stopping{false};

  impl(io_pool& p, server_options o, handler h, error_builder eb)
      : pool(p), opts(std::move(o)), handle(std::move(h)), error(std::move(eb)), acceptor(p.at(0)) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket);
  asio::awaitable<void> watchdog(std::shared_ptr<conn_state> c);
  asio::awaitable<void> write(std::shared_ptr<conn_state> c, response res, unsigned version, bool keep_alive);
  asio::awaitable<void> lingering_close(std::shared_ptr<conn_state> c, beast::flat_buffer& buffer);
  std::chrono::milliseconds tick() const {
    return std::chrono::milliseconds(std::clamp(std::min(opts.read_timeout_ms, opts.idle_timeout_ms) / 4, 10, 1000));
  }
};

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    tcp::socket socket(pool.next());
    auto [ec] = co_await acceptor.async_accept(socket, use_tuple);
    if (stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    ++counters.accepted;
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket)), [](std::exception_ptr ep) {
      if (!ep) return;
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("connection ended by an exception: {}", e.what());
      }
    });
  }
}

asio::awaitable<void> server::impl::watchdog(std::shared_ptr<conn_state> c) {
  asio::steady_timer timer(c->socket.get_executor());
  while (!c->closed) {
    timer.expires_after(tick());
    co_await timer.async_wait(use_tuple);
    if (c->closed) break;
    if (std::chrono::steady_clock::now() >= c->deadline) {
      c->timed_out = true;
      beast::error_code ec;
      c->socket.cancel(ec);
      c->socket.shutdown(tcp::socket::shutdown_both, ec);
      break;
    }
  }
}

asio::awaitable<void> server::impl::write(std::shared_ptr<conn_state> c, response res, unsigned version,
                                         bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
  out.set(http::field::server, "maeul");
  if (!res.content_type.empty()) out.set(http::field::content_type, res.content_type);
  for (const auto& [k, v] : res.headers) out.insert(k, v);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  c->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.read_timeout_ms);
  auto [ec, n] = co_await http::async_write(c->socket, out, use_tuple);
  (void)n;
  if (ec) spdlog::debug("write failed: {}", ec.message());
}

// After an early error answer, read and discard what the client is still sending (bounded in
// time and size) so that closing does not reset the connection before the answer is read.
asio::awaitable<void> server::impl::lingering_close(std::shared_ptr<conn_state> c, beast::flat_buffer& buffer) {
  beast::error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_send, ec);
  std::size_t drained = 0;
  c->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (drained < (std::size_t(16) << 20)) {
    buffer.consume(buffer.size());
    auto [rec, n] = co_await c->socket.async_read_some(buffer.prepare(65536), use_tuple);
    if (rec) break;
    drained += n;
  }
}

asio::awaitable<void> server::impl::session(tcp::socket socket) {
  auto self = shared_from_this();
  auto c = std::make_shared<conn_state>(std::move(socket));
  beast::flat_buffer buffer;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex);
    id = next_id++;
    connections[id] = connection{c};
  }
  ++counters.active;
  struct unregister {
    impl& s;
    std::uint64_t id;
    std::shared_ptr<conn_state> c;
    ~unregister() {
      c->closed = true;
      beast::error_code ec;
      c->socket.close(ec);
      std::lock_guard lock(s.mutex);
      s.connections.erase(id);
      --s.counters.active;
    }
  } guard{*this, id, c};
  asio::co_spawn(c->socket.get_executor(), watchdog(c), asio::detached);

  std::string remote;
  {
    beast::error_code ec;
    auto ep = c->socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  auto ms = [](int v) { return std::chrono::milliseconds(v); };

  for (;;) {
    if (stopping) break;
    // Between requests: wait for the first byte of the next one under the idle deadline.
    if (buffer.size() == 0) {
      c->deadline = std::chrono::steady_clock::now() + ms(opts.idle_timeout_ms);
      auto [ec, n] = co_await c->socket.async_read_some(buffer.prepare(8192), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    // The whole request must then arrive within the read deadline.
    http::request_parser<http::string_body> parser;
    parser.body_limit(opts.body_limit);
    parser.header_limit(opts.header_limit);
    c->deadline = std::chrono::steady_clock::now() + ms(opts.read_timeout_ms);
    auto [ec, n] = co_await http::async_read(c->socket, buffer, parser, use_tuple);
    (void)n;
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
      co_await write(c, error(status, detail), 11, false);
      co_await lingering_close(c, buffer);
      co_return;
    }
    c->busy = true;
    c->deadline = std::chrono::steady_clock::time_point::max();  // the handler has its own limits
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
    req.websocket_upgrade = websocket::is_upgrade(msg);
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();
    req.body = std::move(msg.body());
    bool upgrade_asked = req.websocket_upgrade;
    response res = co_await handle(std::move(req));
    if (upgrade_asked && res.upgrade && !stopping) {
      auto ws = std::make_shared<detail::ws_session<tcp::socket>>(std::move(c->socket), opts.ws, res.upgrade, counters);
      {
        std::lock_guard lock(mutex);
        connections[id].ws = ws;
      }
      co_await ws->run(parser.release());
      co_return;
    }
    bool keep = keep_alive && !stopping;
    co_await write(c, std::move(res), version, keep);
    c->busy = false;
    if (!keep || c->timed_out) break;
  }
  beast::error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_send, ec);
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
    asio::post(c->socket.get_executor(), [c] {
      if (c->busy || c->closed) return;
      beast::error_code ec;
      c->socket.cancel(ec);
    });
  }
}

const server_counters& server::counters() const { return impl_->counters; }

}  // namespace maeul::net
