// Playbooks (API §12): the steps an operator takes for an incident of one category, in both
// languages. Validation only; pure.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "maeul/domain/problem.hpp"

namespace maeul::rules {

inline constexpr std::size_t max_playbook_steps = 50;
inline constexpr std::size_t max_step_text_bytes = 1000;

// Whether `category` can name a playbook (and an incident category): a lower-case name token of
// at most 64 characters.
bool is_playbook_category(std::string_view category);

// Validates a playbook body {"steps":[{"id","text":{"ko","en"},"role"?}]}: 1-50 steps, ids unique
// (letters, digits, '.', '_', ':' or '-', at most 64), both languages present (1-1000 bytes each),
// `role` a name token of at most 64 when given, no other members. Returns the steps array,
// normalized, as JSON text; or every error with its pointer (/steps/3/text/ko).
domain::outcome<std::string> parse_playbook_steps(const nlohmann::json& body);

}  // namespace maeul::rules
