// Request metrics per route, method and status, and their Prometheus text rendering.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace maeul::api {

class metrics {
 public:
  static constexpr std::array<double, 14> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1,     2.5,   5,    10};

  // Registers a route label and its method ("" for several); returns its index for observe().
  // Call before serving.
  int add_route(std::string label, std::string method = "");

  // Records one answered request. Thread-safe.
  void observe(int route, const std::string& method, int status, double seconds);

  // Prometheus text exposition of the request metrics, followed by `extra` (already formatted).
  std::string render(const std::string& extra) const;

 private:
  struct histogram {
    std::array<std::atomic<std::uint64_t>, buckets.size() + 1> counts{};
    std::atomic<std::uint64_t> total{0};
    std::atomic<std::uint64_t> sum_us{0};
    std::array<std::atomic<std::uint64_t>, 600> by_status{};  // requests of the route's own method
  };
  std::vector<std::string> labels_;
  std::vector<std::string> methods_;
  std::vector<std::unique_ptr<histogram>> histograms_;
  mutable std::mutex mutex_;
  std::map<std::tuple<int, std::string, int>, std::uint64_t> requests_;
};

// Process gauges from /proc/self: resident and virtual memory, start time, open fds.
std::string process_metrics();

}  // namespace maeul::api
