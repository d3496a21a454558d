// The JSON objects PostgreSQL builds for the API (src/storage/wire_sql.cpp) against the contract,
// docs/openapi.yaml: rows are made through the stores, each object is read back through the store
// method that returns it, and its keys must be the properties of its component schema (less the
// optional ones the test names), every required one there, and every value of a type the schema
// allows (nested objects and array items too, where the schema says what they are).
//
// No YAML library is available: contract_reader below reads the subset of YAML the file uses
// (block mappings and sequences by indentation, flow sequences, quoted and block scalars).
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "maeul/rules/rules.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/operations.hpp"
#include "maeul/storage/users.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace rules = maeul::rules;
using keys = std::set<std::string>;

// ---- the contract

struct yaml_line {
  int indent = 0;
  std::string text;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == '\'' && s[i + 1] == '\'') ++i;  // '' is one quote
    }
    return out;
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      if (s[i] == '\\' && i + 2 < s.size()) ++i;
      out += s[i];
    }
    return out;
  }
  return s;
}

// The index just past the quoted string opening at s[i].
std::size_t past_quote(const std::string& s, std::size_t i) {
  char q = s[i];
  for (++i; i < s.size(); ++i) {
    if (q == '"' && s[i] == '\\') ++i;
    else if (s[i] == q) {
      if (q == '\'' && i + 1 < s.size() && s[i + 1] == '\'') ++i;
      else return i + 1;
    }
  }
  return s.size();
}

json flow_value(const std::string& s);

// `[a, 'b', [c]]`: items split at the commas outside quotes and brackets.
json flow_sequence(const std::string& s) {
  json out = json::array();
  std::string inner = s.substr(1, s.size() - 2);
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= inner.size(); ++i) {
    if (i < inner.size() && (inner[i] == '\'' || inner[i] == '"')) {
      i = past_quote(inner, i) - 1;
    } else if (i < inner.size() && (inner[i] == '[' || inner[i] == '{')) {
      ++depth;
    } else if (i < inner.size() && (inner[i] == ']' || inner[i] == '}')) {
      --depth;
    } else if (i == inner.size() || (inner[i] == ',' && depth == 0)) {
      auto item = trim(inner.substr(start, i - start));
      if (!item.empty()) out.push_back(flow_value(item));
      start = i + 1;
    }
  }
  return out;
}

// A scalar or flow value; flow mappings other than {} stay text (the checks never need them).
json flow_value(const std::string& s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') return flow_sequence(s);
  if (s == "{}") return json::object();
  if (s == "true") return true;
  if (s == "false") return false;
  return unquote(s);
}

// Where the key of a `key: value` line ends (at its colon), or npos when the line is no such line.
std::size_t key_end(const std::string& t) {
  std::size_t i = 0;
  if (!t.empty() && (t[0] == '\'' || t[0] == '"')) i = past_quote(t, 0);
  else if (!t.empty() && (t[0] == '[' || t[0] == '{' || t[0] == '-')) return std::string::npos;
  for (; i < t.size(); ++i)
    if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i == 0 ? std::string::npos : i;
  return std::string::npos;
}

bool is_item(const yaml_line& l) { return l.text == "-" || l.text.rfind("- ", 0) == 0; }

json block(std::vector<yaml_line>& ls, std::size_t& i, int indent);

// The value after `key:` on line i - 1 (at `indent`): inline, block scalar, or a nested block.
json value_of(std::vector<yaml_line>& ls, std::size_t& i, int indent, const std::string& inline_text) {
  if (inline_text.empty()) {
    if (i < ls.size() && (ls[i].indent > indent || (ls[i].indent == indent && is_item(ls[i]))))
      return block(ls, i, ls[i].indent);
    return nullptr;
  }
  std::string text = inline_text;
  bool literal = text[0] == '|' || text[0] == '>';
  if (literal) text.clear();
  // A block scalar's lines, or a plain or flow value continued on deeper lines.
  for (; i < ls.size() && ls[i].indent > indent; ++i) text += (text.empty() ? "" : " ") + ls[i].text;
  return literal ? json(text) : flow_value(text);
}

// The block node whose lines start at ls[i], all at `indent`.
json block(std::vector<yaml_line>& ls, std::size_t& i, int indent) {
  if (is_item(ls[i])) {
    json seq = json::array();
    while (i < ls.size() && ls[i].indent == indent && is_item(ls[i])) {
      auto rest = ls[i].text.substr(1);
      auto content = trim(rest);
      if (content.empty()) {
        ++i;
        seq.push_back(i < ls.size() && ls[i].indent > indent ? block(ls, i, ls[i].indent) : json());
        continue;
      }
      // `- key: v` starts a mapping whose other keys line up with `key`: read the item in place.
      ls[i].indent = indent + 1 + int(rest.find_first_not_of(' '));
      ls[i].text = content;
      seq.push_back(block(ls, i, ls[i].indent));
    }
    return seq;
  }
  if (key_end(ls[i].text) == std::string::npos) {
    std::string text = ls[i++].text;
    for (; i < ls.size() && ls[i].indent > indent; ++i) text += " " + ls[i].text;
    return flow_value(text);
  }
  json map = json::object();
  while (i < ls.size() && ls[i].indent == indent && !is_item(ls[i])) {
    auto t = ls[i].text;
    auto k = key_end(t);
    if (k == std::string::npos) throw std::runtime_error("openapi.yaml: expected a key in: " + t);
    auto key = unquote(trim(t.substr(0, k)));
    ++i;
    map[key] = value_of(ls, i, indent, trim(t.substr(k + 1)));
  }
  return map;
}

// components.schemas of docs/openapi.yaml, and what the checks ask of a schema: its properties
// and required ones with allOf merged and $ref followed, and the JSON types a value may have.
class contract_reader {
 public:
  static const contract_reader& get() {
    static const contract_reader c(std::string(MAEUL_SOURCE_DIR) + "/docs/openapi.yaml");
    return c;
  }

  explicit contract_reader(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::vector<yaml_line> ls;
    std::string raw;
    bool in_components = false, in_schemas = false;
    while (std::getline(in, raw)) {
      auto text = trim(raw);
      if (text.empty() || text[0] == '#') continue;
      int indent = int(raw.find_first_not_of(' '));
      if (indent == 0) in_components = text == "components:";
      if (in_components && indent == 2) in_schemas = text == "schemas:";
      else if (in_schemas && indent > 2) ls.push_back({indent, text});
    }
    if (ls.empty()) throw std::runtime_error(path + " has no components: schemas:");
    std::size_t i = 0;
    schemas_ = block(ls, i, ls[0].indent);
  }

  const json& schema(const std::string& name) const {
    if (!schemas_.contains(name)) throw std::invalid_argument("no schema " + name + " in docs/openapi.yaml");
    return schemas_.at(name);
  }

  // The node `$ref` names, followed until a node without one.
  const json& resolve(const json& node) const {
    const json* n = &node;
    while (n->is_object() && n->contains("$ref")) {
      auto ref = n->at("$ref").get<std::string>();
      const std::string prefix = "#/components/schemas/";
      if (ref.rfind(prefix, 0) != 0) throw std::invalid_argument("unsupported $ref " + ref);
      n = &schema(ref.substr(prefix.size()));
    }
    return *n;
  }

  // property name -> its schema node, of the node and of every allOf member.
  std::map<std::string, json> properties(const json& node) const {
    const auto& n = resolve(node);
    std::map<std::string, json> out;
    if (n.contains("properties") && n["properties"].is_object())
      for (auto& [k, v] : n["properties"].items()) out[k] = v;
    if (n.contains("allOf"))
      for (const auto& part : n["allOf"])
        for (auto& [k, v] : properties(part)) out.emplace(k, v);
    return out;
  }

  keys required(const json& node) const {
    const auto& n = resolve(node);
    keys out;
    if (n.contains("required"))
      for (const auto& r : n["required"]) out.insert(r.get<std::string>());
    if (n.contains("allOf"))
      for (const auto& part : n["allOf"]) out.merge(required(part));
    return out;
  }

  // The JSON types a value may have; empty when the schema does not restrict it.
  keys types(const json& node) const {
    const auto& n = resolve(node);
    keys out;
    if (n.contains("type")) {
      if (n["type"].is_array())
        for (const auto& t : n["type"]) out.insert(t.get<std::string>());
      else
        out.insert(n["type"].get<std::string>());
    } else if (n.contains("const")) {
      out.insert(n["const"].is_string() ? "string" : "boolean");
    } else if (n.contains("oneOf") || n.contains("anyOf")) {
      for (const auto& alt : n.contains("oneOf") ? n["oneOf"] : n["anyOf"]) {
        auto t = types(alt);
        if (t.empty()) return {};
        out.merge(t);
      }
    } else if (n.contains("allOf") || n.contains("properties")) {
      out.insert("object");
    }
    if (!out.empty() && n.value("nullable", false)) out.insert("null");
    return out;
  }

 private:
  json schemas_;
};

bool has_type(const json& v, const std::string& t) {
  if (t == "null") return v.is_null();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "number") return v.is_number();
  if (t == "integer")
    return v.is_number_integer() || (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>());
  return false;
}

std::string joined(const keys& ks) {
  std::string out;
  for (const auto& k : ks) out += (out.empty() ? "" : "|") + k;
  return out;
}

// Adds to `errors` what in `v` (at `where`) the schema node refuses: its type; for an object,
// a key that is no property (unless additionalProperties says otherwise), a missing required
// property and the members' own values; for an array, each item.
void check_value(const json& v, const json& node, const std::string& where, std::vector<std::string>& errors) {
  const auto& c = contract_reader::get();
  const auto& n = c.resolve(node);
  auto ts = c.types(n);
  if (!ts.empty() && std::none_of(ts.begin(), ts.end(), [&](const std::string& t) { return has_type(v, t); })) {
    errors.push_back(where + " is " + v.dump() + ", not of type " + joined(ts));
    return;
  }
  if (v.is_object()) {
    auto props = c.properties(n);
    if (props.empty()) return;  // free-form (Attributes) or one of several shapes (oneOf)
    bool open = n.contains("additionalProperties") && n["additionalProperties"] == true;
    for (const auto& r : c.required(n))
      if (!v.contains(r)) errors.push_back(where + " misses the required property " + r);
    for (auto& [k, member] : v.items()) {
      auto p = props.find(k);
      if (p != props.end()) check_value(member, p->second, where + "/" + k, errors);
      else if (!open) errors.push_back(where + " has " + k + ", which is no property of its schema");
    }
  } else if (v.is_array() && n.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i) check_value(v[i], n["items"], where + "/" + std::to_string(i), errors);
  }
}

// The object against components.schemas.<name>: its keys are exactly the schema's properties but
// `may_omit` (optional ones this object leaves out) plus `extra` (keys the object has that the
// schema does not list), and its values pass check_value.
::testing::AssertionResult conforms(const json& obj, const std::string& name, const keys& may_omit = {},
                                    const keys& extra = {}) {
  const auto& c = contract_reader::get();
  const auto& s = c.schema(name);
  std::vector<std::string> errors;
  if (!obj.is_object()) return ::testing::AssertionFailure() << name << ": not an object: " << obj.dump();
  auto props = c.properties(s);
  auto required = c.required(s);
  for (const auto& k : may_omit) {
    if (!props.count(k)) errors.push_back("may_omit names " + k + ", which is no property of " + name);
    if (required.count(k)) errors.push_back("may_omit names " + k + ", which " + name + " requires");
  }
  for (const auto& [k, _] : props)
    if (!obj.contains(k) && !may_omit.count(k)) errors.push_back("misses the property " + k);
  for (const auto& k : extra) {
    if (props.count(k)) errors.push_back("extra names " + k + ", which is a property of " + name);
    if (!obj.contains(k)) errors.push_back("misses " + k + " (named in extra)");
  }
  json checked = obj;
  for (const auto& k : extra) checked.erase(k);
  check_value(checked, s, "", errors);
  if (errors.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << name << " " << obj.dump() << ":";
  for (const auto& e : errors) failure << "\n  " << e;
  return failure;
}

// ---- the stores

rules::rule make_rule(json body) {
  auto r = rules::parse_rule(body);
  if (!r.ok()) throw std::invalid_argument("test rule does not validate: " + r.error().describe());
  return r.value();
}

rules::rule threshold_rule(const std::string& id) {
  return make_rule({{"id", id},
                    {"name", {{"ko", "수위 " + id}, {"en", "Level " + id}}},
                    {"kind", "threshold"},
                    {"selector", {{"kind", "water_level"}}},
                    {"severity", "critical"},
                    {"metric", "level"},
                    {"op", ">"},
                    {"value", 3},
                    {"for", "2m"}});
}

rules::rule composite_rule(const std::string& id) {
  return make_rule({{"id", id},
                    {"name", "Flood and traffic"},
                    {"kind", "composite"},
                    {"selector", {{"zone", "cheongho"}}},
                    {"severity", "warning"},
                    {"window", "10m"},
                    {"conditions", json::array({{{"metric", "level"}, {"op", ">"}, {"value", 3}},
                                                {{"metric", "speed_kmh"}, {"op", "<"}, {"value", 10},
                                                 {"kind", "traffic_corridor"}}})}});
}

rules::transition opening(const std::string& rule, const std::string& sensor, std::optional<double> value) {
  rules::transition t;
  t.rule_id = rule;
  t.subject = sensor.empty() ? "cheongho" : sensor;
  t.sensor = sensor;
  t.zone = "cheongho";
  t.domain = "disaster";
  t.metric = value ? "level" : "";
  t.value = value;
  t.message = value ? "level 4 > 3 for 2m" : "level and speed_kmh within 10m";
  return t;
}

rules::rule inactivity_rule(const std::string& id) {
  return make_rule({{"id", id},
                    {"name", "Unusually quiet"},
                    {"kind", "inactivity"},
                    {"selector", {{"kind", "home_activity"}}},
                    {"severity", "warning"}});
}

// The optional properties of a Rule that a rule of one kind leaves out.
keys and_inactivity_keys(keys k) {
  k.insert({"learn_weeks", "min_days", "quantile", "factor", "floor", "ceiling", "cold_start"});
  k.insert({"stages", "incident"});  // API §12: a staged threshold rule's, and a rule that opens incidents
  k.insert({"route", "ratio", "distance_m"});  // API §11: a bunching rule's
  return k;
}
const keys threshold_omits = and_inactivity_keys({"clear", "delta", "window", "conditions"});
const keys composite_omits = and_inactivity_keys({"metric", "op", "value", "for", "clear", "delta"});
const keys inactivity_omits = {"metric", "op", "value", "for", "clear", "delta", "window", "conditions", "stages", "incident",
                                  "route", "ratio", "distance_m"};

class wire_json : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    ops_ = std::make_unique<storage::operations_store>(*pool_);
    tokens_ = std::make_unique<storage::token_store>(*pool_);
    users_ = std::make_unique<storage::user_store>(*pool_);
    kpis_ = std::make_unique<storage::kpi_store>(*pool_);
  }
  void TearDown() override {
    kpis_.reset();
    users_.reset();
    tokens_.reset();
    ops_.reset();
    fresh_db::TearDown();
  }

 public:
  storage::operations_store& ops() { return *ops_; }

  template <class T>
  static json parsed(const maeul::domain::outcome<T>& o) {
    EXPECT_TRUE(o.ok()) << o.error().describe();
    return o.ok() ? json::parse(o.value()) : json();
  }
  static std::vector<json> items(const storage::page& p) {
    std::vector<json> out;
    for (const auto& i : p.items) out.push_back(json::parse(i));
    return out;
  }

  // The zone cheongho with a water level gauge in it, and a sensor outside every zone.
  void add_registry() {
    add_zone(square_zone("cheongho", 128.58, 38.19, 0.04, 12000));
    add_sensor(sensor_at("wl-01", "disaster", "water_level", 128.60, 38.20,
                         json::array({{{"name", "level"}, {"unit", "m"}, {"min", 0}, {"max", 10}, {"interval_s", 60}}}),
                         {{"name", "Cheongcho mouth"}, {"attributes", {{"warning_level_m", 2.1}}}}));
    add_sensor(sensor_at("wl-far", "disaster", "water_level", 127.00, 37.50,
                         json::array({{{"name", "level"}, {"unit", "m"}}})));
  }

  // An open alert of the threshold rule on wl-01 and one of the composite rule (no sensor, no value).
  std::pair<std::int64_t, std::int64_t> open_alerts() {
    auto t = threshold_rule("r-level");
    auto c = composite_rule("r-flood");
    EXPECT_TRUE(sync(ops().create_rule(t)).ok());
    EXPECT_TRUE(sync(ops().create_rule(c)).ok());
    auto ev = sync(ops().apply({opening("r-level", "wl-01", 4), opening("r-flood", "", std::nullopt)}, {t, c}));
    EXPECT_EQ(ev.size(), 2u);
    if (ev.size() != 2) return {0, 0};
    return {json::parse(ev[0].alert_json).at("id").get<std::int64_t>(),
            json::parse(ev[1].alert_json).at("id").get<std::int64_t>()};
  }

  std::unique_ptr<storage::operations_store> ops_;
  std::unique_ptr<storage::token_store> tokens_;
  std::unique_ptr<storage::user_store> users_;
  std::unique_ptr<storage::kpi_store> kpis_;
};

}  // namespace

// ---- the reader of the contract and the check, on the contract itself and on made-up objects

TEST_F(wire_json, the_contract_reader_reads_properties_required_and_types) {
  const auto& c = contract_reader::get();
  // Alert's required list spans two lines and names every property.
  auto alert_props = c.properties(c.schema("Alert"));
  // household: only in welfare alerts shown masked (not required); stage, assigned_at, incident: API §12
  EXPECT_EQ(alert_props.size(), 29u);
  EXPECT_EQ(c.required(c.schema("Alert")).size(), 25u);
  EXPECT_EQ(c.types(alert_props.at("value")), (keys{"number", "null"}));
  EXPECT_EQ(c.types(alert_props.at("acknowledged_at")), (keys{"string", "null"})) << "through $ref NullableTimestamp";
  EXPECT_EQ(c.types(alert_props.at("rule_name")), keys{"object"}) << "through $ref LocalizedName";
  // Rule is allOf RuleInput and its own members; Duration is oneOf string or number.
  auto rule_props = c.properties(c.schema("Rule"));
  EXPECT_TRUE(rule_props.count("conditions") && rule_props.count("created_at") && rule_props.count("id"));
  EXPECT_EQ(c.required(c.schema("Rule")), (keys{"id", "name", "kind", "severity", "selector", "enabled", "created_at",
                                                "updated_at"}));
  EXPECT_EQ(c.types(rule_props.at("for")), (keys{"string", "number"}));
  // Incident's location is oneOf GeoJSONPoint or null.
  EXPECT_EQ(c.types(c.properties(c.schema("Incident")).at("location")), (keys{"object", "null"}));
  EXPECT_EQ(c.types(c.properties(c.schema("Sensor")).at("metrics")), keys{"array"});
  EXPECT_THROW(c.schema("Zones"), std::invalid_argument);
}

TEST_F(wire_json, the_check_refuses_a_misspelled_missing_extra_or_mistyped_key) {
  json token = {{"id", "tok_1"}, {"name", "gauge"}, {"role", "device"}, {"sensors", json::array({"wl-01"})},
                {"zones", json::array()}, {"domains", json::array()}, {"expires_at", nullptr},
                {"created_at", "2026-03-01T00:00:00.000Z"}};
  EXPECT_TRUE(conforms(token, "Token"));
  json misspelled = token;
  misspelled.erase("created_at");
  misspelled["createdAt"] = "2026-03-01T00:00:00.000Z";
  EXPECT_FALSE(conforms(misspelled, "Token"));
  json missing = token;
  missing.erase("sensors");
  EXPECT_FALSE(conforms(missing, "Token"));
  EXPECT_FALSE(conforms(missing, "Token", {"sensors"})) << "a required property may not be omitted";
  json extra = token;
  extra["token_hash"] = "ab";
  EXPECT_FALSE(conforms(extra, "Token"));
  EXPECT_TRUE(conforms(extra, "Token", {}, {"token_hash"}));
  json mistyped = token;
  mistyped["sensors"] = "wl-01";
  EXPECT_FALSE(conforms(mistyped, "Token"));
  json bad_item = token;
  bad_item["sensors"] = json::array({7});
  EXPECT_FALSE(conforms(bad_item, "Token")) << "array items are checked";
  json null_name = token;
  null_name["name"] = nullptr;
  EXPECT_FALSE(conforms(null_name, "Token")) << "null only where the schema allows it";
  json entry = {{"at", "2026-03-01T00:00:00.000Z"}, {"what", "reported"}, {"by", nullptr}, {"note", nullptr}};
  EXPECT_TRUE(conforms(entry, "TimelineEntry"));
  json nested = {{"at", "x"}, {"what", "reported"}, {"by", nullptr}, {"note", nullptr}, {"extra", 1}};
  EXPECT_FALSE(conforms(nested, "TimelineEntry"));
  json integer = {{"id", 1.5}, {"event", "opened"}, {"at", "x"}, {"actor", nullptr}, {"note", nullptr}};
  EXPECT_FALSE(conforms(integer, "AlertAuditEntry")) << "1.5 is no integer";
}

// ---- registry

TEST_F(wire_json, zone_object_is_a_zone) {
  auto created = parsed(sync(reg().create_zone(square_zone("cheongho", 128.58, 38.19, 0.04, 12000))));
  EXPECT_TRUE(conforms(created, "Zone"));
  EXPECT_TRUE(conforms(parsed(sync(reg().get_zone("cheongho"))), "Zone"));
  auto replaced = parsed(sync(reg().replace_zone(square_zone("cheongho", 128.58, 38.19, 0.05, 13000))));
  EXPECT_TRUE(conforms(replaced, "Zone"));
  auto listed = items(sync(reg().list_zones({"", 10})));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conforms(listed[0], "Zone"));
}

TEST_F(wire_json, sensor_object_is_a_sensor_with_distance_only_near_a_point) {
  add_registry();
  // wl-01: a name and a zone; wl-far: neither (both null).
  auto named = parsed(sync(reg().get_sensor("wl-01")));
  EXPECT_TRUE(conforms(named, "Sensor", {"distance_m"}));
  auto bare = parsed(sync(reg().get_sensor("wl-far")));
  EXPECT_TRUE(bare.at("name").is_null() && bare.at("zone").is_null()) << bare.dump();
  EXPECT_TRUE(conforms(bare, "Sensor", {"distance_m"}));
  auto replaced = parsed(sync(reg().replace_sensor(sensor_at("wl-far", "disaster", "water_level", 127.01, 37.51,
                                                             json::array({{{"name", "level"}, {"unit", "m"}}})))));
  EXPECT_TRUE(conforms(replaced, "Sensor", {"distance_m"}));
  auto listed = items(sync(reg().list_sensors({}, {"", 10})));
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& s : listed) EXPECT_TRUE(conforms(s, "Sensor", {"distance_m"}));

  storage::sensor_filter near;
  near.near = storage::near_filter{128.60, 38.20, 500};
  auto close = items(sync(reg().list_sensors(near, {"", 10})));
  ASSERT_EQ(close.size(), 1u);
  EXPECT_TRUE(conforms(close[0], "Sensor"));
}

TEST_F(wire_json, facility_object_is_a_facility) {
  add_zone(square_zone("cheongho", 128.58, 38.19, 0.04, 12000));
  auto created = parsed(sync(reg().create_facility(facility_at("clinic-1", "clinic", 128.60, 38.20))));
  EXPECT_TRUE(conforms(created, "Facility"));
  auto outside = parsed(sync(reg().create_facility(facility_at("clinic-2", "clinic", 127.0, 37.5))));
  EXPECT_TRUE(outside.at("zone").is_null());
  EXPECT_TRUE(conforms(outside, "Facility"));
  EXPECT_TRUE(conforms(parsed(sync(reg().get_facility("clinic-1"))), "Facility"));
  EXPECT_TRUE(
      conforms(parsed(sync(reg().replace_facility(facility_at("clinic-1", "clinic", 128.61, 38.21)))), "Facility"));
  for (const auto& f : items(sync(reg().list_facilities({}, {"", 10})))) EXPECT_TRUE(conforms(f, "Facility"));
}

// ---- operations

TEST_F(wire_json, rule_object_is_a_rule) {
  auto t = parsed(sync(ops().create_rule(threshold_rule("r-level"))));
  EXPECT_TRUE(conforms(t, "Rule", threshold_omits));
  auto c = parsed(sync(ops().create_rule(composite_rule("r-flood"))));
  EXPECT_TRUE(conforms(c, "Rule", composite_omits));
  EXPECT_TRUE(conforms(parsed(sync(ops().get_rule("r-level"))), "Rule", threshold_omits));
  EXPECT_TRUE(conforms(parsed(sync(ops().replace_rule(composite_rule("r-flood")))), "Rule", composite_omits));
  auto listed = items(sync(ops().list_rules({"", 10})));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_TRUE(conforms(listed[0], "Rule", composite_omits));
  EXPECT_TRUE(conforms(listed[1], "Rule", threshold_omits));
  EXPECT_TRUE(conforms(parsed(sync(ops().create_rule(inactivity_rule("r-quiet")))), "Rule", inactivity_omits));
  EXPECT_TRUE(conforms(parsed(sync(ops().get_rule("r-quiet"))), "Rule", inactivity_omits));
}

TEST_F(wire_json, alert_object_is_an_alert_in_every_state_and_snapshot) {
  add_registry();
  auto [level, flood] = open_alerts();
  auto open = parsed(sync(ops().get_alert(level)));
  EXPECT_TRUE(conforms(open, "Alert", {"household"}));
  // A welfare alert as other roles see it carries every property, household included.
  sync(ops().load_pseudonym_key());
  json welfare = open;
  welfare["domain"] = "welfare";
  EXPECT_TRUE(conforms(json::parse(ops().masked(welfare.dump())), "Alert"));
  auto composite = parsed(sync(ops().get_alert(flood)));
  EXPECT_TRUE(composite.at("sensor").is_null() && composite.at("value").is_null()) << composite.dump();
  EXPECT_TRUE(conforms(composite, "Alert", {"household"}));

  auto ack = sync(ops().acknowledge(level, "kim (operator)", "on it"));
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(conforms(json::parse(ack.value().alert_json), "Alert", {"household"}));
  auto resolved = sync(ops().resolve(flood, "kim (operator)", ""));
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(conforms(json::parse(resolved.value().alert_json), "Alert", {"household"}));
  for (const auto& a : items(sync(ops().list_alerts({}, {"", 10})))) EXPECT_TRUE(conforms(a, "Alert", {"household"}));

  // The snapshots of alert_events, as the live feed and /events read them.
  auto events = sync(ops().events_since(0, 10));
  ASSERT_EQ(events.size(), 4u);
  for (const auto& e : events) EXPECT_TRUE(conforms(json::parse(e.alert_json), "Alert", {"household"})) << e.event;
}

TEST_F(wire_json, alert_audit_list_has_audit_entries) {
  add_registry();
  auto [level, flood] = open_alerts();
  ASSERT_TRUE(sync(ops().acknowledge(level, "kim (operator)", "on it")).ok());
  auto list = parsed(sync(ops().alert_events_of(level)));
  EXPECT_TRUE(conforms(list, "AlertAuditList"));
  ASSERT_EQ(list.at("items").size(), 2u);
  EXPECT_TRUE(list["items"][0].at("note").is_null()) << "opened: no note";
  for (const auto& e : list["items"]) EXPECT_TRUE(conforms(e, "AlertAuditEntry"));
  auto none = parsed(sync(ops().alert_events_of(flood)));
  EXPECT_TRUE(conforms(none, "AlertAuditList"));
}

TEST_F(wire_json, incident_object_is_an_incident_with_timeline_entries) {
  add_registry();
  auto [level, flood] = open_alerts();
  const std::int64_t reported = kst_us(2026, 3, 1, 23, 50);
  storage::incident_input located;
  located.category = "flood";
  located.location = d::point{128.60, 38.20};
  located.reported_us = reported;
  located.alerts = {level, flood};
  located.note = "water on the road";
  auto created = parsed(sync(ops().create_incident(located, "kim (operator)")));
  EXPECT_TRUE(conforms(created, "Incident"));
  auto id = created.at("id").get<std::int64_t>();

  storage::incident_patch p;
  p.dispatched_us = reported + 3 * us_per_min;
  p.on_scene_us = reported + 10 * us_per_min;
  p.note = "crew on site";
  auto patched = parsed(sync(ops().patch_incident(id, p, "park (operator)")));
  EXPECT_TRUE(patched.at("response_minutes").is_number()) << patched.dump();
  EXPECT_TRUE(conforms(patched, "Incident"));
  ASSERT_EQ(patched.at("timeline").size(), 4u);
  for (const auto& e : patched["timeline"]) EXPECT_TRUE(conforms(e, "TimelineEntry"));

  // No location, no alerts, no note: nulls and empty arrays.
  storage::incident_input bare;
  bare.category = "fire";
  bare.zone = "cheongho";
  bare.reported_us = reported;
  auto zoned = parsed(sync(ops().create_incident(bare, "kim (operator)")));
  EXPECT_TRUE(zoned.at("location").is_null() && zoned.at("note").is_null()) << zoned.dump();
  EXPECT_TRUE(conforms(zoned, "Incident"));
  EXPECT_TRUE(conforms(zoned.at("timeline").at(0), "TimelineEntry"));

  EXPECT_TRUE(conforms(parsed(sync(ops().get_incident(id))), "Incident"));
  auto listed = items(sync(ops().list_incidents("", "", {"", 10})));
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& i : listed) EXPECT_TRUE(conforms(i, "Incident"));
}

TEST_F(wire_json, webhook_object_is_a_webhook) {
  auto created = json::parse(sync(ops().create_webhook("wh_000000000001", "http://127.0.0.1:9/a", {"alert.opened", "incident.opened"},
                                                        "a secret of sixteen")));
  EXPECT_TRUE(conforms(created, "Webhook"));
  auto listed = items(sync(ops().list_webhooks({"", 10})));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conforms(listed[0], "Webhook"));
}

TEST_F(wire_json, delivery_list_has_deliveries_pending_and_delivered) {
  add_registry();
  auto hook = json::parse(sync(ops().create_webhook("wh_000000000002", "http://127.0.0.1:9/a", {"alert.opened"}, "a secret of sixteen")));
  open_alerts();
  auto claimed = sync(ops().claim_deliveries(1, 30));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_FALSE(sync(ops().finish_delivery(claimed[0].id, 204, "", 12)));
  auto list = parsed(sync(ops().deliveries_of(hook.at("id").get<std::string>(), 100)));
  EXPECT_TRUE(conforms(list, "DeliveryList"));
  ASSERT_EQ(list.at("items").size(), 2u);
  std::set<std::string> states;
  for (const auto& d : list["items"]) {
    EXPECT_TRUE(conforms(d, "Delivery"));
    states.insert(d.at("state").get<std::string>());
  }
  EXPECT_EQ(states, (std::set<std::string>{"pending", "delivered"}));
  auto other =
      json::parse(sync(ops().create_webhook("wh_000000000003", "http://127.0.0.1:9/b", {"incident.opened"}, "a secret of sixteen")));
  EXPECT_TRUE(conforms(parsed(sync(ops().deliveries_of(other.at("id").get<std::string>(), 100))), "DeliveryList"));
}

// The body's "id" is the delivery's id as text, which receivers dedupe on (src/ops/ops.cpp).
TEST_F(wire_json, webhook_payload_wraps_an_alert_or_an_incident) {
  add_registry();
  sync(ops().create_webhook("wh_000000000004", "http://127.0.0.1:9/a", {"alert.opened", "alert.acknowledged", "incident.opened",
                                                     "incident.updated"},
                            "a secret of sixteen"));
  auto [level, flood] = open_alerts();
  ASSERT_TRUE(sync(ops().acknowledge(level, "kim (operator)", "")).ok());
  storage::incident_input in;
  in.category = "flood";
  in.zone = "cheongho";
  in.reported_us = kst_us(2026, 3, 1, 23, 50);
  in.alerts = {flood};
  auto id = parsed(sync(ops().create_incident(in, "kim (operator)"))).at("id").get<std::int64_t>();
  storage::incident_patch p;
  p.note = "more water";
  ASSERT_TRUE(sync(ops().patch_incident(id, p, "park (operator)")).ok());

  auto claimed = sync(ops().claim_deliveries(10, 30));
  ASSERT_EQ(claimed.size(), 5u);
  std::multiset<std::string> events;
  for (const auto& d : claimed) {
    auto body = json::parse(d.body);
    EXPECT_TRUE(conforms(body, "WebhookPayload")) << d.event;
    EXPECT_EQ(body.at("id"), std::to_string(d.id));
    EXPECT_EQ(body.at("event"), d.event);
    bool is_alert = d.event.rfind("alert.", 0) == 0;
    EXPECT_TRUE(conforms(body.at("data"), is_alert ? "Alert" : "Incident", is_alert ? keys{"household"} : keys{})) << d.event;
    events.insert(d.event);
  }
  EXPECT_EQ(events, (std::multiset<std::string>{"alert.opened", "alert.opened", "alert.acknowledged",
                                                "incident.opened", "incident.updated"}));
}

// ---- tokens, users, budget

TEST_F(wire_json, token_object_is_a_token) {
  auto created = sync(tokens_->create({"gauge 7", "device", {"wl-01", "wl-02"}}));
  auto with_secret = json::parse(created.json);
  EXPECT_TRUE(conforms(with_secret, "TokenCreated"));
  auto id = with_secret.at("id").get<std::string>();
  auto got = sync(tokens_->get(id));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(conforms(json::parse(*got), "Token"));
  sync(tokens_->create({"dashboard", "analyst", {}}));
  auto listed = items(sync(tokens_->list({"", 10})));
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& t : listed) EXPECT_TRUE(conforms(t, "Token"));
}

TEST_F(wire_json, user_object_is_a_user_and_grant_changes_are_grant_changes) {
  d::user_input u;
  u.username = "alice";
  u.display_name = "Alice Kim";
  u.role = "operator";
  u.zones = {"cheongho"};
  u.domains = {};
  // The store keeps whatever hash it is given; the hasher is not what this test is about.
  auto created = parsed(sync(users_->create(u, "$argon2id$not-a-real-hash", "root (admin)")));
  EXPECT_TRUE(conforms(created, "User"));
  EXPECT_TRUE(conforms(parsed(sync(users_->get("alice"))), "User"));
  d::user_patch p;
  p.role = "analyst";
  p.disabled = true;
  auto patched = sync(users_->patch("alice", p, "", "root (admin)"));
  ASSERT_TRUE(patched.ok());
  EXPECT_TRUE(conforms(json::parse(patched.value().json), "User"));
  auto listed = items(sync(users_->list({"", 10})));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conforms(listed[0], "User"));

  auto changes = items(sync(users_->changes("alice", {"", 10})));
  ASSERT_EQ(changes.size(), 3u) << "create, change, disable";
  EXPECT_TRUE(changes[0].at("before").is_null()) << changes[0].dump();
  for (const auto& c : changes) EXPECT_TRUE(conforms(c, "GrantChange"));
}

TEST_F(wire_json, budget_line_object_is_a_budget_line) {
  json body = {{"program", {{"ko", "스마트 버스"}, {"en", "Smart buses"}}},
               {"year", 2026},
               {"amount_krw", 1200000000},
               {"kpis", json::array({{{"kpi", "transit_boardings_per_capita"}, {"target", 5}}})}};
  EXPECT_TRUE(conforms(parsed(sync(kpis_->create_budget("bl-bus", body.dump()))), "BudgetLine"));
  body["kpis"] = json::array();
  EXPECT_TRUE(conforms(parsed(sync(kpis_->replace_budget("bl-bus", body.dump()))), "BudgetLine"));
  EXPECT_TRUE(conforms(parsed(sync(kpis_->get_budget("bl-bus"))), "BudgetLine"));
  auto listed = sync(kpis_->list_budget(0));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conforms(json::parse(listed[0]), "BudgetLine"));
}
