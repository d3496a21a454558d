// Micro-benchmark of the observation body parser alone (no HTTP, no database): the one-pass
// scanner (domain::parse_observations) against the DOM reading it replaced
// (domain::detail::parse_json_body_dom), on the same bodies in the same run, alternating rounds.
// Bodies are those of build/maeul_bench_ingest: {"observations":[...]} with `--readings` readings
// of sensors bench-0000.., metric "v". Also NDJSON lines and MQTT batch payloads (mqtt::parse_message).
// Prints MB/s per round and the median ratio new/old. Not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/domain/observation.hpp"
#include "maeul/mqtt/payload.hpp"

namespace {

namespace d = maeul::domain;

constexpr std::int64_t now_us = 1795222800LL * 1000000;  // 2026-11-21T01:00:00Z

std::string body_of(int readings, bool with_sensor, const char* sep, const char* open, const char* close) {
  std::string b = open;
  char buf[256];
  for (int k = 0; k < readings; ++k) {
    int ms = k % 1000, s = k / 1000;
    int n = with_sensor ? std::snprintf(buf, sizeof buf,
                                        "%s{\"sensor\":\"bench-%04d\",\"metric\":\"v\",\"ts\":\"2026-11-20T23:%02d:%02d.%03dZ\",\"value\":%.2f}",
                                        k ? sep : "", k % 1000, (s / 60) % 60, s % 60, ms, (k % 997) * 0.37)
                        : std::snprintf(buf, sizeof buf, "%s{\"metric\":\"v\",\"ts\":\"2026-11-20T23:%02d:%02d.%03dZ\",\"value\":%.2f}",
                                        k ? sep : "", (s / 60) % 60, s % 60, ms, (k % 997) * 0.37);
    b.append(buf, std::size_t(n));
  }
  return b + close;
}

// MB/s of `parse` over `body`, run for about `seconds`; `check` must hold for each result.
double rate(const std::string& body, double seconds, const std::function<std::size_t()>& parse, std::size_t want) {
  using clock = std::chrono::steady_clock;
  std::size_t runs = 0, bytes = 0;
  auto start = clock::now();
  double elapsed = 0;
  do {
    if (parse() != want) {
      std::fprintf(stderr, "parse gave a different count of readings\n");
      std::exit(1);
    }
    ++runs;
    bytes += body.size();
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return double(bytes) / elapsed / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int readings = 1000, rounds = 5;
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--readings") readings = std::atoi(argv[i + 1]);
    else if (k == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  const auto n = std::size_t(readings);
  const std::string json_body = body_of(readings, true, ",", "{\"observations\":[", "]}");
  const std::string ndjson_body = body_of(readings, true, "\n", "", "\n");
  const std::string mqtt_body = body_of(readings, false, ",", "{\"observations\":[", "]}");

  struct pair_case {
    const char* name;
    const std::string* body;
    std::function<std::size_t()> old_parse, new_parse;
  };
  std::vector<pair_case> cases = {
      {"json body", &json_body,
       [&] { return d::detail::parse_json_body_dom(json_body, now_us)->readings.size(); },
       [&] { return d::parse_observations(json_body, d::body_format::json, now_us)->readings.size(); }},
      {"ndjson body (old: a DOM per line)", &ndjson_body,
       [&] {
         // the old per-line path: nlohmann::json::parse of each line into a one-item array
         std::size_t got = 0, pos = 0;
         while (pos < ndjson_body.size()) {
           auto nl = ndjson_body.find('\n', pos);
           auto line = std::string_view(ndjson_body).substr(pos, nl - pos);
           pos = nl + 1;
           auto items = nlohmann::json::array({nlohmann::json::parse(line)});
           got += d::check_json_readings(items, now_us, items[0]["sensor"].get<std::string>(), "").readings.size();
         }
         return got;
       },
       [&] { return d::parse_observations(ndjson_body, d::body_format::ndjson, now_us)->readings.size(); }},
      {"mqtt batch payload", &mqtt_body,
       [&] { return maeul::mqtt::detail::parse_message_dom("maeul/v1/obs/bench-0001", mqtt_body, now_us).batch.readings.size(); },
       [&] { return maeul::mqtt::parse_message("maeul/v1/obs/bench-0001", mqtt_body, now_us).batch.readings.size(); }},
  };

  std::printf("parser micro-benchmark: %d readings a body (%zu bytes JSON), %d rounds of %.2f s each side\n", readings,
              json_body.size(), rounds, seconds);
  for (auto& c : cases) {
    std::vector<double> olds, news, ratios;
    for (int r = 0; r < rounds; ++r) {
      double o = rate(*c.body, seconds, c.old_parse, n);
      double w = rate(*c.body, seconds, c.new_parse, n);
      olds.push_back(o);
      news.push_back(w);
      ratios.push_back(w / o);
      std::printf("  %-44s round %d: old %8.1f MB/s  new %8.1f MB/s  %5.2fx\n", c.name, r + 1, o, w, w / o);
    }
    std::printf("%-46s median: old %8.1f MB/s  new %8.1f MB/s  %5.2fx\n", c.name, median(olds), median(news),
                median(ratios));
  }
  return 0;
}
