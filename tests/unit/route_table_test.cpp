// The one route table (src/api/routes.cpp) against itself and against docs/openapi.yaml: every
// route once, every /api/ route behind a role, and the spec and the server naming the same routes.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "maeul/api/routes.hpp"

namespace {

using maeul::api::route_table;

std::set<std::pair<std::string, std::string>> table_routes() {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& r : route_table()) out.emplace(r.method, r.path);
  return out;
}

// (METHOD, path) of every operation in docs/openapi.yaml (paths at two spaces, methods at four).
std::set<std::pair<std::string, std::string>> spec_routes() {
  std::ifstream in(std::string(MAEUL_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in.good()) << "docs/openapi.yaml not found";
  std::set<std::pair<std::string, std::string>> out;
  std::string line, path;
  bool in_paths = false;
  static const std::regex path_re(R"(^  (/[^:]*):\s*$)"), method_re(R"(^    (get|put|post|patch|delete):\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re)) path = m[1];
    else if (!path.empty() && std::regex_match(line, m, method_re)) {
      std::string verb = m[1];
      for (auto& c : verb) c = char(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(verb, path);
    }
  }
  return out;
}

TEST(route_table, every_route_once) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : route_table()) {
    EXPECT_TRUE(seen.emplace(r.method, r.path).second) << r.method << " " << r.path << " twice";
    EXPECT_NE(r.fn, nullptr) << r.path;
  }
  EXPECT_GE(seen.size(), 55u);
}

TEST(route_table, every_api_route_needs_a_role_and_public_ones_none) {
  for (const auto& r : route_table()) {
    std::string p = r.path;
    const bool sign_in = std::string(r.method) == "POST" && p == "/api/v1/sessions";  // the one open /api/ route
    if (p.rfind("/api/", 0) == 0 && !sign_in)
      EXPECT_NE(r.roles, maeul::api::public_route) << r.method << " " << p << " is open to anyone";
    if (p.rfind("/public/", 0) == 0) EXPECT_EQ(r.roles, maeul::api::public_route) << p;
  }
}

TEST(route_table, the_spec_names_exactly_the_routes_the_server_has) {
  auto table = table_routes();
  auto spec = spec_routes();
  ASSERT_FALSE(spec.empty());
  for (const auto& r : table) EXPECT_TRUE(spec.count(r)) << r.first << " " << r.second << " is not in docs/openapi.yaml";
  for (const auto& r : spec)
    EXPECT_TRUE(table.count(r)) << r.first << " " << r.second << " is in docs/openapi.yaml but the server has no such route";
}

}  // namespace

namespace {

// The route × role matrix as docs/security.md holds it, rendered from the route table.
std::string render_matrix() {
  using namespace maeul::api;
  const std::pair<unsigned, const char*> roles[] = {{role_admin, "admin"},
                                                    {role_operator, "operator"},
                                                    {role_welfare_officer, "welfare_officer"},
                                                    {role_analyst, "analyst"},
                                                    {role_device, "device"}};
  std::string out = "| method | path |";
  for (const auto& [bit, name] : roles) out += std::string(" ") + name + " |";
  out += "\n|---|---|";
  for (std::size_t i = 0; i < std::size(roles); ++i) out += ":---:|";
  out += "\n";
  for (const auto& r : route_table()) {
    out += std::string("| ") + r.method + " | `" + r.path + "` |";
    for (const auto& [bit, name] : roles)
      out += r.roles == public_route ? " public |" : (r.roles & bit) ? " ✓ |" : " |";
    out += "\n";
  }
  return out;
}

}  // namespace

TEST(route_table, docs_security_md_holds_the_matrix_of_the_route_table) {
  std::ifstream in(std::string(MAEUL_SOURCE_DIR) + "/docs/security.md");
  ASSERT_TRUE(in.good()) << "docs/security.md not found";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- route-matrix:begin (generated from src/api/routes.cpp; tests/unit/route_table_test.cpp checks it) -->\n";
  const std::string end = "<!-- route-matrix:end -->";
  auto b = text.find(begin);
  auto e = text.find(end);
  ASSERT_NE(b, std::string::npos) << "no route-matrix:begin marker in docs/security.md";
  ASSERT_NE(e, std::string::npos) << "no route-matrix:end marker in docs/security.md";
  auto held = text.substr(b + begin.size(), e - b - begin.size());
  auto expected = render_matrix();
  EXPECT_EQ(held, expected) << "docs/security.md's matrix differs from the route table; put this between the markers:\n"
                            << expected;
}
