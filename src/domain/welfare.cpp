// What of a welfare alert reaches those who may not read welfare data (domain/events.hpp).
#include <nlohmann/json.hpp>

#include "maeul/domain/events.hpp"

namespace maeul::domain {

std::string masked_welfare_alert(std::string_view alert_json, std::string_view household) {
  auto j = nlohmann::json::parse(alert_json, nullptr, false);
  if (!j.is_object()) return std::string(alert_json);
  // The household's pseudonym in place of its sensor; no value, no text that may quote one, no
  // notes (they are written by the people who know the household).
  j["household"] = household.empty() ? nlohmann::json(nullptr) : nlohmann::json(household);
  for (const char* k : {"sensor", "value", "note"})
    if (j.contains(k)) j[k] = nullptr;
  if (j.contains("message")) j["message"] = "";
  return j.dump();
}

}  // namespace maeul::domain
