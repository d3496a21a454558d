// Request bodies in JSON: the one parser every handler uses.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// Finds the first string (key or value) holding a NUL character, which PostgreSQL cannot store.
std::optional<std::string> find_nul(const json& j, const std::string& pointer) {
  if (j.is_string()) {
    if (j.get_ref<const std::string&>().find('\0') != std::string::npos) return pointer;
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k.find('\0') != std::string::npos) return pointer + "/" + pointer_token(k);
      if (auto p = find_nul(v, pointer + "/" + pointer_token(k))) return p;
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      if (auto p = find_nul(j[i], pointer + "/" + std::to_string(i))) return p;
  }
  return std::nullopt;
}

}  // namespace

domain::outcome<std::string> check_json_content_type(const net::request& req) {
  std::string_view ct = req.content_type;
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  std::string lower;
  for (char c : ct) lower += char(std::tolower(static_cast<unsigned char>(c)));
  bool ok = lower == "application/json" ||
            (lower.rfind("application/", 0) == 0 && lower.size() > 5 && lower.substr(lower.size() - 5) == "+json");
  if (!ok)
    return make_problem(problem_kind::unsupported_media,
                        "expected Content-Type: application/json, got \"" + req.content_type + "\"");
  return std::string(lower);
}

domain::outcome<nlohmann::json> json_body(const net::request& req, bool empty_is_object) {
  auto ct = check_json_content_type(req);
  if (!ct) return ct.error();
  if (empty_is_object && req.body.empty()) return json::object();
  if (json_nesting_depth(req.body) > max_json_depth)
    return make_problem(problem_kind::malformed,
                        "JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
  try {
    auto j = json::parse(req.body);
    if (auto p = find_nul(j, "")) return domain::invalid({{*p, {}, "must not contain the NUL character"}});
    return j;
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return make_problem(problem_kind::malformed, "malformed JSON: " + what);
  }
}

}  // namespace maeul::api
