// The access matrix's data rules: see services/access.hpp.
#include "maeul/services/access.hpp"

#include <algorithm>

namespace maeul::services::access {
namespace {

bool listed(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

bool zone_in_scope(const principal& who, std::string_view zone) {
  return who.zones.empty() || (!zone.empty() && listed(who.zones, zone));
}

bool domain_in_scope(const principal& who, std::string_view domain) {
  return who.domains.empty() || listed(who.domains, domain);
}

bool in_scope(const principal& who, std::string_view zone, std::string_view domain) {
  return zone_in_scope(who, zone) && domain_in_scope(who, domain);
}

bool reads_values(const principal& who, std::string_view domain) {
  if (domain != "welfare") return true;
  return who.role == "admin" || who.role == "welfare_officer";
}

bool sees_values(const principal& who, std::string_view zone, std::string_view domain) {
  return in_scope(who, zone, domain) && reads_values(who, domain);
}

domain::event_grant grant_of(const principal& who) {
  domain::event_grant g{who.zones, who.domains, reads_values(who, "welfare")};
  g.holder = (who.kind == "user" ? "user:" + who.name : "token:" + who.token_id);
  g.session = who.session_hash;
  g.ends_at_us = who.expires_at_us;
  return g;
}

storage::scope scope_of(const principal& who) {
  // Ids never hold a comma (domain::is_valid_id), so joining is unambiguous.
  return {joined(who.zones), joined(who.domains), who.role == "admin" || who.role == "welfare_officer"};
}

}  // namespace maeul::services::access
