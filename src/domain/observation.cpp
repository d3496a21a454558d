// Parsing of observation bodies: JSON {"observations":[...]}, NDJSON and CSV.
#include "maeul/domain/observation.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "maeul/domain/encoding.hpp"
#include "maeul/domain/time.hpp"

namespace maeul::domain {
namespace {

using json = nlohmann::json;

// Per-reading checks. A reading's JSON pointer is `prefix` + its index (+ "/field"), built only
// when the reading is rejected: accepted readings cost no pointer strings.
struct checker {
  std::int64_t now_us;
  parsed_batch& out;
  std::string_view prefix;

  void reject(std::size_t index, std::string error, const char* field = nullptr) {
    std::string pointer(prefix);
    pointer += std::to_string(index);
    if (field) {
      pointer += '/';
      pointer += field;
    }
    out.rejected.push_back({index, std::move(error), std::move(pointer)});
  }

  // Checks the time and appends the reading, or rejects it.
  void add(std::size_t index, std::string sensor, std::string metric, std::string_view ts_text, double value) {
    if (sensor.empty()) return reject(index, "sensor is required", "sensor");
    if (metric.empty()) return reject(index, "metric is required", "metric");
    auto ts = parse_rfc3339(ts_text);
    if (!ts) return reject(index, "ts must be an RFC 3339 time with an offset", "ts");
    if (*ts > now_us + max_future_us) return reject(index, "ts is more than 5 minutes in the future", "ts");
    if (*ts < earliest_reading_us) return reject(index, "ts is before 1970-01-01T00:00:00Z, the earliest time stored", "ts");
    if (!std::isfinite(value)) return reject(index, "value must be a finite number", "value");
    out.readings.push_back({std::move(sensor), std::move(metric), *ts, value, index});
  }

  // `sensor`/`metric`, when set, stand in for the reading's own fields (as if it carried them).
  void add_json(std::size_t index, const json& r, const std::string* sensor = nullptr,
                const std::string* metric = nullptr) {
    if (!r.is_object()) return reject(index, "a reading must be an object {sensor, metric, ts, value}");
    auto s = sensor ? r.end() : r.find("sensor");
    auto m = metric ? r.end() : r.find("metric");
    auto t = r.find("ts");
    auto v = r.find("value");
    if (!sensor && (s == r.end() || !s->is_string())) return reject(index, "sensor must be a string", "sensor");
    if (!metric && (m == r.end() || !m->is_string())) return reject(index, "metric must be a string", "metric");
    if (t == r.end() || !t->is_string()) return reject(index, "ts must be an RFC 3339 string", "ts");
    if (v == r.end() || !v->is_number()) return reject(index, "value must be a number", "value");
    add(index, sensor ? *sensor : s->get_ref<const std::string&>(), metric ? *metric : m->get_ref<const std::string&>(),
        t->get_ref<const std::string&>(), v->get<double>());
  }
};

outcome<json> parse_json(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return make_problem(problem_kind::malformed, "malformed JSON: " + what);
  }
}

problem too_many(std::size_t max) {
  return make_problem(problem_kind::too_large, "at most " + std::to_string(max) + " readings a request");
}

}  // namespace

parsed_batch check_json_readings(const json& items, std::int64_t now_us, const std::string& sensor,
                                 const std::string& metric) {
  parsed_batch out;
  out.pointer_prefix = "/observations/";
  checker check{now_us, out, out.pointer_prefix};
  if (!items.is_array()) return out;
  out.total = items.size();
  out.readings.reserve(out.total);
  for (std::size_t i = 0; i < items.size(); ++i) check.add_json(i, items[i], &sensor, metric.empty() ? nullptr : &metric);
  return out;
}

std::vector<std::string> csv_record(std::string_view text, std::size_t& pos) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, any = false;
  while (pos < text.size()) {
    char c = text[pos];
    if (quoted) {
      if (c == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          field += '"';
          pos += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      ++pos;
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = true;
      any = true;
      ++pos;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      ++pos;
    } else if (c == '\r' || c == '\n') {
      ++pos;
      if (c == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
      fields.push_back(std::move(field));
      return fields;
    } else {
      field += c;
      any = true;
      ++pos;
    }
  }
  if (any || !fields.empty()) fields.push_back(std::move(field));
  return fields;
}

outcome<parsed_batch> parse_observations(std::string_view body, body_format format, std::int64_t now_us,
                                         std::size_t max_readings) {
  parsed_batch out;
  checker check{now_us, out, "/"};
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // BOM

  if (format == body_format::json) {
    auto doc = parse_json(body);
    if (!doc) return doc.error();
    auto it = doc->is_object() ? doc->find("observations") : doc->end();
    if (!doc->is_object() || it == doc->end() || !it->is_array())
      return invalid({{"/observations", {}, "is required: an array of {sensor, metric, ts, value}"}});
    if (it->size() > max_readings) return too_many(max_readings);
    out.total = it->size();
    out.pointer_prefix = "/observations/";
    check.prefix = out.pointer_prefix;
    out.readings.reserve(out.total);
    for (std::size_t i = 0; i < it->size(); ++i) check.add_json(i, (*it)[i]);
    return out;
  }

  if (format == body_format::ndjson) {
    std::size_t pos = 0, index = 0;
    while (pos < body.size()) {
      auto nl = body.find_first_of("\n\x1E", pos);  // a json-seq record separator ends a record too
      auto line = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? body.size() : nl + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (line.empty()) continue;
      if (index >= max_readings) return too_many(max_readings);
      // Each line is held to the limits of a JSON body, before any parser sees it.
      if (line.size() > max_ndjson_line_bytes)
        return make_problem(problem_kind::malformed, "line " + std::to_string(index + 1) + " is longer than " +
                                                         std::to_string(max_ndjson_line_bytes) + " bytes");
      if (json_nesting_depth(line) > max_json_depth)
        return make_problem(problem_kind::malformed, "line " + std::to_string(index + 1) + " is JSON nested deeper than " +
                                                         std::to_string(max_json_depth) + " levels");
      json j;
      try {
        j = json::parse(line);
      } catch (const json::exception&) {
        j = json(json::value_t::discarded);
      }
      if (j.is_discarded())
        check.reject(index, "line " + std::to_string(index + 1) + " is not a JSON object");
      else
        check.add_json(index, j);
      ++index;
    }
    out.total = index;
    return out;
  }

  // CSV: a header naming sensor, metric, ts and value, in any order.
  std::size_t pos = 0;
  auto header = csv_record(body, pos);
  int col_sensor = -1, col_metric = -1, col_ts = -1, col_value = -1;
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string h = header[i];
    while (!h.empty() && h.back() == ' ') h.pop_back();
    while (!h.empty() && h.front() == ' ') h.erase(h.begin());
    if (h == "sensor") col_sensor = int(i);
    else if (h == "metric") col_metric = int(i);
    else if (h == "ts") col_ts = int(i);
    else if (h == "value") col_value = int(i);
  }
  if (col_sensor < 0 || col_metric < 0 || col_ts < 0 || col_value < 0)
    return invalid({{"/0", {}, "the CSV header must name the columns sensor, metric, ts and value"}});
  std::size_t index = 0;
  std::size_t need = std::size_t(std::max({col_sensor, col_metric, col_ts, col_value})) + 1;
  while (pos < body.size()) {
    auto rec = csv_record(body, pos);
    if (rec.empty() || (rec.size() == 1 && rec[0].empty())) continue;
    if (index >= max_readings) return too_many(max_readings);
    if (rec.size() < need) {
      check.reject(index, "the row has " + std::to_string(rec.size()) + " fields; the header needs " +
                              std::to_string(need));
    } else {
      const std::string& v = rec[std::size_t(col_value)];
      auto value = parse_number<double>(v);
      if (!value)
        check.reject(index, "value must be a number", "value");
      else
        check.add(index, rec[std::size_t(col_sensor)], rec[std::size_t(col_metric)], rec[std::size_t(col_ts)], *value);
    }
    ++index;
  }
  out.total = index;
  return out;
}

}  // namespace maeul::domain
