// The one-pass reading of JSON bodies and NDJSON lines (domain/observation.cpp, scanner) against
// the DOM reading it replaced (detail::parse_json_body_dom): for every body, valid or not, the
// same readings, rejections, pointers and problems. Edges named one by one, then mutated bodies
// from a fixed seed. `now` is t0, never the wall clock.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "maeul/domain/encoding.hpp"
#include "maeul/domain/observation.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace d = maeul::domain;
using maeul::test::t0_us;

const std::string ts0 = "\"2026-11-21T01:00:00Z\"";

std::string reading(const std::string& sensor_json, const std::string& value_json = "1",
                    const std::string& extra = "") {
  return "{\"sensor\":" + sensor_json + ",\"metric\":\"level\",\"ts\":" + ts0 + ",\"value\":" + value_json + extra + "}";
}
std::string body_of(const std::vector<std::string>& items) {
  std::string b = "{\"observations\":[";
  for (std::size_t i = 0; i < items.size(); ++i) b += (i ? "," : "") + items[i];
  return b + "]}";
}

// What parse_observations answered before the scanner: the handler's depth check, then the DOM.
d::outcome<d::parsed_batch> reference(std::string_view body, std::size_t max_readings) {
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  if (d::json_nesting_depth(body) > d::max_json_depth)
    return d::make_problem(d::problem_kind::malformed, "JSON nested too deeply");
  return d::detail::parse_json_body_dom(body, t0_us, max_readings);
}

// Equal outcomes, value bits (and so the sign of zero) included.
void expect_same(const d::outcome<d::parsed_batch>& got, const d::outcome<d::parsed_batch>& want,
                 const std::string& body) {
  SCOPED_TRACE(body.substr(0, 300));
  ASSERT_EQ(bool(got), bool(want)) << (got ? "taken; the DOM refused: " + want.error().describe()
                                           : "refused: " + got.error().describe());
  if (!got) {
    EXPECT_EQ(got.error().kind, want.error().kind);
    EXPECT_EQ(got.error().detail, want.error().detail);
    ASSERT_EQ(got.error().errors.size(), want.error().errors.size());
    for (std::size_t i = 0; i < got.error().errors.size(); ++i)
      EXPECT_EQ(got.error().errors[i].pointer, want.error().errors[i].pointer);
    return;
  }
  const auto& g = got.value();
  const auto& w = want.value();
  EXPECT_EQ(g.total, w.total);
  EXPECT_EQ(g.pointer_prefix, w.pointer_prefix);
  ASSERT_EQ(g.readings.size(), w.readings.size());
  for (std::size_t i = 0; i < g.readings.size(); ++i) {
    EXPECT_EQ(g.readings[i].index, w.readings[i].index);
    EXPECT_EQ(g.readings[i].sensor, w.readings[i].sensor);
    EXPECT_EQ(g.readings[i].metric, w.readings[i].metric);
    EXPECT_EQ(g.readings[i].ts_us, w.readings[i].ts_us);
    EXPECT_EQ(std::signbit(g.readings[i].value), std::signbit(w.readings[i].value)) << i;
    EXPECT_EQ(g.readings[i].value, w.readings[i].value) << i;
  }
  ASSERT_EQ(g.rejected.size(), w.rejected.size());
  for (std::size_t i = 0; i < g.rejected.size(); ++i) {
    EXPECT_EQ(g.rejected[i].index, w.rejected[i].index);
    EXPECT_EQ(g.rejected[i].error, w.rejected[i].error);
    EXPECT_EQ(g.rejected[i].pointer, w.rejected[i].pointer);
  }
}

d::outcome<d::parsed_batch> scan(const std::string& body, std::size_t max = 100000) {
  return d::parse_observations(body, d::body_format::json, t0_us, max);
}

void same_as_dom(const std::string& body, std::size_t max = 100000) { expect_same(scan(body, max), reference(body, max), body); }

TEST(json_scan, escapes_in_ids_are_decoded) {
  auto b = scan(body_of({reading("\"w\\u006c-1\""), reading("\"\\ud83d\\ude00/\\\"q\\\\\\/\\t\""),
                         reading("\"\xEC\x84\xBC\xEC\x84\x9C-\\u00e9\"")}));
  ASSERT_TRUE(b) << b.error().describe();
  ASSERT_EQ(b->readings.size(), 3u);
  EXPECT_EQ(b->readings[0].sensor, "wl-1");
  EXPECT_EQ(b->readings[1].sensor, "\xF0\x9F\x98\x80/\"q\\/\t");
  EXPECT_EQ(b->readings[2].sensor, "\xEC\x84\xBC\xEC\x84\x9C-\xC3\xA9");
  for (auto s : {"\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\x41\"", "\"\\u12\"", "\"a\nb\"", "\"\xC0\xAF\"",
                 "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\""}) {
    auto bad = body_of({reading(s)});
    auto o = scan(bad);
    ASSERT_FALSE(o) << s;
    EXPECT_EQ(o.error().kind, d::problem_kind::malformed);
    same_as_dom(bad);
  }
}

TEST(json_scan, numbers_at_the_edges) {
  auto b = scan(body_of({reading("\"a\"", "-0"), reading("\"b\"", "-0.0"), reading("\"c\"", "1e-400"),
                         reading("\"d\"", "18446744073709551616"), reading("\"e\"", "-9223372036854775809"),
                         reading("\"f\"", "9007199254740993"), reading("\"g\"", "1E+2"), reading("\"h\"", "4.9e-324")}));
  ASSERT_TRUE(b) << b.error().describe();
  ASSERT_EQ(b->readings.size(), 8u);
  EXPECT_FALSE(std::signbit(b->readings[0].value));  // the integer -0 is +0, as the DOM holds it
  EXPECT_TRUE(std::signbit(b->readings[1].value));
  EXPECT_EQ(b->readings[2].value, 0.0);
  EXPECT_EQ(b->readings[3].value, 18446744073709551616.0);
  EXPECT_EQ(b->readings[4].value, -9223372036854775809.0);
  EXPECT_EQ(b->readings[5].value, 9007199254740992.0);
  EXPECT_EQ(b->readings[6].value, 100.0);
  EXPECT_EQ(b->readings[7].value, 4.9e-324);
  for (auto v : {"-0", "-0.0", "1e-400", "18446744073709551616", "9007199254740993", "4.9e-324", "2.2250738585072011e-308"})
    same_as_dom(body_of({reading("\"a\"", v)}));
  for (auto v : {"1e400", "-1e400", "01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity", "1.5.2"}) {
    auto bad = body_of({reading("\"a\"", v)});
    auto o = scan(bad);
    ASSERT_FALSE(o) << v;
    EXPECT_EQ(o.error().kind, d::problem_kind::malformed) << v;
    same_as_dom(bad);
  }
  same_as_dom(body_of({reading("\"a\"", "1", ",\"x\":1e999")}));  // out of range in an unknown field too
}

TEST(json_scan, every_truncation_of_a_body_is_malformed_as_the_dom_says) {
  std::string full = body_of({reading("\"a\\u0062\"", "-1.5e3", ",\"x\":[true,false,null,{\"y\":\"\xEC\x84\xBC\"}]"),
                              reading("\"c\"", "2")});
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto cut = full.substr(0, n);
    auto o = scan(cut);
    ASSERT_FALSE(o) << cut;
    EXPECT_EQ(o.error().kind, d::problem_kind::malformed) << cut;
    same_as_dom(cut);
  }
  same_as_dom(full);
  EXPECT_TRUE(scan(full));
}

TEST(json_scan, nesting_over_the_limit_is_refused_and_at_the_limit_kept) {
  auto nest = [](int depth) { return std::string(std::size_t(depth), '[') + std::string(std::size_t(depth), ']'); };
  // body object, observations array, reading object: 3 levels around the value
  auto at = body_of({reading("\"a\"", "1", ",\"x\":" + nest(d::max_json_depth - 3))});
  auto b = scan(at);
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_EQ(b->readings.size(), 1u);
  auto over = body_of({reading("\"a\"", "1", ",\"x\":" + nest(d::max_json_depth - 2))});
  auto o = scan(over);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, d::problem_kind::malformed);
  EXPECT_EQ(o.error().detail, "JSON nested too deeply");
  // 1 MiB of '[' : refused without recursion
  auto deep = scan("{\"observations\":" + std::string(1 << 20, '['));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().detail, "JSON nested too deeply");
}

TEST(json_scan, duplicate_keys_the_last_one_counts) {
  auto b = scan(body_of({"{\"sensor\":5,\"sensor\":\"a\",\"metric\":\"m\",\"ts\":" + ts0 + ",\"value\":\"x\",\"value\":2}",
                         "{\"sensor\":\"b\",\"sensor\":null,\"metric\":\"m\",\"ts\":" + ts0 + ",\"value\":3}"}));
  ASSERT_TRUE(b) << b.error().describe();
  ASSERT_EQ(b->readings.size(), 1u);
  EXPECT_EQ(b->readings[0].sensor, "a");
  EXPECT_EQ(b->readings[0].value, 2);
  ASSERT_EQ(b->rejected.size(), 1u);
  EXPECT_EQ(b->rejected[0].pointer, "/observations/1/sensor");
  // "observations" twice: the last array is the batch
  std::string twice = "{\"observations\":[" + reading("\"a\"") + "],\"observations\":[" + reading("\"b\"") + "," +
                      reading("\"c\"") + "]}";
  auto t = scan(twice);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->readings.size(), 2u);
  EXPECT_EQ(t->readings[0].sensor, "b");
  same_as_dom(twice);
}

TEST(json_scan, unknown_fields_of_any_shape_are_ignored) {
  auto body = "{\"v\":1,\"observations\":[" + reading("\"a\"", "1", ",\"note\":{\"k\":[1,\"x\",{}],\"\":null},\"sensorx\":1") +
              "],\"z\":\"\xEC\x84\xBC\"}";
  auto b = scan(body);
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_EQ(b->readings.size(), 1u);
  same_as_dom(body);
}

TEST(json_scan, a_huge_array_up_to_the_limit_and_one_more) {
  std::vector<std::string> items(100000, reading("\"bench-0001\"", "12.25"));
  items[77777] = reading("\"bench-0001\"", "\"x\"");
  auto body = body_of(items);
  auto b = scan(body);
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_EQ(b->total, 100000u);
  EXPECT_EQ(b->readings.size(), 99999u);
  ASSERT_EQ(b->rejected.size(), 1u);
  EXPECT_EQ(b->rejected[0].pointer, "/observations/77777/value");
  items.push_back(reading("\"a\""));
  auto o = scan(body_of(items));
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, d::problem_kind::too_large);
  // over the limit and malformed after it: malformed, as the DOM says
  auto three = body_of({reading("\"a\""), reading("\"b\""), reading("\"c\"")});
  auto cut = three.substr(0, three.size() - 2);
  auto c = scan(cut, 2);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, d::problem_kind::malformed);
  same_as_dom(cut, 2);
}

TEST(json_scan, whole_body_shapes_match_the_dom) {
  for (const std::string& body : std::vector<std::string>{"", " ", "[]", "{}", "{\"observations\":null}", "{\"observations\":{}}", "null", "1",
                           "{\"observations\":[]}", " \t\r\n{ \"observations\" : [ ] } \n", "{\"observations\":[]} x",
                           "{\"observations\":[],}", "{\"observations\":[1,\"a\",null,[],true]}",
                           "\xEF\xBB\xBF\xEF\xBB\xBF{\"observations\":[]}", "{\"observ\\u0061tions\":[" + reading("\"a\"") + "]}",
                           "{'observations':[]}", "{\"observations\":[],\"observations\":5}"})
    same_as_dom(body);
}

TEST(ndjson_scan, lines_read_in_one_pass_match_the_dom_per_line) {
  std::string body = reading("\"a\\u0041\"") + "\n" + reading("\"b\"", "-0") + "\n" + reading("\"c\"", "1e400") + "\n" +
                     "{\"sensor\":\"d\"} x\n" + reading("\"e\"", "2", ",\"sensor\":\"e2\"") + "\n";
  auto o = d::parse_observations(body, d::body_format::ndjson, t0_us);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->readings.size(), 3u);
  EXPECT_EQ(o->readings[0].sensor, "aA");
  EXPECT_FALSE(std::signbit(o->readings[1].value));
  EXPECT_EQ(o->readings[2].sensor, "e2");
  ASSERT_EQ(o->rejected.size(), 2u);
  EXPECT_EQ(o->rejected[0].pointer, "/2");
  EXPECT_EQ(o->rejected[0].error, "line 3 is not a JSON object");
  EXPECT_EQ(o->rejected[1].pointer, "/3");
}

// Mutations of valid bodies (a fixed seed): the scanner and the DOM agree on every one.
TEST(json_scan, mutated_bodies_match_the_dom) {
  std::mt19937 rng(20261207);
  const std::vector<std::string> pieces = {
      "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "0", "-", ".", "e", "1e400", "-0", " ",
      "\n", "true", "null", "\"sensor\"", "\"value\"", "\"ts\"", "\"metric\"", "\"observations\"", "\xC3", "\xA9",
      "\xEC\x84\xBC", "\x01", "\"2026-11-21T01:05:01Z\"", "\"0000-01-01T00:00:00Z\"", "\"\"", "5", "\"x\""};
  const std::vector<std::string> bases = {
      body_of({reading("\"a\""), reading("\"b\"", "2.5"), reading("\"c\"", "-3e2", ",\"u\":[{\"k\":\"v\"}]")}),
      body_of({reading("\"s\\u00e9\"", "0"), "7", reading("\"\"", "1")}),
      "{\"x\":{\"y\":[1,2]},\"observations\":[" + reading("\"a\"", "1") + "]}"};
  int taken = 0;
  for (int round = 0; round < 6000; ++round) {
    std::string b = bases[std::size_t(round) % bases.size()];
    int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % (b.size() + 1);
      switch (rng() % 3) {
        case 0: b.insert(at, pieces[rng() % pieces.size()]); break;
        case 1: if (at < b.size()) b.erase(at, 1 + rng() % 4); break;
        default: if (at < b.size()) b.replace(at, 1, pieces[rng() % pieces.size()]); break;
      }
    }
    auto got = scan(b);
    if (got) ++taken;
    expect_same(got, reference(b, 100000), b);
    if (testing::Test::HasFailure()) break;
  }
  EXPECT_GT(taken, 100);  // the mutations reach bodies that parse, not only refusals
}

}  // namespace
