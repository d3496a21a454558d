// Reading the Ordonez ADL files and replaying them through the rule engine (adl.hpp).
#include "welfare/adl.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <stdexcept>

namespace maeul::adl {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !blank(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool number(std::string_view s, int& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return std::int64_t(era) * 146097 + doe - 719468;
}

// Reads rows of at least `min_fields` fields, the first four two times; `make` builds the row.
template <class Row, class Make>
std::vector<Row> read_rows(std::istream& in, read_report& report, std::size_t min_fields, Make make) {
  std::vector<Row> out;
  std::string line;
  while (std::getline(in, line)) {
    ++report.lines;
    auto f = fields(line);
    if (f.empty()) continue;
    auto skip = [&](const std::string& why) {
      report.skipped.push_back("line " + std::to_string(report.lines) + ": " + why);
    };
    if (f.size() < min_fields) {
      skip("only " + std::to_string(f.size()) + " fields");
      continue;
    }
    auto start = parse_time(f[0], f[1]), end = parse_time(f[2], f[3]);
    if (!start || !end) {
      skip("no start and end time (a header?)");
      continue;
    }
    if (*end < *start) {
      skip("ends before it starts");
      continue;
    }
    out.push_back(make(*start, *end, f));
    ++report.rows;
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> parse_time(std::string_view date, std::string_view time) {
  int y, mo, d, h, mi, s;
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' || time.size() != 8 || time[2] != ':' || time[5] != ':')
    return std::nullopt;
  if (!number(date.substr(0, 4), y) || !number(date.substr(5, 2), mo) || !number(date.substr(8, 2), d) ||
      !number(time.substr(0, 2), h) || !number(time.substr(3, 2), mi) || !number(time.substr(6, 2), s))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 * 1000000LL + s * 1000000LL;
}

std::vector<activation> read_sensors(std::istream& in, read_report& report) {
  return read_rows<activation>(in, report, 6, [](std::int64_t a, std::int64_t b, const auto& f) {
    return activation{a, b, std::string(f[4]), std::string(f[5]), f.size() > 6 ? std::string(f[6]) : std::string()};
  });
}

std::vector<label> read_labels(std::istream& in, read_report& report) {
  return read_rows<label>(in, report, 5,
                          [](std::int64_t a, std::int64_t b, const auto& f) { return label{a, b, std::string(f[4])}; });
}

home load_home(const std::string& dir, const std::string& name) {
  home h;
  h.name = name;
  auto open = [&](const std::string& file) {
    std::ifstream in(dir + "/" + file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + dir + "/" + file);
    return in;
  };
  auto s = open("Ordonez" + name + "_Sensors.txt");
  h.sensors = read_sensors(s, h.sensors_report);
  auto l = open("Ordonez" + name + "_ADLs.txt");
  h.labels = read_labels(l, h.labels_report);
  return h;
}

std::vector<std::int64_t> activity_times(const home& h) {
  std::vector<std::int64_t> t;
  t.reserve(h.sensors.size() * 2);
  for (const auto& a : h.sensors) {
    t.push_back(a.start_us);
    t.push_back(a.end_us);
  }
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

std::string label_at(const home& h, std::int64_t t) {
  for (const auto& l : h.labels)
    if (l.start_us <= t && t <= l.end_us) return l.activity;
  return {};
}

replay_result replay(const rules::rule& rule, const std::vector<std::int64_t>& times, const replay_options& o) {
  rules::engine e;
  e.set_rules({rule});
  rules::sensor_info info{sensor_id, "home_activity", "welfare", "", 0};
  replay_result res;
  auto record = [&](const std::vector<rules::transition>& ts) {
    for (const auto& t : ts) {
      (t.open ? res.opened : res.cleared).push_back(t.at_us);
      if (t.open) res.opened_messages.push_back(t.message);
    }
  };
  const bool inactivity = std::holds_alternative<rules::inactivity_rule>(rule.spec);
  const std::int64_t ticks_from = std::max(o.begin_us, o.ticks_from_us);
  std::int64_t next_tick = ticks_from == o.begin_us
                               ? o.begin_us
                               : o.begin_us + (ticks_from - o.begin_us + o.tick_us - 1) / o.tick_us * o.tick_us;
  auto tick_until = [&](std::int64_t t) {  // every tick strictly before t
    for (; next_tick < t && next_tick <= o.end_us; next_tick += o.tick_us) {
      record(e.on_tick(next_tick, {info}, o.begin_us));
      ++res.ticks;
      if (inactivity && res.learned_at_us < 0)
        if (const auto* m = e.routine_of(rule.id, sensor_id); m && m->learned()) res.learned_at_us = next_tick;
    }
  };
  std::vector<rules::reading> one(1);
  for (auto t : times) {
    if (t < o.begin_us) continue;
    if (t > o.end_us) break;
    if (o.stop_for_us > 0 && t > o.stop_us && t <= o.stop_us + o.stop_for_us) continue;
    tick_until(t);
    info.last_ts_us = t;
    one[0] = {info, "active", t, 1};
    record(e.on_readings(one));
    ++res.readings;
  }
  tick_until(o.end_us + 1);
  return res;
}

}  // namespace maeul::adl
