// The MQTT door: libmosquitto driven by Asio on one strand (client.hpp).
//
// libmosquitto's socket is watched through a dup() of it in a posix::stream_descriptor: Asio
// registers, waits on and finally closes its own descriptor, never libmosquitto's. (Wrapping
// libmosquitto's fd and release()-ing it would race: once libmosquitto closes the fd inside
// loop_read, another thread may get the same number for a new socket before we release, and the
// release would deregister that socket from the reactor.)
#include "maeul/mqtt/client.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include "maeul/ingest/ingest.hpp"
#include "maeul/mqtt/payload.hpp"
#include "maeul/services/services.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/dead_letters.hpp"

namespace maeul::mqtt {
namespace {

namespace asio = boost::asio;

std::string why(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::string("system error: ") + std::strerror(errno);
  return mosquitto_strerror(rc);
}

// Waits `ms` on the current coroutine's executor.
asio::awaitable<void> pause_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

client::client(asio::any_io_executor ex, options opts, services::observation_service& obs,
               storage::dead_letter_store& dead, std::function<std::int64_t()> now_us)
    : strand_(asio::make_strand(ex)),
      opts_(std::move(opts)),
      obs_(obs),
      dead_(dead),
      now_us_(std::move(now_us)),
      misc_timer_(strand_),
      reconnect_timer_(strand_),
      backoff_ms_(opts_.reconnect_min_ms) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  // clean_session = false: the broker keeps our subscriptions and queues QoS 1 messages while we are away.
  mosq_ = mosquitto_new(opts_.client_id.c_str(), false, this);
  if (!mosq_) throw std::runtime_error("mqtt: cannot create a client: " + why(MOSQ_ERR_ERRNO));
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!opts_.username.empty()) {
    int rc = mosquitto_username_pw_set(mosq_, opts_.username.c_str(),
                                       opts_.password.empty() ? nullptr : opts_.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error("mqtt: username/password refused: " + why(rc));
  }
  if (opts_.tls) {
    int rc = mosquitto_tls_set(mosq_, opts_.ca_file.empty() ? nullptr : opts_.ca_file.c_str(),
                               opts_.ca_file.empty() ? "/etc/ssl/certs" : nullptr, nullptr, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error("mqtt: TLS set-up failed: " + why(rc));
  }
  mosquitto_connect_with_flags_callback_set(mosq_, &client::on_connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &client::on_disconnect_cb);
  mosquitto_message_callback_set(mosq_, &client::on_message_cb);
  mosquitto_subscribe_callback_set(mosq_, &client::on_subscribe_cb);
}

client::~client() {
  sock_.reset();
  if (mosq_) mosquitto_destroy(mosq_);
}

void client::start() {
  asio::post(strand_, [this] {
    connect_first();
    schedule_misc();
  });
}

void client::connect_first() {
  spdlog::info("mqtt: connecting to {}://{}:{} as client \"{}\"", opts_.tls ? "mqtts" : "mqtt", opts_.host,
               opts_.port, opts_.client_id);
  int rc = mosquitto_connect_async(mosq_, opts_.host.c_str(), opts_.port, opts_.keepalive_s);
  after_call(rc);
}

// After any libmosquitto call that may touch the socket: a failure or a closed socket is a lost
// connection; otherwise watch the (possibly new) socket.
void client::after_call(int rc) {
  if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) return lost(rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_NO_CONN : rc);
  watch();
}

void client::watch() {
  int fd = mosquitto_socket(mosq_);
  if (!sock_ || fd != sock_fd_) {
    ++gen_;
    reading_ = writing_ = false;
    sock_.reset();
    int d = ::dup(fd);
    if (d < 0) return lost(MOSQ_ERR_ERRNO);
    sock_.emplace(strand_, d);
    sock_fd_ = fd;
  }
  arm();
}

void client::arm() {
  if (!sock_) return;
  auto g = gen_;
  if (!reading_ && !stopping_) {
    if (in_flight_ < opts_.max_in_flight) {
      paused_ = false;
      reading_ = true;
      sock_->async_wait(asio::posix::stream_descriptor::wait_read,
                        asio::bind_executor(strand_, [this, g](boost::system::error_code ec) {
                          if (g != gen_) return;
                          reading_ = false;
                          if (ec) return;
                          // One packet per loop_read when nothing is queued: keep reading while
                          // bytes wait in the socket, up to the in-flight bound.
                          int rc = MOSQ_ERR_SUCCESS;
                          for (int n = 0; n < 256; ++n) {
                            rc = mosquitto_loop_read(mosq_, 1);
                            if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) break;
                            if (in_flight_ >= opts_.max_in_flight) break;
                            int avail = 0;
                            if (::ioctl(sock_->native_handle(), FIONREAD, &avail) != 0 || avail <= 0) break;
                          }
                          after_call(rc);
                        }));
    } else if (!paused_) {
      paused_ = true;  // back-pressure: the broker holds the rest until commits free a slot
      read_pauses_.fetch_add(1);
    }
  }
  if (!writing_ && mosquitto_want_write(mosq_)) {
    writing_ = true;
    sock_->async_wait(asio::posix::stream_descriptor::wait_write,
                      asio::bind_executor(strand_, [this, g](boost::system::error_code ec) {
                        if (g != gen_) return;
                        writing_ = false;
                        if (ec) return;
                        after_call(mosquitto_loop_write(mosq_, 1));
                      }));
  }
}

void client::lost(int rc) {
  ++gen_;
  reading_ = writing_ = false;
  sock_.reset();
  sock_fd_ = -1;
  connected_ = false;
  if (!alarm_ && !stopping_) {
    alarm_ = true;
    spdlog::warn("mqtt: {} {}:{} ({}); readings published meanwhile wait at the broker; retrying with back-off",
                 ever_connected_ ? "lost the connection to the broker" : "cannot connect to the broker", opts_.host,
                 opts_.port, why(rc));
  }
  if (stopping_ || reconnect_pending_) return;
  reconnect_pending_ = true;
  reconnect_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
  backoff_ms_ = std::min(backoff_ms_ * 2, opts_.reconnect_max_ms);
  reconnect_timer_.async_wait([this](boost::system::error_code ec) {
    reconnect_pending_ = false;
    if (ec || stopping_) return;
    reconnects_.fetch_add(1);
    after_call(mosquitto_reconnect_async(mosq_));
  });
}

// Keep-alive pings and retries of unacknowledged packets, once a second.
void client::schedule_misc() {
  misc_timer_.expires_after(std::chrono::seconds(1));
  misc_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    if (sock_) after_call(mosquitto_loop_misc(mosq_));
    schedule_misc();
  });
}

void client::on_connect_cb(::mosquitto*, void* self, int rc, int flags) {
  auto* c = static_cast<client*>(self);
  if (rc != 0) {
    // The broker closes the connection; the next read sees it and the back-off applies.
    if (!c->alarm_) {
      c->alarm_ = true;
      spdlog::warn("mqtt: the broker refused the connection: {}; retrying with back-off", mosquitto_connack_string(rc));
    }
    return;
  }
  c->ever_connected_ = true;
  c->backoff_ms_ = c->opts_.reconnect_min_ms;
  // Resubscribe on every connect: a broker that lost its session (restart without persistence)
  // would otherwise send nothing.
  char* subs[] = {const_cast<char*>(sensor_filter), const_cast<char*>(metric_filter), const_cast<char*>(avl_filter)};
  int src = mosquitto_subscribe_multiple(c->mosq_, nullptr, c->avl_ ? 3 : 2, subs, 1, 0, nullptr);
  if (src != MOSQ_ERR_SUCCESS) spdlog::warn("mqtt: subscribe failed: {}", why(src));
  if (c->alarm_) {
    c->alarm_ = false;
    spdlog::info("mqtt: connected to the broker {}:{} again (session {})", c->opts_.host, c->opts_.port,
                 (flags & 1) ? "kept" : "new");
  } else {
    spdlog::info("mqtt: connected to the broker {}:{} (session {})", c->opts_.host, c->opts_.port,
                 (flags & 1) ? "kept" : "new");
  }
}

// maeul_mqtt_connected turns 1 at the SUBACK: from then on a published reading reaches maeuld.
void client::on_subscribe_cb(::mosquitto*, void* self, int, int count, const int* granted) {
  auto* c = static_cast<client*>(self);
  for (int i = 0; i < count; ++i)
    if (granted[i] > 2) spdlog::warn("mqtt: the broker refused a subscription (check its ACL for maeuld's user)");
  c->connected_ = true;
}

void client::on_disconnect_cb(::mosquitto*, void* self, int) {
  static_cast<client*>(self)->connected_ = false;  // lost() follows from the call that noticed it
}

void client::on_message_cb(::mosquitto*, void* self, const ::mosquitto_message* m) {
  auto* c = static_cast<client*>(self);
  message msg{m->topic ? m->topic : "",
              std::string(static_cast<const char*>(m->payload), std::size_t(std::max(0, m->payloadlen))),
              c->now_us_()};
  ++c->in_flight_;
  c->in_flight_gauge_.store(c->in_flight_);
  // Not awaited: the next message is read while this one waits for its group commit. Readings
  // go to a worker executor at once (parsing is the costly part; the strand goes on reading);
  // vehicle positions stay on the strand.
  bool avl = c->avl_ && msg.topic.rfind(avl_prefix, 0) == 0;
  if (c->workers_ && !avl)
    asio::co_spawn(c->workers_(), c->handle(std::move(msg)), asio::detached);
  else
    asio::co_spawn(c->strand_, c->handle(std::move(msg)), asio::detached);
}

asio::awaitable<void> client::handle_avl(message m) {
  std::string vehicle = m.topic.substr(std::string_view(avl_prefix).size());
  std::string error;
  bool failed = false;
  for (int wait_ms = 100;; wait_ms = std::min(wait_ms * 2, 5000)) {
    try {
      auto call = avl_(vehicle, m.payload, m.received_us);
      error = co_await std::move(call);
      break;
    } catch (const storage::unavailable&) {
      // held, as readings are: the broker already has our PUBACK
    } catch (const std::exception& e) {
      spdlog::error("mqtt: storing positions failed for a message on {}: {}", m.topic, e.what());
      failed = true;
      break;
    }
    co_await pause_ms(wait_ms);
  }
  if (failed) error = "internal error while storing the positions";
  if (error.empty()) stored_.fetch_add(1);
  if (!error.empty()) {
    auto keep = keep_dead(std::move(m), std::move(error), true);
    co_await std::move(keep);
  }
  finished();
}

asio::awaitable<void> client::handle(message m) {
  if (avl_ && m.topic.rfind(avl_prefix, 0) == 0) {
    auto avl = handle_avl(std::move(m));
    co_await std::move(avl);
    co_return;
  }
  auto parsed = parse_message(m.topic, m.payload, m.received_us);
  if (!parsed.error.empty()) {
    auto keep = keep_dead(std::move(m), std::move(parsed.error), true);
    co_await std::move(keep);
    finished();
    co_return;
  }
  // A device principal for exactly the topic's sensor: the rules a device token has over HTTP.
  storage::principal who{"mqtt", "mqtt:" + parsed.sensor, "device", {parsed.sensor}};
  ingest::result res;
  bool failed = false;
  std::string failure;
  for (int wait_ms = 100;; wait_ms = std::min(wait_ms * 2, 5000)) {
    try {
      auto call = obs_.ingest(who, parsed.batch);
      res = co_await std::move(call);
      break;
    } catch (const storage::unavailable&) {
      // The database is away or the writer's queue is full: the broker already has our PUBACK,
      // so hold the message (and its in-flight slot) and try again.
    } catch (const std::exception& e) {
      spdlog::error("mqtt: ingest failed for a message on {}: {}", m.topic, e.what());
      failed = true;
      failure = "internal error while storing the readings";
      break;
    }
    co_await pause_ms(wait_ms);
  }
  if (parsed.single) strip_single(res.rejected);
  // The error text is built before any co_await (g++ 12: no temporaries or ?: in a co_await expression).
  std::string error;
  bool count = true;
  if (failed) {
    error = failure;
  } else if (res.accepted + res.duplicates == 0) {
    domain::parsed_batch b;
    b.rejected = res.rejected;
    if (res.total == 0) error = "the message holds no readings";
    else error = "no reading could be accepted: " + describe_rejections(b);
  } else {
    stored_.fetch_add(1);
    if (!res.rejected.empty()) {
      // The message was stored; a dead letter keeps the readings that were refused.
      partial_.fetch_add(1);
      domain::parsed_batch b;
      b.rejected = res.rejected;
      error = std::to_string(res.rejected.size()) + " of " + std::to_string(res.total) +
              " readings refused (the others were stored): " + describe_rejections(b);
      count = false;
    }
  }
  if (!error.empty()) {
    auto keep = keep_dead(std::move(m), std::move(error), count);
    co_await std::move(keep);
  }
  finished();
}

asio::awaitable<void> client::keep_dead(message m, std::string error, bool count) {
  if (count) dead_count_.fetch_add(1);
  storage::dead_letter d{std::move(m.topic), std::move(m.payload), std::move(error), m.received_us};
  for (int wait_ms = 100;; wait_ms = std::min(wait_ms * 2, 5000)) {
    try {
      auto add = dead_.add(d);
      co_await std::move(add);
      co_return;
    } catch (const storage::unavailable&) {
    } catch (const std::exception& e) {
      spdlog::error("mqtt: cannot keep a dead letter from {}: {}", d.topic, e.what());
      co_return;
    }
    co_await pause_ms(wait_ms);
  }
}

void client::finished() {
  asio::post(strand_, [this] { finished_on_strand(); });
}

void client::finished_on_strand() {
  --in_flight_;
  in_flight_gauge_.store(in_flight_);
  if (!reading_) arm();
}

asio::awaitable<void> client::stop(int grace_ms) {
  co_await asio::post(strand_, asio::use_awaitable);
  stopping_ = true;
  misc_timer_.cancel();
  reconnect_timer_.cancel();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    // PUBACKs and pings keep flowing while the last commits finish.
    if (sock_) {
      int rc = mosquitto_loop_misc(mosq_);
      if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq_)) mosquitto_loop_write(mosq_, 1);
    }
    co_await pause_ms(20);
  }
  if (in_flight_ > 0)
    spdlog::warn("mqtt: {} message(s) still uncommitted after the grace period (they were acknowledged to the broker)",
                 in_flight_);
  if (sock_) {
    mosquitto_disconnect(mosq_);
    if (mosquitto_socket(mosq_) >= 0 && mosquitto_want_write(mosq_)) mosquitto_loop_write(mosq_, 1);
  }
  ++gen_;
  sock_.reset();
  connected_ = false;
  spdlog::info("mqtt: disconnected (the broker keeps the session)");
}

stats client::snapshot() const {
  stats s;
  s.connected = connected_.load();
  s.stored = stored_.load();
  s.dead = dead_count_.load();
  s.partial = partial_.load();
  s.reconnects = reconnects_.load();
  s.in_flight = in_flight_gauge_.load();
  s.read_pauses = read_pauses_.load();
  return s;
}

std::string client::metrics_text() const {
  auto s = snapshot();
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, const std::string& samples) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + samples;
  };
  metric("maeul_mqtt_connected", "gauge", "1 while the MQTT broker connection is up.",
         "maeul_mqtt_connected " + std::to_string(s.connected ? 1 : 0) + "\n");
  metric("maeul_mqtt_messages_total", "counter", "MQTT messages by outcome (stored, or kept as a dead letter).",
         "maeul_mqtt_messages_total{outcome=\"stored\"} " + std::to_string(s.stored) +
             "\nmaeul_mqtt_messages_total{outcome=\"dead\"} " + std::to_string(s.dead) + "\n");
  metric("maeul_mqtt_partial_messages_total", "counter",
         "Stored MQTT messages some of whose readings were refused (kept as dead letters too).",
         "maeul_mqtt_partial_messages_total " + std::to_string(s.partial) + "\n");
  metric("maeul_mqtt_reconnects_total", "counter", "Reconnect attempts to the MQTT broker.",
         "maeul_mqtt_reconnects_total " + std::to_string(s.reconnects) + "\n");
  metric("maeul_mqtt_in_flight", "gauge", "MQTT messages read and not yet committed.",
         "maeul_mqtt_in_flight " + std::to_string(s.in_flight) + "\n");
  metric("maeul_mqtt_read_pauses_total", "counter",
         "Times reading from the broker paused at mqtt.max_in_flight (back-pressure).",
         "maeul_mqtt_read_pauses_total " + std::to_string(s.read_pauses) + "\n");
  return out;
}

}  // namespace maeul::mqtt
