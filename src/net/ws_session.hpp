// One WebSocket session over any Beast stream layer: the server uses tcp::socket and
// beast::ssl_stream<tcp::socket>, the unit tests beast::test::stream. Internal to src/net (Beast
// inside): only server.cpp and its tests include it.
#pragma once
#include "maeul/net/http.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

namespace maeul::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace detail {

// A WebSocket session: a read loop and a write pump on the stream's single-threaded context.
// Events (alerts, answers) queue in order and are never dropped; readings queue too, but past a
// soft limit the pending ones are coalesced to the latest per key. One write in flight.
template <class NextLayer>
class ws_session final : public ws_peer, public std::enable_shared_from_this<ws_session<NextLayer>> {
 public:
  ws_session(NextLayer next, ws_options opts, std::shared_ptr<ws_handler> h, server_counters& counters)
      : ws_(std::move(next)), opts_(opts), handler_(std::move(h)), counters_(counters) {}

  // Accepts the upgrade `req`, then reads client messages until the connection ends. Calls
  // on_open once after the handshake and on_close exactly once after it (never when the handshake
  // fails; is_open() is then false too). A throwing on_open or on_message closes the client with
  // 1011; on_close still runs.
  asio::awaitable<void> run(http::request<http::string_body> req) {
    auto self = this->shared_from_this();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([hsts = opts_.hsts](websocket::response_type& res) {
      res.set(http::field::server, "maeul");
      if (hsts) res.set(http::field::strict_transport_security, "max-age=31536000");
    }));
    ws_.read_message_max(opts_.max_message);
    auto [ec] = co_await ws_.async_accept(req, asio::as_tuple(asio::use_awaitable));
    req = {};  // the upgrade request's fields are not needed once answered (memory per subscriber)
    if (ec) {
      closed_ = true;
      co_return;
    }
    ++counters_.ws_active;
    bool open_failed = false;
    try {
      if (handler_->on_open) handler_->on_open(self);
    } catch (const std::exception& e) {
      // Same as a failing on_message below: close this client, keep the bookkeeping.
      spdlog::error("live: open handler failed: {}", e.what());
      do_close(websocket::close_code::internal_error, "internal error");
      open_failed = true;
    }
    beast::flat_buffer buffer;
    while (!open_failed) {
      auto [rec, n] = co_await ws_.async_read(buffer, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (rec) break;
      if (ws_.got_text() && handler_->on_message) {
        try {
          handler_->on_message(self, beast::buffers_to_string(buffer.data()));
        } catch (const std::exception& e) {
          // A handler bug must not skip the close bookkeeping below: close this client and say so.
          spdlog::error("live: message handler failed: {}", e.what());
          do_close(websocket::close_code::internal_error, "internal error");
          break;
        }
      }
      buffer.consume(buffer.size());
    }
    closed_ = true;
    --counters_.ws_active;
    if (handler_->on_close) handler_->on_close(self, too_slow_);
  }

  void send_observation(const std::string& key, std::shared_ptr<const std::string> frame) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), key, frame = std::move(frame)]() mutable {
      if (self->closed_) return;
      if (self->obs_.size() >= self->opts_.soft_queue) self->coalesce();
      self->obs_.emplace_back(key, std::move(frame));
      self->pump();
    });
  }

  void send_event(std::shared_ptr<const std::string> frame) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), frame = std::move(frame)]() mutable {
      if (self->closed_) return;
      if (self->events_.size() >= self->opts_.max_events) {
        self->too_slow_ = true;
        ++self->counters_.ws_slow_closed;
        self->do_close(websocket::close_code::policy_error, "too slow");
        return;
      }
      self->events_.push_back(std::move(frame));
      self->pump();
    });
  }

  bool is_open() const override { return !closed_.load(); }

  void close(std::string reason) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)] {
      self->do_close(websocket::close_code::going_away, reason);
    });
  }

 private:
  using pending_reading = std::pair<std::string, std::shared_ptr<const std::string>>;

  // Keeps only the newest pending reading per key, and tells the client how many were dropped.
  void coalesce() {
    std::unordered_map<std::string, std::size_t> last;
    for (std::size_t i = 0; i < obs_.size(); ++i) last[obs_[i].first] = i;
    std::deque<pending_reading> kept;
    for (std::size_t i = 0; i < obs_.size(); ++i)
      if (last[obs_[i].first] == i) kept.push_back(std::move(obs_[i]));
    std::size_t dropped = obs_.size() - kept.size();
    if (dropped == 0 && !kept.empty()) {  // all distinct: drop the oldest half
      dropped = kept.size() / 2;
      kept.erase(kept.begin(), kept.begin() + long(dropped));
    }
    obs_ = std::move(kept);
    if (dropped == 0) return;  // soft_queue <= 1: nothing was dropped, nothing to tell
    counters_.ws_coalesced += std::int64_t(dropped);
    // At most one notice pending: further coalescing adds to its count until it is written, so
    // a stalled client does not grow events_ by one notice per reading.
    if (notice_dropped_ == 0) events_.push_back(nullptr);
    notice_dropped_ += dropped;
  }

  void pump() {
    if (writing_ || closed_) return;
    std::shared_ptr<const std::string> next;
    if (!events_.empty()) {
      next = std::move(events_.front());
      events_.pop_front();
      if (!next) {  // the coalesce notice, with everything dropped since it was queued
        next = std::make_shared<const std::string>("{\"type\":\"notice\",\"code\":\"coalesced\",\"dropped\":" +
                                                   std::to_string(notice_dropped_) + "}");
        notice_dropped_ = 0;
      }
    } else if (!obs_.empty()) {
      next = std::move(obs_.front().second);
      obs_.pop_front();
    } else {
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*next), [self = this->shared_from_this(), next](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) {
        self->closed_ = true;
        return;
      }
      ++self->counters_.ws_frames;
      self->pump();
    });
  }

  void do_close(websocket::close_code code, std::string reason) {
    if (closed_) return;
    closed_ = true;
    events_.clear();
    obs_.clear();
    notice_dropped_ = 0;
    websocket::close_reason cr(code, reason);
    ws_.async_close(cr, [self = this->shared_from_this()](beast::error_code) {});
  }

  websocket::stream<NextLayer> ws_;
  ws_options opts_;
  std::shared_ptr<ws_handler> handler_;
  server_counters& counters_;
  std::deque<std::shared_ptr<const std::string>> events_;  // nullptr: the coalesce notice
  std::deque<pending_reading> obs_;
  bool writing_ = false;
  std::atomic<bool> closed_{false};
  bool too_slow_ = false;
  std::size_t notice_dropped_ = 0;  // readings dropped since the pending notice was queued
};

}  // namespace detail
}  // namespace maeul::net
