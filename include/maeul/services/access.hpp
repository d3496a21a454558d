// The access matrix's data rules (API §8), as pure functions of the principal: which zones and
// domains it may see, and whose readings. The route table says which roles may call a route at
// all; these say what of the data each caller then sees. Services apply them; handlers never do.
#pragma once
#include <string>
#include <string_view>

#include "maeul/domain/events.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::services::access {

using storage::principal;

// A principal limited to zones sees only things in those zones (a thing with no zone is outside
// every zone scope); limited to domains, only things of those domains. Empty lists: no limit.
bool zone_in_scope(const principal& who, std::string_view zone);
bool domain_in_scope(const principal& who, std::string_view domain);
bool in_scope(const principal& who, std::string_view zone, std::string_view domain);

// Readings, latest values, series and live readings of a sensor of `domain`: welfare values only
// for admin and welfare_officer (analysts read welfare through KPIs; operators see its alerts).
bool reads_values(const principal& who, std::string_view domain);

// Both: the principal may see this sensor's values at all.
bool sees_values(const principal& who, std::string_view zone, std::string_view domain);

// What the live feed may send the principal (domain::event_grant).
domain::event_grant grant_of(const principal& who);

// The scope as the stores bind it: comma-joined ids ('' for no limit).
storage::scope scope_of(const principal& who);

}  // namespace maeul::services::access
