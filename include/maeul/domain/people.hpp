// People: user accounts and sign-in requests, and their pure validation. A user's role is one of
// admin, operator, analyst, welfare_officer (device is for API tokens only); zones and domains
// limit what the user may see (carried in the principal; filtering is a later step).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "maeul/domain/problem.hpp"

namespace maeul::domain {

inline constexpr std::string_view user_roles[] = {"admin", "operator", "analyst", "welfare_officer"};
inline constexpr std::size_t min_password_chars = 12;   // Unicode code points
inline constexpr std::size_t max_password_bytes = 1024; // caps the work of one hash

bool is_user_role(std::string_view s);
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
bool is_valid_username(std::string_view s);
// Code points in UTF-8 text (continuation bytes not counted).
std::size_t utf8_length(std::string_view s);

// Scope lists (users and tokens): each appends an error at /zones/i or /domains/i for a bad item
// and the good ones to `out`.
void check_zones(const nlohmann::json& v, std::vector<field_error>& errors, std::vector<std::string>& out);
void check_domains(const nlohmann::json& v, std::vector<field_error>& errors, std::vector<std::string>& out);

struct user_input {
  std::string username;
  std::string display_name;
  std::string role;
  std::vector<std::string> zones;
  std::vector<std::string> domains;
  std::string password;
};

// Absent fields stay as they are.
struct user_patch {
  std::optional<std::string> display_name;
  std::optional<std::string> role;
  std::optional<std::vector<std::string>> zones;
  std::optional<std::vector<std::string>> domains;
  std::optional<bool> disabled;
  std::optional<std::string> password;
  bool empty() const { return !display_name && !role && !zones && !domains && !disabled && !password; }
};

struct sign_in_input {
  std::string username;
  std::string password;
};

// POST /api/v1/users: a 422 with a pointer at each bad field, or the input.
outcome<user_input> validate_user(const nlohmann::json& body);
// PATCH /api/v1/users/{username}: unknown fields are errors (a typo must not pass silently).
outcome<user_patch> validate_user_patch(const nlohmann::json& body);
// POST /api/v1/sessions: both fields strings (the password's length is not checked here: an old
// short password must still fail the same way as a wrong one).
outcome<sign_in_input> validate_sign_in(const nlohmann::json& body);

}  // namespace maeul::domain
