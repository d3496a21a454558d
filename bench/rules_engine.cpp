// The rule engine's cost per reading, in process: 10,000 sensors, threshold rules (never
// tripping), batches of 1,000 readings as ingestion commits them. Prints nanoseconds per reading
// with no rules (the baseline: the walk over the batch) and with the rules, and the time
// set_rules takes (what every rule create, change or delete costs: the engine is rebuilt).
//   maeul_bench_rules [RULES] [--spread]
// Default layout: sensors over 100 kinds, rule j selects kind j % 100, so a reading concerns
// RULES / 100 rules. --spread: sensors over RULES / 10 kinds (at least 1), 10 rules a kind, so a
// reading concerns exactly 10 rules whatever RULES is (the growth case: the cost must not follow
// RULES). Run by scripts/bench (MAEUL_BENCH_ONLY=rules and growth-rules); not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"

namespace r = maeul::rules;

int main(int argc, char** argv) {
  int n_rules = 1000;
  bool spread = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--spread") == 0) spread = true;
    else n_rules = std::atoi(argv[i]);
  }
  const int sensors = 10000, batches = 2000;
  const int kinds = spread ? std::max(1, n_rules / 10) : 100;
  std::vector<r::sensor_info> infos;
  for (int i = 0; i < sensors; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "rb-%04d", i);
    infos.push_back({id, "bench_k" + std::to_string(i % kinds), "environment", "", 0});
  }
  std::vector<r::rule> rules;
  for (int j = 0; j < n_rules; ++j) {
    nlohmann::json b = {{"id", "rb-rule-" + std::to_string(j)}, {"name", "bench"}, {"kind", "threshold"},
                        {"selector", {{"kind", "bench_k" + std::to_string(j % kinds)}}}, {"metric", "v"},
                        {"op", ">"}, {"value", 1e9 + j}, {"severity", "info"}};
    auto o = r::parse_rule(b);
    if (!o) return 1;
    rules.push_back(o.value());
  }
  auto run = [&](r::engine& e) {
    std::vector<r::reading> batch(1000);
    std::int64_t ts = 1700000000LL * 1000000, k = 0;
    std::size_t transitions = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) {
      for (auto& rd : batch) {
        const auto& s = infos[k % sensors];
        rd = {s, "v", ts + (k / sensors) * 10000, double(k % 97)};
        ++k;
      }
      transitions += e.on_readings(batch).size();
    }
    auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    if (transitions) std::fprintf(stderr, "unexpected transitions: %zu\n", transitions);
    return ns / double(k);
  };
  r::engine none, with;
  // set_rules: the best of 5 (a copy of the rules each time, as a reload hands them over)
  double set_ms = 1e300;
  for (int i = 0; i < 5; ++i) {
    auto copy = rules;
    auto t0 = std::chrono::steady_clock::now();
    with.set_rules(std::move(copy));
    set_ms = std::min(set_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  run(with);  // warm: every (rule, sensor) state exists
  auto before = with.evaluations();
  double a = run(none), b = run(with);
  double per_reading = double(with.evaluations() - before) / (double(batches) * 1000.0);
  std::printf("ns_per_reading_no_rules=%.1f ns_per_reading_rules=%.1f evaluations=%lld rules=%d kinds=%d "
              "checks_per_reading=%.2f set_rules_ms=%.3f\n",
              a, b, (long long)with.evaluations(), n_rules, kinds, per_reading, set_ms);
}
