// Observation bodies (domain/observation.hpp): JSON, NDJSON, json-seq and CSV parsing, per-reading
// checks with their pointers, RFC 3339 edge times, non-finite values and nesting depth. `now` is
// a number (t0), never the wall clock.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/domain/observation.hpp"
#include "maeul/domain/time.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace d = maeul::domain;
using maeul::test::t0_us;
using maeul::test::us_per_h;
using maeul::test::us_per_min;
using maeul::test::us_per_s;
using nlohmann::json;

const std::string t0_text = "2026-11-21T10:00:00+09:00";  // t0 in KST

json reading(const std::string& sensor, double value, const std::string& ts = t0_text) {
  return {{"sensor", sensor}, {"metric", "level"}, {"ts", ts}, {"value", value}};
}

d::parsed_batch parse_ok(std::string_view body, d::body_format f, std::int64_t now = t0_us) {
  auto o = d::parse_observations(body, f, now);
  if (!o) {
    ADD_FAILURE() << "body refused: " << o.error().describe();
    return {};
  }
  return o.value();
}

std::vector<std::size_t> indices(const d::parsed_batch& b) {
  std::vector<std::size_t> out;
  for (const auto& r : b.readings) out.push_back(r.index);
  return out;
}

// ---- JSON

TEST(json_body, readings_keep_their_fields_and_body_order) {
  json body = {{"observations",
                {reading("wl-1", 1.25), reading("wl-2", -0.5, "2026-11-21T01:00:01.5Z"),
                 {{"sensor", "rg-1"}, {"metric", "rain_mm"}, {"ts", "2026-11-20T20:00:00-05:00"}, {"value", 7}}}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  EXPECT_EQ(b.total, 3u);
  EXPECT_EQ(b.pointer_prefix, "/observations/");
  EXPECT_TRUE(b.rejected.empty());
  ASSERT_EQ(b.readings.size(), 3u);
  EXPECT_EQ(b.readings[0].sensor, "wl-1");
  EXPECT_EQ(b.readings[0].metric, "level");
  EXPECT_EQ(b.readings[0].ts_us, t0_us);
  EXPECT_EQ(b.readings[0].value, 1.25);
  EXPECT_EQ(b.readings[1].ts_us, t0_us + 1500000);
  EXPECT_EQ(b.readings[1].value, -0.5);
  EXPECT_EQ(b.readings[2].sensor, "rg-1");
  EXPECT_EQ(b.readings[2].metric, "rain_mm");
  EXPECT_EQ(b.readings[2].ts_us, t0_us);
  EXPECT_EQ(b.readings[2].value, 7);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 1, 2}));
}

struct bad_reading_case {
  const char* name;
  json reading;
  const char* pointer_suffix;  // after /observations/2
};

class json_bad_reading : public testing::TestWithParam<bad_reading_case> {};

// The bad reading sits at index 2 of 4: the others are kept, it is rejected with its pointer.
TEST_P(json_bad_reading, is_rejected_with_its_pointer_and_the_rest_kept) {
  const auto& c = GetParam();
  json body = {{"observations", {reading("a", 1), reading("b", 2), c.reading, reading("d", 4)}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  EXPECT_EQ(b.total, 4u);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 1, 3}));
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].index, 2u);
  EXPECT_EQ(b.rejected[0].pointer, std::string("/observations/2") + c.pointer_suffix);
  EXPECT_FALSE(b.rejected[0].error.empty());
}

json without(json j, const char* key) {
  j.erase(key);
  return j;
}
json with(json j, const char* key, json v) {
  j[key] = std::move(v);
  return j;
}

INSTANTIATE_TEST_SUITE_P(
    fields, json_bad_reading,
    testing::Values(
        bad_reading_case{"not_an_object", 5, ""}, bad_reading_case{"an_array", json::array({"c", "level"}), ""},
        bad_reading_case{"sensor_missing", without(reading("c", 3), "sensor"), "/sensor"},
        bad_reading_case{"sensor_a_number", with(reading("c", 3), "sensor", 5), "/sensor"},
        bad_reading_case{"sensor_empty", reading("", 3), "/sensor"},
        bad_reading_case{"metric_missing", without(reading("c", 3), "metric"), "/metric"},
        bad_reading_case{"metric_empty", with(reading("c", 3), "metric", ""), "/metric"},
        bad_reading_case{"ts_missing", without(reading("c", 3), "ts"), "/ts"},
        bad_reading_case{"ts_a_number", with(reading("c", 3), "ts", 1795222800), "/ts"},
        bad_reading_case{"ts_without_offset", reading("c", 3, "2026-11-21T10:00:00"), "/ts"},
        bad_reading_case{"ts_date_only", reading("c", 3, "2026-11-21"), "/ts"},
        bad_reading_case{"ts_over_5_minutes_ahead", reading("c", 3, "2026-11-21T01:05:00.000001Z"), "/ts"},
        bad_reading_case{"value_missing", without(reading("c", 3), "value"), "/value"},
        bad_reading_case{"value_a_string", with(reading("c", 3), "value", "3"), "/value"},
        bad_reading_case{"value_null", with(reading("c", 3), "value", nullptr), "/value"},
        bad_reading_case{"value_a_boolean", with(reading("c", 3), "value", true), "/value"},
        bad_reading_case{"value_nested", with(reading("c", 3), "value", {{"v", 3}}), "/value"}),
    [](const testing::TestParamInfo<bad_reading_case>& i) { return std::string(i.param.name); });

TEST(json_body, a_reading_exactly_5_minutes_ahead_is_accepted) {
  json body = {{"observations", {reading("a", 1, "2026-11-21T01:05:00Z")}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  ASSERT_EQ(b.readings.size(), 1u);
  EXPECT_EQ(b.readings[0].ts_us, t0_us + d::max_future_us);
}

struct body_problem_case {
  const char* name;
  std::string body;
  d::problem_kind kind;
};

class json_body_problem : public testing::TestWithParam<body_problem_case> {};

TEST_P(json_body_problem, the_whole_body_is_refused) {
  auto o = d::parse_observations(GetParam().body, d::body_format::json, t0_us, 3);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, GetParam().kind) << o.error().describe();
  if (GetParam().kind == d::problem_kind::invalid) {
    ASSERT_EQ(o.error().errors.size(), 1u);
    EXPECT_EQ(o.error().errors[0].pointer, "/observations");
  }
}

INSTANTIATE_TEST_SUITE_P(
    bodies, json_body_problem,
    testing::Values(
        body_problem_case{"not_json", "{\"observations\": [", d::problem_kind::malformed},
        body_problem_case{"empty", "", d::problem_kind::malformed},
        body_problem_case{"trailing_garbage", "{\"observations\":[]} x", d::problem_kind::malformed},
        body_problem_case{"a_number_out_of_double_range",
                          "{\"observations\":[{\"sensor\":\"a\",\"metric\":\"m\",\"ts\":\"2026-11-21T01:00:00Z\",\"value\":1e999}]}",
                          d::problem_kind::malformed},
        body_problem_case{"an_array", "[]", d::problem_kind::invalid},
        body_problem_case{"no_observations", "{}", d::problem_kind::invalid},
        body_problem_case{"observations_an_object", "{\"observations\":{}}", d::problem_kind::invalid},
        body_problem_case{"observations_null", "{\"observations\":null}", d::problem_kind::invalid},
        body_problem_case{"over_max_readings", json({{"observations", {reading("a", 1), reading("a", 2), reading("a", 3), reading("a", 4)}}}).dump(),
                          d::problem_kind::too_large}),
    [](const testing::TestParamInfo<body_problem_case>& i) { return std::string(i.param.name); });

TEST(json_body, a_utf8_bom_is_skipped_and_an_empty_array_is_a_batch_of_none) {
  auto b = parse_ok("\xEF\xBB\xBF{\"observations\":[]}", d::body_format::json);
  EXPECT_EQ(b.total, 0u);
  EXPECT_TRUE(b.readings.empty());
  EXPECT_TRUE(b.rejected.empty());
}

TEST(json_body, extreme_but_finite_values_are_kept) {
  json body = {{"observations", {reading("a", 1.7976931348623157e308), reading("b", -0.0), reading("c", 5e-324)}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  ASSERT_EQ(b.readings.size(), 3u);
  EXPECT_EQ(b.readings[0].value, 1.7976931348623157e308);
  EXPECT_EQ(b.readings[1].value, 0.0);
  EXPECT_EQ(b.readings[2].value, 5e-324);
}

// ---- NDJSON

TEST(ndjson_body, blank_lines_crlf_and_surrounding_spaces_are_skipped_and_not_counted) {
  std::string body = "\r\n" + reading("a", 1).dump() + "\r\n\r\n  \t\n  " + reading("b", 2).dump() + " \t\r\n\n" +
                     reading("c", 3).dump();  // no final newline
  auto b = parse_ok(body, d::body_format::ndjson);
  EXPECT_EQ(b.total, 3u);
  EXPECT_EQ(b.pointer_prefix, "/");
  EXPECT_TRUE(b.rejected.empty());
  ASSERT_EQ(b.readings.size(), 3u);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(b.readings[1].sensor, "b");
  EXPECT_EQ(b.readings[2].value, 3);
}

TEST(ndjson_body, a_bad_line_among_good_ones_is_rejected_with_its_index) {
  std::string body = reading("a", 1).dump() + "\n" + "{\"sensor\": \"b\", oops}\n" + reading("c", 3).dump() + "\n" +
                     with(reading("d", 4), "ts", "yesterday").dump() + "\n" + "[1,2]\n" + "1e999\n" +
                     reading("g", 7).dump() + "\n";
  auto b = parse_ok(body, d::body_format::ndjson);
  EXPECT_EQ(b.total, 7u);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 2, 6}));
  ASSERT_EQ(b.rejected.size(), 4u);
  EXPECT_EQ(b.rejected[0].index, 1u);
  EXPECT_EQ(b.rejected[0].pointer, "/1");
  EXPECT_EQ(b.rejected[0].error, "line 2 is not a JSON object");
  EXPECT_EQ(b.rejected[1].index, 3u);
  EXPECT_EQ(b.rejected[1].pointer, "/3/ts");
  EXPECT_EQ(b.rejected[2].index, 4u);
  EXPECT_EQ(b.rejected[2].pointer, "/4");
  EXPECT_EQ(b.rejected[3].index, 5u);  // a number out of double range: the line is refused, not the body
  EXPECT_EQ(b.rejected[3].pointer, "/5");
}

TEST(ndjson_body, over_max_readings_is_too_large_but_blank_lines_do_not_count) {
  std::string three = reading("a", 1).dump() + "\n" + reading("b", 2).dump() + "\n" + reading("c", 3).dump() + "\n";
  auto o = d::parse_observations(three, d::body_format::ndjson, t0_us, 2);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, d::problem_kind::too_large);
  auto ok = d::parse_observations(reading("a", 1).dump() + "\n\n\n\n" + reading("b", 2).dump(), d::body_format::ndjson,
                                  t0_us, 2);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->readings.size(), 2u);
}

TEST(ndjson_body, a_line_nested_too_deeply_or_too_long_is_a_malformed_body_before_any_parse) {
  // 8 MiB of '[' on one line: refused by a linear scan (no recursion, no DOM).
  auto deep = d::parse_observations(reading("a", 1).dump() + "\n" + std::string(8 << 20, '['), d::body_format::ndjson, t0_us);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().kind, d::problem_kind::malformed);
  EXPECT_NE(deep.error().detail.find("line 2"), std::string::npos) << deep.error().detail;
  auto at_limit = std::string(d::max_json_depth - 1, '[') + std::string(d::max_json_depth - 1, ']');
  EXPECT_TRUE(d::parse_observations(at_limit, d::body_format::ndjson, t0_us));  // parsed, rejected as a line
  auto long_line = reading("a", 1);
  long_line["pad"] = std::string(d::max_ndjson_line_bytes, 'x');
  auto too_long = d::parse_observations(long_line.dump(), d::body_format::ndjson, t0_us);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().kind, d::problem_kind::malformed);
}

TEST(ndjson_body, an_empty_body_is_a_batch_of_none) {
  auto b = parse_ok("\n\r\n", d::body_format::ndjson);
  EXPECT_EQ(b.total, 0u);
  EXPECT_TRUE(b.readings.empty());
}

// application/json-seq (RFC 7464) reaches parse_observations as ndjson (api/observation_handlers.cpp):
// each record is 0x1E, a JSON text, then a line feed.
// enable with FINDINGS 2
TEST(json_seq_body, records_prefixed_by_the_record_separator_parse) {
  std::string body = "\x1E" + reading("a", 1).dump() + "\n\x1E" + reading("b", 2, "2026-11-21T01:00:30Z").dump() + "\n";
  auto b = parse_ok(body, d::body_format::ndjson);
  EXPECT_TRUE(b.rejected.empty()) << b.rejected[0].pointer << ": " << b.rejected[0].error;
  ASSERT_EQ(b.readings.size(), 2u);
  EXPECT_EQ(b.total, 2u);
  EXPECT_EQ(b.readings[0].sensor, "a");
  EXPECT_EQ(b.readings[1].ts_us, t0_us + 30 * us_per_s);
}

// ---- CSV

TEST(csv_body, the_header_names_columns_in_any_order) {
  std::string body = "value,ts,metric,sensor\n1.5,2026-11-21T10:00:00+09:00,level,wl-1\n-2,2026-11-21T01:01:00Z,flow,wl-2\n";
  auto b = parse_ok(body, d::body_format::csv);
  EXPECT_EQ(b.total, 2u);
  EXPECT_EQ(b.pointer_prefix, "/");
  ASSERT_EQ(b.readings.size(), 2u);
  EXPECT_EQ(b.readings[0].sensor, "wl-1");
  EXPECT_EQ(b.readings[0].metric, "level");
  EXPECT_EQ(b.readings[0].ts_us, t0_us);
  EXPECT_EQ(b.readings[0].value, 1.5);
  EXPECT_EQ(b.readings[1].sensor, "wl-2");
  EXPECT_EQ(b.readings[1].metric, "flow");
  EXPECT_EQ(b.readings[1].ts_us, t0_us + us_per_min);
  EXPECT_EQ(b.readings[1].value, -2);
}

TEST(csv_body, quoted_fields_crlf_spaced_header_and_extra_columns) {
  std::string body =
      "\xEF\xBB\xBF sensor , unit,metric,ts,value,note\r\n"
      "\"wl,1\",m,level,\"2026-11-21T01:00:00Z\",3.5,\"a \"\"quoted\"\" note, with comma\"\r\n"
      "\r\n"
      "\"wl\"\"2\",m,level,2026-11-21T01:00:00Z,4,x,y,z\r\n";
  auto b = parse_ok(body, d::body_format::csv);
  EXPECT_TRUE(b.rejected.empty()) << b.rejected[0].pointer << ": " << b.rejected[0].error;
  EXPECT_EQ(b.total, 2u);
  ASSERT_EQ(b.readings.size(), 2u);
  EXPECT_EQ(b.readings[0].sensor, "wl,1");
  EXPECT_EQ(b.readings[0].value, 3.5);
  EXPECT_EQ(b.readings[1].sensor, "wl\"2");
  EXPECT_EQ(b.readings[1].index, 1u);
}

TEST(csv_body, a_header_missing_a_column_refuses_the_body) {
  for (std::string header : {"sensor,metric,ts\n", "sensor,metric,time,value\n", "Sensor,metric,ts,value\n", "", "\n"}) {
    SCOPED_TRACE(header);
    auto o = d::parse_observations(header + "a,level,2026-11-21T01:00:00Z,1\n", d::body_format::csv, t0_us);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().kind, d::problem_kind::invalid);
    ASSERT_EQ(o.error().errors.size(), 1u);
    EXPECT_EQ(o.error().errors[0].pointer, "/0");
  }
}

struct csv_row_case {
  const char* name;
  std::string row;
  const char* pointer_suffix;  // after /1
  const char* error;           // exact text, or "" for any
};

class csv_bad_row : public testing::TestWithParam<csv_row_case> {};

// The bad row is data row 1 of 3: rows 0 and 2 are kept.
TEST_P(csv_bad_row, is_rejected_with_its_pointer) {
  const auto& c = GetParam();
  std::string body = "sensor,metric,ts,value\na,level,2026-11-21T01:00:00Z,1\n" + c.row + "\nc,level,2026-11-21T01:00:00Z,3\n";
  auto b = parse_ok(body, d::body_format::csv);
  EXPECT_EQ(b.total, 3u);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 2}));
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].index, 1u);
  EXPECT_EQ(b.rejected[0].pointer, std::string("/1") + c.pointer_suffix);
  if (*c.error) {
    EXPECT_EQ(b.rejected[0].error, c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    rows, csv_bad_row,
    testing::Values(
        csv_row_case{"three_fields", "b,level,2026-11-21T01:00:00Z", "", "the row has 3 fields; the header needs 4"},
        csv_row_case{"one_field", "b", "", "the row has 1 fields; the header needs 4"},
        csv_row_case{"value_not_a_number", "b,level,2026-11-21T01:00:00Z,abc", "/value", "value must be a number"},
        csv_row_case{"value_empty", "b,level,2026-11-21T01:00:00Z,", "/value", "value must be a number"},
        csv_row_case{"value_with_unit", "b,level,2026-11-21T01:00:00Z,1.5m", "/value", "value must be a number"},
        csv_row_case{"value_out_of_double_range", "b,level,2026-11-21T01:00:00Z,1e999", "/value", ""},
        csv_row_case{"value_nan", "b,level,2026-11-21T01:00:00Z,nan", "/value", "value must be a finite number"},
        csv_row_case{"value_inf", "b,level,2026-11-21T01:00:00Z,inf", "/value", "value must be a finite number"},
        csv_row_case{"value_minus_infinity", "b,level,2026-11-21T01:00:00Z,-infinity", "/value",
                     "value must be a finite number"},
        csv_row_case{"sensor_empty", ",level,2026-11-21T01:00:00Z,2", "/sensor", "sensor is required"},
        csv_row_case{"metric_empty", "b,,2026-11-21T01:00:00Z,2", "/metric", "metric is required"},
        csv_row_case{"ts_without_offset", "b,level,2026-11-21T01:00:00,2", "/ts", ""},
        csv_row_case{"ts_in_the_future", "b,level,2026-11-21T02:00:00Z,2", "/ts", "ts is more than 5 minutes in the future"}),
    [](const testing::TestParamInfo<csv_row_case>& i) { return std::string(i.param.name); });

TEST(csv_body, a_header_alone_is_a_batch_of_none_and_max_readings_holds) {
  auto b = parse_ok("sensor,metric,ts,value\r\n", d::body_format::csv);
  EXPECT_EQ(b.total, 0u);
  std::string rows = "sensor,metric,ts,value\n";
  for (int i = 0; i < 3; ++i) rows += "a,level,2026-11-21T01:00:00Z," + std::to_string(i) + "\n";
  auto o = d::parse_observations(rows, d::body_format::csv, t0_us, 2);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, d::problem_kind::too_large);
}

struct csv_record_case {
  std::string text;
  std::vector<std::string> fields;
  std::size_t end;  // pos after the record
};

class csv_records : public testing::TestWithParam<csv_record_case> {};

TEST_P(csv_records, split_per_rfc_4180) {
  const auto& c = GetParam();
  std::size_t pos = 0;
  EXPECT_EQ(d::csv_record(c.text, pos), c.fields);
  EXPECT_EQ(pos, c.end);
}

INSTANTIATE_TEST_SUITE_P(
    records, csv_records,
    testing::Values(csv_record_case{"a,b,c\nnext", {"a", "b", "c"}, 6},
                    csv_record_case{"\"a,b\",c\r\nnext", {"a,b", "c"}, 9},
                    csv_record_case{"\"say \"\"hi\"\"\",x", {"say \"hi\"", "x"}, 14},
                    csv_record_case{"a,,c", {"a", "", "c"}, 4}, csv_record_case{"a,", {"a", ""}, 2},
                    csv_record_case{"", {}, 0}, csv_record_case{"\n", {""}, 1},
                    csv_record_case{"\"\"", {""}, 2},
                    csv_record_case{"\"multi\nline\",b\nnext", {"multi\nline", "b"}, 15},
                    csv_record_case{"a\rb", {"a"}, 2}));

// ---- edge times

struct time_case {
  const char* text;
  std::optional<std::int64_t> epoch_us;
};

class rfc3339_edges : public testing::TestWithParam<time_case> {};

TEST_P(rfc3339_edges, parse_to_the_instant_or_refuse) {
  EXPECT_EQ(d::parse_rfc3339(GetParam().text), GetParam().epoch_us) << GetParam().text;
}

constexpr std::int64_t t0_s = t0_us / us_per_s;  // 2026-11-21T01:00:00Z
INSTANTIATE_TEST_SUITE_P(
    texts, rfc3339_edges,
    testing::Values(
        time_case{"2026-11-21T10:00:00+09:00", t0_us}, time_case{"2026-11-20T20:00:00-05:00", t0_us},
        time_case{"2026-11-21T01:00:00+00:00", t0_us}, time_case{"2026-11-21T01:00:00-00:00", t0_us},
        time_case{"2026-11-21T15:00:00+14:00", t0_us}, time_case{"2026-11-20T13:00:00-12:00", t0_us},
        time_case{"2026-11-21T06:30:00+05:30", t0_us}, time_case{"2026-11-21t01:00:00z", t0_us},
        time_case{"2026-11-21 01:00:00Z", t0_us}, time_case{"2026-11-21T01:00:00.5Z", t0_us + 500000},
        time_case{"2026-11-21T01:00:00.000001Z", t0_us + 1}, time_case{"2026-11-21T01:00:00.999999Z", t0_us + 999999},
        time_case{"2026-11-21T01:00:00.1234567891Z", t0_us + 123456},  // beyond microseconds: truncated
        time_case{"2026-11-21T10:00:00.25+09:00", t0_us + 250000},
        time_case{"2024-02-29T00:00:00Z", 1709164800LL * us_per_s},   // leap day
        time_case{"2000-02-29T12:00:00Z", 951825600LL * us_per_s},    // divisible by 400: leap
        time_case{"2023-02-29T00:00:00Z", std::nullopt}, time_case{"2100-02-29T00:00:00Z", std::nullopt},
        time_case{"2026-12-31T23:59:60Z", 1798761599LL * us_per_s},   // leap second, held at :59
        time_case{"1970-01-01T00:00:00Z", 0}, time_case{"1970-01-01T09:00:00+09:00", 0},
        time_case{"2026-11-21T24:00:00Z", std::nullopt},  // time.cpp: hours 00-23 only, no "24:00"
        time_case{"2026-11-21T01:60:00Z", std::nullopt}, time_case{"2026-11-21T01:00:61Z", std::nullopt},
        time_case{"2026-00-21T01:00:00Z", std::nullopt}, time_case{"2026-11-00T01:00:00Z", std::nullopt},
        time_case{"2026-11-31T01:00:00Z", std::nullopt}, time_case{"2026-11-21T01:00:00+24:00", std::nullopt},
        time_case{"2026-11-21T01:00:00+09:60", std::nullopt}, time_case{"2026-11-21T01:00:00+0900", std::nullopt},
        time_case{"2026-11-21T01:00:00+09", std::nullopt}, time_case{"2026-11-21T01:00:00.Z", std::nullopt},
        time_case{"2026-11-21T01:00Z", std::nullopt}, time_case{" 2026-11-21T01:00:00Z", std::nullopt},
        time_case{"2026-11-21T01:00:00Z ", std::nullopt}, time_case{"+2026-11-21T01:00:00Z", std::nullopt},
        time_case{"2026/11/21T01:00:00Z", std::nullopt}, time_case{"20261121T010000Z", std::nullopt}));

TEST(rfc3339_edges, formatting_round_trips_to_the_millisecond) {
  for (std::int64_t us : std::vector<std::int64_t>{t0_us, t0_us + 123000, 0, 1709164800LL * us_per_s + 86399 * us_per_s}) {
    auto text = d::format_rfc3339_ms(us);
    EXPECT_EQ(d::parse_rfc3339(text), us) << text;
  }
  EXPECT_EQ(d::format_rfc3339_ms(1709164800LL * us_per_s + 12 * us_per_h + 999999), "2024-02-29T12:00:00.999Z");
}

TEST(reading_times, the_first_instant_of_1970_is_accepted) {
  json body = {{"observations", {reading("a", 1, "1970-01-01T00:00:00Z"), reading("b", 2, "1970-01-01T09:00:00+09:00")}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  EXPECT_TRUE(b.rejected.empty());
  ASSERT_EQ(b.readings.size(), 2u);
  EXPECT_EQ(b.readings[0].ts_us, 0);
  EXPECT_EQ(b.readings[1].ts_us, 0);
}

// Readings before 1970 (year 0000, which PostgreSQL refuses, and year 0001) are refused at
// validation, each with its own pointer; the good readings around them are kept.
// enable with FINDINGS 1
TEST(reading_times, readings_before_1970_are_rejected_with_their_ts_pointer) {
  json body = {{"observations",
                {reading("a", 1), reading("b", 2, "0000-06-01T00:00:00Z"), reading("c", 3, "0001-01-01T00:00:00Z"),
                 reading("d", 4, "1969-12-31T23:59:59Z"), reading("e", 5)}}};
  auto b = parse_ok(body.dump(), d::body_format::json);
  EXPECT_EQ(indices(b), (std::vector<std::size_t>{0, 4}));
  ASSERT_EQ(b.rejected.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b.rejected[i].index, i + 1);
    EXPECT_EQ(b.rejected[i].pointer, "/observations/" + std::to_string(i + 1) + "/ts");
  }
  auto csv = parse_ok("sensor,metric,ts,value\na,level,0000-06-01T00:00:00Z,1\n", d::body_format::csv);
  ASSERT_EQ(csv.rejected.size(), 1u);
  EXPECT_EQ(csv.rejected[0].pointer, "/0/ts");
}

// ---- nesting depth

std::string nested(int depth, const std::string& inner = "1") {
  return std::string(std::size_t(depth), '[') + inner + std::string(std::size_t(depth), ']');
}

struct depth_case {
  std::string text;
  int depth;
};

class json_depth : public testing::TestWithParam<depth_case> {};

TEST_P(json_depth, counts_arrays_and_objects_outside_strings) {
  EXPECT_EQ(maeul::api::json_nesting_depth(GetParam().text), GetParam().depth) << GetParam().text.substr(0, 80);
}

INSTANTIATE_TEST_SUITE_P(
    texts, json_depth,
    testing::Values(depth_case{"", 0}, depth_case{"1", 0}, depth_case{"{}", 1}, depth_case{"[[]]", 2},
                    depth_case{"[[],[[]],{}]", 3}, depth_case{"{\"a\":{\"b\":[1]}}", 3},
                    depth_case{"{\"a\":\"[[[{{{\"}", 1}, depth_case{"[\"\\\"[[\"]", 1},
                    depth_case{"[\"\\\\\",[]]", 2}, depth_case{nested(64), 64}, depth_case{nested(65), 65}));

TEST(json_depth, the_limit_admits_64_levels) {
  EXPECT_EQ(maeul::api::max_json_depth, 64);
  EXPECT_LE(maeul::api::json_nesting_depth("{\"observations\":" + nested(63) + "}"), maeul::api::max_json_depth);
  EXPECT_GT(maeul::api::json_nesting_depth("{\"observations\":" + nested(64) + "}"), maeul::api::max_json_depth);
}

TEST(json_depth, a_deeply_nested_value_is_a_rejected_reading_not_a_crash) {
  // An NDJSON line nested deeper than a JSON body may be is refused before parsing, like the body.
  std::string line = "{\"sensor\":\"a\",\"metric\":\"level\",\"ts\":\"2026-11-21T01:00:00Z\",\"value\":" + nested(30000) + "}";
  auto deep = d::parse_observations(reading("ok", 1).dump() + "\n" + line + "\n", d::body_format::ndjson, t0_us);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().kind, d::problem_kind::malformed);
  // Within the limit, a nested value is one rejected reading beside a good one.
  std::string ok_line = "{\"sensor\":\"a\",\"metric\":\"level\",\"ts\":\"2026-11-21T01:00:00Z\",\"value\":" + nested(60) + "}";
  auto b = parse_ok(reading("ok", 1).dump() + "\n" + ok_line + "\n", d::body_format::ndjson);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].pointer, "/1/value");
  EXPECT_EQ(b.readings.size(), 1u);
  json body = {{"observations", {with(reading("a", 1), "value", json::parse(nested(60)))}}};
  auto j = parse_ok(body.dump(), d::body_format::json);
  ASSERT_EQ(j.rejected.size(), 1u);
  EXPECT_EQ(j.rejected[0].pointer, "/observations/0/value");
}

}  // namespace
