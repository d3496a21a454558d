// The MQTT door (API.md §10): one libmosquitto client driven by Asio on one strand — no
// libmosquitto thread. It subscribes with QoS 1 and a persistent session, hands every message at
// once (parsed on a worker executor, off the strand) to the observation service (the same validation, group commit, rules and live feed as
// HTTP), keeps bad messages as dead letters, and reconnects with capped exponential back-off.
//
// The guarantee, honestly: libmosquitto sends the PUBACK of a QoS 1 message before its on_message
// callback runs, so a message received but not yet committed is lost if maeuld dies (kill -9,
// power) in that window. A clean stop (SIGTERM) waits for the messages in flight to commit.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

struct mosquitto;
struct mosquitto_message;

namespace maeul::services {
class observation_service;
}
namespace maeul::storage {
class dead_letter_store;
}

namespace maeul::mqtt {

struct options {
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;
  std::string ca_file;  // tls: PEM bundle; empty: the system's CAs (/etc/ssl/certs)
  std::string client_id = "maeuld";
  std::string username, password;
  int keepalive_s = 30;
  int reconnect_min_ms = 1000;
  int reconnect_max_ms = 60000;
  int max_in_flight = 10000;  // messages read and not yet committed; at the bound reading pauses
};

struct stats {
  bool connected = false;       // connected and subscribed (SUBACK received)
  std::int64_t stored = 0;      // messages with at least one reading stored (or a duplicate)
  std::int64_t dead = 0;        // messages kept as dead letters instead
  std::int64_t partial = 0;     // stored messages some of whose readings were refused (also a dead letter)
  std::int64_t reconnects = 0;  // reconnect attempts after a lost or failed connection
  std::int64_t in_flight = 0;
  std::int64_t read_pauses = 0;  // times reading paused because max_in_flight was reached
};

class client {
 public:
  // Strict: throws std::runtime_error when libmosquitto refuses the options (e.g. an unreadable
  // CA file). Connects only at start().
  client(boost::asio::any_io_executor ex, options opts, services::observation_service& obs,
         storage::dead_letter_store& dead, std::function<std::int64_t()> now_us);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Begins connecting (asynchronously; a broker that is down is retried with back-off).
  void start();
  // Stops reading, waits up to grace_ms for the messages in flight to commit, then disconnects
  // (the broker keeps the session). Completes on the client's strand.
  boost::asio::awaitable<void> stop(int grace_ms);

  // Vehicle positions on `maeul/v1/avl/{vehicle}` (bus operations): handed to this door with the
  // topic's vehicle, the payload and the time of receipt; it answers "" when the message was stored,
  // else why (parts) were refused, kept as a dead letter. May throw storage::unavailable (retried).
  // Set before start(); unset, avl topics are not subscribed.
  using avl_door = std::function<boost::asio::awaitable<std::string>(std::string vehicle, std::string payload,
                                                                      std::int64_t now_us)>;
  void set_avl(avl_door door) { avl_ = std::move(door); }

  // Where reading messages are handled (parse, ingest, dead letter): each message on the executor
  // this returns (e.g. the I/O contexts round-robin), so the strand only reads the socket and the
  // parsing of many messages runs on every I/O thread. Unset, messages are handled on the strand.
  // Set before start(). The function is called on the strand.
  void set_workers(std::function<boost::asio::any_io_executor()> next) { workers_ = std::move(next); }

  stats snapshot() const;
  // Prometheus text of the stats (maeul_mqtt_*).
  std::string metrics_text() const;

 private:
  struct message {
    std::string topic, payload;
    std::int64_t received_us = 0;
  };
  static void on_connect_cb(::mosquitto*, void* self, int rc, int flags);
  static void on_subscribe_cb(::mosquitto*, void* self, int mid, int count, const int* granted);
  static void on_disconnect_cb(::mosquitto*, void* self, int rc);
  static void on_message_cb(::mosquitto*, void* self, const ::mosquitto_message* m);

  void connect_first();
  void after_call(int rc);
  void watch();
  void arm();
  void lost(int rc);
  void schedule_misc();
  boost::asio::awaitable<void> handle(message m);
  boost::asio::awaitable<void> handle_avl(message m);
  // Stores a dead letter, retrying while the database is away; `count`: a dead message (not a partial one).
  boost::asio::awaitable<void> keep_dead(message m, std::string error, bool count = true);
  // A message is done: frees its in-flight slot on the strand (callable from any thread).
  void finished();
  void finished_on_strand();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  options opts_;
  services::observation_service& obs_;
  avl_door avl_;
  std::function<boost::asio::any_io_executor()> workers_;
  storage::dead_letter_store& dead_;
  std::function<std::int64_t()> now_us_;
  ::mosquitto* mosq_ = nullptr;

  // Everything below is touched on strand_ only (the atomics are read by snapshot()).
  std::optional<boost::asio::posix::stream_descriptor> sock_;  // a dup() of libmosquitto's socket
  int sock_fd_ = -1;                                           // libmosquitto's fd that sock_ mirrors
  boost::asio::steady_timer misc_timer_, reconnect_timer_;
  unsigned gen_ = 0;  // bumped whenever sock_ is dropped: older waits complete as no-ops
  bool reading_ = false, writing_ = false, paused_ = false;
  bool reconnect_pending_ = false, stopping_ = false, alarm_ = false, ever_connected_ = false;
  int backoff_ms_;
  std::int64_t in_flight_ = 0;

  std::atomic<bool> connected_{false};
  std::atomic<std::int64_t> stored_{0}, dead_count_{0}, partial_{0}, reconnects_{0}, in_flight_gauge_{0},
      read_pauses_{0};
};

}  // namespace maeul::mqtt
