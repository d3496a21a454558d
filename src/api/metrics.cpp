// Prometheus metrics: request counters and latency histograms per route, process gauges.
#include "maeul/api/metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace maeul::api {

int metrics::add_route(std::string label, std::string method) {
  labels_.push_back(std::move(label));
  methods_.push_back(std::move(method));
  histograms_.push_back(std::make_unique<histogram>());
  return static_cast<int>(labels_.size() - 1);
}

void metrics::observe(int route, const std::string& method, int status, double seconds) {
  auto& h = *histograms_.at(static_cast<std::size_t>(route));
  std::size_t i = 0;
  while (i < buckets.size() && seconds > buckets[i]) ++i;
  h.counts[i].fetch_add(1, std::memory_order_relaxed);
  h.total.fetch_add(1, std::memory_order_relaxed);
  h.sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  if (status >= 100 && status < 600 && method == methods_[static_cast<std::size_t>(route)]) {
    h.by_status[static_cast<std::size_t>(status)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The other requests of the route (another method, or an odd status): the label set is bounded
  // whatever clients send, so a method nobody defined must not add a series.
  static const char* const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  const char* label = "other";
  for (const char* k : known)
    if (method == k) label = k;
  int st = status >= 100 && status < 600 ? status : 0;
  std::lock_guard lock(mutex_);
  ++requests_[{route, label, st}];
}

std::string metrics::render(const std::string& extra) const {
  std::ostringstream out;
  out << "# HELP maeul_http_requests_total HTTP requests answered, by route, method and status.\n"
         "# TYPE maeul_http_requests_total counter\n";
  for (std::size_t r = 0; r < labels_.size(); ++r) {
    for (std::size_t st = 100; st < 600; ++st) {
      auto n = histograms_[r]->by_status[st].load();
      if (n)
        out << "maeul_http_requests_total{route=\"" << labels_[r] << "\",method=\"" << methods_[r]
            << "\",status=\"" << st << "\"} " << n << "\n";
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, n] : requests_) {
      const auto& [route, method, status] = key;
      out << "maeul_http_requests_total{route=\"" << labels_[route] << "\",method=\"" << method << "\",status=\""
          << status << "\"} " << n << "\n";
    }
  }
  out << "# HELP maeul_http_request_duration_seconds Time from a whole request read to its answer, by route.\n"
         "# TYPE maeul_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < labels_.size(); ++r) {
    const auto& h = *histograms_[r];
    std::uint64_t total = h.total.load();
    if (total == 0) continue;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      cumulative += h.counts[i].load();
      out << "maeul_http_request_duration_seconds_bucket{route=\"" << labels_[r] << "\",le=\"" << buckets[i]
          << "\"} " << cumulative << "\n";
    }
    out << "maeul_http_request_duration_seconds_bucket{route=\"" << labels_[r] << "\",le=\"+Inf\"} " << total
        << "\n";
    out << "maeul_http_request_duration_seconds_sum{route=\"" << labels_[r] << "\"} " << (h.sum_us.load() / 1e6)
        << "\n";
    out << "maeul_http_request_duration_seconds_count{route=\"" << labels_[r] << "\"} " << total << "\n";
  }
  out << extra;
  return out.str();
}

std::string process_metrics() {
  std::ostringstream out;
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  unsigned long long vsize_pages = 0, rss_pages = 0;
  if (statm >> vsize_pages >> rss_pages) {
    out << "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
           "# TYPE process_resident_memory_bytes gauge\n"
        << "process_resident_memory_bytes " << rss_pages * page << "\n"
        << "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
           "# TYPE process_virtual_memory_bytes gauge\n"
        << "process_virtual_memory_bytes " << vsize_pages * page << "\n";
  }
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    auto close = line.rfind(')');
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long starttime = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) starttime = std::stoull(field);
    std::ifstream uptime_f("/proc/stat");
    unsigned long long btime = 0;
    std::string key;
    while (uptime_f >> key) {
      if (key == "btime") {
        uptime_f >> btime;
        break;
      }
    }
    double start = double(btime) + double(starttime) / double(sysconf(_SC_CLK_TCK));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", start);
    out << "# HELP process_start_time_seconds Start time of the process since the epoch in seconds.\n"
           "# TYPE process_start_time_seconds gauge\n"
        << "process_start_time_seconds " << buf << "\n";
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  out << "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\n"
      << "process_open_fds " << fds << "\n";
  return out.str();
}

}  // namespace maeul::api
