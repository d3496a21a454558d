// Welfare: what of a welfare alert reaches those who may not read welfare data
// (domain/events.hpp); residents' validation and the household book (domain/welfare.hpp).
#include "maeul/domain/welfare.hpp"

#include <nlohmann/json.hpp>

#include "maeul/domain/events.hpp"
#include "maeul/domain/people.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/domain/time.hpp"

namespace maeul::domain {

std::string masked_welfare_alert(std::string_view alert_json, std::string_view household) {
  auto j = nlohmann::json::parse(alert_json, nullptr, false);
  if (!j.is_object()) return std::string(alert_json);
  // The household's pseudonym in place of its sensor; no value, no text that may quote one, no
  // notes (they are written by the people who know the household).
  j["household"] = household.empty() ? nlohmann::json(nullptr) : nlohmann::json(household);
  for (const char* k : {"sensor", "value", "note", "value_at_open", "current_value"})
    if (j.contains(k)) j[k] = nullptr;
  if (j.contains("message")) j["message"] = "";
  // The words (API §12) may name the sensor and quote readings: the rule's name and a fixed text.
  if (j.contains("title") || j.contains("text")) {
    auto name = j.value("rule_name", nlohmann::json::object());
    auto pick = [&](const char* a, const char* b) {
      if (name.is_object() && name.contains(a) && name[a].is_string()) return name[a].get<std::string>();
      if (name.is_object() && name.contains(b) && name[b].is_string()) return name[b].get<std::string>();
      return std::string();
    };
    j["title"] = {{"ko", pick("ko", "en")}, {"en", pick("en", "ko")}};
    j["text"] = {{"ko", "세대 확인이 필요합니다 (세부 내용은 복지 담당자만 볼 수 있습니다)"},
                 {"en", "A household needs attention (details for welfare officers only)"}};
  }
  return j.dump();
}

}  // namespace maeul::domain

// ---- residents and the household book (domain/welfare.hpp)

namespace maeul::domain {
namespace {

using json = nlohmann::json;

void add(std::vector<field_error>& errors, std::string pointer, std::string detail) {
  errors.push_back({std::move(pointer), {}, std::move(detail)});
}

bool text_field(const json& v, std::size_t max_bytes) {
  return v.is_string() && !v.get_ref<const std::string&>().empty() && v.get_ref<const std::string&>().size() <= max_bytes;
}

std::size_t phone_digits(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (c >= '0' && c <= '9');
  return n;
}

bool phone_field(const json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().size() > 40) return false;
  const auto& s = v.get_ref<const std::string&>();
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == ' ' || c == '(' || c == ')')) return false;
  return phone_digits(s) >= 7;
}

// One identity field of a resident (name, birth_year, phone, address, guardians, notes) into `out`.
void check_identity(const std::string& k, const json& v, std::vector<field_error>& errors, json& out) {
  if (k == "name") {
    if (!text_field(v, 200)) return add(errors, "/name", "must be a string of 1-200 bytes");
  } else if (k == "birth_year") {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1900 || v.get<std::int64_t>() > 2100)
      return add(errors, "/birth_year", "must be a year between 1900 and 2100");
  } else if (k == "phone") {
    if (!phone_field(v)) return add(errors, "/phone", "must be a phone number: digits, '+', '-', spaces, at least 7 digits");
  } else if (k == "address") {
    if (!text_field(v, 500)) return add(errors, "/address", "must be a string of 1-500 bytes");
  } else if (k == "notes") {
    if (!v.is_string() || v.get_ref<const std::string&>().size() > 4000)
      return add(errors, "/notes", "must be a string of at most 4000 bytes");
  } else if (k == "guardians") {
    if (!v.is_array() || v.size() > 10) return add(errors, "/guardians", "must be an array of at most 10 guardians");
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto base = "/guardians/" + std::to_string(i);
      const auto& g = v[i];
      if (!g.is_object()) {
        add(errors, base, "must be an object {name, phone, relation}");
        continue;
      }
      for (const auto& [gk, gv] : g.items())
        if (gk != "name" && gk != "phone" && gk != "relation") add(errors, base + "/" + gk, "is not a field of a guardian");
      if (!g.contains("name") || !text_field(g["name"], 200)) add(errors, base + "/name", "is required: 1-200 bytes");
      if (!g.contains("phone") || !phone_field(g["phone"])) add(errors, base + "/phone", "is required: a phone number");
      if (g.contains("relation") && !text_field(g["relation"], 100))
        add(errors, base + "/relation", "must be a string of 1-100 bytes");
    }
  }
  out[k] = v;
}

bool is_identity_field(const std::string& k) {
  return k == "name" || k == "birth_year" || k == "phone" || k == "address" || k == "guardians" || k == "notes";
}

void check_consent(const json& v, std::vector<field_error>& errors, consent& out) {
  if (!v.is_object()) return add(errors, "/consent", "must be an object {purpose, basis, granted_at, expires_at?}");
  for (const auto& [k, x] : v.items())
    if (k != "purpose" && k != "basis" && k != "granted_at" && k != "expires_at")
      add(errors, "/consent/" + k, "is not a field of a consent");
  if (!v.contains("purpose") || !text_field(v["purpose"], 500))
    add(errors, "/consent/purpose", "is required: what the data is for (1-500 bytes)");
  else
    out.purpose = v["purpose"].get<std::string>();
  if (!v.contains("basis") || !text_field(v["basis"], 200))
    add(errors, "/consent/basis", "is required: the legal basis (1-200 bytes)");
  else
    out.basis = v["basis"].get<std::string>();
  std::optional<std::int64_t> granted;
  if (v.contains("granted_at") && v["granted_at"].is_string()) granted = parse_rfc3339(v["granted_at"].get<std::string>());
  if (!granted) add(errors, "/consent/granted_at", "is required: an RFC 3339 time with an offset");
  else out.granted_at_us = *granted;
  if (v.contains("expires_at") && !v["expires_at"].is_null()) {
    std::optional<std::int64_t> ex;
    if (v["expires_at"].is_string()) ex = parse_rfc3339(v["expires_at"].get<std::string>());
    if (!ex) add(errors, "/consent/expires_at", "must be an RFC 3339 time with an offset, or null");
    else if (granted && *ex <= *granted) add(errors, "/consent/expires_at", "must be after granted_at");
    else out.expires_at_us = *ex;
  }
}

void check_zone(const json& v, std::vector<field_error>& errors, std::string& out) {
  if (!v.is_string() || !is_valid_id(v.get_ref<const std::string&>())) return add(errors, "/zone", "must be a zone id");
  out = v.get<std::string>();
}

void check_care_worker(const json& v, std::vector<field_error>& errors, std::string& out) {
  if (!v.is_string() || (!v.get_ref<const std::string&>().empty() && !is_valid_username(v.get_ref<const std::string&>())))
    return add(errors, "/care_worker", "must be a username (or \"\" for none)");
  out = v.get<std::string>();
}

void check_risk(const json& v, std::vector<field_error>& errors, std::string& out) {
  for (auto r : risk_levels)
    if (v.is_string() && v.get_ref<const std::string&>() == r) {
      out = std::string(r);
      return;
    }
  add(errors, "/risk_level", "must be one of low, medium, high");
}

}  // namespace

outcome<resident_input> validate_resident(const json& body) {
  if (!body.is_object()) return invalid({{"", {}, "the body must be a JSON object"}});
  std::vector<field_error> errors;
  resident_input r;
  for (const auto& [k, v] : body.items()) {
    if (is_identity_field(k)) check_identity(k, v, errors, r.identity);
    else if (k == "zone") check_zone(v, errors, r.zone);
    else if (k == "care_worker") check_care_worker(v, errors, r.care_worker);
    else if (k == "risk_level") check_risk(v, errors, r.risk_level);
    else if (k == "consent") check_consent(v, errors, r.consent);
    else add(errors, "/" + k, "is not a field of a resident");
  }
  if (!body.contains("name")) add(errors, "/name", "is required");
  if (!body.contains("zone")) add(errors, "/zone", "is required");
  if (!body.contains("consent")) add(errors, "/consent", "is required: no resident is registered without consent");
  if (!errors.empty()) return invalid(std::move(errors));
  return r;
}

outcome<resident_patch> validate_resident_patch(const json& body) {
  if (!body.is_object()) return invalid({{"", {}, "the body must be a JSON object"}});
  std::vector<field_error> errors;
  resident_patch p;
  for (const auto& [k, v] : body.items()) {
    if (is_identity_field(k)) {
      check_identity(k, v, errors, p.identity);
    } else if (k == "zone") {
      p.zone.emplace();
      check_zone(v, errors, *p.zone);
    } else if (k == "care_worker") {
      p.care_worker.emplace();
      check_care_worker(v, errors, *p.care_worker);
    } else if (k == "risk_level") {
      p.risk_level.emplace();
      check_risk(v, errors, *p.risk_level);
    } else if (k == "consent") {
      p.consent.emplace();
      check_consent(v, errors, *p.consent);
    } else {
      add(errors, "/" + k, "is not a field of a resident");
    }
  }
  if (!errors.empty()) return invalid(std::move(errors));
  if (p.empty()) return invalid({{"", {}, "nothing to change"}});
  return p;
}

bool is_household_pseudonym(std::string_view s) {
  if (s.size() != 19 || s.substr(0, 3) != "hh-") return false;
  for (char c : s.substr(3))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool household_book::put(const std::string& household, entry e) {
  std::unique_lock lock(mutex_);
  auto it = households_.find(household);
  if (it == households_.end() && households_.size() >= max_households) return false;
  households_[household] = std::move(e);
  return true;
}

void household_book::forget(const std::string& household) {
  std::unique_lock lock(mutex_);
  households_.erase(household);
}

household_book::status household_book::check(const std::string& household, std::int64_t now_us) const {
  std::shared_lock lock(mutex_);
  auto it = households_.find(household);
  if (it == households_.end()) return status::unknown;
  if (it->second.consent_expires_us != 0 && it->second.consent_expires_us <= now_us) return status::lapsed;
  return status::active;
}

std::optional<household_book::entry> household_book::get(const std::string& household) const {
  std::shared_lock lock(mutex_);
  auto it = households_.find(household);
  if (it == households_.end()) return std::nullopt;
  return it->second;
}

std::size_t household_book::households() const {
  std::shared_lock lock(mutex_);
  return households_.size();
}

bool household_book::set_sensor(const std::string& sensor, const std::string& household) {
  std::unique_lock lock(mutex_);
  if (household.empty()) {
    sensors_.erase(sensor);
    return true;
  }
  auto it = sensors_.find(sensor);
  if (it == sensors_.end() && sensors_.size() >= max_sensors) return false;
  sensors_[sensor] = household;
  return true;
}

void household_book::forget_sensor(const std::string& sensor) {
  std::unique_lock lock(mutex_);
  sensors_.erase(sensor);
}

std::string household_book::household_of(const std::string& sensor) const {
  std::shared_lock lock(mutex_);
  auto it = sensors_.find(sensor);
  return it == sensors_.end() ? std::string() : it->second;
}

void household_book::count_withheld(const std::string& household, std::int64_t n) {
  std::unique_lock lock(mutex_);
  // Bounded by the households map: only a known (lapsed) household is ever counted.
  if (!households_.count(household)) return;
  withheld_[household] += n;
  withheld_total_ += n;
}

std::unordered_map<std::string, std::int64_t> household_book::take_withheld() {
  std::unique_lock lock(mutex_);
  std::unordered_map<std::string, std::int64_t> out;
  out.swap(withheld_);
  return out;
}

std::int64_t household_book::withheld_total() const {
  std::shared_lock lock(mutex_);
  return withheld_total_;
}

}  // namespace maeul::domain
