// Load generator of scripts/soak for POST /api/v1/observations: plain blocking sockets, one thread
// per connection, each body generated when it is due (a ten-minute run would not fit in memory
// ahead of time). Readings are those of bench/ingest_load.cpp: reading k (global) is sensor
// k % sensors at start + (k / sensors) * 10 ms, value (k * 7919 % 10000) / 100, so every reading
// is a unique (sensor, ts) and scripts/soak can rebuild any request's readings in SQL.
//   closed loop (--rate 0): each connection sends as soon as its answer is back (the maximum);
//   open loop  (--rate R): request i is due at start + i/R (latency counts from the due time).
// A request counts as acknowledged when answered 200 or 202 with "rejected":[]. With --retry 1 a
// request that is not (no answer, 503, a rejection while the daemon restarts) is sent again, the
// same bytes, every 200 ms until it is or the run stops; acknowledged ones are appended to
// --acked-out as "index status attempts". Prints a stats line every --stats-every seconds and one
// summary line of key=value figures at the end. Not a test: it never judges what it measures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  int connections = 8;
  int batch = 1000;
  long long requests = 0;   // most requests (0: no bound)
  double seconds = 0;       // stop sending new requests after this long (0: no bound)
  double rate = 0;          // requests per second; 0: closed loop
  int sensors = 1000;       // prefix + 4 digits, metric "v"
  long long start_s = 0;    // first reading time (epoch seconds)
  std::string prefix = "bench-";
  std::string stop_file;    // stop sending new requests once this file exists
  std::string acked_out;    // "index status attempts" per acknowledged request
  double stats_every = 0;   // seconds between stats lines (0: none)
  bool retry = false;
};

std::string iso(long long s, int ms) {
  time_t t = time_t(s);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string make_request(const options& o, long long index) {
  std::string b = "{\"observations\":[";
  b.reserve(std::size_t(o.batch) * 90 + 64);
  char buf[200];
  for (int i = 0; i < o.batch; ++i) {
    long long k = index * o.batch + i;
    int sensor = int(k % o.sensors);
    long long step = k / o.sensors;  // one reading per sensor every 10 ms of data time
    double value = double((k * 7919) % 10000) / 100.0;
    int n = std::snprintf(buf, sizeof buf, "%s{\"sensor\":\"%s%04d\",\"metric\":\"v\",\"ts\":\"%s\",\"value\":%.2f}",
                          i ? "," : "", o.prefix.c_str(), sensor, iso(o.start_s + step / 100, int(step % 100) * 10).c_str(),
                          value);
    b.append(buf, std::size_t(n));
  }
  b += "]}";
  return "POST /api/v1/observations HTTP/1.1\r\nHost: " + o.host + "\r\nAuthorization: Bearer " + o.token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
}

// A connected socket, or -1 (the daemon may be down: the caller retries).
int connect_to(const options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(o.port));
  inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{60, 0};  // an answer that takes longer counts as none (and is sent again with --retry)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends one request and reads the answer into buf; returns the HTTP status (0: no answer).
int roundtrip(int fd, const std::string& req, std::string& buf) {
  std::size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return 0;
    off += std::size_t(n);
  }
  buf.clear();
  char tmp[65536];
  std::size_t header_end = std::string::npos, need = 0;
  for (;;) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return 0;
    buf.append(tmp, std::size_t(n));
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      auto cl = buf.find("Content-Length: ");
      if (cl == std::string::npos) cl = buf.find("content-length: ");
      need = header_end + 4 + (cl == std::string::npos ? 0 : std::strtoul(buf.c_str() + cl + 16, nullptr, 10));
    }
    if (buf.size() >= need) break;
  }
  return std::atoi(buf.c_str() + 9);
}

bool file_exists(const std::string& f) {
  struct stat st;
  return !f.empty() && ::stat(f.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--token") o.token = v;
    else if (k == "--connections") o.connections = std::atoi(v.c_str());
    else if (k == "--batch") o.batch = std::atoi(v.c_str());
    else if (k == "--requests") o.requests = std::atoll(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--sensors") o.sensors = std::atoi(v.c_str());
    else if (k == "--start") o.start_s = std::atoll(v.c_str());
    else if (k == "--prefix") o.prefix = v;
    else if (k == "--stop-file") o.stop_file = v;
    else if (k == "--acked-out") o.acked_out = v;
    else if (k == "--stats-every") o.stats_every = std::atof(v.c_str());
    else if (k == "--retry") o.retry = v == "1";
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (o.start_s == 0 || o.token.empty() || (o.requests == 0 && o.seconds == 0 && o.stop_file.empty())) {
    std::fprintf(stderr, "need --token, --start and one of --requests, --seconds, --stop-file\n");
    return 64;
  }
  FILE* acked_f = o.acked_out.empty() ? nullptr : std::fopen(o.acked_out.c_str(), "w");
  if (!o.acked_out.empty() && !acked_f) {
    std::perror(o.acked_out.c_str());
    return 66;
  }

  std::mutex acked_mu;
  std::atomic<bool> stop{false};
  std::atomic<long long> next{0}, acked{0}, acked_200{0}, acked_202{0}, attempts{0}, unacked{0};
  std::atomic<long long> no_answer{0}, status_503{0}, status_other{0}, partial{0};
  std::vector<std::vector<float>> lat(std::size_t(o.connections));
  const auto t0 = clock_type::now() + std::chrono::milliseconds(50);

  auto worker = [&](int c) {
    int fd = -1;
    std::string buf;
    std::this_thread::sleep_until(t0);
    for (;;) {
      if (stop.load()) break;
      long long i = next.fetch_add(1);
      if (o.requests > 0 && i >= o.requests) break;
      auto due = o.rate > 0 ? t0 + std::chrono::nanoseconds((long long)(double(i) * 1e9 / o.rate)) : clock_type::now();
      if (o.rate > 0) {
        // wait for the due time, but notice a stop meanwhile
        while (clock_type::now() < due && !stop.load())
          std::this_thread::sleep_until(std::min(due, clock_type::now() + std::chrono::milliseconds(100)));
        if (stop.load()) break;
      }
      std::string req = make_request(o, i);
      int tries = 0;
      for (;;) {
        ++tries;
        attempts.fetch_add(1);
        if (fd < 0) fd = connect_to(o);
        int status = fd < 0 ? 0 : roundtrip(fd, req, buf);
        if ((status == 200 || status == 202) && buf.find("\"rejected\":[]") != std::string::npos) {
          auto done = clock_type::now();
          acked.fetch_add(1);
          (status == 200 ? acked_200 : acked_202).fetch_add(1);
          lat[std::size_t(c)].push_back(float(std::chrono::duration<double, std::milli>(done - due).count()));
          if (acked_f) {
            std::lock_guard<std::mutex> lk(acked_mu);
            std::fprintf(acked_f, "%lld %d %d\n", i, status, tries);
          }
          break;
        }
        if (status == 0) {
          no_answer.fetch_add(1);
          if (fd >= 0) ::close(fd);
          fd = -1;
        } else if (status == 200 || status == 202) {
          partial.fetch_add(1);  // some readings rejected (an unknown sensor while the daemon had no index)
        } else if (status == 503) {
          status_503.fetch_add(1);
        } else {
          status_other.fetch_add(1);
          if (status_other.load() <= 3) std::fprintf(stderr, "status %d: %.300s\n", status, buf.c_str());
        }
        if (!o.retry || stop.load()) {
          unacked.fetch_add(1);
          if (!o.retry) std::fprintf(stderr, "request %lld not acknowledged (status %d)\n", i, status);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (fd >= 0) ::close(fd);
  };

  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) threads.emplace_back(worker, c);

  // The clock thread: the run's length, the stop file, the stats lines.
  long long last_acked = 0;
  auto last_t = t0;
  auto next_stats = t0 + std::chrono::milliseconds((long long)(o.stats_every * 1000));
  std::atomic<int> running{o.connections};
  std::thread watcher([&] {
    for (auto& t : threads) t.join();
    running.store(0);
  });
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto now = clock_type::now();
    if (!stop.load() && ((o.seconds > 0 && now - t0 >= std::chrono::duration<double>(o.seconds)) || file_exists(o.stop_file)))
      stop.store(true);
    if (o.stats_every > 0 && now >= next_stats) {
      long long a = acked.load();
      double dt = std::chrono::duration<double>(now - last_t).count();
      std::printf("stats t=%.1f acked_requests=%lld readings=%lld readings_per_s=%.0f\n",
                  std::chrono::duration<double>(now - t0).count(), a, a * o.batch, double(a - last_acked) * o.batch / dt);
      std::fflush(stdout);
      last_acked = a;
      last_t = now;
      next_stats += std::chrono::milliseconds((long long)(o.stats_every * 1000));
    }
  }
  watcher.join();
  if (acked_f) std::fclose(acked_f);

  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : double(all[std::min(all.size() - 1, std::size_t(p * all.size()))]); };
  std::printf("requests=%lld acked=%lld acked_200=%lld acked_202=%lld unacked=%lld attempts=%lld no_answer=%lld "
              "status_503=%lld partial=%lld status_other=%lld readings=%lld seconds=%.3f readings_per_s=%.0f "
              "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
              acked.load() + unacked.load(), acked.load(), acked_200.load(), acked_202.load(), unacked.load(),
              attempts.load(), no_answer.load(), status_503.load(), partial.load(), status_other.load(),
              acked.load() * o.batch, secs, double(acked.load()) * o.batch / secs, pct(0.50), pct(0.99),
              all.empty() ? 0.0 : double(all.back()));
  return 0;
}
