// The domain's one error value: an RFC 9457 problem, mapped to HTTP in one place (api/).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace maeul::domain {

// One invalid field: `pointer` is a JSON Pointer into the body, or `parameter` a query parameter name.
struct field_error {
  std::string pointer;
  std::string parameter;
  std::string detail;
};

enum class problem_kind {
  malformed,          // 400
  unauthorized,       // 401
  forbidden,          // 403
  not_found,          // 404
  method_not_allowed, // 405
  conflict,           // 409
  too_large,          // 413
  unsupported_media,  // 415
  invalid,            // 422
  too_many_requests,  // 429
  internal,           // 500
  unavailable,        // 503
};

struct problem {
  problem_kind kind = problem_kind::internal;
  std::string detail;
  std::vector<field_error> errors;

  const char* slug() const;   // the last part of the problem type URI
  const char* title() const;  // the problem type's short summary
  // One line for logs and test diagnostics: slug, detail and each field error. The HTTP status
  // and the application/problem+json body are the api layer's (api::http_status, api::problem_body).
  std::string describe() const;
};

problem make_problem(problem_kind kind, std::string detail);
problem invalid(std::vector<field_error> errors, std::string detail = "The request body is not valid.");

// A value or the problem that stopped it: the channel for expected outcomes (not exceptions).
template <class T>
class outcome {
 public:
  outcome() = default;
  outcome(T value) : v_(std::move(value)) {}
  outcome(problem p) : v_(std::move(p)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const problem& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, problem> v_;
};

}  // namespace maeul::domain
