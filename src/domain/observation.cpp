// Parsing of observation bodies: JSON {"observations":[...]}, NDJSON and CSV.
#include "maeul/domain/observation.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

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

// ---- single-pass scanner for the JSON shapes of a reading (no DOM)
//
// Contract: the scanner accepts exactly what nlohmann::json::parse accepts, or less. Whenever it
// meets anything it does not take (a syntax error, invalid UTF-8, a number strtod cannot hold
// as from_chars does, nesting deeper than max_json_depth, a shape that makes the whole body
// unusable), it gives up and the caller runs the DOM path on the same text, so every refusal
// and its wording stays nlohmann's. Per-reading outcomes are decided exactly as add_json does.
class scanner {
 public:
  explicit scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  bool peek_digit() const { return p_ < end_ && is_digit(*p_); }
  bool peek(char c) const { return p_ < end_ && *p_ == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }

  // A string at '"'. `out` views the text when it holds no escape, else `buf` (decoded).
  bool string(std::string_view& out, std::string& buf) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, std::size_t(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') {
        buf.assign(start, p_);
        if (!escaped_rest(buf)) return false;
        out = buf;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!utf8()) return false;
      } else {
        ++p_;
      }
    }
    return false;
  }

  // A number at its first character. `integer`: written without fraction or exponent.
  bool number(double& out) {
    const char* start = p_;
    bool integer = true;
    eat('-');
    if (eat('0')) {
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (eat('.')) {
      integer = false;
      if (!(p_ < end_ && is_digit(*p_))) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!(p_ < end_ && is_digit(*p_))) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    double v = 0;
    auto r = std::from_chars(start, p_, v);
    if (r.ec != std::errc() || r.ptr != p_ || !std::isfinite(v)) return false;  // overflow, underflow: DOM path
    // nlohmann holds "-0" as the integer 0, whose double is +0.
    out = integer && v == 0 ? 0.0 : v;
    return true;
  }

  // Any value, checked and dropped. `depth`: levels open around it.
  bool skip(int depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '"': {
        std::string_view s;
        return string(s, skip_buf_);
      }
      case '{': {
        if (++depth > max_json_depth) return false;
        ++p_;
        ws();
        if (eat('}')) return true;
        for (;;) {
          std::string_view k;
          if (!string(k, skip_buf_)) return false;
          ws();
          if (!eat(':')) return false;
          ws();
          if (!skip(depth)) return false;
          ws();
          if (eat('}')) return true;
          if (!eat(',')) return false;
          ws();
        }
      }
      case '[': {
        if (++depth > max_json_depth) return false;
        ++p_;
        ws();
        if (eat(']')) return true;
        for (;;) {
          if (!skip(depth)) return false;
          ws();
          if (eat(']')) return true;
          if (!eat(',')) return false;
          ws();
        }
      }
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: {
        double v;
        return number(v);
      }
    }
  }

 private:
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  bool word(const char* w) {
    std::size_t n = std::strlen(w);
    if (std::size_t(end_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
    p_ += n;
    return true;
  }

  // One UTF-8 sequence at p_ (first byte >= 0x80), held to the ranges nlohmann's lexer takes.
  bool utf8() {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(p_[i]); };
    auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
      return p_ + i < end_ && b(i) >= lo && b(i) <= hi;
    };
    unsigned c = b(0);
    std::size_t n = 0;
    if (c >= 0xC2 && c <= 0xDF) n = in(1, 0x80, 0xBF) ? 2 : 0;
    else if (c == 0xE0) n = in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xED) n = in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xF0) n = in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    else if (c >= 0xF1 && c <= 0xF3) n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    else if (c == 0xF4) n = in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (n == 0) return false;
    p_ += n;
    return true;
  }

  bool hex4(unsigned& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      unsigned d;
      if (c >= '0' && c <= '9') d = unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
      else return false;
      out = out * 16 + d;
    }
    return true;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  // The rest of a string from its first backslash, decoded into `out`, through the closing quote.
  bool escaped_rest(std::string& out) {
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const char* s = p_;
        if (!utf8()) return false;
        out.append(s, p_);
        continue;
      }
      ++p_;
      if (c != '\\') {
        out += char(c);
        continue;
      }
      if (p_ >= end_) return false;
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (!(eat('\\') && eat('u') && hex4(lo) && lo >= 0xDC00 && lo <= 0xDFFF)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  const char* p_;
  const char* end_;
  std::string skip_buf_;
};

// One reading object's four fields as scanned: the last occurrence of each key counts, as in the
// DOM (a later duplicate key replaces an earlier one).
struct reading_fields {
  enum class kind { absent, string, number, other };
  struct field {
    kind k = kind::absent;
    std::string_view text;
    std::string buf;  // holds `text` when the string had escapes
    double number = 0;
  };
  field sensor, metric, ts, value;
  bool banned = false;

  void clear() {
    sensor.k = metric.k = ts.k = value.k = kind::absent;
    banned = false;
  }
  field* slot(std::string_view key) {
    if (key == "sensor") return &sensor;
    if (key == "metric") return &metric;
    if (key == "ts") return &ts;
    if (key == "value") return &value;
    return nullptr;
  }
};

// One field's value into `slot`. `depth`: levels open around it.
bool scan_field(scanner& sc, reading_fields::field& slot, int depth) {
  if (sc.peek('"')) {
    slot.k = reading_fields::kind::string;
    return sc.string(slot.text, slot.buf);
  }
  if (sc.peek('-') || sc.peek_digit()) {
    slot.k = reading_fields::kind::number;
    return sc.number(slot.number);
  }
  slot.k = reading_fields::kind::other;
  return sc.skip(depth);
}

// A reading object at '{' into `f`; false: not JSON as nlohmann reads it, or too deep. With
// `note_banned`, f.banned tells whether it holds "sensor", "metric" or "observations".
bool scan_reading(scanner& sc, reading_fields& f, std::string& key_buf, int depth, bool note_banned = false) {
  f.clear();
  if (!sc.eat('{')) return false;
  if (++depth > max_json_depth) return false;
  sc.ws();
  if (sc.eat('}')) return true;
  for (;;) {
    std::string_view key;
    if (!sc.peek('"') || !sc.string(key, key_buf)) return false;
    auto* slot = f.slot(key);  // before the value: key_buf may be reused by it
    if (note_banned && (key == "sensor" || key == "metric" || key == "observations")) f.banned = true;
    sc.ws();
    if (!sc.eat(':')) return false;
    sc.ws();
    if (!(slot ? scan_field(sc, *slot, depth) : sc.skip(depth))) return false;
    sc.ws();
    if (sc.eat('}')) return true;
    if (!sc.eat(',')) return false;
    sc.ws();
  }
}

// The checks of checker::add_json on scanned fields: the same order, messages and pointers.
void add_scanned(checker& check, std::size_t index, const reading_fields& f, const std::string* sensor = nullptr,
                 const std::string* metric = nullptr) {
  using k = reading_fields::kind;
  if (!sensor && f.sensor.k != k::string) return check.reject(index, "sensor must be a string", "sensor");
  if (!metric && f.metric.k != k::string) return check.reject(index, "metric must be a string", "metric");
  if (f.ts.k != k::string) return check.reject(index, "ts must be an RFC 3339 string", "ts");
  if (f.value.k != k::number) return check.reject(index, "value must be a number", "value");
  check.add(index, sensor ? *sensor : std::string(f.sensor.text), metric ? *metric : std::string(f.metric.text),
            f.ts.text, f.value.number);
}

// A JSON body {"observations":[...]} in one pass. nullopt: the scanner gave up (see scanner);
// the caller then runs the DOM path, which decides with nlohmann's own words.
std::optional<parsed_batch> scan_json_body(std::string_view body, std::int64_t now_us, std::size_t max_readings) {
  std::optional<parsed_batch> out(std::in_place);
  out->pointer_prefix = "/observations/";
  checker check{now_us, *out, out->pointer_prefix};
  scanner sc(body);
  reading_fields f;
  std::string key_buf;
  bool seen = false;
  sc.ws();
  if (!sc.eat('{')) return std::nullopt;
  sc.ws();
  if (sc.eat('}')) return std::nullopt;  // no "observations"
  for (;;) {
    std::string_view key;
    if (!sc.peek('"') || !sc.string(key, key_buf)) return std::nullopt;
    bool is_obs = key == "observations";
    sc.ws();
    if (!sc.eat(':')) return std::nullopt;
    sc.ws();
    if (!is_obs) {
      if (!sc.skip(1)) return std::nullopt;
    } else {
      if (seen || !sc.eat('[')) return std::nullopt;  // twice, or not an array: the DOM path words it
      seen = true;
      // A guess from the size (a reading is ~70 bytes): one allocation for most bodies.
      out->readings.reserve(std::min(max_readings, body.size() / 64 + 1));
      sc.ws();
      if (!sc.eat(']')) {
        for (std::size_t i = 0;; ++i) {
          if (i >= max_readings) return std::nullopt;  // too many: the DOM path counts and refuses
          if (sc.peek('{')) {
            if (!scan_reading(sc, f, key_buf, 2)) return std::nullopt;
            add_scanned(check, i, f);
          } else {
            if (!sc.skip(2)) return std::nullopt;
            check.reject(i, "a reading must be an object {sensor, metric, ts, value}");
          }
          ++out->total;
          sc.ws();
          if (sc.eat(']')) break;
          if (!sc.eat(',')) return std::nullopt;
          sc.ws();
        }
      }
    }
    sc.ws();
    if (sc.eat('}')) break;
    if (!sc.eat(',')) return std::nullopt;
    sc.ws();
  }
  sc.ws();
  if (!sc.at_end() || !seen) return std::nullopt;
  return out;
}

// The payload of an MQTT topic in one pass (see scan_topic_payload in the header).
std::optional<topic_payload> scan_payload(std::string_view payload, std::int64_t now_us, const std::string& sensor,
                                          const std::string& metric, std::size_t max_readings) {
  std::optional<topic_payload> out(std::in_place);
  auto& batch = out->batch;
  batch.pointer_prefix = "/observations/";
  checker check{now_us, batch, batch.pointer_prefix};
  scanner sc(payload);
  reading_fields top, item;
  std::string key_buf;
  sc.ws();
  if (!metric.empty()) {
    // {sensor}/{metric}: a bare number (at the time of receipt, to the millisecond), or {"ts","value"}.
    if (sc.peek('-') || sc.peek_digit()) {
      double v;
      if (!sc.number(v)) return std::nullopt;
      sc.ws();
      if (!sc.at_end()) return std::nullopt;
      batch.total = 1;
      out->single = true;
      check.add(0, sensor, metric, format_rfc3339_ms(now_us), v);
      return out;
    }
    if (!sc.peek('{') || !scan_reading(sc, top, key_buf, 0, true)) return std::nullopt;
    sc.ws();
    if (!sc.at_end() || top.banned) return std::nullopt;  // "sensor", "metric", "observations": the DOM path words it
    batch.total = 1;
    out->single = true;
    add_scanned(check, 0, top, &sensor, &metric);
    return out;
  }
  // {sensor}: a reading {"metric","ts","value"} or a batch {"observations":[...]}.
  top.clear();
  if (!sc.eat('{')) return std::nullopt;
  sc.ws();
  bool seen = false;
  if (!sc.eat('}')) {
    for (;;) {
      std::string_view key;
      if (!sc.peek('"') || !sc.string(key, key_buf)) return std::nullopt;
      auto* slot = top.slot(key);
      bool is_obs = key == "observations";
      sc.ws();
      if (!sc.eat(':')) return std::nullopt;
      sc.ws();
      if (is_obs) {
        if (seen || !sc.eat('[')) return std::nullopt;
        seen = true;
        batch.readings.reserve(std::min(max_readings, payload.size() / 48 + 1));
        sc.ws();
        if (!sc.eat(']')) {
          for (std::size_t i = 0;; ++i) {
            if (i >= max_readings) return std::nullopt;
            if (sc.peek('{')) {
              if (!scan_reading(sc, item, key_buf, 2)) return std::nullopt;
              using k = reading_fields::kind;
              if (item.sensor.k != k::absent && !(item.sensor.k == k::string && item.sensor.text == sensor))
                batch.rejected.push_back({i, "names another sensor than the topic's \"" + sensor + "\"",
                                          "/observations/" + std::to_string(i) + "/sensor"});
              else
                add_scanned(check, i, item, &sensor, nullptr);
            } else {
              if (!sc.skip(2)) return std::nullopt;
              check.reject(i, "a reading must be an object {sensor, metric, ts, value}");
            }
            ++batch.total;
            sc.ws();
            if (sc.eat(']')) break;
            if (!sc.eat(',')) return std::nullopt;
            sc.ws();
          }
        }
      } else if (!slot) {
        if (!sc.skip(1)) return std::nullopt;
      } else if (!scan_field(sc, *slot, 1)) {
        return std::nullopt;
      }
      sc.ws();
      if (sc.eat('}')) break;
      if (!sc.eat(',')) return std::nullopt;
      sc.ws();
    }
  }
  sc.ws();
  if (!sc.at_end()) return std::nullopt;
  if (seen) return out;
  using k = reading_fields::kind;
  if (top.sensor.k != k::absent && !(top.sensor.k == k::string && top.sensor.text == sensor))
    return std::nullopt;  // names another sensor: the DOM path words it
  out->single = true;
  batch.total = 1;
  add_scanned(check, 0, top, &sensor, nullptr);
  return out;
}

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

std::optional<topic_payload> scan_topic_payload(std::string_view payload, std::int64_t now_us, const std::string& sensor,
                                               const std::string& metric, std::size_t max_readings) {
  return scan_payload(payload, now_us, sensor, metric, max_readings);
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

namespace detail {

outcome<parsed_batch> parse_json_body_dom(std::string_view body, std::int64_t now_us, std::size_t max_readings) {
  parsed_batch out;
  checker check{now_us, out, "/"};
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

}  // namespace detail

outcome<parsed_batch> parse_observations(std::string_view body, body_format format, std::int64_t now_us,
                                         std::size_t max_readings) {
  parsed_batch out;
  checker check{now_us, out, "/"};
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // BOM

  if (format == body_format::json) {
    // The scanner takes well-formed bodies in one pass; anything else goes to the DOM path, whose
    // refusals (and their wording) are the contract. A body the scanner took is at most
    // max_json_depth deep; for the rest the depth is checked before any parser sees it.
    if (auto fast = scan_json_body(body, now_us, max_readings)) return std::move(*fast);
    if (json_nesting_depth(body) > max_json_depth)
      return make_problem(problem_kind::malformed, "JSON nested too deeply");
    return detail::parse_json_body_dom(body, now_us, max_readings);
  }

  if (format == body_format::ndjson) {
    std::size_t pos = 0, index = 0;
    reading_fields fields;
    std::string key_buf;
    out.readings.reserve(std::min(max_readings, body.size() / 64 + 1));  // a reading line is ~70 bytes
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
      {
        // A line that is one well-formed reading object: scanned, no DOM. The scanner takes
        // nothing nested deeper than max_json_depth, so the depth check below is owed only by
        // the lines it gives up on.
        scanner sc(line);
        if (sc.peek('{') && scan_reading(sc, fields, key_buf, 0)) {
          sc.ws();
          if (sc.at_end()) {
            add_scanned(check, index, fields);
            ++index;
            continue;
          }
        }
      }
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
