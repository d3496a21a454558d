// MQTT topics and payloads into parsed batches (payload.hpp). The per-reading checks are those of
// an HTTP JSON body (domain::check_json_readings, shared with parse_observations), applied to the
// parsed payload with the topic's sensor standing in: an MQTT reading is judged by exactly the
// rules an HTTP one is, and the payload is parsed once.
#include "maeul/mqtt/payload.hpp"
#include "maeul/domain/encoding.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "maeul/domain/time.hpp"

namespace maeul::mqtt {
namespace {

using json = nlohmann::json;

constexpr std::string_view prefix = "maeul/v1/obs/";

parsed_message fail(std::string sensor, std::string error) {
  parsed_message m;
  m.sensor = std::move(sensor);
  m.error = std::move(error);
  return m;
}

}  // namespace

void strip_single(std::vector<domain::rejection>& rs) {
  const std::string p = "/observations/0";
  for (auto& r : rs)
    if (r.pointer.rfind(p, 0) == 0) r.pointer = r.pointer.substr(p.size());
}

std::string describe_rejections(const domain::parsed_batch& b, std::size_t max_items) {
  std::string out;
  std::size_t n = 0;
  for (const auto& r : b.rejected) {
    if (n++ == max_items) {
      out += "; and " + std::to_string(b.rejected.size() - max_items) + " more";
      break;
    }
    if (!out.empty()) out += "; ";
    out += (r.pointer.empty() ? std::string("/") : r.pointer) + ": " + r.error;
  }
  return out;
}

namespace {

// The payload through nlohmann's DOM: every shape, every refusal worded.
parsed_message from_dom(std::string_view topic, const std::string& sensor, const std::string& metric,
                        std::string_view payload, std::int64_t now_us);

// The topic's sensor and metric (empty on a sensor topic), or the refusal.
bool split_topic(std::string_view topic, std::string& sensor, std::string& metric, parsed_message& refused) {
  if (topic.substr(0, prefix.size()) != prefix) {
    refused = fail("", "topic \"" + std::string(topic) + "\" is not maeul/v1/obs/{sensor}[/{metric}]");
    return false;
  }
  auto rest = topic.substr(prefix.size());
  auto slash = rest.find('/');
  sensor = std::string(rest.substr(0, slash));
  metric = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash + 1));
  if (sensor.empty() || (slash != std::string_view::npos && (metric.empty() || metric.find('/') != std::string::npos))) {
    refused = fail(sensor, "topic \"" + std::string(topic) + "\" is not maeul/v1/obs/{sensor}[/{metric}]");
    return false;
  }
  return true;
}

}  // namespace

parsed_message detail::parse_message_dom(std::string_view topic, std::string_view payload, std::int64_t now_us) {
  std::string sensor, metric;
  parsed_message refused;
  if (!split_topic(topic, sensor, metric, refused)) return refused;
  if (payload.size() >= 3 && payload.substr(0, 3) == "\xEF\xBB\xBF") payload.remove_prefix(3);
  return from_dom(topic, sensor, metric, payload, now_us);
}

parsed_message parse_message(std::string_view topic, std::string_view payload, std::int64_t now_us) {
  std::string sensor, metric;
  parsed_message refused;
  if (!split_topic(topic, sensor, metric, refused)) return refused;
  if (payload.size() >= 3 && payload.substr(0, 3) == "\xEF\xBB\xBF") payload.remove_prefix(3);
  // Well-formed payloads of the usual shapes in one pass, no DOM; the rest (malformed, too deep,
  // a banned or foreign field...) through the DOM, where the refusal is worded.
  if (auto fast = domain::scan_topic_payload(payload, now_us, sensor, metric, max_readings)) {
    parsed_message m;
    m.sensor = sensor;
    m.batch = std::move(fast->batch);
    m.single = fast->single;
    if (m.single) strip_single(m.batch.rejected);
    return m;
  }
  return from_dom(topic, sensor, metric, payload, now_us);
}

namespace {

parsed_message from_dom(std::string_view topic, const std::string& sensor, const std::string& metric,
                        std::string_view payload, std::int64_t now_us) {
  if (domain::json_nesting_depth(payload) > domain::max_json_depth) return fail(sensor, "payload JSON nested too deeply");
  json doc;
  try {
    doc = json::parse(payload);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return fail(sensor, "payload is not JSON: " + what);
  }

  // The readings are checked where they lie in the parsed payload (domain::check_json_readings,
  // the checks of an HTTP JSON body) with the topic's sensor (and metric) standing in: one parse.
  json single_item = json::array();
  const json* items = &single_item;
  bool single = true;
  std::set<std::size_t> foreign;  // batch items naming another sensor

  if (!metric.empty()) {
    // {sensor}/{metric}: a bare number, or {"ts","value"}.
    if (doc.is_number()) {
      single_item.push_back({{"ts", domain::format_rfc3339_ms(now_us)}, {"value", std::move(doc)}});
    } else if (doc.is_object()) {
      for (const char* banned : {"sensor", "metric", "observations"})
        if (doc.contains(banned))
          return fail(sensor, std::string("payload on a metric topic must be a number or {\"ts\",\"value\"}; \"") +
                                  banned + "\" is not allowed here");
      single_item.push_back(std::move(doc));
    } else {
      return fail(sensor, "payload on a metric topic must be a number or {\"ts\",\"value\"}");
    }
  } else {
    // {sensor}: a reading {"metric","ts","value"} or a batch {"observations":[...]}.
    if (!doc.is_object())
      return fail(sensor, "payload must be a reading {\"metric\",\"ts\",\"value\"} or a batch {\"observations\":[...]}");
    auto it = doc.find("observations");
    if (it != doc.end()) {
      if (!it->is_array()) return fail(sensor, "/observations must be an array of {\"metric\",\"ts\",\"value\"}");
      if (it->size() > max_readings)
        return fail(sensor, "at most " + std::to_string(max_readings) + " readings a message");
      single = false;
      for (std::size_t i = 0; i < it->size(); ++i) {
        const json& item = (*it)[i];
        if (!item.is_object()) continue;
        auto s = item.find("sensor");
        if (s != item.end() && !(s->is_string() && s->get_ref<const std::string&>() == sensor)) foreign.insert(i);
      }
      items = &*it;
    } else {
      if (auto s = doc.find("sensor"); s != doc.end() && !(s->is_string() && s->get_ref<const std::string&>() == sensor))
        return fail(sensor, "/sensor names another sensor than the topic \"" + std::string(topic) + "\"");
      single_item.push_back(std::move(doc));
    }
  }

  auto parsed = domain::check_json_readings(*items, now_us, sensor, metric);
  parsed_message m;
  m.sensor = sensor;
  m.batch = std::move(parsed);
  if (!foreign.empty()) {
    auto& b = m.batch;
    std::erase_if(b.readings, [&](const domain::candidate& c) { return foreign.count(c.index) > 0; });
    std::erase_if(b.rejected, [&](const domain::rejection& r) { return foreign.count(r.index) > 0; });
    for (auto i : foreign)
      b.rejected.push_back({i, "names another sensor than the topic's \"" + sensor + "\"",
                            "/observations/" + std::to_string(i) + "/sensor"});
    std::sort(b.rejected.begin(), b.rejected.end(),
              [](const domain::rejection& a, const domain::rejection& c) { return a.index < c.index; });
  }
  m.single = single;
  if (single) strip_single(m.batch.rejected);
  return m;
}

}  // namespace

}  // namespace maeul::mqtt
