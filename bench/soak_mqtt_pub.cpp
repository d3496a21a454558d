// MQTT publisher of scripts/soak: single-reading QoS 1 messages at a steady rate, through
// libmosquitto, recording which ones the broker acknowledged (PUBACK). Message i goes to
// maeul/v1/obs/{prefix}{i % sensors, 4 digits} as {"metric":"v","ts":start + (i / sensors) * 10 ms,
// "value":i}, so every message is one unique (sensor, ts) whose value names it.
// One thread runs mosquitto_loop() between publishes (no libmosquitto thread, no locks). While the
// broker is away nothing new is published (the schedule waits, then catches up) and the client
// reconnects every 500 ms. Each PUBACK appends "index sent_ms acked_ms" (wall clock, epoch ms) to
// --acked-out. After the stop (--seconds or --stop-file) it waits up to --drain-s for the last
// PUBACKs, then prints one summary line of key=value figures. Not a test.
#include <mosquitto.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <unordered_map>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 1883;
  double rate = 100;  // messages per second
  int sensors = 10;
  std::string prefix = "soak-m-";
  long long start_s = 0;
  double seconds = 0;
  std::string stop_file;
  std::string acked_out;
  std::string client_id = "maeul-soak-pub";
  double drain_s = 30;
};

struct pending_msg {
  long long index;
  long long sent_ms;
};

struct state {
  bool connected = false;
  std::unordered_map<int, pending_msg> pending;  // mid -> message waiting for its PUBACK
  long long acked = 0, abandoned = 0, connects = 0;
  FILE* acked_f = nullptr;
};

long long wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string iso(long long s, int ms) {
  time_t t = time_t(s);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

bool file_exists(const std::string& f) {
  struct stat st;
  return !f.empty() && ::stat(f.c_str(), &st) == 0;
}

void on_connect(mosquitto*, void* p, int rc) {
  auto* s = static_cast<state*>(p);
  if (rc == 0) {
    s->connected = true;
    ++s->connects;
  }
}

void on_disconnect(mosquitto*, void* p, int) { static_cast<state*>(p)->connected = false; }

void on_publish(mosquitto*, void* p, int mid) {
  auto* s = static_cast<state*>(p);
  auto it = s->pending.find(mid);
  if (it == s->pending.end()) return;
  ++s->acked;
  if (s->acked_f) std::fprintf(s->acked_f, "%lld %lld %lld\n", it->second.index, it->second.sent_ms, wall_ms());
  s->pending.erase(it);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--sensors") o.sensors = std::atoi(v.c_str());
    else if (k == "--prefix") o.prefix = v;
    else if (k == "--start") o.start_s = std::atoll(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--stop-file") o.stop_file = v;
    else if (k == "--acked-out") o.acked_out = v;
    else if (k == "--client-id") o.client_id = v;
    else if (k == "--drain-s") o.drain_s = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (o.start_s == 0 || o.rate <= 0 || (o.seconds == 0 && o.stop_file.empty())) {
    std::fprintf(stderr, "need --start, --rate and --seconds or --stop-file\n");
    return 64;
  }
  state s;
  if (!o.acked_out.empty() && !(s.acked_f = std::fopen(o.acked_out.c_str(), "w"))) {
    std::perror(o.acked_out.c_str());
    return 66;
  }
  mosquitto_lib_init();
  // clean_session = false: the broker keeps this publisher's session (its unacknowledged QoS 1
  // messages) across a reconnect, as a field gateway's would.
  mosquitto* m = mosquitto_new(o.client_id.c_str(), false, &s);
  if (!m) {
    std::fprintf(stderr, "mosquitto_new failed\n");
    return 70;
  }
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_disconnect_callback_set(m, on_disconnect);
  mosquitto_publish_callback_set(m, on_publish);
  mosquitto_max_inflight_messages_set(m, 100);
  int rc = mosquitto_connect(m, o.host.c_str(), o.port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "cannot connect to the broker: %s\n", mosquitto_strerror(rc));
    return 69;
  }

  const auto t0 = clock_type::now();
  long long next = 0, published = 0, publish_errors = 0, waits = 0, loop_errors = 0;
  bool stopping = false;
  clock_type::time_point drain_deadline{}, reconnect_at{};
  char payload[200];
  for (;;) {
    auto now = clock_type::now();
    if (!stopping && ((o.seconds > 0 && now - t0 >= std::chrono::duration<double>(o.seconds)) || file_exists(o.stop_file))) {
      stopping = true;
      drain_deadline = now + std::chrono::milliseconds((long long)(o.drain_s * 1000));
    }
    if (stopping && (s.pending.empty() || now >= drain_deadline)) break;
    if (!stopping && s.connected) {
      // every message due by now (a burst after a broker outage), at most 100 a turn
      for (int burst = 0; burst < 100; ++burst) {
        auto due = t0 + std::chrono::nanoseconds((long long)(double(next) * 1e9 / o.rate));
        if (due > now) break;
        long long i = next++;
        long long step = i / o.sensors;
        char topic[128];
        std::snprintf(topic, sizeof topic, "maeul/v1/obs/%s%04d", o.prefix.c_str(), int(i % o.sensors));
        int n = std::snprintf(payload, sizeof payload, "{\"metric\":\"v\",\"ts\":\"%s\",\"value\":%lld}",
                              iso(o.start_s + step / 100, int(step % 100) * 10).c_str(), i);
        int mid = 0;
        long long sent = wall_ms();
        rc = mosquitto_publish(m, &mid, topic, n, payload, 1, false);
        if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
          // NO_CONN: queued inside libmosquitto and sent again after the reconnect
          auto old = s.pending.find(mid);
          if (old != s.pending.end()) ++s.abandoned;  // a message id reused: that one never got its PUBACK
          s.pending[mid] = {i, sent};
          ++published;
        } else {
          ++publish_errors;
        }
      }
    } else if (!stopping) {
      ++waits;
    }
    rc = mosquitto_loop(m, 5, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      s.connected = false;
      ++loop_errors;
      now = clock_type::now();
      if (now >= reconnect_at) {
        reconnect_at = now + std::chrono::milliseconds(500);
        mosquitto_reconnect(m);  // CONNACK (on_connect) marks it connected
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  long long unacked = (long long)s.pending.size();
  mosquitto_disconnect(m);
  mosquitto_loop(m, 100, 1);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  if (s.acked_f) std::fclose(s.acked_f);
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("published=%lld acked=%lld unacked=%lld abandoned_ids=%lld publish_errors=%lld connects=%lld "
              "loop_errors=%lld waited_turns=%lld seconds=%.1f\n",
              published, s.acked, unacked, s.abandoned, publish_errors, s.connects, loop_errors, waits, secs);
  return 0;
}
