// Request metrics (api/metrics.hpp): counters per route/method/status and cumulative latency
// histograms in Prometheus text.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "maeul/api/metrics.hpp"

namespace {

using maeul::api::metrics;

// Sample lines of a Prometheus text exposition: "name{labels}" -> value. Comments are skipped.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

std::string bucket(const std::string& route, const std::string& le) {
  return "maeul_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le + "\"}";
}

const char* const le_labels[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                 "0.1",    "0.25",  "0.5",    "1",     "2.5",   "5",    "10"};

}  // namespace

TEST(metrics, add_route_returns_consecutive_indexes) {
  metrics m;
  EXPECT_EQ(m.add_route("unmatched"), 0);
  EXPECT_EQ(m.add_route("/api/v1/zones"), 1);
  EXPECT_EQ(m.add_route("/api/v1/zones/{id}"), 2);
}

TEST(metrics, counts_requests_per_route_method_and_status) {
  metrics m;
  int zones = m.add_route("/api/v1/zones");
  int one = m.add_route("/api/v1/zones/{id}");
  m.observe(zones, "GET", 200, 0.001);
  m.observe(zones, "GET", 200, 0.002);
  m.observe(zones, "POST", 201, 0.003);
  m.observe(zones, "POST", 422, 0.003);
  m.observe(one, "GET", 404, 0.001);
  auto s = samples(m.render(""));
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones\",method=\"GET\",status=\"200\"}"), 2);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones\",method=\"POST\",status=\"201\"}"), 1);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones\",method=\"POST\",status=\"422\"}"), 1);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"GET\",status=\"404\"}"), 1);
  EXPECT_EQ(s.count("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"GET\",status=\"200\"}"), 0u);
}

TEST(metrics, a_route_with_a_method_counts_its_own_and_other_methods_alike) {
  metrics m;
  int get = m.add_route("/api/v1/zones/{id}", "GET");
  m.observe(get, "GET", 200, 0.001);
  m.observe(get, "GET", 200, 0.001);
  m.observe(get, "GET", 404, 0.001);
  m.observe(get, "HEAD", 200, 0.001);  // HEAD runs the GET route
  m.observe(get, "GET", 999, 0.001);   // outside 100..599 still counts, as status 0
  auto text = m.render("");
  auto s = samples(text);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"GET\",status=\"200\"}"), 2);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"GET\",status=\"404\"}"), 1);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"HEAD\",status=\"200\"}"), 1);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/api/v1/zones/{id}\",method=\"GET\",status=\"0\"}"), 1);
  EXPECT_EQ(s.at("maeul_http_request_duration_seconds_count{route=\"/api/v1/zones/{id}\"}"), 5);
  // Each series appears once.
  std::size_t first = text.find("method=\"GET\",status=\"200\"");
  EXPECT_EQ(text.find("method=\"GET\",status=\"200\"", first + 1), std::string::npos) << text;
}

TEST(metrics, a_method_nobody_defined_adds_no_series) {
  metrics m;
  int get = m.add_route("/healthz", "GET");
  for (int i = 0; i < 1000; ++i) m.observe(get, "M" + std::to_string(i), 405, 0.001);
  m.observe(get, "BREW\"}", 405, 0.001);  // not even a label break-out
  auto text = m.render("");
  auto s = samples(text);
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/healthz\",method=\"other\",status=\"405\"}"), 1001);
  EXPECT_EQ(text.find("M999"), std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

TEST(metrics, histogram_buckets_are_cumulative_with_inclusive_upper_bounds) {
  metrics m;
  int r = m.add_route("/r");
  m.observe(r, "GET", 200, 0.0004);  // <= 0.0005
  m.observe(r, "GET", 200, 0.001);   // exactly on a bound: counted in le="0.001"
  m.observe(r, "GET", 200, 0.003);   // <= 0.005
  m.observe(r, "GET", 200, 0.2);     // <= 0.25
  m.observe(r, "GET", 200, 20.0);    // above the last bound: only +Inf
  auto s = samples(m.render(""));
  const std::map<std::string, double> expected = {
      {"0.0005", 1}, {"0.001", 2}, {"0.0025", 2}, {"0.005", 3}, {"0.01", 3}, {"0.025", 3}, {"0.05", 3},
      {"0.1", 3},    {"0.25", 4},  {"0.5", 4},    {"1", 4},     {"2.5", 4},  {"5", 4},     {"10", 4},
  };
  for (const auto& [le, n] : expected) EXPECT_EQ(s.at(bucket("/r", le)), n) << "le=" << le;
  EXPECT_EQ(s.at(bucket("/r", "+Inf")), 5);
  EXPECT_EQ(s.at("maeul_http_request_duration_seconds_count{route=\"/r\"}"), 5);
  EXPECT_NEAR(s.at("maeul_http_request_duration_seconds_sum{route=\"/r\"}"), 0.0004 + 0.001 + 0.003 + 0.2 + 20.0, 1e-5);
}

TEST(metrics, buckets_appear_in_ascending_order_and_never_decrease) {
  metrics m;
  int r = m.add_route("/r");
  for (int i = 0; i < 40; ++i) m.observe(r, "GET", 200, 0.0001 * (1 << (i % 18)));
  auto text = m.render("");
  std::size_t pos = 0;
  double previous = 0;
  for (const char* le : le_labels) {
    auto at = text.find(bucket("/r", le) + " ", pos);
    ASSERT_NE(at, std::string::npos) << "le=" << le << " missing or out of order";
    pos = at;
    double v = samples(text).at(bucket("/r", le));
    EXPECT_GE(v, previous) << "le=" << le;
    previous = v;
  }
  EXPECT_GE(samples(text).at(bucket("/r", "+Inf")), previous);
  EXPECT_NE(text.find(bucket("/r", "+Inf") + " ", pos), std::string::npos);
}

TEST(metrics, a_route_never_observed_has_no_histogram_lines) {
  metrics m;
  int seen = m.add_route("/seen");
  m.add_route("/quiet");
  m.observe(seen, "GET", 200, 0.01);
  auto text = m.render("");
  EXPECT_NE(text.find("route=\"/seen\""), std::string::npos);
  EXPECT_EQ(text.find("route=\"/quiet\""), std::string::npos) << text;
}

TEST(metrics, render_declares_types_and_appends_extra) {
  metrics m;
  m.observe(m.add_route("/r"), "GET", 200, 0.01);
  auto text = m.render("maeul_db_pool_size 4\n");
  EXPECT_NE(text.find("# TYPE maeul_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE maeul_http_request_duration_seconds histogram\n"), std::string::npos);
  const std::string tail = "maeul_db_pool_size 4\n";
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  // An empty registry still renders the headers (and only them).
  metrics empty;
  auto e = empty.render("");
  EXPECT_NE(e.find("# TYPE maeul_http_requests_total counter"), std::string::npos);
  EXPECT_TRUE(samples(e).empty()) << e;
}

TEST(metrics, observe_is_thread_safe) {
  metrics m;
  int r = m.add_route("/r");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, r] {
      for (int i = 0; i < 1000; ++i) m.observe(r, "GET", 200, 0.002);
    });
  for (auto& t : threads) t.join();
  auto s = samples(m.render(""));
  EXPECT_EQ(s.at("maeul_http_requests_total{route=\"/r\",method=\"GET\",status=\"200\"}"), 4000);
  EXPECT_EQ(s.at(bucket("/r", "0.0025")), 4000);
  EXPECT_EQ(s.at(bucket("/r", "0.001")), 0);
  EXPECT_EQ(s.at("maeul_http_request_duration_seconds_count{route=\"/r\"}"), 4000);
}

TEST(metrics, process_metrics_report_memory_and_start_time) {
  auto s = samples(maeul::api::process_metrics());
  ASSERT_TRUE(s.count("process_resident_memory_bytes"));
  EXPECT_GT(s.at("process_resident_memory_bytes"), 0);
  EXPECT_GE(s.at("process_virtual_memory_bytes"), s.at("process_resident_memory_bytes"));
  EXPECT_GT(s.at("process_start_time_seconds"), 1.5e9);  // after 2017: a real epoch time
  EXPECT_GT(s.at("process_open_fds"), 0);
}
