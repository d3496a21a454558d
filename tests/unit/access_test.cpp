// The access matrix's data rules (services/access.hpp), role by role and scope by scope.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "maeul/services/access.hpp"

namespace {

namespace access = maeul::services::access;
using maeul::storage::principal;

principal who(const std::string& role, std::vector<std::string> zones = {}, std::vector<std::string> domains = {}) {
  principal p;
  p.role = role;
  p.zones = std::move(zones);
  p.domains = std::move(domains);
  return p;
}

TEST(access, an_unscoped_principal_sees_every_zone_and_domain_and_things_without_a_zone) {
  auto p = who("operator");
  EXPECT_TRUE(access::in_scope(p, "z1", "disaster"));
  EXPECT_TRUE(access::in_scope(p, "", "energy"));
}

TEST(access, a_zone_scope_admits_only_its_zones_and_nothing_without_a_zone) {
  auto p = who("operator", {"z1", "z3"});
  EXPECT_TRUE(access::in_scope(p, "z1", "disaster"));
  EXPECT_TRUE(access::in_scope(p, "z3", "energy"));
  EXPECT_FALSE(access::in_scope(p, "z2", "disaster"));
  EXPECT_FALSE(access::in_scope(p, "", "disaster"));
  EXPECT_FALSE(access::zone_in_scope(p, "z10"));
}

TEST(access, a_domain_scope_admits_only_its_domains) {
  auto p = who("analyst", {}, {"energy"});
  EXPECT_TRUE(access::in_scope(p, "z1", "energy"));
  EXPECT_FALSE(access::in_scope(p, "z1", "mobility"));
}

TEST(access, welfare_values_reach_only_admin_and_welfare_officer) {
  for (const char* role : {"admin", "welfare_officer"}) {
    EXPECT_TRUE(access::reads_values(who(role), "welfare")) << role;
    EXPECT_TRUE(access::grant_of(who(role)).welfare_readings) << role;
    EXPECT_TRUE(access::scope_of(who(role)).welfare) << role;
  }
  for (const char* role : {"operator", "analyst", "device"}) {
    EXPECT_FALSE(access::reads_values(who(role), "welfare")) << role;
    EXPECT_TRUE(access::reads_values(who(role), "disaster")) << role;
    EXPECT_FALSE(access::grant_of(who(role)).welfare_readings) << role;
    EXPECT_FALSE(access::scope_of(who(role)).welfare) << role;
  }
}

TEST(access, sees_values_needs_both_the_scope_and_the_welfare_rule) {
  EXPECT_FALSE(access::sees_values(who("welfare_officer", {"z1"}), "z2", "welfare"));
  EXPECT_TRUE(access::sees_values(who("welfare_officer", {"z1"}), "z1", "welfare"));
  EXPECT_FALSE(access::sees_values(who("operator", {"z1"}), "z1", "welfare"));
}

TEST(access, the_store_scope_joins_ids_with_commas_and_is_empty_without_a_limit) {
  auto s = access::scope_of(who("analyst", {"z1", "z2"}, {"energy"}));
  EXPECT_EQ(s.zones, "z1,z2");
  EXPECT_EQ(s.domains, "energy");
  EXPECT_EQ(access::scope_of(who("admin")).zones, "");
}

TEST(access, the_live_grant_carries_the_scope) {
  auto g = access::grant_of(who("operator", {"z1"}, {"disaster", "welfare"}));
  EXPECT_TRUE(g.admits("z1", "welfare")) << "welfare alerts of its zone";
  EXPECT_FALSE(g.admits_reading("z1", "welfare")) << "but never welfare readings";
  EXPECT_TRUE(g.admits_reading("z1", "disaster"));
  EXPECT_FALSE(g.admits("z2", "disaster"));
  EXPECT_FALSE(g.admits("z1", "energy"));
}

}  // namespace
