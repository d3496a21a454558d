// Unit tests for the WebSocket session (src/net/ws_session.hpp) over beast::test::stream: a real
// Beast client on the other end, no sockets, no clock; the io_context is only ever polled.
#include "net/ws_session.hpp"

#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <gtest/gtest.h>

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using test_stream = beast::test::stream;
using session = maeul::net::detail::ws_session<test_stream>;

std::shared_ptr<const std::string> frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

struct ws_session_test : ::testing::Test {
  asio::io_context ioc;  // first: destroyed last, after everything that holds its executor
  maeul::net::server_counters counters;
  maeul::net::ws_options opts;
  std::shared_ptr<maeul::net::ws_handler> handler = std::make_shared<maeul::net::ws_handler>();

  // What the handler saw.
  int opens = 0;
  std::vector<std::string> messages;
  int closes = 0;
  bool closed_too_slow = false;
  std::shared_ptr<maeul::net::ws_peer> opened_peer;
  std::string throw_on;  // on_message throws for this text

  // What the client saw.
  websocket::stream<test_stream> client{ioc};
  websocket::response_type handshake_response;
  beast::flat_buffer client_buffer;
  std::vector<std::string> frames;               // text frames, in order
  std::optional<beast::error_code> client_error;  // set when the client's read loop ended
  std::deque<std::string> outgoing;               // keeps client writes alive

  std::shared_ptr<session> server;

  void SetUp() override {
    handler->on_open = [this](std::shared_ptr<maeul::net::ws_peer> p) {
      ++opens;
      opened_peer = std::move(p);
    };
    handler->on_message = [this](const std::shared_ptr<maeul::net::ws_peer>&, std::string text) {
      messages.push_back(text);
      if (!throw_on.empty() && text == throw_on) throw std::runtime_error("handler bug");
    };
    handler->on_close = [this](const std::shared_ptr<maeul::net::ws_peer>&, bool too_slow) {
      ++closes;
      closed_too_slow = too_slow;
    };
  }

  static void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  }

  // Connects the client to a new session: the client sends its upgrade request, the request is
  // read off the server end as server.cpp does, and the session runs it. With tamper_request the
  // request loses its Sec-WebSocket-Key, so the handshake fails.
  void open(bool tamper_request = false) {
    test_stream server_end(ioc);
    client.next_layer().connect(server_end);
    std::optional<beast::error_code> handshake;
    client.async_handshake(handshake_response, "localhost", "/api/v1/live",
                           [&](beast::error_code ec) { handshake = ec; });
    ioc.poll();
    ASSERT_FALSE(server_end.buffer().size() == 0) << "the client sent no upgrade request";
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(server_end, buffer, req);
    if (tamper_request) req.erase(http::field::sec_websocket_key);
    server = std::make_shared<session>(std::move(server_end), opts, handler, counters);
    asio::co_spawn(ioc, server->run(std::move(req)), rethrow);
    ioc.poll();
    ASSERT_TRUE(handshake.has_value());
    if (tamper_request) return;
    ASSERT_FALSE(*handshake) << handshake->message();
    read_loop();
  }

  void read_loop() {
    client.async_read(client_buffer, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        client_error = ec;
        return;
      }
      EXPECT_TRUE(client.got_text());
      frames.push_back(beast::buffers_to_string(client_buffer.data()));
      client_buffer.consume(client_buffer.size());
      read_loop();
    });
  }

  void client_send(std::string text, bool binary = false) {
    outgoing.push_back(std::move(text));
    client.binary(binary);
    client.async_write(asio::buffer(outgoing.back()), [](beast::error_code ec, std::size_t) {
      EXPECT_FALSE(ec) << ec.message();
    });
    ioc.poll();
  }

  // The close frame the client received; code 0 when it received none.
  websocket::close_reason client_saw_close() const {
    if (client_error != beast::error_code(websocket::error::closed)) return {};
    return client.reason();
  }
};

TEST_F(ws_session_test, the_handshake_is_accepted_and_on_open_runs_once) {
  open();
  EXPECT_EQ(handshake_response.result(), http::status::switching_protocols);
  EXPECT_EQ(handshake_response[http::field::server], "maeul");
  EXPECT_EQ(opens, 1);
  EXPECT_EQ(opened_peer.get(), static_cast<maeul::net::ws_peer*>(server.get()));
  EXPECT_TRUE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 1);
  EXPECT_EQ(closes, 0);
}

TEST_F(ws_session_test, text_messages_reach_on_message_in_order_and_binary_ones_are_ignored) {
  open();
  client_send("hello");
  client_send("\x01\x02", true);
  client_send("world");
  EXPECT_EQ(messages, (std::vector<std::string>{"hello", "world"}));
}

TEST_F(ws_session_test, the_client_closing_runs_on_close_exactly_once) {
  open();
  bool done = false;
  client.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  ioc.poll();
  EXPECT_TRUE(done);
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(closed_too_slow);
  EXPECT_FALSE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 0);
  // Nothing is sent after the close, and on_close does not run again.
  server->send_event(frame("late"));
  server->close("again");
  ioc.poll();
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(closes, 1);
}

TEST_F(ws_session_test, close_sends_going_away_with_the_reason) {
  open();
  server->send_event(frame("e1"));
  server->close("server shutting down");
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"e1"}));
  auto cr = client_saw_close();
  EXPECT_EQ(cr.code, websocket::close_code::going_away);
  EXPECT_EQ(cr.reason, "server shutting down");
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(server->is_open());
}

TEST_F(ws_session_test, events_are_written_in_order) {
  open();
  for (int i = 1; i <= 5; ++i) server->send_event(frame("e" + std::to_string(i)));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}));
  EXPECT_EQ(counters.ws_frames.load(), 5);
  EXPECT_TRUE(server->is_open());
}

TEST_F(ws_session_test, pending_events_go_before_pending_readings) {
  open();
  server->send_observation("a", frame("a1"));  // written at once: nothing else is in flight
  server->send_observation("b", frame("b1"));
  server->send_observation("c", frame("c1"));
  server->send_event(frame("e1"));
  server->send_event(frame("e2"));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"a1", "e1", "e2", "b1", "c1"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 0);
}

TEST_F(ws_session_test, past_soft_queue_readings_are_coalesced_to_the_newest_per_key) {
  opts.soft_queue = 4;
  open();
  // a1 is in flight; a2 b1 a3 c1 fill the queue; b2 coalesces it (a2 goes, a3 is kept).
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"a", "a1"}, {"a", "a2"}, {"b", "b1"}, {"a", "a3"}, {"c", "c1"}, {"b", "b2"}})
    server->send_observation(k, frame(v));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"a1", R"({"type":"notice","code":"coalesced","dropped":1})", "b1",
                                              "a3", "c1", "b2"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 1);
  EXPECT_TRUE(server->is_open());
}

TEST_F(ws_session_test, distinct_keys_past_soft_queue_drop_the_oldest_half) {
  opts.soft_queue = 4;
  open();
  for (int i = 1; i <= 6; ++i) server->send_observation("k" + std::to_string(i), frame("r" + std::to_string(i)));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"r1", R"({"type":"notice","code":"coalesced","dropped":2})", "r4",
                                              "r5", "r6"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 2);
}

TEST_F(ws_session_test, past_max_events_the_client_is_closed_1008_too_slow_and_counted) {
  opts.max_events = 3;
  open();
  // e1 is in flight, e2..e4 fill the queue, e5 finds it full.
  for (int i = 1; i <= 5; ++i) server->send_event(frame("e" + std::to_string(i)));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"e1"}));
  auto cr = client_saw_close();
  EXPECT_EQ(cr.code, websocket::close_code::policy_error);
  EXPECT_EQ(cr.reason, "too slow");
  EXPECT_EQ(counters.ws_slow_closed.load(), 1);
  EXPECT_EQ(closes, 1);
  EXPECT_TRUE(closed_too_slow);
  EXPECT_FALSE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 0);
}

TEST_F(ws_session_test, max_events_pending_is_still_accepted) {
  opts.max_events = 3;
  open();
  for (int i = 1; i <= 4; ++i) server->send_event(frame("e" + std::to_string(i)));  // 1 in flight + 3
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"e1", "e2", "e3", "e4"}));
  EXPECT_EQ(counters.ws_slow_closed.load(), 0);
  EXPECT_TRUE(server->is_open());
}

TEST_F(ws_session_test, a_message_larger_than_max_message_closes_the_session_1009) {
  opts.max_message = 16;
  open();
  client_send(std::string(16, 'x'));
  EXPECT_EQ(messages, (std::vector<std::string>{std::string(16, 'x')}));
  outgoing.push_back(std::string(17, 'y'));
  client.async_write(asio::buffer(outgoing.back()), [](beast::error_code, std::size_t) {});
  ioc.poll();
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_EQ(client_saw_close().code, websocket::close_code::too_big);
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(closed_too_slow);
  EXPECT_FALSE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 0);
}

TEST_F(ws_session_test, a_throwing_message_handler_closes_1011_and_on_close_still_runs_once) {
  throw_on = "boom";
  open();
  client_send("ok");
  client_send("boom");
  EXPECT_EQ(messages, (std::vector<std::string>{"ok", "boom"}));
  auto cr = client_saw_close();
  EXPECT_EQ(cr.code, websocket::close_code::internal_error);
  EXPECT_EQ(cr.reason, "internal error");
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(closed_too_slow);
  EXPECT_FALSE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 0);
}

TEST_F(ws_session_test, a_stalled_client_gets_one_notice_counting_every_coalesced_reading) {
  opts.soft_queue = 3;
  open();
  // a1 is in flight; a2 b1 a3 fill the queue; b2, a4 and b3 each coalesce it once (a2, b1, a3 go).
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"a", "a1"}, {"a", "a2"}, {"b", "b1"}, {"a", "a3"}, {"b", "b2"}, {"a", "a4"}, {"b", "b3"}})
    server->send_observation(k, frame(v));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"a1", R"({"type":"notice","code":"coalesced","dropped":3})", "b2",
                                              "a4", "b3"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 3);
  // Once written, the next coalescing starts a new notice with its own count.
  frames.clear();
  for (int i = 1; i <= 5; ++i) server->send_observation("c", frame("c" + std::to_string(i)));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"c1", R"({"type":"notice","code":"coalesced","dropped":2})", "c4",
                                              "c5"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 5);
}

TEST_F(ws_session_test, no_notice_when_coalescing_drops_nothing) {
  opts.soft_queue = 1;
  open();
  // r1 in flight, r2 queued; r3 finds one distinct reading pending: half of one is none.
  for (int i = 1; i <= 3; ++i) server->send_observation("k" + std::to_string(i), frame("r" + std::to_string(i)));
  ioc.poll();
  EXPECT_EQ(frames, (std::vector<std::string>{"r1", "r2", "r3"}));
  EXPECT_EQ(counters.ws_coalesced.load(), 0);
}

TEST_F(ws_session_test, a_failed_handshake_calls_no_handler_and_is_not_open) {
  open(/*tamper_request=*/true);  // no Sec-WebSocket-Key
  EXPECT_EQ(handshake_response.result(), http::status::bad_request);
  EXPECT_EQ(opens, 0);
  EXPECT_EQ(closes, 0);
  EXPECT_EQ(counters.ws_active.load(), 0);
  EXPECT_FALSE(server->is_open());
}

TEST_F(ws_session_test, a_throwing_open_handler_closes_1011_and_on_close_still_runs_once) {
  handler->on_open = [this](std::shared_ptr<maeul::net::ws_peer>) {
    ++opens;
    throw std::runtime_error("open bug");
  };
  open();
  ioc.poll();
  EXPECT_EQ(opens, 1);
  auto cr = client_saw_close();
  EXPECT_EQ(cr.code, websocket::close_code::internal_error);
  EXPECT_EQ(cr.reason, "internal error");
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(server->is_open());
  EXPECT_EQ(counters.ws_active.load(), 0);
}

}  // namespace
