// The rule engine's cost per reading, in process: 10,000 sensors over 100 kinds, 1,000 threshold
// rules (10 per kind, never tripping), batches of 1,000 readings as ingestion commits them. Prints
// nanoseconds per reading with no rules (the baseline: the walk over the batch) and with the rules.
// Run by scripts/bench (MAEUL_BENCH_ONLY=rules); not a test.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"

namespace r = maeul::rules;

int main(int argc, char** argv) {
  const int sensors = 10000, kinds = 100, n_rules = argc > 1 ? std::atoi(argv[1]) : 1000, batches = 2000;
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
  with.set_rules(rules);
  run(with);  // warm: every (rule, sensor) state exists
  double a = run(none), b = run(with);
  std::printf("ns_per_reading_no_rules=%.1f ns_per_reading_rules=%.1f evaluations=%lld\n", a, b,
              (long long)with.evaluations());
}
