// Problem details: slug and title per kind (domain/problem.hpp), and their one mapping to HTTP,
// status and problem+json body (api::http_status, api::problem_body).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "maeul/api/router.hpp"
#include "maeul/domain/problem.hpp"

namespace {

namespace d = maeul::domain;
using nlohmann::json;

struct kind_case {
  d::problem_kind kind;
  int status;
  const char* slug;
};

const kind_case all_kinds[] = {
    {d::problem_kind::malformed, 400, "malformed-json"},
    {d::problem_kind::unauthorized, 401, "unauthorized"},
    {d::problem_kind::forbidden, 403, "forbidden"},
    {d::problem_kind::not_found, 404, "not-found"},
    {d::problem_kind::method_not_allowed, 405, "method-not-allowed"},
    {d::problem_kind::conflict, 409, "conflict"},
    {d::problem_kind::too_large, 413, "payload-too-large"},
    {d::problem_kind::unsupported_media, 415, "unsupported-media-type"},
    {d::problem_kind::invalid, 422, "invalid"},
    {d::problem_kind::internal, 500, "internal"},
    {d::problem_kind::unavailable, 503, "unavailable"},
};

TEST(problem, describe_names_the_slug_the_detail_and_each_field) {
  auto p = d::invalid({{"/observations/3/ts", {}, "must be after 1970"}, {{}, "limit", "must be 1 to 1000"}}, "bad batch");
  EXPECT_EQ(p.describe(), "invalid: bad batch; /observations/3/ts must be after 1970; ?limit must be 1 to 1000");
  EXPECT_EQ(d::make_problem(d::problem_kind::not_found, "no zone").describe(), "not-found: no zone");
}

}  // namespace

TEST(problem, status_and_slug_per_kind_as_documented) {
  std::set<std::string> titles;
  for (const auto& c : all_kinds) {
    auto p = d::make_problem(c.kind, "x");
    EXPECT_EQ(maeul::api::http_status(p.kind), c.status) << c.slug;
    EXPECT_STREQ(p.slug(), c.slug) << c.status;
    ASSERT_NE(p.title(), nullptr);
    EXPECT_NE(std::string(p.title()), "") << c.slug;
    titles.insert(p.title());
  }
  EXPECT_EQ(titles.size(), std::size(all_kinds)) << "every kind has its own title";
}

TEST(problem, a_default_problem_is_internal) {
  d::problem p;
  EXPECT_EQ(maeul::api::http_status(p.kind), 500);
  EXPECT_STREQ(p.slug(), "internal");
}

TEST(problem, the_body_has_type_title_status_detail_in_order_and_no_errors_when_none) {
  for (const auto& c : all_kinds) {
    auto p = d::make_problem(c.kind, "no zone with this id");
    auto text = maeul::api::problem_body(p);
    EXPECT_EQ(text.rfind("{\"type\":", 0), 0u) << text;  // `type` first, as RFC 9457 examples show it
    auto j = json::parse(text);
    EXPECT_EQ(j.at("type"), std::string("https://maeul.city/problems/") + c.slug);
    EXPECT_EQ(j.at("title"), p.title());
    EXPECT_EQ(j.at("status"), c.status);
    EXPECT_EQ(j.at("detail"), "no zone with this id");
    EXPECT_FALSE(j.contains("errors")) << text;
    EXPECT_EQ(j.size(), 4u) << text;
  }
}

TEST(problem, errors_carry_a_pointer_or_a_parameter_never_both) {
  auto p = d::invalid({{"/boundary/coordinates/0", {}, "a linear ring must be closed"},
                       {{}, "limit", "must be 1..1000"},
                       {"", {}, "the body must be a JSON object"}});
  EXPECT_EQ(p.kind, d::problem_kind::invalid);
  EXPECT_EQ(p.detail, "The request body is not valid.");
  auto j = json::parse(maeul::api::problem_body(p));
  EXPECT_EQ(j.at("status"), 422);
  EXPECT_EQ(j.at("type"), "https://maeul.city/problems/invalid");
  const auto& errs = j.at("errors");
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0], json({{"pointer", "/boundary/coordinates/0"}, {"detail", "a linear ring must be closed"}}));
  EXPECT_EQ(errs[1], json({{"parameter", "limit"}, {"detail", "must be 1..1000"}}));
  // The root pointer is the empty string, and is still written as a pointer.
  EXPECT_EQ(errs[2], json({{"pointer", ""}, {"detail", "the body must be a JSON object"}}));
}

TEST(problem, invalid_takes_a_custom_detail) {
  auto p = d::invalid({{{}, "near", "LON,LAT,METRES"}}, "A query parameter is not valid.");
  EXPECT_EQ(json::parse(maeul::api::problem_body(p)).at("detail"), "A query parameter is not valid.");
}

TEST(problem, to_json_escapes_and_survives_invalid_utf8) {
  auto p = d::make_problem(d::problem_kind::not_found, "no such resource: /a\"b\\c\n");
  EXPECT_EQ(json::parse(maeul::api::problem_body(p)).at("detail"), "no such resource: /a\"b\\c\n");
  auto bad = d::make_problem(d::problem_kind::not_found, "no such resource: /\xff\xfe");
  std::string text;
  ASSERT_NO_THROW(text = maeul::api::problem_body(bad));
  auto j = json::parse(text);  // still valid JSON (invalid bytes replaced)
  EXPECT_EQ(j.at("status"), 404);
  EXPECT_EQ(j.at("detail").get<std::string>().rfind("no such resource: /", 0), 0u);
}

TEST(outcome, holds_a_value_or_a_problem) {
  d::outcome<int> ok = 7;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 7);
  EXPECT_EQ(*ok, 7);
  d::outcome<int> bad = d::make_problem(d::problem_kind::conflict, "exists");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().kind, d::problem_kind::conflict);
  EXPECT_EQ(bad.error().detail, "exists");
  EXPECT_THROW((void)bad.value(), std::bad_variant_access);
}
