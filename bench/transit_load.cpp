// Load generator for POST /api/v1/transit/positions: buses driven along the shapes of a GTFS feed
// directory (shapes.txt, trips.txt: the demo network in config/demo/transit), plain blocking
// sockets, one thread per connection, closed loop. Vehicle v runs on shape v % shapes (its first
// trip as the trip) from an offset along it, at --speed m/s, one position every --step seconds of
// data time; at the shape's end it starts again from the beginning (a new run). Each connection
// owns its vehicles (v % connections), so every vehicle's positions reach the server in time
// order. A request holds --batch positions: its vehicles' next positions, each vehicle several
// steps. Bodies are made before the clock starts. Prints one line of key=value figures: positions
// sent and accepted, the arrivals the server derived (summed from its answers, which come after
// the database write), positions/s end to end. Not a test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  std::string feed = "config/demo/transit";
  int connections = 4;
  int vehicles = 400;
  int batch = 2000;       // positions per request (the server takes at most 10000)
  int requests = 200;     // in all
  double speed = 8;       // m/s along the shape
  double step = 5;        // seconds of data time between a vehicle's positions
  long long start_s = 0;  // data time of the first positions (epoch seconds)
};

// One CSV line split into fields (quotes as GTFS allows them; no line breaks inside).
std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') quoted = true;
    else if (c == ',') out.emplace_back();
    else if (c != '\r') out.back() += c;
  }
  return out;
}

// Rows of a CSV file as maps from header name to value.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::string line;
  std::getline(in, line);
  if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  auto header = fields_of(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    auto f = fields_of(line);
    std::map<std::string, std::string> r;
    for (std::size_t i = 0; i < header.size() && i < f.size(); ++i) r[header[i]] = f[i];
    rows.push_back(std::move(r));
  }
  return rows;
}

struct shape {
  std::string id, route, trip;
  std::vector<double> lon, lat, along;  // points and cumulative metres
};

std::vector<shape> load_shapes(const std::string& dir) {
  std::map<std::string, std::vector<std::pair<int, std::pair<double, double>>>> pts;
  for (auto& r : read_csv(dir + "/shapes.txt"))
    pts[r["shape_id"]].push_back({std::atoi(r["shape_pt_sequence"].c_str()),
                                  {std::atof(r["shape_pt_lon"].c_str()), std::atof(r["shape_pt_lat"].c_str())}});
  std::map<std::string, std::pair<std::string, std::string>> first_trip;  // shape -> (route, trip)
  for (auto& r : read_csv(dir + "/trips.txt"))
    if (!r["shape_id"].empty() && !first_trip.count(r["shape_id"])) first_trip[r["shape_id"]] = {r["route_id"], r["trip_id"]};
  std::vector<shape> out;
  for (auto& [id, p] : pts) {
    if (!first_trip.count(id) || p.size() < 2) continue;
    std::sort(p.begin(), p.end());
    shape s;
    s.id = id;
    s.route = first_trip[id].first;
    s.trip = first_trip[id].second;
    double acc = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (i) {
        double kx = 111320 * std::cos(p[i].second.second * M_PI / 180);
        double dx = (p[i].second.first - p[i - 1].second.first) * kx, dy = (p[i].second.second - p[i - 1].second.second) * 110540;
        acc += std::sqrt(dx * dx + dy * dy);
      }
      s.lon.push_back(p[i].second.first);
      s.lat.push_back(p[i].second.second);
      s.along.push_back(acc);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The point `d` metres along the shape (clamped to its ends).
void point_at(const shape& s, double d, double& lon, double& lat) {
  auto it = std::upper_bound(s.along.begin(), s.along.end(), d);
  std::size_t i = it == s.along.begin() ? 1 : std::min<std::size_t>(std::size_t(it - s.along.begin()), s.along.size() - 1);
  double seg = s.along[i] - s.along[i - 1], f = seg > 0 ? std::clamp((d - s.along[i - 1]) / seg, 0.0, 1.0) : 0;
  lon = s.lon[i - 1] + f * (s.lon[i] - s.lon[i - 1]);
  lat = s.lat[i - 1] + f * (s.lat[i] - s.lat[i - 1]);
}

std::string iso(long long ms) {
  time_t t = time_t(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
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

// Sends one request and reads the answer into `buf`; returns the HTTP status (0: broken connection).
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

long long field_of(const std::string& answer, const char* key) {
  auto k = answer.find(std::string("\"") + key + "\":");
  return k == std::string::npos ? 0 : std::atoll(answer.c_str() + k + std::strlen(key) + 3);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--token") o.token = v;
    else if (k == "--feed") o.feed = v;
    else if (k == "--connections") o.connections = std::atoi(v.c_str());
    else if (k == "--vehicles") o.vehicles = std::atoi(v.c_str());
    else if (k == "--batch") o.batch = std::atoi(v.c_str());
    else if (k == "--requests") o.requests = std::atoi(v.c_str());
    else if (k == "--speed") o.speed = std::atof(v.c_str());
    else if (k == "--step") o.step = std::atof(v.c_str());
    else if (k == "--start") o.start_s = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (o.start_s == 0)
    o.start_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() - 86400;
  auto shapes = load_shapes(o.feed);
  if (shapes.empty()) {
    std::fprintf(stderr, "no shapes with trips in %s\n", o.feed.c_str());
    return 2;
  }
  if (o.vehicles % o.connections) o.vehicles += o.connections - o.vehicles % o.connections;
  const int per_conn = o.vehicles / o.connections;
  const int steps = std::max(1, o.batch / per_conn);  // each request: `steps` positions of each of its vehicles
  const int per_request = steps * per_conn;

  // Request r of connection c: its vehicles at steps [r * steps, (r + 1) * steps), time order per vehicle.
  auto make_request = [&](int c, int r) {
    std::string body = "{\"positions\":[";
    body.reserve(std::size_t(per_request) * 150);
    char buf[320];
    bool first = true;
    for (int k = 0; k < steps; ++k) {
      long long step_no = (long long)r * steps + k;
      long long ms = o.start_s * 1000 + (long long)(step_no * o.step * 1000);
      for (int j = 0; j < per_conn; ++j) {
        int v = c + j * o.connections;
        const auto& s = shapes[std::size_t(v) % shapes.size()];
        double len = s.along.back();
        double d = std::fmod(double(v) * 137.0 + double(step_no) * o.step * o.speed, len);
        double lon, lat;
        point_at(s, d, lon, lat);
        int n = std::snprintf(buf, sizeof buf,
                              "%s{\"vehicle\":\"bus-%05d\",\"route\":\"%s\",\"trip\":\"%s\",\"lon\":%.7f,\"lat\":%.7f,\"ts\":\"%s\"}",
                              first ? "" : ",", v, s.route.c_str(), s.trip.c_str(), lon, lat, iso(ms).c_str());
        body.append(buf, std::size_t(n));
        first = false;
      }
    }
    body += "]}";
    return "POST /api/v1/transit/positions HTTP/1.1\r\nHost: " + o.host + "\r\nAuthorization: Bearer " + o.token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const int per_conn_requests = std::max(1, o.requests / o.connections);
  std::vector<std::vector<std::string>> reqs(std::size_t(o.connections));
  for (int c = 0; c < o.connections; ++c)
    for (int r = 0; r < per_conn_requests; ++r) reqs[std::size_t(c)].push_back(make_request(c, r));

  std::atomic<long long> accepted{0}, arrivals{0}, off_route{0}, out_of_order{0};
  std::atomic<int> errors{0};
  std::vector<std::vector<double>> lat(std::size_t(o.connections));
  auto t0 = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = connect_to(o);
      std::string buf;
      std::this_thread::sleep_until(t0);
      for (const auto& req : reqs[std::size_t(c)]) {
        auto start = std::chrono::steady_clock::now();
        int status = roundtrip(fd, req, buf);
        lat[std::size_t(c)].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        if (status != 200) {
          if (errors.fetch_add(1) < 3) std::fprintf(stderr, "status %d: %.300s\n", status, buf.c_str());
          if (status == 0) {
            ::close(fd);
            fd = connect_to(o);
          }
          continue;
        }
        auto body = buf.substr(buf.find("\r\n\r\n") + 4);
        accepted += field_of(body, "accepted");
        arrivals += field_of(body, "arrivals");
        off_route += field_of(body, "off_route");
        out_of_order += field_of(body, "out_of_order");
      }
      ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, std::size_t(p * all.size()))]; };
  long long sent = (long long)all.size() * per_request;
  std::printf("requests=%zu positions=%lld accepted=%lld arrivals=%lld off_route=%lld out_of_order=%lld vehicles=%d "
              "seconds=%.3f positions_per_s=%.0f p50_ms=%.1f p99_ms=%.1f errors=%d\n",
              all.size(), sent, accepted.load(), arrivals.load(), off_route.load(), out_of_order.load(), o.vehicles, secs,
              double(accepted.load()) / secs, pct(0.5), pct(0.99), errors.load());
  return errors.load() ? 1 : 0;
}
