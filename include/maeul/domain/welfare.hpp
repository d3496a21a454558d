// Welfare (API §9): residents and their consent, as validated input; and the household book, the
// in-memory view of which households exist, where, and whether their consent holds — what ingest
// and the live feed consult on every welfare reading without a database round trip.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/domain/problem.hpp"

namespace maeul::domain {

inline constexpr std::string_view risk_levels[] = {"low", "medium", "high"};

struct consent {
  std::string purpose, basis;
  std::int64_t granted_at_us = 0;
  std::optional<std::int64_t> expires_at_us;
};

// The sealed part of a resident: {"name","birth_year","phone","address","guardians","notes"}.
struct resident_input {
  nlohmann::json identity = nlohmann::json::object();
  std::string zone, care_worker, risk_level = "medium";
  domain::consent consent;
};

// Absent fields stay as they are; identity holds only the identity fields given.
struct resident_patch {
  nlohmann::json identity = nlohmann::json::object();
  std::optional<std::string> zone, care_worker, risk_level;
  std::optional<domain::consent> consent;
  bool empty() const { return identity.empty() && !zone && !care_worker && !risk_level && !consent; }
};

// POST /api/v1/residents: 422 with a pointer at each bad field (unknown fields too).
outcome<resident_input> validate_resident(const nlohmann::json& body);
// PATCH /api/v1/residents/{id}.
outcome<resident_patch> validate_resident_patch(const nlohmann::json& body);

// "hh-" + 16 lowercase hex digits.
bool is_household_pseudonym(std::string_view s);

// Households (pseudonym -> zone, consent end) and welfare sensors (sensor -> household). Bounded:
// at most max_households households and max_sensors sensors (put refuses past them). Thread-safe.
class household_book {
 public:
  static constexpr std::size_t max_households = 1000000, max_sensors = 4000000;
  enum class status { unknown, active, lapsed };
  struct entry {
    std::string zone;
    std::int64_t consent_expires_us = 0;  // 0: no end
  };

  bool put(const std::string& household, entry e);
  void forget(const std::string& household);
  status check(const std::string& household, std::int64_t now_us) const;
  std::optional<entry> get(const std::string& household) const;
  std::size_t households() const;

  // The household a welfare sensor names in attributes.household ("" for none).
  bool set_sensor(const std::string& sensor, const std::string& household);
  void forget_sensor(const std::string& sensor);
  std::string household_of(const std::string& sensor) const;

  // Readings of a lapsed household, kept only as a count until taken (flushed to the database).
  void count_withheld(const std::string& household, std::int64_t n);
  std::unordered_map<std::string, std::int64_t> take_withheld();
  std::int64_t withheld_total() const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, entry> households_;
  std::unordered_map<std::string, std::string> sensors_;
  std::unordered_map<std::string, std::int64_t> withheld_;
  std::int64_t withheld_total_ = 0;
};

}  // namespace maeul::domain
