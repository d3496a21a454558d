// Playbook validation (rules/playbook.hpp).
#include "maeul/rules/playbook.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "maeul/domain/registry.hpp"

namespace maeul::rules {

bool is_playbook_category(std::string_view category) {
  return !category.empty() && category.size() <= 64 && domain::is_valid_name_token(category);
}

domain::outcome<std::string> parse_playbook_steps(const nlohmann::json& body) {
  using nlohmann::ordered_json;
  std::vector<domain::field_error> errors;
  auto add = [&](std::string p, std::string d) { errors.push_back({std::move(p), {}, std::move(d)}); };
  if (!body.is_object()) return domain::invalid({{"", {}, "the body must be a JSON object {\"steps\":[...]}"}});
  for (const auto& item : body.items())
    if (item.key() != "steps" && item.key() != "category") add("/" + item.key(), "unknown member (steps)");
  auto steps = body.find("steps");
  if (steps == body.end() || !steps->is_array() || steps->empty() || steps->size() > max_playbook_steps) {
    add("/steps", "is required: an array of 1-50 steps {id, text:{ko,en}, role?}");
    return domain::invalid(std::move(errors));
  }
  auto out = ordered_json::array();
  std::set<std::string> ids;
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const auto& s = (*steps)[i];
    const std::string base = "/steps/" + std::to_string(i);
    if (!s.is_object()) {
      add(base, "must be an object {id, text:{ko,en}, role?}");
      continue;
    }
    ordered_json one;
    auto id = s.find("id");
    if (id == s.end() || !id->is_string() || id->get_ref<const std::string&>().size() > 64 ||
        !domain::is_valid_id(id->get_ref<const std::string&>())) {
      add(base + "/id", "is required: an id of at most 64 letters, digits, '.', '_', ':' or '-'");
    } else if (!ids.insert(id->get<std::string>()).second) {
      add(base + "/id", "is used by an earlier step: step ids are unique");
    } else {
      one["id"] = id->get<std::string>();
    }
    auto text = s.find("text");
    if (text == s.end() || !text->is_object()) {
      add(base + "/text", "is required: {\"ko\", \"en\"}");
    } else {
      ordered_json t;
      for (const char* lang : {"ko", "en"}) {
        auto v = text->find(lang);
        if (v == text->end() || !v->is_string() || v->get_ref<const std::string&>().empty() ||
            v->get_ref<const std::string&>().size() > max_step_text_bytes)
          add(base + "/text/" + lang, "is required: 1-1000 bytes of text");
        else
          t[lang] = v->get<std::string>();
      }
      for (const auto& item : text->items())
        if (item.key() != "ko" && item.key() != "en") add(base + "/text/" + item.key(), "unknown language (ko, en)");
      one["text"] = t;
    }
    if (auto role = s.find("role"); role != s.end() && !role->is_null()) {
      if (!role->is_string() || role->get_ref<const std::string&>().size() > 64 ||
          !domain::is_valid_name_token(role->get_ref<const std::string&>()))
        add(base + "/role", "must be a role name, e.g. operator, welfare_officer, field_crew");
      else
        one["role"] = role->get<std::string>();
    }
    for (const auto& item : s.items())
      if (item.key() != "id" && item.key() != "text" && item.key() != "role")
        add(base + "/" + item.key(), "unknown member (id, text, role)");
    out.push_back(std::move(one));
  }
  if (!errors.empty()) return domain::invalid(std::move(errors));
  return out.dump();
}

}  // namespace maeul::rules
