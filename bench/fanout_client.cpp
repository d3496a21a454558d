// Fan-out load client of scripts/bench (the `fanout` case): N subscribers in ONE process on ONE
// thread (Asio over epoll), so that the client is never what limits the figure. Two systems, the
// same kind of client for both:
//   --system maeuld     N Beast WebSocket clients of /api/v1/live (?access_token=, as the dashboard's
//                       fallback), each subscribed to one sensor; a publisher POSTs one reading of
//                       that sensor every --interval ms over 4 keep-alive connections (reading s is
//                       due at start + s * interval; 4 POSTs in flight at most, as the Node client).
//                       Latency: from the POST's 200 (the commit) to each frame's arrival; a frame
//                       that arrives before its 200 counts as 0 and is counted in "before_commit".
//   --system mosquitto  N libmosquitto clients (MQTT 3.1.1, QoS 0) subscribed to one topic, driven
//                       by the same thread (their sockets polled beside the io_context); one publisher
//                       sends the same payload on the same schedule. Latency: publish to arrival.
// Every frame's value is its reading's sequence number. After the last reading it waits for every
// frame or 3 s, then prints one JSON line: frames delivered and per second, latency p50/p99/max,
// and the client's own CPU time (getrusage) against wall time ("client_cpu": 0.2 means it was busy
// a fifth of the time: it had CPU to spare). With --server-pid, the server's VmRSS before the
// subscribers and with them all subscribed, and the difference per subscriber. Not a test.
#include <mosquitto.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct options {
  std::string system = "maeuld";
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  int subscribers = 1000;
  double seconds = 10;
  int interval_ms = 20;
  std::string sensor = "bench-0000";
  std::string topic = "maeul/bench";
  long server_pid = 0;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// VmRSS of a process in kB, 0 when unknown.
long rss_kb(long pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

std::string iso_ms(std::int64_t ms) {
  time_t t = time_t(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
}

// The integer after "value": in a frame, or -1.
long value_of(std::string_view s) {
  auto p = s.find("\"value\":");
  if (p == std::string_view::npos) return -1;
  return std::strtol(s.data() + p + 8, nullptr, 10);
}

// Shared by every subscriber: arrivals (sequence, time) in order, the due/commit time per sequence.
struct run_state {
  options opt;
  asio::io_context io{1};
  int ready = 0;          // subscribers subscribed
  int failed = 0;         // subscribers that could not connect or subscribe
  long long received = 0; // frames of the benchmark's readings
  long long coalesced_notices = 0;
  std::vector<std::pair<std::int32_t, std::int64_t>> arrivals;
  std::vector<std::int64_t> committed;  // per sequence: commit (maeuld) or publish (mosquitto) time, 0 until known
  long long post_errors = 0;
  int posts_inflight = 0;
  bool publishing_done = false;

  void arrived(long seq) {
    ++received;
    if (seq > 0) arrivals.emplace_back(std::int32_t(seq), now_ns());
  }
};

// ---- maeuld: WebSocket subscribers and an HTTP publisher -----------------------------------

asio::awaitable<void> ws_subscriber(run_state& st, int index) {
  (void)index;
  websocket::stream<beast::tcp_stream> ws(st.io);
  bool ok = false;
  try {
    tcp::endpoint ep(asio::ip::make_address(st.opt.host), std::uint16_t(st.opt.port));
    auto connect = beast::get_lowest_layer(ws).async_connect(ep, asio::use_awaitable);
    co_await std::move(connect);
    beast::get_lowest_layer(ws).expires_never();
    std::string host = st.opt.host + ":" + std::to_string(st.opt.port);
    auto hs = ws.async_handshake(host, "/api/v1/live?access_token=" + st.opt.token, asio::use_awaitable);
    co_await std::move(hs);
    std::string sub = "{\"type\":\"subscribe\",\"sensors\":[\"" + st.opt.sensor + "\"]}";
    ws.text(true);
    auto w = ws.async_write(asio::buffer(sub), asio::use_awaitable);
    co_await std::move(w);
    ok = true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "subscriber: %s\n", e.what());
  }
  if (!ok) {
    ++st.failed;
    co_return;
  }
  beast::flat_buffer buf;
  bool subscribed = false;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buf, tuple_awaitable);
    if (ec) break;
    std::string_view s(static_cast<const char*>(buf.data().data()), buf.size());
    if (s.rfind("{\"type\":\"observation\"", 0) == 0) {
      st.arrived(value_of(s));
    } else if (s.rfind("{\"type\":\"subscribed\"", 0) == 0) {
      if (!subscribed) ++st.ready;
      subscribed = true;
    } else if (s.rfind("{\"type\":\"notice\"", 0) == 0) {
      ++st.coalesced_notices;
    }
    buf.consume(buf.size());
  }
  if (!subscribed) ++st.failed;
}

// POSTs readings k, k + lanes, k + 2 * lanes ... each at its due time (or at once when late).
asio::awaitable<void> http_publisher(run_state& st, int lane, int lanes, std::int64_t start_ns, int count, std::int64_t t0_ms) {
  beast::tcp_stream stream(st.io);
  tcp::endpoint ep(asio::ip::make_address(st.opt.host), std::uint16_t(st.opt.port));
  auto [cec] = co_await stream.async_connect(ep, tuple_awaitable);
  if (cec) {
    std::fprintf(stderr, "publisher: %s\n", cec.message().c_str());
    st.post_errors += count / lanes;
    co_return;
  }
  stream.expires_never();
  asio::steady_timer timer(st.io);
  beast::flat_buffer buf;
  for (int s = lane + 1; s <= count; s += lanes) {
    auto due = start_ns + std::int64_t(s - 1) * st.opt.interval_ms * 1000000LL;
    timer.expires_at(clock_type::time_point(std::chrono::nanoseconds(due)));
    auto [tec] = co_await timer.async_wait(tuple_awaitable);
    (void)tec;
    http::request<http::string_body> req{http::verb::post, "/api/v1/observations", 11};
    req.set(http::field::host, st.opt.host);
    req.set(http::field::authorization, "Bearer " + st.opt.token);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = "{\"observations\":[{\"sensor\":\"" + st.opt.sensor + "\",\"metric\":\"v\",\"ts\":\"" +
                 iso_ms(t0_ms + std::int64_t(s) * 10) + "\",\"value\":" + std::to_string(s) + "}]}";
    req.prepare_payload();
    ++st.posts_inflight;
    auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
    (void)wn;
    http::response<http::string_body> res;
    beast::error_code rec;
    if (!wec) {
      auto [e2, rn] = co_await http::async_read(stream, buf, res, tuple_awaitable);
      (void)rn;
      rec = e2;
    }
    --st.posts_inflight;
    if (wec || rec || res.result_int() != 200) {
      ++st.post_errors;
      if (wec || rec) co_return;
      continue;
    }
    st.committed[std::size_t(s)] = now_ns();
  }
}

// ---- mosquitto: libmosquitto clients driven by the same loop ---------------------------------

struct mqtt_client {
  run_state* st = nullptr;
  mosquitto* m = nullptr;
  bool subscribed = false, dead = false;
};

void mqtt_fail(mqtt_client& c) {
  if (c.dead) return;
  c.dead = true;
  if (!c.subscribed) ++c.st->failed;
}

// Reads everything the socket holds (libmosquitto reads about one packet a call; a partial packet
// stays in its buffer), then writes what is queued.
void mqtt_service(mqtt_client& c, bool readable) {
  if (c.dead) return;
  if (readable) {
    int avail = 0;
    do {
      if (mosquitto_loop_read(c.m, 1) != MOSQ_ERR_SUCCESS) return mqtt_fail(c);
    } while (::ioctl(mosquitto_socket(c.m), FIONREAD, &avail) == 0 && avail > 0);
  }
  if (mosquitto_want_write(c.m) && mosquitto_loop_write(c.m, 64) != MOSQ_ERR_SUCCESS) mqtt_fail(c);
}

// Flushes what a call queued (publish, subscribe) without waiting for the loop.
void mqtt_kick(mqtt_client& c) { mqtt_service(c, false); }

bool mqtt_open(run_state& st, mqtt_client& c, bool subscriber) {
  c.st = &st;
  c.m = mosquitto_new(nullptr, true, &c);
  if (!c.m) return false;
  if (subscriber) {
    mosquitto_connect_callback_set(c.m, [](mosquitto* m, void* ud, int rc) {
      auto& self = *static_cast<mqtt_client*>(ud);
      if (rc != 0) return mqtt_fail(self);
      mosquitto_subscribe(m, nullptr, self.st->opt.topic.c_str(), 0);
    });
    mosquitto_subscribe_callback_set(c.m, [](mosquitto*, void* ud, int, int, const int*) {
      auto& self = *static_cast<mqtt_client*>(ud);
      if (!self.subscribed) ++self.st->ready;
      self.subscribed = true;
    });
    mosquitto_message_callback_set(c.m, [](mosquitto*, void* ud, const mosquitto_message* msg) {
      auto& self = *static_cast<mqtt_client*>(ud);
      self.st->arrived(value_of(std::string_view(static_cast<const char*>(msg->payload), std::size_t(msg->payloadlen))));
    });
  } else {
    mosquitto_connect_callback_set(c.m, [](mosquitto*, void* ud, int) { static_cast<mqtt_client*>(ud)->subscribed = true; });
  }
  if (mosquitto_connect(c.m, st.opt.host.c_str(), st.opt.port, 60) != MOSQ_ERR_SUCCESS) return false;
  mqtt_kick(c);
  return true;
}

// ---- the run -----------------------------------------------------------------------------

// Polls `done` every ms until it holds or `deadline_ns` passes.
template <class Pred>
asio::awaitable<bool> wait_until(run_state& st, Pred done, std::int64_t deadline_ns) {
  asio::steady_timer t(st.io);
  while (!done()) {
    if (now_ns() > deadline_ns) co_return false;
    t.expires_after(std::chrono::milliseconds(1));
    auto [ec] = co_await t.async_wait(tuple_awaitable);
    (void)ec;
  }
  co_return true;
}

double pct(const std::vector<double>& xs, double p) {
  if (xs.empty()) return -1;
  return xs[std::min(xs.size() - 1, std::size_t(p * double(xs.size())))];
}

asio::awaitable<void> run(run_state& st, std::vector<std::unique_ptr<mqtt_client>>& mq, int& exit_code) {
  const auto& o = st.opt;
  bool mqtt = o.system == "mosquitto";
  long rss_before = rss_kb(o.server_pid);
  // Open the subscribers, at most 64 handshakes at a time.
  auto open_deadline = now_ns() + 60'000'000'000LL;
  for (int i = 0; i < o.subscribers; ++i) {
    auto room = [&st, i] { return i - st.ready - st.failed < 64; };
    bool ok = co_await wait_until(st, room, open_deadline);
    if (!ok) break;
    if (mqtt) {
      mq.push_back(std::make_unique<mqtt_client>());
      if (!mqtt_open(st, *mq.back(), true)) mqtt_fail(*mq.back());
    } else {
      asio::co_spawn(st.io, ws_subscriber(st, i), asio::detached);
    }
  }
  auto all_in = [&st] { return st.ready + st.failed >= st.opt.subscribers; };
  co_await wait_until(st, all_in, open_deadline);
  if (st.failed > 0 || st.ready < o.subscribers) {
    std::fprintf(stderr, "only %d of %d subscribers subscribed (%d failed)\n", st.ready, o.subscribers, st.failed);
    exit_code = 1;
    st.io.stop();
    co_return;
  }
  long rss_after = rss_kb(o.server_pid);

  int count = int(o.seconds * 1000 / o.interval_ms);
  st.committed.assign(std::size_t(count) + 1, 0);
  st.arrivals.reserve(std::size_t(count) * std::size_t(o.subscribers));
  auto t0_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() - 60'000;
  double cpu0 = cpu_seconds();
  auto start = now_ns();
  if (mqtt) {
    mq.push_back(std::make_unique<mqtt_client>());
    auto& pub = *mq.back();
    if (!mqtt_open(st, pub, false)) {
      std::fprintf(stderr, "publisher could not connect\n");
      exit_code = 1;
      st.io.stop();
      co_return;
    }
    asio::steady_timer timer(st.io);
    for (int s = 1; s <= count; ++s) {
      timer.expires_at(clock_type::time_point(std::chrono::nanoseconds(start + std::int64_t(s - 1) * o.interval_ms * 1000000LL)));
      auto [ec] = co_await timer.async_wait(tuple_awaitable);
      (void)ec;
      std::string payload = "{\"type\":\"observation\",\"sensor\":\"" + o.sensor + "\",\"metric\":\"v\",\"ts\":\"" +
                            iso_ms(t0_ms + std::int64_t(s) * 10) + "\",\"value\":" + std::to_string(s) +
                            ",\"zone\":null,\"domain\":\"environment\"}";
      st.committed[std::size_t(s)] = now_ns();
      mosquitto_publish(pub.m, nullptr, o.topic.c_str(), int(payload.size()), payload.data(), 0, false);
      mqtt_kick(pub);
    }
  } else {
    constexpr int lanes = 4;
    int lanes_done = 0;
    for (int k = 0; k < lanes; ++k)
      asio::co_spawn(st.io, http_publisher(st, k, lanes, start, count, t0_ms), [&lanes_done](std::exception_ptr) { ++lanes_done; });
    auto published = [&lanes_done] { return lanes_done == lanes; };
    co_await wait_until(st, published, start + std::int64_t(o.seconds * 4e9) + 30'000'000'000LL);
  }
  // Drain: every frame, or 3 s.
  long long expected = (long long)count * o.subscribers;
  auto everything = [&st, expected] { return st.received >= expected; };
  co_await wait_until(st, everything, now_ns() + 3'000'000'000LL);
  double elapsed = double(now_ns() - start) / 1e9;
  double cpu = cpu_seconds() - cpu0;

  std::vector<double> lat;
  lat.reserve(st.arrivals.size());
  long long before_commit = 0, unknown = 0;
  for (auto [seq, t] : st.arrivals) {
    auto c = st.committed[std::size_t(seq)];
    if (c == 0) {
      ++unknown;  // its POST failed
      continue;
    }
    if (t < c) ++before_commit;
    lat.push_back(t < c ? 0.0 : double(t - c) / 1e6);
  }
  std::sort(lat.begin(), lat.end());
  std::printf(
      "{\"system\":\"%s\",\"subscribers\":%d,\"readings\":%d,\"expected\":%lld,\"received\":%lld,\"delivered_per_s\":%.0f,"
      "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"before_commit\":%lld,\"uncommitted\":%lld,\"post_errors\":%lld,"
      "\"coalesced_notices\":%lld,\"client_cpu_s\":%.2f,\"wall_s\":%.2f,\"client_cpu\":%.2f,"
      "\"server_rss_kb_before\":%ld,\"server_rss_kb_subscribed\":%ld,\"server_bytes_per_subscriber\":%.0f}\n",
      o.system.c_str(), o.subscribers, count, expected, st.received, double(st.received) / elapsed, pct(lat, 0.5),
      pct(lat, 0.99), lat.empty() ? -1.0 : lat.back(), before_commit, unknown, st.post_errors, st.coalesced_notices, cpu,
      elapsed, cpu / elapsed, rss_before, rss_after,
      o.subscribers ? double(rss_after - rss_before) * 1024.0 / o.subscribers : 0.0);
  std::fflush(stdout);
  st.io.stop();
}

}  // namespace

int main(int argc, char** argv) {
  run_state st;
  auto& o = st.opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--system") o.system = v;
    else if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--token") o.token = v;
    else if (k == "--subscribers") o.subscribers = std::atoi(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--interval") o.interval_ms = std::max(1, std::atoi(v.c_str()));
    else if (k == "--sensor") o.sensor = v;
    else if (k == "--server-pid") o.server_pid = std::atol(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port <= 0 || (o.system != "maeuld" && o.system != "mosquitto") || (o.system == "maeuld" && o.token.empty())) {
    std::fprintf(stderr, "usage: %s --system maeuld|mosquitto --port P [--token T] [--subscribers N] [--seconds S] "
                 "[--interval MS] [--sensor ID] [--server-pid PID]\n", argv[0]);
    return 2;
  }
  mosquitto_lib_init();
  std::vector<std::unique_ptr<mqtt_client>> mq;
  int exit_code = 0;
  asio::co_spawn(st.io, run(st, mq, exit_code), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "fanout client: %s\n", x.what());
      }
      exit_code = 1;
      st.io.stop();
    }
  });
  // The MQTT clients' sockets are polled level-triggered beside the io_context (libmosquitto
  // keeps its own buffers, which do not fit Asio's edge-triggered epoll); the WebSocket side
  // runs on the io_context alone.
  std::vector<pollfd> fds;
  auto last_misc = clock_type::now();
  while (!st.io.stopped()) {
    if (mq.empty()) {
      st.io.run_one();
      continue;
    }
    st.io.poll();
    fds.resize(mq.size());
    for (std::size_t i = 0; i < mq.size(); ++i) {
      auto& c = *mq[i];
      fds[i].fd = c.dead ? -1 : mosquitto_socket(c.m);
      fds[i].events = short(POLLIN | (mosquitto_want_write(c.m) ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    if (::poll(fds.data(), nfds_t(fds.size()), 1) > 0)
      for (std::size_t i = 0; i < mq.size(); ++i)
        if (fds[i].revents) mqtt_service(*mq[i], fds[i].revents & (POLLIN | POLLHUP | POLLERR));
    if (clock_type::now() - last_misc > std::chrono::seconds(1)) {
      last_misc = clock_type::now();
      for (auto& c : mq)
        if (!c->dead) mosquitto_loop_misc(c->m);
    }
  }
  for (auto& c : mq) mosquitto_destroy(c->m);
  mosquitto_lib_cleanup();
  std::fflush(stdout);
  std::_Exit(exit_code);  // the subscribers' coroutines are still suspended: no orderly teardown needed
}
