// GTFS parsing and row checks (transit/gtfs.hpp).
#include "maeul/transit/gtfs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace maeul::transit {
namespace {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

template <class T>
std::optional<T> number(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  T v{};
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  } else {
    auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  }
  return v;
}

// One file's rows with their field accessors and error reporting.
struct reader {
  const csv_table& t;
  std::string file;
  gtfs_result& out;
  std::size_t max_errors;
  std::size_t i = 0;
  bool bad = false;

  std::string get(std::string_view name) const {
    int c = t.column(name);
    if (c < 0 || std::size_t(c) >= t.rows[i].size()) return {};
    return trim(t.rows[i][c]);
  }
  void error(const std::string& field, const std::string& detail) {
    if (bad) return;  // one error a row
    bad = true;
    ++out.total_errors;
    ++out.files[file].errors;
    if (out.errors.size() < max_errors) out.errors.push_back({file, int(i), t.lines[i], field, detail});
  }
  std::string required(std::string_view name) {
    auto v = get(name);
    if (v.empty()) error(std::string(name), "is required");
    return v;
  }
};

// Runs `row` over each row of `file` (when present), counting rows and imported ones.
template <class F>
void each_row(const std::map<std::string, csv_table>& tables, const std::string& file, gtfs_result& out,
              std::size_t max_errors, F row) {
  auto it = tables.find(file);
  if (it == tables.end()) return;
  auto& count = out.files[file];
  reader r{it->second, file, out, max_errors};
  for (r.i = 0; r.i < it->second.rows.size(); ++r.i) {
    r.bad = false;
    ++count.rows;
    row(r);
    if (!r.bad) ++count.imported;
  }
}

}  // namespace

int csv_table::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  return -1;
}

namespace {
// The line of the first byte that is not well-formed UTF-8, or 0.
int first_bad_utf8_line(std::string_view s) {
  int line = 1;
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) { n = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 2;
    else if (c == 0xED) { n = 2; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 2;
    else if (c == 0xF0) { n = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) { n = 3; hi = 0x8F; }
    else return line;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return line;
      auto d = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) return line;
    }
    i += n + 1;
  }
  return 0;
}
}  // namespace

csv_table parse_csv(std::string_view text) {
  csv_usage used;
  return parse_csv(text, csv_limits{}, used);
}

csv_table parse_csv(std::string_view text, const csv_limits& limits, csv_usage& used) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (int bad = first_bad_utf8_line(text))
    throw std::runtime_error("is not UTF-8 (line " + std::to_string(bad) +
                             "); GTFS files are UTF-8: convert it (e.g. from CP949/EUC-KR) and import again");
  csv_table t;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_quotes = false, row_has_content = false;
  int line = 1, row_line = 1, quote_line = 0;
  auto end_field = [&] {
    if (row.size() >= limits.max_fields_per_row)
      throw std::runtime_error("line " + std::to_string(row_line) + " has more than " +
                               std::to_string(limits.max_fields_per_row) + " fields");
    if (++used.fields > limits.max_fields)
      throw std::runtime_error("the feed holds more than " + std::to_string(limits.max_fields) + " fields");
    row.push_back(std::move(field));
    field.clear();
    quoted = false;
  };
  auto end_row = [&] {
    end_field();
    bool empty = row.size() == 1 && row[0].empty() && !row_has_content;
    if (!empty) {
      if (++used.rows > limits.max_rows)
        throw std::runtime_error("the feed holds more than " + std::to_string(limits.max_rows) + " rows");
      if (t.header.empty() && t.rows.empty() && t.lines.empty()) {
        for (auto& h : row) t.header.push_back(trim(h));
      } else {
        t.rows.push_back(std::move(row));
        t.lines.push_back(row_line);
      }
    }
    row.clear();
    row_has_content = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !quoted && trim(field).empty()) {
      field.clear();
      in_quotes = quoted = row_has_content = true;
      quote_line = line;
    } else if (c == ',') {
      row_has_content = true;
      end_field();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
    } else {
      if (c != ' ' && c != '\t') row_has_content = true;
      field += c;
    }
  }
  if (in_quotes) throw std::runtime_error("a quoted field opened on line " + std::to_string(quote_line) + " never closes");
  if (!field.empty() || !row.empty() || row_has_content) end_row();
  return t;
}

std::optional<int> parse_gtfs_time(std::string_view text) {
  std::string s = trim(text);
  auto c1 = s.find(':');
  if (c1 == std::string::npos || c1 == 0 || c1 > 3 || s.size() != c1 + 6 || s[c1 + 3] != ':') return std::nullopt;
  auto h = number<int>(std::string_view(s).substr(0, c1));
  auto m = number<int>(std::string_view(s).substr(c1 + 1, 2));
  auto sec = number<int>(std::string_view(s).substr(c1 + 4, 2));
  if (!h || !m || !sec || *h < 0 || *m < 0 || *m > 59 || *sec < 0 || *sec > 59) return std::nullopt;
  return *h * 3600 + *m * 60 + *sec;
}

std::optional<std::string> parse_gtfs_date(std::string_view text) {
  std::string s = trim(text);
  if (s.size() != 8 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(4, 2)), d = std::stoi(s.substr(6, 2));
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  return s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2);
}

gtfs_result parse_gtfs(std::map<std::string, std::string> files, std::size_t max_errors, const csv_limits& limits) {
  gtfs_result out;
  static const std::set<std::string> known = {"agency.txt",   "stops.txt",    "routes.txt",         "trips.txt",
                                              "stop_times.txt", "calendar.txt", "calendar_dates.txt", "frequencies.txt",
                                              "shapes.txt"};
  std::map<std::string, csv_table> tables;
  csv_usage used;
  for (auto& [path, content] : files) {
    auto slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (!known.count(base) || tables.count(base)) continue;
    try {
      tables[base] = parse_csv(content, limits, used);
      std::string().swap(content);  // the text is no longer needed: free it before the next file
    } catch (const std::exception& e) {
      out.fatal = base + ": " + e.what();
      return out;
    }
    out.files[base].present = true;
  }
  for (const char* f : {"agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt"})
    if (!tables.count(f)) out.missing.push_back(f);
  if (!tables.count("calendar.txt") && !tables.count("calendar_dates.txt"))
    out.missing.push_back("calendar.txt or calendar_dates.txt");
  if (!out.missing.empty()) return out;
  auto& feed = out.feed;

  std::unordered_set<std::string> agency_ids;
  each_row(tables, "agency.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_agency a{r.get("agency_id"), r.required("agency_name"), r.required("agency_url"),
                           r.required("agency_timezone")};
    if (!r.bad && !agency_ids.insert(a.id).second) r.error("agency_id", "repeats agency \"" + a.id + "\"");
    if (!r.bad) feed.agencies.push_back(std::move(a));
  });

  std::unordered_set<std::string> stop_ids;
  each_row(tables, "stops.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_stop s;
    s.id = r.required("stop_id");
    s.name = r.get("stop_name");
    s.code = r.get("stop_code");
    s.parent = r.get("parent_station");
    auto lt = r.get("location_type");
    if (!lt.empty()) {
      auto v = number<int>(lt);
      if (!v || *v < 0 || *v > 4) return r.error("location_type", "must be 0 to 4");
      s.location_type = *v;
    }
    auto lat = r.get("stop_lat"), lon = r.get("stop_lon");
    bool needs = s.location_type <= 2;
    if (!lat.empty() || !lon.empty() || needs) {
      auto la = number<double>(lat), lo = number<double>(lon);
      if (!la || *la < -90 || *la > 90) return r.error("stop_lat", "must be a latitude in degrees");
      if (!lo || *lo < -180 || *lo > 180) return r.error("stop_lon", "must be a longitude in degrees");
      s.lat = la;
      s.lon = lo;
    }
    if (!r.bad && !stop_ids.insert(s.id).second) r.error("stop_id", "repeats stop \"" + s.id + "\"");
    if (!r.bad) feed.stops.push_back(std::move(s));
  });

  std::unordered_set<std::string> route_ids;
  each_row(tables, "routes.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_route x;
    x.id = r.required("route_id");
    x.agency_id = r.get("agency_id");
    x.short_name = r.get("route_short_name");
    x.long_name = r.get("route_long_name");
    x.color = r.get("route_color");
    x.text_color = r.get("route_text_color");
    auto t = number<int>(r.get("route_type"));
    if (!r.bad && !t) return r.error("route_type", "is required and must be an integer");
    if (t) x.type = *t;
    if (!r.bad && x.short_name.empty() && x.long_name.empty())
      return r.error("route_short_name", "route_short_name or route_long_name is required");
    if (!r.bad && !x.agency_id.empty() && !agency_ids.count(x.agency_id))
      return r.error("agency_id", "no agency \"" + x.agency_id + "\"");
    if (!r.bad && x.agency_id.empty() && agency_ids.size() > 1)
      return r.error("agency_id", "is required when the feed has several agencies");
    if (!r.bad && !route_ids.insert(x.id).second) r.error("route_id", "repeats route \"" + x.id + "\"");
    if (!r.bad) feed.routes.push_back(std::move(x));
  });

  std::unordered_set<std::string> service_ids;
  each_row(tables, "calendar.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_calendar c;
    c.service_id = r.required("service_id");
    static const char* days[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
    for (int d = 0; d < 7 && !r.bad; ++d) {
      auto v = r.get(days[d]);
      if (v != "0" && v != "1") return r.error(days[d], "must be 0 or 1");
      if (v == "1") c.days |= 1 << d;
    }
    if (r.bad) return;
    auto s = parse_gtfs_date(r.get("start_date")), e = parse_gtfs_date(r.get("end_date"));
    if (!s) return r.error("start_date", "must be a date YYYYMMDD");
    if (!e) return r.error("end_date", "must be a date YYYYMMDD");
    if (*e < *s) return r.error("end_date", "is before start_date");
    c.start_date = *s;
    c.end_date = *e;
    if (!service_ids.insert(c.service_id).second) return r.error("service_id", "repeats service \"" + c.service_id + "\"");
    feed.calendars.push_back(std::move(c));
  });
  std::set<std::pair<std::string, std::string>> cal_dates;
  each_row(tables, "calendar_dates.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_calendar_date c;
    c.service_id = r.required("service_id");
    if (r.bad) return;
    auto d = parse_gtfs_date(r.get("date"));
    if (!d) return r.error("date", "must be a date YYYYMMDD");
    auto t = r.get("exception_type");
    if (t != "1" && t != "2") return r.error("exception_type", "must be 1 (added) or 2 (removed)");
    c.date = *d;
    c.exception_type = t == "1" ? 1 : 2;
    if (!cal_dates.insert({c.service_id, c.date}).second) return r.error("date", "repeats this service and date");
    service_ids.insert(c.service_id);
    feed.calendar_dates.push_back(std::move(c));
  });

  // shapes before trips, so that a trip's shape_id can be checked
  std::map<std::string, std::vector<std::pair<double, storage::gtfs_shape_point>>> shape_pts;
  each_row(tables, "shapes.txt", out, max_errors, [&](reader& r) {
    auto id = r.required("shape_id");
    if (r.bad) return;
    auto la = number<double>(r.get("shape_pt_lat")), lo = number<double>(r.get("shape_pt_lon"));
    auto seq = number<double>(r.get("shape_pt_sequence"));
    if (!la || *la < -90 || *la > 90) return r.error("shape_pt_lat", "must be a latitude in degrees");
    if (!lo || *lo < -180 || *lo > 180) return r.error("shape_pt_lon", "must be a longitude in degrees");
    if (!seq || *seq < 0) return r.error("shape_pt_sequence", "must be a non-negative integer");
    shape_pts[id].push_back({*seq, {*lo, *la}});
  });
  for (auto& [id, pts] : shape_pts) {
    std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    storage::gtfs_shape s{id, {}};
    for (auto& p : pts) s.points.push_back(p.second);
    if (s.points.size() >= 2) feed.shapes.push_back(std::move(s));
  }
  std::unordered_set<std::string> shape_ids;
  for (auto& s : feed.shapes) shape_ids.insert(s.id);

  std::unordered_map<std::string, std::uint32_t> trip_ids;  // trip id -> its index (for the stop times' key)
  each_row(tables, "trips.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_trip t;
    t.route_id = r.required("route_id");
    t.service_id = r.required("service_id");
    t.id = r.required("trip_id");
    if (r.bad) return;
    t.shape_id = r.get("shape_id");
    t.headsign = r.get("trip_headsign");
    auto dir = r.get("direction_id");
    if (!dir.empty()) {
      if (dir != "0" && dir != "1") return r.error("direction_id", "must be 0 or 1");
      t.direction_id = dir == "1" ? 1 : 0;
    }
    if (!route_ids.count(t.route_id)) return r.error("route_id", "no route \"" + t.route_id + "\"");
    if (!service_ids.count(t.service_id))
      return r.error("service_id", "no service \"" + t.service_id + "\" in calendar.txt or calendar_dates.txt");
    if (!t.shape_id.empty() && !shape_ids.count(t.shape_id)) return r.error("shape_id", "no shape \"" + t.shape_id + "\"");
    if (!trip_ids.emplace(t.id, std::uint32_t(trip_ids.size())).second) return r.error("trip_id", "repeats trip \"" + t.id + "\"");
    feed.trips.push_back(std::move(t));
  });

  // (trip index, stop_sequence) of the stop times kept: integers, not strings (a million rows)
  std::unordered_set<std::uint64_t> seqs;
  if (auto t = tables.find("stop_times.txt"); t != tables.end()) {
    seqs.reserve(t->second.rows.size());
    feed.stop_times.reserve(t->second.rows.size());
  }
  each_row(tables, "stop_times.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_stop_time st;
    st.trip_id = r.required("trip_id");
    st.stop_id = r.required("stop_id");
    if (r.bad) return;
    auto seq = number<int>(r.get("stop_sequence"));
    if (!seq || *seq < 0) return r.error("stop_sequence", "must be a non-negative integer");
    st.sequence = *seq;
    auto a = r.get("arrival_time"), d = r.get("departure_time");
    if (!a.empty()) {
      st.arrival_s = parse_gtfs_time(a);
      if (!st.arrival_s) return r.error("arrival_time", "must be a time HH:MM:SS (hours may pass 24)");
    }
    if (!d.empty()) {
      st.departure_s = parse_gtfs_time(d);
      if (!st.departure_s) return r.error("departure_time", "must be a time HH:MM:SS (hours may pass 24)");
    }
    if (!st.arrival_s) st.arrival_s = st.departure_s;
    if (!st.departure_s) st.departure_s = st.arrival_s;
    auto trip = trip_ids.find(st.trip_id);
    if (trip == trip_ids.end()) return r.error("trip_id", "no trip \"" + st.trip_id + "\"");
    if (!stop_ids.count(st.stop_id)) return r.error("stop_id", "no stop \"" + st.stop_id + "\"");
    if (!seqs.insert((std::uint64_t(trip->second) << 32) | std::uint32_t(st.sequence)).second)
      return r.error("stop_sequence", "repeats within its trip");
    feed.stop_times.push_back(std::move(st));
  });

  each_row(tables, "frequencies.txt", out, max_errors, [&](reader& r) {
    storage::gtfs_frequency f;
    f.trip_id = r.required("trip_id");
    if (r.bad) return;
    auto s = parse_gtfs_time(r.get("start_time")), e = parse_gtfs_time(r.get("end_time"));
    auto h = number<int>(r.get("headway_secs"));
    if (!s) return r.error("start_time", "must be a time HH:MM:SS");
    if (!e || *e <= *s) return r.error("end_time", "must be a time HH:MM:SS after start_time");
    if (!h || *h <= 0) return r.error("headway_secs", "must be a positive integer");
    auto x = r.get("exact_times");
    if (!x.empty() && x != "0" && x != "1") return r.error("exact_times", "must be 0 or 1");
    if (!trip_ids.count(f.trip_id)) return r.error("trip_id", "no trip \"" + f.trip_id + "\"");
    f.start_s = *s;
    f.end_s = *e;
    f.headway_s = *h;
    f.exact_times = x == "1";
    feed.frequencies.push_back(std::move(f));
  });
  return out;
}

}  // namespace maeul::transit
