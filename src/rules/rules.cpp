// Rule validation and evaluation.
#include "maeul/rules/rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "maeul/domain/encoding.hpp"

namespace maeul::rules {
namespace {

using json = nlohmann::json;
using nlohmann::ordered_json;

void add(std::vector<domain::field_error>& e, std::string p, std::string d) { e.push_back({std::move(p), {}, std::move(d)}); }

std::string fmt_duration(std::int64_t us) {
  std::int64_t s = us / 1000000;
  if (s % 86400 == 0 && s) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0 && s) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0 && s) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

// A gap for people: "3h10m", "45m", "2d3h", "40s".
std::string fmt_span(std::int64_t us) {
  std::int64_t s = std::max<std::int64_t>(us, 0) / 1000000;
  if (s < 60) return std::to_string(s) + "s";
  std::int64_t m = s / 60, h = m / 60, d = h / 24;
  if (d) return std::to_string(d) + "d" + (h % 24 ? std::to_string(h % 24) + "h" : "");
  if (h) return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
  return std::to_string(m) + "m";
}

std::string fmt_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::optional<double> number(const json& body, const char* key, const std::string& base,
                             std::vector<domain::field_error>& errors, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) add(errors, base + "/" + key, "is required: a number");
    return std::nullopt;
  }
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    add(errors, base + "/" + key, "must be a finite number");
    return std::nullopt;
  }
  return it->get<double>();
}

std::string metric_of(const json& body, const std::string& base, std::vector<domain::field_error>& errors) {
  auto it = body.find("metric");
  if (it == body.end() || !it->is_string() || !domain::is_valid_name_token(it->get_ref<const std::string&>())) {
    add(errors, base + "/metric", "is required: a metric name");
    return {};
  }
  return it->get<std::string>();
}

std::optional<op> op_of(const json& body, const std::string& base, std::vector<domain::field_error>& errors) {
  auto it = body.find("op");
  std::optional<op> o;
  if (it != body.end() && it->is_string()) o = parse_op(it->get_ref<const std::string&>());
  if (!o) add(errors, base + "/op", "must be one of >, >=, <, <=");
  return o;
}

std::optional<std::int64_t> duration(const json& body, const char* key, std::vector<domain::field_error>& errors,
                                     bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) add(errors, std::string("/") + key, "is required: a duration like 90s, 5m, 6h or 1d");
    return required ? std::nullopt : std::optional<std::int64_t>(0);
  }
  auto d = parse_duration_us(*it);
  if (!d || *d < 0 || *d > max_duration_us)
    add(errors, std::string("/") + key, "must be a duration like 90s, 5m, 6h or 1d (at most 366d)");
  return d;
}

// An optional integer in [lo, hi]; `fallback` when absent.
std::optional<int> integer(const json& body, const char* key, int lo, int hi, int fallback,
                           std::vector<domain::field_error>& errors) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi) {
    add(errors, std::string("/") + key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    return std::nullopt;
  }
  return int(it->get<std::int64_t>());
}

// An optional duration; `fallback` when absent.
std::optional<std::int64_t> duration_or(const json& body, const char* key, std::int64_t fallback,
                                        std::vector<domain::field_error>& errors) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  return duration(body, key, errors, true);
}

bool is_severity(const std::string& s) { return s == "info" || s == "warning" || s == "critical"; }
int severity_rank(const std::string& s) { return s == "critical" ? 2 : s == "warning" ? 1 : 0; }

// Whether `clear` is on the safe side of `value` for `o` (or equal to it).
bool safe_side(op o, double clear, double value) { return (o == op::gt || o == op::ge) ? clear <= value : clear >= value; }

// "stages": 1-8 {value, severity, clear?}, values strictly increasing for > and >= (decreasing for
// < and <=), severities never falling from one stage to the next.
void parse_stages(const json& a, threshold_rule& t, std::vector<domain::field_error>& errors) {
  if (!a.is_array() || a.empty() || a.size() > max_stages) {
    add(errors, "/stages", "must be an array of 1-8 stages {value, severity, clear?}");
    return;
  }
  const bool up = t.o == op::gt || t.o == op::ge;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& sj = a[i];
    const std::string base = "/stages/" + std::to_string(i);
    if (!sj.is_object()) {
      add(errors, base, "must be an object {value, severity, clear?}");
      continue;
    }
    stage st;
    auto v = number(sj, "value", base, errors, true);
    if (v) st.value = *v;
    auto sv = sj.find("severity");
    if (sv == sj.end() || !sv->is_string() || !is_severity(sv->get_ref<const std::string&>()))
      add(errors, base + "/severity", "must be one of info, warning, critical");
    else
      st.severity = sv->get<std::string>();
    st.clear = number(sj, "clear", base, errors, false);
    if (v && st.clear && !safe_side(t.o, *st.clear, st.value))
      add(errors, base + "/clear", "must be on the safe side of the stage's value (hysteresis)");
    for (const auto& k : sj.items())
      if (k.key() != "value" && k.key() != "severity" && k.key() != "clear")
        add(errors, base + "/" + k.key(), "unknown stage field (value, severity, clear)");
    if (!t.stages.empty() && v) {
      const auto& prev = t.stages.back();
      if (up ? !(st.value > prev.value) : !(st.value < prev.value))
        add(errors, base + "/value",
            std::string("must be ") + (up ? "above" : "below") + " the previous stage's value (" +
                fmt_number(prev.value) + "): stages go in order, without duplicates");
      if (!st.severity.empty() && !prev.severity.empty() && severity_rank(st.severity) < severity_rank(prev.severity))
        add(errors, base + "/severity", "must not be lower than the previous stage's");
    }
    if (v) t.stages.push_back(std::move(st));
  }
}

}  // namespace

double stage_clear(const threshold_rule& t, int k) {
  const auto& s = t.stages[std::size_t(k)];
  if (s.clear) return *s.clear;
  if (k == 0 && t.clear) return *t.clear;
  return s.value;
}

int stage_step(const threshold_rule& t, stage_state& st, double value, std::int64_t ts_us) {
  const int n = int(t.stages.size());
  const bool up = t.o == op::gt || t.o == op::ge;
  int raw = -1;  // the highest stage the value is beyond now
  for (int k = 0; k < n; ++k)
    if (compare(t.o, value, t.stages[std::size_t(k)].value)) raw = k;
  int hold = std::min(st.level, n - 1);  // the stage kept: stepped down while the value is past each clear
  while (hold >= 0 && (up ? value < stage_clear(t, hold) : value > stage_clear(t, hold))) --hold;
  if (raw > hold) {
    if (st.pending_since < 0 || ts_us < st.pending_since) {
      st.pending_since = ts_us;
      st.pending_stage = raw;
    } else {
      st.pending_stage = std::min(st.pending_stage, raw);
    }
    if (ts_us - st.pending_since >= t.for_us) {
      // Rise to the stage held for the whole `for`; a higher one reached within the window starts
      // its own window now (conservative: it may wait up to `for` longer than it strictly must).
      const int reached = std::max(st.pending_stage, hold);
      st.level = reached;
      if (raw > reached) {
        st.pending_since = ts_us;
        st.pending_stage = raw;
      } else {
        st.pending_since = -1;
        st.pending_stage = -1;
      }
      return reached;
    }
  } else {
    st.pending_since = -1;
    st.pending_stage = -1;
  }
  st.level = hold;
  return hold;
}

bool compare(op o, double v, double t) {
  switch (o) {
    case op::gt: return v > t;
    case op::ge: return v >= t;
    case op::lt: return v < t;
    case op::le: return v <= t;
  }
  return false;
}

std::optional<op> parse_op(std::string_view s) {
  if (s == ">" || s == "gt") return op::gt;
  if (s == ">=" || s == "ge") return op::ge;
  if (s == "<" || s == "lt") return op::lt;
  if (s == "<=" || s == "le") return op::le;
  return std::nullopt;
}

const char* op_text(op o) {
  switch (o) {
    case op::gt: return ">";
    case op::ge: return ">=";
    case op::lt: return "<";
    case op::le: return "<=";
  }
  return "?";
}

std::optional<std::int64_t> parse_duration_us(const json& v) {
  // Anything beyond max_duration_us is refused here, before any multiplication can overflow.
  constexpr std::int64_t us = 1000000;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() ? v.get<std::uint64_t>() > std::uint64_t(max_duration_us / us)
                               : (v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max_duration_us / us))
      return std::nullopt;
    return v.get<std::int64_t>() * us;
  }
  if (v.is_number()) {
    double d = v.get<double>();
    // whole seconds only: a fraction would not survive the stored form ("90s")
    if (!std::isfinite(d) || d < 0 || d > double(max_duration_us / us) || d != std::floor(d)) return std::nullopt;
    return static_cast<std::int64_t>(d * 1e6);
  }
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 2) return std::nullopt;
  auto n = domain::parse_number<std::int64_t>(std::string_view(s).substr(0, s.size() - 1));
  if (!n || *n < 0) return std::nullopt;
  std::int64_t unit = 0;
  switch (s.back()) {
    case 's': unit = us; break;
    case 'm': unit = 60 * us; break;
    case 'h': unit = 3600 * us; break;
    case 'd': unit = 86400 * us; break;
    default: return std::nullopt;
  }
  if (*n > max_duration_us / unit) return std::nullopt;
  return *n * unit;
}

bool matches(const selector& s, const sensor_ref& i) {
  return (s.sensor.empty() || s.sensor == i.id) && (s.kind.empty() || s.kind == i.kind) &&
         (s.domain.empty() || s.domain == i.domain) && (s.zone.empty() || s.zone == i.zone);
}

domain::outcome<rule> parse_rule(const json& body, std::string_view path_id) {
  std::vector<domain::field_error> errors;
  rule r;
  if (!body.is_object()) return domain::invalid({{"", {}, "the body must be a JSON object"}});
  if (auto it = body.find("id"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !domain::is_valid_id(it->get_ref<const std::string&>()))
      add(errors, "/id", "must be an id (letters, digits, '.', '_', ':' or '-')");
    else
      r.id = it->get<std::string>();
    if (!path_id.empty() && r.id != path_id) add(errors, "/id", "must match the id in the path");
  } else {
    r.id = std::string(path_id);
  }
  auto n = body.find("name");
  if (n != body.end() && n->is_string()) {
    r.name.ko = r.name.en = n->get<std::string>();
  } else if (n != body.end() && n->is_object()) {
    if (auto ko = n->find("ko"); ko != n->end() && ko->is_string()) r.name.ko = ko->get<std::string>();
    if (auto en = n->find("en"); en != n->end() && en->is_string()) r.name.en = en->get<std::string>();
  }
  if (r.name.ko.empty() && r.name.en.empty()) add(errors, "/name", "is required: {\"ko\", \"en\"} or a string");
  auto k = body.find("kind");
  if (k == body.end() || !k->is_string() ||
      (*k != "threshold" && *k != "rate" && *k != "silence" && *k != "composite" && *k != "inactivity" &&
       *k != "bunching")) {
    add(errors, "/kind", "must be one of threshold, rate, silence, composite, inactivity, bunching");
    return domain::invalid(std::move(errors));
  }
  r.kind = k->get<std::string>();
  auto sv = body.find("severity");
  // A staged threshold rule takes its severities from its stages (its own is its highest stage's).
  const bool staged = r.kind == "threshold" && body.contains("stages") && !body["stages"].is_null();
  if (staged && (sv == body.end() || sv->is_null())) {
  } else if (sv == body.end() || !sv->is_string() || !is_severity(sv->get_ref<const std::string&>()))
    add(errors, "/severity", "must be one of info, warning, critical");
  else
    r.severity = sv->get<std::string>();
  if (auto e = body.find("enabled"); e != body.end() && !e->is_null()) {
    if (!e->is_boolean()) add(errors, "/enabled", "must be true or false");
    else r.enabled = e->get<bool>();
  }
  if (auto s = body.find("selector"); s != body.end() && !s->is_null()) {
    if (!s->is_object()) {
      add(errors, "/selector", "must be an object {sensor, kind, domain, zone}");
    } else {
      for (auto& [key, v] : s->items()) {
        if (key != "sensor" && key != "kind" && key != "domain" && key != "zone") {
          add(errors, "/selector/" + key, "unknown selector field");
          continue;
        }
        if (!v.is_string()) {
          add(errors, "/selector/" + key, "must be a string");
          continue;
        }
        auto val = v.get<std::string>();
        if (key == "domain" && !domain::is_domain(val)) add(errors, "/selector/domain", "unknown domain");
        (key == "sensor" ? r.sel.sensor : key == "kind" ? r.sel.kind : key == "domain" ? r.sel.domain : r.sel.zone) = val;
      }
    }
  }
  ordered_json spec;
  if (r.kind == "threshold") {
    threshold_rule t;
    t.metric = metric_of(body, "", errors);
    if (auto o = op_of(body, "", errors)) t.o = *o;
    if (staged) {
      if (body.contains("value") && !body["value"].is_null()) add(errors, "/value", "give value or stages, not both");
      parse_stages(body["stages"], t, errors);
      if (!t.stages.empty()) {
        t.value = t.stages.front().value;
        r.severity = t.stages.back().severity;
      }
    } else if (auto v = number(body, "value", "", errors, true)) {
      t.value = *v;
    }
    if (auto f = duration(body, "for", errors, false)) t.for_us = *f;
    t.clear = number(body, "clear", "", errors, false);
    if (t.clear && (!staged || !t.stages.empty()) && !safe_side(t.o, *t.clear, t.value))
      add(errors, "/clear", staged ? "must be on the safe side of the first stage's value (hysteresis)"
                                   : "must be on the safe side of value (hysteresis)");
    spec["metric"] = t.metric;
    spec["op"] = op_text(t.o);
    if (staged) {
      auto arr = ordered_json::array();
      for (const auto& st : t.stages) {
        ordered_json one = {{"value", st.value}, {"severity", st.severity}};
        if (st.clear) one["clear"] = *st.clear;
        arr.push_back(one);
      }
      spec["stages"] = arr;
    } else {
      spec["value"] = t.value;
    }
    spec["for"] = fmt_duration(t.for_us);
    if (t.clear) spec["clear"] = *t.clear;
    r.spec = std::move(t);
  } else if (r.kind == "rate") {
    rate_rule t;
    t.metric = metric_of(body, "", errors);
    if (auto v = number(body, "delta", "", errors, true)) t.delta = *v;
    if (t.delta == 0) add(errors, "/delta", "must not be 0");
    if (auto w = duration(body, "window", errors, true)) t.window_us = *w;
    if (t.window_us <= 0) add(errors, "/window", "must be positive");
    else if (t.window_us > max_rate_window_us) add(errors, "/window", "must be at most 1d (the window is kept in memory)");
    spec["metric"] = t.metric;
    spec["delta"] = t.delta;
    spec["window"] = fmt_duration(t.window_us);
    r.spec = std::move(t);
  } else if (r.kind == "silence") {
    silence_rule t;
    if (auto f = duration(body, "for", errors, true)) t.for_us = *f;
    if (t.for_us <= 0) add(errors, "/for", "must be positive");
    spec["for"] = fmt_duration(t.for_us);
    r.spec = t;
  } else if (r.kind == "inactivity") {
    inactivity_rule t;
    auto& m = t.model;
    if (auto it = body.find("metric"); it != body.end() && !it->is_null()) t.metric = metric_of(body, "", errors);
    if (auto w = integer(body, "learn_weeks", 1, routine::max_learn_weeks, m.learn_weeks, errors)) m.learn_weeks = *w;
    if (auto d = integer(body, "min_days", 1, 7 * m.learn_weeks, std::min(m.min_days, 7 * m.learn_weeks), errors))
      m.min_days = *d;
    if (auto q = number(body, "quantile", "", errors, false)) {
      if (*q < 0.5 || *q > 1) add(errors, "/quantile", "must be from 0.5 to 1");
      m.quantile = *q;
    }
    if (auto f = number(body, "factor", "", errors, false)) {
      if (*f < 1 || *f > 10) add(errors, "/factor", "must be from 1 to 10");
      m.factor = *f;
    }
    auto lo = duration_or(body, "floor", m.floor_us, errors);
    auto hi = duration_or(body, "ceiling", m.ceiling_us, errors);
    auto cold = duration_or(body, "cold_start", m.cold_start_us, errors);
    if (lo) {
      m.floor_us = *lo;
      if (m.floor_us < 1000000) add(errors, "/floor", "must be at least 1s");
    }
    if (hi) {
      m.ceiling_us = *hi;
      if (lo && m.ceiling_us < m.floor_us) add(errors, "/ceiling", "must not be below floor");
    }
    if (cold) {
      m.cold_start_us = *cold;
      if (m.cold_start_us <= 0) add(errors, "/cold_start", "must be positive");
    }
    if (!t.metric.empty()) spec["metric"] = t.metric;
    spec["learn_weeks"] = m.learn_weeks;
    spec["min_days"] = m.min_days;
    spec["quantile"] = m.quantile;
    spec["factor"] = m.factor;
    spec["floor"] = fmt_duration(m.floor_us);
    spec["ceiling"] = fmt_duration(m.ceiling_us);
    spec["cold_start"] = fmt_duration(m.cold_start_us);
    r.spec = std::move(t);
  } else if (r.kind == "bunching") {
    bunching_rule t;
    auto rt = body.find("route");
    if (rt == body.end() || !rt->is_string() || rt->get<std::string>().empty() || rt->get<std::string>().size() > 255)
      add(errors, "/route", "is required: a route id of the imported GTFS feed");
    else
      t.route = rt->get<std::string>();
    if (auto v = number(body, "ratio", "", errors, false)) {
      if (!(*v > 0 && *v < 1)) add(errors, "/ratio", "must be between 0 and 1 (a share of the scheduled headway)");
      t.ratio = *v;
    }
    t.distance_m = number(body, "distance_m", "", errors, false);
    if (t.distance_m && !(*t.distance_m > 0 && *t.distance_m <= 5000)) add(errors, "/distance_m", "must be metres, 0 to 5000");
    spec["route"] = t.route;
    spec["ratio"] = t.ratio;
    if (t.distance_m) spec["distance_m"] = *t.distance_m;
    r.spec = std::move(t);
  } else {
    composite_rule cr;
    if (auto w = duration(body, "window", errors, true)) cr.window_us = *w;
    auto c = body.find("conditions");
    if (c == body.end() || !c->is_array() || c->empty() || c->size() > 16) {
      add(errors, "/conditions", "is required: 1-16 conditions {metric, op, value, kind?}");
    } else {
      auto arr = ordered_json::array();
      for (std::size_t i = 0; i < c->size(); ++i) {
        const auto& cj = (*c)[i];
        std::string base = "/conditions/" + std::to_string(i);
        if (!cj.is_object()) {
          add(errors, base, "must be an object {metric, op, value, kind?}");
          continue;
        }
        condition cond;
        cond.metric = metric_of(cj, base, errors);
        if (auto o = op_of(cj, base, errors)) cond.o = *o;
        if (auto v = number(cj, "value", base, errors, true)) cond.value = *v;
        if (auto kk = cj.find("kind"); kk != cj.end() && kk->is_string()) cond.kind = kk->get<std::string>();
        ordered_json one = {{"metric", cond.metric}, {"op", op_text(cond.o)}, {"value", cond.value}};
        if (!cond.kind.empty()) one["kind"] = cond.kind;
        arr.push_back(one);
        cr.conditions.push_back(std::move(cond));
      }
      spec["conditions"] = arr;
    }
    spec["window"] = fmt_duration(cr.window_us);
    r.spec = std::move(cr);
  }
  // Any kind may open an incident when its alert becomes critical (API §12).
  if (auto inc = body.find("incident"); inc != body.end() && !inc->is_null()) {
    auto cat = inc->is_object() ? inc->find("category") : inc->end();
    if (!inc->is_object() || cat == inc->end() || !cat->is_string() ||
        !domain::is_valid_name_token(cat->get_ref<const std::string&>()) || cat->get_ref<const std::string&>().size() > 64)
      add(errors, "/incident/category", "is required: an incident category, e.g. flood, fire, traffic");
    else
      r.incident_category = cat->get<std::string>();
  }
  if (!errors.empty()) return domain::invalid(std::move(errors));
  if (!r.incident_category.empty()) spec["incident"] = ordered_json{{"category", r.incident_category}};
  ordered_json out;
  out["id"] = r.id;
  ordered_json name;
  if (!r.name.ko.empty()) name["ko"] = r.name.ko;
  if (!r.name.en.empty()) name["en"] = r.name.en;
  out["name"] = name;
  out["kind"] = r.kind;
  ordered_json sel = ordered_json::object();
  if (!r.sel.sensor.empty()) sel["sensor"] = r.sel.sensor;
  if (!r.sel.kind.empty()) sel["kind"] = r.sel.kind;
  if (!r.sel.domain.empty()) sel["domain"] = r.sel.domain;
  if (!r.sel.zone.empty()) sel["zone"] = r.sel.zone;
  out["selector"] = sel;
  out["severity"] = r.severity;
  out["enabled"] = r.enabled;
  for (auto& [key, v] : spec.items()) out[key] = v;
  r.spec_json = out.dump();
  return r;
}

rule rule_from_spec(const std::string& spec_json) {
  auto j = json::parse(spec_json);
  auto id = j.value("id", std::string());
  auto r = parse_rule(j, id);
  if (!r) throw std::runtime_error("stored rule " + id + " does not parse: " + r.error().describe());
  return r.value();
}

const char* kind_name(const rule_spec& s) {
  struct {
    const char* operator()(const threshold_rule&) const { return "threshold"; }
    const char* operator()(const rate_rule&) const { return "rate"; }
    const char* operator()(const silence_rule&) const { return "silence"; }
    const char* operator()(const composite_rule&) const { return "composite"; }
    const char* operator()(const inactivity_rule&) const { return "inactivity"; }
    const char* operator()(const bunching_rule&) const { return "bunching"; }
  } v;
  return std::visit(v, s);
}

namespace {

void index_key(std::string& out, std::string_view kind, std::string_view metric) {
  out.assign(kind);
  out += '\n';
  out += metric;
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

void engine::set_rules(std::vector<rule> rules) {
  std::vector<state_map> state(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto old = by_id_.find(rules[i].id);
    if (old != by_id_.end() && rules_[old->second].spec_json == rules[i].spec_json)
      state[i] = std::move(state_[old->second]);
  }
  rules_ = std::move(rules);
  // Subjects no kept state refers to are forgotten, so the interned names stay bounded by the
  // subjects with state.
  text_map<subject_id> ids;
  std::vector<std::string> names;
  for (auto& m : state) {
    state_map renumbered;
    for (auto& [sid, st] : m) {
      auto [it, added] = ids.try_emplace(subject_names_[sid], subject_id(names.size()));
      if (added) names.push_back(subject_names_[sid]);
      renumbered.emplace(it->second, std::move(st));
    }
    m = std::move(renumbered);
  }
  subject_ids_ = std::move(ids);
  subject_names_ = std::move(names);
  state_ = std::move(state);
  by_id_.clear();
  by_key_.clear();
  merged_.clear();
  any_metric_.clear();
  timed_.clear();
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    by_id_[r.id] = i;
    if (!r.enabled) continue;
    const auto n = std::uint32_t(i);
    auto add = [&](const std::string& kind, const std::string& metric) {
      index_key(key_, kind, metric);
      auto& v = by_key_[key_];
      if (v.empty() || v.back() != n) v.push_back(n);
    };
    std::visit(overloaded{
                   [&](const threshold_rule& t) { add(r.sel.kind, t.metric); },
                   [&](const rate_rule& t) { add(r.sel.kind, t.metric); },
                   [&](const silence_rule&) {
                     any_metric_.push_back(n);
                     timed_.push_back(n);
                   },
                   [&](const composite_rule& c) {
                     for (const auto& cond : c.conditions) add(cond.kind.empty() ? r.sel.kind : cond.kind, cond.metric);
                     timed_.push_back(n);
                   },
                   [&](const inactivity_rule& t) {
                     if (t.metric.empty()) any_metric_.push_back(n);
                     else add(r.sel.kind, t.metric);
                     timed_.push_back(n);
                   },
                   [&](const bunching_rule&) {},  // judged by the transit module, not by readings
               },
               r.spec);
  }
}

engine::subject_id engine::find_subject(std::string_view name) const {
  auto it = subject_ids_.find(name);
  return it == subject_ids_.end() ? no_subject : it->second;
}

engine::subject_id engine::intern(std::string_view name) {
  auto it = subject_ids_.find(name);
  if (it != subject_ids_.end()) return it->second;
  auto sid = subject_id(subject_names_.size());
  subject_names_.emplace_back(name);
  subject_ids_.emplace(std::string(name), sid);
  return sid;
}

void engine::restore_active(const std::string& rule_id, const std::string& subject, int stage) {
  auto it = by_id_.find(rule_id);
  if (it == by_id_.end()) return;
  auto& st = state_[it->second][intern(subject)];
  st.active = true;
  if (const auto* t = std::get_if<threshold_rule>(&rules_[it->second].spec); t && !t->stages.empty())
    st.level = std::clamp(stage, 0, int(t->stages.size()) - 1);
}

bool engine::active(const std::string& rule_id, const std::string& subject) const {
  auto it = by_id_.find(rule_id);
  if (it == by_id_.end()) return false;
  auto sid = find_subject(subject);
  if (sid == no_subject) return false;
  const auto& m = state_[it->second];
  auto s = m.find(sid);
  return s != m.end() && s->second.active;
}

const routine* engine::routine_of(const std::string& rule_id, const std::string& subject) const {
  auto it = by_id_.find(rule_id);
  if (it == by_id_.end()) return nullptr;
  auto sid = find_subject(subject);
  if (sid == no_subject) return nullptr;
  const auto& m = state_[it->second];
  auto s = m.find(sid);
  return s == m.end() ? nullptr : s->second.model.get();
}

const std::vector<std::uint32_t>& engine::candidates(std::string_view kind, std::string_view metric) {
  index_key(key_, kind, metric);
  if (auto hit = merged_.find(key_); hit != merged_.end()) return hit->second;
  std::vector<std::uint32_t> out;
  if (auto it = by_key_.find(key_); it != by_key_.end()) out = it->second;
  if (!kind.empty()) {
    std::string any;
    index_key(any, {}, metric);
    if (auto it = by_key_.find(any); it != by_key_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  out.insert(out.end(), any_metric_.begin(), any_metric_.end());
  std::sort(out.begin(), out.end());  // rule order, each once
  out.erase(std::unique(out.begin(), out.end()), out.end());
  // Kinds and metrics come from the registry, so the cache stays small; the bound is a backstop.
  if (merged_.size() >= max_cached_keys) merged_.clear();
  return merged_.emplace(key_, std::move(out)).first->second;
}

std::vector<transition> engine::on_readings(const std::vector<reading>& batch) {
  std::vector<transition> out;
  for (const auto& rd : batch) {
    const auto& cands = candidates(rd.sensor.kind, rd.metric);
    if (cands.empty()) continue;
    // Looked up at most once per reading, and only when a rule needs it.
    subject_id sensor_sid = no_subject - 1, zone_sid = no_subject - 1;
    for (auto i : cands) evaluate(i, rd, out, sensor_sid, zone_sid);
  }
  return out;
}

// One (rule, reading) pair. `sensor_sid`/`zone_sid`: the reading's interned subjects, no_subject - 1
// until looked up, no_subject while the subject has no state anywhere.
void engine::evaluate(std::size_t i, const reading& rd, std::vector<transition>& out, subject_id& sensor_sid,
                      subject_id& zone_sid) {
  const auto& r = rules_[i];
  const auto& info = rd.sensor;
  if (!r.enabled || !matches(r.sel, info)) return;
  evaluated_++;
  auto& states = state_[i];
  auto subject = [&](bool per_zone, bool create) -> subject_id {
    auto& sid = per_zone ? zone_sid : sensor_sid;
    const auto name = per_zone ? info.zone : info.id;
    if (sid == no_subject - 1 || (sid == no_subject && create)) sid = create ? intern(name) : find_subject(name);
    return sid;
  };
  // The subject's state for this rule; nullptr when it has none and `create` is false.
  auto state_of = [&](bool per_zone, bool create) -> subject_state* {
    auto sid = subject(per_zone, create);
    if (sid == no_subject) return nullptr;
    if (create) return &states[sid];
    auto it = states.find(sid);
    return it == states.end() ? nullptr : &it->second;
  };
  auto base = [&](bool open, std::string msg, bool per_zone) {
    transition t;
    t.rule_id = r.id;
    t.subject = std::string(per_zone ? info.zone : info.id);
    t.open = open;
    t.sensor = per_zone ? std::string() : std::string(info.id);
    t.zone = info.zone;
    t.domain = info.domain;
    if (!per_zone) {
      t.metric = rd.metric;
      t.value = rd.value;
    }
    t.message = std::move(msg);
    t.at_us = rd.ts_us;
    return t;
  };
  std::visit(overloaded{
                 [&](const threshold_rule& t) {
                   if (rd.metric != t.metric) return;
                   if (!t.stages.empty()) {
                     // One alert per (rule, sensor) whose severity follows the stage reached.
                     auto* st = state_of(false, compare(t.o, rd.value, t.value));
                     if (!st) return;
                     stage_state ss{st->active ? std::max(st->level, 0) : -1, st->pending_since, st->pending_stage};
                     const int before = ss.level;
                     const int now = stage_step(t, ss, rd.value, rd.ts_us);
                     st->pending_since = ss.pending_since;
                     st->pending_stage = ss.pending_stage;
                     st->level = now;
                     st->active = now >= 0;
                     if (now == before) return;
                     if (now < 0) {
                       out.push_back(base(false, t.metric + " back to " + fmt_number(rd.value), false));
                       return;
                     }
                     const auto& sg = t.stages[std::size_t(now)];
                     std::string msg = t.metric + " " + fmt_number(rd.value) + " " + op_text(t.o) + " " +
                                       fmt_number(sg.value) + " (stage " + std::to_string(now + 1) + " of " +
                                       std::to_string(t.stages.size()) + ", " + sg.severity + ")";
                     auto tr = base(true, std::move(msg), false);
                     tr.severity_change = before >= 0;
                     tr.severity = sg.severity;
                     tr.stage = now;
                     out.push_back(std::move(tr));
                     return;
                   }
                   bool cond = compare(t.o, rd.value, t.value);
                   auto* st = state_of(false, cond);  // a normal reading creates no state
                   if (!st) return;
                   if (!st->active) {
                     if (!cond) {
                       st->pending_since = -1;
                       return;
                     }
                     if (st->pending_since < 0) st->pending_since = rd.ts_us;
                     if (rd.ts_us - st->pending_since >= t.for_us) {
                       st->active = true;
                       std::string msg = t.metric + " " + fmt_number(rd.value) + " " + op_text(t.o) + " " + fmt_number(t.value);
                       if (t.for_us) msg += " for " + fmt_duration(t.for_us);
                       out.push_back(base(true, msg, false));
                     }
                   } else {
                     double c = t.clear.value_or(t.value);
                     bool cleared = (t.o == op::gt || t.o == op::ge) ? rd.value < c : rd.value > c;
                     if (cleared) {
                       st->active = false;
                       st->pending_since = -1;
                       out.push_back(base(false, t.metric + " back to " + fmt_number(rd.value), false));
                     }
                   }
                 },
                 [&](const rate_rule& t) {
                   if (rd.metric != t.metric) return;
                   auto& state = *state_of(false, true);
                   if (!state.rate) state.rate = std::make_unique<rate_state>();
                   auto& st = *state.rate;
                   const bool rising = t.delta > 0;
                   double lo = rd.value, hi = rd.value;
                   if (st.history.empty() || rd.ts_us >= st.history.back().first) {
                     // In time order (the common case): a monotonic window keeps only the
                     // readings that can still be the minimum (rising rules) or the maximum
                     // (falling rules), so each reading costs O(1) amortized, whatever the window.
                     while (!st.window.empty() &&
                            (rising ? st.window.back().second >= rd.value : st.window.back().second <= rd.value))
                       st.window.pop_back();
                     st.window.emplace_back(rd.ts_us, rd.value);
                     while (!st.window.empty() && st.window.front().first < rd.ts_us - t.window_us)
                       st.window.pop_front();
                     if (!st.window.empty()) (rising ? lo : hi) = st.window.front().second;
                     st.history.emplace_back(rd.ts_us, rd.value);
                   } else {
                     // Late: compared only with readings before it within its window, in time
                     // order; then put in its place and the monotonic window rebuilt (rare).
                     auto pos = std::upper_bound(st.history.begin(), st.history.end(), rd.ts_us,
                                                 [](std::int64_t ts, const auto& e) { return ts < e.first; });
                     for (auto it = st.history.begin(); it != pos; ++it)
                       if (it->first >= rd.ts_us - t.window_us) {
                         lo = std::min(lo, it->second);
                         hi = std::max(hi, it->second);
                       }
                     st.history.insert(pos, {rd.ts_us, rd.value});
                     st.window.clear();
                     for (const auto& e : st.history) {
                       while (!st.window.empty() &&
                              (rising ? st.window.back().second >= e.second : st.window.back().second <= e.second))
                         st.window.pop_back();
                       st.window.push_back(e);
                     }
                   }
                   // Nothing older than the window of the newest reading is kept; at most
                   // max_rate_entries readings per (rule, sensor).
                   const auto horizon = st.history.back().first - t.window_us;
                   while (!st.history.empty() && (st.history.front().first < horizon || st.history.size() > max_rate_entries))
                     st.history.pop_front();
                   while (!st.window.empty() && st.window.front().first < horizon) st.window.pop_front();
                   bool cond = rising ? rd.value - lo >= t.delta : rd.value - hi <= t.delta;
                   if (cond && !state.active) {
                     state.active = true;
                     out.push_back(base(true,
                                        t.metric + (rising ? " rose by " + fmt_number(rd.value - lo)
                                                           : " fell by " + fmt_number(hi - rd.value)) +
                                            " within " + fmt_duration(t.window_us),
                                        false));
                   } else if (!cond && state.active) {
                     state.active = false;
                     out.push_back(base(false, t.metric + " steady again at " + fmt_number(rd.value), false));
                   }
                 },
                 [&](const silence_rule&) {
                   auto* st = state_of(false, false);
                   if (st && st->active) {
                     st->active = false;
                     out.push_back(base(false, "reporting again", false));
                   }
                 },
                 [&](const inactivity_rule& t) {
                   if (!t.metric.empty() && (rd.metric != t.metric || !(rd.value > 0))) return;
                   auto* st = state_of(false, false);
                   if (!st) {
                     if (std::int64_t(states.size()) >= routine_budget_ / t.model.learn_weeks) {
                       ++routines_refused_;
                       return;
                     }
                     st = state_of(false, true);
                   }
                   if (!st->model) st->model = std::make_unique<routine>(t.model);
                   const bool seen = st->model->seen();
                   const auto before = st->model->last_activity_us();
                   if (!st->model->observe(rd.ts_us) || !st->active) return;
                   st->active = false;
                   out.push_back(base(false, seen ? "activity again after " + fmt_span(rd.ts_us - before) : "activity again",
                                      false));
                 },
                 [&](const composite_rule& c) {
                   if (info.zone.empty()) return;
                   auto& st = *state_of(true, true);
                   st.conditions.resize(c.conditions.size(), {false, 0});
                   bool touched = false;
                   for (std::size_t k = 0; k < c.conditions.size(); ++k) {
                     const auto& cond = c.conditions[k];
                     if (cond.metric != rd.metric || (!cond.kind.empty() && cond.kind != info.kind)) continue;
                     if (rd.ts_us >= st.conditions[k].second)
                       st.conditions[k] = {compare(cond.o, rd.value, cond.value), rd.ts_us};
                     touched = true;
                   }
                   if (!touched) return;
                   bool all = std::all_of(st.conditions.begin(), st.conditions.end(), [&](const auto& x) {
                     return x.first && x.second >= rd.ts_us - c.window_us;
                   });
                   const std::string zone(info.zone);
                   if (all && !st.active) {
                     st.active = true;
                     std::string msg = "all conditions met in " + zone + ":";
                     for (const auto& cond : c.conditions)
                       msg += " " + cond.metric + " " + op_text(cond.o) + " " + fmt_number(cond.value);
                     out.push_back(base(true, msg, true));
                   } else if (!all && st.active) {
                     st.active = false;
                     out.push_back(base(false, "conditions no longer all met in " + zone, true));
                   }
                 },
                 [&](const bunching_rule&) {},  // judged by the transit module
             },
             r.spec);
}

std::vector<transition> engine::on_tick(std::int64_t now_us, const std::vector<sensor_info>& sensors,
                                        std::int64_t started_us) {
  std::vector<transition> out;
  for (auto i : timed_) {
    const auto& r = rules_[i];
    auto& states = state_[i];
    if (const auto* s = std::get_if<silence_rule>(&r.spec)) {
      for (const auto& info : sensors) {
        if (!matches(r.sel, info)) continue;
        std::int64_t last = std::max(info.last_ts_us, started_us);
        if (now_us - last < s->for_us) continue;
        auto& st = states[intern(info.id)];
        if (st.active) continue;
        st.active = true;
        transition t;
        t.rule_id = r.id;
        t.subject = info.id;
        t.sensor = info.id;
        t.zone = info.zone;
        t.domain = info.domain;
        t.message = info.last_ts_us ? "no reading for " + fmt_duration(now_us - info.last_ts_us) + " (limit " +
                                          fmt_duration(s->for_us) + ")"
                                    : "no reading since monitoring began (limit " + fmt_duration(s->for_us) + ")";
        t.at_us = now_us;
        out.push_back(std::move(t));
      }
    } else if (const auto* in = std::get_if<inactivity_rule>(&r.spec)) {
      for (const auto& info : sensors) {
        if (!matches(r.sel, info)) continue;
        const auto sid = find_subject(info.id);
        subject_state* st = nullptr;
        if (sid != no_subject)
          if (auto it = states.find(sid); it != states.end()) st = &it->second;
        std::string msg;
        if (st && st->model && st->model->seen()) {
          st->model->advance(now_us);
          if (st->active) continue;
          const auto v = st->model->judge(now_us);
          if (!v.unusual) continue;
          msg = "no activity for " + fmt_span(v.gap_us) +
                (v.learned ? "; unusual at this hour (limit " + fmt_span(v.limit_us) + ", learned from " +
                                 std::to_string(st->model->days_recorded()) +
                                 (st->model->days_recorded() == 1 ? " day)" : " days)")
                           : " (cold start limit " + fmt_span(v.limit_us) + "; " +
                                 std::to_string(st->model->days_recorded()) + " of " +
                                 std::to_string(in->model.min_days) + " days learned)");
        } else {
          // No activity learned yet (a new sensor, or a restart): a plain silence of cold_start.
          if (st && st->active) continue;
          const std::int64_t anchor = std::max(in->metric.empty() ? info.last_ts_us : 0, started_us);
          if (now_us - anchor <= in->model.cold_start_us) continue;
          // Past the bound: no state, no alert (its activity is what routines_refused counts).
          if (!st && std::int64_t(states.size()) >= routine_budget_ / in->model.learn_weeks) continue;
          msg = "no activity for " + fmt_span(now_us - anchor) +
                (anchor == started_us ? " since monitoring began" : "") + " (cold start limit " +
                fmt_span(in->model.cold_start_us) + "; nothing learned yet)";
          if (!st) st = &states[intern(info.id)];
        }
        st->active = true;
        transition t;
        t.rule_id = r.id;
        t.subject = info.id;
        t.sensor = info.id;
        t.zone = info.zone;
        t.domain = info.domain;
        t.message = std::move(msg);
        t.at_us = now_us;
        out.push_back(std::move(t));
      }
    } else if (const auto* c = std::get_if<composite_rule>(&r.spec)) {
      for (auto& [sid, st] : states) {
        if (!st.active) continue;
        bool all = std::all_of(st.conditions.begin(), st.conditions.end(),
                               [&](const auto& x) { return x.first && x.second >= now_us - c->window_us; });
        if (!all) {
          st.active = false;
          const auto& zone = subject_names_[sid];
          transition t;
          t.rule_id = r.id;
          t.subject = zone;
          t.open = false;
          t.zone = zone;
          t.message = "conditions no longer all met in " + zone + " (window passed)";
          t.at_us = now_us;
          out.push_back(std::move(t));
        }
      }
    }
  }
  return out;
}

namespace {

// "3.6 m", "12 %", "40" (no unit)
std::string with_unit(double v, const std::string& unit) {
  if (unit.empty()) return fmt_number(v);
  return fmt_number(v) + (unit == "%" ? "" : " ") + unit;
}

const char* severity_ko(const std::string& s) { return s == "critical" ? "위험" : s == "warning" ? "경고" : "주의"; }
const char* op_en(op o) {
  switch (o) {
    case op::gt: return "above";
    case op::ge: return "at or above";
    case op::lt: return "below";
    case op::le: return "at or below";
  }
  return "beyond";
}
const char* op_ko(op o) {
  switch (o) {
    case op::gt: return "초과";
    case op::ge: return "이상";
    case op::lt: return "미만";
    case op::le: return "이하";
  }
  return "";
}

// The Korean name of a metric the city's sensors report; the metric itself when it has none.
std::string metric_ko(const std::string& m) {
  static const std::pair<const char*, const char*> names[] = {
      {"level", "수위"},         {"rain_mm", "강우량"},        {"pm25", "초미세먼지"},   {"pm10", "미세먼지"},
      {"temperature_c", "기온"}, {"humidity_pct", "습도"},     {"wind_ms", "풍속"},      {"speed_kmh", "통행 속도"},
      {"pressed", "비상버튼"},   {"motion", "움직임"},         {"pga_gal", "지진 가속도"}, {"noise_db", "소음"},
      {"travel_time_s", "통행 시간"}, {"occupancy_pct", "점유율"}};
  for (const auto& [en, ko] : names)
    if (m == en) return ko;
  return m;
}

// "90s" -> "90초", "5m" -> "5분", "6h" -> "6시간", "1d" -> "1일"
std::string duration_ko(std::int64_t us) {
  auto d = fmt_duration(us);
  const char unit = d.back();
  d.pop_back();
  return d + (unit == 'd' ? "일" : unit == 'h' ? "시간" : unit == 'm' ? "분" : "초");
}

}  // namespace

alert_words describe_alert(const rule& r, const std::string& sensor, const std::string& metric,
                           std::optional<double> value, const std::string& unit, const std::string& severity,
                           int stage, const std::string& message) {
  alert_words w;
  const std::string name_en = r.name.en.empty() ? r.name.ko : r.name.en;
  const std::string name_ko = r.name.ko.empty() ? r.name.en : r.name.ko;
  const std::string where = sensor.empty() ? std::string() : " · " + sensor;
  w.title.en = name_en + where;
  w.title.ko = name_ko + where;
  const std::string sev = severity.empty() ? r.severity : severity;
  std::visit(overloaded{
                 [&](const threshold_rule& t) {
                   const std::string now = value ? " " + with_unit(*value, unit) : std::string();
                   if (!t.stages.empty() && stage >= 0 && stage < int(t.stages.size())) {
                     const auto& sg = t.stages[std::size_t(stage)];
                     const auto n = std::to_string(t.stages.size()), k = std::to_string(stage + 1);
                     w.text.en = t.metric + now + ", " + op_en(t.o) + " " + with_unit(sg.value, unit) + ": stage " + k +
                                 " of " + n + " (" + sev + ")";
                     w.text.ko = metric_ko(t.metric) + now + ", " + with_unit(sg.value, unit) + " " + op_ko(t.o) + ": " + n +
                                 "단계 중 " + k + "단계 (" + severity_ko(sev) + ")";
                     if (stage + 1 < int(t.stages.size())) {
                       const auto& next = t.stages[std::size_t(stage + 1)];
                       w.text.en += "; next stage at " + with_unit(next.value, unit);
                       w.text.ko += "; 다음 단계 " + with_unit(next.value, unit);
                     }
                   } else {
                     w.text.en = t.metric + now + ", " + op_en(t.o) + " " + with_unit(t.value, unit);
                     w.text.ko = metric_ko(t.metric) + now + ", 기준 " + with_unit(t.value, unit) + " " + op_ko(t.o);
                     if (t.for_us) {
                       w.text.en += " for " + fmt_duration(t.for_us);
                       w.text.ko += " (" + duration_ko(t.for_us) + " 지속)";
                     }
                     w.text.en += " (" + sev + ")";
                     w.text.ko += std::string(" (") + severity_ko(sev) + ")";
                   }
                 },
                 [&](const rate_rule& t) {
                   w.text.en = message;
                   w.text.ko = metric_ko(t.metric) + " " + duration_ko(t.window_us) + " 내 " +
                               with_unit(std::abs(t.delta), unit) + (t.delta > 0 ? " 이상 상승" : " 이상 하강") +
                               (value ? " (현재 " + with_unit(*value, unit) + ")" : std::string());
                 },
                 [&](const silence_rule& t) {
                   w.text.en = message;
                   w.text.ko = duration_ko(t.for_us) + " 이상 수신 없음";
                 },
                 [&](const composite_rule&) {
                   w.text.en = message;
                   w.text.ko = "구역의 모든 조건 충족";
                 },
                 [&](const inactivity_rule&) {
                   w.text.en = message;
                   w.text.ko = "평소와 다르게 활동이 없음";
                 },
                 [&](const auto&) {
                   // a kind with no Korean template yet: its English message in both
                   w.text.en = message;
                   w.text.ko = message;
                 },
             },
             r.spec);
  (void)metric;
  return w;
}

}  // namespace maeul::rules
