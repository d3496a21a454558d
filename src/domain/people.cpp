// Validation of user accounts and sign-in requests (domain/people.hpp).
#include "maeul/domain/people.hpp"

#include <nlohmann/json.hpp>

#include "maeul/domain/registry.hpp"

namespace maeul::domain {
namespace {

using json = nlohmann::json;

void add(std::vector<field_error>& errors, std::string pointer, std::string detail) {
  errors.push_back(field_error{std::move(pointer), {}, std::move(detail)});
}

void check_password(const json& v, std::vector<field_error>& errors, std::string& out) {
  if (!v.is_string()) return add(errors, "/password", "must be a string");
  const auto& s = v.get_ref<const std::string&>();
  if (utf8_length(s) < min_password_chars)
    return add(errors, "/password", "must be at least " + std::to_string(min_password_chars) + " characters long");
  if (s.size() > max_password_bytes)
    return add(errors, "/password", "must be at most " + std::to_string(max_password_bytes) + " bytes long");
  out = s;
}

void check_display_name(const json& v, std::vector<field_error>& errors, std::string& out) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty() || v.get_ref<const std::string&>().size() > 200)
    return add(errors, "/display_name", "must be a string of 1-200 bytes");
  out = v.get<std::string>();
}

void check_role(const json& v, std::vector<field_error>& errors, std::string& out) {
  if (!v.is_string() || !is_user_role(v.get_ref<const std::string&>()))
    return add(errors, "/role", "must be one of admin, operator, analyst, welfare_officer");
  out = v.get<std::string>();
}

}  // namespace

void check_zones(const json& v, std::vector<field_error>& errors, std::vector<std::string>& out) {
  if (!v.is_array()) return add(errors, "/zones", "must be an array of zone ids");
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || !is_valid_id(v[i].get_ref<const std::string&>()))
      add(errors, "/zones/" + std::to_string(i), "must be a zone id");
    else
      out.push_back(v[i].get<std::string>());
  }
}

void check_domains(const json& v, std::vector<field_error>& errors, std::vector<std::string>& out) {
  if (!v.is_array()) return add(errors, "/domains", "must be an array of domains");
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || !is_domain(v[i].get_ref<const std::string&>()))
      add(errors, "/domains/" + std::to_string(i), "must be one of mobility, energy, welfare, disaster, environment");
    else
      out.push_back(v[i].get<std::string>());
  }
}

bool is_user_role(std::string_view s) {
  for (auto r : user_roles)
    if (r == s) return true;
  return false;
}

bool is_valid_username(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

outcome<user_input> validate_user(const json& body) {
  std::vector<field_error> errors;
  user_input u;
  if (!body.is_object()) return invalid({{"", {}, "the body must be a JSON object"}});
  static const char* known[] = {"username", "display_name", "role", "password", "zones", "domains"};
  for (const auto& [k, v] : body.items()) {
    bool ok = false;
    for (auto* n : known) ok = ok || k == n;
    if (!ok) add(errors, "/" + k, "is not a field of a user");
  }
  auto n = body.find("username");
  if (n == body.end() || !n->is_string() || !is_valid_username(n->get_ref<const std::string&>()))
    add(errors, "/username", "is required: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  else
    u.username = n->get<std::string>();
  if (auto d = body.find("display_name"); d == body.end()) add(errors, "/display_name", "is required");
  else check_display_name(*d, errors, u.display_name);
  if (auto r = body.find("role"); r == body.end()) add(errors, "/role", "is required");
  else check_role(*r, errors, u.role);
  if (auto p = body.find("password"); p == body.end()) add(errors, "/password", "is required");
  else check_password(*p, errors, u.password);
  if (auto z = body.find("zones"); z != body.end() && !z->is_null()) check_zones(*z, errors, u.zones);
  if (auto d = body.find("domains"); d != body.end() && !d->is_null()) check_domains(*d, errors, u.domains);
  if (!errors.empty()) return invalid(std::move(errors));
  return u;
}

outcome<user_patch> validate_user_patch(const json& body) {
  std::vector<field_error> errors;
  user_patch p;
  if (!body.is_object()) return invalid({{"", {}, "the body must be a JSON object"}});
  for (const auto& [k, v] : body.items()) {
    if (k == "display_name") {
      std::string s;
      check_display_name(v, errors, s);
      p.display_name = s;
    } else if (k == "role") {
      std::string s;
      check_role(v, errors, s);
      p.role = s;
    } else if (k == "zones") {
      std::vector<std::string> z;
      if (!v.is_null()) check_zones(v, errors, z);
      p.zones = z;
    } else if (k == "domains") {
      std::vector<std::string> d;
      if (!v.is_null()) check_domains(v, errors, d);
      p.domains = d;
    } else if (k == "disabled") {
      if (!v.is_boolean()) add(errors, "/disabled", "must be true or false");
      else p.disabled = v.get<bool>();
    } else if (k == "password") {
      std::string s;
      check_password(v, errors, s);
      p.password = s;
    } else {
      add(errors, "/" + k, "cannot be changed (display_name, role, zones, domains, disabled, password can)");
    }
  }
  if (errors.empty() && p.empty()) add(errors, "", "names nothing to change");
  if (!errors.empty()) return invalid(std::move(errors));
  return p;
}

outcome<sign_in_input> validate_sign_in(const json& body) {
  std::vector<field_error> errors;
  sign_in_input s;
  if (!body.is_object()) return invalid({{"", {}, "the body must be a JSON object"}});
  auto u = body.find("username");
  if (u == body.end() || !u->is_string() || u->get_ref<const std::string&>().empty() ||
      u->get_ref<const std::string&>().size() > 64)
    add(errors, "/username", "is required: a string of 1-64 bytes");
  else
    s.username = u->get<std::string>();
  auto p = body.find("password");
  if (p == body.end() || !p->is_string() || p->get_ref<const std::string&>().empty() ||
      p->get_ref<const std::string&>().size() > max_password_bytes)
    add(errors, "/password", "is required: a string of 1-1024 bytes");
  else
    s.password = p->get<std::string>();
  if (!errors.empty()) return invalid(std::move(errors));
  return s;
}

}  // namespace maeul::domain
