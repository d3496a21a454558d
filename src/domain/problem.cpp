// Problem details: slugs, titles and a plain-text description (HTTP status and body: api/router.cpp).
#include "maeul/domain/problem.hpp"

namespace maeul::domain {

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

std::string problem::describe() const {
  std::string out = std::string(slug()) + ": " + detail;
  for (const auto& e : errors)
    out += "; " + (e.parameter.empty() ? e.pointer : "?" + e.parameter) + " " + e.detail;
  return out;
}

problem make_problem(problem_kind kind, std::string detail) {
  return problem{kind, std::move(detail), {}};
}

problem invalid(std::vector<field_error> errors, std::string detail) {
  return problem{problem_kind::invalid, std::move(detail), std::move(errors)};
}

}  // namespace maeul::domain
