// Load generator for POST /api/v1/observations: plain blocking sockets, one thread per
// connection, bodies generated before the clock starts. Two modes:
//   closed loop (--rate 0): every connection sends as fast as answers come back (max throughput);
//   open loop  (--rate R): request i is due at start + i/R; latency counts from that due time,
//                           so a slow server cannot hide its queueing (no coordinated omission).
// With --seconds S the closed loop runs for S seconds (at most --requests requests), each body made
// just before it is sent (not timed); --trace FILE writes one line per request: its start (wall
// clock, epoch microseconds, to line up with server logs), its latency in microseconds, its status.
// Prints one line of key=value figures. Not a test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  int connections = 8;
  int batch = 1000;
  int requests = 1000;      // total requests
  double rate = 0;          // requests per second; 0: closed loop
  int sensors = 1000;       // bench-0000 .. bench-0999, metric "v"
  long long start_s = 0;    // first reading time (epoch seconds)
  std::string csv_out;      // also write the rows as COPY text (series index, ts, value) here
  std::string prefix = "bench-";  // sensor ids: prefix + 4 digits
  double seconds = 0;       // closed loop for this long (0: until --requests are sent)
  std::string trace_out;    // one line per request: start_us latency_us status
};

struct traced {
  long long start_us;
  long long latency_us;
  int status;
};

long long wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// Reading k (0-based, global): sensor k % sensors, time start + k / sensors milliseconds apart.
void reading(const options& o, long long k, int& sensor, long long& sec, int& ms, double& value) {
  sensor = int(k % o.sensors);
  long long step = k / o.sensors;  // one reading per sensor every 10 ms of data time
  sec = o.start_s + step / 100;
  ms = int(step % 100) * 10;
  value = double((k * 7919) % 10000) / 100.0;
}

std::string make_body(const options& o, long long first) {
  std::string b = "{\"observations\":[";
  char buf[160];
  for (int i = 0; i < o.batch; ++i) {
    int s, ms;
    long long sec;
    double v;
    reading(o, first + i, s, sec, ms, v);
    int n = std::snprintf(buf, sizeof buf, "%s{\"sensor\":\"%s%04d\",\"metric\":\"v\",\"ts\":\"%s\",\"value\":%.2f}",
                          i ? "," : "", o.prefix.c_str(), s, iso(sec, ms).c_str(), v);
    b.append(buf, std::size_t(n));
  }
  b += "]}";
  return b;
}

int connect_to(const options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(o.port));
  inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(2);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Sends one request and reads the answer; returns the HTTP status (0 on a broken connection).
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
    else if (k == "--requests") o.requests = std::atoi(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--sensors") o.sensors = std::atoi(v.c_str());
    else if (k == "--start") o.start_s = std::atoll(v.c_str());
    else if (k == "--copy-out") o.csv_out = v;
    else if (k == "--prefix") o.prefix = v;
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--trace") o.trace_out = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (o.start_s == 0) o.start_s = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch()).count() - 86400;

  // The same rows as COPY text for the baseline (sensor index as series, ts, value).
  if (!o.csv_out.empty()) {
    FILE* f = std::fopen(o.csv_out.c_str(), "w");
    for (long long k = 0; k < (long long)o.requests * o.batch; ++k) {
      int s, ms;
      long long sec;
      double v;
      reading(o, k, s, sec, ms, v);
      std::fprintf(f, "%d\t%s\t%.2f\n", s, iso(sec, ms).c_str(), v);
    }
    std::fclose(f);
  }

  const bool timed = o.seconds > 0;
  if (timed && o.rate > 0) {
    std::fprintf(stderr, "--seconds is for the closed loop (no --rate)\n");
    return 64;
  }
  auto make_request = [&](int i) {
    std::string body = make_body(o, (long long)i * o.batch);
    return "POST /api/v1/observations HTTP/1.1\r\nHost: " + o.host + "\r\nAuthorization: Bearer " + o.token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  std::vector<std::string> requests(timed ? 0 : std::size_t(o.requests));
  for (std::size_t i = 0; i < requests.size(); ++i) requests[i] = make_request(int(i));

  std::atomic<int> next{0}, errors{0};
  std::vector<std::vector<double>> lat(std::size_t(o.connections));
  std::vector<std::vector<traced>> trace(std::size_t(o.connections));
  auto t0 = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  auto until = t0 + std::chrono::microseconds((long long)(o.seconds * 1e6));
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = connect_to(o);
      std::string buf, made;
      std::this_thread::sleep_until(t0);
      for (;;) {
        int i = next.fetch_add(1);
        if (i >= o.requests) break;
        if (timed) {
          if (std::chrono::steady_clock::now() >= until) break;
          made = make_request(i);
        }
        const std::string& req = timed ? made : requests[std::size_t(i)];
        auto due = o.rate > 0 ? t0 + std::chrono::nanoseconds((long long)(i * 1e9 / o.rate))
                              : std::chrono::steady_clock::now();
        if (o.rate > 0) std::this_thread::sleep_until(due);
        long long start_us = wall_us();
        int status = roundtrip(fd, req, buf);
        auto done = std::chrono::steady_clock::now();
        if (status != 200 && status != 202) {  // 202: taken into the spool (database away)
          if (errors.fetch_add(1) < 3) std::fprintf(stderr, "status %d: %.300s\n", status, buf.c_str());
          if (status == 0) {
            ::close(fd);
            fd = connect_to(o);
          }
        }
        lat[std::size_t(c)].push_back(std::chrono::duration<double, std::milli>(done - due).count());
        if (!o.trace_out.empty())
          trace[std::size_t(c)].push_back(
              {start_us, std::chrono::duration_cast<std::chrono::microseconds>(done - due).count(), status});
      }
      ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.trace_out.empty()) {
    FILE* f = std::fopen(o.trace_out.c_str(), "w");
    for (auto& v : trace)
      for (auto& t : v) std::fprintf(f, "%lld %lld %d\n", t.start_us, t.latency_us, t.status);
    std::fclose(f);
  }
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, std::size_t(p * all.size()))]; };
  const long long sent = (long long)all.size();
  std::printf("requests=%lld readings=%lld seconds=%.3f readings_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
              sent, sent * o.batch, secs, double(sent) * o.batch / secs, pct(0.50),
              pct(0.99), all.empty() ? 0.0 : all.back(), errors.load());
  return errors.load() ? 1 : 0;
}
