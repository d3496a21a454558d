// Problem details: status codes, slugs and the JSON body.
#include "maeul/domain/problem.hpp"

#include <nlohmann/json.hpp>

namespace maeul::domain {

int problem::status() const {
  switch (kind) {
    case problem_kind::malformed: return 400;
    case problem_kind::unauthorized: return 401;
    case problem_kind::forbidden: return 403;
    case problem_kind::not_found: return 404;
    case problem_kind::method_not_allowed: return 405;
    case problem_kind::conflict: return 409;
    case problem_kind::too_large: return 413;
    case problem_kind::unsupported_media: return 415;
    case problem_kind::invalid: return 422;
    case problem_kind::too_many_requests: return 429;
    case problem_kind::internal: return 500;
    case problem_kind::unavailable: return 503;
  }
  return 500;
}

const char* problem::slug() const {
  switch (kind) {
    case problem_kind::malformed: return "malformed-json";
    case problem_kind::unauthorized: return "unauthorized";
    case problem_kind::forbidden: return "forbidden";
    case problem_kind::not_found: return "not-found";
    case problem_kind::method_not_allowed: return "method-not-allowed";
    case problem_kind::conflict: return "conflict";
    case problem_kind::too_large: return "payload-too-large";
    case problem_kind::unsupported_media: return "unsupported-media-type";
    case problem_kind::invalid: return "invalid";
    case problem_kind::too_many_requests: return "too-many-requests";
    case problem_kind::internal: return "internal";
    case problem_kind::unavailable: return "unavailable";
  }
  return "internal";
}

const char* problem::title() const {
  switch (kind) {
    case problem_kind::malformed: return "Malformed request";
    case problem_kind::unauthorized: return "Authentication required";
    case problem_kind::forbidden: return "Forbidden";
    case problem_kind::not_found: return "Not found";
    case problem_kind::method_not_allowed: return "Method not allowed";
    case problem_kind::conflict: return "Conflict";
    case problem_kind::too_large: return "Payload too large";
    case problem_kind::unsupported_media: return "Unsupported media type";
    case problem_kind::invalid: return "Invalid input";
    case problem_kind::too_many_requests: return "Too many requests";
    case problem_kind::internal: return "Internal error";
    case problem_kind::unavailable: return "Service unavailable";
  }
  return "Internal error";
}

std::string problem::to_json() const {
  nlohmann::ordered_json j;
  j["type"] = std::string("https://maeul.city/problems/") + slug();
  j["title"] = title();
  j["status"] = status();
  j["detail"] = detail;
  if (!errors.empty()) {
    auto& arr = j["errors"] = nlohmann::ordered_json::array();
    for (const auto& e : errors) {
      nlohmann::ordered_json item;
      if (!e.parameter.empty())
        item["parameter"] = e.parameter;
      else
        item["pointer"] = e.pointer;
      item["detail"] = e.detail;
      arr.push_back(std::move(item));
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

problem make_problem(problem_kind kind, std::string detail) {
  return problem{kind, std::move(detail), {}};
}

problem invalid(std::vector<field_error> errors, std::string detail) {
  return problem{problem_kind::invalid, std::move(detail), std::move(errors)};
}

}  // namespace maeul::domain
